#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A worker told to go (SIGTERM: the dynamic pool retiring it, a reload, a
# drain) finishes the request it has already accepted.  The test speaks
# FastCGI to the pool's socket itself, so it can stop half-way through a
# request's parameters: the worker has accepted the connection and is
# reading them inside libfcgi when the signal comes.  It must answer, not
# close the connection (nginx would count that as the pool failing).
# And a child that merely has pid 1 for a parent, as under a master that
# is a container's init, must not take it for the master's death.
use strict;
use warnings;
use Test::More;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(spawn wait_for);
use Meetrec::Test::Util qw(slurp);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 1, no_nginx => 1);

# A FastCGI record (version 1, request id 1), padded to 8 bytes.
sub record {
	my ($type, $body) = @_;
	my $pad = (8 - length($body) % 8) % 8;
	return pack('CCnnCC', 1, $type, 1, length $body, $pad, 0)
	    . $body . ("\0" x $pad);
}

# FastCGI name-value pairs: lengths in one byte below 128, else four.
sub nvlen {
	my ($n) = @_;
	return $n < 128 ? chr($n) : pack('N', 0x80000000 | $n);
}

sub nv {
	my (%p) = @_;
	return join '', map { nvlen(length $_) . nvlen(length $p{$_}) . $_
	    . $p{$_} } sort keys %p;
}

# The sockets a process holds, by inode.  libfcgi shuts a finished
# connection down for writing and closes it only when the client has
# closed its end too, so a count of descriptors taken just after a
# request may still include that one: a new connection is a socket the
# worker did not hold before, whatever it has closed since.
sub sockets {
	my ($pid) = @_;
	my %s;
	opendir(my $dh, "/proc/$pid/fd") or return \%s;
	for my $fd (grep { /^\d+$/ } readdir $dh) {
		my $l = readlink("/proc/$pid/fd/$fd") // next;
		$s{$1} = 1 if $l =~ /^socket:\[(\d+)\]$/;
	}
	closedir $dh;
	return \%s;
}

# One whole request over FastCGI; returns what came back on stdout and
# whether the request was ended properly.
sub answer {
	my ($c) = @_;
	my $got = '';
	while (sysread($c, my $buf, 65536)) {
		$got .= $buf;
	}
	close $c;
	my ($stdout, $ended) = ('', 0);
	while (length($got) >= 8) {
		my ($ver, $type, $id, $len, $pad) = unpack('CCnnC', $got);
		last if length($got) < 8 + $len + $pad;
		$stdout .= substr($got, 8, $len) if $type == 6;
		$ended = 1 if $type == 3;
		substr($got, 0, 8 + $len + $pad, '');
	}
	return ($stdout, $ended);
}

sub connect_pool {
	my ($path) = @_;
	my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM,
	    Peer => $path // $s->config->{fcgi_socket}) or die "connect: $!";
	return $c;
}

my $params = nv(MEETREC_ROUTE => 'healthz', REQUEST_METHOD => 'GET',
    REQUEST_URI => '/api/healthz', DOCUMENT_URI => '/api/healthz',
    QUERY_STRING => '', REMOTE_ADDR => '127.0.0.1', REMOTE_PORT => '40000',
    SERVER_PROTOCOL => 'HTTP/1.1', SERVER_NAME => '_', SERVER_PORT => '80',
    CONTENT_TYPE => '', CONTENT_LENGTH => '',
    MEETREC_REQUEST_ID => 'f' x 32);
my $begin = record(1, pack('nCx5', 1, 0));

my ($w) = $s->wait_workers(1);
ok($w, "one worker ($w)");
# A first request, so the worker holds its database connection: from
# now on a socket it did not hold is the next connection it accepts.
my $c = connect_pool();
syswrite($c, $begin . record(4, $params) . record(4, '') . record(5, ''));
my ($out) = answer($c);
like($out, qr/\AStatus: 200\b/, 'a request answered');
my $before = sockets($w);

# FCGI_BEGIN_REQUEST, role responder, no keep-alive; then half the
# parameters.
$c = connect_pool();
my $half = int(length($params) / 2);
syswrite($c, $begin . record(4, substr($params, 0, $half)));
wait_for(sub { grep { !$before->{$_} } keys %{sockets($w)} }, 10,
    'the worker to accept the connection');
ok(kill('TERM', $w), 'the worker is told to go while it reads the request');
# Let the signal land while the worker waits for the rest.
select(undef, undef, undef, 0.2);
syswrite($c, record(4, substr($params, $half)) . record(4, '')
    . record(5, ''));
my ($stdout, $ended) = answer($c);
like($stdout, qr/\AStatus: 200\b/, 'it answers the request (200)')
    or diag("got: $stdout");
like($stdout, qr/"status"\s*:\s*"ok"/, 'with the health body');
ok($ended, 'and ends it properly (FCGI_END_REQUEST)');
wait_for(sub { !kill 0, $w || !-e "/proc/$w" ||
    (-e "/proc/$w/stat" && (split ' ', `cat /proc/$w/stat`)[2] eq 'Z') },
    10, "worker $w to go");
ok(1, 'then it goes');

# The master as pid 1: a second pool in a pid namespace of its own
# (unshare(1), as root), on a socket of its own.  Its children see pid 1
# as their parent, which is their master: they must serve, not go.
SKIP: {
	my ($unshare) = grep { -x } map { "$_/unshare" } split /:/,
	    $ENV{PATH};
	skip 'needs root and unshare(1) for a pid namespace', 4
	    unless $> == 0 && defined $unshare;
	my $d = $s->dir;
	(my $sock = $s->config('fcgi_socket')) =~ s{[^/]+\z}{ns.sock};
	my $pidf = "$d/run/ns.pid";
	my $p = spawn('meetrec-fcgi-ns', [ $unshare, '--pid', '--fork',
	    '--kill-child', Meetrec::Test::Stack::fcgi_bin(), '--config',
	    $s->conf_path ], { %{ $s->_prog_env },
	    MEETREC_FCGI_SOCKET => $sock, MEETREC_PID_FILE => $pidf },
	    $d, cwd => $d);
	# Written once the workers are started: "1", its own pid there.
	wait_for(sub { -S $sock && -s $pidf && slurp($pidf) eq "1\n" }, 20,
	    'the pool in its pid namespace to start');
	my $ok = eval {
		local $SIG{ALRM} = sub { die "no answer in 20 s\n" };
		alarm 20;
		my $c = connect_pool($sock);
		syswrite($c, $begin . record(4, $params) . record(4, '')
		    . record(5, ''));
		my ($got) = answer($c);
		alarm 0;
		$got;
	};
	alarm 0;
	like($ok // $@, qr/\AStatus: 200\b/,
	    'a pool whose master is pid 1 serves') or diag($p->log_content);
	my $log = $p->log_content;
	is(scalar(() = $log =~ /worker pid=\d+ started/g), 1,
	    'with the one worker it started') or diag($log);
	# unshare(1) waits for the master, its child: stop the master.
	my $master;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open(my $fh, '<', $stat) or next;
		my $line = <$fh> // next;
		# "pid (comm) state ppid ...": comm may hold spaces.
		my (undef, $ppid) = split ' ',
		    substr($line, rindex($line, ')') + 1);
		($master) = $stat =~ m{(\d+)} if $ppid == $p->pid;
	}
	ok($master && kill('TERM', $master), 'the master is told to stop');
	$p->wait_exit(timeout => 30);
	is($p->stop, 0, 'it drains and exits 0');
}

$s->finish(respawns => undef);
done_testing();
