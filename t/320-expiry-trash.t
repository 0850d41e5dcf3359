#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The end of a recording's life: retention sets expires_at at creation;
# past it the reaper deletes the stored file and moves the row to the
# trash; trash older than trash_days is purged with its files and audit
# rows.  Recordings still in use are never touched.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(wait_for);
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { retention_days => 30,
    trash_days => 7 });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $T = 'project_management.pm_meeting_recordings';
my $store = $s->config->{storage_local_dir};
my $spool = $s->config->{spool_dir};

my $n = 0;
sub completed {
	my $code = 'ex' . ++$n;
	$s->room(code => $code, name => $code, host => $host, company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code });
	my $id = $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	$s->api(POST => "/api/recordings/$id/stop", token => $tok);
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	$s->reaper('--pass', 'upload');
	return $id;
}
sub q1 { $s->pg->psql($_[0]) }

my $keep = completed();
my $old = completed();
my $trashed = completed();
my $active_code;
is(q1("SELECT status FROM $T WHERE id = '$old'"), 'completed', 'completed');
is(q1("SELECT round(extract(epoch FROM expires_at - created_at) / 86400) "
    . "FROM $T WHERE id = '$keep'"), 30, 'expires_at = created + 30 days');
my $path = q1("SELECT storage_path FROM $T WHERE id = '$old'");
ok(-f "$store/$path", 'stored file exists');

# Expiry: the file goes, the row goes to the trash.
q1("UPDATE $T SET expires_at = now() - interval '1 minute' "
    . "WHERE id = '$old'");
my $r = $s->reaper('--pass', 'expire');
is($r->{rc}, 0, 'expire pass succeeds') or diag($r->{err});
like($r->{err}, qr/pass=expire rec=\Q$old\E action=expired/, 'logged');
ok(!-e "$store/$path", 'the expired file is deleted');
is(q1("SELECT deleted_at IS NOT NULL FROM $T WHERE id = '$old'"), 't',
    'the row is in the trash');
is($s->api(GET => "/api/recordings/$old", token => $tok)->{status}, 404,
    'and gone from the API');
is(q1("SELECT deleted_at IS NULL FROM $T WHERE id = '$keep'"), 't',
    'a recording not yet expired is kept');
ok(-f "$store/" . q1("SELECT storage_path FROM $T WHERE id = '$keep'"),
    'with its file');

# A recording in progress is never expired.
$s->room(code => 'live', name => 'live', host => $host, company => $co);
my $live = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'live' })->{json}{recording_id};
q1("UPDATE $T SET expires_at = now() - interval '1 minute' "
    . "WHERE id = '$live'");
$s->reaper('--pass', 'expire');
is(q1("SELECT deleted_at IS NULL FROM $T WHERE id = '$live'"), 't',
    'a running recording is not expired');

# Deleted by its owner: the file stays while it is in the trash.
is($s->api(DELETE => "/api/recordings/$trashed", token => $tok)->{status},
    200, 'owner deletes');
my $tpath = q1("SELECT storage_path FROM $T WHERE id = '$trashed'");
$s->reaper('--pass', 'purge');
ok(-f "$store/$tpath", 'inside the trash window the file is kept');
is(q1("SELECT count(*) FROM $T WHERE id = '$trashed'"), 1, 'and the row');

# Past the window: purged, files with it; the audit rows stay, and say
# so.
$s->api(GET => "/api/recordings/$keep", token => $tok);	# an audit row
q1("UPDATE $T SET deleted_at = now() - interval '8 days' "
    . "WHERE id IN ('$trashed', '$old')");
$r = $s->reaper('--pass', 'purge');
like($r->{err}, qr/rec=\Q$trashed\E action=purged/, 'purged');
ok(!-e "$store/$tpath", 'its file is deleted');
is(q1("SELECT count(*) FROM $T WHERE id IN ('$trashed', '$old')"), 0,
    'both rows are gone');
is(q1("SELECT count(*) FROM project_management.pm_recording_access_logs "
    . "WHERE recording_id IN ('$trashed', '$old') AND action = 'purge'"), 2,
    'their audit rows stay, with a purge row each');
is(q1("SELECT count(*) FROM project_management.pm_recording_access_logs "
    . "WHERE recording_id = '$trashed' AND action = 'start'"), 1,
    '... its start among them');

# A reaper stopped in the middle of a pass (SIGTERM) finishes the row in
# hand and gives back the rows of its batch it has not started: no lease
# is left to run out, and the next reaper does the rest, each row once.
q1("INSERT INTO $T (room_code, meeting_id, company_id, recorded_by, "
    . "status, expires_at) SELECT 'bulk', (SELECT meeting_id FROM $T "
    . "WHERE id = '$keep'), '$co', '$host', 'completed', now() - "
    . "make_interval(secs => g) FROM generate_series(1, 20000) g");
my $bulk = "room_code = 'bulk'";
my $p = $s->start_reaper(name => 'reaper-stopped', args => [ '--once',
    '--pass', 'expire', '--limit', '20000' ]);
wait_for(sub { q1("SELECT count(*) FROM $T WHERE $bulk AND "
    . 'deleted_at IS NOT NULL') >= 250 || !$p->alive }, 60,
    'the expire pass to get going');
$p->signal('TERM');
ok($p->wait_exit(timeout => 30), 'the stopped reaper exits');
my $done = q1("SELECT count(*) FROM $T WHERE $bulk AND deleted_at IS NOT "
    . 'NULL');
cmp_ok($done, '<', 20000, "it stopped in the middle ($done of 20000)");
is(q1("SELECT count(*) FROM $T WHERE $bulk AND lease_owner IS NOT NULL"),
    0, 'and holds no lease: the rows it had not started are given back');
$r = $s->reaper('--pass', 'expire', '--limit', '20000');
is($r->{rc}, 0, 'the next reaper finishes the pass');
my $again = () = $r->{err} =~ /action=expired/g;
is($again, 20000 - $done, 'doing the rest, no row twice');
is(q1("SELECT count(*) FROM $T WHERE $bulk AND deleted_at IS NULL"), 0,
    'every row is expired');

# Orphans in the spool are reported, never deleted.
my $orphan = "$spool/" . uuid() . '.mp4';
open(my $fh, '>', $orphan) or die;
print $fh "x" x 100;
close $fh;
open($fh, '>', "$spool/notes.txt") or die;
close $fh;
# LiveKit writing the running recording's file: that one has an owner.
open($fh, '>', "$spool/$live.mp4") or die;
close $fh;
$r = $s->reaper('--pass', 'orphans');
like($r->{err}, qr/pass=orphans file=\Q$orphan\E action=reported/,
    'an orphan spool file is reported');
like($r->{err}, qr/notes\.txt action=reported/, 'so is a stray file');
ok(-e $orphan, 'and kept');
unlike($r->{err}, qr/\Q$live\E/, "a live recording's file is not an orphan");

$s->finish;
done_testing();
