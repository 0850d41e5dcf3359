# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Load - load against a stack, for t/930-load.t and
# bench/load.pl:
#
#	my @why = Meetrec::Test::Load::missing(files => 8192);
#	my $r = Meetrec::Test::Load::wrk(url => $s->url($path),
#	    connections => 1000, duration => 3, headers => [$auth],
#	    dir => $s->dir);
#	# $r->{status}{200}, $r->{status}{503}, $r->{bad503}, $r->{nonjson},
#	# $r->{errors}{connect|read|write|timeout}, $r->{rps}, p50, p99 (ms)
#	my $w = Meetrec::Test::Load::watch($s);   # /metrics, 4 times a second
#	my @samples = $w->stop;
#	my $slow = Meetrec::Test::Load::slow_clients(port => $s->port, ...);
#	my $report = $slow->stop;
#
# wrk (Debian's package) runs with a Lua script that looks at every
# answer: it counts statuses, and answers that are not JSON, and 503s
# without Retry-After or without {"detail","code"}.  It runs under sh
# with the open file limit raised for its connections.  Helpers fork
# children that leave with POSIX::_exit, so the stack's guards stay with
# the test.

package Meetrec::Test::Load;

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR EINPROGRESS EWOULDBLOCK);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use HTTP::Tiny;
use POSIX ();
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_RCVBUF inet_aton
    pack_sockaddr_in);
use Time::HiRes ();

use Meetrec::Test::Util qw(slurp spew);

my $LUA = <<'EOF';
-- Written by Meetrec::Test::Load: look at every answer.
local threads = {}
function setup(thread)
	table.insert(threads, thread)
end
function init(args)
	statuses = {}
	bad503 = 0
	nonjson = 0
	example = ""
end
function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
	local ct = headers["Content-Type"] or headers["content-type"] or ""
	if not string.find(ct, "application/json", 1, true) then
		nonjson = nonjson + 1
		if example == "" then
			example = status .. " " .. ct
		end
	end
	if status == 503 then
		local ra = headers["Retry-After"] or headers["retry-after"]
		if not ra or not string.find(body, '"detail":"', 1, true)
		    or not string.find(body, '"code":"', 1, true) then
			bad503 = bad503 + 1
		end
	end
end
function done(summary, latency, requests)
	local total, b, nj, ex = {}, 0, 0, ""
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("statuses")) do
			total[k] = (total[k] or 0) + v
		end
		b = b + t:get("bad503")
		nj = nj + t:get("nonjson")
		if ex == "" then ex = t:get("example") end
	end
	io.write("MEETREC statuses")
	for k, v in pairs(total) do
		io.write(string.format(" %d=%d", k, v))
	end
	io.write(string.format("\nMEETREC bad503=%d nonjson=%d\n", b, nj))
	io.write(string.format("MEETREC latency p50=%.3f p99=%.3f max=%.3f\n",
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency.max / 1000))
	local e = summary.errors
	io.write(string.format("MEETREC errors connect=%d read=%d write=%d "
	    .. "timeout=%d\n", e.connect, e.read, e.write, e.timeout))
	io.write(string.format("MEETREC requests=%d duration_us=%d\n",
	    summary.requests, summary.duration))
	if ex ~= "" then io.write("MEETREC nonjson_example " .. ex .. "\n") end
end
EOF

sub _sh_out {
	my ($cmd) = @_;
	my $v = `sh -c '$cmd' 2>/dev/null` // '';
	$v =~ s/\s+//g;
	return $v;
}

# missing(files => N) - reasons this machine cannot run the load: no wrk,
# or an open file limit below N that cannot be raised.  When the soft
# limit is below N and the hard one allows, the test is run again under
# sh with the limit raised (before it printed anything), so nginx, the
# pool and the helpers get it too.
sub missing {
	my (%o) = @_;
	my @why;
	push @why, 'wrk not found (Debian package wrk; scripts/deps)'
	    unless system('command -v wrk >/dev/null 2>&1') == 0;
	my $want = $o{files} // 0;
	my ($soft, $hard) = (_sh_out('ulimit -Sn'), _sh_out('ulimit -Hn'));
	return @why if $soft eq 'unlimited' || $soft =~ /^\d+$/ && $soft >= $want;
	if ($hard ne 'unlimited' && $hard =~ /^\d+$/ && $hard < $want) {
		push @why, "the open file limit is $hard, below the $want "
		    . 'the load needs';
		return @why;
	}
	return @why if @why || $ENV{MEETREC_LOAD_NOFILE}++;
	exec('sh', '-c', 'ulimit -n "$0" && exec "$@"', $want, $^X,
	    (map { "-I$_" } grep { !ref } @INC), $0, @ARGV)
	    or croak "Load: could not run $0 again: $!";
}

# wrk(url => U, connections => C, duration => S, threads => 2,
#     headers => [...], dir => D, timeout => 30) - one wrk run.  Returns
# { rps, p50, p99, max (ms), status => { code => n }, bad503, nonjson,
#   errors => { connect, read, write, timeout }, requests, out }.
sub wrk {
	my (%o) = @_;
	my $dir = $o{dir} // croak 'Load::wrk: dir';
	my $script = "$dir/meetrec-check.lua";
	spew($script, $LUA) unless -e $script;
	my $c = $o{connections} // 32;
	my $t = $o{threads} // 2;
	$t = $c if $t > $c;
	my @argv = ('wrk', "-t$t", "-c$c", '-d' . ($o{duration} // 3) . 's',
	    '--timeout', ($o{timeout} // 30) . 's', '-s', $script,
	    (map { ('-H', $_) } @{ $o{headers} // [] }), $o{url});
	# Room for the connections, whatever the caller's soft limit.
	open(my $ph, '-|', 'sh', '-c',
	    'ulimit -n "$0" 2>/dev/null; exec "$@" 2>&1', $c + 256, @argv)
	    or croak "Load::wrk: cannot run wrk: $!";
	my $out = do { local $/; <$ph> } // '';
	close $ph;
	my %r = (out => $out, status => {}, errors => {});
	($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
	$r{rps} //= 0;
	if ($out =~ /^MEETREC statuses(.*)$/m) {
		my $s = $1;
		$r{status}{$1} = $2 while $s =~ /(\d+)=(\d+)/g;
	}
	($r{bad503}, $r{nonjson}) = $out =~ /^MEETREC bad503=(\d+) nonjson=(\d+)/m;
	@r{qw(p50 p99 max)} = $out =~
	    /^MEETREC latency p50=([\d.]+) p99=([\d.]+) max=([\d.]+)/m;
	if ($out =~ /^MEETREC errors (.*)$/m) {
		my $e = $1;
		$r{errors}{$1} = $2 while $e =~ /(\w+)=(\d+)/g;
	}
	($r{requests}) = $out =~ /^MEETREC requests=(\d+)/m;
	($r{nonjson_example}) = $out =~ /^MEETREC nonjson_example (.*)$/m;
	$r{ok} = defined $r{requests};
	return \%r;
}

# metrics($url) - GET $url (a /metrics URL) as { 'name{labels}' => v };
# undef when it does not answer 200 (a full pool sheds scrapes too).
sub metrics {
	my ($url, $timeout) = @_;
	my $r = HTTP::Tiny->new(timeout => $timeout // 30, keep_alive => 0)
	    ->get($url);
	return undef unless $r->{status} == 200;
	my %m;
	for (split /\n/, $r->{content}) {
		next if /^#/;
		$m{$1} = $2 if /^(\S+) (\S+)$/;
	}
	return \%m;
}

# sum($m, $name) - the sum of every series of metric $name.
sub sum {
	my ($m, $name) = @_;
	my $t = 0;
	for (keys %$m) {
		$t += $m->{$_} if /^\Q$name\E(?:\{|$)/;
	}
	return $t;
}

# watch($s) - sample the pool's gauges from /metrics four times a second
# in a child until stop(): returns the samples, each { t, workers, busy,
# idle, queue } (scrapes the full pool shed are left out).
sub watch {
	my ($s, %o) = @_;
	my $file = $s->dir . '/watch.' . ($o{name} // 'x') . '.log';
	unlink $file;
	my $url = $s->url('/metrics');
	my $pid = fork() // croak "Load::watch: fork: $!";
	if ($pid == 0) {
		$SIG{TERM} = sub { POSIX::_exit(0) };
		my $t0 = Time::HiRes::time();
		open my $fh, '>>', $file or POSIX::_exit(1);
		$fh->autoflush(1);
		for (;;) {
			my $m = metrics($url, 20);
			printf {$fh} "%.2f %d %d %d %d\n",
			    Time::HiRes::time() - $t0,
			    $m->{meetrec_pool_workers} // -1,
			    $m->{meetrec_pool_workers_busy} // -1,
			    $m->{meetrec_pool_workers_idle} // -1,
			    $m->{meetrec_pool_listen_queue} // -1 if $m;
			Time::HiRes::sleep(0.25);
		}
	}
	return bless { pid => $pid, file => $file }, 'Meetrec::Test::Load::Watch';
}

sub Meetrec::Test::Load::Watch::stop {
	my ($self) = @_;
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	my @s;
	for (split /\n/, -e $self->{file} ? slurp($self->{file}) : '') {
		my ($t, $w, $b, $i, $q) = split ' ';
		push @s, { t => $t, workers => $w, busy => $b, idle => $i,
		    queue => $q };
	}
	return @s;
}

sub _nonblock {
	my ($fh) = @_;
	my $fl = fcntl($fh, F_GETFL, 0) // 0;
	fcntl($fh, F_SETFL, $fl | O_NONBLOCK);
}

sub _connect {
	my ($port, $rcvbuf) = @_;
	socket(my $s, PF_INET, SOCK_STREAM, 0) or return undef;
	# Before connect, so the window the server sees stays small.
	setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack('i', $rcvbuf)) if $rcvbuf;
	connect($s, pack_sockaddr_in($port, inet_aton('127.0.0.1')))
	    or return undef;
	return $s;
}

# slow_clients(port => P, readers => N, read_path => PATH, senders => M,
#     send_path => PATH, headers => [ "Name: value", ... ],
#     body_length => 1000, dir => D) - in a child: N clients that ask for
# read_path and then read one byte a second through a 4 KiB receive
# buffer, and M that send the headers of a POST to send_path and then
# its body one byte a second.  wait_ready() returns once all are
# connected (and the readers have had their first bytes); stop() closes
# them and returns { readers_open, readers_got, senders_open,
# senders_answered, connect_failed } as seen at the end.
sub slow_clients {
	my (%o) = @_;
	my $file = "$o{dir}/slow.report";
	unlink $file, "$file.ready";
	my $hdr = join '', map { "$_\r\n" } @{ $o{headers} // [] };
	my $len = $o{body_length} // 1000;
	my $pid = fork() // croak "Load::slow_clients: fork: $!";
	if ($pid == 0) {
		my $stop = 0;
		$SIG{TERM} = sub { $stop = 1 };
		$SIG{PIPE} = 'IGNORE';
		my (@readers, @senders, %got, %answered, %closed);
		my $failed = 0;
		for (1 .. $o{readers} // 0) {
			my $s = _connect($o{port}, 4096) or ($failed++, next);
			syswrite($s, "GET $o{read_path} HTTP/1.1\r\nHost: "
			    . "127.0.0.1\r\n$hdr\r\n");
			_nonblock($s);
			push @readers, $s;
		}
		for (1 .. $o{senders} // 0) {
			my $s = _connect($o{port}) or ($failed++, next);
			syswrite($s, "POST $o{send_path} HTTP/1.1\r\nHost: "
			    . "127.0.0.1\r\n${hdr}Content-Type: "
			    . "application/json\r\nContent-Length: $len\r\n\r\n");
			_nonblock($s);
			push @senders, $s;
		}
		my $tick = sub {
			for my $i (0 .. $#readers) {
				next if $closed{"r$i"};
				my $n = sysread($readers[$i], my $b, 1);
				if (defined $n && $n == 0) {
					$closed{"r$i"} = 1;
				} elsif ($n) {
					$got{$i}++;
				}
			}
			for my $i (0 .. $#senders) {
				next if $closed{"s$i"};
				my $n = sysread($senders[$i], my $b, 4096);
				if (defined $n && $n == 0) {
					$closed{"s$i"} = 1;
					next;
				}
				$answered{$i} = 1 if $n;
				my $w = syswrite($senders[$i], ' ');
				$closed{"s$i"} = 1 if !defined $w &&
				    $! != EAGAIN && $! != EWOULDBLOCK;
			}
		};
		# The readers' first bytes: their answers have begun.
		my $until = Time::HiRes::time() + 30;
		while (!$stop && keys(%got) < @readers &&
		    Time::HiRes::time() < $until) {
			$tick->();
			Time::HiRes::sleep(0.1);
		}
		spew("$file.ready", scalar(keys %got) . "\n");
		while (!$stop) {
			Time::HiRes::sleep(1);
			$tick->() unless $stop;
		}
		spew($file, join(' ',
		    scalar(grep { !$closed{"r$_"} } 0 .. $#readers),
		    scalar(keys %got),
		    scalar(grep { !$closed{"s$_"} } 0 .. $#senders),
		    scalar(keys %answered), $failed) . "\n");
		close $_ for @readers, @senders;
		POSIX::_exit(0);
	}
	return bless { pid => $pid, file => $file },
	    'Meetrec::Test::Load::Slow';
}

sub Meetrec::Test::Load::Slow::wait_ready {
	my ($self, $timeout) = @_;
	my $until = Time::HiRes::time() + ($timeout // 60);
	while (!-e "$self->{file}.ready") {
		return 0 if Time::HiRes::time() > $until ||
		    waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid};
		Time::HiRes::sleep(0.1);
	}
	return 1;
}

sub Meetrec::Test::Load::Slow::stop {
	my ($self) = @_;
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	my @v = split ' ', (-e $self->{file} ? slurp($self->{file}) : '');
	my %r;
	@r{qw(readers_open readers_got senders_open senders_answered
	    connect_failed)} = @v;
	return \%r;
}

1;
