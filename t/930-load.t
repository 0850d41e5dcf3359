#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Holding under load: wrk against GET /api/recordings/{id}/status with
# the local stack's defaults (a dynamic pool of 2 to 16 workers, nginx
# letting 1,024 requests wait for it), from 32 to 2,000 connections.
# Up to 1,000 connections every answer is 200 (they queue; p99 grows);
# beyond, only 200 or 503, and every 503 has Retry-After and the JSON
# error body and is counted in /metrics.  No 502, no HTML, no socket
# error on the client's side, nothing in nginx's error log about the
# pool.  The pool grows under the load (the worker count read from
# /metrics), the listen queue shows there, and the pool shrinks back to
# fcgi_workers_min once the load stops, within the idle timeout.  Then
# 500 clients reading a download one byte a second and 500 sending a
# POST body one byte a second hold no worker: the status endpoint's p99
# with them is printed next to its baseline from the same run.  Figures
# are printed, never held against a clock; bench/load.pl draws the full
# curve.  About a minute.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Meetrec::Test::Load;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

# First: it may run this file again with a higher open file limit.
my @why = Meetrec::Test::Load::missing(files => 8192);
Meetrec::Test::Stack::skip_unless(Meetrec::Test::Stack::prereqs_missing(),
    @why);

my $asan = `ldd ${\ Meetrec::Test::Stack::fcgi_bin()} 2>/dev/null`
    =~ /libasan/;
my $D = 3;				# seconds of wrk per step
my @curve = (32, 128, 512, 1000, 1500, 2000);
my $IDLE = 3;				# fcgi_idle_timeout
my $s = Meetrec::Test::Stack->new(workers => 2, max_requests => 10000,
    conf => { fcgi_pm => 'dynamic', fcgi_workers_min => 2,
	fcgi_workers_max => 16, fcgi_idle_timeout => $IDLE,
	log_level => 'warn', livekit_timeout_ms => 10000 });
diag(sprintf 'pool: dynamic, 2 to 16 workers, idle timeout %d s; nginx '
    . 'max_conns 1024; %d cores%s', $IDLE,
    scalar(() = `cat /proc/cpuinfo` =~ /^processor/mg),
    $asan ? '; AddressSanitizer build (same scale, slower workers)' : '');

# A completed recording of 4 MB: its status for the load, its file for
# the slow readers.
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'load',
    ttl => 3600);
my $auth = "Authorization: Bearer $tok";
$s->room(code => 'load', name => 'Load', host => $host, company => $co);
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'load' });
is($r->{status}, 201, 'a recording started') or BAIL_OUT($r->{body});
my $id = $r->{json}{recording_id};
$s->standin(POST => 'mode', { mdat_bytes => 4 * 1024 * 1024 });
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin_idle;
$s->reaper;
my $st = $s->api(GET => "/api/recordings/$id/status", token => $tok);
is($st->{json}{status} // '', 'completed', 'it is completed');
ok(($st->{json}{file_size_bytes} // 0) > 4_000_000, 'its file is 4 MB');

my $murl = $s->url('/metrics');
sub metrics { return Meetrec::Test::Load::metrics($murl) // {} }
sub wrk {
	my ($c, $d) = @_;
	return Meetrec::Test::Load::wrk(url => $s->url(
	    "/api/recordings/$id/status"), connections => $c,
	    duration => $d // $D, headers => [$auth], dir => $s->dir);
}
sub total { my $n = 0; $n += $_ for values %{ $_[0]{status} }; $n }
sub errors { my $n = 0; $n += $_ for values %{ $_[0]{errors} }; $n }

# 1. The curve, after a warm-up in which the pool grows from 2 workers.
# (The stand-in's webhooks may have made it grow a little meanwhile.)
eval { $s->wait_workers(2, 3 * $IDLE + 20) };
my $m0 = metrics();
is($m0->{meetrec_pool_workers}, 2, 'the pool starts with 2 workers');
my ($c503, $maxw, $maxq, @rows) = (0, 0, 0);
for my $c ('warm-up', @curve) {
	my $w = Meetrec::Test::Load::watch($s, name => $c);
	my $x = $c eq 'warm-up' ? wrk(64, 2) : wrk($c);
	if ($c eq 'warm-up') {
		my @samples = $w->stop;
		my $sw = 0;
		$sw < $_->{workers} and $sw = $_->{workers} for @samples;
		$maxw = $sw;
		is($x->{status}{200} // 0, total($x), 'warm-up: every answer '
		    . 'is 200');
		push @rows, sprintf '%11s %9.0f %9.1f %9.1f %7.1f%% %8d %6s',
		    '64 (warm)', $x->{rps}, $x->{p50} // 0, $x->{p99} // 0, 0,
		    $sw, '-';
		next;
	}
	my @samples = $w->stop;
	ok($x->{ok}, "$c connections: wrk ran") or diag($x->{out});
	my ($n, $n503) = (total($x), $x->{status}{503} // 0);
	my @other = sort grep { $_ != 200 && $_ != 503 } keys %{ $x->{status} };
	if ($c <= 1000) {
		is($x->{status}{200} // 0, $n, "$c connections: all $n answers "
		    . 'are 200');
	} else {
		is("@other", '', "$c connections: only 200 and 503 ($n "
		    . "answers, $n503 503s)");
	}
	is(errors($x), 0, "$c connections: no socket errors")
	    or diag(join ' ', %{ $x->{errors} });
	is($x->{bad503}, 0, "$c connections: every 503 has Retry-After and "
	    . '{"detail","code"}');
	is($x->{nonjson}, 0, "$c connections: every answer is JSON")
	    or diag($x->{nonjson_example});
	$c503 += $n503;
	my ($sw, $sq) = (0, 0);
	for (@samples) {
		$sw = $_->{workers} if $_->{workers} > $sw;
		$sq = $_->{queue} if $_->{queue} > $sq;
	}
	$maxw = $sw if $sw > $maxw;
	$maxq = $sq if $sq > $maxq;
	push @rows, sprintf '%11d %9.0f %9.1f %9.1f %7.1f%% %8d %6d',
	    $c, $x->{rps}, $x->{p50} // 0, $x->{p99} // 0,
	    $n ? 100 * $n503 / $n : 0, $sw, $sq;
}
diag(join "\n", 'status endpoint, ' . "$D s per step (workers and queue: "
    . 'the most /metrics showed):',
    'connections     req/s    p50 ms    p99 ms     503s  workers  queue',
    @rows);

my $m1 = metrics();
my $unavail = Meetrec::Test::Load::sum($m1, 'meetrec_http_unavailable_total')
    - Meetrec::Test::Load::sum($m0, 'meetrec_http_unavailable_total');
diag("503s: $c503 seen by wrk, $unavail counted by the pool's busy "
    . 'responder (it also counts answers wrk stopped waiting for)');
ok($unavail >= $c503, 'every 503 wrk saw is counted in /metrics');
ok($unavail - $c503 <= 1500 + 2000, 'and no more than the answers wrk '
    . 'left behind when it stopped (one per connection at most)');
ok($maxw > 2 && $maxw <= 16, "the pool grew under load: up to $maxw "
    . 'workers in /metrics');
ok(($m1->{meetrec_pool_grown_total} // 0) > 0, 'growth counted: '
    . ($m1->{meetrec_pool_grown_total} // 0) . ' workers started');
ok($maxq > 0, "/metrics showed the listen queue: up to $maxq waiting");
my @pool_errors = grep { /connect\(\) to unix|no live upstreams|upstream timed out|worker_connections/ }
    split /\n/, $s->log('nginx');
is(scalar @pool_errors, 0, "nginx's error log has nothing about the pool")
    or diag(join "\n", @pool_errors[0 .. ($#pool_errors < 5 ? $#pool_errors : 5)]);

# 2. The load is over: back to fcgi_workers_min within the idle timeout.
# Waited on through /proc: requests would keep workers from idling.
my $t0 = time;
my $shrunk = eval { $s->wait_workers(2, 3 * $IDLE + 20); 1 };
my $took = time - $t0;
ok($shrunk, sprintf 'the pool shrank back to 2 workers, %.1f s after the '
    . 'load (idle timeout %d s)', $took, $IDLE);
my $m2 = metrics();
is($m2->{meetrec_pool_workers}, 2, '/metrics says 2 workers');
ok(($m2->{meetrec_pool_retired_total} // 0) >= $maxw - 2,
    'retirements counted: ' . ($m2->{meetrec_pool_retired_total} // 0));

# 3. Slow clients hold nginx connections, not workers.  Each measure
# follows a second of the same load, so the pool has grown for both.
sub measure { wrk($_[0], 1); return wrk($_[0]) }
my $base = measure(32);
is($base->{status}{200} // 0, total($base), 'baseline: every answer is 200');
my $slow = Meetrec::Test::Load::slow_clients(port => $s->port,
    readers => 500, read_path => "/api/recordings/$id/download",
    senders => 500, send_path => '/api/recordings/start',
    headers => [$auth], dir => $s->dir);
ok($slow->wait_ready(60), '500 slow readers have their download begun, '
    . '500 slow senders send their body');
my $m3 = metrics();
is($m3->{meetrec_pool_workers_busy}, 1, 'with them connected, the only busy '
    . 'worker is the one answering this scrape');
is($m3->{meetrec_pool_listen_queue}, 0, 'and nothing waits for a worker');
my $with = measure(32);
is($with->{status}{200} // 0, total($with), 'with 1,000 slow clients: every '
    . 'answer is 200');
is(errors($with), 0, 'and no socket errors');
my $rep = $slow->stop;
is($rep->{connect_failed}, 0, 'every slow client connected');
is($rep->{readers_open}, 500, 'the slow readers were still reading at the '
    . 'end (nginx holds them)');
is($rep->{readers_got}, 500, 'each had had bytes of the file');
is($rep->{senders_open}, 500, 'the slow senders were still sending');
is($rep->{senders_answered}, 0, 'none of them had an answer yet');
diag(sprintf 'status p99: %.1f ms baseline, %.1f ms with 500 slow readers '
    . 'and 500 slow senders (p50 %.1f / %.1f ms; %.0f / %.0f req/s)',
    $base->{p99} // 0, $with->{p99} // 0, $base->{p50} // 0,
    $with->{p50} // 0, $base->{rps}, $with->{rps});

$s->finish;
done_testing();
