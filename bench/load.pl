#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The load curve of the status endpoint, run on demand:
#   perl bench/load.pl [--duration 10] [--connections 32,64,...,2000]
#       [--pm dynamic] [--min 2] [--max 16] [--max-conns 1024]
#       [--idle-timeout 10] [--slow 500]
# Brings up a private stack (as bench/http.pl does) with the pool and
# nginx configured as shipped unless told otherwise, then drives
# GET /api/recordings/{id}/status with wrk at each number of connections
# and prints connections -> requests/s, p50, p99, the share of 503s, and
# the most workers and listen queue /metrics showed meanwhile.  Every
# answer is checked (status, JSON, Retry-After on 503s) as in
# t/930-load.t.  Then how long the pool takes to shrink back, and the
# status endpoint's p50/p99 alone and next to --slow clients reading a
# download and as many sending a POST body, one byte a second.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Getopt::Long;
use Time::HiRes qw(time);
use Meetrec::Test::Load;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp);

my %o = (duration => 10, connections =>
    '32,64,128,256,512,768,1000,1250,1500,2000', pm => 'dynamic', min => 2,
    max => 16, 'max-conns' => 1024, 'idle-timeout' => 10, slow => 500);
GetOptions(\%o, 'duration=i', 'connections=s', 'pm=s', 'min=i', 'max=i',
    'max-conns=i', 'idle-timeout=i', 'slow=i')
    or die "usage: bench/load.pl [--duration s] [--connections a,b,...] "
    . "[--pm p] [--min n] [--max n] [--max-conns n] [--idle-timeout s] "
    . "[--slow n]\n";
my @curve = split /,/, $o{connections};
my $top = 0;
$top < $_ and $top = $_ for @curve;
$ENV{MEETREC_BUILDDIR} //= "$FindBin::Bin/../build/default";
my @miss = (Meetrec::Test::Load::missing(files => $top + 2 * $o{slow}
    + $o{'max-conns'} + 1024), Meetrec::Test::Stack::prereqs_missing());
die "bench: @miss\n" if @miss;

$| = 1;
my $s = Meetrec::Test::Stack->new(name => 'bench-load', workers => $o{min},
    max_requests => 10000, max_conns => $o{'max-conns'},
    conf => { fcgi_pm => $o{pm}, fcgi_workers_min => $o{min},
	fcgi_workers_max => $o{max}, fcgi_idle_timeout => $o{'idle-timeout'},
	log_level => 'warn', livekit_timeout_ms => 10000 });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'bench',
    ttl => 7200);
my $auth = "Authorization: Bearer $tok";
$s->room(code => 'bench', name => 'Bench', host => $host, company => $co);
my $id = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'bench' })->{json}{recording_id};
$s->standin(POST => 'mode', { mdat_bytes => 4 * 1024 * 1024 });
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin_idle;
$s->reaper;
die "bench: the recording did not complete\n" unless ($s->api(GET =>
    "/api/recordings/$id/status", token => $tok)->{json}{status} // '')
    eq 'completed';
my $murl = $s->url('/metrics');

sub run {
	my ($c, $d) = @_;
	return Meetrec::Test::Load::wrk(url => $s->url(
	    "/api/recordings/$id/status"), connections => $c,
	    duration => $d // $o{duration}, headers => [$auth],
	    dir => $s->dir);
}

sub row {
	my ($label, $x, $w, $q) = @_;
	my ($n, $bad) = (0, 0);
	$n += $_ for values %{ $x->{status} };
	$bad += $x->{status}{$_} for grep { $_ != 200 && $_ != 503 }
	    keys %{ $x->{status} };
	my $err = 0;
	$err += $_ for values %{ $x->{errors} };
	my $line = sprintf "%11s %9.0f %9.1f %9.1f %7.1f%% %8s %6s %s", $label,
	    $x->{rps}, $x->{p50} // 0, $x->{p99} // 0,
	    $n ? 100 * ($x->{status}{503} // 0) / $n : 0, $w // '-', $q // '-',
	    join(' ', ($bad ? "other statuses: $bad" : ()),
	    ($x->{nonjson} ? "not JSON: $x->{nonjson}" : ()),
	    ($x->{bad503} ? "503 without Retry-After or body: $x->{bad503}"
	    : ()), ($err ? "socket errors: $err" : ()));
	$line =~ s/\s+$//;
	print "$line\n";
}

printf "pool %s, %d to %d workers, idle timeout %d s; nginx max_conns %d; "
    . "%d s per step; %d cores\n", $o{pm}, $o{min}, $o{max},
    $o{'idle-timeout'}, $o{'max-conns'}, $o{duration},
    scalar(() = slurp('/proc/cpuinfo') =~ /^processor/mg);
printf "%11s %9s %9s %9s %8s %8s %6s\n", 'connections', 'req/s', 'p50 ms',
    'p99 ms', '503s', 'workers', 'queue';
row('warm-up', run(64, 2));
for my $c (@curve) {
	my $w = Meetrec::Test::Load::watch($s, name => $c);
	my $x = run($c);
	my ($mw, $mq) = (0, 0);
	for ($w->stop) {
		$mw = $_->{workers} if $_->{workers} > $mw;
		$mq = $_->{queue} if $_->{queue} > $mq;
	}
	row($c, $x, $mw, $mq);
}

my $t0 = time;
my $min = $o{pm} eq 'static' ? undef : $o{min};
if (defined $min && eval { $s->wait_workers($min,
    3 * $o{'idle-timeout'} + 30); 1 }) {
	printf "the pool was back at %d workers %.1f s after the load\n",
	    $min, time - $t0;
}
my $m = Meetrec::Test::Load::metrics($murl) // {};
printf "503s counted by the busy responder: %d; workers started to grow "
    . "%d, retired %d\n",
    Meetrec::Test::Load::sum($m, 'meetrec_http_unavailable_total'),
    $m->{meetrec_pool_grown_total} // 0, $m->{meetrec_pool_retired_total}
    // 0;

if ($o{slow}) {
	# Each after a second of the same load: the pool has grown for both.
	run(32, 1);
	row('32 alone', run(32));
	my $slow = Meetrec::Test::Load::slow_clients(port => $s->port,
	    readers => $o{slow}, read_path => "/api/recordings/$id/download",
	    senders => $o{slow}, send_path => '/api/recordings/start',
	    headers => [$auth], dir => $s->dir);
	$slow->wait_ready(60);
	$m = Meetrec::Test::Load::metrics($murl) // {};
	printf "%d slow readers and %d slow senders connected: %s workers "
	    . "busy (this scrape's included), %s requests waiting\n",
	    $o{slow}, $o{slow}, $m->{meetrec_pool_workers_busy} // '?',
	    $m->{meetrec_pool_listen_queue} // '?';
	run(32, 1);
	row('32 + slow', run(32));
	my $r = $slow->stop;
	printf "slow clients at the end: %d of %d readers and %d of %d "
	    . "senders still connected\n", $r->{readers_open} // 0, $o{slow},
	    $r->{senders_open} // 0, $o{slow};
}
$s->shutdown;
