#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The recordings page (www/) in a real browser: Debian's headless
# Chromium driven by playwright-core (t/browser/recordings-page.mjs).
# The stand-in writes a playable fixture (t/fixtures/play.mp4, 4 s of
# VP9 + Opus) as the egress output and a watching reaper stores it, so
# the page records a room, stops, sees "completed", plays the video,
# downloads it without a header, and shares it: the link plays in a
# fresh browser context, a password link refuses a wrong password and
# plays with the right one, a revoked link stops working.  Each step of
# the script is one test here; its screenshots of a failed step are in
# the test's log/ folder (kept on failure).
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(src_root uuid);

Meetrec::Test::Stack::require_prereqs();

my $chromium = $ENV{MEETREC_CHROMIUM} // '/usr/bin/chromium';
Meetrec::Test::Stack::skip_unless(
    (-x $chromium ? () : "$chromium not found (apt-get install chromium)"),
    Meetrec::Test::Stack::node_missing('t/browser/recordings-page.mjs',
    't/browser', 'playwright-core'));

my $src = src_root();
my $fixture = "$src/t/fixtures/play.mp4";
my $s = Meetrec::Test::Stack->new(fixture_mp4 => $fixture);
my $d = $s->dir;
$s->start_reaper;

my $host = uuid();
my $code = 'browser-room';
$s->room(code => $code, host => $host);
my $token = $s->token(user => $host, username => 'page-host');

my $node = Meetrec::Test::Stack::_node();
my $page = Meetrec::Test::Stack::node_script(
    't/browser/recordings-page.mjs', 't/browser');
my $r = run_cmd([ $node, $page,
    '--base', $s->url('/'), '--token', $token, '--room', $code,
    '--username', 'page-host', '--fixture', $fixture,
    '--outdir', "$d/log", '--chromium', $chromium ],
    cwd => Meetrec::Test::Stack::npm_dir('t/browser'), timeout => 300,
    env => { MEETREC_CHROMIUM => undef },
    log => "$d/log/browser.log");

# The script's TAP, one test here per step.
my ($plan, $steps, $id) = (undef, 0, undef);
for my $line (split /\n/, $r->{out}) {
	if ($line =~ /^(not )?ok \d+ - (.*)$/) {
		$steps++;
		ok(!$1, "page: $2");
	} elsif ($line =~ /^1\.\.(\d+)$/) {
		$plan = $1;
	} elsif ($line =~ /^# recording_id=(\S+)$/) {
		$id = $1;
	} elsif ($line =~ /^#/) {
		note($line =~ s/^#\s?//r);
	}
}
is($r->{rc}, 0, 'the browser script exited 0')
    or diag("stderr:\n$r->{err}\nstdout:\n$r->{out}");
ok(defined $plan && $plan == $steps && $steps > 0,
    "the browser script ran all its steps ($steps)");
diag("stdout:\n$r->{out}") unless $r->{rc} == 0 || $steps;

# What the page did, seen from the API: a completed recording whose
# duration the reaper read from the fixture itself.
SKIP: {
	skip 'no recording id from the browser script', 3 unless $id;
	my $st = $s->api(GET => "/recordings/$id/status", token => $token);
	is($st->{status}, 200, 'the recording exists');
	is($st->{json}{status}, 'completed', 'it is completed');
	my $dur = $st->{json}{duration_seconds} // -1;
	ok(abs($dur - 4) < 0.1, "duration_seconds is 4 (got $dur)");
}

$s->finish;
done_testing;
