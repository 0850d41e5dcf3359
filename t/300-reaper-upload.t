#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The upload pipeline: a recording whose egress ended is streamed to
# storage, verified, probed for its real duration, completed, and only
# then removed from the spool; failures back off and retry, and past the
# limit the recording fails with its spool file kept.
use strict;
use warnings;
use Test::More;
use Digest::SHA;
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { upload_backoff_seconds => 60,
    upload_max_attempts => 3 });
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $spool = $s->config->{spool_dir};
my $store = $s->config->{storage_local_dir};

sub row {
	my ($id) = @_;
	my @f = qw(status storage_type storage_path file_size_bytes
	    duration_seconds duration_ms checksum_sha256 upload_attempts
	    last_error next_attempt_future);
	# NULL reads as '' (concat_ws would drop the field instead).
	my $cols = join ", ", map { "coalesce(($_)::text, '')" } qw(status
	    storage_type storage_path file_size_bytes duration_seconds
	    duration_ms checksum_sha256 upload_attempts last_error),
	    'next_attempt_at > now()';
	my $line = $s->pg->psql("SELECT concat_ws('|', $cols) FROM "
	    . "project_management.pm_meeting_recordings WHERE id = '$id'");
	my %r;
	@r{@f} = split /\|/, $line, scalar @f;
	return \%r;
}

my $n = 0;
sub record {
	my (%o) = @_;
	my $code = 'up' . ++$n;
	$s->room(code => $code, name => "Upload $n", host => $host,
	    company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code, %{ $o{body} // {} } });
	is($r->{status}, 201, "start $code") or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	# A recording of about a second and a half.
	sleep 1.5;
	$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($r->{status}, 202, "stop $code");
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	return $id;
}

# 1. The whole flow.
my $id = record();
my $ext = 'mp4';
my $spoolfile = "$spool/$id.$ext";
ok(-s $spoolfile, 'the egress file is in the spool');
my $sha = Digest::SHA->new(256)->addfile($spoolfile, 'b')->hexdigest;
my $size = -s $spoolfile;
is(row($id)->{status}, 'processing', 'processing before the reaper');
my $r = $s->reaper;
is($r->{rc}, 0, 'reaper --once succeeds') or diag($r->{err});
like($r->{err}, qr/pass=upload rec=\Q$id\E action=uploaded/,
    'it logs the upload');
like($r->{err}, qr/peak_rss_kb=\d+/, 'and its peak RSS');
my $row = row($id);
is($row->{status}, 'completed', 'completed');
is($row->{storage_type}, 'local', 'storage_type local');
like($row->{storage_path}, qr{^up1/recording_\d{8}_\d{6}_\Q${\ substr($id, 0, 8)}\E\.mp4$},
    'storage path as the seed named it');
is($row->{file_size_bytes}, $size, 'file size');
is($row->{checksum_sha256}, $sha, 'checksum of the file');
ok($row->{duration_ms} >= 1000 && $row->{duration_ms} < 60000,
    "a real duration from the file: $row->{duration_ms} ms");
like($row->{duration_seconds}, qr/^\d+$/, 'duration_seconds in whole '
    . "seconds, as the seed's INTEGER: $row->{duration_seconds}");
is($row->{duration_seconds}, int($row->{duration_ms} / 1000 + 0.5),
    'rounded from the milliseconds');
my $stored = "$store/$row->{storage_path}";
ok(-f $stored, 'the file is in storage');
is(Digest::SHA->new(256)->addfile($stored, 'b')->hexdigest, $sha,
    'byte for byte');
ok(!-e $spoolfile, 'the spool file is gone once stored');
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
is($r->{json}{status}, 'completed', 'the API shows completed');
is($r->{json}{duration_seconds}, $row->{duration_seconds},
    'with the probed duration');
is($r->{json}{duration_ms}, $row->{duration_ms}, 'in milliseconds too');
like($r->{body}, qr/"duration_seconds":\d+[,}]/, 'as a JSON integer');

# Downloadable: nginx serves the stored file, Range requests work.
$r = $s->api(GET => "/api/recordings/$id/download", token => $tok);
is($r->{status}, 200, 'download answers 200');
is($r->{headers}{'content-type'}, 'video/mp4', 'as video/mp4');
is(length $r->{body}, $size, 'the whole file');
is(Digest::SHA::sha256_hex($r->{body}), $sha, 'the same bytes');
like($r->{headers}{'content-disposition'} // '',
    qr/attachment; filename="recording_\d{8}_\d{6}_\w{8}\.mp4"/,
    'with its file name');
$r = $s->api(GET => "/api/recordings/$id/download", token => $tok,
    headers => { Range => 'bytes=8-107' });
is($r->{status}, 206, 'a Range request gets 206');
is(length $r->{body}, 100, 'the 100 bytes asked for');
is($r->{body}, substr(slurp($stored), 8, 100), 'the right ones');
my $other = $s->token(user => uuid(), company => $co, username => 'peer');
is($s->api(GET => "/api/recordings/$id/download", token => $other)
    ->{status}, 403, 'not for a user who may not view it');
is($s->api(GET => "/api/recordings/$id/download")->{status}, 401,
    'not without a token');
is($s->api(GET => "/_meetrec_files/$row->{storage_path}")->{status}, 404,
    'the files location is internal to nginx');
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_recording_access_logs WHERE recording_id = '$id' AND "
    . "action = 'download'"), 1, 'the download was logged once: not the '
    . 'Range read from byte 8 (a seek), not the refusals');

# A second run has nothing to do.
$r = $s->reaper('--pass', 'upload');
like($r->{err}, qr/pass=upload done items=0/, 'nothing left to upload');

# 2. Audio only: an Ogg file, probed too.
my $aid = record(body => { audio_only => \1 });
$s->reaper('--pass', 'upload');
$row = row($aid);
is($row->{status}, 'completed', 'audio recording completed');
like($row->{storage_path}, qr/\.ogg$/, 'stored as .ogg');
ok($row->{duration_seconds} >= 1, "Ogg duration $row->{duration_seconds} s");
ok($row->{duration_ms} >= 1000, "Ogg duration $row->{duration_ms} ms");

# 3. Storage failing: the room's folder cannot be created (a file is in
# the way), so the upload fails, counts an attempt and backs off.
my $bid = record();
my $room = $s->pg->psql("SELECT room_code FROM project_management."
    . "pm_meeting_recordings WHERE id = '$bid'");
open(my $fh, '>', "$store/$room") or die;
close $fh;
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 1, 'a failed upload makes the run exit 1');
$row = row($bid);
is($row->{status}, 'processing', 'still processing');
is($row->{upload_attempts}, 1, 'one attempt counted');
like($row->{last_error}, qr/could not create/, 'last_error says why');
is($row->{next_attempt_future}, 'true', 'next attempt is in the future');
ok(-s "$spool/$bid.mp4", 'the spool file is kept');
$r = $s->reaper('--pass', 'upload');
like($r->{err}, qr/done items=0/, 'not retried before its time');
# Storage back; time passes.
unlink "$store/$room";
$s->pg->psql("UPDATE project_management.pm_meeting_recordings SET "
    . "next_attempt_at = now() WHERE id = '$bid'");
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the retry succeeds');
is(row($bid)->{status}, 'completed', 'completed after the retry');
ok(!-e "$spool/$bid.mp4", 'spool cleared after success');

# 4. Failing past the limit: failed, spool kept for an admin retry.
my $cid = record();
$room = $s->pg->psql("SELECT room_code FROM project_management."
    . "pm_meeting_recordings WHERE id = '$cid'");
open($fh, '>', "$store/$room") or die;
close $fh;
for my $try (1 .. 3) {
	$s->pg->psql("UPDATE project_management.pm_meeting_recordings SET "
	    . "next_attempt_at = now() WHERE id = '$cid'");
	$s->reaper('--pass', 'upload');
}
$row = row($cid);
is($row->{upload_attempts}, 3, 'three attempts');
is($row->{status}, 'failed', 'failed after upload_max_attempts');
ok(-s "$spool/$cid.mp4", 'the spool file stays for a retry');
$r = $s->api(GET => "/api/recordings/$cid/download", token => $tok);
is($r->{status}, 409, 'a failed recording cannot be downloaded');
is($r->{json}{code}, 'not_ready', 'code not_ready');
$s->pg->psql("UPDATE project_management.pm_meeting_recordings SET "
    . "next_attempt_at = now() WHERE id = '$cid'");
$r = $s->reaper('--pass', 'upload');
like($r->{err}, qr/done items=0/, 'a failed recording is not retried');

# However many attempts a row has counted (only SQL by hand gets past
# upload_max_attempts), a failure is recorded with a backoff of at most
# 6 hours: the backoff was computed in float8 and overflowed.
for my $tries (1100, 2**31 - 2, 2**31 - 1) {
	$s->pg->psql("UPDATE project_management.pm_meeting_recordings SET "
	    . "status = 'processing', upload_attempts = $tries, "
	    . "next_attempt_at = now(), last_error = NULL WHERE id = '$cid'");
	$r = $s->reaper('--pass', 'upload');
	like($r->{err}, qr/rec=\Q$cid\E action=failed/,
	    "$tries attempts: the reaper records the failure");
	$row = row($cid);
	is($row->{upload_attempts}, $tries < 2**31 - 1 ? $tries + 1 : $tries,
	    "$tries attempts: the failure is counted");
	is($row->{status}, 'failed', '... past the limit: failed');
	like($row->{last_error}, qr/could not create/, '... saying why');
	my $wait = $s->pg->psql("SELECT extract(epoch FROM next_attempt_at - "
	    . "updated_at)::int FROM project_management.pm_meeting_recordings "
	    . "WHERE id = '$cid'");
	is($wait, 21600, '... the backoff capped at 6 hours');
}
unlink "$store/$room";

# 5. Watching: an upload within moments of egress_ended, woken by NOTIFY
# (the periodic sweep is 30 s away, so only the notification can do it).
my $w = $s->start_reaper(name => 'reaper-watch');
$s->wait_log('reaper-watch', qr/pass=orphans done/);
my $wid = record();
my $end = time + 20;
sleep 0.05 while time < $end && row($wid)->{status} ne 'completed';
is(row($wid)->{status}, 'completed', 'the watching reaper uploaded it');
like($s->log('reaper-watch'), qr/rec=\Q$wid\E action=uploaded/,
    'woken by the webhook\'s NOTIFY');

# PostgreSQL restarts under the watching reaper: it connects again and
# LISTENs again, so the next upload is still woken by NOTIFY.
$s->restart_pg;
my $rid = record();
$end = time + 20;
sleep 0.05 while time < $end && row($rid)->{status} ne 'completed';
is(row($rid)->{status}, 'completed',
    'after a PostgreSQL restart the watching reaper still uploads at once');

$s->finish;
done_testing();
