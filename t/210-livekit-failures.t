#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# LiveKit saying no, saying nothing, or being away: each start and stop
# ends in a clear answer and a row that tells the truth.  A Start fails
# at once only when LiveKit's answer proves no egress was started (a
# Twirp refusal such as invalid_argument or not_found, or a LiveKit that
# could not be reached at all); anything else - a timeout, a reset
# connection, a 5xx, a proxy's error page - may hide a running egress,
# so the recording stays pending, holding the room, until the reaper's
# ListEgress adopts or fails it.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { livekit_timeout_ms => 1500,
    stale_pending_seconds => 5 });
my $T = 'project_management.pm_meeting_recordings';

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $room = 0;
sub room { my $c = 'lk' . ++$room; $s->room(code => $c, name => $c,
    host => $host, company => $co); return $c }
sub status { $s->pg->psql("SELECT status || '|' || coalesce(last_error, '')"
    . " FROM project_management.pm_meeting_recordings WHERE id = '$_[0]'") }
sub start { $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $_[0] }) }
sub id_of { $s->pg->psql("SELECT id FROM $T WHERE room_code = '$_[0]' "
    . "ORDER BY created_at DESC LIMIT 1") }
# Make a row look old enough for the stale pass.
sub age { $s->pg->psql("UPDATE $T SET created_at = created_at - "
    . "interval '1 hour', next_attempt_at = NULL WHERE id = '$_[0]'") }

# Refused for certain: the row fails at once, 502 with LiveKit's reason,
# and the room is free again.
for my $no (['invalid_argument', 'request has missing or invalid field: '
    . 'output'], ['permission_denied', 'not allowed'],
    ['failed_precondition', 'egress service not ready'],
    ['unauthenticated', 'permissions denied']) {
	my ($code, $msg) = @$no;
	$s->standin(POST => '/_standin/mode', { start => 'refuse',
	    refuse_code => $code, refuse_msg => $msg });
	my $c = room();
	my $r = start($c);
	is($r->{status}, 502, "$code: 502");
	is($r->{json}{code}, 'livekit_refused', "$code: code livekit_refused");
	like($r->{json}{detail}, qr/\Q$code: $msg\E/,
	    "$code: the detail carries LiveKit's reason");
	like(status(id_of($c)), qr/^failed\|.*\Q$msg\E/,
	    "$code: the row is failed with the reason");
	$s->standin(POST => '/_standin/reset');
	is(start($c)->{status}, 201, "$code: the room can be recorded again");
}

# Room unknown to LiveKit: not_found, a refusal too.
my $c = room();
$s->standin(POST => '/_standin/mode', { missing_rooms => [$c] });
my $r = start($c);
is($r->{status}, 502, 'room missing at LiveKit: 502');
like($r->{json}{detail}, qr/not_found/, 'names not_found');
like(status(id_of($c)), qr/^failed\|.*requested room does not exist/,
    'the row is failed');
$s->standin(POST => '/_standin/reset');

# Errors that do not say whether an egress was started.  Here none was:
# "unavailable: no response from servers" (LiveKit's own answer when no
# egress worker replied) and resource_exhausted (its server retries the
# internal start after such answers, so an earlier try may have started
# one), internal, unknown and the rest.
# Pending, the room held; the reaper then finds no egress and fails them.
my @none;
for my $code (qw(unavailable resource_exhausted internal unknown
    deadline_exceeded aborted canceled)) {
	$s->standin(POST => '/_standin/mode', { start => 'refuse',
	    refuse_code => $code, refuse_msg => 'no response from servers' });
	my $c = room();
	my $r = start($c);
	is($r->{status}, 202, "$code: 202, not 502") or diag($r->{body});
	is($r->{json}{status}, 'pending', "$code: status pending");
	my $id = id_of($c);
	like(status($id), qr/^pending\|/, "$code: the row stays pending");
	is(start($c)->{status}, 409, "$code: the room is still taken");
	push @none, [$code, $id, $c];
}
$s->standin(POST => '/_standin/reset');
age($_->[1]) for @none;
$r = $s->reaper('--pass', 'stale');
for (@none) {
	my ($code, $id, $c) = @$_;
	like(status($id), qr/^failed\|.*never started/,
	    "$code: the reaper found no egress: failed");
	is(start($c)->{status}, 201, "$code: the room is free again");
}

# The egress is started, but its answer is lost on the way: the
# connection is reset, or a proxy in front of LiveKit answers with its own
# error page.  Its webhooks are lost too, so only the reaper can adopt it.
my @lost;
for my $m (['reset'], ['proxy_error', 502], ['proxy_error', 503],
    ['proxy_error', 504]) {
	my ($mode, $st) = @$m;
	my $what = $mode . ($st ? " $st" : '');
	$s->standin(POST => '/_standin/mode', { start => $mode,
	    webhooks => 'drop', $st ? (proxy_status => $st) : () });
	my $c = room();
	my $r = start($c);
	is($r->{status}, 202, "$what: 202, not 502") or diag($r->{body});
	is($r->{json}{status}, 'pending', "$what: status pending");
	my $id = id_of($c);
	like(status($id), qr/^pending\|/, "$what: the row stays pending");
	$r = start($c);
	is($r->{status}, 409, "$what: a second start of the room: 409");
	is($r->{json}{code}, 'already_recording', "$what: already_recording");
	push @lost, [$what, $id, $c];
}
$s->standin(POST => '/_standin/wait', { idle => \1 });
my %eg = map { $_->{roomName} => $_->{egressId} }
    @{ $s->standin(GET => '/_standin/egresses')->{json}{egresses} };
is(scalar(grep { $eg{$_->[2]} } @lost), 4, 'LiveKit runs an egress for each');
age($_->[1]) for @lost;
$r = $s->reaper('--pass', 'stale');
is($r->{rc}, 0, 'the stale pass succeeds') or diag($r->{err});
$s->standin(POST => '/_standin/reset');
for (@lost) {
	my ($what, $id, $c) = @$_;
	like($r->{err}, qr/rec=\Q$id\E action=adopted/, "$what: adopted");
	is($s->pg->psql("SELECT status || '|' || egress_id FROM $T "
	    . "WHERE id = '$id'"), "recording|$eg{$c}",
	    "$what: recording, with LiveKit's egress id");
	my $r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($r->{status}, 202, "$what: it can be stopped");
}
$s->standin(POST => '/_standin/wait', { idle => \1 });
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the upload pass succeeds') or diag($r->{err});
like(status($_->[1]), qr/^completed\|/, "$_->[0]: completed") for @lost;
is(scalar(keys %eg), scalar(@{ $s->standin(GET => '/_standin/egresses')
    ->{json}{egresses} }), 'no second egress was started for any room');

# Slow: LiveKit answers after our timeout but does start the egress.
$s->standin(POST => '/_standin/mode', { start => 'slow',
    start_delay_ms => 3000 });
$c = room();
$r = start($c);
is($r->{status}, 202, 'a timeout is 202: not confirmed yet');
is($r->{json}{status}, 'pending', 'status pending');
my $id = $r->{json}{recording_id};
like(status($id), qr/^pending\|/, 'the row stays pending for the reaper');
is(start($c)->{status}, 409, 'and still holds the room');
# The egress starts late; its webhooks adopt the pending row.
$s->standin(POST => '/_standin/wait', { idle => \1, timeout_ms => 20000 });
like(status($id), qr/^recording\|/, 'the late egress adopted the row');
$s->standin(POST => '/_standin/reset');
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'and it can be stopped');

# LiveKit away entirely: stop refused to reach it, undone, retryable.
$c = room();
$r = start($c);
$id = $r->{json}{recording_id};
$s->standin(POST => '/_standin/mode', { stop => 'slow',
    stop_delay_ms => 3000 });
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 504, 'stop timing out is 504');
is($r->{json}{code}, 'livekit_timeout', 'code livekit_timeout');
$s->standin(POST => '/_standin/reset');
$s->standin(POST => '/_standin/wait', { idle => \1, timeout_ms => 20000 });

# Stop of an egress LiveKit already ended: 202, the webhook finishes it.
$c = room();
$r = start($c);
$id = $r->{json}{recording_id};
$s->standin(POST => '/_standin/mode', { webhooks => 'drop' });
$s->standin(POST => '/_standin/end', { egress_id => $r->{json}{egress_id} });
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'stop of an egress LiveKit ended: 202');
like(status($id), qr/^processing\|/, 'processing');

# Stop of something not recording.
$r = $s->api(POST => "/api/recordings/" . uuid() . "/stop", token => $tok);
is($r->{status}, 404, 'stop of an unknown id: 404');
my $failed = $s->pg->psql("SELECT id FROM project_management."
    . "pm_meeting_recordings WHERE status = 'failed' LIMIT 1");
$r = $s->api(POST => "/api/recordings/$failed/stop", token => $tok);
is($r->{status}, 409, 'stop of a failed recording: 409');
is($r->{json}{code}, 'not_recording', 'code not_recording');

$s->finish;

# A LiveKit nothing listens for: the request was never sent, so no egress
# can exist.  Failed at once, and the room is not held.
my $down = Meetrec::Test::Stack->new(name => '210-livekit-failures-down',
    no_standin => 1);
$down->room(code => 'down1', name => 'down1', host => $host, company => $co);
$tok = $down->token(user => $host, company => $co, username => 'host');
$r = $down->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'down1' });
is($r->{status}, 502, 'LiveKit not listening: 502 at once');
is($r->{json}{code}, 'livekit_unreachable', 'code livekit_unreachable');
is($down->pg->psql("SELECT string_agg(status, ',') FROM $T "
    . "WHERE room_code = 'down1'"), 'failed', 'the row is failed');
$r = $down->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'down1' });
is($r->{status}, 502, 'a second start is tried again, not refused with 409');
$down->finish;
done_testing();
