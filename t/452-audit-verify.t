#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# meetrec-admin audit verify|head: the audit trail's hash chains
# (sql/011_governance.sql) checked from outside the database.  Two
# companies' chains, one written through the API (start, stop, delete),
# one by INSERTs (2500 rows and more: several pages), hold and verify
# says so; the append-only triggers refuse UPDATE, DELETE and TRUNCATE;
# then, with the protection lifted by hand, a changed row, a row removed
# from the middle (at a page boundary), the last row removed, a head
# without rows and rows without a head are each named precisely, the
# other company's chain still holding.  And one row's hash recomputed
# here, in Perl, from the documented definition (a user agent in
# non-ASCII UTF-8, NULL fields): the C, the SQL and the manual agree.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp src_root);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;
my $T = 'project_management';
my $LOGS = "$T.pm_recording_access_logs";
my $HEADS = "$T.pm_audit_heads";
my ($co1, $co2) = ($s->company, uuid());
my $J = JSON::PP->new;
my $ZERO = '0' x 64;

sub sql { return $s->pg->psql($_[0]) }
sub run { return $s->admin_run(@_) }

# verify(@args) - audit verify @args --json: (exit code, decoded answer,
# the chains by company).
sub verify {
	my $r = run('audit', 'verify', @_, '--json');
	my $j = eval { $J->decode($r->{out}) };
	ok($j, "verify @_ --json prints JSON") or diag("$r->{out}$r->{err}");
	$j //= { chains => [] };
	return ($r->{rc}, $j, { map { $_->{company_id} => $_ }
	    @{ $j->{chains} } });
}

# The superuser lifts a protection for a moment (the meetrec role of
# the test cluster is its superuser).
sub unprotected {
	my ($table, $trigger, $what) = @_;
	return sql("ALTER TABLE $table DISABLE TRIGGER $trigger; $what; "
	    . "ALTER TABLE $table ENABLE TRIGGER $trigger");
}

# The fields of a line of PostgreSQL's CSV: NULL is an empty field, ""
# an empty text.  No field here holds a new line.
sub csv_fields {
	my ($line) = @_;
	my @f;
	for (;;) {
		if ($line =~ /\G"((?:[^"]|"")*)"/gc) {
			(my $v = $1) =~ s/""/"/g;
			push @f, $v;
		} elsif ($line =~ /\G([^,]*)/gc) {
			push @f, length $1 ? $1 : undef;
		}
		last unless $line =~ /\G,/gc;
	}
	return \@f;
}

sub count { return sql("SELECT count(*) FROM $LOGS WHERE company_id = "
    . "'$_[0]'") }
sub row_id { return sql("SELECT id FROM $LOGS WHERE company_id = '$_[0]' "
    . "AND seq = $_[1]") }

# ---------------------------------------------------------------------
# Company 1: audit rows written by the API's own statements.
my $host = uuid();
my $tok = $s->token(user => $host, company => $co1, username => 'host',
    email => 'host@example.com');
$s->room(code => 'audit-a', host => $host, company => $co1);
my @recs;
for (1 .. 2) {
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => 'audit-a' });
	is($r->{status}, 201, 'start answers 201') or diag($r->{body});
	my $id = $r->{json}{recording_id};
	push @recs, $id;
	$s->standin_idle;
	$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($r->{status}, 202, 'stop answers 202') or diag($r->{body});
	$s->standin_idle;
}
my $r = $s->api(DELETE => "/api/recordings/$recs[0]", token => $tok);
is($r->{status}, 200, 'delete answers 200') or diag($r->{body});
my $acts = sql("SELECT string_agg(DISTINCT action, ',' ORDER BY action) "
    . "FROM $LOGS WHERE company_id = '$co1'");
like($acts, qr/\bstart\b/, 'the API wrote start rows');
like($acts, qr/\bstop\b/, 'stop rows');
like($acts, qr/\bdelete\b/, 'and a delete row');
my $n1 = count($co1);
cmp_ok($n1, '>=', 5, "company 1: $n1 rows");

# Company 2: rows INSERTed as a program would; the triggers chain them.
# The third has a user agent in non-ASCII UTF-8 and NULL fields.
my $agent = "Mozilla/5.0 (Gr\xc3\xbc\xc3\x9fe; \xe2\x9c\x93 \xf0\x9f\x8e\xa5)";
my $rec2 = uuid();
sql("SET client_encoding TO 'UTF8'; INSERT INTO $LOGS (company_id, "
    . "recording_id, user_id, user_email, action, ip_address, user_agent, "
    . "share_id, detail) VALUES "
    . "('$co2', '$rec2', '" . uuid() . "', 'a\@example.com', 'view', "
    . "'192.0.2.1', 'curl/8', NULL, NULL), "
    . "('$co2', '$rec2', '" . uuid() . "', 'b\@example.com', 'download', "
    . "'2001:db8::1', 'curl/8', NULL, '{\"bytes\": 12}'), "
    . "('$co2', NULL, NULL, NULL, 'share_view', '198.51.100.7', "
    . "'$agent', NULL, '{\"note\": \"Gr\xc3\xbc\xc3\x9fe\", \"n\": 1.50}'), "
    . "('$co2', '$rec2', NULL, 'c\@example.com', 'share', NULL, NULL, '"
    . uuid() . "', '{}')");
sql("INSERT INTO $LOGS (company_id, recording_id, action, user_agent, "
    . "detail) SELECT '$co2', '$rec2', 'view', 'bulk ' || g, "
    . "jsonb_build_object('g', g) FROM generate_series(1, 2500) g");
my $n2 = count($co2);
is($n2, 2504, 'company 2: 2504 rows');
is(sql("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM $LOGS "
    . "WHERE company_id = '$co2' AND seq <= 4"), '1,2,3,4',
    'the triggers numbered them from 1');

# ---------------------------------------------------------------------
# An untouched log: every chain holds.
my ($rc, $j, $by) = verify();
is($rc, 0, 'verify: exit 0 when every chain holds');
ok($j->{ok}, 'ok: true');
is($j->{chains_checked}, 2, 'two chains checked');
is($j->{chains_failed}, 0, 'none failed');
for ([ $co1, $n1 ], [ $co2, $n2 ]) {
	my ($co, $n) = @$_;
	my $c = $by->{$co};
	is($c->{rows_checked}, $n, "company $co: $n rows checked");
	is($c->{head_seq}, $n, 'head seq');
	is($c->{head_hash}, sql("SELECT last_hash FROM $HEADS WHERE "
	    . "company_id = '$co'"), 'head hash');
	is($c->{head_hash}, sql("SELECT row_hash FROM $LOGS WHERE "
	    . "company_id = '$co' AND seq = $n"), "the last row's hash");
	ok($c->{ok} && !defined $c->{problem}, 'no problem');
}
$r = run('audit', 'verify');
is($r->{rc}, 0, 'verify (text): exit 0');
like($r->{out},
    qr/^\Q$co2\E: ok, $n2 rows checked, head seq $n2 hash [0-9a-f]{64}$/m,
    'one line a company: rows checked, head seq and hash');
like($r->{out}, qr/^2 chains checked, 0 failed$/m, 'and a summary');
($rc, $j) = verify('--company', $co1);
is($rc, 0, '--company: exit 0');
is_deeply([ map { $_->{company_id} } @{ $j->{chains} } ], [$co1],
    '--company: that chain alone');

# audit head: what an auditor writes down elsewhere.
$r = run('audit', 'head');
is($r->{rc}, 0, 'head: exit 0');
my %heads = map { my @f = split /\t/; $f[0] => [ @f[1 .. 3] ] }
    split /\n/, $r->{out};
is(scalar keys %heads, 2, 'head: one line a company');
for my $co ($co1, $co2) {
	my ($seq, $hash, $at) = split /\|/, sql("SELECT h.seq, h.last_hash, "
	    . "to_char(l.accessed_at AT TIME ZONE 'UTC', "
	    . "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM $HEADS h JOIN $LOGS l "
	    . "ON l.company_id = h.company_id AND l.seq = h.seq "
	    . "WHERE h.company_id = '$co'");
	is_deeply($heads{$co}, [ $seq, $hash, $at ],
	    'head: company, seq, last hash, time of the last row');
}
$r = run('audit', 'head', '--company', $co2, '--json');
is_deeply(eval { $J->decode($r->{out}) }, { heads => [ {
    company_id => $co2, seq => $n2, last_hash => $heads{$co2}[1],
    last_at => $heads{$co2}[2] } ] }, 'head --company --json');
my $co0 = uuid();
$r = run('audit', 'head', '--company', $co0);
is($r->{out}, "$co0\t0\t$ZERO\t-\n", 'a company without a chain: seq 0, '
    . 'zeros');
$r = run('audit', 'verify', '--company', $co0);
is($r->{rc}, 0, 'verify of a company without a chain: exit 0');
like($r->{out}, qr/^\Q$co0\E: ok, no rows and no head$/m, 'says so');

# Usage.
is(run('audit')->{rc}, 2, 'audit alone: usage, exit 2');
is(run('audit', 'check')->{rc}, 2, 'an unknown subcommand: exit 2');
is(run('audit', 'verify', '--limit', 3)->{rc}, 2,
    'an option it does not take: exit 2');
$r = run('audit', 'verify', '--company', 'nope');
is($r->{rc}, 1, '--company not a UUID: exit 1');
like($r->{err}, qr/--company must be a UUID/, 'says so');

# ---------------------------------------------------------------------
# Append-only, for the meetrec role too.
for my $q ("UPDATE $LOGS SET user_email = 'x' WHERE company_id = '$co2' "
    . 'AND seq = 2', "DELETE FROM $LOGS WHERE company_id = '$co2' AND "
    . 'seq = 2', "TRUNCATE $LOGS",
    "UPDATE $HEADS SET seq = 1 WHERE company_id = '$co2'",
    "DELETE FROM $HEADS WHERE company_id = '$co2'", "TRUNCATE $HEADS") {
	my $x = $s->pg->psql($q, allow_fail => 1);
	my ($verb) = $q =~ /^(\w+)/;
	isnt($x->{rc}, 0, "$verb refused: $q");
	like($x->{err}, qr/append-only/, 'the log is append-only');
}
is(count($co2), $n2, 'nothing was removed');
is(run('audit', 'verify')->{rc}, 0, 'and every chain still holds');

# ---------------------------------------------------------------------
# A changed row, in the middle of the second page.
my $mid = 1500;
my $mid_id = row_id($co2, $mid);
my $was = sql("SELECT user_agent FROM $LOGS WHERE id = '$mid_id'");
unprotected($LOGS, 'meetrec_audit_append_only', "UPDATE $LOGS SET "
    . "user_agent = 'bulk 9999' WHERE id = '$mid_id'");
($rc, $j, $by) = verify();
is($rc, 1, 'a changed row: exit 1');
ok(!$j->{ok}, 'ok: false');
is($j->{chains_failed}, 1, 'one chain failed');
is($by->{$co2}{problem}, 'row_changed', 'row_changed');
is($by->{$co2}{seq}, $mid, "at seq $mid");
is($by->{$co2}{row_id}, $mid_id, 'that row');
is($by->{$co2}{rows_checked}, $mid - 1, 'the rows before it hold');
ok($by->{$co1}{ok}, 'the other company still holds');
$r = run('audit', 'verify');
is($r->{rc}, 1, 'text: exit 1');
like($r->{out}, qr/^\Q$co2\E:\ FAILED\ at\ seq\ $mid\ \(row\ \Q$mid_id\E\):
    \ row\ changed:\ its\ content\ no\ longer\ matches\ its\ hash/mx,
    'names the company, seq and row, and what is wrong');
like($r->{out}, qr/^\Q$co1\E: ok, $n1 rows checked/m, 'the other: ok');
like($r->{out}, qr/^2 chains checked, 1 failed$/m, 'summary');
is(run('audit', 'verify', '--company', $co1)->{rc}, 0,
    '--company of the other: exit 0');
unprotected($LOGS, 'meetrec_audit_append_only', "UPDATE $LOGS SET "
    . "user_agent = '$was' WHERE id = '$mid_id'");
is(run('audit', 'verify')->{rc}, 0, 'restored: every chain holds again');

# The same change with the row's hash recomputed to match: the link from
# the next row breaks.
unprotected($LOGS, 'meetrec_audit_append_only', "UPDATE $LOGS SET "
    . "user_agent = 'bulk 9999', row_hash = $T.meetrec_audit_hash(seq, "
    . "company_id, recording_id, user_id, user_email, action, ip_address, "
    . "'bulk 9999', share_id, accessed_at, detail, prev_hash) "
    . "WHERE id = '$mid_id'");
($rc, $j, $by) = verify('--company', $co2);
is($rc, 1, 'a row rehashed: exit 1');
is($by->{$co2}{problem}, 'link_broken', 'link_broken');
is($by->{$co2}{seq}, $mid + 1, 'at the row after it');
like($by->{$co2}{message}, qr/not the row_hash of seq $mid \(row \Q$mid_id\E\)/,
    'naming the row it should link to');
unprotected($LOGS, 'meetrec_audit_append_only', "UPDATE $LOGS SET "
    . "user_agent = '$was', row_hash = $T.meetrec_audit_hash(seq, "
    . "company_id, recording_id, user_id, user_email, action, ip_address, "
    . "'$was', share_id, accessed_at, detail, prev_hash) "
    . "WHERE id = '$mid_id'");
is(run('audit', 'verify')->{rc}, 0, 'restored');

# A row removed from the middle: the first of the second page.  The rows
# are put back as they were (the chain trigger off, so they keep their
# seq and hashes).
sub remove_rows {
	my ($where) = @_;
	sql("DROP TABLE IF EXISTS public.audit_saved; CREATE TABLE "
	    . "public.audit_saved AS SELECT * FROM $LOGS WHERE $where");
	unprotected($LOGS, 'meetrec_audit_append_only',
	    "DELETE FROM $LOGS WHERE $where");
}
sub put_back {
	unprotected($LOGS, 'meetrec_audit_chain', "INSERT INTO $LOGS "
	    . 'SELECT * FROM public.audit_saved');
	sql('DROP TABLE public.audit_saved');
}
remove_rows("company_id = '$co2' AND seq = 1001");
my $after_id = row_id($co2, 1002);
($rc, $j, $by) = verify();
is($rc, 1, 'a row removed: exit 1');
is($by->{$co2}{problem}, 'row_missing', 'row_missing');
is($by->{$co2}{seq}, 1002, 'at the row after the gap');
is($by->{$co2}{row_id}, $after_id, 'that row');
like($by->{$co2}{message}, qr/^row missing before seq 1002: seq 1001 is gone$/,
    'says which seq is gone');
is($by->{$co2}{rows_checked}, 1000, 'the first page held');
ok($by->{$co1}{ok}, 'the other company still holds');
put_back();
is(run('audit', 'verify')->{rc}, 0, 'put back: every chain holds again');

remove_rows("company_id = '$co2' AND seq BETWEEN 3 AND 5");
$r = run('audit', 'verify', '--company', $co2);
is($r->{rc}, 1, 'three rows removed: exit 1');
like($r->{out}, qr/FAILED\ at\ seq\ 6\ \(row\ \S+\):
    \ rows\ missing\ before\ seq\ 6:\ seqs\ 3\ to\ 5\ are\ gone/x,
    'names the gap');
put_back();

# The last row removed, its head left.
remove_rows("company_id = '$co1' AND seq = $n1");
($rc, $j, $by) = verify();
is($rc, 1, 'the last row removed: exit 1');
is($by->{$co1}{problem}, 'rows_missing_at_end', 'rows_missing_at_end');
is($by->{$co1}{seq}, $n1, "seq $n1 is named");
is($by->{$co1}{row_id}, undef, 'no row to name');
is($by->{$co1}{message}, "row missing at the end: chain ends at seq "
    . ($n1 - 1) . " but its head says $n1", 'the chain is short of its '
    . 'head');
ok($by->{$co2}{ok}, 'the other company still holds');
$r = run('audit', 'verify');
like($r->{out}, qr/^\Q$co1\E: FAILED at seq $n1: row missing at the end/m,
    'text: names the seq');
put_back();
is(run('audit', 'verify')->{rc}, 0, 'put back: every chain holds again');

# A head that does not match its last row.
my $head1 = sql("SELECT last_hash FROM $HEADS WHERE company_id = '$co1'");
unprotected($HEADS, 'meetrec_audit_heads_grow', "UPDATE $HEADS SET "
    . "last_hash = '" . ('f' x 64) . "' WHERE company_id = '$co1'");
($rc, $j, $by) = verify('--company', $co1);
is($rc, 1, 'a head not matching: exit 1');
is($by->{$co1}{problem}, 'head_mismatch', 'head_mismatch');
is($by->{$co1}{seq}, $n1, 'at the last row');
unprotected($HEADS, 'meetrec_audit_heads_grow', "UPDATE $HEADS SET "
    . "last_hash = '$head1' WHERE company_id = '$co1'");

# A head without rows, and rows without a head.
my ($co3, $co4) = (uuid(), uuid());
sql("INSERT INTO $HEADS VALUES ('$co3', 2, '" . ('a' x 64) . "')");
sql("INSERT INTO $LOGS (company_id, action) VALUES ('$co4', 'view'), "
    . "('$co4', 'download')");
unprotected($HEADS, 'meetrec_audit_heads_grow',
    "DELETE FROM $HEADS WHERE company_id = '$co4'");
($rc, $j, $by) = verify();
is($rc, 1, 'a head without rows, rows without a head: exit 1');
is($j->{chains_checked}, 4, 'four chains, those two too');
is($j->{chains_failed}, 2, 'two failed');
is($by->{$co3}{problem}, 'rows_missing_at_end', 'a head without rows');
is($by->{$co3}{message}, 'rows missing at the end: chain ends at seq 0 '
    . 'but its head says 2', 'its rows are missing');
is($by->{$co4}{problem}, 'no_head', 'rows without a head');
is($by->{$co4}{seq}, 2, 'named at the last row');
ok($by->{$co1}{ok} && $by->{$co2}{ok}, 'the others hold');
unprotected($HEADS, 'meetrec_audit_heads_grow',
    "DELETE FROM $HEADS WHERE company_id = '$co3'");
sql("INSERT INTO $HEADS SELECT company_id, seq, row_hash FROM $LOGS "
    . "WHERE company_id = '$co4' AND seq = 2");
is(run('audit', 'verify')->{rc}, 0, 'mended: every chain holds again');

# ---------------------------------------------------------------------
# The hash, by the documented definition, in Perl: the version line,
# then each field as a netstring of its UTF-8 ("<bytes>:<text>,"), "-"
# for NULL.  Row 3 of company 2: NULL recording, user, email and share,
# a non-ASCII user agent and detail.
my @cols = ('seq::text', 'company_id::text', 'recording_id::text',
    'user_id::text', 'user_email', 'action', 'ip_address', 'user_agent',
    'share_id::text', "to_char(accessed_at AT TIME ZONE 'UTC', "
    . "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 'detail::text', 'prev_hash',
    'row_hash');
for my $seq (3, 4, 2000) {
	my $row = JSON::PP->new->utf8->decode(sql("SET client_encoding TO "
	    . "'UTF8'; SELECT json_build_array(" . join(', ', @cols)
	    . ") FROM $LOGS "
	    . "WHERE company_id = '$co2' AND seq = $seq"));
	my $stored = pop @$row;
	my $content = "meetrec-audit-1\n";
	for my $v (@$row) {
		if (!defined $v) {
			$content .= '-';
			next;
		}
		utf8::encode($v);
		$content .= length($v) . ":$v,";
	}
	is(sha256_hex($content), $stored, "seq $seq: the hash recomputed in "
	    . 'Perl is the stored row_hash');
	if ($seq == 3) {
		like($content, qr/:\Q$agent\E,/, 'over the UTF-8 user agent');
		like($content, qr/^meetrec-audit-1\n1:3,36:\Q$co2\E,--/,
		    'NULL fields as "-"');
		my $bytes = length $agent;
		like($content, qr/,$bytes:\Q$agent\E,/, "its length in bytes "
		    . "($bytes), not characters");
	}
}
# The export the manual gives auditors, its query taken from the page,
# checked here as an auditor's own tool would: every row of company 2.
my ($copy) = slurp(src_root() . '/doc/meetrec-admin.8')
    =~ /^(COPY \(SELECT .*? CSV HEADER)$/ms;
ok($copy, 'meetrec-admin(8) shows the export');
$copy =~ s/\\\(dq/"/g;
$copy =~ s/:'co'/'$co2'/;
my @csv = map { csv_fields($_) } split /\n/,
    sql("SET client_encoding TO 'UTF8'; $copy");
is_deeply(shift @csv, [ qw(seq company_id recording_id user_id user_email
    action ip_address user_agent share_id accessed_at detail prev_hash
    row_hash) ], 'the CSV header');
is(scalar @csv, $n2, "$n2 rows");
my ($prev, $held) = ($ZERO, 0);
for my $f (@csv) {
	my $content = "meetrec-audit-1\n" . join '', map {
	    defined $_ ? length($_) . ":$_," : '-' } @$f[0 .. 11];
	last unless $f->[0] == $held + 1 && $f->[11] eq $prev &&
	    sha256_hex($content) eq $f->[12];
	($prev, $held) = ($f->[12], $held + 1);
}
is($held, $n2, 'from the CSV, by the manual: every row hashes to its '
    . 'row_hash and links to the one before');
is($prev, $heads{$co2}[1], 'up to the head');

is(sql("SELECT count(*) FROM $LOGS WHERE row_hash <> $T.meetrec_audit_hash("
    . 'seq, company_id, recording_id, user_id, user_email, action, '
    . 'ip_address, user_agent, share_id, accessed_at, detail, prev_hash)'),
    0, 'SQL: every stored hash is meetrec_audit_hash of its row');

# The C agrees on that row: changed by one byte of its user agent (an
# accent the same length), verify names it.
my $id3 = row_id($co2, 3);
my $agent2 = $agent =~ s/\xc3\xbc/\xc3\xb6/r;
unprotected($LOGS, 'meetrec_audit_append_only', "SET client_encoding TO "
    . "'UTF8'; UPDATE $LOGS SET user_agent = '$agent2' WHERE id = '$id3'");
($rc, $j, $by) = verify('--company', $co2);
is($by->{$co2}{problem}, 'row_changed', 'the non-ASCII row changed by one '
    . 'byte: row_changed');
is($by->{$co2}{row_id}, $id3, 'that row');
unprotected($LOGS, 'meetrec_audit_append_only', "SET client_encoding TO "
    . "'UTF8'; UPDATE $LOGS SET user_agent = '$agent' WHERE id = '$id3'");
($rc) = verify('--company', $co2);
is($rc, 0, 'put back: it holds');

# A session whose client_encoding is not UTF-8 still hashes UTF-8.
$r = Meetrec::Test::Proc::run_cmd([ Meetrec::Test::Stack::admin_bin(),
    '--config', $s->conf_path, 'audit', 'verify', '--company', $co2 ],
    env => { %{ $s->_prog_env }, PGCLIENTENCODING => 'LATIN1' });
is($r->{rc}, 0, 'PGCLIENTENCODING=LATIN1: the chain still holds')
    or diag("$r->{out}$r->{err}");

$s->finish;
done_testing();
