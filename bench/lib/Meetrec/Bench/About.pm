# SPDX-License-Identifier: ISC
#
# Meetrec::Bench::About - what a results file says of the run it came
# from, the same in bench/http.pl and bench/volume.pl: the commit and
# whether the working tree was clean, and the machine.
#
#	my $v = Meetrec::Bench::About::cmd1('wrk -v');
#	$md .= Meetrec::Bench::About::commit_line($src);
#	$md .= Meetrec::Bench::About::machine_line($load0, $load1);

package Meetrec::Bench::About;

use strict;
use warnings;

use Meetrec::Test::Util qw(slurp);

# cmd1($cmd) - the first line a shell command prints, trimmed ('' if none).
sub cmd1 {
	my ($cmd) = @_;
	my $v = `$cmd 2>&1` // '';
	($v) = split /\n/, $v;
	$v //= '';
	$v =~ s/\s+$//;
	return $v;
}

# commit_line($src) - "- commit: `abc1234`, working tree clean\n", or
# dirty with up to ten of the paths changed or untracked (RESULTS.md
# itself not counted).
sub commit_line {
	my ($src) = @_;
	my $head = cmd1("git -C '$src' rev-parse --short HEAD");
	my @dirty = grep { length } split /\n/, `git -C '$src' status \\
	    --porcelain -- . ':(exclude)bench/RESULTS.md' 2>/dev/null` // '';
	return "- commit: `$head`, working tree " . (@dirty ? 'dirty ('
	    . scalar(@dirty) . ' paths changed or untracked: '
	    . join(', ', map { s/^...//r } @dirty[0 .. ($#dirty < 9 ? $#dirty
	    : 9)]) . (@dirty > 10 ? ', ...' : '') . ')' : 'clean') . "\n";
}

# machine_line($load_before, $load_after) - cores, CPU model, memory and
# the load average around the run.
sub machine_line {
	my ($before, $after) = @_;
	my $cpu = (slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.*)$/m)[0]
	    // 'unknown';
	my $mem = (slurp('/proc/meminfo') =~ /^MemTotal:\s+(\d+)/m)[0] // 0;
	return sprintf "- machine: %s cores (nproc), %s, %.1f GiB RAM; load "
	    . "average %s before, %s after\n", cmd1('nproc'), $cpu,
	    $mem / 1024 / 1024, $before, $after;
}

1;
