#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# What every program answers before it does anything: --help on
# standard output with exit 0 (naming the configuration file it reads
# by default), --version, a usage error with exit 2; and how it logs
# when systemd runs it: standard error is the journal when
# JOURNAL_STREAM names it, and then each line starts with its priority
# and the pid of the process that wrote it (the journal would credit
# every line of the pool's shared stream to its master).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(build_root slurp spew);

Meetrec::Test::Stack::require_prereqs('binaries');
my $b = build_root();
my %bin = ('meetrec-fcgi' => "$b/fcgi/meetrec-fcgi",
    'meetrec-reaper' => "$b/src/meetrec-reaper",
    'meetrec-transcribe' => "$b/src/meetrec-transcribe",
    'meetrec-admin' => "$b/src/meetrec-admin");
my $version = slurp("$b/config.h") =~ /#define PACKAGE_VERSION "([^"]+)"/
    ? $1 : '?';

for my $name (sort keys %bin) {
	my $r = run_cmd([ $bin{$name}, '--help' ]);
	is($r->{rc}, 0, "$name --help exits 0");
	like($r->{out}, qr/^usage: \Q$name\E /, 'usage on standard output');
	like($r->{out}, qr/read from \S+\/meetrec\/meetrec\.conf,/,
	    'naming the configuration file');
	is($r->{err}, '', 'nothing on standard error');
	$r = run_cmd([ $bin{$name}, '--version' ]);
	is("$r->{rc} $r->{out}", "0 $name $version\n", "$name --version");
	$r = run_cmd([ $bin{$name}, '--no-such-option' ]);
	is($r->{rc}, 2, "$name with an unknown option: exit 2");
	like($r->{err}, qr/usage: \Q$name\E/, 'and the usage on standard error');
}
is(run_cmd([ $bin{'meetrec-fcgi'}, '-d' ])->{rc}, 2,
    'meetrec-fcgi -d, which did nothing, is gone');
is(run_cmd([ $bin{'meetrec-transcribe'}, '--watch' ])->{rc}, 2,
    'meetrec-transcribe only runs --once (the watching reaper starts it)');
my $ldd = run_cmd([ 'ldd', $bin{'meetrec-reaper'} ]);
unlike($ldd->{out}, qr/libav(?:codec|format)/,
    "the reaper does not load FFmpeg's libraries");
like(run_cmd([ 'ldd', $bin{'meetrec-transcribe'} ])->{out},
    qr/libavcodec/, 'meetrec-transcribe does');

# The journal: a reaper that cannot reach PostgreSQL logs a warning.
my $dir = tempdir('mr016XXXX', TMPDIR => 1, CLEANUP => 1);
spew("$dir/c.conf", "database_url = host=$dir/nowhere dbname=x\n"
    . "jwt_secret = s\nlivekit_url = http://127.0.0.1:1\n"
    . "livekit_api_key = k\nlivekit_api_secret = s\n"
    . "spool_dir = $dir\nstorage_local_dir = $dir/store\n", 0600);
# reap($journal) - the reaper's log lines, with JOURNAL_STREAM naming
# its standard error (journal true) or another file.
sub reap {
	my ($journal) = @_;
	my $log = "$dir/stderr";
	spew($log, '');
	spew("$dir/other", '');
	my @st = stat($journal ? $log : "$dir/other");
	# The shell execs the reaper: its pid is the reaper's.
	my $r = run_cmd([ 'sh', '-c', 'echo $$ >"$LOG.pid"; '
	    . 'exec "$@" 2>"$LOG"', 'sh',
	    $bin{'meetrec-reaper'}, '--config', "$dir/c.conf", '--once' ],
	    env => { LOG => $log, JOURNAL_STREAM => "$st[0]:$st[1]" });
	return ($r->{rc}, slurp($log), slurp("$log.pid") =~ s/\s+//gr);
}
my ($rc, $out, $pid) = reap(1);
is($rc, 1, 'a reaper without its database exits 1');
like($out, qr/^<4>\[\Q$pid\E\] warn: .*could not connect/m,
    'to the journal: a warning with priority 4 and the pid, no time');
like($out, qr/^<6>\[\Q$pid\E\] info: reaper stopped failures=/m,
    'information with 6');
unlike($out, qr/^(?!<[3-7]>\[\d+\] (?:error|warn|info|debug): )/m,
    'every line has its priority and pid');
($rc, $out) = reap(0);
like($out, qr/^\d{4}-\d\d-\d\dT[\d:.]+Z meetrec-reaper\[\d+\] warn: /m,
    'JOURNAL_STREAM naming another file: time, name and pid as usual');
unlike($out, qr/^</m, 'and no priority');

done_testing();
