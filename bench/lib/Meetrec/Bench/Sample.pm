# SPDX-License-Identifier: ISC
#
# Meetrec::Bench::Sample - what bench/http.pl measures around one wrk
# run: the CPU time of process trees and the memory of processes, read
# from /proc, and wrk itself.
#
#	my $t0 = Meetrec::Bench::Sample::snapshot();
#	my $w = Meetrec::Bench::Sample::wrk(url => $url, connections => 32,
#	    threads => 2, duration => 10, headers => [...], paths => $file,
#	    script => $lua);
#	my $t1 = Meetrec::Bench::Sample::snapshot();
#	my $ticks = Meetrec::Bench::Sample::cpu($t1, tree => [$pid])
#	    - Meetrec::Bench::Sample::cpu($t0, tree => [$pid]);
#
# CPU of a tree: utime + stime of each process in it, plus cutime +
# cstime, the time of children it has reaped.  A pool worker recycled,
# a PostgreSQL backend that closed, a seed connection the default pool
# dropped: each moves, when it exits, from "a live process" to its
# parent's cutime, so the difference of two samples still counts it.
# What is lost is only a process that starts and exits between two
# samples without being reaped by a process of the tree (none here: the
# pool master, the postmaster and nginx's master reap their own).
#
# wrk's CPU is its rusage, from times() (children's user and system time)
# taken before it starts and after it was waited for.

package Meetrec::Bench::Sample;

use strict;
use warnings;

use Carp qw(croak);
use POSIX ();

use Meetrec::Test::Proc qw(on_cleanup);

my $HZ = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

# hz() - clock ticks a second (the unit of cpu()).
sub hz { return $HZ }

# snapshot() - { pid => [ppid, ticks, child_ticks, comm] } of every
# process on the machine, from /proc/<pid>/stat.
sub snapshot {
	my %t;
	opendir my $dh, '/proc' or croak "Sample: /proc: $!";
	for my $pid (grep { /^\d+$/ } readdir $dh) {
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $line = <$fh>;
		close $fh;
		next unless defined $line;
		# "pid (comm) state ppid ..."; comm may hold spaces or ')'.
		my $l = index($line, '(');
		my $r = rindex($line, ')');
		next if $l < 0 || $r < 0;
		my @f = split ' ', substr($line, $r + 1);
		# After comm: state ppid pgrp session tty tpgid flags minflt
		# cminflt majflt cmajflt utime stime cutime cstime ...
		$t{$pid} = [ $f[1], $f[11] + $f[12], $f[13] + $f[14],
		    substr($line, $l + 1, $r - $l - 1) ];
	}
	closedir $dh;
	return \%t;
}

# tree($snap, @roots) - the roots that exist and all their descendants.
sub tree {
	my ($snap, @roots) = @_;
	my %kids;
	push @{ $kids{ $snap->{$_}[0] } }, $_ for keys %$snap;
	my (@out, %seen);
	my @todo = grep { defined && exists $snap->{$_} } @roots;
	while (defined(my $p = shift @todo)) {
		next if $seen{$p}++;
		push @out, $p;
		push @todo, @{ $kids{$p} // [] };
	}
	return @out;
}

# cpu($snap, tree => [roots], pids => [pids]) - ticks of user and system
# time of those processes and of the children they reaped.
sub cpu {
	my ($snap, %o) = @_;
	my @p = (tree($snap, @{ $o{tree} // [] }),
	    grep { exists $snap->{$_} } @{ $o{pids} // [] });
	my (%seen, $n);
	$n = 0;
	for (grep { !$seen{$_}++ } @p) {
		$n += $snap->{$_}[1] + $snap->{$_}[2];
	}
	return $n;
}

# mem($pid) - { rss, hwm } in KiB from /proc/<pid>/status (VmRSS, VmHWM),
# or undef when the process is gone.
sub mem {
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/status" or return undef;
	my %m;
	while (my $l = <$fh>) {
		$m{rss} = $1 if $l =~ /^VmRSS:\s+(\d+) kB/;
		$m{hwm} = $1 if $l =~ /^VmHWM:\s+(\d+) kB/;
	}
	close $fh;
	return defined $m{rss} ? \%m : undef;
}

# wrk(url => U, connections => C, threads => T, duration => S,
#     timeout => S, headers => [...], paths => FILE, script => LUA) - one
# run of wrk with the script bench/paths.lua.  Returns { requests, secs,
# rps, p50, p99, max (ms), errors => { connect, read, write, timeout },
# status (answers >= 400), cpu (wrk's user + system seconds), out } or
# dies with wrk's output when it printed no result.
sub wrk {
	my (%o) = @_;
	my $c = $o{connections} // 32;
	my $t = $o{threads} // 2;
	$t = $c if $t > $c;
	my @argv = ('wrk', "-t$t", "-c$c", '-d' . ($o{duration} // 10) . 's',
	    '--timeout', ($o{timeout} // 10) . 's', '-s', $o{script},
	    (map { ('-H', $_) } @{ $o{headers} // [] }), $o{url});
	local $ENV{BENCH_PATHS} = $o{paths} // '';
	my @t0 = times;
	# Room for the connections, whatever the caller's soft limit; sh
	# execs wrk, so the child reaped is wrk itself.
	my $pid = open(my $ph, '-|', 'sh', '-c',
	    'ulimit -n "$0" 2>/dev/null; exec "$@" 2>&1', $c + 256, @argv)
	    or croak "Sample: cannot run wrk: $!";
	# Stopped with the rest if the bench dies or is interrupted.
	my $guard = on_cleanup(sub { kill 'TERM', $pid });
	my $out = do { local $/; <$ph> } // '';
	close $ph;
	Meetrec::Test::Proc::cancel_cleanup($guard);
	my @t1 = times;
	my %r = (out => $out,
	    cpu => ($t1[2] - $t0[2]) + ($t1[3] - $t0[3]));
	my ($line) = $out =~ /^BENCHRESULT (.*)$/m
	    or croak "Sample: wrk gave no result:\n$out";
	my %v = $line =~ /(\w+)=([\d.]+)/g;
	$r{requests} = $v{requests};
	$r{secs} = $v{duration_us} / 1e6;
	$r{rps} = $r{secs} > 0 ? $r{requests} / $r{secs} : 0;
	@r{qw(p50 p99 max status)} = @v{qw(p50_ms p99_ms max_ms status)};
	$r{errors} = { map { $_ => $v{$_} } qw(connect read write timeout) };
	return \%r;
}

1;
