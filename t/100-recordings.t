#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The life of a recording through the real stack: start, status, stop,
# LiveKit's signed webhooks, then list, get, status and delete with the
# seed's field names.
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use POSIX ();
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;

my $company = uuid();
my $host = uuid();
my $tok = $s->token(user => $host, company => $company,
    username => 'host', email => 'host@example.com');
my $standup = $s->room(code => 'standup', name => 'Daily standup',
    host => $host, company => $company);

# Start.
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'standup' });
is($r->{status}, 201, 'start answers 201') or diag($r->{body});
my $id = $r->{json}{recording_id};
like($id, qr/^[0-9a-f-]{36}$/, 'start gives a recording id');
is($r->{json}{room_code}, 'standup', 'start echoes the room');
is($r->{json}{status}, 'recording', 'the recording is recording');
like($r->{json}{message}, qr/\S/, 'start has a message');
is($s->pg->psql("SELECT meeting_id FROM project_management."
    . "pm_meeting_recordings WHERE id = '$id'"), $standup,
    "the row's meeting_id is the room's id (the seed's foreign key)");
like($r->{headers}{'content-type'}, qr{^application/json; charset=utf-8},
    'JSON content type');

# What LiveKit got: our request, parsed strictly by LiveKit's own types.
my $reqs = $s->standin(GET => '/_standin/requests')->{json};
my ($startreq) = grep { $_->{method} eq 'StartRoomCompositeEgress' }
    @{ $reqs->{requests} // $reqs };
ok($startreq, 'LiveKit received StartRoomCompositeEgress');
is($startreq->{status}, 200, 'LiveKit accepted the request');
is($startreq->{parsed}{roomName}, 'standup', 'for the room');
like($startreq->{parsed}{fileOutputs}[0]{filepath}, qr{/\Q$id\E\.mp4$},
    'the file is named after the recording');

# A second start on the same room is refused while the first runs.
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'standup' });
is($r->{status}, 409, 'second start is 409');
is($r->{json}{code}, 'already_recording', 'code already_recording');

$s->standin(POST => '/_standin/wait', { idle => \1 });
$r = $s->api(GET => "/api/recordings/$id/status", token => $tok);
is($r->{status}, 200, 'status answers');
is_deeply([sort keys %{ $r->{json} }], [sort qw(recording_id status
    file_size_bytes duration_seconds duration_ms egress_status
    transcript_status)],
    'status fields');
is($r->{json}{status}, 'recording', 'still recording');
is($r->{json}{transcript_status}, 'none', 'no transcript while recording');
is($r->{json}{egress_status}, 'EGRESS_ACTIVE',
    'egress_updated webhook applied');

# Stop.
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'stop answers 202') or diag($r->{body});
is($r->{json}{status}, 'processing', 'stop says processing');
$s->standin(POST => '/_standin/wait', { idle => \1 });

$r = $s->api(GET => "/api/recordings/$id/status", token => $tok);
is($r->{json}{status}, 'processing', 'processing until stored');
is($r->{json}{egress_status}, 'EGRESS_COMPLETE', 'egress_ended applied');
ok($r->{json}{file_size_bytes} > 0, 'file size from fileResults');
my $file = $s->dir . "/spool/$id.mp4";
$file = $s->config->{spool_dir} . "/$id.mp4" if $s->config->{spool_dir};
ok(-s $file, 'the egress file is in the spool');
is($r->{json}{file_size_bytes}, -s $file, 'recorded size is the file size');
# LiveKit's wall-clock duration until the reaper reads the file: whole
# seconds in duration_seconds, as the seed's INTEGER, the rest in ms.
like($r->{body}, qr/"duration_seconds":\d+[,}]/,
    'duration_seconds is a whole number') or diag($r->{body});
like($r->{body}, qr/"duration_ms":\d+[,}]/, 'duration_ms is one too');
is($r->{json}{duration_seconds}, int($r->{json}{duration_ms} / 1000 + 0.5),
    'duration_seconds is duration_ms rounded to seconds');

# A second stop changes nothing and says so.
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'stop again is idempotent');

# Get, with the seed's fields and the room's name.
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
is($r->{status}, 200, 'get answers');
my $rec = $r->{json};
is($rec->{id}, $id, 'get: id');
is($rec->{meeting_name}, 'Daily standup', 'get: meeting_name');
is($rec->{recorded_by}, $host, 'get: recorded_by');
is($rec->{recorded_by_name}, 'host', 'get: recorded_by_name');
for my $f (qw(room_code status started_at ended_at created_at
    file_size_bytes duration_seconds is_public allowed_viewers egress_id)) {
	ok(exists $rec->{$f}, "get: has $f");
}
ok($rec->{ended_at} ge $rec->{started_at}, 'ended after it started');
for my $f (qw(is_encrypted watermark_applied)) {
	ok(JSON::PP::is_bool($rec->{$f}) && !$rec->{$f},
	    "get: the seed's $f, false");
}
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_recording_access_logs WHERE recording_id = '$id' "
    . "AND action = 'view'"), 1, 'get logged a view');

# List: mine by default, with total and filters.
$r = $s->api(GET => '/api/recordings/', token => $tok);
is($r->{status}, 200, 'list answers');
is($r->{json}{total}, 1, 'list total');
is($r->{json}{recordings}[0]{id}, $id, 'list has the recording');
ok(exists $r->{json}{recordings}[0]{storage_path},
    "list items carry the seed's storage_path");
ok(exists $r->{json}{next_cursor}, 'list has next_cursor');
$r = $s->api(GET => '/api/recordings?status=completed', token => $tok);
is($r->{json}{total}, 0, 'status filter');
$r = $s->api(GET => '/api/recordings/?room_code=standup&status=processing',
    token => $tok);
is($r->{json}{total}, 1, 'room and status filter');

# Many recordings: limit, offset and the keyset cursor walk them all.
for my $i (1 .. 4) {
	$s->room(code => "r$i", name => "Room $i", host => $host,
	    company => $company);
	my $x = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => "r$i" });
	is($x->{status}, 201, "start r$i");
}
$r = $s->api(GET => '/api/recordings/?limit=2', token => $tok);
is($r->{json}{total}, 5, 'total counts all five');
is(scalar @{ $r->{json}{recordings} }, 2, 'limit 2 gives two');
my @seen = map { $_->{id} } @{ $r->{json}{recordings} };
my $cursor = $r->{json}{next_cursor};
ok($cursor, 'a full page gives a cursor');
while ($cursor) {
	$r = $s->api(GET => "/api/recordings/?limit=2&cursor=$cursor",
	    token => $tok);
	is($r->{status}, 200, 'cursor page answers');
	push @seen, map { $_->{id} } @{ $r->{json}{recordings} };
	$cursor = $r->{json}{next_cursor};
	last if @seen > 10;
}
is(scalar @seen, 5, 'the cursor walk sees five');
my %u = map { $_ => 1 } @seen;
is(scalar keys %u, 5, 'each once');
$r = $s->api(GET => '/api/recordings/?limit=2&offset=4', token => $tok);
is(scalar @{ $r->{json}{recordings} }, 1, 'offset 4 leaves one');

# Audio only: an Ogg output.
$s->room(code => 'radio', name => 'Radio', host => $host,
    company => $company);
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'radio', audio_only => \1 });
is($r->{status}, 201, 'audio-only start');
$reqs = $s->standin(GET => '/_standin/requests')->{json};
my ($audio) = grep { ($_->{parsed}{roomName} // '') eq 'radio' }
    @{ $reqs->{requests} // $reqs };
is($audio->{parsed}{fileOutputs}[0]{fileType}, 'OGG', 'asks for OGG');
ok($audio->{parsed}{audioOnly}, 'asks for audio only');

# Delete: to the trash, then gone.
$r = $s->api(DELETE => "/api/recordings/$id", token => $tok);
is($r->{status}, 200, 'delete answers 200') or diag($r->{body});
ok(JSON::PP::is_bool($r->{json}{success}) && $r->{json}{success},
    "delete: the seed's success: true");
is($r->{json}{message}, 'Recording deleted', "delete: the seed's message");
is($r->{json}{recording_id}, $id, 'delete: and the recording id');
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
is($r->{status}, 404, 'deleted recording is 404');
is($r->{json}{code}, 'recording_not_found', 'code recording_not_found');
is($s->pg->psql("SELECT deleted_at IS NOT NULL FROM project_management."
    . "pm_meeting_recordings WHERE id = '$id'"), 't', 'row kept in trash');
$r = $s->api(DELETE => "/api/recordings/$id", token => $tok);
is($r->{status}, 404, 'second delete is 404');

# A running recording is stopped before it is deleted.
my $active = $s->pg->psql("SELECT id FROM project_management."
    . "pm_meeting_recordings WHERE room_code = 'r1'");
$r = $s->api(DELETE => "/api/recordings/$active", token => $tok);
is($r->{status}, 409, 'deleting a running recording is 409');
is($r->{json}{code}, 'recording_active', 'code recording_active');

# A delete while a Stop waits for LiveKit: the Stop, not answered in
# time, may not undo itself on the trashed row, which would hold the room
# (a room has one recording at most that is pending or recording).
my $racer = $s->pg->psql("SELECT id FROM project_management."
    . "pm_meeting_recordings WHERE room_code = 'r2'");
sub row { $s->pg->psql("SELECT status || CASE WHEN deleted_at IS NULL "
    . "THEN '' ELSE ', trashed' END FROM project_management."
    . "pm_meeting_recordings WHERE id = '$racer'") }
$s->standin(POST => '/_standin/mode', { stop => 'slow',
    stop_delay_ms => 6000 });
my $answer = $s->dir . '/stop-race.status';
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	my $x = $s->api(POST => "/api/recordings/$racer/stop", token => $tok);
	open(my $fh, '>', $answer) or POSIX::_exit(1);
	print $fh $x->{status};
	close $fh;
	POSIX::_exit(0);
}
my $until = time + 10;
select(undef, undef, undef, 0.05) while row() ne 'processing' &&
    time < $until;
is(row(), 'processing', 'a Stop in flight: processing');
$r = $s->api(DELETE => "/api/recordings/$racer", token => $tok);
is($r->{status}, 200, '... deleted meanwhile') or diag($r->{body});
waitpid($pid, 0);
is(-e $answer ? slurp($answer) : 'none', 504,
    '... the Stop times out (504)');
is(row(), 'processing, trashed', '... and leaves the trashed row as it was');
$s->standin(POST => '/_standin/reset');
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'r2' });
is($r->{status}, 201, '... so the room can record again')
    or diag($r->{body});
$s->standin(POST => '/_standin/wait', { idle => \1, timeout_ms => 20000 });

$s->finish;
done_testing();
