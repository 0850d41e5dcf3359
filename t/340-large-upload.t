#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A 2 GiB recording uploads with the reaper's memory flat: its peak RSS,
# from its own accounting (getrusage, logged as peak_rss_kb), stays under
# 32 MiB.  The file has its moov box at the end behind a 64-bit mdat, so
# the duration probe must walk past 2 GiB without reading it.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(no_nginx => 1);
my ($co, $host) = (uuid(), uuid());
my $T = 'project_management.pm_meeting_recordings';
my $spool = $s->config->{spool_dir};
my $store = $s->config->{storage_local_dir};

my $big = $s->meeting('big', host => $host, company => $co);
my $id = $s->pg->psql("INSERT INTO $T (room_code, meeting_id, company_id, "
    . "recorded_by, status, egress_id, egress_status, started_at, ended_at) "
    . "VALUES ('big', '$big', '$co', '$host', 'processing', 'EG_big', "
    . "'EGRESS_COMPLETE', now(), now()) RETURNING id");

# ftyp, then a 2 GiB mdat (a hole: sparse, cheap to make), then moov.
my $GiB = 1024 * 1024 * 1024;
my $mdat = 2 * $GiB;
my $box = sub { pack('N', 8 + length $_[1]) . $_[0] . $_[1] };
my $ftyp = $box->('ftyp', 'isom' . pack('N', 512) . 'isomiso2mp41');
my $mvhd = $box->('mvhd', pack('C x3 N N N N', 0, 0, 0, 1000, 3_725_000)
    . ("\0" x 80));
my $moov = $box->('moov', $mvhd);
my $file = "$spool/$id.mp4";
open(my $fh, '>', $file) or die "$file: $!";
binmode $fh;
print $fh $ftyp, pack('N', 1), 'mdat', pack('Q>', 16 + $mdat);
my $end = length($ftyp) + 16 + $mdat;
truncate($fh, $end) or die "truncate: $!";
seek($fh, $end, 0);
print $fh $moov;
close $fh;
my $size = -s $file;
ok($size > 2 * $GiB, "a $size-byte recording in the spool");

my $r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the reaper uploads it') or diag($r->{err});
my ($rss) = $r->{err} =~ /peak_rss_kb=(\d+)/;
ok(defined $rss, 'the reaper reports its peak RSS');
my $asan = `ldd ${\ Meetrec::Test::Stack::reaper_bin()} 2>/dev/null`
    =~ /libasan/;
note(sprintf 'peak RSS uploading %.2f GiB: %.1f MiB%s', $size / $GiB,
    ($rss // 0) / 1024, $asan ? ' (AddressSanitizer build)' : '');
SKIP: {
	skip 'AddressSanitizer keeps its own shadow memory: RSS is measured '
	    . 'in the normal build', 1 if $asan;
	ok($rss < 32 * 1024, 'peak RSS under 32 MiB');
}
my $row = $s->pg->psql("SELECT status || '|' || file_size_bytes || '|' || "
    . "duration_seconds || '|' || storage_path FROM $T WHERE id = '$id'");
my ($st, $bytes, $dur, $path) = split /\|/, $row;
is($st, 'completed', 'completed');
is($bytes, $size, 'every byte accounted for');
is($dur, '3725', 'the duration from the moov at the end: 3725 s');
is(-s "$store/$path", $size, 'the stored file has the full size');
ok(!-e $file, 'spool file removed');
unlink "$store/$path";

$s->finish;
done_testing();
