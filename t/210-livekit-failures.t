#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# LiveKit saying no, saying nothing, or being away: each start and stop
# ends in a clear answer and a row that tells the truth.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { livekit_timeout_ms => 1500 });

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $room = 0;
sub room { my $c = 'lk' . ++$room; $s->room(code => $c, name => $c,
    host => $host, company => $co); return $c }
sub status { $s->pg->psql("SELECT status || '|' || coalesce(last_error, '')"
    . " FROM project_management.pm_meeting_recordings WHERE id = '$_[0]'") }
sub start { $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $_[0] }) }

# Refused (no egress worker free).
$s->standin(POST => '/_standin/mode', { start => 'refuse',
    refuse_code => 'unavailable', refuse_msg => 'no response from servers' });
my $c = room();
my $r = start($c);
is($r->{status}, 502, 'a LiveKit refusal is 502');
is($r->{json}{code}, 'livekit_refused', 'code livekit_refused');
like($r->{json}{detail}, qr/no response from servers/,
    'detail carries LiveKit\'s reason');
my $id = $s->pg->psql("SELECT id FROM project_management."
    . "pm_meeting_recordings WHERE room_code = '$c'");
like(status($id), qr/^failed\|.*no response from servers/,
    'the row is failed with the reason');
$s->standin(POST => '/_standin/reset');
is(start($c)->{status}, 201, 'the room can be recorded again afterwards');

# Room unknown to LiveKit.
$c = room();
$s->standin(POST => '/_standin/mode', { missing_rooms => [$c] });
$r = start($c);
is($r->{status}, 502, 'room missing at LiveKit: 502');
like($r->{json}{detail}, qr/not_found/, 'names not_found');
$s->standin(POST => '/_standin/reset');

# Slow: LiveKit answers after our timeout but does start the egress.
$s->standin(POST => '/_standin/mode', { start => 'slow',
    start_delay_ms => 3000 });
$c = room();
$r = start($c);
is($r->{status}, 202, 'a timeout is 202: not confirmed yet');
is($r->{json}{status}, 'pending', 'status pending');
$id = $r->{json}{recording_id};
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
done_testing();
