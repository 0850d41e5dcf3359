#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A long upload keeps its claim: the reaper renews its lease as the upload
# advances, so a second reaper arriving after the first lease would have
# run out finds nothing to take, and the recording is uploaded once.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Nextcloud;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));
my ($s, $nc) = Meetrec::Test::Nextcloud->with_stack(user => 'svc',
    stack => { no_nginx => 1 }, conf => { nextcloud_chunk_threshold => 65536,
    nextcloud_share => 0, reaper_lease_seconds => 5 });
my $T = 'project_management.pm_meeting_recordings';
my ($co, $host) = (uuid(), uuid());

# A recording of 10 chunks; the server answers each 900 ms late, so the
# upload takes about 9 s: longer than the 5 s lease.
my $slow = $s->meeting('slow', host => $host, company => $co);
my $id = $s->pg->psql("INSERT INTO $T (room_code, meeting_id, company_id, "
    . "recorded_by, status, egress_id, egress_status, started_at, ended_at) "
    . "VALUES ('slow', '$slow', '$co', '$host', 'processing', 'EG_slow', "
    . "'EGRESS_COMPLETE', now(), now()) RETURNING id");
my $box = sub { pack('N', 8 + length $_[1]) . $_[0] . $_[1] };
my $mp4 = $box->('ftyp', 'isom' . pack('N', 512) . 'isom')
    . $box->('mdat', 'x' x (10 * 65536 - 200))
    . $box->('moov', $box->('mvhd', pack('C x3 N N N N', 0, 0, 0, 1000,
    9000) . ("\0" x 80)));
open(my $fh, '>', $s->config->{spool_dir} . "/$id.mp4") or die;
print $fh $mp4;
close $fh;
$nc->faults({ chunk_delay_ms => 900 });

my $a = $s->start_reaper(name => 'reaper-a',
    args => ['--once', '--pass', 'upload']);
$s->wait_log('reaper-a', qr/reaper started/);
# Past the first lease's end, while A is still uploading.
my $t0 = time;
sleep 0.1 until time - $t0 > 6.5;
is($s->pg->psql("SELECT status FROM $T WHERE id = '$id'"), 'processing',
    'still uploading after 6.5 s');
ok($a->alive, 'reaper A is still at it');
my $b = $s->reaper('--pass', 'upload');
like($b->{err}, qr/pass=upload done items=0/,
    'reaper B finds nothing to claim: the lease was renewed');
sleep 0.1 while $a->alive && time - $t0 < 60;
is($s->pg->psql("SELECT status FROM $T WHERE id = '$id'"), 'completed',
    'reaper A completed it');
my $log = $s->log('reaper-a');
unlike($log, qr/lease_lost/, 'A never lost its lease');
is(scalar(() = $log =~ /action=uploaded/g), 1, 'uploaded once');
my @puts = grep { $_->{method} eq 'PUT' } @{ $nc->log_entries };
is(scalar @puts, 10, 'ten chunk PUTs, none sent twice');

$s->finish;
$nc->stop;
done_testing();
