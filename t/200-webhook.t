#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# LiveKit's webhooks as LiveKit sends them (signed by the SDK in the
# stand-in), and as an attacker or a flaky network would: missing, forged
# and tampered signatures, replays, duplicates, out-of-order delivery,
# failed and limit-reached egresses.
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use Digest::SHA qw(sha256_base64);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid jwt_hs256);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $hook = '/api/livekit/webhook';

sub row {
	my ($id) = @_;
	my $line = $s->pg->psql("SELECT status || '|' || coalesce(egress_status, "
	    . "'') || '|' || coalesce(file_size_bytes::text, '') || '|' || "
	    . "coalesce(last_error, '') FROM project_management."
	    . "pm_meeting_recordings WHERE id = '$id'");
	my %r;
	@r{qw(status egress_status size error)} = split /\|/, $line, 4;
	return \%r;
}

my $nroom = 0;
sub start {
	my $code = 'wh' . ++$nroom;
	$s->room(code => $code, name => $code, host => $host, company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code });
	is($r->{status}, 201, "start $code") or diag($r->{body});
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	return ($r->{json}{recording_id}, $r->{json}{egress_id});
}

sub hooks {
	my $w = $s->standin(GET => '/_standin/webhooks')->{json};
	return @{ ref $w eq 'HASH' ? $w->{webhooks} : $w };
}

sub events { return $s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_livekit_webhook_events") }

# 1. The normal path delivered started and updated, all accepted.
my ($id, $eg) = start();
my @h = grep { ($_->{egress_id} // '') eq $eg } hooks();
ok(@h >= 2, 'the stand-in sent webhooks for the egress');
ok(!(grep { $_->{response_status} != 200 } @h), 'all answered 200');
my @said = map { eval { JSON::PP::decode_json($_->{response_body}) } // {} }
    @h;
ok(!(grep { !JSON::PP::is_bool($_->{received}) || !$_->{received} } @said),
    "each with the seed's received: true")
    or diag(join "\n", map { $_->{response_body} // '' } @h);
ok(!(grep { ($_->{status} // '') !~ /^(?:applied|unchanged)$/ } @said),
    '... and what became of each (applied or unchanged)');
is(row($id)->{egress_status}, 'EGRESS_ACTIVE', 'ACTIVE applied');

# 2. Signatures.
my $body = $h[-1]{body};
my $auth = $h[-1]{authorization};
my $before = events();
my $r = $s->api(POST => $hook, raw => $body,
    headers => { 'Content-Type' => 'application/webhook+json' });
is($r->{status}, 401, 'no Authorization: 401');
is($r->{json}{code}, 'invalid_signature', 'code invalid_signature');
my $lk = { key => $s->lk_key, secret => $s->lk_secret };
my $claims = sub { my ($b, %o) = @_; { iss => $o{iss} // $lk->{key},
    nbf => time - 1, exp => time + 300,
    sha256 => $o{sha} // sha256_base64($b) . '=' } };
my %bad = (
	'wrong secret' => jwt_hs256('wrong', $claims->($body)),
	'wrong issuer' => jwt_hs256($lk->{secret}, $claims->($body,
	    iss => 'someone')),
	'sha256 of another body' => jwt_hs256($lk->{secret},
	    $claims->($body, sha => sha256_base64("x") . '=')),
	'expired' => jwt_hs256($lk->{secret}, { %{ $claims->($body) },
	    exp => time - 600 }),
	'garbage' => 'not.a.jwt',
	'HS512' => jwt_hs256($lk->{secret}, $claims->($body),
	    { alg => 'HS512' }),
);
for my $k (sort keys %bad) {
	$r = $s->api(POST => $hook, raw => $body, headers => {
	    Authorization => $bad{$k},
	    'Content-Type' => 'application/webhook+json' });
	is($r->{status}, 401, "$k: 401");
}
# A good token on a tampered body.
(my $tampered = $body) =~ s/EGRESS_ACTIVE/EGRESS_COMPLETE/;
$r = $s->api(POST => $hook, raw => $tampered,
    headers => { Authorization => $auth });
is($r->{status}, 401, 'tampered body with the original token: 401');
is(events(), $before, 'no refused webhook was recorded');
is(row($id)->{egress_status}, 'EGRESS_ACTIVE', 'and nothing changed');

# A correctly signed body that is not an event.
my $junk = '{"hello":"world"}';
$r = $s->api(POST => $hook, raw => $junk, headers => {
    Authorization => jwt_hs256($lk->{secret}, $claims->($junk)) });
is($r->{status}, 400, 'signed non-event: 400');
is($r->{json}{code}, 'invalid_event', 'code invalid_event');
$junk = '{"event":';
$r = $s->api(POST => $hook, raw => $junk, headers => {
    Authorization => jwt_hs256($lk->{secret}, $claims->($junk)) });
is($r->{status}, 400, 'signed malformed JSON: 400');

# 3. Replay: the same bytes and token again change nothing.
my $idx = $h[-1]{index};
$r = $s->standin(POST => '/_standin/resend', { index => $idx })->{json};
is($r->{status}, 200, 'a replay is answered 200');
like($r->{body}, qr/duplicate/, 'and reported as a duplicate');
is_deeply(JSON::PP::decode_json($r->{body}), { received => JSON::PP::true(),
    status => 'duplicate' }, "the seed's received: true on a duplicate too");
is(events(), $before, 'a replay records nothing new');

# 4. Stop; the ended webhook completes the egress part.
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'stop');
$s->standin(POST => '/_standin/wait', { idle => \1 });
my $done = row($id);
is($done->{status}, 'processing', 'processing after egress_ended');
is($done->{egress_status}, 'EGRESS_COMPLETE', 'egress COMPLETE');
ok($done->{size} > 0, 'size stored');
# A late egress_updated (ACTIVE) replayed now must not move it back.
my ($active) = grep { ($_->{egress_id} // '') eq $eg &&
    $_->{event} eq 'egress_updated' && $_->{body} =~ /EGRESS_ACTIVE/ } hooks();
ok($active, 'found the ACTIVE update');
my $late = $s->standin(POST => '/_standin/resend',
    { index => $active->{index} })->{json};
is($late->{status}, 200, 'late update answered 200');
is(row($id)->{egress_status}, 'EGRESS_COMPLETE', 'still COMPLETE');
is(row($id)->{status}, 'processing', 'still processing');

# 5. Duplicates: every webhook sent twice.
$s->standin(POST => '/_standin/mode', { webhooks => 'duplicate' });
my ($id2, $eg2) = start();
$s->api(POST => "/api/recordings/$id2/stop", token => $tok);
$s->standin(POST => '/_standin/wait', { idle => \1 });
my @d = grep { ($_->{egress_id} // '') eq $eg2 } hooks();
my %ids;
$ids{$_->{id}}++ for @d;
ok(!(grep { $_ < 2 } values %ids), 'each event was delivered twice');
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_livekit_webhook_events WHERE egress_id = '$eg2'"),
    scalar keys %ids, 'each event id recorded once');
is(row($id2)->{status}, 'processing', 'duplicates: processing');
is(row($id2)->{egress_status}, 'EGRESS_COMPLETE', 'duplicates: COMPLETE');

# 6. Out of order: ended before the updates.
$s->standin(POST => '/_standin/mode', { webhooks => 'reverse' });
my ($id3, $eg3) = start();
$s->api(POST => "/api/recordings/$id3/stop", token => $tok);
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(row($id3)->{egress_status}, 'EGRESS_COMPLETE',
    'reverse order: final status wins');
is(row($id3)->{status}, 'processing', 'reverse order: processing');

# 7. EGRESS_FAILED: the recording fails with the error; the partial
# file is kept.
$s->standin(POST => '/_standin/mode', { webhooks => 'normal',
    end_status => 'EGRESS_FAILED' });
my ($id4) = start();
$s->api(POST => "/api/recordings/$id4/stop", token => $tok);
$s->standin(POST => '/_standin/wait', { idle => \1 });
my $f = row($id4);
is($f->{status}, 'failed', 'EGRESS_FAILED: failed');
like($f->{error}, qr/pipeline frozen/, 'with LiveKit\'s error');
ok(-e $s->config->{spool_dir} . "/$id4.mp4", 'partial file kept');

# 8. EGRESS_LIMIT_REACHED with a file: processed like a complete one.
$s->standin(POST => '/_standin/mode', { end_status => 'EGRESS_LIMIT_REACHED' });
my ($id5, $eg5) = start();
$s->standin(POST => '/_standin/end', { egress_id => $eg5 });
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(row($id5)->{status}, 'processing', 'LIMIT_REACHED: processing');

# 9. ABORTED: no file, failed.
$s->standin(POST => '/_standin/mode', { end_status => 'EGRESS_ABORTED' });
my ($id6, $eg6) = start();
$s->standin(POST => '/_standin/end', { egress_id => $eg6 });
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(row($id6)->{status}, 'failed', 'ABORTED: failed');

# 10. A room that ends by itself (source closed) goes to processing.
$s->standin(POST => '/_standin/reset');
my ($id7, $eg7) = start();
$s->standin(POST => '/_standin/end', { egress_id => $eg7 });
$s->standin(POST => '/_standin/wait', { idle => \1 });
is(row($id7)->{status}, 'processing', 'ended by LiveKit: processing');

# 11. The started webhook racing the Start reply still ends in recording.
$s->standin(POST => '/_standin/mode', { webhook_before_reply => \1 });
my ($id8) = start();
is(row($id8)->{status}, 'recording', 'webhook before reply: recording');

# 12. Events of other kinds and unknown egresses are accepted, harmless.
$s->standin(POST => '/_standin/reset');
for my $ev ('{"event":"room_started","id":"EV_room1","room":{"name":"x"}}',
    '{"event":"egress_updated","id":"EV_unknown1","egressInfo":'
    . '{"egressId":"EG_nobodyknows","status":"EGRESS_ACTIVE"}}') {
	$r = $s->api(POST => $hook, raw => $ev, headers => {
	    Authorization => jwt_hs256($lk->{secret}, $claims->($ev)) });
	is($r->{status}, 200, 'accepted: ' . substr($ev, 0, 30));
}

$s->finish;
done_testing();
