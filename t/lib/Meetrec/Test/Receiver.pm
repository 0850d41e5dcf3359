# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Receiver - a Standard Webhooks receiver for one test:
# t/webhooks/receiver.mjs on 127.0.0.1, which checks every delivery with
# the specification's own JavaScript library (npm standardwebhooks) and
# records it.  It needs node and the npm packages of t/webhooks, nothing
# of meetrec's build and no database.
#
#	use Meetrec::Test::Receiver;
#	Meetrec::Test::Receiver::require_prereqs();
#	my $rx = Meetrec::Test::Receiver->new(dir => "$d/receiver");
#	my $secret = Meetrec::Test::Receiver::new_secret();
#	$rx->add_endpoint(a => $secret);	# or [ $old, $new ]
#	... meetrec delivers to $rx->url('a') ...
#	my $got = $rx->wait_deliveries('a', count => 1, accepted => 1);
#	$rx->mode(a => mode => 'status', status => 503);
#	$rx->stop;
#
# The port is picked at the first start and kept across stop()/start();
# endpoints and deliveries live in the receiver's memory and are gone
# after a restart.  Files under dir: port, receiver.log (one line per
# request) and log/receiver.log (its stdout and stderr).
#
# sign() and new_secret() are the scheme written out in Perl (Digest::SHA,
# MIME::Base64), independent of the npm library, so that a test can sign
# deliveries itself or check a signature it captured.  See
# doc/standard-webhooks.md.

package Meetrec::Test::Receiver;

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha256_base64);
use Exporter qw(import);
use File::Path qw(make_path);
use MIME::Base64 qw(encode_base64 decode_base64);

use Meetrec::Test::Stack ();
use Meetrec::Test::Proc qw(spawn wait_for);
use Meetrec::Test::Util qw(http random_bytes slurp);

our @EXPORT_OK = qw(sign new_secret);

my $OWNER = $$;

# prereqs_missing() - why the receiver cannot run; empty when it can.
sub prereqs_missing {
	return Meetrec::Test::Stack::node_missing('t/webhooks/receiver.mjs',
	    't/webhooks', 'standardwebhooks');
}

# require_prereqs() - skip_all (or BAIL_OUT with MEETREC_TEST_REQUIRE_ALL)
# when the receiver cannot run.
sub require_prereqs {
	return Meetrec::Test::Stack::skip_unless(prereqs_missing());
}

# new_secret($bytes) - a fresh secret as Standard Webhooks serialises it:
# "whsec_" and the standard, padded base64 of $bytes (default 32; the
# specification asks for 24 to 64) random bytes.
sub new_secret {
	my ($n) = @_;
	return 'whsec_' . encode_base64(random_bytes($n // 32), '');
}

# sign($secret, $id, $timestamp, $body) - "v1,<signature>": HMAC-SHA256
# over "$id.$timestamp.$body" with the key decoded from $secret (base64,
# after an optional "whsec_"), in standard base64 with its padding.
# $body is bytes; a character string is signed as its UTF-8.
sub sign {
	my ($secret, $id, $ts, $body) = @_;
	(my $b64 = $secret) =~ s/^whsec_//;
	croak 'sign: the secret is not base64'
	    unless $b64 =~ m{^[A-Za-z0-9+/]+={0,2}$};
	my $key = decode_base64($b64);
	croak 'sign: empty key' unless length $key;
	utf8::encode($body) if utf8::is_utf8($body);
	my $sig = hmac_sha256_base64("$id.$ts.$body", $key);
	# Digest::SHA leaves the padding off; the header carries it.
	$sig .= '=' while length($sig) % 4;
	return "v1,$sig";
}

# new(dir => DIR, port => N, host => '127.0.0.1') - start it and wait for
# its port file.
sub new {
	my ($class, %o) = @_;
	croak 'Receiver: dir is required' unless $o{dir};
	my $self = bless {
		dir   => $o{dir},
		port  => $o{port} // 0,
		host  => $o{host} // '127.0.0.1',
		owner => $$,
	}, $class;
	make_path("$self->{dir}/log");
	$self->start;
	return $self;
}

sub start {
	my ($self) = @_;
	croak 'Receiver: already running'
	    if $self->{proc} && $self->{proc}->alive;
	my $d = $self->{dir};
	my $pf = "$d/port";
	unlink $pf;
	my $node = Meetrec::Test::Stack::_node()
	    or croak 'Receiver: node not found';
	my $p = spawn('receiver', [ $node,
	    Meetrec::Test::Stack::node_script('t/webhooks/receiver.mjs',
	    't/webhooks'), '--port', $self->{port}, '--port-file', $pf,
	    '--host', $self->{host}, '--log', "$d/receiver.log" ], {}, $d,
	    cwd => $d);
	$self->{proc} = $p;
	$self->{port} = wait_for(sub {
		die 'Receiver: it exited (' . $p->describe . "):\n"
		    . $p->log_content . "\n" unless $p->alive;
		return 0 unless -s $pf;
		my $n = slurp($pf) =~ s/\s+//gr;
		return $n =~ /^\d+$/ ? $n : 0;
	}, 30, "the webhook receiver's port file $pf");
	return $self;
}

# stop(sig => 'TERM') - returns "exit N" / "signal N" as Proc describes.
sub stop {
	my ($self, %o) = @_;
	return undef unless $self->{proc};
	$self->{proc}->stop(sig => $o{sig} // 'TERM', timeout => 10);
	return $self->{proc}->describe;
}

# What we started goes with us (Proc's END guard catches the rest).
sub DESTROY {
	my ($self) = @_;
	return if $$ != $OWNER || ($self->{owner} // 0) != $$;
	local ($?, $!, $@);
	eval { $self->{proc}->stop(timeout => 5)
	    if $self->{proc} && $self->{proc}->alive };
}

sub proc { return $_[0]{proc} }
sub port { return $_[0]{port} }
sub dir  { return $_[0]{dir} }
sub base { return "http://$_[0]{host}:$_[0]{port}" }

# url($name) - where deliveries to endpoint $name go.
sub url { return $_[0]->base . "/hooks/$_[1]" }

sub log { return -e "$_[0]{dir}/receiver.log"
    ? slurp("$_[0]{dir}/receiver.log") : '' }

sub _ctl {
	my ($self, $method, $path, $json, @ok) = @_;
	my $r = http($method, $self->base . $path,
	    defined $json ? { json => $json } : {});
	croak "Receiver: $method $path: $r->{status} $r->{body}"
	    unless grep { $r->{status} == $_ } @ok;
	return $r->{json};
}

# add_endpoint($name, $secret) or add_endpoint($name, [ @secrets ]) -
# deliveries to url($name) are verified with $secret, or with each of
# @secrets in turn (a rotation window).  Again with the same name: new
# secrets, same mode.  Returns { name, path, secrets (a count), mode }.
sub add_endpoint {
	my ($self, $name, $secret) = @_;
	return $self->_ctl(POST => '/_receiver/endpoints', { name => $name,
	    ref $secret eq 'ARRAY' ? (secrets => $secret)
	    : (secret => $secret) }, 200, 201);
}

# mode($name, mode => 'ok'|'status'|'down', status => N, delay_ms => N,
# body => TEXT, headers => { ... }) - how url($name) answers from now on;
# keys left out take their defaults (ok, 2xx, no delay).  mode($name)
# alone is back to the default.  Returns the endpoint's description.
sub mode {
	my ($self, $name, %o) = @_;
	return $self->_ctl(POST => "/_receiver/endpoints/$name/mode", \%o,
	    200);
}

# deliveries($name, verified => 0|1, accepted => 0|1, id => ID) - the
# deliveries recorded for endpoint $name (undef: all), in the order
# received, as an array ref of hashes (see t/webhooks/README.md).
sub deliveries {
	my ($self, $name, %f) = @_;
	my %q = (%f, defined $name ? (name => $name) : ());
	my $qs = join '&', map {
		my $v = $q{$_};
		$v = $v ? 1 : 0 if $_ eq 'verified' || $_ eq 'accepted';
		"$_=" . ($v =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ger)
	} sort keys %q;
	return $self->_ctl(GET => "/_receiver/deliveries?$qs", undef, 200);
}

# wait_deliveries($name, count => N, timeout => S, %filters) - poll until
# at least N (default 1) deliveries match; returns them.  Dies at the
# deadline (default 30 s).
sub wait_deliveries {
	my ($self, $name, %o) = @_;
	my $count = delete $o{count} // 1;
	my $timeout = delete $o{timeout} // 30;
	my $got;
	wait_for(sub {
		$got = $self->deliveries($name, %o);
		return @$got >= $count;
	}, $timeout, "$count deliveries to " . ($name // 'any endpoint'));
	return $got;
}

# clear($name) - forget the deliveries to $name (undef: all); returns how
# many were forgotten.
sub clear {
	my ($self, $name) = @_;
	my $q = defined $name ? "?name=$name" : '';
	return $self->_ctl(DELETE => "/_receiver/deliveries$q", undef,
	    200)->{cleared};
}

1;
