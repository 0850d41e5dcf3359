#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Signed events out (Standard Webhooks).  An admin registers endpoints
# (the secret shown once); the reaper delivers every event of the
# company to each, in the order of the audit chain, signed; a receiver
# (t/webhooks/receiver.mjs) verifies every delivery with the
# specification's own JavaScript library, and the test checks the
# signatures once more in Perl.  A receiver that is down gets every
# event once it is back, in order, under the same webhook-ids; a change
# that rolled back sends nothing; GET /api/events gives the same
# sequence; a delivery past webhook_retry_hours is given up and can be
# sent again; 410 disables the endpoint; a rotated secret signs beside
# the old one.  Who may, and hostile input.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use Meetrec::Test::Stack;
use Meetrec::Test::Receiver;
use JSON::PP ();
use Time::HiRes qw(sleep);
use Meetrec::Test::Util qw(uuid http json_decode);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::Receiver::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { webhook_allow_private => 1,
    webhook_backoff_seconds => 1, webhook_backoff_max_seconds => 1,
    webhook_disable_after => 1000, webhook_retry_hours => 24 });
my $rx = Meetrec::Test::Receiver->new(dir => $s->dir . '/receiver');
my ($co, $host, $adm, $co2, $adm2) = map { uuid() } 1 .. 5;
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $atok = $s->token(user => $adm, company => $co, username => 'boss',
    role => 'admin');
my $a2tok = $s->token(user => $adm2, company => $co2, username => 'other',
    role => 'admin');
my $T = 'project_management.pm_meeting_recordings';
my $D = 'project_management.pm_webhook_deliveries';
sub q1 { $s->pg->psql($_[0]) }
sub hooks { return $s->reaper('--pass', 'webhooks') }

# 1. Two endpoints: every event, and completions only.
my $r = $s->api(POST => '/api/admin/webhooks', token => $atok,
    json => { url => $rx->url('all'), description => 'ERP' });
is($r->{status}, 201, 'an admin registers an endpoint') or diag($r->{body});
my $all = $r->{json};
like($all->{secret} // '', qr/^whsec_[A-Za-z0-9+\/]{43}=$/,
    '... and is shown its secret');
is_deeply($all->{events}, [], '... every event');
$rx->add_endpoint('all', $all->{secret});
$r = $s->api(POST => '/api/admin/webhooks', token => $atok,
    json => { url => $rx->url('done'), events => ['recording.completed'] });
my $done = $r->{json};
$rx->add_endpoint('done', $done->{secret});
$r = $s->api(GET => "/api/admin/webhooks/$all->{id}", token => $atok);
is($r->{json}{secret}, undef, 'the secret is never shown again');
is(scalar @{ $s->api(GET => '/api/admin/webhooks', token => $atok)
    ->{json}{webhooks} }, 2, 'both are listed');

sub record {
	return $s->recorded(token => $tok, host => $host, company => $co);
}
my $id = record();
is(q1("SELECT status FROM $T WHERE id = '$id'"), 'completed', 'a recording');
$r = hooks();
is($r->{rc}, 0, 'the webhooks pass') or diag($r->{err});
my $got = $rx->wait_deliveries('all', count => 3, accepted => 1);
is_deeply([ map { $_->{json}{type} } @$got ], [ 'recording.started',
    'recording.stopped', 'recording.completed' ],
    'the endpoint got the recording\'s events, in order');
is(scalar(grep { $_->{verified} } @{ $rx->deliveries('all') }),
    scalar @{ $rx->deliveries('all') },
    'the standardwebhooks library verified every one');
for my $d (@$got) {
	is($d->{signature}, Meetrec::Test::Receiver::sign($all->{secret},
	    $d->{id}, $d->{timestamp}, $d->{body}),
	    "$d->{json}{type}: the signature, computed in Perl, matches");
}
my $c = $got->[2]{json}{data};
is($c->{recording_id}, $id, 'completed names the recording');
is($c->{checksum_sha256}, q1("SELECT checksum_sha256 FROM $T WHERE "
    . "id = '$id'"), '... its checksum');
is($c->{file_size_bytes}, q1("SELECT file_size_bytes FROM $T WHERE "
    . "id = '$id'"), '... size');
is($c->{duration_ms}, q1("SELECT duration_ms FROM $T WHERE id = '$id'"),
    '... and duration');
ok($c->{download_url}, '... with a download link');
my $dl = http(GET => $c->{download_url});
is($dl->{status}, 200, 'the link works without a token');
is(sha256_hex($dl->{body} // ''), $c->{checksum_sha256},
    '... and gives the stored bytes');
is_deeply([ map { $_->{json}{type} } @{ $rx->deliveries('done') } ],
    [ 'recording.completed' ], 'the other endpoint got completions only');
is($rx->deliveries('done')->[0]{id}, $got->[2]{id},
    'one webhook-id for one event, whichever endpoint');

# 2. GET /api/events: the same sequence.
$r = $s->api(GET => '/api/events', token => $atok);
is($r->{status}, 200, 'GET /api/events');
is_deeply([ map { $_->{webhook_id} } @{ $r->{json}{events} } ],
    [ map { $_->{id} } @$got ], '... the same events, same ids, in order');
is($r->{json}{events}[2]{data}{checksum_sha256}, $c->{checksum_sha256},
    '... the same payloads');
my $since = $r->{json}{next_since};
$r = $s->api(GET => "/api/events?since=$since", token => $atok);
is_deeply($r->{json}{events}, [], 'nothing after next_since');
$r = $s->api(GET => '/api/events?limit=1', token => $atok);
is(scalar @{ $r->{json}{events} }, 1, 'one a page');
$r = $s->api(GET => "/api/events?limit=5&since=$r->{json}{next_since}",
    token => $atok);
is($r->{json}{events}[0]{webhook_id}, $got->[1]{id},
    '... the next page goes on');

# 3. A rolled-back change, and a refused one, send nothing.
my $before = q1("SELECT count(*) FROM $D");
q1("BEGIN; UPDATE $T SET legal_hold_at = now(), legal_hold_reason = 'x' "
    . "WHERE id = '$id'; ROLLBACK;");
is(q1("SELECT count(*) FROM $D"), $before,
    'a change that rolled back queued nothing');
$s->api(POST => "/api/admin/recordings/$id/hold", token => $atok,
    json => { reason => 'audit' });
is($s->api(DELETE => "/api/recordings/$id", token => $tok)->{status}, 409,
    'a refused delete');
hooks();
is_deeply([ map { $_->{json}{type} } @{ $rx->deliveries('all') }[3 .. 3] ],
    [ 'recording.held' ], 'only the hold was sent, not the refused delete');
$r = $s->api(GET => '/api/events?since=' . $since, token => $atok);
is_deeply([ map { $_->{type} } @{ $r->{json}{events} } ],
    [ 'recording.held' ], '... and /api/events agrees');

# 4. The receiver down: events wait, in order, and all come when it is
# back, with the webhook-ids they were first tried with.
$rx->mode('all', mode => 'down');
$s->api(DELETE => "/api/admin/recordings/$id/hold", token => $atok);
my $sh = $s->api(POST => "/api/recordings/$id/shares", token => $tok,
    json => {})->{json};
$s->api(DELETE => "/api/recordings/$id/shares/$sh->{share_id}",
    token => $tok);
hooks();
my @tried = grep { $_->{outcome} ne 'answered' } @{ $rx->deliveries('all') };
ok(scalar @tried >= 1, 'a delivery was tried while it was down');
my $ep = $s->api(GET => "/api/admin/webhooks/$all->{id}", token => $atok)
    ->{json};
is($ep->{pending}, 3, 'three events wait');
cmp_ok($ep->{failures}, '>=', 1, '... the failures are counted');
$r = $s->api(GET => "/api/admin/webhooks/$all->{id}/deliveries?status="
    . "pending", token => $atok);
like($r->{json}{deliveries}[-1]{last_error} // '',
    qr/upstream|broke|reach/, 'the delivery log says why');
$rx->mode('all', mode => 'status', status => 500, body => 'oops');
sleep 1.2;
hooks();
$r = $s->api(GET => "/api/admin/webhooks/$all->{id}/deliveries?status="
    . "pending", token => $atok);
is($r->{json}{deliveries}[-1]{last_status}, 500, 'a 500 is a failure too');
is($r->{json}{deliveries}[-1]{response}, 'oops', '... its answer kept');
ok(defined $r->{json}{deliveries}[-1]{latency_ms}, '... and its latency');
$rx->mode('all');
for (1 .. 10) {
	sleep 1.2;
	hooks();
	last if @{ $rx->deliveries('all', accepted => 1) } >= 7;
}
my @ok = @{ $rx->deliveries('all', accepted => 1) };
is_deeply([ map { $_->{json}{type} } @ok[4 .. 6] ], [ 'recording.released',
    'share.created', 'share.revoked' ],
    'back up, it got every event, in order');
is($ok[4]{id}, $tried[0]{id}, '... under the webhook-id first tried');
is($s->api(GET => "/api/admin/webhooks/$all->{id}", token => $atok)
    ->{json}{failures}, 0, 'its failures are forgiven');

# 5. Past webhook_retry_hours a delivery is given up, and the queue goes
# on; an admin sends it again.
$rx->mode('all', mode => 'status', status => 503);
$s->api(POST => "/api/admin/recordings/$id/hold", token => $atok,
    json => { reason => 'again' });
$s->api(DELETE => "/api/admin/recordings/$id/hold", token => $atok);
q1("UPDATE $D SET created_at = now() - interval '25 hours' WHERE "
    . "status = 'pending' AND event_type = 'recording.held'");
hooks();
is(q1("SELECT status FROM $D WHERE event_type = 'recording.held' AND "
    . "endpoint_id = '$all->{id}' ORDER BY event_seq DESC LIMIT 1"),
    'failed', 'a delivery past its 24 hours is given up');
$rx->mode('all');
sleep 1.2;
hooks();
is($rx->deliveries('all', accepted => 1)->[-1]{json}{type},
    'recording.released', 'the next one is delivered');
my $failed = q1("SELECT id FROM $D WHERE status = 'failed' AND "
    . "endpoint_id = '$all->{id}'");
$r = $s->api(POST => "/api/admin/webhooks/$all->{id}/deliveries/$failed/"
    . "redeliver", token => $atok);
is($r->{status}, 202, 'an admin sends it again');
hooks();
is($rx->deliveries('all', accepted => 1)->[-1]{json}{type},
    'recording.held', '... and it arrives');

# 6. 410 Gone disables the endpoint; events are not queued for it; on
# again, it works.
$rx->mode('done', mode => 'status', status => 410);
my $id2 = record();
hooks();
$ep = $s->api(GET => "/api/admin/webhooks/$done->{id}", token => $atok)
    ->{json};
is($ep->{enabled}, JSON::PP::false(), '410: the endpoint is disabled');
like($ep->{disabled_reason}, qr/410/, '... saying why');
is(q1("SELECT count(*) FROM project_management.pm_recording_access_logs "
    . "WHERE action = 'webhook' AND detail->>'op' = 'disabled' AND "
    . "detail->>'endpoint_id' = '$done->{id}'"), 1, '... in the audit trail');
$rx->mode('done');
$r = $s->api(PATCH => "/api/admin/webhooks/$done->{id}", token => $atok,
    json => { enabled => \1 });
is($r->{json}{enabled}, JSON::PP::true(), 'an admin turns it on again');
hooks();
is($rx->deliveries('done', accepted => 1)->[-1]{json}{data}{recording_id},
    $id2, '... and the completion that waited arrives');

# 7. Rotation: the new secret signs, the old one too for a while.
$r = $s->api(POST => "/api/admin/webhooks/$all->{id}/rotate", token => $atok);
is($r->{status}, 200, 'rotated');
my $new = $r->{json}{secret};
isnt($new, $all->{secret}, '... a new secret');
$rx->add_endpoint('all', $new);
$rx->clear('all');
$s->api(POST => "/api/admin/recordings/$id2/hold", token => $atok,
    json => { reason => 'rotation' });
hooks();
my $d = $rx->wait_deliveries('all', accepted => 1)->[0];
my @sigs = split / /, $d->{signature};
is(scalar @sigs, 2, 'two signatures while the old secret still signs');
is($sigs[0], Meetrec::Test::Receiver::sign($new, $d->{id}, $d->{timestamp},
    $d->{body}), '... the new one');
is($sigs[1], Meetrec::Test::Receiver::sign($all->{secret}, $d->{id},
    $d->{timestamp}, $d->{body}), '... and the old one');

# 8. Who may, and hostile input.
for my $c ([ GET => '/api/admin/webhooks' ], [ GET => '/api/events' ],
    [ POST => '/api/admin/webhooks', { url => 'https://example.com/' } ],
    [ GET => "/api/admin/webhooks/$all->{id}" ],
    [ DELETE => "/api/admin/webhooks/$all->{id}" ]) {
	my ($m, $p, $j) = @$c;
	is($s->api($m => $p, token => $tok, $j ? (json => $j) : ())->{status},
	    403, "$m $p: not for a user who is not an admin");
	is($s->api($m => $p, $j ? (json => $j) : ())->{status}, 401,
	    '... nor without a token');
}
for my $c ([ GET => '' ], [ PATCH => '', { enabled => \0 } ],
    [ POST => '/rotate' ], [ GET => '/deliveries' ], [ DELETE => '' ]) {
	my ($m, $p, $j) = @$c;
	is($s->api($m => "/api/admin/webhooks/$all->{id}$p", token => $a2tok,
	    $j ? (json => $j) : ())->{json}{code}, 'webhook_not_found',
	    "$m ...$p: another company's admin finds nothing");
}
is_deeply($s->api(GET => '/api/events', token => $a2tok)->{json}{events},
    [], 'nor any of its events');
for my $bad ([ { url => 'ftp://example.com/' }, 'invalid_field' ],
    [ { url => 'https://exa mple.com/' }, 'invalid_field' ],
    [ { url => '/relative' }, 'invalid_field' ],
    [ { url => 'https://example.com/', events => ['recording.exploded'] },
      'invalid_field' ],
    [ { url => 'https://example.com/', events => 'recording.completed' },
      'invalid_field' ],
    [ { url => 'https://example.com/', description => 'd' x 501 },
      'invalid_field' ],
    [ { url => 'https://example.com/', secret => 'whsec_x' },
      'unknown_field' ],
    [ { events => [] }, 'missing_field' ], [ { url => 5 }, 'invalid_field' ]) {
	$r = $s->api(POST => '/api/admin/webhooks', token => $atok,
	    json => $bad->[0]);
	is($r->{json}{code}, $bad->[1], "a bad endpoint: $bad->[1]");
}
is($s->api(POST => '/api/admin/webhooks', token => $atok, body => '{"url":',
    headers => { 'Content-Type' => 'application/json' })->{status}, 400,
    'broken JSON: 400');
is($s->api(PATCH => "/api/admin/webhooks/$all->{id}", token => $atok,
    json => {})->{json}{code}, 'missing_field', 'an empty change');
is($s->api(GET => '/api/admin/webhooks/nope', token => $atok)->{json}{code},
    'invalid_id', 'a bad endpoint id');
is($s->api(POST => "/api/admin/webhooks/$all->{id}/deliveries/x/redeliver",
    token => $atok)->{json}{code}, 'invalid_id', 'a bad delivery id');
is($s->api(POST => "/api/admin/webhooks/$all->{id}/deliveries/999999/"
    . "redeliver", token => $atok)->{json}{code}, 'delivery_not_found',
    'an unknown delivery');
for my $q ('since=-1', 'since=x', 'limit=0', 'limit=1001', 'other=1') {
	is($s->api(GET => "/api/events?$q", token => $atok)->{status}, 400,
	    "events ?$q: 400");
}
my $forged = $c->{download_url} =~ s/hook=[0-9a-f-]+/hook=$done->{id}/r;
is(http(GET => $forged)->{status}, 403,
    'a download link moved to another endpoint does not work');
is($s->api(DELETE => "/api/admin/webhooks/$done->{id}",
    token => $atok)->{status}, 200, 'an endpoint deleted');
is(http(GET => $rx->deliveries('done', accepted => 1)->[-1]{json}{data}
    {download_url})->{status}, 403, '... its links stop working');

# 9. A watching reaper hears of new events and delivers them at once.
$s->start_reaper(name => 'watcher');
$rx->clear('all');
$s->api(DELETE => "/api/admin/recordings/$id2/hold", token => $atok);
$d = $rx->wait_deliveries('all', accepted => 1, timeout => 20)->[0];
is($d->{json}{type}, 'recording.released',
    'a watching reaper delivers without being asked');

$s->finish;
done_testing();
