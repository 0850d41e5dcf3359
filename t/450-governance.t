#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Governance: a legal hold blocks DELETE (409 legal_hold naming it), the
# expire pass and the purge pass until it is released, and then the
# recording goes on to its end; a recording's retention is set within
# the company's bound (422 retention_max_days naming it); every change
# of a recording's life and every refusal is an audit row of the
# company's hash chain, which outlives the recording and cannot be
# changed; GET /api/admin/audit lists it with filters, as JSON or CSV.
# Who may do what, and hostile input, for each new endpoint.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use Encode qw(encode_utf8);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid json_decode);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { retention_days => 30,
    trash_days => 7 });
my ($co, $host, $peer, $adm) = (uuid(), uuid(), uuid(), uuid());
my ($co2, $adm2) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $ptok = $s->token(user => $peer, company => $co, username => 'peer');
my $atok = $s->token(user => $adm, company => $co, username => 'boss',
    role => 'admin');
my $a2tok = $s->token(user => $adm2, company => $co2, username => 'other',
    role => 'admin');
my $T = 'project_management.pm_meeting_recordings';
my $L = 'project_management.pm_recording_access_logs';
my $store = $s->config->{storage_local_dir};

sub q1 { $s->pg->psql($_[0]) }
sub completed {
	return $s->recorded(token => $tok, host => $host, company => $co);
}
sub actions {
	my ($id) = @_;
	# The notice to the room (t/455) is not what this test is about.
	return q1("SELECT string_agg(action, ',' ORDER BY seq) FROM $L "
	    . "WHERE recording_id = '$id' AND action NOT IN ('notice', "
	    . "'ledger')");
}

my $held = completed();
my $free = completed();
is(q1("SELECT status FROM $T WHERE id = '$held'"), 'completed',
    'a completed recording');
is(actions($held), 'start,recording,stop,complete',
    'its life so far is in the audit trail, in order');
is(q1("SELECT user_id FROM $L WHERE recording_id = '$held' AND "
    . "action = 'stop'"), $host, '... the stop by its owner');
is(q1("SELECT user_id IS NULL FROM $L WHERE recording_id = '$held' AND "
    . "action = 'complete'"), 't', '... the upload by the system');

# 1. A legal hold.
my $r = $s->api(POST => "/api/admin/recordings/$held/hold", token => $atok,
    json => { reason => 'Case 2026-17: Acme v. Example' });
is($r->{status}, 201, 'an admin puts it on hold') or diag($r->{body});
is($r->{json}{legal_hold}{reason}, 'Case 2026-17: Acme v. Example',
    '... with the reason');
is($r->{json}{legal_hold}{held_by}, $adm, '... and who');
$r = $s->api(POST => "/api/admin/recordings/$held/hold", token => $atok,
    json => { reason => 'again' });
is($r->{status}, 409, 'a second hold: 409');
is($r->{json}{code}, 'legal_hold', '... legal_hold');
$r = $s->api(DELETE => "/api/recordings/$held", token => $tok);
is($r->{status}, 409, 'its owner cannot delete it');
is($r->{json}{code}, 'legal_hold', '... legal_hold');
like($r->{json}{detail}, qr/Case 2026-17/, '... naming the hold');
is($s->api(DELETE => "/api/recordings/$held", token => $atok)->{status},
    409, 'nor can an admin');
is($s->api(GET => "/api/recordings/$held", token => $tok)->{json}
    {legal_hold}{reason}, 'Case 2026-17: Acme v. Example',
    'the details show the hold to the owner');
my $path = q1("SELECT storage_path FROM $T WHERE id = '$held'");
q1("UPDATE $T SET expires_at = now() - interval '1 minute' "
    . "WHERE id IN ('$held', '$free')");
$r = $s->reaper('--pass', 'expire');
unlike($r->{err}, qr/rec=\Q$held\E/, 'the expire pass leaves it alone');
like($r->{err}, qr/rec=\Q$free\E action=expired/,
    '... and expires one that is not held');
is(q1("SELECT deleted_at IS NULL FROM $T WHERE id = '$held'"), 't',
    'past its expires_at it is still there');
ok(-f "$store/$path", '... with its file');
$r = $s->api(GET => '/api/admin/holds', token => $atok);
is($r->{status}, 200, 'the holds list');
is_deeply([ map { $_->{id} } @{ $r->{json}{holds} } ], [ $held ],
    '... has it');
is(scalar @{ $s->api(GET => "/api/admin/holds?held_by=$host",
    token => $atok)->{json}{holds} }, 0, '... filtered by who held');

# Held in the trash: not purged.
my $trash = completed();
is($s->api(DELETE => "/api/recordings/$trash", token => $tok)->{status},
    200, 'another goes to the trash');
is($s->api(POST => "/api/admin/recordings/$trash/hold", token => $atok,
    json => { reason => 'late request' })->{status}, 201,
    'and is held there');
q1("UPDATE $T SET deleted_at = now() - interval '8 days' "
    . "WHERE id = '$trash'");
$r = $s->reaper('--pass', 'purge');
is(q1("SELECT count(*) FROM $T WHERE id = '$trash'"), 1,
    'the purge pass keeps a held recording in the trash');

# Released: it goes on.
$r = $s->api(DELETE => "/api/admin/recordings/$held/hold", token => $atok);
is($r->{status}, 200, 'released') or diag($r->{body});
is($r->{json}{legal_hold}, undef, '... no hold now');
is($s->api(DELETE => "/api/admin/recordings/$held/hold",
    token => $atok)->{json}{code}, 'not_held', 'released twice: not_held');
$r = $s->reaper('--pass', 'expire');
like($r->{err}, qr/rec=\Q$held\E action=expired/,
    'after release it expires at the next pass');
ok(!-e "$store/$path", '... its file deleted');
is($s->api(DELETE => "/api/admin/recordings/$trash/hold",
    token => $atok)->{status}, 200, 'the trashed one released');
$s->reaper('--pass', 'purge');
is(q1("SELECT count(*) FROM $T WHERE id = '$trash'"), 0,
    '... and purged');
is(actions($trash), 'start,recording,stop,complete,delete,hold,release,'
    . 'purge', 'its audit rows outlive it, purge last');
is(actions($held), 'start,recording,stop,complete,hold,refused,refused,'
    . 'view,retention,release,expire', 'the held one: hold, the two '
    . 'refused deletes, the view, the expiry the test set, release, expiry')
    or diag(actions($held));

# The same at the shell.
my $cli = completed();
$r = $s->admin_run('recordings', 'hold', $cli, '--reason', 'Subpoena 12',
    '--json');
is($r->{rc}, 0, 'meetrec-admin recordings hold') or diag($r->{err});
is($s->api(DELETE => "/api/recordings/$cli", token => $tok)->{json}{code},
    'legal_hold', '... and the API refuses the delete');
$r = $s->admin_run('recordings', 'hold', $cli, '--reason', 'again');
is($r->{rc}, 1, 'held twice: exit 1');
like($r->{err}, qr/Subpoena 12/, '... naming the hold');
is($s->admin_run('recordings', 'hold', $cli)->{rc}, 2,
    'without --reason: a usage error');
$r = $s->admin_run('recordings', 'holds', '--company', $co, '--json');
my ($h) = grep { $_->{recording_id} eq $cli }
    @{ json_decode($r->{out}) // [] };
is($h->{reason}, 'Subpoena 12', 'holds lists it, with the reason');
is($h->{held_by}, undef, '... held at the shell, by no user');
like(q1("SELECT user_agent FROM $L WHERE recording_id = '$cli' AND "
    . "action = 'hold'"), qr/^meetrec-admin \(/,
    'the hold row names meetrec-admin');
is(scalar @{ json_decode($s->admin_run('recordings', 'holds', '--company',
    $co2, '--json')->{out}) }, 0, 'another company has none');
is($s->admin_run('recordings', 'release', $cli)->{rc}, 0, 'released');
is($s->admin_run('recordings', 'release', $cli)->{rc}, 1,
    'released twice: exit 1');

# 2. Retention within the company's bound.
my $keep = completed();
$r = $s->api(GET => '/api/admin/policy', token => $atok);
is($r->{json}{effective_retention_days}, 30,
    'the policy: meetrec.conf\'s 30 days');
$r = $s->api(PUT => '/api/admin/policy', token => $atok,
    json => { retention_max_days => 20 });
is($r->{status}, 422, 'a bound below the default: 422');
is($r->{json}{code}, 'retention_max_days', '... retention_max_days');
$r = $s->api(PUT => '/api/admin/policy', token => $atok,
    json => { retention_max_days => 60, retention_default_days => 10 });
is($r->{status}, 200, 'bound 60 days, default 10') or diag($r->{body});
is($r->{json}{effective_retention_days}, 10, '... effective 10');
my $later = completed();
is(q1("SELECT round(extract(epoch FROM expires_at - created_at) / 86400) "
    . "FROM $T WHERE id = '$later'"), 10, 'a new recording: 10 days');
$r = $s->api(PUT => "/api/recordings/$keep/retention", token => $tok,
    json => { days => 45 });
is($r->{status}, 200, 'the owner keeps one 45 days') or diag($r->{body});
like($r->{json}{expires_at}, qr/^\d{4}-/, '... expires_at');
$r = $s->api(PUT => "/api/recordings/$keep/retention", token => $tok,
    json => { days => 90 });
is($r->{status}, 422, '90 days: 422');
is($r->{json}{code}, 'retention_max_days', '... retention_max_days');
like($r->{json}{detail}, qr/60 days/, '... naming the bound');
$r = $s->api(PUT => "/api/recordings/$keep/retention", token => $tok,
    json => { expires_at => undef });
is($r->{json}{code}, 'retention_max_days',
    'for ever is refused under a bound');
$r = $s->api(PUT => "/api/recordings/$keep/retention", token => $tok,
    json => { expires_at => '2001-01-01T00:00:00Z' });
is($r->{json}{code}, 'invalid_field', 'a past time: invalid_field');
is($s->api(PUT => "/api/recordings/$keep/retention", token => $ptok,
    json => { days => 5 })->{status}, 403, 'another user: 403');
is($s->api(PUT => "/api/recordings/$keep/retention", token => $a2tok,
    json => { days => 5 })->{status}, 404, 'another company: 404');
$s->api(PUT => '/api/admin/policy', token => $atok,
    json => { retention_max_days => undef });
$r = $s->api(PUT => "/api/recordings/$keep/retention", token => $atok,
    json => { expires_at => undef });
is($r->{status}, 200, 'without a bound an admin keeps it for ever');
is($r->{json}{expires_at}, undef, '... expires_at null');
is(q1("SELECT count(*) FROM $L WHERE recording_id = '$keep' AND "
    . "action = 'retention'"), 2, 'each change is a retention row');
is(q1("SELECT count(*) FROM $L WHERE company_id = '$co' AND "
    . "recording_id IS NULL AND action = 'policy'"), 2,
    'each policy change a policy row of the company');

# 3. Refusals are audited: who, what, why; once per window.
for (1 .. 3) {
	$s->api(GET => "/api/recordings/$keep", token => $ptok);
}
is(q1("SELECT count(*) FROM $L WHERE recording_id = '$keep' AND "
    . "action = 'refused' AND user_id = '$peer'"), 1,
    'a user refused three times: one refused row');
like(q1("SELECT detail->>'code' || ' ' || (detail->>'status') FROM $L "
    . "WHERE recording_id = '$keep' AND action = 'refused' AND "
    . "user_id = '$peer'"), qr/^forbidden 403$/, '... saying why');
$s->api(GET => "/api/recordings/$keep", token => $a2tok);
is(q1("SELECT detail->>'company_id' FROM $L WHERE recording_id = '$keep' "
    . "AND action = 'refused' AND user_id = '$adm2'"), $co2,
    'another company\'s admin: refused in this company\'s trail, with '
    . 'theirs');
is(q1("SELECT count(*) FROM $L WHERE company_id = '$co2'"), 0,
    '... and nothing in the other company\'s');

# 4. The trail: append-only, chained, listed.
ok(!eval { q1("UPDATE $L SET action = 'view' WHERE recording_id = "
    . "'$keep'"); 1 }, 'an UPDATE of the trail fails');
like($@, qr/append-only/, '... append-only');
ok(!eval { q1("DELETE FROM $L WHERE recording_id = '$keep'"); 1 },
    'so does a DELETE');
ok(!eval { q1("TRUNCATE $L"); 1 }, 'and a TRUNCATE');
is(q1("SELECT count(*) FROM $L WHERE recording_id = '$keep' AND "
    . "action = 'view'") > 0 ? 'changed' : 'kept', 'kept',
    '... and changed nothing');
is(q1("SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY seq) "
    . "AS p, prev_hash, lag(row_hash) OVER (ORDER BY seq) AS ph FROM $L "
    . "WHERE company_id = '$co') c WHERE p IS NOT NULL AND "
    . "(seq <> p + 1 OR prev_hash <> ph)"), 0,
    'the company\'s rows chain: seq + 1, prev_hash = the last row_hash');
my $row = q1("SELECT seq || '|' || row_hash || '|' || "
    . "project_management.meetrec_audit_hash(seq, company_id, recording_id, "
    . "user_id, user_email, action, ip_address, user_agent, share_id, "
    . "accessed_at, detail, prev_hash) FROM $L WHERE company_id = '$co' "
    . "ORDER BY seq DESC LIMIT 1");
my ($seq, $h1, $h2) = split /\|/, $row;
is($h1, $h2, 'the last row\'s hash is its content\'s');
is(q1("SELECT seq || ' ' || last_hash FROM project_management.pm_audit_heads "
    . "WHERE company_id = '$co'"), "$seq $h1", 'the head names it');

$r = $s->api(GET => "/api/admin/audit?recording=$held", token => $atok);
is($r->{status}, 200, 'GET /api/admin/audit');
is(join(',', reverse grep { !/^(?:notice|ledger)$/ } map { $_->{action} }
    @{ $r->{json}{entries} }), actions($held),
    '... one recording\'s rows, newest first');
is($r->{json}{entries}[0]{row_hash}, q1("SELECT row_hash FROM $L WHERE "
    . "recording_id = '$held' ORDER BY seq DESC LIMIT 1"), '... with hashes');
$r = $s->api(GET => "/api/admin/audit?action=hold&limit=1", token => $atok);
is(scalar @{ $r->{json}{entries} }, 1, 'filtered by action, one a page');
ok($r->{json}{next_before}, '... and where to go on');
my $next = $s->api(GET => "/api/admin/audit?action=hold&limit=1&before="
    . $r->{json}{next_before}, token => $atok);
isnt($next->{json}{entries}[0]{id}, $r->{json}{entries}[0]{id},
    '... the next page is another row');
$r = $s->api(GET => "/api/admin/audit?user=$peer", token => $atok);
is_deeply([ map { $_->{action} } @{ $r->{json}{entries} } ], [ 'refused' ],
    'filtered by user');
$r = $s->api(GET => '/api/admin/audit?format=csv', token => $atok);
is($r->{status}, 200, 'as CSV');
like($r->{headers}{'content-type'} // '', qr{^text/csv}, '... text/csv');
my @lines = split /\n/, $r->{body};
like($lines[0], qr/^seq,id,accessed_at,company_id,recording_id,/,
    '... a header line');
is(scalar(@lines) - 1, q1("SELECT count(*) FROM $L WHERE company_id = "
    . "'$co'"), '... and a line a row');
is($s->api(GET => '/api/admin/audit', token => $a2tok)->{json}{entries}[0],
    undef, 'another company\'s admin sees none of it');

# 5. Who may, and hostile input.
for my $c ([ GET => '/api/admin/audit' ], [ GET => '/api/admin/holds' ],
    [ GET => '/api/admin/policy' ],
    [ PUT => '/api/admin/policy', { auto_share => 'none' } ],
    [ POST => "/api/admin/recordings/$keep/hold", { reason => 'x' } ],
    [ DELETE => "/api/admin/recordings/$keep/hold" ]) {
	my ($m, $p, $j) = @$c;
	$r = $s->api($m => $p, token => $tok, $j ? (json => $j) : ());
	is($r->{status}, 403, "$m $p: a user who is not an admin gets 403");
	is($r->{json}{code}, 'admin_only', '... admin_only');
	is($s->api($m => $p, $j ? (json => $j) : ())->{status}, 401,
	    '... no token: 401');
}
is($s->api(POST => "/api/admin/recordings/$keep/hold", token => $a2tok,
    json => { reason => 'x' })->{status}, 404,
    'another company\'s admin cannot hold it: 404');
for my $bad ([ {}, 'missing_field' ], [ { reason => '   ' }, 'missing_field' ],
    [ { reason => 5 }, 'invalid_field' ],
    [ { reason => 'x' x 1001 }, 'invalid_field' ],
    [ { reason => 'x', extra => 1 }, 'unknown_field' ]) {
	$r = $s->api(POST => "/api/admin/recordings/$keep/hold",
	    token => $atok, json => $bad->[0]);
	is($r->{json}{code}, $bad->[1], "hold with a bad body: $bad->[1]");
}
$r = $s->api(POST => "/api/admin/recordings/$keep/hold", token => $atok,
    body => '{"reason": ', headers => { 'Content-Type' =>
    'application/json' });
is($r->{status}, 400, 'broken JSON: 400');
is($s->api(POST => '/api/admin/recordings/not-a-uuid/hold', token => $atok,
    json => { reason => 'x' })->{json}{code}, 'invalid_id', 'a bad id');
for my $bad ([ { days => 0 }, 'invalid_field' ],
    [ { days => 'ten' }, 'invalid_field' ],
    [ { days => 5, expires_at => undef }, 'missing_field' ],
    [ { expires_at => 'tomorrow' }, 'invalid_field' ],
    [ { expires_at => 12 }, 'invalid_field' ], [ {}, 'missing_field' ]) {
	$r = $s->api(PUT => "/api/recordings/$keep/retention", token => $tok,
	    json => $bad->[0]);
	is($r->{json}{code}, $bad->[1], "retention with a bad body: "
	    . "$bad->[1]");
}
for my $bad ([ { retention_max_days => 0 }, 'invalid_field' ],
    [ { retention_default_days => -1 }, 'invalid_field' ],
    [ { auto_share => 'everyone' }, 'invalid_field' ],
    [ { retention_max_days => '5' }, 'invalid_field' ]) {
	$r = $s->api(PUT => '/api/admin/policy', token => $atok,
	    json => $bad->[0]);
	is($r->{json}{code}, $bad->[1], "policy with a bad body: $bad->[1]");
}
for my $q ('action=DROP', 'user=1', 'recording=x', 'from=yesterday',
    'before=0', 'before=abc', 'format=xml', 'limit=0', 'limit=1001',
    'whatever=1') {
	$r = $s->api(GET => "/api/admin/audit?$q", token => $atok);
	is($r->{status}, 400, "audit ?$q: 400");
}
is($s->api(GET => '/api/admin/audit?format=csv&limit=10000',
    token => $atok)->{status}, 200, 'CSV takes up to 10000 a page');

$s->finish;
done_testing();
