#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Several reapers on one database: four at once over 1,000 due recordings
# upload each exactly once; a reaper killed in the middle of a pass leaves
# nothing half-done, and its claims expire so another finishes the work.
use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use Digest::SHA;
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(spawn);
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { reaper_lease_seconds => 5,
    reaper_batch => 2000, log_level => 'info' });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $T = 'project_management.pm_meeting_recordings';
my $spool = $s->config->{spool_dir};
my $store = $s->config->{storage_local_dir};

# One real recording gives a real MP4 to copy.
$s->room(code => 'seed', name => 'seed', host => $host, company => $co);
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'seed' });
my $seed = $r->{json}{recording_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
$s->api(POST => "/api/recordings/$seed/stop", token => $tok);
$s->standin(POST => '/_standin/wait', { idle => \1 });
my $mp4 = "$spool/$seed.mp4";
ok(-s $mp4, 'a real egress file to copy');
my $sha = Digest::SHA->new(256)->addfile($mp4, 'b')->hexdigest;
$s->pg->psql("DELETE FROM $T WHERE id = '$seed'");

# N recordings whose egress ended, each with its spool file.
sub make_due {
	my ($n, $room) = @_;
	my $mid = $s->meeting($room, host => $host, company => $co);
	my @ids = split /\n/, $s->pg->psql("INSERT INTO $T (room_code, "
	    . "meeting_id, company_id, recorded_by, status, egress_id, "
	    . "egress_status, started_at, ended_at) SELECT '$room', '$mid', "
	    . "'$co', '$host', "
	    . "'processing', 'EG_$room' || g, 'EGRESS_COMPLETE', now(), now() "
	    . "FROM generate_series(1, $n) g RETURNING id");
	copy($mp4, "$spool/$_.mp4") or die "copy: $!" for @ids;
	return @ids;
}

sub uploads_per_id {
	my %count;
	for my $f (glob($s->dir . '/log/*reaper*.log')) {
		open(my $fh, '<', $f) or next;
		while (<$fh>) {
			$count{$1}++ if /pass=upload rec=(\S+) action=uploaded/;
		}
	}
	return \%count;
}

# 1. Four reapers at once over 1,000.
my @ids = make_due(1000, 'many');
is(scalar @ids, 1000, '1000 due recordings');
my $t0 = time;
my @p = map { $s->start_reaper(name => "reaper$_",
    args => ['--once', '--pass', 'upload', '--limit', 2000]) } 1 .. 4;
for my $p (@p) {
	my $end = time + 300;
	sleep 0.1 while $p->alive && time < $end;
}
my $secs = time - $t0;
is($s->pg->psql("SELECT count(*) FROM $T WHERE room_code = 'many' AND "
    . "status = 'completed'"), 1000, 'all 1000 completed');
my $count = uploads_per_id();
my @twice = grep { $count->{$_} != 1 } keys %$count;
is(scalar keys %$count, 1000, '1000 distinct recordings uploaded');
is(scalar @twice, 0, 'none uploaded twice');
my @share = map { my $l = $s->log("reaper$_"); scalar(() =
    $l =~ /action=uploaded/g) } 1 .. 4;
note(sprintf "4 reapers: %s uploads each, %.1f s, %.0f uploads/s",
    join('/', @share), $secs, 1000 / $secs);
is($s->pg->psql("SELECT count(*) FROM $T WHERE lease_owner IS NOT NULL"), 0,
    'no lease left behind');
my @left = grep { -e "$spool/$_.mp4" } @ids;
is(scalar @left, 0, 'every spool file removed');
my ($one) = @ids;
my $path = $s->pg->psql("SELECT storage_path FROM $T WHERE id = '$one'");
is(Digest::SHA->new(256)->addfile("$store/$path", 'b')->hexdigest, $sha,
    'a stored file is intact');

# 2. A reaper killed in the middle of a pass.
@ids = make_due(300, 'killed');
my $k = $s->start_reaper(name => 'reaper-killed',
    args => ['--once', '--pass', 'upload', '--limit', 2000]);
my $end = time + 60;
sleep 0.01 while time < $end && $s->pg->psql("SELECT count(*) FROM $T "
    . "WHERE room_code = 'killed' AND status = 'completed'") < 50;
kill 'KILL', $k->pid;
sleep 0.05 while $k->alive;
$s->forget_reaper($k);		# its death is this test's doing
my $done = $s->pg->psql("SELECT count(*) FROM $T WHERE room_code = "
    . "'killed' AND status = 'completed'");
ok($done >= 50 && $done < 300, "killed after $done of 300");
# What it completed is whole: a stored file with the right checksum.
my @bad = grep { my ($st, $p) = split /\|/;
    !(-f "$store/$p" && Digest::SHA->new(256)->addfile("$store/$p", 'b')
    ->hexdigest eq $sha) } split /\n/, $s->pg->psql("SELECT status || '|' "
    . "|| storage_path FROM $T WHERE room_code = 'killed' AND "
    . "status = 'completed'");
is(scalar @bad, 0, 'every completed row has its whole file');
is($s->pg->psql("SELECT count(*) FROM $T WHERE room_code = 'killed' AND "
    . "status NOT IN ('completed', 'processing')"), 0,
    'nothing moved to a wrong state');
# Its claim blocks no one for long: after the lease another reaper
# finishes everything.
sleep 5.5;
$r = $s->reaper('--pass', 'upload', '--limit', 2000);
is($r->{rc}, 0, 'a new reaper runs clean') or diag($r->{err});
is($s->pg->psql("SELECT count(*) FROM $T WHERE room_code = 'killed' AND "
    . "status = 'completed'"), 300, 'all 300 completed in the end');
my @parts = glob("$store/killed/.*.part");
is(scalar @parts, 0, 'no part file left: the retry reused its name');
# Killed between "completed" and removing the spool file: the orphans
# pass removes what is already stored.
$s->reaper('--pass', 'orphans');
is(scalar(grep { -e "$spool/$_.mp4" } @ids), 0, 'spool emptied');

$s->finish;
done_testing();
