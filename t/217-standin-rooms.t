#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 217-standin-rooms.t - the LiveKit stand-in playing a meeting, checked
# from the outside as meetrec will see it: three participants join
# (room_started first, then participant_joined each), the recorder of a
# room composite egress joins as a hidden EGRESS participant, one
# participant leaves (participant_left, CLIENT_INITIATED), and the room
# finishes (participant_left for everyone still there, ROOM_CLOSED, then
# room_finished).  Every webhook's signature is verified here in Perl
# (HMAC-SHA256 JWT with the API secret, iss, a 5 minute life, and the
# sha256 claim = the padded base64 of the body's SHA-256), independently
# of the SDK that signed it.  Then RoomService (UpdateRoomMetadata,
# SendData, ListParticipants) with a roomAdmin token as meetrec will mint
# it; refusals as LiveKit answers them (401 unauthenticated "permissions
# denied" without roomAdmin or for another room, 401 plain text for a
# forged token, 400 malformed for a bad body, 404 and 503 for a room that
# does not exist); and the stand-in's records of it (room_calls, the
# data each participant would get).  See doc/livekit-rooms.md.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(hmac_sha256 sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(http jwt_hs256 b64url_decode json_decode);

Meetrec::Test::Stack::require_prereqs(qw(pg node));

my $T = JSON::PP::true;
my $F = JSON::PP::false;

# The stand-in alone: no nginx, so webhooks are recorded, not sent
# (mode webhooks => drop), each with its body and Authorization.
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1,
    no_migrate => 1);
my $d = $s->dir;
my ($key, $secret) = ($s->lk_key, $s->lk_secret);

sub ctl { return $s->standin(@_) }

my $r = ctl(POST => 'mode', { webhooks => 'drop' });
is($r->{status}, 200, 'webhooks recorded, not sent') or diag($r->{body});

# A token as meetrec mints it for LiveKit.
sub token {
	my (%video) = @_;
	my $sec = delete $video{_secret} // $secret;
	return jwt_hs256($sec, { iss => $key, nbf => time - 5,
	    exp => time + 600, video => \%video });
}
my $ROOM = 'meetrec-room-217';
my $admin = token(roomAdmin => $T, room => $ROOM);

sub call {
	my ($service, $method, $body, $tok) = @_;
	$tok //= $admin;
	return http(POST => $s->standin_url("/twirp/livekit.$service/$method"),
	    { headers => { $tok eq '' ? () : (Authorization => "Bearer $tok"),
	      'Content-Type' => 'application/json' },
	      ref $body ? (json => $body) : (body => $body) });
}
sub rooms { return call('RoomService', @_) }

sub join_room {
	my ($body) = @_;
	return ctl(POST => "rooms/$ROOM/join", $body);
}

# 1. The meeting: three join, the recording starts.
my %sid;
for my $p ([ alice => { name => 'Alice', metadata => '{"role":"host"}' } ],
    [ bob => {} ], [ carol => { attributes => { team => 'x' } } ]) {
	my ($id, $extra) = @$p;
	$r = join_room({ identity => $id, %$extra });
	is($r->{status}, 200, "$id joins") or diag($r->{body});
	like($r->{json}{sid} // '', qr/^PA_[2-9A-HJ-NP-Za-km-z]{12}$/,
	    "... with a PA_ sid");
	is($r->{json}{state}, 'ACTIVE', '... ACTIVE');
	$sid{$id} = $r->{json}{sid};
}
is($r->{json}{attributes}{team}, 'x', 'attributes are kept');
is(join_room({ identity => 'dave', shoe => 1 })->{status}, 400,
    'join: an unknown key is refused');
is(join_room({ name => 'nobody' })->{status}, 400,
    'join: no identity is refused');

$r = call('Egress', 'StartRoomCompositeEgress', { roomName => $ROOM,
    layout => 'grid', fileOutputs => [{ fileType => 'MP4',
    filepath => "$d/rec/217.mp4" }] }, token(roomRecord => $T));
is($r->{status}, 200, 'an egress starts in the room') or diag($r->{body});
my $eg = $r->{json}{egress_id} // '';
$s->standin_idle;

# 2. Bob leaves.
$r = ctl(POST => "rooms/$ROOM/leave", { identity => 'bob' });
is($r->{status}, 200, 'bob leaves');
is($r->{json}{state}, 'DISCONNECTED', '... DISCONNECTED');
is($r->{json}{disconnectReason}, 'CLIENT_INITIATED', '... CLIENT_INITIATED');
is(ctl(POST => "rooms/$ROOM/leave", { identity => 'bob' })->{status}, 404,
    'leaving twice: 404');

# 3. RoomService with a roomAdmin token for the room.
$r = rooms('ListParticipants', { room => $ROOM });
is($r->{status}, 200, 'ListParticipants: 200') or diag($r->{body});
my @ps = @{ $r->{json}{participants} // [] };
is_deeply([ map { $_->{identity} } @ps ], [ 'alice', 'carol', $eg ],
    '... alice, carol and the egress');
is($ps[0]{sid}, $sid{alice}, '... alice with her sid');
is($ps[0]{state}, 'ACTIVE', '... snake_case, state by name');
like($ps[0]{joined_at} // '', qr/^\d+$/, '... joined_at an int64 string');
is($ps[2]{kind}, 'EGRESS', '... the egress is of kind EGRESS');
ok($ps[2]{permission}{hidden} && $ps[2]{permission}{recorder},
    '... hidden, a recorder');

$r = rooms('UpdateRoomMetadata', { room => $ROOM,
    metadata => '{"recording":"on"}' });
is($r->{status}, 200, 'UpdateRoomMetadata: 200') or diag($r->{body});
is($r->{json}{name}, $ROOM, '... the Room');
is($r->{json}{metadata}, '{"recording":"on"}', '... with its new metadata');
is($r->{json}{num_participants}, 2, '... two participants (no egress)');
ok($r->{json}{active_recording}, '... active_recording');
ok(exists $r->{json}{version} && !defined $r->{json}{version},
    '... version null, as Go writes an unset message');
my $room_sid = $r->{json}{sid};

$r = rooms('SendData', { room => $ROOM, data => encode_base64('rec on', ''),
    kind => 'RELIABLE', topic => 'meetrec.recording' });
is($r->{status}, 200, 'SendData to all: 200') or diag($r->{body});
is($r->{body}, '{}', '... answered {}');
$r = rooms('SendData', { room => $ROOM, data => encode_base64('hi', ''),
    destinationIdentities => ['carol'] });
is($r->{status}, 200, 'SendData to carol: 200');
my $room = ctl(GET => "rooms/$ROOM")->{json};
my @data = @{ $room->{data} // [] };
is(scalar @data, 2, 'the stand-in recorded both messages');
is($data[0]{text}, 'rec on', '... the first one');
is($data[0]{topic}, 'meetrec.recording', '... its topic');
is_deeply([ sort @{ $data[0]{recipients} } ], [ sort 'alice', 'carol', $eg ],
    '... for everyone in the room');
is_deeply($data[1]{recipients}, ['carol'], '... the second for carol only');
is($room->{metadata}, '{"recording":"on"}', 'the room has the metadata');

# 4. Refusals, as LiveKit answers them.
my %bad = (
    'no roomAdmin' => token(roomRecord => $T, room => $ROOM),
    'another room' => token(roomAdmin => $T, room => 'another-room'),
    'no token' => '',
);
for my $why (sort keys %bad) {
	for my $m (qw(UpdateRoomMetadata SendData ListParticipants)) {
		$r = rooms($m, { room => $ROOM }, $bad{$why});
		is($r->{status}, 401, "$why: $m 401");
		is_deeply($r->{json}, { code => 'unauthenticated',
		    msg => 'permissions denied' },
		    "... unauthenticated, permissions denied");
	}
}
$r = rooms('ListParticipants', { room => $ROOM },
    token(roomAdmin => $T, room => $ROOM, _secret => "$secret-forged"));
is($r->{status}, 401, 'a forged token: 401');
like($r->{body}, qr/^invalid authorization token/, '... as plain text');
is($r->{json}, undef, '... not Twirp JSON');
$r = rooms('ListParticipants', { room => $ROOM }, jwt_hs256($secret,
    { iss => $key, nbf => time - 5, video => { roomAdmin => $T,
    room => $ROOM } }));
is($r->{status}, 401, 'a token without exp: 401');
for my $case ([ 'an unknown key', { room => $ROOM, metadata => 'x',
    colour => 'red' }, 'UpdateRoomMetadata' ],
    [ 'data that is not base64', { room => $ROOM, data => '*?*' },
      'SendData' ],
    # (LiveKit would drop an unknown enum name as it drops an unknown
    # key; the stand-in refuses both so that a typo shows.)
    [ 'a kind that does not exist', { room => $ROOM, data => 'aGk=',
      kind => 'URGENT' }, 'SendData' ],
    [ 'broken JSON', '{"room":', 'ListParticipants' ]) {
	my ($name, $body, $m) = @$case;
	$r = rooms($m, $body);
	is($r->{status}, 400, "$name: 400");
	is($r->{json}{code}, 'malformed', '... malformed');
}
$r = rooms('SendData', { room => $ROOM, data => 'aGk=',
    nonce => encode_base64('abc', '') });
is($r->{status}, 400, 'a 3-byte nonce: 400');
is($r->{json}{msg}, 'nonce should be 16-bytes or not present, got: 3 bytes',
    '... with LiveKit\'s message');

my $other = token(roomAdmin => $T, room => 'no-such-room');
$r = rooms('UpdateRoomMetadata', { room => 'no-such-room', metadata => 'x' },
    $other);
is($r->{status}, 404, 'UpdateRoomMetadata in a room that does not exist: 404');
is($r->{json}{msg}, 'requested room does not exist', '... not_found');
$r = rooms('SendData', { room => 'no-such-room', data => 'aGk=' }, $other);
is($r->{status}, 503, 'SendData there: 503');
is($r->{json}{msg}, 'no response from servers', '... unavailable');
$r = rooms('ListParticipants', { room => 'no-such-room' }, $other);
is($r->{status}, 200, 'ListParticipants there: 200');
is_deeply($r->{json}, { participants => [] }, '... an empty list');

# 5. Every RoomService call is recorded, refused ones too.
my @calls = @{ ctl(GET => 'room_calls')->{json}{room_calls} // [] };
is(scalar @calls, 23, 'room_calls: every call');
is($calls[0]{method}, 'ListParticipants', '... in order');
is($calls[1]{request}{metadata}, '{"recording":"on"}', '... the request');
ok($calls[1]{video}{roomAdmin} && $calls[1]{video}{room} eq $ROOM,
    '... the token\'s grants');
ok($calls[1]{auth_ok}, '... judged sufficient');
is($calls[1]{status}, 200, '... the status');
is($calls[1]{answer}{sid}, $room_sid, '... and the answer');
my ($refused) = grep { $_->{status} == 401 } @calls;
ok($refused && !$refused->{auth_ok}, 'a refused call is there too');
$r = ctl(DELETE => 'room_calls');
is($r->{status}, 200, 'DELETE room_calls');
is(scalar @{ ctl(GET => 'room_calls')->{json}{room_calls} }, 0,
    '... empties it');

# 6. The room finishes.
$r = ctl(POST => "rooms/$ROOM/finish");
is($r->{status}, 200, 'the room finishes') or diag($r->{body});
is_deeply([ map { $_->{identity} } @{ $r->{json}{left} } ],
    [ 'alice', 'carol', $eg ], '... everyone still there leaves');
is_deeply($r->{json}{ended_egresses}, [$eg], '... and the egress ends');
$s->standin_idle;
is(ctl(POST => "rooms/$ROOM/finish")->{status}, 404, 'finishing twice: 404');

# 7. The webhooks, in order, each signed as LiveKit signs them.
my @h = grep { ($_->{room_name} // '') eq $ROOM && !defined $_->{egress_id} }
    @{ ctl(GET => 'webhooks')->{json}{webhooks} };
is_deeply([ map { $_->{event} . ($_->{participant_identity}
    ? ":$_->{participant_identity}" : '') } @h ],
    [ 'room_started', 'participant_joined:alice', 'participant_joined:bob',
      'participant_joined:carol', "participant_joined:$eg",
      'participant_left:bob', 'participant_left:alice',
      'participant_left:carol', "participant_left:$eg", 'room_finished' ],
    'room and participant webhooks in order, on one queue');

# verify($authorization, $body) - undef if the token signs the body as
# LiveKit does, else why not.
sub verify {
	my ($jwt, $body) = @_;
	my @seg = split /\./, $jwt // '', -1;
	return 'not three segments' unless @seg == 3;
	return 'a padded or foreign segment' if grep { !/^[A-Za-z0-9_-]+$/ } @seg;
	my $hdr = eval { json_decode(b64url_decode($seg[0])) } // {};
	return 'alg is not HS256' unless ($hdr->{alg} // '') eq 'HS256';
	my $mac = hmac_sha256("$seg[0].$seg[1]", $secret);
	return 'bad signature' unless b64url_decode($seg[2]) eq $mac;
	my $c = eval { json_decode(b64url_decode($seg[1])) } // {};
	return 'iss is not the key' unless ($c->{iss} // '') eq $key;
	return 'not a 5 minute token' unless ($c->{exp} // 0) - ($c->{nbf} // 0)
	    == 300;
	return 'expired' unless $c->{exp} >= time - 60;
	my $want = encode_base64(sha256($body), '');
	return "sha256 claim $c->{sha256} is not $want"
	    unless ($c->{sha256} // '') eq $want;
	return undef;
}

my (%ids, @bad);
for my $w (@h) {
	my $why = verify($w->{authorization}, $w->{body});
	push @bad, "$w->{index} $w->{event}: $why" if defined $why;
	$ids{ json_decode($w->{body})->{id} // '' }++;
}
is_deeply(\@bad, [], 'every webhook verifies: HS256, iss, 5 min, sha256');
like(verify($h[0]{authorization}, "$h[0]{body} ") // '', qr/^sha256 claim/,
    'the check refuses the same token on a changed body');
like(verify($h[1]{authorization}, $h[0]{body}) // '', qr/^sha256 claim/,
    '... and another event\'s token');
is(scalar(grep { /^EV_/ } keys %ids), scalar @h, 'each with its own EV_ id');
is(length(json_decode($h[0]{body})->{createdAt} // ''), 10,
    'createdAt in seconds');

my @ev = map { json_decode($_->{body}) } @h;
is(scalar(grep { ($_->{room}{sid} // '') eq $room_sid } @ev), scalar @ev,
    'every event carries the same room sid');
ok(!exists $ev[0]{participant}, 'room_started: no participant');
ok(!exists $ev[-1]{participant}, 'room_finished: no participant');
is($ev[-1]{room}{metadata}, '{"recording":"on"}',
    'room_finished: the room as it ended');
ok(!$ev[-1]{room}{numParticipants}, '... nobody left in it');
my $alice = $ev[1]{participant};
is($alice->{sid}, $sid{alice}, 'participant_joined: alice\'s sid');
is($alice->{name}, 'Alice', '... name');
is($alice->{metadata}, '{"role":"host"}', '... metadata');
is($alice->{state}, 'ACTIVE', '... ACTIVE');
like($alice->{joinedAt} // '', qr/^\d{10}$/, '... joinedAt in seconds');
like($alice->{joinedAtMs} // '', qr/^\d{13}$/, '... joinedAtMs');
ok(!exists $alice->{kind}, '... kind STANDARD left out (zero value)');
is($ev[3]{participant}{attributes}{team}, 'x', 'carol\'s attributes');
my $egp = $ev[4]{participant};
is($egp->{identity}, $eg, 'the egress joins under its egress id');
is($egp->{kind}, 'EGRESS', '... kind EGRESS');
ok($ev[4]{room}{activeRecording}, '... and the room is being recorded');
is($ev[5]{participant}{disconnectReason}, 'CLIENT_INITIATED',
    'bob left by himself');
is($ev[5]{participant}{state}, 'DISCONNECTED', '... DISCONNECTED');
is_deeply([ map { $_->{participant}{disconnectReason} } @ev[6 .. 8] ],
    [ ('ROOM_CLOSED') x 3 ], 'the others left as the room closed');
is($ev[6]{participant}{sid}, $sid{alice}, '... alice with the same sid');

# The egress's own events went their own way (its own queue).
my @eh = grep { ($_->{egress_id} // '') eq $eg }
    @{ ctl(GET => 'webhooks')->{json}{webhooks} };
is($eh[-1]{event}, 'egress_ended', 'the egress ended');
is(json_decode($eh[-1]{body})->{egressInfo}{details},
    'End reason: Source closed', '... its source closed');
ok(!(grep { defined verify($_->{authorization}, $_->{body}) } @eh),
    '... and its webhooks verify too');

# 8. The same name later is a new room.
$r = join_room({ identity => 'alice' });
$s->standin_idle;
my $new = ctl(GET => "rooms/$ROOM")->{json};
isnt($new->{sid}, $room_sid, 'joining again opens a new room (a new sid)');
is(scalar(grep { $_->{name} eq $ROOM }
    @{ ctl(GET => 'rooms')->{json}{rooms} }), 2, 'both are listed');

$s->finish;
done_testing();
