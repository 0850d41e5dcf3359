#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The whole flow into Nextcloud: record, stop, webhook, the reaper streams
# the file into the service account's Recordings folder (chunked above
# the threshold), verifies it and shares it read-only with the recorder's
# Nextcloud account.  Nextcloud down for a while: the upload is retried
# and completes, nothing lost.
use strict;
use warnings;
use Test::More;
use Digest::SHA;
use Meetrec::Test::Stack;
use Meetrec::Test::Nextcloud;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));
my ($s, $nc) = Meetrec::Test::Nextcloud->with_stack(
    conf => { upload_backoff_seconds => 60 }, sharees => ['alice']);
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'alice');
my $T = 'project_management.pm_meeting_recordings';
$s->room(code => 'nc-room', name => 'NC room', host => $host,
    company => $co);

sub record {
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => 'nc-room' });
	my $id = $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	$s->api(POST => "/api/recordings/$id/stop", token => $tok);
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	return $id;
}
sub row { $s->pg->psql("SELECT concat_ws('|', status, coalesce(storage_type, "
    . "''), coalesce(storage_path, ''), upload_attempts) FROM $T "
    . "WHERE id = '$_[0]'") }

# 1. Nextcloud down while the reaper tries: an attempt, kept, retried.
my $id = record();
my $spool = $s->config->{spool_dir} . "/$id.mp4";
my $sha = Digest::SHA->new(256)->addfile($spool, 'b')->hexdigest;
$nc->faults({ down_for_ms => 60000 });
my $r = $s->reaper('--pass', 'upload');
is($r->{rc}, 1, 'the upload fails while Nextcloud is down');
like(row($id), qr/^processing\|\|\|1$/, 'still processing, one attempt');
ok(-s $spool, 'the spool file is kept');
$nc->faults({});
$s->pg->psql("UPDATE $T SET next_attempt_at = now() WHERE id = '$id'");
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'Nextcloud back: the retry succeeds') or diag($r->{err});
my ($st, $type, $path) = split /\|/, row($id);
is($st, 'completed', 'completed');
is($type, 'nextcloud', 'storage_type nextcloud');
like($path, qr{^nc-room/recording_\d{8}_\d{6}_\w{8}\.mp4$}, 'the seed\'s path');
my $disk = $nc->file_path("Recordings/$path");
ok(-f $disk, 'the file is in the Recordings folder');
is(Digest::SHA->new(256)->addfile($disk, 'b')->hexdigest, $sha,
    'byte for byte');
ok(!-e $spool, 'spool removed after the verified upload');

# It went up in chunks (the file is over the threshold) and was shared.
my @log = @{ $nc->log_entries };
ok((grep { $_->{method} eq 'MOVE' && $_->{path} =~ m{/\.file$} } @log),
    'assembled with a chunked MOVE');
my @shares = grep { $_->{method} eq 'POST' && $_->{path} =~ /shares/ } @log;
ok(@shares >= 1, 'an OCS share was created');
my $state = $nc->_control(GET => 'state');
my ($share) = grep { $_->{shareWith} eq 'alice' }
    @{ $state->{shares} // [] };
ok($share, "shared with the recorder's account, alice");
is($share->{permissions}, 1, 'read-only') if $share;

# 2. An upload cut off half-way leaves its chunks in its upload folder
# (the next attempt goes on from them).  A recording that then fails for
# good, its file found damaged, leaves nothing on Nextcloud: the folder
# goes with it.  So does one deleted while it waited, once purged.
sub half_uploaded {
	$s->standin(POST => '/_standin/mode', { mdat_bytes => 300000 });
	my $id = record();
	$s->standin(POST => '/_standin/reset');
	$nc->faults({ fail_chunk_puts_after => 2 });
	my $r = $s->reaper('--pass', 'upload');
	$nc->faults({});
	is($r->{rc}, 1, 'the upload fails half-way');
	my @chunks = glob $nc->upload_dir("meetrec-$id") . '/0*';
	ok(@chunks >= 2, scalar(@chunks) . ' chunks are left in its upload '
	    . 'folder');
	like(row($id), qr/^processing\|\|\|1$/, 'still processing');
	return $id;
}
my $damaged = half_uploaded();
my $dspool = $s->config->{spool_dir} . "/$damaged.mp4";
truncate($dspool, 5000) or die "truncate $dspool: $!";
$s->pg->psql("UPDATE $T SET next_attempt_at = now() WHERE id = '$damaged'");
$r = $s->reaper('--pass', 'upload');
like(row($damaged), qr/^failed\|\|\|/, 'the damaged file fails it');
ok(-s $dspool, 'its spool file is kept');
ok(!-e $nc->upload_dir("meetrec-$damaged"),
    'the chunks of the earlier attempt are gone from Nextcloud');

my $trashed = half_uploaded();
$s->api(DELETE => "/api/recordings/$trashed", token => $tok);
$s->pg->psql("UPDATE $T SET deleted_at = now() - interval '400 days' "
    . "WHERE id = '$trashed'");
$r = $s->reaper('--pass', 'purge');
is($r->{rc}, 0, 'the purge pass runs') or diag($r->{err});
is($s->pg->psql("SELECT count(*) FROM $T WHERE id = '$trashed'"), 0,
    'the deleted recording is purged');
ok(!-e $nc->upload_dir("meetrec-$trashed"),
    'and the chunks of its upload with it');
my @left = grep { -f } glob $nc->root . '/uploads/*/*/*';
is(scalar @left, 0, 'nothing is left in any upload folder')
    or diag(join "\n", @left);

$s->finish;
$nc->stop;
done_testing();
