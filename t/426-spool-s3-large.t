#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# spool_type = s3 with a 2 GiB recording (MEETREC_LARGE_MIB sets the
# size): Egress (the stand-in, AWS SDK multipart) uploads it to the
# incoming prefix; the reaper reads its duration with ranged reads (moov
# after 2 GiB of mdat: a window at the start and one at the end, never
# the whole object), streams it into local storage while hashing it,
# and keeps its resident memory under 32 MiB throughout.  The bytes it
# read to probe and its peak RSS are reported.
use strict;
use warnings;
use Test::More;
use Digest::SHA;
use Fcntl qw(SEEK_SET);
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::S3;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::S3::require_prereqs();
my $MIB = $ENV{MEETREC_LARGE_MIB} // 2048;
my $T = 'project_management.pm_meeting_recordings';
my $root = Meetrec::Test::Stack::_check_root() . '/426-spool-s3-large-data';
mkdir $root;

# ftyp, an mdat of $MIB MiB (a hole: no disk, no time), then moov with
# an mvhd of 3600 s: what a muxer that writes moov last leaves.
my $fixture = "$root/large.mp4";
{
	open(my $fh, '>', $fixture) or die "$fixture: $!";
	binmode $fh;
	print {$fh} pack('N a4 a4 N a4 a4', 24, 'ftyp', 'isom', 512, 'isom',
	    'mp41');
	my $data = $MIB * 1024 * 1024;
	print {$fh} pack('N a4 Q>', 1, 'mdat', 16 + $data);
	seek($fh, 24 + 16 + $data, SEEK_SET) or die "seek: $!";
	my $mvhd = pack('C C3 N N N N N n a10 a36 a24 N', 0, 0, 0, 0, 0, 0,
	    1000, 3_600_000, 0x00010000, 0x0100, "\0" x 10,
	    pack('N9', 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000),
	    "\0" x 24, 2);
	$mvhd = pack('N a4', 8 + length $mvhd, 'mvhd') . $mvhd;
	print {$fh} pack('N a4', 8 + length $mvhd, 'moov') . $mvhd;
	close $fh or die "$fixture: $!";
}
my $size = -s $fixture;
my $sha = Digest::SHA->new(256)->addfile($fixture, 'b')->hexdigest;

my $s3 = Meetrec::Test::S3->new(dir => "$root/s3", bucket => 'meetrec');
my $s = Meetrec::Test::Stack->new(fixture_mp4 => $fixture, conf => {
    spool_type => 's3', spool_dir => undef,
    spool_s3_endpoint => $s3->endpoint, spool_s3_bucket => $s3->bucket,
    spool_s3_access_key => $s3->access_key,
    spool_s3_secret_key => $s3->secret_key,
    spool_s3_region => $s3->conf->{s3_region},
    upload_timeout_ms => 1800000, reaper_lease_seconds => 600 });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'big', name => 'Big', host => $host, company => $co);
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'big' });
is($r->{status}, 201, 'start') or diag($r->{body});
my $id = $r->{json}{recording_id};
$s->standin_idle;
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'stop');
$s->standin_idle(timeout_ms => 1800000);
my ($up) = grep { ($_->{key} // '') =~ /\Q$id\E/ }
    @{ $s->standin(GET => 'uploads')->{json}{uploads} // [] };
is($up->{status}, 'ok', "Egress uploaded $MIB MiB to the incoming prefix")
    or diag(explain($up));
ok($up->{multipart}, '... in parts');

$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, "the reaper stores it") or diag($r->{err});
my ($pb) = $r->{err} =~ /rec=\Q$id\E action=uploaded .* probe_bytes=(\d+)/;
my ($rss) = $r->{err} =~ /peak_rss_kb=(\d+)/;
like($r->{err}, qr/rec=\Q$id\E action=uploaded .* how=streamed/,
    'streamed into local storage');
ok(defined $pb && $pb < 256 * 1024,
    "probed with ranged reads: " . ($pb // '?') . " bytes of $size");
diag("probe read " . ($pb // '?') . " bytes of a $size-byte object; "
    . "reaper peak RSS " . ($rss // '?') . ' KiB');
my $asan = `ldd ${\ Meetrec::Test::Stack::reaper_bin()} 2>/dev/null`
    =~ /libasan/;
SKIP: {
	skip 'AddressSanitizer keeps its own shadow memory: RSS is measured '
	    . 'in the normal build', 1 if $asan;
	ok(defined $rss && $rss < 32 * 1024, "the reaper's peak RSS: "
	    . ($rss // '?') . ' KiB, under 32 MiB');
}
my $row = $s->pg->psql("SELECT concat_ws('|', status, file_size_bytes, "
    . "checksum_sha256, duration_ms, storage_path) FROM $T WHERE id = '$id'");
my ($st, $bytes, $sum, $ms, $path) = split /\|/, $row;
is($st, 'completed', 'completed');
is($bytes, $size, 'its size');
is($sum, $sha, 'its SHA-256');
is($ms, 3_600_000, 'the duration from the moov at the end');
my $stored = $s->config->{storage_local_dir} . "/$path";
is(-s $stored, $size, 'the stored file');
is(Digest::SHA->new(256)->addfile($stored, 'b')->hexdigest, $sha,
    '... holds the same bytes');
is($s3->get_object("incoming/$id.mp4", method => 'HEAD')->{status}, 404,
    'the incoming object is removed');
unlink $stored;
$s->finish;
$s3->stop;
system('rm', '-rf', $root);
done_testing();
