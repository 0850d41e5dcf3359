#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The seed's own front end works unchanged (SPEC 3): its meetStore
# actions, a meetApi on the seed's endpoints, and its recordings page's
# formatDuration and formatFileSize (t/seed/seed-frontend.mjs, taken
# from reference/seed-plan.txt, Phase 3) record a room, follow it to
# completed, list it, show it, and delete it against the real stack.
# The page must read what the seed would show: "0:04" for a recording of
# 4.021 s (a duration_seconds of 4.021 made it print "0:4.021"), its size
# in KB, a download link that fetches.  Each step of the script is a
# test here, and the facts it prints are checked against the file.
use strict;
use warnings;
use Test::More;
use File::Temp ();
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(src_root uuid slurp spew);

Meetrec::Test::Stack::require_prereqs();

my $src = src_root();
my $script = "$src/t/seed/seed-frontend.mjs";
# The egress output: t/fixtures/play.mp4 with its mvhd saying 4.021 s
# (timescale 1000) instead of 4 s, the length the probe reads.
my $mp4 = slurp("$src/t/fixtures/play.mp4");
my $at = index($mp4, 'mvhd');
die 'play.mp4: no version 0 mvhd with timescale 1000'
    unless $at > 0 && unpack('C', substr($mp4, $at + 4, 1)) == 0 &&
    unpack('N', substr($mp4, $at + 16, 4)) == 1000;
substr($mp4, $at + 20, 4) = pack('N', 4021);
my $tmp = File::Temp::tempdir('meetrec-seed-XXXXXX', TMPDIR => 1,
    CLEANUP => 1);
chmod 0755, $tmp;
my $fixture = "$tmp/play-4021ms.mp4";
spew($fixture, $mp4);
my $s = Meetrec::Test::Stack->new(fixture_mp4 => $fixture);
my $d = $s->dir;
# Stores the file as soon as LiveKit's egress_ended says it is there.
$s->start_reaper;

my ($host, $viewer) = (uuid(), uuid());
my $code = 'seed-room';
$s->room(code => $code, name => 'Seed room', host => $host);
my $token = $s->token(user => $host, username => 'seed-host');
my $vtoken = $s->token(user => $viewer, username => 'seed-viewer');

my $r = run_cmd([ Meetrec::Test::Stack::_node(), $script,
    '--base', $s->url('/'), '--token', $token, '--viewer-token', $vtoken,
    '--viewer', $viewer, '--room', $code ],
    cwd => $d, timeout => 180, log => "$d/log/seed-frontend.log");

# The script's TAP, one test here per step; "# key=value" are facts.
my ($plan, $steps, %fact) = (undef, 0);
for my $line (split /\n/, $r->{out}) {
	if ($line =~ /^(not )?ok \d+ - (.*)$/) {
		$steps++;
		ok(!$1, "seed: $2");
	} elsif ($line =~ /^1\.\.(\d+)$/) {
		$plan = $1;
	} elsif ($line =~ /^# (\w+)=(.*)$/) {
		$fact{$1} = $2;
	} elsif ($line =~ /^#/) {
		diag($line =~ s/^#\s?//r);
	}
}
is($r->{rc}, 0, 'the seed script exited 0')
    or diag("stderr:\n$r->{err}\nstdout:\n$r->{out}");
ok(defined $plan && $plan == $steps && $steps > 0,
    "the seed script ran all its steps ($steps)");

# What the seed's page showed, against the file: 4.021 s, its bytes.
is($fact{duration_seconds}, 4, 'duration_seconds 4 (whole seconds)');
is($fact{list_duration}, '0:04', 'the page shows 0:04 in the list');
is($fact{details_duration}, '0:04', 'and for the details');
is($fact{file_size_bytes}, -s $fixture, 'file_size_bytes is the file\'s');
is($fact{list_size}, sprintf('%.1f KB', (-s $fixture) / 1024),
    'the page shows its size in KB');
is($fact{meeting_name}, 'Seed room', 'meeting_name is the room\'s name');
SKIP: {
	skip 'no recording id from the seed script', 2
	    unless $fact{recording_id};
	is($s->pg->psql('SELECT duration_ms FROM project_management.'
	    . "pm_meeting_recordings WHERE id = '$fact{recording_id}'"), 4021,
	    'duration_ms keeps the precise 4.021 s');
	is($s->pg->psql('SELECT deleted_at IS NOT NULL FROM project_management.'
	    . "pm_meeting_recordings WHERE id = '$fact{recording_id}'"), 't',
	    'deleted: in the trash');
}

$s->finish;
done_testing();
