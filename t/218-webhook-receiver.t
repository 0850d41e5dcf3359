#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 218-webhook-receiver.t - the Standard Webhooks receiver of the tests
# (t/webhooks/receiver.mjs, verifying with the npm standardwebhooks
# library) driven from Perl with deliveries signed in Perl by hand
# (Meetrec::Test::Receiver::sign: Digest::SHA and MIME::Base64), so that
# the Perl signer and the library are checked against each other before
# either is used to judge meetrec's own webhooks.  The Perl signer first
# reproduces the known answers (the library tests' and a 64-byte-key one
# of ours); then a good delivery
# is accepted and recorded byte for byte; each kind of bad one gets 400
# and is recorded unverified; two secrets make a rotation window; and the
# modes down, status and delay answer as a broken endpoint would.  Last,
# the receiver's own self-test (t/webhooks/selftest.mjs, node:crypto and
# the library's signer) runs too.  No meetrec build and no database are
# needed.  See doc/standard-webhooks.md.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Path qw(make_path remove_tree);
use MIME::Base64 qw(decode_base64 encode_base64);
use Time::HiRes ();
use Meetrec::Test::Receiver qw(sign new_secret);
use Meetrec::Test::Proc qw(wait_for run_cmd);
use Meetrec::Test::Stack ();
use Meetrec::Test::Util qw(build_root http json_encode);

Meetrec::Test::Receiver::require_prereqs();

# ---- the Perl signer against the known answers ---------------------------
# From the library tests of github:standard-webhooks/standard-webhooks:
# libraries/javascript/src/webhook.test.ts ("sign function works", also
# in the Go, Python, Ruby, PHP, Java and C# tests) and
# libraries/rust/src/lib.rs (test_sign); the third is ours.
my @vectors = (
	[ 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
	  'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}',
	  'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' ],
	[ 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
	  'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk', 1649367553,
	  '{"email":"test@example.com","username":"test_user"}',
	  'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=' ],
	# Ours (doc/standard-webhooks.md section 8): a 64-byte key, whose
	# base64 ends in "==" (the case EVP_DecodeBlock gets wrong).
	[ 'whsec_' . encode_base64(join('', map { chr } 0 .. 63), ''),
	  'msg_meetrec_vector64', 1796000000,
	  '{"type":"recording.completed","timestamp":"2026-12-01T10:00:00.000Z",'
	  . '"data":{"recording_id":"0b7e3c5a-6f4e-4c1e-9a53-2f1d8b6c7e90"}}',
	  'v1,v1WCaFSflgc7GZAa6h3fS4Kj9rR1onv142y/4hqjkfs=' ],
);
for my $v (@vectors) {
	is(sign(@$v[0 .. 3]), $v->[4], "Perl signer: known answer for $v->[1]");
}
is(sign('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', @{ $vectors[0] }[1 .. 3]),
    $vectors[0][4], 'the whsec_ prefix is optional');
my $s = new_secret();
like($s, qr{^whsec_[A-Za-z0-9+/]{43}=$}, 'new_secret: whsec_ and padded '
    . 'base64 of 32 bytes');
is(length decode_base64(substr $s, 6), 32, 'which decodes to 32 bytes');

# ---- the receiver ----------------------------------------------------------
my $root = $ENV{MEETREC_TEST_TMPDIR} || build_root() . '/t/tmp_check';
my $dir = "$root/218-webhook-receiver";
remove_tree($dir) if -e $dir;
make_path($dir);
my $rx = Meetrec::Test::Receiver->new(dir => $dir);
ok($rx->port, 'the receiver listens on port ' . $rx->port);

my $secret = new_secret();
my $ep = $rx->add_endpoint(a => $secret);
is_deeply([ @$ep{qw(name path secrets)}, $ep->{mode}{mode} ],
    [ 'a', '/hooks/a', 1, 'ok' ], 'endpoint a');
is($rx->url('a'), 'http://127.0.0.1:' . $rx->port . '/hooks/a', 'its url');

my $n = 0;
# event($skew) - [ id, timestamp (now + $skew s), body ] of a fresh event,
# shaped as the specification recommends; the body has non-ASCII text,
# which is signed and sent as UTF-8.
sub event {
	my ($skew) = @_;
	$n++;
	my $body = json_encode({ type => 'recording.completed',
	    timestamp => '2026-12-01T10:00:00.000Z',
	    data => { recording_id => "rec-$n", title => "R\x{e9}union \x{2713}" } });
	return [ "msg_t218_$n", time + ($skew // 0), $body ];
}

# deliver($name, $event, $sig, %o) - POST the event's body with its
# headers; $sig undef leaves webhook-signature out; o{drop} => header
# leaves that one out, o{body} sends other bytes, o{timeout} for http().
sub deliver {
	my ($name, $e, $sig, %o) = @_;
	my %h = ('webhook-id' => $e->[0], 'webhook-timestamp' => $e->[1],
	    'Content-Type' => 'application/json',
	    'User-Agent' => 'meetrec-t218/1');
	$h{'webhook-signature'} = $sig if defined $sig;
	delete $h{$o{drop}} if $o{drop};
	return http(POST => $rx->url($name), { headers => \%h,
	    raw => $o{body} // $e->[2],
	    (defined $o{timeout} ? (timeout => $o{timeout}) : ()) });
}

sub last_of { my $d = $rx->deliveries($_[0]); return $d->[-1] }

# A good one.
my $e = event();
my $r = deliver(a => $e, sign($secret, @$e));
is($r->{status}, 204, 'a delivery signed in Perl: 204');
my $acc = $rx->deliveries('a', verified => 1, accepted => 1);
is(scalar @$acc, 1, 'one accepted and verified');
my $d = $acc->[0];
is_deeply([ @$d{qw(id timestamp signature content_type user_agent
    answered outcome secret_index)} ], [ $e->[0], "$e->[1]",
    sign($secret, @$e), 'application/json', 'meetrec-t218/1', 204,
    'answered', 0 ], 'its headers, answer and outcome are recorded');
is(decode_base64($d->{body_base64}), $e->[2], 'its exact bytes');
is($d->{json}{data}{title}, "R\x{e9}union \x{2713}", 'and its JSON');
ok(!defined $d->{error}, 'no error');

# Each kind of bad one.
sub refused {
	my ($label, $r, $re) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $d = last_of('a');
	ok($r->{status} == 400 && !$d->{verified} && !$d->{accepted}
	    && $d->{answered} == 400 && ($d->{error} // '') =~ $re,
	    "$label: 400, recorded unverified ($d->{error})")
	    or diag explain { status => $r->{status}, rec => $d };
}
$e = event();
my $good = sign($secret, @$e);
my $tampered = $e->[2] =~ s/rec-/REC-/r;
refused('tampered body', deliver(a => $e, $good, body => $tampered),
    qr/No matching signature/);
refused('a space added to the JSON', deliver(a => $e, $good,
    body => $e->[2] =~ s/^\{/{ /r), qr/No matching signature/);
refused('body sent as Latin-1, signed as UTF-8', deliver(a => $e, $good,
    body => do { my $b = $e->[2]; utf8::decode($b); $b =~ s/\x{2713}/?/;
    utf8::downgrade($b); $b }), qr/No matching signature/);
refused('wrong secret', deliver(a => $e, sign(new_secret(), @$e)),
    qr/No matching signature/);
refused('another id than signed', deliver(a => [ "$e->[0]x",
    @$e[1, 2] ], $good), qr/No matching signature/);
my $stale = event(-600);
refused('timestamp 10 minutes old', deliver(a => $stale,
    sign($secret, @$stale)), qr/too old/);
my $ahead = event(600);
refused('timestamp 10 minutes ahead', deliver(a => $ahead,
    sign($secret, @$ahead)), qr/too new/);
for my $h (qw(webhook-id webhook-timestamp)) {
	refused("no $h", deliver(a => $e, $good, drop => $h),
	    qr/Missing required headers/);
}
refused('no webhook-signature', deliver(a => $e, undef),
    qr/Missing required headers/);
refused('signature without its base64 padding', deliver(a => $e,
    $good =~ s/=+$//r), qr/No matching signature/);
refused('signature without "v1,"', deliver(a => $e, substr($good, 3)),
    qr/No matching signature/);
refused('"v1a," instead of "v1,"', deliver(a => $e, 'v1a' . substr($good, 2)),
    qr/No matching signature/);
refused('timestamp in milliseconds', deliver(a => [ $e->[0],
    $e->[1] * 1000, $e->[2] ], sign($secret, $e->[0], $e->[1] * 1000,
    $e->[2])), qr/too new/);
is(scalar @{ $rx->deliveries('a', verified => 0) }, 14,
    '14 unverified deliveries recorded on a');
is(scalar @{ $rx->deliveries('a', accepted => 1) }, 1,
    'still one accepted');

# Several signatures in the header: one that matches is enough.
my $other = new_secret();
$r = deliver(a => $e, join ' ', sign($other, @$e), $good);
is($r->{status}, 204, 'header with an unknown key\'s signature and the '
    . 'good one: 204');

# A rotation window on the receiving side.
my ($old, $new) = (new_secret(), new_secret());
is($rx->add_endpoint(rot => [ $old, $new ])->{secrets}, 2,
    'endpoint rot with two secrets');
$e = event();
$r = deliver(rot => $e, sign($old, @$e));
$d = last_of('rot');
ok($r->{status} == 204 && $d->{verified} && $d->{secret_index} == 0,
    'signed with the old secret: accepted by secret 0');
$r = deliver(rot => $e, sign($new, @$e));
$d = last_of('rot');
ok($r->{status} == 204 && $d->{verified} && $d->{secret_index} == 1,
    'signed with the new secret: accepted by secret 1');
$r = deliver(rot => $e, sign($other, @$e));
is($r->{status}, 400, 'signed with neither: 400');
# Rotation as the sender does it: both signatures in one header, to an
# endpoint that knows the new secret only.
$rx->add_endpoint(a => $new);
$r = deliver(a => $e, join ' ', sign($old, @$e), sign($new, @$e));
is($r->{status}, 204, 'both signatures in one header, receiver on the new '
    . 'secret: 204');
$rx->add_endpoint(a => $secret);

# ---- modes ---------------------------------------------------------------
$rx->mode(a => mode => 'status', status => 503, body => 'busy',
    headers => { 'Retry-After' => '7' });
$e = event();
$r = deliver(a => $e, sign($secret, @$e));
is_deeply([ @$r{qw(status body)}, $r->{headers}{'retry-after'} ],
    [ 503, 'busy', 7 ], 'mode status 503: its status, body and Retry-After');
$d = last_of('a');
ok($d->{verified} && !$d->{accepted} && $d->{answered} == 503,
    'recorded verified, not accepted');

$rx->mode(a => mode => 'status', status => 410);
$e = event();
$r = deliver(a => $e, sign($secret, @$e));
is($r->{status}, 410, 'mode status 410 Gone');

$rx->mode(a => mode => 'down');
$e = event();
$r = deliver(a => $e, sign($secret, @$e));
is($r->{status}, 599, "mode down: no answer ($r->{body})");
$d = last_of('a');
ok($d->{verified} && !$d->{accepted} && $d->{outcome} eq 'dropped'
    && !defined $d->{answered}, 'recorded verified and dropped');
is($d->{id}, $e->[0], 'with its id');

# delay: the client gives up first (http()'s timeout, in seconds).
$rx->mode(a => delay_ms => 3000);
$e = event();
my $t0 = Time::HiRes::time();
$r = deliver(a => $e, sign($secret, @$e), timeout => 1);
my $took = Time::HiRes::time() - $t0;
ok($r->{status} == 599 && $took < 2.5, sprintf 'delay_ms 3000 with a 1 s '
    . 'client timeout: no answer (%.1f s, %s)', $took, $r->{body});
$d = wait_for(sub { my $x = last_of('a');
    $x->{outcome} eq 'pending' ? 0 : $x }, 10, 'the aborted delivery');
ok($d->{verified} && $d->{outcome} eq 'aborted' && !$d->{accepted},
    'recorded verified and aborted');

# delay: answered late, within the client's patience.
$rx->mode(a => delay_ms => 400, body => 'thanks');
$e = event();
$t0 = Time::HiRes::time();
$r = deliver(a => $e, sign($secret, @$e), timeout => 10);
$took = Time::HiRes::time() - $t0;
ok($r->{status} == 200 && $r->{body} eq 'thanks' && $took >= 0.39,
    sprintf 'delay_ms 400 with a body: 200 after %.2f s', $took);
$d = last_of('a');
ok($d->{accepted} && $d->{answered_ms} - $d->{received_ms} >= 390,
    'recorded accepted, answered late');

$rx->mode('a');
$e = event();
is(deliver(a => $e, sign($secret, @$e))->{status}, 204,
    'mode() alone: back to 204');
is(scalar @{ $rx->wait_deliveries('a', count => 5, accepted => 1) }, 5,
    'wait_deliveries: 5 accepted on a');

# An endpoint nobody made.
$e = event();
$r = deliver(nobody => $e, sign($secret, @$e));
$d = last_of('nobody');
ok($r->{status} == 404 && !$d->{verified} && $d->{error} =~ /no endpoint/,
    'a delivery to an unknown endpoint: 404, recorded');

# Refused control calls croak.
ok(!eval { $rx->mode(a => mode => 'sideways'); 1 }
    && $@ =~ /: 400 /, 'an unknown mode: the helper croaks with the 400');
ok(!eval { $rx->add_endpoint(b => 'whsec_'); 1 } && $@ =~ /: 400 /,
    'an empty secret: refused');

is($rx->clear('rot'), 3, 'clear(rot): 3 forgotten');
ok($rx->clear > 0 && !@{ $rx->deliveries(undef) }, 'clear(): none left');

# Restart on the same port: endpoints are gone, the port is kept.
my $port = $rx->port;
is($rx->stop, 'exit 0', 'stop: SIGTERM, exit 0');
$rx->start;
is($rx->port, $port, 'restarted on the same port');
$e = event();
is(deliver(a => $e, sign($secret, @$e))->{status}, 404,
    'the endpoints did not survive the restart');
is($rx->stop, 'exit 0', 'stopped again');

# The self-test of t/webhooks, which starts a receiver of its own.
my $st = run_cmd([ Meetrec::Test::Stack::_node(),
    Meetrec::Test::Stack::node_script('t/webhooks/selftest.mjs',
    't/webhooks') ], timeout => 120, env => { TMPDIR => $dir });
my @bad = grep { /^not ok/ } split /\n/, $st->{out};
ok($st->{rc} == 0 && !@bad && $st->{out} =~ /^1\.\.(\d+)$/m && $1 > 50,
    't/webhooks/selftest.mjs passes' . ($st->{out} =~ /^1\.\.(\d+)$/m
    ? " ($1 checks)" : '')) or diag("$st->{out}$st->{err}");

if (Test::More->builder->is_passing && !$ENV{MEETREC_TEST_LEAVE}) {
	remove_tree($dir);
} else {
	diag("artefacts kept in $dir");
}
done_testing;
