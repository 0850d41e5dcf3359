#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The pool's size and its answer to overload, without a load generator
# (slow LiveKit calls keep workers busy): the listen queue is the
# kernel's cap; fcgi_pm = dynamic grows while every worker is busy, up to
# fcgi_workers_max, and retires idle workers after fcgi_idle_timeout
# down to fcgi_workers_min; a request beyond nginx's max_conns gets 503
# at once from the busy responder, with Retry-After and the JSON error
# body, counted by route; a reload brings new limits; ondemand runs no
# worker while idle and starts one for a request that waits;
# check-config says what the kernel and PostgreSQL allow and warns when
# the configuration asks for more.
use strict;
use warnings;
use Test::More;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd wait_for);
use Meetrec::Test::Load;
use Meetrec::Test::Util qw(uuid slurp spew);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 2, max_conns => 6,
    conf => { fcgi_pm => 'dynamic', fcgi_workers_min => 2,
	fcgi_workers_max => 4, fcgi_spare_min => 1, fcgi_spare_max => 4,
	fcgi_idle_timeout => 2, livekit_timeout_ms => 10000 });
my $sock = $s->config('fcgi_socket');
my $cap = slurp('/proc/sys/net/core/somaxconn') =~ s/\s+//gr;

# wait_until($what, $cond, $timeout) - a failed test, not a death.
sub wait_until {
	my ($what, $cond, $timeout) = @_;
	return 1 if eval { wait_for($cond, $timeout // 20, $what) };
	fail("timed out waiting for $what");
	return 0;
}
sub metrics { return Meetrec::Test::Load::metrics($s->url('/metrics')) }
sub nworkers { my @w = $s->worker_pids; return scalar @w }

# Connections waiting in the pool's listen queue, as /proc/net/unix
# lists them: under the socket's path, with no inode of their own yet.
sub queued {
	open my $fh, '<', '/proc/net/unix' or return -1;
	my $n = 0;
	while (<$fh>) {
		my @f = split;
		$n++ if @f >= 8 && $f[7] eq $sock && $f[6] eq '0' &&
		    ($f[5] eq '02' || $f[5] eq '04');
	}
	return $n;
}

# 1. The listen queue and the pool at rest.
like($s->log('pool'),
    qr/pool started pm=dynamic workers=2 min=2 max=4 .* backlog=\Q$cap\E /,
    "the pool listens with the kernel's cap ($cap)");
my $m = metrics();
is($m->{meetrec_pool_listen_queue_max}, $cap, '/metrics shows that cap');
is($m->{meetrec_pool_listen_queue}, 0, 'and nothing waiting');
is($m->{meetrec_pool_workers}, 2, '2 workers');
is("$m->{meetrec_pool_workers_min} $m->{meetrec_pool_workers_max}", '2 4',
    'limits 2 and 4');
ok($s->busy_pid, 'the busy responder runs, apart from the workers');
is(nworkers(), 2, 'and there are 2 workers');

# 2. Slow Starts hold workers: the pool grows to its maximum.
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => "r$_", name => "Room $_", host => $host, company => $co)
    for 1 .. 5;
my $probe = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'r5' });
is($probe->{status}, 201, 'a recording to ask the status of');
my $rid = $probe->{json}{recording_id};
$s->standin(POST => 'mode', { start => 'slow', start_delay_ms => 6000,
    webhooks => 'drop' });
my $out = $s->dir . '/starts';
mkdir $out;
my @kids;
sub start_in_child {
	my ($room) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		my $x = $s->api(POST => '/api/recordings/start', token => $tok,
		    json => { room_code => $room }, timeout => 60);
		spew("$out/$room", $x->{status});
		_exit(0);
	}
	push @kids, $pid;
}
sub starts_seen {
	my $q = $s->standin(GET => 'requests')->{json}{requests} // [];
	return scalar grep { $_->{method} eq 'StartRoomCompositeEgress' } @$q;
}
my $before = starts_seen();
start_in_child("r$_") for 1 .. 3;
wait_until('three Starts at LiveKit', sub { starts_seen() - $before == 3 });
wait_until('the pool at 4 workers', sub { nworkers() == 4 });
$m = metrics();
is($m->{meetrec_pool_workers}, 4, 'three slow requests: the pool grew to '
    . 'fcgi_workers_max (4), one spare for this scrape');
is($m->{meetrec_pool_workers_busy}, 4, 'all four busy (three Starts and '
    . 'this scrape)');
ok($m->{meetrec_pool_grown_total} >= 2, 'growth counted');

# 3. A fourth Start takes the last worker; then two requests wait in the
# listen queue, and nginx has max_conns (6) requests with the pool.  The
# next is answered at once by the busy responder.
start_in_child('r4');
wait_until('a fourth Start at LiveKit', sub { starts_seen() - $before == 4 });
for my $n (1, 2) {
	my $pid = fork() // die;
	if ($pid == 0) {
		my $x = $s->api(GET => "/api/recordings/$rid", token => $tok,
		    timeout => 60);
		spew("$out/details$n", $x->{status});
		_exit(0);
	}
	push @kids, $pid;
}
wait_until('two requests in the listen queue', sub { queued() == 2 });
my $r = $s->api(GET => "/api/recordings/$rid/status", token => $tok);
is($r->{status}, 503, 'a request beyond max_conns: 503');
is($r->{json}{code}, 'unavailable', 'code unavailable');
like($r->{json}{detail} // '', qr/busy/, 'detail: ' . ($r->{json}{detail}
    // ''));
is($r->{headers}{'retry-after'}, 1, 'Retry-After: 1');
like($r->{headers}{'content-type'}, qr{^application/json}, 'JSON');
$r = $s->api(GET => '/api/healthz');
is($r->{status}, 503, 'healthz too, while the pool is full');
is(queued(), 2, 'the queued requests still wait');

waitpid($_, 0) for @kids;
is(join(' ', map { slurp("$out/r$_") } 1 .. 4), '201 201 201 201',
    'the four slow Starts were all answered 201');
is(join(' ', map { slurp("$out/details$_") } 1, 2), '200 200',
    'and the two queued requests 200');
$m = metrics();
is($m->{'meetrec_http_unavailable_total{route="recording_status"}'}, 1,
    'the 503 is counted under its route');
is($m->{'meetrec_http_unavailable_total{route="healthz"}'}, 1,
    'and the other one under its own');
ok($m->{meetrec_pool_max_reached_total} >= 1, 'reaching the maximum '
    . 'counted');
like($s->log('pool'), qr/pool is at fcgi_workers_max \(4 workers/,
    'and logged');
my @errs = grep { /connect\(\) to unix|no live upstreams|\[(?:crit|alert)\]/ }
    split /\n/, $s->log('nginx');
is_deeply(\@errs, [], "nothing about the pool in nginx's error log");

# 4. Idle again: back to fcgi_workers_min after the idle timeout.
wait_until('the pool back at 2 workers', sub { nworkers() == 2 }, 20);
$m = metrics();
is($m->{meetrec_pool_workers}, 2, 'idle: back to 2 workers');
ok($m->{meetrec_pool_retired_total} >= 2, 'retirements counted');
$s->standin(POST => 'mode', { start => 'ok', webhooks => 'normal' });

# 5. A reload with new limits: the pool follows them.
sub set_conf {
	my (%kv) = @_;
	my $text = slurp($s->conf_path);
	for my $k (sort keys %kv) {
		$text =~ s/^\Q$k\E\s*=.*\n//mg;
		$text .= "$k = $kv{$k}\n";
	}
	spew($s->conf_path, $text, 0600);
}
set_conf(fcgi_workers_min => 3, fcgi_workers_max => 5);
$s->reload_pool;
wait_until('3 workers after the reload', sub { nworkers() == 3 });
$m = metrics();
is("$m->{meetrec_pool_workers_min} $m->{meetrec_pool_workers_max}", '3 5',
    'a reload brings the new limits to /metrics');

# 6. ondemand: no worker while idle, one as soon as a request waits.
set_conf(fcgi_pm => 'ondemand', fcgi_workers_min => 0, fcgi_idle_timeout => 1);
$s->reload_pool;
wait_until('no worker at all', sub { nworkers() == 0 });
is(nworkers(), 0, 'ondemand, idle: no worker');
is($s->api(GET => '/api/healthz')->{status}, 200,
    'a request is answered all the same');
$m = metrics();
is($m->{meetrec_pool_workers}, 1, 'by the one worker it started');
wait_until('no worker again', sub { nworkers() == 0 });

# 7. check-config: what the kernel allows, and with --connect what
# PostgreSQL allows.
my $env = $s->_prog_env;
my $admin = Meetrec::Test::Stack::admin_bin();
sub check { return run_cmd([$admin, '--config', $s->conf_path,
    'check-config', '--connect'], env => { %$env, @_ }) }
$r = check();
is($r->{rc}, 0, 'check-config --connect succeeds') or diag($r->{err});
like($r->{out}, qr/^# the pool's listen queue holds \Q$cap\E connections /m,
    'it says how long the listen queue is');
like($r->{out}, qr/^# PostgreSQL lets meetrec open \d+ connections \(max_connections = 100\)/m,
    "and what PostgreSQL allows");
if ($cap >= 1024) {
	is($r->{err}, '', 'no warning');
} else {
	like($r->{err}, qr/fewer than the 1024 nginx lets wait/,
	    'this kernel caps the queue below nginx\'s max_conns: warned');
}
$r = check(MEETREC_FCGI_BACKLOG => $cap + 1);
like($r->{err}, qr/warning: MEETREC_FCGI_BACKLOG: fcgi_backlog: \d+ is above the kernel's cap net\.core\.somaxconn = \Q$cap\E/,
    'a backlog above the cap: warned');
$r = check(MEETREC_FCGI_WORKERS_MAX => 120);
like($r->{err}, qr/warning: MEETREC_FCGI_WORKERS_MAX: fcgi_workers_max: 120, .* PostgreSQL lets meetrec open \d+ \(max_connections = 100/,
    'more workers than PostgreSQL allows: warned');
is($r->{rc}, 0, 'a warning is not a failure');
$r = check(MEETREC_DATABASE_URL => "host=${\ $s->dir}/nowhere dbname=x");
like($r->{err}, qr/database_url: could not connect to PostgreSQL/,
    'a database that does not answer: a problem');
is($r->{rc}, 1, 'which is a failure');
$r = check(MEETREC_FCGI_PM => 'elastic');
is($r->{rc}, 2, 'an unknown fcgi_pm is refused');
like($r->{err}, qr/fcgi_pm must be static, dynamic or ondemand/, 'saying so');

$s->finish;
done_testing();
