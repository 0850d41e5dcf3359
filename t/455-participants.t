#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The participants ledger (consent ledger) and auto_share.  A meeting
# with three people played by the LiveKit stand-in (their room webhooks
# signed with LiveKit's SDK and sent to meetrec): two are in the room
# when the recording starts, one joins later, one leaves.  The ledger
# lists each with their times, never the egress's own participant; the
# room was told (UpdateRoomMetadata merging a "recording" key into the
# room's JSON metadata, SendData to everyone naming the recording and who
# started it) and the late joiner got a message of their own.
# Participants answer (acknowledge, object), which the owner sees and
# the audit trail keeps; nobody else may answer.  Hostile bodies and
# forged or replayed webhooks get 4xx and change nothing.  With the
# company's auto_share = participants, the participants can watch the
# completed recording (an `access` row says why); with none they cannot.
# A room LiveKit does not have (rooms_unknown) does not fail the start,
# and the ledger says the notice failed.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64 decode_base64);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(wait_for);
use Meetrec::Test::Util qw(uuid http jwt_hs256 json_encode json_decode);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;
my $T = JSON::PP::true;
my ($co, $co2) = (uuid(), uuid());
my ($host, $alice, $bob, $carol, $dave, $adm, $stranger) =
    map { uuid() } 1 .. 7;
my $tok = $s->token(user => $host, company => $co, username => 'host');
my %tk = map { $_->[0] => $s->token(user => $_->[1], company => $co,
    username => $_->[0]) } [ alice => $alice ], [ bob => $bob ],
    [ carol => $carol ], [ dave => $dave ];
my $atok = $s->token(user => $adm, company => $co, username => 'boss',
    role => 'admin');
my $xtok = $s->token(user => $stranger, company => $co2,
    username => 'stranger', role => 'admin');
my $R = 'project_management.pm_meeting_recordings';
my $L = 'project_management.pm_recording_access_logs';
my $P = 'project_management.pm_recording_participants';
sub q1 { $s->pg->psql($_[0]) }
sub ctl { $s->standin(@_) }

# RoomService as the application would call it (the test plays it).
sub room_call {
	my ($method, $body) = @_;
	my $t = jwt_hs256($s->lk_secret, { iss => $s->lk_key, nbf => time - 5,
	    exp => time + 600, video => { roomAdmin => $T,
	    room => $body->{room} } });
	return http(POST => $s->standin_url("/twirp/livekit.RoomService/"
	    . $method), { headers => { Authorization => "Bearer $t" },
	    json => $body });
}

sub join_room {
	my ($room, %p) = @_;
	my $r = ctl(POST => "rooms/$room/join", \%p);
	is($r->{status}, 200, "$p{identity} joins $room") or diag($r->{body});
	return $r->{json};
}

# 1. The meeting.  Alice and Bob are in the room, with a guest whose
# identity is not a user; the application keeps JSON in the room's
# metadata.
my $ROOM = 'consent-1';
$s->room(code => $ROOM, host => $host, company => $co);
my %sid;
$sid{alice} = join_room($ROOM, identity => $alice, name => 'Alice')->{sid};
$sid{bob} = join_room($ROOM, identity => $bob, name => 'Bob')->{sid};
$sid{guest} = join_room($ROOM, identity => 'guest-7', name => 'Guest')->{sid};
my $r = room_call(UpdateRoomMetadata => { room => $ROOM,
    metadata => '{"topic":"weekly","n":3}' });
is($r->{status}, 200, 'the application sets the room\'s metadata');
$s->standin_idle;
is(q1("SELECT count(*) FROM project_management.pm_livekit_presences "
    . "WHERE room_name = '$ROOM' AND left_at IS NULL"), 3,
    'meetrec keeps who is in the room from its webhooks');

ctl(DELETE => 'room_calls');
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $ROOM });
is($r->{status}, 201, 'the host starts recording') or diag($r->{body});
my $id = $r->{json}{recording_id};
my $egress = $r->{json}{egress_id};
$s->standin_idle;

# Carol comes in late, Bob goes.
$sid{carol} = join_room($ROOM, identity => $carol, name => 'Carol')->{sid};
$s->standin_idle;
$r = ctl(POST => "rooms/$ROOM/leave", { identity => $bob });
is($r->{status}, 200, 'bob leaves');
$s->standin_idle;

# 2. The ledger.
$r = $s->api(GET => "/api/recordings/$id/participants", token => $tok);
is($r->{status}, 200, 'the owner reads the ledger') or diag($r->{body});
my $led = $r->{json};
my %p = map { $_->{identity} => $_ } @{ $led->{participants} };
is_deeply([ sort keys %p ], [ sort $alice, $bob, $carol, 'guest-7' ],
    'alice, bob, carol and the guest are listed');
ok(!exists $p{$egress}, '... the egress\'s participant is not');
is($p{$alice}{user_id}, $alice, 'an identity that is a UUID is its user');
is($p{'guest-7'}{user_id}, undef, '... the guest maps to nobody');
is($p{$alice}{sid}, $sid{alice}, '... keyed by LiveKit\'s sid');
is($p{$alice}{name}, 'Alice', '... with the name');
like($p{$alice}{joined_at}, qr/^\d{4}-\d\d-\d\dT/, 'joined_at is a time');
is($p{$alice}{left_at}, undef, 'alice is still in the room');
like($p{$bob}{left_at} // '', qr/^\d{4}-/, 'bob\'s leaving is there');
is($p{$bob}{left_reason}, 'CLIENT_INITIATED', '... and why');
ok($p{$carol}{joined_at} gt $p{$alice}{joined_at},
    'carol joined after alice');
ok($p{$carol}{joined_at} ge $led->{started_at},
    '... after the recording started');
is($led->{notice}{status}, 'sent', 'the room was told');
is($led->{notice}{metadata}, 'updated', '... its metadata updated');
is($led->{notice}{data}, 'sent', '... the message sent');
like($led->{notice}{sent_at} // '', qr/^\d{4}-/, '... at a time');
is($p{$alice}{notice_status}, 'sent', 'alice was told with the room');
is($p{$carol}{notice_status}, 'sent', 'carol was told on joining');
ok($p{$carol}{notice_at} gt $led->{notice}{sent_at},
    '... after the room');

# 3. What LiveKit got.
my @calls = @{ ctl(GET => 'room_calls')->{json}{room_calls} };
my ($meta) = grep { $_->{method} eq 'UpdateRoomMetadata' } @calls;
ok($meta && $meta->{status} == 200, 'UpdateRoomMetadata went out');
ok($meta->{video}{roomAdmin} && $meta->{video}{room} eq $ROOM,
    '... with roomAdmin for the room');
my $m = json_decode($meta->{request}{metadata});
is($m->{topic}, 'weekly', '... the application\'s keys kept');
is($m->{n}, 3, '... all of them');
is($m->{recording}{recording_id}, $id, '... the recording\'s id added');
is($m->{recording}{started_by}{user_id}, $host, '... and who started it');
my @data = grep { $_->{method} eq 'SendData' } @calls;
is(scalar @data, 2, 'two messages: the room\'s and carol\'s');
my $msg = json_decode(decode_base64($data[0]{request}{data}));
is($msg->{type}, 'recording_started', 'the message says recording began');
is($msg->{recording_id}, $id, '... which recording');
is($msg->{started_by}{user_id}, $host, '... who started it');
is($msg->{started_by}{name}, 'host', '... by name');
like($msg->{consent_url}, qr{/api/recordings/\Q$id\E/consent$},
    '... where to answer');
is($data[0]{request}{topic}, 'meetrec.recording', '... on its topic');
ok(!$data[0]{request}{destinationIdentities}
    || !@{ $data[0]{request}{destinationIdentities} }, '... to everyone');
is_deeply($data[1]{request}{destinationIdentities}, [$carol],
    'the second is addressed to carol');
is(json_decode(decode_base64($data[1]{request}{data}))->{recording_id},
    $id, '... about the same recording');
my $room = ctl(GET => "rooms/$ROOM")->{json};
my @got = @{ $room->{data} };
is_deeply([ sort @{ $got[0]{recipients} } ],
    [ sort $alice, $bob, 'guest-7', $egress ],
    'the room\'s message reached everyone in it then');
is_deeply($got[1]{recipients}, [$carol], 'carol\'s reached carol');
like($room->{metadata}, qr/"recording"/, 'the room has the key');

# 4. Answers.
$r = $s->api(POST => "/api/recordings/$id/consent", token => $tk{alice},
    json => { answer => 'acknowledge' });
is($r->{status}, 200, 'alice acknowledges') or diag($r->{body});
is($r->{json}{answer}, 'acknowledge', '... recorded');
ok($r->{json}{changed}, '... as a change');
$r = $s->api(POST => "/api/recordings/$id/consent", token => $tk{alice},
    json => { answer => 'acknowledge' });
ok(!$r->{json}{changed}, 'the same answer again changes nothing');
$r = $s->api(POST => "/api/recordings/$id/consent", token => $tk{bob},
    json => { answer => 'object', comment => 'Please do not keep this.' });
is($r->{status}, 200, 'bob objects, though he left') or diag($r->{body});
$r = $s->api(POST => "/api/recordings/$id/consent", token => $tk{dave},
    json => { answer => 'object' });
is($r->{status}, 403, 'someone who was not there: 403');
is($r->{json}{code}, 'not_participant', '... not_participant');
$r = $s->api(POST => "/api/recordings/$id/consent", token => $xtok,
    json => { answer => 'object' });
is($r->{status}, 404, 'another company: 404');
is($r->{json}{code}, 'recording_not_found', '... recording_not_found');
is($s->api(GET => "/api/recordings/$id/participants",
    token => $tk{alice})->{status}, 403,
    'a participant may not read the ledger');
is($s->api(GET => "/api/recordings/$id/participants",
    token => $xtok)->{status}, 404, '... nor another company');

$r = $s->api(GET => "/api/recordings/$id/participants", token => $atok);
is($r->{status}, 200, 'an admin reads the ledger');
is($r->{json}{objections}, 1, 'one objection');
%p = map { $_->{identity} => $_ } @{ $r->{json}{participants} };
is($p{$bob}{answer}, 'object', 'bob\'s objection shows');
is($p{$bob}{comment}, 'Please do not keep this.', '... with his comment');
like($p{$bob}{answered_at} // '', qr/^\d{4}-/, '... and when');
is($p{$alice}{answer}, 'acknowledge', 'alice\'s acknowledgement');
is($p{$carol}{answer}, undef, 'carol has not answered');
is(q1("SELECT status FROM $R WHERE id = '$id'"), 'recording',
    'an objection does not touch the recording');

is(q1("SELECT string_agg(action || ':' || coalesce(user_id::text, '-'), "
    . "',' ORDER BY seq) FROM $L WHERE recording_id = '$id' AND action "
    . "IN ('consent', 'objection')"), "consent:$alice,objection:$bob",
    'the consent and the objection are audit rows, by their users');
is(q1("SELECT detail->>'comment' FROM $L WHERE recording_id = '$id' AND "
    . "action = 'objection'"), 'Please do not keep this.',
    '... the objection with its comment');
is(q1("SELECT string_agg(detail->>'to', ',' ORDER BY seq) FROM $L WHERE "
    . "recording_id = '$id' AND action = 'notice'"), 'room,participant',
    'the notices are audit rows: the room\'s and carol\'s');
is(q1("SELECT user_id FROM $L WHERE recording_id = '$id' AND "
    . "action = 'notice' AND detail->>'to' = 'room'"), $host,
    '... the room\'s by who started the recording');
is(q1("SELECT count(*) FROM $L WHERE recording_id = '$id' AND action "
    . "IN ('joined', 'left')"), 0, 'joins and leaves are not audited');

$r = $s->api(GET => "/api/recordings/$id/participants?format=csv",
    token => $tok);
is($r->{status}, 200, 'the ledger as CSV');
like($r->{headers}{'content-type'}, qr{^text/csv}, '... text/csv');
like($r->{headers}{'content-disposition'},
    qr/attachment; filename="participants-\Q$id\E\.csv"/, '... a file');
my @lines = split /\n/, $r->{body};
like($lines[0], qr/^recording_id,sid,identity,name,kind,user_id,joined_at,/,
    '... a header line');
is(scalar @lines, 5, '... and a line per session');
like($r->{body}, qr/,object,Please do not keep this\.,/,
    '... answers included');

# 5. Hostile input.
my $url = "/api/recordings/$id/consent";
for my $c (
    [ 'broken JSON', '{"answer":', 400, 'invalid_json' ],
    [ 'not an object', '["object"]', 422, 'invalid_body' ],
    [ 'an unknown field', '{"answer":"object","mood":"bad"}', 422,
      'unknown_field', qr/mood/ ],
    [ 'a number for answer', '{"answer":1}', 422, 'invalid_field',
      qr/answer/ ],
    [ 'an answer that is not one', '{"answer":"maybe"}', 422,
      'invalid_field', qr/acknowledge or object/ ],
    [ 'no answer', '{"comment":"hi"}', 422, 'missing_field', qr/answer/ ],
    [ 'a comment that is not text', '{"answer":"object","comment":[1]}',
      422, 'invalid_field', qr/comment/ ],
    [ 'a huge comment', json_encode({ answer => 'object',
      comment => 'x' x 1001 }), 422, 'invalid_field', qr/1000/ ],
    [ 'a body over body_max', json_encode({ answer => 'object',
      comment => 'x' x 70000 }), 413, 'body_too_large' ],
    ) {
	my ($what, $body, $st, $code, $re) = @$c;
	$r = $s->api(POST => $url, token => $tk{alice}, body => $body,
	    headers => { 'Content-Type' => 'application/json' });
	is($r->{status}, $st, "$what: $st");
	is($r->{json}{code}, $code, "... $code");
	like($r->{json}{detail}, $re, '... naming it') if $re;
}
$r = $s->api(POST => '/api/recordings/not-a-uuid/consent', token => $tk{alice},
    json => { answer => 'object' });
is($r->{status}, 400, 'a bad id: 400');
is($r->{json}{code}, 'invalid_id', '... invalid_id');
$r = $s->api(GET => "/api/recordings/$id/participants?format=xml",
    token => $tok);
is($r->{json}{code}, 'invalid_query', 'a bad format: invalid_query');
$r = $s->api(GET => "/api/recordings/$id/participants?limit=5",
    token => $tok);
is($r->{json}{code}, 'invalid_query', 'an unknown parameter: invalid_query');
is($s->api(POST => $url, json => { answer => 'object' })->{status}, 401,
    'no token: 401');
is(q1("SELECT answer FROM project_management.pm_recording_consents "
    . "WHERE recording_id = '$id' AND user_id = '$alice'"), 'acknowledge',
    'alice\'s answer is what she sent');

# Webhooks: a replay, a forgery, and signed garbage.
my @wh = @{ ctl(GET => 'webhooks')->{json}{webhooks} };
my ($carolwh) = grep { $_->{event} eq 'participant_joined' &&
    ($_->{participant_identity} // '') eq $carol } @wh;
my $before = q1("SELECT count(*) || ':' || count(notice_at) FROM $P");
my $sends = scalar @{ ctl(GET => "rooms/$ROOM")->{json}{data} };
$r = ctl(POST => 'resend', { index => $carolwh->{index} });
is($r->{json}{status}, 200, 'a replayed webhook: 200');
like($r->{json}{body}, qr/"duplicate"/, '... a duplicate');
is(q1("SELECT count(*) || ':' || count(notice_at) FROM $P"), $before,
    '... the ledger unchanged');
is(scalar @{ ctl(GET => "rooms/$ROOM")->{json}{data} }, $sends,
    '... and nobody told twice');

sub signed {
	my ($body, $secret) = @_;
	my $t = jwt_hs256($secret // $s->lk_secret, { iss => $s->lk_key,
	    nbf => time - 5, exp => time + 300,
	    sha256 => encode_base64(sha256($body), '') });
	return $s->api(POST => '/api/livekit/webhook', body => $body,
	    headers => { Authorization => $t,
	    'Content-Type' => 'application/webhook+json' });
}
my $ev = { event => 'participant_joined', id => 'EV_forged000001',
    createdAt => time, room => { sid => 'RM_x', name => $ROOM },
    participant => { sid => 'PA_forged', identity => $dave,
    joinedAt => time } };
$r = signed(json_encode($ev), 'not-the-secret');
is($r->{status}, 401, 'a forged webhook: 401');
is($r->{json}{code}, 'invalid_signature', '... invalid_signature');
is(q1("SELECT count(*) FROM $P WHERE identity = '$dave'"), 0,
    '... dave is not let in');
for my $c (
    [ 'no participant', { %$ev, id => 'EV_bad1', participant => undef } ],
    [ 'a participant without sid', { %$ev, id => 'EV_bad2',
      participant => { identity => 'x' } } ],
    [ 'a room that is a string', { %$ev, id => 'EV_bad3', room => 'r' } ],
    [ 'an identity of 300 bytes', { %$ev, id => 'EV_bad4',
      participant => { sid => 'PA_y', identity => 'i' x 300 } } ],
    [ 'a kind that is an object', { %$ev, id => 'EV_bad5',
      participant => { sid => 'PA_z', identity => 'z', kind => {} } } ],
    ) {
	my ($what, $e) = @$c;
	delete $e->{participant} unless defined $e->{participant};
	$r = signed(json_encode($e));
	is($r->{status}, 400, "signed, $what: 400");
	is($r->{json}{code}, 'invalid_event', '... invalid_event');
}
$r = signed(json_encode({ %$ev, id => 'EV_other01', room => { name =>
    'not a room code!' } }));
is($r->{json}{status}, 'ignored', 'a room that is not meetrec\'s: ignored');
$r = signed(json_encode({ event => 'track_published', id => 'EV_track01',
    room => { name => $ROOM } }));
is($r->{json}{status}, 'ignored', 'other room events: ignored');

# 6. auto_share = participants: the participants may watch it once it
# is completed.
sub complete {
	my ($rec) = @_;
	my $x = $s->api(POST => "/api/recordings/$rec/stop", token => $tok);
	is($x->{status}, 202, 'stopped') or diag($x->{body});
	$s->standin_idle;
	$s->reaper('--pass', 'upload');
	is(q1("SELECT status FROM $R WHERE id = '$rec'"), 'completed',
	    '... and completed');
}
is($s->api(GET => "/api/recordings/$id", token => $tk{alice})->{status},
    403, 'before: alice may not watch');
$r = $s->api(PUT => '/api/admin/policy', token => $atok,
    json => { auto_share => 'participants' });
is($r->{json}{auto_share}, 'participants', 'the company shares with '
    . 'participants');
complete($id);
$room = ctl(GET => "rooms/$ROOM")->{json};
my $md = json_decode($room->{metadata});
ok(!exists $md->{recording}, 'stopped: the recording\'s key left the '
    . 'room\'s metadata');
is($md->{topic}, 'weekly', '... the application\'s stayed');
$msg = json_decode(decode_base64($room->{data}[-1]{data}));
is($msg->{type}, 'recording_stopped', '... and the room was told');
is($msg->{recording_id}, $id, '... which recording');
for my $who (qw(alice bob carol)) {
	is($s->api(GET => "/api/recordings/$id", token => $tk{$who})->{status},
	    200, "$who may watch it now");
}
is($s->api(GET => "/api/recordings/$id", token => $tk{dave})->{status},
    403, 'dave, who was not there, may not');
# The ledger joins the audit trail when the recording ends, and stays
# when the recording is purged.
my $ledger = json_decode(q1("SELECT detail FROM $L WHERE recording_id = "
    . "'$id' AND action = 'ledger'"));
is_deeply([ sort map { $_->{identity} } @{ $ledger->{participants} } ],
    [ sort $alice, $bob, 'guest-7', $carol ],
    'a ledger audit row lists who was in it');
my %lp = map { $_->{identity} => $_ } @{ $ledger->{participants} };
is($lp{$bob}{answer}, 'object', '... with their answers');
ok($lp{$bob}{left_at} && $lp{$carol}{joined_at}, '... and times');
is($ledger->{notice}{status}, 'sent', '... and the room\'s notice');
is(q1("SELECT action FROM $L WHERE recording_id = '$id' AND seq > "
    . "(SELECT seq FROM $L WHERE recording_id = '$id' AND action = "
    . "'complete') ORDER BY seq LIMIT 1"), 'access',
    '... after the completion and its auto_share');
my $acc = json_decode(q1("SELECT detail FROM $L WHERE recording_id = "
    . "'$id' AND action = 'access'"));
is($acc->{reason}, 'auto_share', 'an access row says why');
is_deeply([ sort @{ $acc->{added} } ], [ sort $alice, $bob, $carol ],
    '... and whom it added');
is_deeply([ sort @{ $acc->{allowed_viewers} } ],
    [ sort $alice, $bob, $carol ], '... the viewers now');
is_deeply($acc->{was}{allowed_viewers}, [], '... none before');
is(q1("SELECT user_id IS NULL FROM $L WHERE recording_id = '$id' AND "
    . "action = 'access'"), 't', '... by the system');

$r = ctl(POST => "rooms/$ROOM/finish");
is($r->{status}, 200, 'the room finishes');
$s->standin_idle;
is(q1("SELECT count(*) FROM $P WHERE recording_id = '$id' AND "
    . "left_at IS NULL"), 0, 'everyone has left in the ledger');
is(q1("SELECT count(*) FROM project_management.pm_livekit_presences WHERE "
    . "room_name = '$ROOM'"), 0, '... and the room\'s presences are gone');

# auto_share = none: nobody is added.
$s->api(PUT => '/api/admin/policy', token => $atok,
    json => { auto_share => 'none' });
my $ROOM2 = 'consent-2';
$s->room(code => $ROOM2, host => $host, company => $co);
join_room($ROOM2, identity => $alice, name => 'Alice');
$s->standin_idle;
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $ROOM2 });
is($r->{status}, 201, 'a second recording') or diag($r->{body});
my $id2 = $r->{json}{recording_id};
$s->standin_idle;
complete($id2);
is($s->api(GET => "/api/recordings/$id2", token => $tk{alice})->{status},
    403, 'with auto_share none alice may not watch it');
is(q1("SELECT count(*) FROM $L WHERE recording_id = '$id2' AND "
    . "action = 'access'"), 0, '... and no access row');
ctl(POST => "rooms/$ROOM2/finish");
$s->standin_idle;

# 7. A room LiveKit does not have: the start goes on, the ledger says
# the notice failed.
my $ROOM3 = 'consent-3';
$s->room(code => $ROOM3, host => $host, company => $co);
join_room($ROOM3, identity => $carol, name => 'Carol');
$s->standin_idle;
ctl(POST => 'mode', { rooms_unknown => $T });
ctl(DELETE => 'room_calls');
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $ROOM3 });
is($r->{status}, 201, 'RoomService failing does not fail the start')
    or diag($r->{body});
my $id3 = $r->{json}{recording_id};
$s->standin_idle;
ctl(POST => 'mode', { rooms_unknown => JSON::PP::false });
$r = $s->api(GET => "/api/recordings/$id3/participants", token => $tok);
is($r->{json}{notice}{status}, 'failed', 'the notice failed');
is($r->{json}{notice}{metadata}, 'failed', '... the metadata');
is($r->{json}{notice}{data}, 'skipped', '... no message to a room LiveKit '
    . 'does not have');
like($r->{json}{notice}{error}, qr/no room 'consent-3'/, '... saying why');
is($r->{json}{participants}[0]{identity}, $carol,
    'carol is in the ledger from the webhooks');
is($r->{json}{participants}[0]{notice_status}, 'failed',
    '... her notice failed');
is(scalar(grep { $_->{method} eq 'SendData' }
    @{ ctl(GET => 'room_calls')->{json}{room_calls} }), 0,
    'no SendData that would wait 15 s for its 503');
is(q1("SELECT detail->>'status' FROM $L WHERE recording_id = '$id3' AND "
    . "action = 'notice'"), 'failed', 'the failed notice is audited too');
is(q1("SELECT status FROM $R WHERE id = '$id3'"), 'recording',
    'the recording records');
$s->api(POST => "/api/recordings/$id3/stop", token => $tok);
$s->standin_idle;

# 8. livekit_user_identity = metadata:<field>: the user is a field of the
# participant's JSON metadata.  check-config refuses a value that is
# neither form.
sub reconf {
	my ($v) = @_;
	my $re = qr/reloaded configuration|reload refused/;
	my $n = () = $s->log('pool') =~ /$re/g;
	$s->reconfigure(livekit_user_identity => $v);
	wait_for(sub { my $m = () = $s->log('pool') =~ /$re/g; $m > $n },
	    10, 'meetrec-fcgi to reload');
}
reconf('metadata:');
$r = $s->admin_run('check-config');
isnt($r->{rc}, 0, 'check-config refuses livekit_user_identity = metadata:');
like($r->{err} . $r->{out}, qr/livekit_user_identity must be identity or /,
    '... naming the key');
reconf('metadata:user_id');
is($s->admin_run('check-config')->{rc}, 0, '... and takes metadata:user_id');
my $ROOM4 = 'consent-4';
$s->room(code => $ROOM4, host => $host, company => $co);
join_room($ROOM4, identity => 'dave@example', name => 'Dave',
    metadata => json_encode({ user_id => uc $dave }));
join_room($ROOM4, identity => $alice, name => 'Alice');
$s->standin_idle;
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $ROOM4 });
is($r->{status}, 201, 'a recording') or diag($r->{body});
my $id4 = $r->{json}{recording_id};
$s->standin_idle;
join_room($ROOM4, identity => 'carol@example', name => 'Carol',
    metadata => json_encode({ user_id => $carol, team => 'x' }));
$s->standin_idle;
%p = map { $_->{identity} => $_ } @{ $s->api(GET =>
    "/api/recordings/$id4/participants", token => $tok)->{json}
    {participants} };
is($p{'dave@example'}{user_id}, $dave,
    'dave is his metadata\'s user_id (lower case)');
is($p{'carol@example'}{user_id}, $carol, '... carol, who joined later, too');
is($p{$alice}{user_id}, undef, 'an identity alone maps to nobody now');
is($s->api(POST => "/api/recordings/$id4/consent", token => $tk{dave},
    json => { answer => 'acknowledge' })->{status}, 200,
    'dave answers');
is($s->api(POST => "/api/recordings/$id4/consent", token => $tk{alice},
    json => { answer => 'acknowledge' })->{status}, 403,
    '... alice may not');
$s->api(POST => "/api/recordings/$id4/stop", token => $tok);
$s->standin_idle;

$s->finish;
done_testing();
