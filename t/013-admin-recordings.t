#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# meetrec-admin does at the shell what admins do with curl: recordings
# list|show|retry|restore|delete, shares list|revoke, room list|del, for
# one company (--company) or all, by the API's rules: the same rows in
# the same order as GET /api/admin/recordings, the same refusals (not
# failed, nothing to retry, recording still active, not in the trash),
# the same audit rows.  Lists print every row, however many (no cap),
# or --limit of them with the cursor to go on from; --json for programs.
# Bad input is a clear message and a non-zero exit, never a crash.  And
# token says what to do on an install that only takes RS256 tokens.
use strict;
use warnings;
use Test::More;
use File::Temp ();
use JSON::PP ();
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp spew http src_root);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(no_standin => 1);
my ($co, $other) = ($s->company, uuid());
my ($owner, $admin) = (uuid(), uuid());
my $atok = $s->token(user => $admin, role => 'admin', username => 'adm');
my $T = 'project_management';
my $J = JSON::PP->new;

sub sql { return $s->pg->psql($_[0]) }
sub run { return $s->admin_run(@_) }

# json(@args) - meetrec-admin @args --json, decoded (a test fails if not).
sub json {
	my $r = run(@_, '--json');
	is($r->{rc}, 0, "@_ --json succeeds") or diag($r->{err});
	return eval { $J->decode($r->{out}) } // {};
}

# rec(%cols) - a recording row of $co (unless company given), in the
# room of its room_code (made for that company when there is none).
sub rec {
	my (%c) = @_;
	my %row = (room_code => 'cli', company_id => $co, recorded_by => $owner,
	    status => 'completed', %c);
	$row{meeting_id} //= $s->meeting($row{room_code}, host => $owner,
	    company => $row{company_id});
	my @k = sort keys %row;
	return sql("INSERT INTO $T.pm_meeting_recordings ("
	    . join(', ', @k) . ') VALUES ('
	    . join(', ', map { defined $row{$_} ? "'$row{$_}'" : 'NULL' } @k)
	    . ') RETURNING id');
}

# 250 recordings of $co (more than one page of 200), 3 of another company.
my $bulk = $s->meeting('bulk', host => $owner, company => $co);
sql("INSERT INTO $T.pm_meeting_recordings (room_code, meeting_id, "
    . "company_id, recorded_by, status, created_at) SELECT 'bulk', '$bulk', "
    . "'$co', '$owner', 'completed', now() - make_interval(mins => g) "
    . 'FROM generate_series(1, 250) g');
my @theirs = map { rec(company_id => $other, room_code => 'theirs') } 1 .. 3;

# ---------------------------------------------------------------------
# recordings list
my $r = run('recordings', 'list');
is($r->{rc}, 0, 'recordings list succeeds') or diag($r->{err});
my @lines = split /\n/, $r->{out};
like($lines[0], qr/^ID\s+STATUS\s+CREATED \(UTC\)\s+ROOM\s+BYTES/,
    'a table with a header');
is(scalar @lines, 1 + 253, 'every recording of every company, no cap: 253 '
    . 'rows');
like($r->{out}, qr/^$theirs[0]\s+completed\s/m, "another company's too");
$r = run('recordings', 'list', '--company', $co);
is(scalar(split /\n/, $r->{out}), 1 + 250, '--company: only its 250');
unlike($r->{out}, qr/$theirs[0]/, "not the other company's");

# The same rows, in the same order, as the admin API.
my (@api, $cursor);
do {
	my $q = '?limit=200' . ($cursor ? "&cursor=$cursor" : '');
	my $a = $s->api(GET => "/admin/recordings/$q", token => $atok);
	push @api, map { $_->{id} } @{ $a->{json}{recordings} };
	$cursor = $a->{json}{next_cursor};
} while ($cursor);
my $j = json('recordings', 'list', '--company', $co);
is_deeply([ map { $_->{id} } @{ $j->{recordings} } ], \@api,
    '--json: the rows GET /api/admin/recordings gives, in its order');
is($j->{total}, 250, 'total 250');
is($j->{next_cursor}, undef, 'no next_cursor when all are there');
is_deeply([ sort keys %{ $j->{recordings}[0] } ], [ sort qw(id company_id
    room_code meeting_name status egress_id egress_status recorded_by
    recorded_by_name recorded_by_email layout storage_type storage_path
    file_name checksum_sha256 started_at ended_at expires_at created_at
    updated_at deleted_at last_error media_finding trash_reason
    next_attempt_at audio_only is_public allowed_viewers file_size_bytes
    duration_seconds duration_ms is_encrypted watermark_applied
    upload_attempts) ], 'each with what an admin looks at');

# --limit and --cursor walk the same list.
$r = run('recordings', 'list', '--company', $co, '--limit', 7);
is(scalar(split /\n/, $r->{out}), 1 + 7, '--limit 7: seven rows');
my ($c7) = $r->{err} =~ /--cursor (\S+)/;
ok($c7, 'and says the --cursor to go on from') or diag($r->{err});
my @walked;
$cursor = undef;
for (1 .. 50) {
	my $p = json('recordings', 'list', '--company', $co, '--limit', 60,
	    $cursor ? ('--cursor', $cursor) : ());
	push @walked, map { $_->{id} } @{ $p->{recordings} };
	last unless $cursor = $p->{next_cursor};
}
is_deeply(\@walked, \@api, 'pages of 60 by next_cursor: the same list');
$r = run('recordings', 'list', '--company', $co, '--limit', 250);
is($r->{err}, '', '--limit of exactly all: no cursor to go on from');

# Filters.
my $failed = rec(status => 'failed', egress_status => 'EGRESS_COMPLETE',
    room_code => 'fails', last_error => 'upload failed: 503');
my $early = rec(status => 'failed', egress_status => 'EGRESS_FAILED',
    room_code => 'fails');
my $gone = rec(room_code => 'gone', trash_reason => 'expired',
    deleted_at => sql("SELECT now() - interval '1 day'"));
$j = json('recordings', 'list', '--status', 'failed');
is_deeply([ sort map { $_->{id} } @{ $j->{recordings} } ],
    [ sort $failed, $early ], '--status failed');
$j = json('recordings', 'list', '--room', 'fails', '--company', $other);
is_deeply($j->{recordings}, [], '--room of another company: none');
$j = json('recordings', 'list', '--trash', 'only');
is_deeply([ map { $_->{id} } @{ $j->{recordings} } ], [$gone],
    '--trash only');
is($j->{recordings}[0]{trash_reason}, 'expired', 'with why it is there');
$j = json('recordings', 'list', '--user', $owner, '--from',
    '2000-01-01', '--to', '2999-12-31', '--limit', 1);
is(scalar @{ $j->{recordings} }, 1, '--user --from --to --limit');
ok($j->{next_cursor}, 'next_cursor when there is more');

# ---------------------------------------------------------------------
# recordings show
$r = run('recordings', 'show', $failed);
is($r->{rc}, 0, 'show succeeds');
like($r->{out}, qr/^status\s+failed$/m, 'one field a line: status');
like($r->{out}, qr/^last_error\s+upload failed: 503$/m, 'last_error');
like($r->{out}, qr/^deleted_at\s+-$/m, 'a dash for none');
$j = json('recordings', 'show', $gone);
is($j->{id}, $gone, 'show --json, of one in the trash too');
# What the probe found, which explains a damaged_media refusal.
my $cut = rec(status => 'failed', room_code => 'cut',
    media_finding => 'the file ends inside its mdat box');
$j = json('recordings', 'show', $cut);
is($j->{media_finding}, 'the file ends inside its mdat box',
    'show --json: media_finding, as the API shows admins');
$r = run('recordings', 'show', $cut);
like($r->{out}, qr/^media_finding\s+the file ends inside its mdat box$/m,
    'show: media_finding');
$r = run('recordings', 'show', $failed, '--company', $other);
is($r->{rc}, 1, "another company's recording: exit 1");
like($r->{err}, qr/no recording \Q$failed\E in company \Q$other\E/,
    'saying so');

# ---------------------------------------------------------------------
# recordings retry: the API's rules.
spew($s->config('spool_dir') . "/$failed.mp4", 'x' x 100);
$r = run('recordings', 'retry', $early);
is($r->{rc}, 1, 'retry of a recording LiveKit wrote no file of: exit 1');
like($r->{err}, qr/nothing to upload.*\(nothing_to_retry\)/,
    'nothing_to_retry, as the API says');
$r = run('recordings', 'retry', $failed, '--company', $other);
like($r->{err}, qr/\(recording_not_found\)/, "not another company's");
$r = run('recordings', 'retry', $failed);
is($r->{rc}, 1, 'retry of a file the probe cannot read to its end: exit 1');
like($r->{err}, qr/damaged.*\(damaged_media\)/,
    'damaged_media, as the API says');
$r = run('recordings', 'retry', $failed, '--accept-as-is', '--json');
is($r->{rc}, 0, 'with --accept-as-is it is queued') or diag($r->{err});
like($r->{out}, qr/stored as it is/, 'to be stored as it is');
is(sql("SELECT status || ' ' || store_as_is FROM "
    . "$T.pm_meeting_recordings WHERE id = '$failed'"), 'processing true',
    'marked so');
sql("UPDATE $T.pm_meeting_recordings SET status = 'failed', "
    . "store_as_is = false WHERE id = '$failed'");
spew($s->config('spool_dir') . "/$failed.mp4",
    slurp(src_root() . '/t/fixtures/av-faststart.mp4'));
$r = run('recordings', 'retry', $failed);
is($r->{rc}, 0, 'retry of a failed upload succeeds') or diag($r->{err});
like($r->{out}, qr/^\Q$failed\E: The upload is queued again\.$/, 'saying so');
is(sql("SELECT status || ' ' || upload_attempts FROM "
    . "$T.pm_meeting_recordings WHERE id = '$failed'"), 'processing 0',
    'back in the upload queue, attempts from zero');
$r = run('recordings', 'retry', $failed);
is($r->{rc}, 1, 'again: exit 1');
like($r->{err}, qr/processing, not failed\. \(not_failed\)/, 'not_failed');
my $api = $s->api(POST => "/admin/recordings/$failed/retry", token => $atok);
is($api->{json}{code}, 'not_failed', 'the API says the same');

# ---------------------------------------------------------------------
# recordings delete and restore, audited as the API does.
my $del = rec(room_code => 'del');
my $live = rec(room_code => 'live', status => 'recording');
$r = run('recordings', 'delete', $live);
is($r->{rc}, 1, 'delete of a recording still recording: exit 1');
like($r->{err}, qr/\(recording_active\)/, 'recording_active');
$j = json('recordings', 'delete', $del);
is($j->{recording_id}, $del, 'delete --json');
like($j->{message}, qr/trash/, 'in the trash');
is($s->api(GET => "/recordings/$del", token => $atok)->{status}, 404,
    'the API no longer shows it');
my $agent = sql("SELECT user_agent FROM $T.pm_recording_access_logs "
    . "WHERE recording_id = '$del' AND action = 'delete' AND user_id IS NULL");
like($agent, qr/^meetrec-admin \(\S+\)$/, 'a delete row, by meetrec-admin');
$r = run('recordings', 'delete', $del);
like($r->{err}, qr/\(recording_not_found\)/, 'deleting twice: not found');
$r = run('recordings', 'restore', $del, '--company', $other);
like($r->{err}, qr/\(recording_not_found\)/, "restore: not for another "
    . 'company');
$r = run('recordings', 'restore', $del);
is($r->{rc}, 0, 'restore succeeds') or diag($r->{err});
is($s->api(GET => "/recordings/$del", token => $atok)->{status}, 200,
    'the API shows it again');
is(sql("SELECT count(*) FROM $T.pm_recording_access_logs WHERE "
    . "recording_id = '$del' AND action = 'restore'"), 1, 'a restore row');
$r = run('recordings', 'restore', $gone);
like($r->{err}, qr/\(file_deleted\)/, 'one that expired: file_deleted');

# ---------------------------------------------------------------------
# shares list and revoke.
my $shared = rec(room_code => 'shared');
sql("INSERT INTO $T.pm_recording_shares (recording_id, token_sha256, "
    . "created_by, expires_at, revoked_at, created_at) SELECT '$shared', "
    . "md5(g::text) || md5(g::text), '$owner', now() + interval '1 day', "
    . "now(), now() - make_interval(secs => g) "
    . 'FROM generate_series(1, 230) g');
my $made = $s->api(POST => "/recordings/$shared/shares", token => $atok,
    json => {}, from => '127.0.1.1');
is($made->{status}, 201, 'a share link made with the API');
$r = run('shares', 'list', $shared);
is($r->{rc}, 0, 'shares list succeeds');
@lines = split /\n/, $r->{out};
is(scalar @lines, 1 + 231, 'every link: 231 (no cap at 200)');
like($lines[1], qr/^\Q$made->{json}{share_id}\E\s+works\s/,
    'the newest first, and it works');
$j = json('shares', 'list', $shared, '--limit', 5);
is(scalar @{ $j->{shares} }, 5, '--limit 5');
is($j->{total}, 231, 'total 231');
ok($j->{next_cursor}, 'and a cursor');
$j = json('shares', 'list', $shared, '--cursor', $j->{next_cursor});
is(scalar @{ $j->{shares} }, 226, 'the rest after it');
$r = run('shares', 'list', $shared, '--company', $other);
like($r->{err}, qr/\(recording_not_found\)/, "not another company's");
is(http(GET => $made->{json}{url})->{status}, 200, 'the link works');
$r = run('shares', 'revoke', $made->{json}{share_id}, '--company', $other);
like($r->{err}, qr/\(share_not_found\)/, "revoke: not another company's");
$r = run('shares', 'revoke', $made->{json}{share_id});
is($r->{rc}, 0, 'shares revoke succeeds') or diag($r->{err});
is(http(GET => $made->{json}{url})->{status}, 410, 'the link is gone (410)');
is(sql("SELECT count(*) FROM $T.pm_recording_access_logs WHERE "
    . "recording_id = '$shared' AND action = 'share_revoke' AND share_id = "
    . "'$made->{json}{share_id}'"), 1, 'a share_revoke row');
$j = json('shares', 'revoke', $made->{json}{share_id});
ok($j->{revoked_at}, 'revoking twice answers the same');

# ---------------------------------------------------------------------
# room list (once cut at 1000 rows) and room del.  The recordings above
# have rooms of their own (bulk, cut, ..., theirs) besides these.
my $had = sql("SELECT count(*) FROM $T.pm_meeting_rooms");
sql("INSERT INTO $T.pm_meeting_rooms (room_code, name, created_by, "
    . "company_id) SELECT 'r' || lpad(g::text, 4, '0'), 'Room ' || g, "
    . "'$owner', '$co' FROM generate_series(1, 1005) g");
$s->room(code => 'elsewhere', company => $other, host => $owner);
sub codes { return [ split /\n/, sql("SELECT room_code FROM "
    . "$T.pm_meeting_rooms WHERE $_[0] ORDER BY room_code") ] }
$r = run('room', 'list');
is(scalar(split /\n/, $r->{out}), $had + 1006,
    'room list: all ' . ($had + 1006) . ' rooms');
$r = run('room', 'list', '--company', $other);
like($r->{out}, qr/\A\S+\telsewhere\tactive\t/, '--company: its rooms');
is_deeply([ map { (split /\t/)[1] } split /\n/, $r->{out} ],
    codes("company_id = '$other'"), '... and only those');
$r = run('room', 'list', '--limit', 3);
is($r->{out} =~ tr/\n//, 3, '--limit 3');
my $third = codes('true')->[2];
like($r->{err}, qr/--cursor \Q$third\E\n/, 'the cursor is the last code '
    . "shown ($third)");
$j = json('room', 'list', '--cursor', 'r1003');
is_deeply([ map { $_->{room_code} } @{ $j->{rooms} } ],
    codes("room_code > 'r1003'"), '--cursor r1003 --json: those after it');
is_deeply([ map { $_->{room_code} } @{ $j->{rooms} }[0, 1] ],
    [qw(r1004 r1005)], '... r1004 and r1005 first');
rec(room_code => 'r0001', status => 'recording');
$r = run('room', 'del', 'r0001');
is($r->{rc}, 1, 'room del of a room being recorded: exit 1');
like($r->{err}, qr/being recorded.*\(room_busy\)/, 'saying why');
$r = run('room', 'del', 'r0002', '--company', $other);
like($r->{err}, qr/no room 'r0002' in company/, "not another company's");
$r = run('room', 'del', 'r0002');
is($r->{rc}, 0, 'room del succeeds');
is(sql("SELECT count(*) FROM $T.pm_meeting_rooms WHERE room_code = "
    . "'r0002'"), 0, 'the room is gone');
$r = run('room', 'del', 'r0002');
is($r->{rc}, 1, 'again: exit 1');
# The seed's foreign key: a room keeps its recordings' link, finished
# or in the trash.
rec(room_code => 'r0003', deleted_at => sql('SELECT now()'));
$r = run('room', 'del', 'r0003');
is($r->{rc}, 1, 'room del of a room with a recording (in the trash): exit 1');
like($r->{err}, qr/has 1 recording\b.*\(room_has_recordings\)/,
    'saying why');
is(sql("SELECT count(*) FROM $T.pm_meeting_rooms WHERE room_code = "
    . "'r0003'"), 1, 'the room is still there');

# ---------------------------------------------------------------------
# Bad input: a message and an exit status, never a crash.
for my $bad (
	[ 1, [qw(recordings list --limit 0)], qr/--limit/ ],
	[ 1, [qw(recordings list --limit abc)], qr/--limit/ ],
	[ 1, [qw(recordings list --status done)], qr/--status/ ],
	[ 1, [qw(recordings list --from 2026-02-31)], qr/--from/ ],
	[ 1, [qw(recordings list --to yesterday)], qr/--to/ ],
	[ 1, [qw(recordings list --cursor garbage)], qr/--cursor/ ],
	[ 1, [qw(recordings list --company acme)], qr/--company/ ],
	[ 1, [qw(recordings list --room), 'a b'], qr/--room/ ],
	[ 1, [qw(recordings show nope)], qr/UUID/ ],
	[ 1, [qw(shares revoke 12)], qr/UUID/ ],
	[ 1, [qw(room del), 'no such'], qr/room code/ ],
	[ 2, [qw(recordings list --bogus)], qr/usage/ ],
	[ 2, [qw(recordings list extra)], qr/usage/ ],
	[ 2, [qw(recordings show)], qr/usage/ ],
	[ 2, [qw(recordings frobnicate)], qr/usage/ ],
	[ 2, [qw(recordings)], qr/usage/ ],
	[ 2, [qw(shares list)], qr/usage/ ],
	[ 2, [qw(room del)], qr/usage/ ],
	[ 2, [qw(recordings list --limit)], qr/usage/ ],
    ) {
	my ($rc, $args, $re) = @$bad;
	$r = run(@$args);
	is($r->{rc}, $rc, "@$args: exit $rc");
	like($r->{err}, $re, "@$args: says why");
}

# ---------------------------------------------------------------------
# token on an install that takes only RS256/ES256 tokens.
my $keydir = File::Temp::tempdir('mrkeyXXXX', TMPDIR => 1, CLEANUP => 1);
system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
    . "-out $keydir/key.pem 2>/dev/null") == 0 or BAIL_OUT('openssl');
system("openssl pkey -in $keydir/key.pem -pubout -out $keydir/pub.pem")
    == 0 or BAIL_OUT('openssl pkey');
my $conf = slurp($s->conf_path) =~ s/^jwt_secret = .*\n//mr
    . "jwt_public_key_file = $keydir/pub.pem\n"
    . "url_signing_secret = " . ('k' x 32) . "\n";
spew($s->dir . '/rs256.conf', $conf, 0600);
$r = Meetrec::Test::Proc::run_cmd([ Meetrec::Test::Stack::admin_bin(),
    '--config', $s->dir . '/rs256.conf', 'token', '--user', uuid(),
    '--username', 'x', '--company', $co ], env => $s->_prog_env);
is($r->{rc}, 1, 'token without jwt_secret: exit 1');
is($r->{out}, '', 'no token printed');
like($r->{err}, qr/no jwt_secret/, 'says there is no jwt_secret');
like($r->{err}, qr/\Q$keydir\E\/pub\.pem/, 'names the public key file');
like($r->{err}, qr/Ask the issuer/, 'and what to do');

$s->finish;
done_testing();
