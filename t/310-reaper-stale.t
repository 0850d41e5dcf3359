#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# What the webhooks never said: the reaper asks LiveKit (ListEgress) and
# repairs - a Start that timed out is adopted or failed, a missed
# egress_ended is caught up and uploaded, an egress LiveKit forgot falls
# back to the spool, and a recording past its maximum length is stopped.
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp spew src_root);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { stale_pending_seconds => 5,
    livekit_timeout_ms => 1000 });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $T = 'project_management.pm_meeting_recordings';

sub st { $s->pg->psql("SELECT status || '|' || coalesce(egress_status, '')"
    . " FROM $T WHERE id = '$_[0]'") }
# Make a row look old enough for the stale pass.
sub age { $s->pg->psql("UPDATE $T SET created_at = created_at - "
    . "interval '1 hour', egress_seen_at = now() - interval '1 hour', "
    . "next_attempt_at = NULL WHERE id = '$_[0]'") }
my $n = 0;
sub room { my $c = 'st' . ++$n; $s->room(code => $c, name => $c,
    host => $host, company => $co); $c }

# 1. Start timed out, LiveKit started it later, and its webhooks were
# lost: the reaper finds the egress writing our file and adopts it.
$s->standin(POST => '/_standin/mode', { start => 'slow',
    start_delay_ms => 1500, webhooks => 'drop' });
my $c = room();
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
is($r->{status}, 202, 'start timed out: 202 pending');
my $adopt = $r->{json}{recording_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(st($adopt), 'pending|', 'pending while the webhooks are lost');
age($adopt);
$r = $s->reaper('--pass', 'stale');
is($r->{rc}, 0, 'stale pass succeeds') or diag($r->{err});
like($r->{err}, qr/rec=\Q$adopt\E action=adopted/, 'logs the adoption');
like(st($adopt), qr/^recording\|EGRESS_(ACTIVE|STARTING)$/,
    'adopted: recording with its egress');
ok($s->pg->psql("SELECT egress_id FROM $T WHERE id = '$adopt'"),
    'egress id stored');

# 2. Start timed out and LiveKit never started anything: failed.
$s->standin(POST => '/_standin/mode', { start => 'refuse',
    refuse_delay_ms => 1500 });
$c = room();
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
is($r->{status}, 202, 'another timeout');
my $never = $r->{json}{recording_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
age($never);
$s->standin(POST => '/_standin/reset');
$s->standin(POST => '/_standin/mode', { webhooks => 'drop' });
$r = $s->reaper('--pass', 'stale');
is(st($never), 'failed|', 'no egress at LiveKit: failed');
like($s->pg->psql("SELECT last_error FROM $T WHERE id = '$never'"),
    qr/never started/, 'with the reason');
is($s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c })->{status}, 201, 'the room is free again');

# 3. The adopted one ends while its webhooks are lost: the reaper
# catches egress_ended up, then uploads it.
my $eg = $s->pg->psql("SELECT egress_id FROM $T WHERE id = '$adopt'");
$r = $s->standin(POST => '/_standin/end', { egress_id => $eg });
is($r->{status}, 200, 'LiveKit ended the egress (room closed)');
like(st($adopt), qr/^recording\|/, 'we did not hear of it');
age($adopt);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$adopt\E action=caught_up/, 'caught up');
is(st($adopt), 'completed|EGRESS_COMPLETE', 'and uploaded in the same run');

# 4. A recording past recording_max_seconds is stopped at LiveKit.
$s->standin(POST => '/_standin/reset');
$c = room();
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
my $long = $r->{json}{recording_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
$s->pg->psql("UPDATE $T SET started_at = now() - interval '5 hours' "
    . "WHERE id = '$long'");
age($long);
$r = $s->reaper('--pass', 'stale');
like($r->{err}, qr/rec=\Q$long\E action=stopped reason=too_long/,
    'stopped for running too long');
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(st($long), 'processing|EGRESS_COMPLETE', 'then ended as usual');
my $reqs = $s->standin(GET => '/_standin/requests')->{json};
ok((grep { $_->{method} eq 'StopEgress' } @{ $reqs->{requests} // $reqs }),
    'LiveKit got a StopEgress');

# 4b. A stop accepted by a host that died before it sent StopEgress: the
# row says processing and LiveKit still records.  Pressing stop again
# sends it; left alone, the stale pass sends it.
$s->standin(POST => '/_standin/reset');
sub stops_of {
	my ($egress) = @_;
	my $q = $s->standin(GET => '/_standin/requests')->{json};
	return scalar grep { $_->{method} eq 'StopEgress' && (ref $_->{body}
	    ? JSON::PP->new->canonical->encode($_->{body})
	    : $_->{body} // '') =~ /\Q$egress\E/ } @{ $q->{requests} // $q };
}
my @half;
for (1 .. 2) {
	$c = room();
	$r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $c });
	push @half, $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	$s->pg->psql("UPDATE $T SET status = 'processing', ended_at = now() "
	    . "WHERE id = '$half[-1]'");
}
my ($again, $left) = @half;
my ($eg1, $eg2) = map { $s->pg->psql("SELECT egress_id FROM $T WHERE "
    . "id = '$_'") } @half;
is(stops_of($eg1) + stops_of($eg2), 0, 'stops accepted, LiveKit heard none');
is($s->api(POST => "/api/recordings/$again/stop", token => $tok)->{status},
    202, 'stop pressed again: already stopping');
is(stops_of($eg1), 1, '... and the StopEgress goes out this time');
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(st($again), 'processing|EGRESS_COMPLETE', '... and the egress ends');
is($s->api(POST => "/api/recordings/$again/stop", token => $tok)->{status},
    202, 'once more: 202');
is(stops_of($eg1), 1, '... but an egress that ended is not stopped again');
age($left);
$r = $s->reaper('--pass', 'stale');
like($r->{err}, qr/rec=\Q$left\E action=stopped reason=stop_lost/,
    'left alone, the stale pass sends the stop that was lost')
    or diag($r->{err});
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(st($left), 'processing|EGRESS_COMPLETE', '... and the egress ends');

# 5. LiveKit forgot the egress (24 h after it ended): the spool decides,
# once the file has not changed for spool_quiet_seconds (300 by default).
$s->standin(POST => '/_standin/mode', { webhooks => 'drop' });
$c = room();
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
my $lost = $r->{json}{recording_id};
$eg = $r->{json}{egress_id};
$s->standin(POST => '/_standin/end', { egress_id => $eg });
$s->standin(POST => '/_standin/forget', { egress_id => $eg });
age($lost);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$lost\E action=wait reason=spool_changing/,
    'a file just written is left to settle');
like(st($lost), qr/^recording\|/, 'the row is not taken yet');
my $file = $s->config('spool_dir') . "/$lost.mp4";
my $then = time - 600;
utime($then, $then, $file) or die "utime $file: $!";
age($lost);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$lost\E action=process_spool/,
    'no egress at LiveKit but a settled file in the spool');
is(st($lost), 'completed|EGRESS_COMPLETE', 'the file was kept and stored');

# 5b. LiveKit lost an egress that still ran, before it wrote its file:
# the recording may still be writing, so the row is looked at again
# later, not failed; once the file is there and quiet, it is taken.
$c = room();
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
my $early = $r->{json}{recording_id};
$eg = $r->{json}{egress_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
is($s->standin(POST => '/_standin/forget', { egress_id => $eg })->{status},
    200, 'LiveKit lost a running egress');
age($early);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$early\E action=wait reason=no_file_yet file=missing/,
    'no file yet: waits for it');
unlike($r->{err}, qr/rec=\Q$early\E action=failed/, 'not failed');
like(st($early), qr/^(recording|processing)\|/, 'still under way');
$file = $s->config('spool_dir') . "/$early.mp4";
spew($file, '');
age($early);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$early\E action=wait reason=no_file_yet file=empty/,
    'an empty file: still waits');
like(st($early), qr/^(recording|processing)\|/, 'still under way');
my $mp4 = slurp(src_root() . '/t/fixtures/play.mp4');
spew($file, $mp4);
utime($then, $then, $file) or die "utime $file: $!";
age($early);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$early\E action=process_spool/,
    'the file came and settled: taken');
is(st($early), 'completed|EGRESS_COMPLETE', 'and stored');
is($s->pg->psql("SELECT file_size_bytes FROM $T WHERE id = '$early'"),
    length($mp4), 'all of it');

# 5c. No file from an egress LiveKit lost, and the recording started
# longer ago than recording_max_seconds and the quiet period: failed.
$c = room();
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
my $gone = $r->{json}{recording_id};
$eg = $r->{json}{egress_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
$s->standin(POST => '/_standin/forget', { egress_id => $eg });
$s->pg->psql("UPDATE $T SET started_at = now() - interval '5 hours' "
    . "WHERE id = '$gone'");
age($gone);
$r = $s->reaper('--pass', 'stale');
like($r->{err}, qr/rec=\Q$gone\E action=failed reason=egress_unknown/,
    'no file long after the start: failed');
is(st($gone), 'failed|EGRESS_FAILED', 'failed with its egress');
like($s->pg->psql("SELECT last_error FROM $T WHERE id = '$gone'"),
    qr/no longer knows the egress and there is no file/, 'saying why');

# 6. Recent rows are left alone; a second run changes nothing more.
$c = room();
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $c });
my $fresh = $r->{json}{recording_id};
$r = $s->reaper('--pass', 'stale');
unlike($r->{err}, qr/rec=\Q$fresh\E/, 'a fresh recording is not touched');

$s->finish;
done_testing();
