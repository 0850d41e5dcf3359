#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# HTTP benchmark of the request path, run on demand:
#   perl bench/http.pl [--duration 10] [--connections 16] [--workers 2]
# Brings up a private stack (PostgreSQL, the pool, nginx, the LiveKit
# stand-in) in build/<flavour>/t/tmp_check/bench, makes some recordings
# (one completed and shared), then drives each endpoint with wrk and prints requests/s, p50 and p99
# latency, next to a baseline measured in the same run: nginx serving a
# small static file with no FastCGI behind it.  Ends with the peak RSS
# of every pool process.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Getopt::Long;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp);

my %o = (duration => 10, connections => 16, workers => 2, threads => 2);
GetOptions(\%o, 'duration=i', 'connections=i', 'workers=i', 'threads=i')
    or die "usage: bench/http.pl [--duration s] [--connections n] "
    . "[--workers n] [--threads n]\n";
$ENV{MEETREC_BUILDDIR} //= "$FindBin::Bin/../build/default";
system('command -v wrk >/dev/null') == 0
    or die "bench: wrk is needed (Debian package wrk)\n";
my @miss = Meetrec::Test::Stack::prereqs_missing();
die "bench: @miss\n" if @miss;

my $s = Meetrec::Test::Stack->new(name => 'bench', workers => $o{workers},
    max_requests => 1_000_000, conf => { log_level => 'warn' });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'bench',
    ttl => 3600);
my $id;
for my $i (1 .. 20) {
	$s->room(code => "b$i", name => "Bench $i", host => $host,
	    company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => "b$i" });
	$id //= $r->{json}{recording_id};
}

# One recording completed and shared, for the watching endpoints.
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin_idle;
$s->reaper;
my $rec = $s->api(GET => "/api/recordings/$id", token => $tok)->{json};
die "bench: the recording did not complete\n"
    unless ($rec->{status} // '') eq 'completed';
(my $dl = $rec->{download_url}) =~ s{^https?://[^/]+}{};
my $share = $s->api(POST => "/api/recordings/$id/shares", token => $tok,
    json => { expires_in => 3600 })->{json};
(my $shared = $share->{url}) =~ s{^https?://[^/]+}{};

sub wrk {
	my ($path, @hdr) = @_;
	my $cmd = sprintf "wrk -t%d -c%d -d%ds --latency %s '%s' 2>&1",
	    $o{threads}, $o{connections}, $o{duration},
	    join(' ', map { "-H '$_'" } @hdr), $s->url($path);
	my $out = `$cmd`;
	my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
	my %lat;
	while ($out =~ /^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$/mg) {
		$lat{$1} = $2 * { us => 0.001, ms => 1, s => 1000 }->{$3};
	}
	my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
	return { rps => $rps // 0, p50 => $lat{50} // 0, p99 => $lat{99} // 0,
	    errors => $non2xx // 0 };
}

my $auth = "Authorization: Bearer $tok";
my @runs = (
	[ 'baseline: nginx static file', '/' ],
	[ 'GET /api/healthz', '/api/healthz' ],
	[ 'GET /api/recordings/{id}/status', "/api/recordings/$id/status",
	    $auth ],
	[ 'GET /api/recordings/?limit=20', '/api/recordings/?limit=20', $auth ],
	[ 'GET /api/recordings/{id} (audited)', "/api/recordings/$id",
	    $auth ],
	[ 'signed download (X-Accel, 15 KB)', $dl ],
	# One address: past nginx's 10 a second and its burst, 429s.
	[ 'GET /r/{token} (nginx-limited)', $shared ],
	[ 'GET /metrics', '/metrics' ],
);
printf "%d pool workers, %d connections, %d s each, %d cores\n",
    $o{workers}, $o{connections}, $o{duration},
    scalar(() = slurp('/proc/cpuinfo') =~ /^processor/mg);
printf "%-36s %10s %9s %9s %8s %7s\n", 'endpoint', 'req/s', 'p50 ms',
    'p99 ms', 'non-2xx', 'vs base';
my $base;
for my $run (@runs) {
	my ($name, $path, @h) = @$run;
	my $r = wrk($path, @h);
	$base //= $r->{rps} || 1;
	printf "%-36s %10.0f %9.2f %9.2f %8d %6.0f%%\n", $name, $r->{rps},
	    $r->{p50}, $r->{p99}, $r->{errors}, 100 * $r->{rps} / $base;
}
my @rss;
for my $pid ($s->pool_pid, $s->worker_pids) {
	my $st = eval { slurp("/proc/$pid/status") } // next;
	push @rss, $1 if $st =~ /VmHWM:\s+(\d+) kB/;
}
printf "peak RSS of the pool: %s (KiB, master first)\n", join(' ', @rss);
$s->shutdown;
