# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Util - small helpers shared by the test harness: free
# ports, an HTTP client that never dies, JWT minting for forged or expired
# tokens, UUIDs, file slurp/spew.
#
# Core modules only (STYLE.md 4.9).  Nothing here starts a process; see
# Meetrec::Test::Proc for that.

package Meetrec::Test::Util;

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use Errno qw(EINTR);
use Exporter qw(import);
use Fcntl qw(O_WRONLY O_CREAT O_TRUNC);
use File::Basename qw(dirname);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use Time::HiRes ();

our @EXPORT_OK = qw(
	src_root build_root free_port port_open http raw_http watch
	jwt_hs256 b64url b64url_decode json_encode json_decode
	uuid random_bytes random_hex slurp spew
);

# One JSON codec for the whole harness: canonical so that what we sign
# (JWTs, bodies) is reproducible, and allow_nonref for scalar bodies.
my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub json_encode { return $JSON->encode($_[0]) }
sub json_decode { return $JSON->decode($_[0]) }

# The source tree is the parent of t/: this file is t/lib/Meetrec/Test/.
sub src_root {
	my $d = dirname(abs_path(__FILE__));
	return abs_path("$d/../../../..");
}

# Where the binaries were built: MEETREC_BUILDDIR (a VPATH build), else
# the source tree itself.
sub build_root {
	my $b = $ENV{MEETREC_BUILDDIR};
	return (defined $b && $b ne '') ? abs_path($b) // $b : src_root();
}

# A TCP port that was free a moment ago on 127.0.0.1.  There is a window
# between closing it and the real server binding it; nginx-tests and
# PostgreSQL's harness live with the same window.  The kernel hands out
# ephemeral ports in a random order, which keeps parallel tests apart.
# Within one test, a port is never handed out twice: a port chosen for a
# server started later (420's S3 server, after the whole stack) is free
# again until then, and the kernel once gave it to the stand-in too.
my %given;
sub free_port {
	for (1 .. 100) {
		my $s = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => 0,
			Proto     => 'tcp',
			Listen    => 1,
		) or croak "free_port: could not bind 127.0.0.1:0: $!";
		my $port = $s->sockport;
		close $s;
		return $port unless $given{$port}++;
	}
	croak 'free_port: 100 ports in a row were handed out before';
}

# True when something accepts TCP connections on 127.0.0.1:$port.
sub port_open {
	my ($port, $host) = @_;
	my $s = IO::Socket::INET->new(
		PeerAddr => $host // '127.0.0.1',
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => 1,
	);
	return 0 unless $s;
	close $s;
	return 1;
}

# watch("127.0.0.1:$port", sub { my ($answer) = @_; ... }) - every answer
# http() and raw_http() get from that address is passed to the callback
# as { method, target (path and query; undef when the request line of a
# raw request cannot be read), status, headers (lower-case names), body }
# (Meetrec::Test::Stack checks them against the API's description).
# watch("127.0.0.1:$port") stops it.
my %WATCH;

sub watch {
	my ($where, $cb) = @_;
	if ($cb) {
		$WATCH{lc $where} = $cb;
	} else {
		delete $WATCH{lc $where};
	}
	return;
}

sub _watched {
	my ($url, $answer) = @_;
	return unless %WATCH;
	my ($where, $target) = $url =~ m{^https?://([^/?#]+)([^#]*)}i
	    or return;
	my $cb = $WATCH{lc $where} or return;
	$answer->{target} //= $target eq '' ? '/' : $target
	    unless $answer->{unreadable};
	$cb->($answer);
	return;
}

# http($method, $url, \%opt) - one request on a fresh connection.
#
# %opt: headers (hashref), body or raw (bytes sent as they are), json
# (Perl data, encoded and sent as application/json), timeout (seconds,
# default 30).  Unknown options are an error.
#
# Returns { status, reason, headers, body, json, json_error }.  Never dies
# on a non-2xx answer; a connection error is status 599 (HTTP::Tiny) with
# the reason in body.  json holds the decoded body when the answer's
# Content-Type says JSON, else undef.  Redirects are not followed: tests
# want to see them.
sub http {
	my ($method, $url, $opt) = @_;
	$opt //= {};
	my @bad = grep { !/^(?:headers|body|raw|json|timeout|from)$/ }
	    keys %$opt;
	croak "http: unknown option(s) @bad" if @bad;
	$opt = { %$opt, body => $opt->{raw} }
	    if defined $opt->{raw} && !defined $opt->{body};
	my %h = %{ $opt->{headers} // {} };
	my %req = (headers => \%h);

	if (exists $opt->{json}) {
		$req{content} = $JSON->encode($opt->{json});
		$h{'Content-Type'} //= 'application/json'
		    unless grep { lc $_ eq 'content-type' } keys %h;
	} elsif (defined $opt->{body}) {
		$req{content} = $opt->{body};
	}
	my $ua = HTTP::Tiny->new(
		timeout      => $opt->{timeout} // 30,
		max_redirect => 0,
		keep_alive   => 0,
		agent        => 'meetrec-test/1',
		# from => '127.0.0.2': the client's source address.
		(defined $opt->{from} ? (local_address => $opt->{from}) : ()),
	);
	my $r = $ua->request(uc $method, $url, \%req);
	my $res = {
		status  => $r->{status},
		reason  => $r->{reason},
		headers => $r->{headers} // {},
		body    => $r->{content} // '',
		json    => undef,
	};
	my $ct = $res->{headers}{'content-type'} // '';
	$ct = $ct->[0] if ref $ct eq 'ARRAY';
	if ($ct =~ m{[/+]json\b}i && length $res->{body}) {
		my $d = eval { $JSON->decode($res->{body}) };
		if ($@) {
			$res->{json_error} = "$@";
		} else {
			$res->{json} = $d;
		}
	}
	_watched($url, { method => uc $method, status => $res->{status},
	    headers => $res->{headers}, body => $res->{body} });
	return $res;
}

# The first answer in the bytes a server sent back: { status, headers,
# body }, or undef when there is no complete status line.
sub _parse_answer {
	my ($raw) = @_;
	my ($head, $body) = split /\r?\n\r?\n/, $raw, 2;
	return undef unless defined $head && $head =~ s{\AHTTP/1\.[01] (\d{3})[^\n]*\n}{};
	my ($status, %h) = ($1);
	for my $line (split /\r?\n/, $head) {
		my ($k, $v) = $line =~ /^([^:\s]+):\s*(.*?)\s*$/ or next;
		$k = lc $k;
		$h{$k} = exists $h{$k} ? [ ref $h{$k} ? @{ $h{$k} } : $h{$k}, $v ]
		    : $v;
	}
	$body //= '';
	if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
		my $out = '';
		while ($body =~ s/\A([0-9a-fA-F]+)[^\n]*\n//) {
			my $n = hex $1;
			last if $n == 0;
			$out .= substr($body, 0, $n, '');
			$body =~ s/\A\r?\n//;
		}
		$body = $out;
	} elsif (defined $h{'content-length'} && !ref $h{'content-length'}
	    && $h{'content-length'} =~ /^\d+$/) {
		$body = substr($body, 0, $h{'content-length'});
	}
	return { status => $status, headers => \%h, body => $body };
}

# raw_http($port, $bytes, %opt) - write $bytes to 127.0.0.1:$port as they
# are and return everything the server sends back until it closes the
# connection or timeout (default 10 s) passes.  For hostile requests that
# HTTP::Tiny refuses to produce (bad framing, lying Content-Length, bytes
# that are not ASCII in a header).  %opt: host, from (source address),
# timeout, half_close.
sub raw_http {
	my ($port, $bytes, %opt) = @_;
	my $timeout = $opt{timeout} // 10;
	my $s = IO::Socket::INET->new(
		PeerAddr => $opt{host} // '127.0.0.1',
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => $timeout,
		(defined $opt{from} ? (LocalAddr => $opt{from}) : ()),
	) or return undef;
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length $bytes) {
		my $n = syswrite($s, $bytes, length($bytes) - $off, $off);
		last unless defined $n && $n > 0;
		$off += $n;
	}
	shutdown($s, 1) if $opt{half_close};
	my $out = '';
	my $deadline = Time::HiRes::time() + $timeout;
	my $rin = '';
	vec($rin, fileno($s), 1) = 1;
	while ((my $left = $deadline - Time::HiRes::time()) > 0) {
		my $n = select(my $rout = $rin, undef, undef, $left);
		next if $n < 0 && $! == EINTR;
		last if $n <= 0;
		my $got = sysread($s, my $buf, 65536);
		last unless $got;
		$out .= $buf;
	}
	close $s;
	if (%WATCH && (my $a = _parse_answer($out))) {
		my ($m, $t) = $bytes =~ m{\A([A-Z]+) (\S+) HTTP/1\.[01]\r?\n};
		$a->{method} = $m // 'GET';
		$a->{target} = $t;
		$a->{body} = '' if ($m // '') eq 'HEAD';
		_watched('http://' . ($opt{host} // '127.0.0.1') . ":$port/",
		    { %$a, target => $t, unreadable => !defined $t });
	}
	return $out;
}

# URL-safe base64 without padding (RFC 7515 section 2).
sub b64url {
	my $s = encode_base64($_[0], '');
	$s =~ tr{+/}{-_};
	$s =~ s/=+\z//;
	return $s;
}

sub b64url_decode {
	my $s = $_[0];
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return decode_base64($s);
}

# jwt_hs256($secret, \%claims, \%header) - a compact JWS signed with
# HMAC-SHA256.  \%header is merged over {alg => 'HS256', typ => 'JWT'}, so
# a test can lie about alg or add kid; the signature is always HS256,
# except that alg "none" gets an empty signature (the classic forgery).
# Claims are encoded canonically; numbers stay numbers.
sub jwt_hs256 {
	my ($secret, $claims, $header) = @_;
	my %hdr = (alg => 'HS256', typ => 'JWT', %{ $header // {} });
	my $input = b64url($JSON->encode(\%hdr)) . '.'
	    . b64url($JSON->encode($claims // {}));
	my $sig = ($hdr{alg} // '') eq 'none'
	    ? '' : b64url(hmac_sha256($input, $secret));
	return "$input.$sig";
}

# n bytes from the kernel's CSPRNG.
sub random_bytes {
	my ($n) = @_;
	open my $fh, '<:raw', '/dev/urandom'
	    or croak "random_bytes: /dev/urandom: $!";
	my $got = read($fh, my $buf, $n);
	close $fh;
	croak "random_bytes: short read from /dev/urandom"
	    unless defined $got && $got == $n;
	return $buf;
}

sub random_hex { return unpack 'H*', random_bytes($_[0] // 16) }

# A random (version 4) UUID in the usual lower-case form.
sub uuid {
	my @b = unpack 'C16', random_bytes(16);
	$b[6] = ($b[6] & 0x0f) | 0x40;
	$b[8] = ($b[8] & 0x3f) | 0x80;
	my $h = sprintf '%02x' x 16, @b;
	return join '-', substr($h, 0, 8), substr($h, 8, 4),
	    substr($h, 12, 4), substr($h, 16, 4), substr($h, 20, 12);
}

# slurp($path) - the whole file as bytes; dies if it cannot be read.
sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or croak "slurp: $path: $!";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s // '';
}

# spew($path, $content, $mode) - write (truncate) a file.  With $mode the
# file is created with it and chmod'ed to it, so a secret never exists
# with wider permissions, whatever the umask.
sub spew {
	my ($path, $content, $mode) = @_;
	my $m = $mode // 0666;
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_TRUNC, $m)
	    or croak "spew: $path: $!";
	chmod $m, $path or croak "spew: chmod $path: $!" if defined $mode;
	binmode $fh;
	print {$fh} $content or croak "spew: write $path: $!";
	close $fh or croak "spew: close $path: $!";
	return;
}

1;
