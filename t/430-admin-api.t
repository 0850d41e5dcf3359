#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The admin API as an operator with curl uses it: every recording of the
# company with strict filters and keyset pages, retry of a failed upload
# (woken reaper, one retry of two concurrent ones), restore from the
# trash (not of an expired recording, not after the window), counts, and
# meetrec-admin stats.  Another company's admin sees none of it.
use strict;
use warnings;
use Test::More;
use POSIX ();
use MIME::Base64 qw(encode_base64url);
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { upload_max_attempts => 1,
    upload_backoff_seconds => 1, retention_days => 30, trash_days => 7 });
my ($co, $co2) = (uuid(), uuid());
my ($host, $other, $boss) = (uuid(), uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host',
    email => 'host@example.com');
my $adm = $s->token(user => $boss, company => $co, username => 'boss',
    email => 'boss@example.com', role => 'admin');
my $oadm = $s->token(company => $co2, username => 'other-boss',
    role => 'admin');
my $T = 'project_management.pm_meeting_recordings';
my $L = 'project_management.pm_recording_access_logs';
my $spool = $s->config->{spool_dir};
my $store = $s->config->{storage_local_dir};

sub q1 { $s->pg->psql($_[0]) }
sub col { my ($id, $c) = @_; q1("SELECT $c FROM $T WHERE id = '$id'") }

my $n = 0;
# A recording of the company through the real flow, stopped: processing
# with its file in the spool.  Returns (id, room code).
sub record {
	my $code = 'adm' . ++$n;
	$s->room(code => $code, name => "Admin $n", host => $host,
	    company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code });
	is($r->{status}, 201, "start $code") or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($r->{status}, 202, "stop $code");
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	return ($id, $code);
}

sub upload { return $s->reaper('--pass', 'upload') }

# An upload that fails for good (a file where the room's folder goes;
# upload_max_attempts is 1).  Returns the room code to fix it.
sub failed_upload {
	my ($id, $code) = record();
	open(my $fh, '>', "$store/$code") or die "$store/$code: $!";
	close $fh;
	upload();
	is(col($id, 'status'), 'failed', "$code: upload failed for good");
	ok(-s "$spool/$id.mp4", "$code: spool file kept");
	return ($id, $code);
}

sub admin_list {
	my ($query, $token) = @_;
	return $s->api(GET => "/api/admin/recordings/$query",
	    token => $token // $adm);
}

sub err_is {
	my ($r, $status, $code, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($r->{status}, $status, "$name: $status")
	    or diag($r->{body});
	is($r->{json}{code}, $code, "$name: code $code");
	ok(defined $r->{json}{detail} && length $r->{json}{detail},
	    "$name: a detail sentence");
}

# 1. Recordings through the real flow.
my ($ok) = record();
my ($fail, $failroom) = failed_upload();
my ($gone) = failed_upload();
unlink "$spool/$gone.mp4";
my ($tu) = record();
my ($exp) = record();
my ($old) = record();
is(upload()->{rc}, 0, 'the others are uploaded');
is(col($_, 'status'), 'completed', 'completed') for $ok, $tu, $exp, $old;
$s->standin(POST => '/_standin/mode', { end_status => 'EGRESS_FAILED' });
my ($egfail) = record();
$s->standin(POST => '/_standin/reset');
is(col($egfail, 'status'), 'failed', 'failed at the egress');

# Rows made directly: dates to filter on, and another company's.
my @synth;
my ($synth, $theirs) = ($s->meeting('synth', company => $co),
    $s->meeting('theirs', company => $co2));
for my $row (['2025-01-10 12:00:00Z', 'completed', 1000],
    ['2025-02-01 00:00:00Z', 'failed', undef],
    ['2025-02-28 23:59:59.5Z', 'completed', 2000],
    ['2025-03-01 00:00:00Z', 'processing', undef],
    ['2025-03-15 08:00:00Z', 'recording', undef]) {
	my ($at, $st, $size) = @$row;
	push @synth, q1("INSERT INTO $T (room_code, meeting_id, company_id, "
	    . "recorded_by, status, file_size_bytes, created_at) VALUES "
	    . "('synth', '$synth', '$co', '$other', '$st', "
	    . ($size // 'NULL') . ", '$at') RETURNING id");
}
my @theirs = map { q1("INSERT INTO $T (room_code, meeting_id, company_id, "
    . "recorded_by, status, file_size_bytes) VALUES ('theirs', '$theirs', "
    . "'$co2', '$other', 'completed', 5) RETURNING id") } 1 .. 2;

# 2. Who may ask.
my $r = $s->api(GET => '/api/admin/recordings/');
err_is($r, 401, 'missing_token', 'no token');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
    'no token: WWW-Authenticate');
err_is($s->api(POST => "/api/admin/recordings/$fail/restore"), 401,
    'missing_token', 'restore without a token');
err_is(admin_list('', $tok), 403, 'admin_only', 'a user who is not admin');
err_is($s->api(GET => '/api/admin/stats', token => $tok), 403,
    'admin_only', 'stats for a user who is not admin');
err_is($s->api(POST => "/api/admin/recordings/$fail/retry", token => $tok),
    403, 'admin_only', 'retry by a user who is not admin');

# 3. The list: all of the company's, nothing of another's.
$r = admin_list('');
is($r->{status}, 200, 'admin list: 200') or diag($r->{body});
my %ours = map { $_ => 1 } $ok, $fail, $gone, $tu, $exp, $old, $egfail,
    @synth;
is($r->{json}{total}, scalar keys %ours, 'total counts the company');
is_deeply([sort map { $_->{id} } @{ $r->{json}{recordings} }],
    [sort keys %ours], 'every recording of the company, no other');
is($r->{json}{next_cursor}, undef, 'one page: no next cursor');
my ($item) = grep { $_->{id} eq $fail } @{ $r->{json}{recordings} };
is($item->{status}, 'failed', 'item: status');
is($item->{recorded_by}, $host, 'item: recorded_by');
is($item->{recorded_by_email}, 'host@example.com', 'item: recorded_by_email');
like($item->{last_error}, qr/could not create/, 'item: last_error');
is($item->{upload_attempts}, 1, 'item: upload_attempts');
ok(exists $item->{next_attempt_at}, 'item: next_attempt_at');
is($item->{deleted_at}, undef, 'item: deleted_at null');
is($item->{room_code}, $failroom, 'item: room_code');
is($item->{egress_status}, 'EGRESS_COMPLETE', 'item: egress_status');
is($item->{meeting_name}, 'Admin 2', 'item: meeting_name');
ok(exists $item->{$_}, "item: $_") for qw(file_size_bytes duration_seconds
    layout audio_only is_public created_at updated_at expires_at);
my @dates = map { $_->{created_at} } @{ $r->{json}{recordings} };
is_deeply(\@dates, [sort { $b cmp $a } @dates], 'newest first');

$r = admin_list('', $oadm);
is_deeply([sort map { $_->{id} } @{ $r->{json}{recordings} }],
    [sort @theirs], "another company's admin sees only theirs");

# 4. Filters, good values.
sub ids {
	my ($query) = @_;
	my $r = admin_list($query);
	is($r->{status}, 200, "?$query: 200") or diag($r->{body});
	return [sort map { $_->{id} } @{ $r->{json}{recordings} // [] }];
}
is_deeply(ids('?status=failed'), [sort $fail, $gone, $egfail, $synth[1]],
    'status=failed');
is_deeply(ids('?status=completed&room_code=synth'),
    [sort @synth[0, 2]], 'status and room_code');
is_deeply(ids("?user=$other"), [sort @synth], 'user');
is_deeply(ids("?user=" . uc $host),
    [sort $ok, $fail, $gone, $tu, $exp, $old, $egfail],
    'user in capitals');
is_deeply(ids('?from=2025-02-01&to=2025-02-28'), [sort @synth[1, 2]],
    'from and to dates: both days included');
is_deeply(ids('?from=2025-02-01T00:00:00.000001Z&to=2025-03-01T00:00:00Z'),
    [sort @synth[2, 3]], 'RFC 3339 times, to inclusive');
is_deeply(ids('?from=2025-03-01T01:00:00%2B01:00&to=2025-03-31'),
    [sort @synth[3, 4]], 'an offset: 01:00+01:00 is midnight UTC');
is_deeply(ids('?from=2025-02-28T23:30:00-00:30&to=2025-03-01T00:30:00.5-00:30'),
    [$synth[3]], 'negative offsets');
is_deeply(ids('?to=2024-02-29'), [], 'a leap day is a date');
is_deeply(ids('?from=9999-12-31T23:59:59.999999%2B15:59'), [],
    'the largest offset PostgreSQL takes is taken');
is_deeply(ids('?from=2025-03-02&status=processing'), [],
    'no row matches: empty list');
# With to, one row a page: the cursor goes on below to, to the end.
{
	my ($q, @got, $cur) = ('?to=2025-03-01T00:00:00Z&limit=1');
	for (1 .. 10) {
		my $j = admin_list($q . ($cur ? "&cursor=$cur" : ''))->{json};
		push @got, map { $_->{id} } @{ $j->{recordings} // [] };
		last unless $cur = $j->{next_cursor};
	}
	is_deeply([sort @got], ids('?to=2025-03-01T00:00:00Z'),
	    'to and the cursor: page by page, the same rows');
	is(scalar @got, scalar @{ ids('?to=2025-03-01T00:00:00Z') },
	    '... each once');
}

# 5. Filters, bad values: 400 naming the parameter.
for my $bad (['status=bogus', 'status'], ['status=', 'status'],
    ['room_code=bad%21', 'room_code'], ['user=not-a-uuid', 'user'],
    ['user=' . substr(uuid(), 0, 35), 'user'],
    ['from=2025-02-30', 'from'], ['from=2025-13-01', 'from'],
    ['to=2023-02-29', 'to'], ['from=yesterday', 'from'],
    ['from=2025-02-01T24:00:00Z', 'from'], ['to=2025-02-01T10:00:00', 'to'],
    ['to=2025-02-01T10:61:00Z', 'to'], ['from=0000-01-01', 'from'],
    ['from=2025-02-01T10:00:00%2B25:00', 'from'],
    # PostgreSQL refuses offsets past 15:59 (an error, not a 500, here).
    ['from=2025-02-01T10:00:00%2B16:00', 'from'],
    ['to=2025-02-01T10:00:00-23:59', 'to'],
    ['from=2025-2-1', 'from'], ['trash=maybe', 'trash'],
    ['limit=0', 'limit'], ['limit=201', 'limit'], ['limit=ten', 'limit'],
    ['limit=-1', 'limit'], ['status=failed&status=completed', 'status'],
    ['foo=1', 'foo'], ['offset=10', 'offset']) {
	my ($q, $name) = @$bad;
	$r = admin_list("?$q");
	err_is($r, 400, 'invalid_query', "?$q");
	like($r->{json}{detail}, qr/'\Q$name\E'/, "?$q: names '$name'");
}
for my $c ('garbage', encode_base64url('2025-02-31T00:00:00.000000Z,'
    . uuid()), encode_base64url('2025-02-01T00:00:00.000000Z,nope'),
    encode_base64url('2025-02-01,' . uuid()), 'x' x 300) {
	err_is(admin_list("?cursor=$c"), 400, 'invalid_cursor',
	    'cursor ' . substr($c, 0, 20));
}

# 6. Pages: limit 2 through everything, in order, each row once.
my $all = admin_list('?limit=200')->{json}{recordings};
my (@paged, $cursor, $pages);
do {
	$r = admin_list('?limit=2' . ($cursor ? "&cursor=$cursor" : ''));
	is($r->{status}, 200, 'page ' . ++$pages);
	is($r->{json}{total}, scalar @$all, "page $pages: total");
	push @paged, map { $_->{id} } @{ $r->{json}{recordings} };
	$cursor = $r->{json}{next_cursor};
} while ($cursor && $pages < 20);
is_deeply(\@paged, [map { $_->{id} } @$all],
    "pages of two give every row once, in order ($pages pages)");
$r = admin_list('?limit=3&status=completed');
is(scalar @{ $r->{json}{recordings} }, 3, 'filtered page of 3');
my $p2 = admin_list("?limit=3&status=completed&cursor="
    . $r->{json}{next_cursor})->{json}{recordings};
ok(!grep({ $_->{status} ne 'completed' } @$p2),
    'the filter holds on the next page');

# 7. Retry.
err_is($s->api(POST => "/api/admin/recordings/$egfail/retry", token => $adm),
    409, 'nothing_to_retry', 'retry of a recording failed at the egress');
err_is($s->api(POST => "/api/admin/recordings/$gone/retry", token => $adm),
    409, 'nothing_to_retry', 'retry with the spool file gone');
err_is($s->api(POST => "/api/admin/recordings/$ok/retry", token => $adm),
    409, 'not_failed', 'retry of a completed recording');
err_is($s->api(POST => "/api/admin/recordings/" . uuid() . "/retry",
    token => $adm), 404, 'recording_not_found', 'retry of an unknown id');
err_is($s->api(POST => "/api/admin/recordings/nope/retry", token => $adm),
    400, 'invalid_id', 'retry of a bad id');
err_is($s->api(POST => "/api/admin/recordings/$fail/retry", token => $oadm),
    404, 'recording_not_found', "another company's admin cannot retry ours");
err_is($s->api(POST => "/api/admin/recordings/$fail/retry", token => $adm,
    json => { force => \1 }), 422, 'unknown_field', 'retry takes no fields');
is(col($fail, 'status'), 'failed', 'nothing changed by the refusals');

# The cause is still there: the retry is accepted, the upload fails again.
q1("UPDATE $T SET lease_owner = 'x', lease_until = now() - interval '1 s', "
    . "next_attempt_at = now() + interval '1 day' WHERE id = '$fail'");
$r = $s->api(POST => "/api/admin/recordings/$fail/retry", token => $adm);
is($r->{status}, 202, 'retry: 202') or diag($r->{body});
is($r->{json}{recording_id}, $fail, 'retry: recording_id');
is($r->{json}{status}, 'processing', 'retry: status processing');
ok($r->{json}{message}, 'retry: message');
is(q1("SELECT concat_ws('|', status, upload_attempts, next_attempt_at <= "
    . "now(), lease_owner IS NULL AND lease_until IS NULL) FROM $T "
    . "WHERE id = '$fail'"), 'processing|0|t|t',
    'queued: processing, attempts 0, due now, lease cleared');
like($s->log('pool'), qr/rec=\Q$fail\E action=retry admin=\Q$boss\E/,
    'the retry is logged');
is(upload()->{rc}, 1, 'the reaper tried, and failed');
is(col($fail, 'status'), 'failed', 'and it failed again');
is(col($fail, 'upload_attempts'), 1, 'one attempt since the retry');

# A reaper holding the row: refused, not taken from it.
q1("UPDATE $T SET lease_owner = 'x', lease_until = now() + interval '1 h' "
    . "WHERE id = '$fail'");
err_is($s->api(POST => "/api/admin/recordings/$fail/retry", token => $adm),
    409, 'busy', 'retry while a reaper holds the row');
q1("UPDATE $T SET lease_owner = NULL, lease_until = NULL WHERE id = '$fail'");

# Cause fixed; a watching reaper is woken by the retry's NOTIFY (its
# periodic sweep is far away).  Two admins retry at the same moment.
unlink "$store/$failroom";
my $w = $s->start_reaper(name => 'reaper-watch',
    args => ['--watch', '--pass', 'upload']);
$s->wait_log('reaper-watch', qr/pass=upload done/);
my @kids;
for my $i (1, 2) {
	pipe(my $rd, my $wr) or die;
	my $pid = fork // die;
	if ($pid == 0) {
		close $rd;
		my $res = Meetrec::Test::Util::http(POST =>
		    $s->url("/api/admin/recordings/$fail/retry"),
		    { headers => { Authorization => "Bearer $adm" } });
		my $code = ($res->{body} // '') =~ /"code":"(\w+)"/ ? $1 : '';
		print $wr "$res->{status} $code\n";
		close $wr;
		POSIX::_exit(0);
	}
	close $wr;
	push @kids, [$pid, $rd];
}
my @got;
for my $k (@kids) {
	my $fh = $k->[1];
	my $line = <$fh> // 'none';
	chomp $line;
	push @got, $line;
	waitpid($k->[0], 0);
}
@got = sort @got;
is_deeply(\@got, ['202 ', '409 not_failed'],
    'two concurrent retries: one 202, the other 409 not_failed')
    or diag("@got");
my $end = time + 20;
sleep 0.1 while time < $end && col($fail, 'status') ne 'completed';
is(col($fail, 'status'), 'completed', 'the woken reaper completed it');
my @up = $s->log('reaper-watch') =~ /rec=\Q$fail\E action=uploaded/g;
is(scalar @up, 1, 'uploaded once');
ok(!-e "$spool/$fail.mp4", 'spool file removed after the upload');
$w->stop(sig => 'TERM');
err_is($s->api(POST => "/api/admin/recordings/$fail/retry", token => $adm),
    409, 'not_failed', 'retry once completed');

# 8. Restore.
is($s->api(DELETE => "/api/recordings/$tu", token => $tok)->{status}, 200,
    'the owner deletes a recording');
is($s->api(DELETE => "/api/recordings/$old", token => $tok)->{status}, 200,
    'and another one');
is(col($tu, 'trash_reason'), 'deleted', 'trashed by a user');
q1("UPDATE $T SET deleted_at = now() - interval '8 days' WHERE id = '$old'");
q1("UPDATE $T SET expires_at = now() - interval '1 minute' "
    . "WHERE id = '$exp'");
$r = $s->reaper('--pass', 'expire');
like($r->{err}, qr/rec=\Q$exp\E action=expired/, 'one expired');
is(col($exp, 'trash_reason'), 'expired', 'trashed by expiry');

is_deeply(ids('?trash=only'), [sort $tu, $old, $exp], 'trash=only');
ok(!grep({ $_ eq $tu } @{ ids('') }), 'trash is excluded by default');
is(scalar @{ ids('?trash=include') }, scalar(keys %ours),
    'trash=include lists all');
$r = admin_list('?trash=only&room_code=' . col($exp, 'room_code'));
is($r->{json}{recordings}[0]{trash_reason}, 'expired',
    'the list says why it is in the trash');
ok($r->{json}{recordings}[0]{deleted_at}, 'and since when');

err_is($s->api(POST => "/api/admin/recordings/$tu/restore", token => $oadm),
    404, 'recording_not_found', "another company's admin cannot restore");
err_is($s->api(POST => "/api/admin/recordings/$ok/restore", token => $adm),
    404, 'recording_not_found', 'restore of one not in the trash');
err_is($s->api(POST => "/api/admin/recordings/$exp/restore", token => $adm),
    409, 'file_deleted', 'restore of an expired recording');
is(col($exp, 'deleted_at IS NOT NULL'), 't', 'it stays in the trash');
err_is($s->api(POST => "/api/admin/recordings/$old/restore", token => $adm),
    404, 'recording_not_found', 'restore after the trash window');
is(col($old, 'deleted_at IS NOT NULL'), 't', 'that one stays too');

# Its expiry passed while it was in the trash: pushed forward.
q1("UPDATE $T SET expires_at = now() - interval '1 day' WHERE id = '$tu'");
$r = $s->api(POST => "/api/admin/recordings/$tu/restore", token => $adm,
    json => {});
is($r->{status}, 200, 'restore within the window: 200') or diag($r->{body});
is($r->{json}{recording_id}, $tu, 'restore: recording_id');
ok($r->{json}{message}, 'restore: message');
is(q1("SELECT concat_ws('|', deleted_at IS NULL, trash_reason IS NULL, "
    . "round(extract(epoch FROM expires_at - now()) / 86400)) FROM $T "
    . "WHERE id = '$tu'"), 't|t|30',
    'back, with expires_at now + retention_days');
is(q1("SELECT count(*) FROM $L WHERE recording_id = '$tu' AND action = "
    . "'restore' AND user_id = '$boss'"), 1, 'an audit row "restore"');
is($s->api(GET => "/api/recordings/$tu", token => $tok)->{status}, 200,
    'the owner sees it again');
is($s->api(GET => "/api/recordings/$tu/download", token => $tok)->{status},
    200, 'and can download it');
$r = $s->reaper('--pass', 'expire');
unlike($r->{err}, qr/\Q$tu\E/, 'the next expire pass leaves it alone');
err_is($s->api(POST => "/api/admin/recordings/$tu/restore", token => $adm),
    404, 'recording_not_found', 'a second restore');

# 9. Counts.  A recording waiting for its upload.
my ($proc) = record();
$r = $s->api(GET => '/api/admin/stats', token => $adm);
is($r->{status}, 200, 'stats: 200') or diag($r->{body});
my $st = $r->{json};
is_deeply($st->{by_status}, { pending => 0, recording => 1, processing => 2,
    completed => 5, failed => 3 }, 'by_status, all five');
is($st->{trashed}, 2, 'trashed: expired and the old one');
my $bytes = 3000 + q1("SELECT sum(file_size_bytes) FROM $T WHERE id IN "
    . "('$ok', '$fail', '$tu')");
is($st->{bytes_stored}, $bytes, "bytes_stored: $bytes");
is($st->{uploads_pending}, 1, 'uploads_pending');
is($st->{uploads_failed}, 1, 'uploads_failed: the one without a file left');
is($st->{oldest_pending_upload_at},
    q1("SELECT to_char(ended_at AT TIME ZONE 'UTC', "
    . "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM $T WHERE id = '$proc'"),
    'oldest_pending_upload_at: its end');
ok(defined $st->{oldest_pending_upload_seconds} &&
    $st->{oldest_pending_upload_seconds} >= 0 &&
    $st->{oldest_pending_upload_seconds} < 120,
    'oldest_pending_upload_seconds');
err_is($s->api(GET => '/api/admin/stats?x=1', token => $adm), 400,
    'invalid_query', 'stats takes no parameters');
$r = $s->api(GET => '/api/admin/stats', token => $oadm);
is_deeply($r->{json}, { by_status => { pending => 0, recording => 0,
    processing => 0, completed => 2, failed => 0 }, trashed => 0,
    bytes_stored => 10, uploads_pending => 0, uploads_failed => 0,
    oldest_pending_upload_at => undef,
    oldest_pending_upload_seconds => undef },
    "another company's stats: only theirs, nulls when none");

# meetrec-admin stats: the same numbers.
my $ar = $s->admin_run('stats', '--company', $co);
is($ar->{rc}, 0, 'meetrec-admin stats --company') or diag($ar->{err});
my %kv = $ar->{out} =~ /^(\S+) = (\S+)$/mg;
is($kv{company}, $co, 'names the company');
is($kv{"by_status.$_"}, $st->{by_status}{$_}, "admin stats: $_")
    for keys %{ $st->{by_status} };
is($kv{$_}, $st->{$_}, "admin stats: $_") for qw(trashed bytes_stored
    uploads_pending uploads_failed oldest_pending_upload_at);
$ar = $s->admin_run('stats');
is($ar->{rc}, 0, 'meetrec-admin stats, all companies');
%kv = $ar->{out} =~ /^(\S+) = (\S+)$/mg;
is($kv{company}, 'all', 'says all');
is($kv{'by_status.completed'}, 7, 'completed of both companies');
is($kv{bytes_stored}, $bytes + 10, 'bytes of both companies');
is($kv{oldest_pending_upload_seconds} =~ /^\d+$/ ? 1 : 0, 1,
    'oldest_pending_upload_seconds a number');
$ar = $s->admin_run('stats', '--company', 'nope');
isnt($ar->{rc}, 0, 'a bad --company is refused');
like($ar->{err}, qr/--company must be a UUID/, 'saying why');
is($s->admin_run('stats', 'extra')->{rc}, 2, 'extra arguments: usage');
like($s->admin_run('stats', '--company', uuid())->{out},
    qr/^by_status\.completed = 0$/m, 'an unknown company counts nothing');

$s->finish;
done_testing();
