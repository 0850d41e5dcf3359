#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The pool under stress: a second meetrec-fcgi on the same socket is
# refused and leaves the pool alone, a worker killed with SIGKILL is
# replaced, workers recycle after max_requests, SIGHUP reloads,
# PostgreSQL restarting under the pool costs no more than the requests
# in flight, and SIGTERM drains: a request in progress still gets its
# answer.
use strict;
use warnings;
use Test::More;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(slurp uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 2, max_requests => 20,
    conf => { livekit_timeout_ms => 10000 });

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'pool', name => 'Pool', host => $host, company => $co);

sub wait_for {
	my ($what, $cond) = @_;
	my $end = time + 20;
	while (time < $end) {
		return 1 if $cond->();
		sleep 0.05;
	}
	fail("timed out waiting for $what");
	return 0;
}

is($s->api(GET => '/api/healthz')->{status}, 200, 'healthy');

# A second start with the same configuration while the pool runs: it
# refuses, and the pool keeps its sockets, its pid file and its work.
my $sock = $s->config('fcgi_socket');
my @socks = ($sock, "$sock.busy");
my @ino = map { (lstat $_)[1] // 'none' } @socks;
my $second = run_cmd([ Meetrec::Test::Stack::fcgi_bin(), '--config',
    $s->conf_path ], env => $s->_prog_env, cwd => $s->dir, timeout => 15);
is($second->{rc}, 1, 'a second meetrec-fcgi on the same socket exits 1');
like($second->{err},
    qr/'\Q$sock\E' is in use: another meetrec-fcgi listens there/,
    'and says the socket is in use') or diag($second->{err});
is_deeply([ map { (lstat $_)[1] // 'none' } @socks ], \@ino,
    'the pool\'s sockets are still there, the same files');
is(slurp($s->config('pid_file')), $s->pool_pid . "\n",
    'the pid file still names the pool');
is($s->api(GET => '/api/healthz')->{status}, 200, 'and the pool serves');

# SIGKILL a worker: the master replaces it.
my @before = $s->worker_pids;
is(scalar @before, 2, 'two workers');
kill 'KILL', $before[0];
wait_for('a replacement worker', sub {
	my @now = $s->worker_pids;
	@now == 2 && !grep { $_ == $before[0] } @now;
});
my $log = $s->log('pool');
like($log, qr/exited on signal 9, respawn/, 'the master logged the respawn');
my $ok = 0;
$ok += $s->api(GET => '/api/healthz')->{status} == 200 for 1 .. 10;
is($ok, 10, 'every request after the kill succeeded');

# A worker that cannot accept (no descriptor left: its open file limit
# is lowered under it to its lowest free descriptor) says why and exits
# 5, a failure: the master replaces it, and the connection it could not
# take is served by the next worker.
SKIP: {
	skip 'no prlimit(1)', 5 unless grep { -x "$_/prlimit" }
	    split /:/, $ENV{PATH};
	my @full = $s->worker_pids;
	for my $w (@full) {
		opendir my $dh, "/proc/$w/fd" or die "/proc/$w/fd: $!";
		my %open = map { $_ => 1 } grep { /^\d+$/ } readdir $dh;
		closedir $dh;
		my $free = 0;
		$free++ while $open{$free};
		system('prlimit', "--pid=$w", "--nofile=$free:$free") == 0
		    or die "prlimit $w failed";
	}
	my @st;
	wait_for('the workers without descriptors to exit', sub {
		push @st, $s->api(GET => '/api/healthz')->{status};
		my %now = map { $_ => 1 } $s->worker_pids;
		!grep { $now{$_} } @full;
	});
	is_deeply([ grep { $_ != 200 } @st ], [],
	    scalar(@st) . ' requests meanwhile, every one answered 200');
	my $l = $s->log('pool');
	is(scalar(() = $l =~ /could not accept: Too many open files/g),
	    2, 'each worker logged why it could not accept');
	is(scalar(() = $l =~ /worker pid=\d+ exited with status 5, respawn/g),
	    2, 'and exited 5: the master counted a failure');
	$s->wait_workers;
	is($s->api(GET => '/api/healthz')->{status}, 200,
	    'the new workers serve');
	like($s->api(GET => '/metrics')->{body},
	    qr/^meetrec_pool_worker_restarts_total\{reason="died"\} 3$/m,
	    'the deaths are counted: the SIGKILL and the two');
}

# Recycling: 60 requests through 2 workers of 20 requests each.
my %pids = map { $_ => 1 } $s->worker_pids;
$ok = 0;
$ok += $s->api(GET => '/api/recordings/', token => $tok)->{status} == 200
    for 1 .. 60;
is($ok, 60, '60 requests across recycles all succeeded');
my @after = $s->worker_pids;
ok(!grep({ $pids{$_} } @after), 'all workers were recycled');

# PostgreSQL restarts: the next requests succeed.
$s->restart_pg;
my @st = map { $s->api(GET => '/api/recordings/', token => $tok)->{status} }
    1 .. 6;
is_deeply(\@st, [(200) x 6], 'requests after a PostgreSQL restart succeed')
    or diag("@st");
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'pool' });
is($r->{status}, 201, 'a start after the restart works');
my $id = $r->{json}{recording_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });

# SIGHUP: a new generation of workers, service uninterrupted.
%pids = map { $_ => 1 } $s->worker_pids;
kill 'HUP', $s->pool_pid;
wait_for('reloaded workers', sub {
	my @now = $s->worker_pids;
	@now == 2 && !grep { $pids{$_} } @now;
});
like($s->log('pool'), qr/reloaded configuration/, 'reload logged');
is($s->api(GET => '/api/healthz')->{status}, 200, 'healthy after reload');

# Drain: a stop that LiveKit answers slowly is in flight when SIGTERM
# arrives; it still gets its answer.  The webhooks that stop sets off
# would reach a pool that has stopped by then: LiveKit is told to drop
# them, so nginx has no stopped upstream to complain about.
$s->standin(POST => '/_standin/mode', { stop => 'slow',
    stop_delay_ms => 1500, webhooks => 'drop' });
my $out = $s->dir . '/drain.out';
my $pid = fork() // die;
if ($pid == 0) {
	my $x = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	open(my $fh, '>', $out) or _exit(1);
	print $fh $x->{status};
	close $fh;
	_exit(0);
}
wait_for('the stop to reach LiveKit', sub {
	my $q = $s->standin(GET => '/_standin/requests')->{json};
	grep { $_->{method} eq 'StopEgress' }
	    @{ ref $q eq 'HASH' ? $q->{requests} : $q };
});
kill 'TERM', $s->pool_pid;
waitpid($pid, 0);
open(my $fh, '<', $out);
my $status = <$fh> // '';
is($status, '202', 'the request in flight during SIGTERM was answered');

# The SIGKILL and the two workers that could not accept.
$s->finish(respawns => 3);
done_testing();
