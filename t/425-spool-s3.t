#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# spool_type = s3: no shared disk.  meetrec asks Egress (the stand-in,
# which uploads with the AWS SDK as Egress does) to upload the file itself
# to the incoming prefix of an S3 bucket, named by the recording's id,
# with meetrec's own credentials.  The reaper probes the object with
# ranged reads, hashes it, stores it (copied inside the service when the
# store is the same S3, else streamed: into Nextcloud, a local folder),
# and removes the incoming object.  A truncated object is never
# completed; an incoming object no recording owns is reported.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::S3;
use Meetrec::Test::Nextcloud;
use Meetrec::Test::Proc ();
use Meetrec::Test::Util qw(uuid slurp);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::S3::require_prereqs();
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));
my $T = 'project_management.pm_meeting_recordings';

my $tmp = Meetrec::Test::Stack::_check_root() . '/425-spool-s3-bucket';
my $s3 = Meetrec::Test::S3->new(dir => $tmp, bucket => 'meetrec');
my %spool = (spool_type => 's3', spool_s3_prefix => 'incoming/',
    spool_dir => undef);
my %spool_own = (%spool, spool_s3_endpoint => $s3->endpoint,
    spool_s3_bucket => $s3->bucket, spool_s3_access_key => $s3->access_key,
    spool_s3_secret_key => $s3->secret_key,
    spool_s3_region => $s3->conf->{s3_region});

sub row {
	my ($s, $id) = @_;
	my $l = $s->pg->psql("SELECT concat_ws('|', status, coalesce("
	    . "storage_path, ''), coalesce(file_size_bytes::text, ''), "
	    . "coalesce(checksum_sha256, ''), coalesce(duration_ms::text, ''), "
	    . "coalesce(last_error, '')) FROM $T WHERE id = '$id'");
	my %r;
	@r{qw(status path size sha ms error)} = split /\|/, $l, 6;
	return \%r;
}

my $n = 0;
sub record {
	my ($s, $tok, $host, %o) = @_;
	my $code = 'sp' . ++$n;
	$s->room(code => $code, name => "Spool $n", host => $host,
	    company => $o{company});
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code });
	is($r->{status}, 201, "start $code") or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin_idle;
	$s->standin(POST => 's3_next', $o{fault}) if $o{fault};
	sleep 1.2;
	$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($r->{status}, 202, "stop $code");
	$s->standin_idle;
	return $id;
}

# The upload the stand-in made for recording $id: its key, size, sha256.
sub upload_of {
	my ($s, $id) = @_;
	my $u = $s->standin(GET => 'uploads')->{json}{uploads} // [];
	my ($x) = grep { ($_->{key} // '') =~ /\Q$id\E/ } @$u;
	return $x // {};
}

# One stack per final store; the same bucket for the incoming objects.
for my $final (qw(s3 local nextcloud)) {
	my ($s, $nc);
	if ($final eq 'nextcloud') {
		($s, $nc) = Meetrec::Test::Nextcloud->with_stack(
		    stack => { name => "425-spool-s3-$final" },
		    conf => { %spool_own }, sharees => ['host']);
	} else {
		$s = Meetrec::Test::Stack->new(name => "425-spool-s3-$final",
		    conf => { $final eq 's3' ? (storage_type => 's3',
			%{ $s3->conf }, s3_prefix => 'rec/', %spool) :
			%spool_own });
	}
	my ($co, $host) = (uuid(), uuid());
	my $tok = $s->token(user => $host, company => $co, username => 'host');
	note("final store: $final");

	# Start asked Egress to upload to the incoming prefix, itself.
	my $id = record($s, $tok, $host, company => $co);
	my $up = upload_of($s, $id);
	is($up->{key}, "incoming/$id.mp4",
	    "$final: Egress uploaded to incoming/<id>.mp4");
	is($up->{status}, 'ok', "$final: ... and the upload went through");
	is($up->{endpoint}, $s3->endpoint, "$final: to meetrec's endpoint");
	my $in = $s3->get_object("incoming/$id.mp4");
	is($in->{status}, 200, "$final: the incoming object is there");
	is(sha256_hex($in->{body}), $up->{sha256},
	    "$final: ... with what Egress wrote");
	is(row($s, $id)->{status}, 'processing', "$final: processing");

	my $r = $s->reaper;
	is($r->{rc}, 0, "$final: the reaper stores it") or diag($r->{err});
	my ($how) = $r->{err} =~ /rec=\Q$id\E action=uploaded .* how=(\w+)/;
	my ($pb) = $r->{err} =~ /rec=\Q$id\E action=uploaded .* probe_bytes=(\d+)/;
	is($how, $final eq 's3' ? 'copied' : 'streamed',
	    "$final: " . ($final eq 's3' ? 'copied inside S3' : 'streamed'));
	ok(defined $pb && $pb > 0 && $pb <= 2 * 65536,
	    "$final: probed with ranged reads (" . ($pb // '?') . ' bytes)');
	my $row = row($s, $id);
	is($row->{status}, 'completed', "$final: completed");
	is($row->{sha}, $up->{sha256}, "$final: the SHA-256 of the bytes");
	is($row->{size}, $up->{size}, "$final: the size");
	ok($row->{ms} >= 1000 && $row->{ms} < 30000,
	    "$final: the duration read from the object ($row->{ms} ms)");
	is($s3->get_object("incoming/$id.mp4", method => 'HEAD')->{status},
	    404, "$final: the incoming object is removed");
	my $bytes;
	if ($final eq 's3') {
		$bytes = $s3->get_object("rec/$row->{path}")->{body};
	} elsif ($final eq 'local') {
		$bytes = slurp($s->config->{storage_local_dir} . "/$row->{path}");
	} else {
		$bytes = slurp($nc->file_path("Recordings/$row->{path}"));
	}
	is(sha256_hex($bytes // ''), $up->{sha256},
	    "$final: the stored bytes are Egress's");
	$r = $s->api(GET => "/api/recordings/$id/download", token => $tok);
	is($r->{status} == 302 ? 200 : $r->{status}, 200,
	    "$final: it downloads");

	if ($final eq 'local') {
		# check-config --connect tries the incoming bucket as
		# Egress and the reapers use it.
		my $c = $s->admin_run('check-config', '--connect');
		is($c->{rc}, 0, 'check-config --connect passes')
		    or diag("$c->{out}$c->{err}");
		like("$c->{out}$c->{err}", qr/incoming bucket: a probe object was put, read back with a ranged GET, listed and deleted/,
		    '... having tried the incoming bucket');
		my %bad = %{ Meetrec::Test::Stack::parse_conf($s->conf_path) };
		$bad{spool_s3_secret_key} = 'not-the-secret';
		my $bp = $s->dir . '/bad.conf';
		open(my $fh, '>', $bp) or die "$bp: $!";
		chmod 0600, $bp;
		print {$fh} map { "$_ = $bad{$_}\n" } sort keys %bad;
		close $fh;
		$c = Meetrec::Test::Proc::run_cmd([
		    Meetrec::Test::Stack::admin_bin(), '--config', $bp,
		    'check-config', '--connect' ], timeout => 60);
		isnt($c->{rc}, 0, 'a wrong spool_s3_secret_key fails it');
		like("$c->{out}$c->{err}", qr/spool_s3_secret_key.*could not put a probe object in the incoming bucket/s,
		    '... naming the key') or diag("$c->{out}$c->{err}");

		# A truncated object: Egress says COMPLETE with the whole
		# size, S3 holds a part.  Never completed.
		my $bad = record($s, $tok, $host, company => $co,
		    fault => { truncate => 3000 });
		my $obj = $s3->get_object("incoming/$bad.mp4");
		is(length($obj->{body} // ''), 3000, 'a truncated object');
		$r = $s->reaper;
		$row = row($s, $bad);
		is($row->{status}, 'failed', 'the truncated object fails')
		    or diag($r->{err});
		like($row->{error}, qr/damaged/, '... as damaged');
		is($s3->get_object("incoming/$bad.mp4", method => 'HEAD')
		    ->{status}, 200, '... and the object is kept');

		# LiveKit forgot the egress, its webhooks lost: the bucket
		# decides.  An object is there only once whole: taken at
		# once, where a file would wait for spool_quiet_seconds.
		my $age = sub { $s->pg->psql("UPDATE $T SET created_at = "
		    . "created_at - interval '1 hour', egress_seen_at = "
		    . "now() - interval '1 hour', next_attempt_at = NULL "
		    . "WHERE id = '$_[0]'") };
		$s->standin(POST => 'mode', { webhooks => 'drop' });
		$s->room(code => 'lost1', name => 'Lost 1', host => $host,
		    company => $co);
		$r = $s->api(POST => '/api/recordings/start', token => $tok,
		    json => { room_code => 'lost1' });
		my ($lost, $eg) = @{ $r->{json} }{qw(recording_id egress_id)};
		sleep 1.2;
		$s->standin(POST => 'end', { egress_id => $eg });
		$s->standin(POST => 'forget', { egress_id => $eg });
		$age->($lost);
		$r = $s->reaper('--pass', 'stale,upload');
		like($r->{err}, qr/rec=\Q$lost\E action=process_spool/,
		    'LiveKit forgot the egress: its object is taken at once')
		    or diag($r->{err});
		is(row($s, $lost)->{status}, 'completed', '... and stored');
		is($s3->get_object("incoming/$lost.mp4", method => 'HEAD')
		    ->{status}, 404, '... and removed from the bucket');
		# Forgotten while it ran, no object ever came, and it is
		# past recording_max_seconds: failed, as with no file.
		$s->room(code => 'lost2', name => 'Lost 2', host => $host,
		    company => $co);
		$r = $s->api(POST => '/api/recordings/start', token => $tok,
		    json => { room_code => 'lost2' });
		my ($gone, $eg2) = @{ $r->{json} }{qw(recording_id egress_id)};
		$s->standin(POST => 'forget', { egress_id => $eg2 });
		$s->pg->psql("UPDATE $T SET started_at = now() - interval "
		    . "'2 days' WHERE id = '$gone'");
		$age->($gone);
		$r = $s->reaper('--pass', 'stale');
		like($r->{err}, qr/rec=\Q$gone\E action=failed reason=egress_unknown/,
		    'no object, LiveKit forgot it, past its maximum: failed')
		    or diag($r->{err});
		like(row($s, $gone)->{error}, qr/no file/, '... saying so');
		$s->standin(POST => 'reset');

		# An object no recording owns: reported, kept.
		my $stray = uuid();
		is($s3->get_object("incoming/$stray.mp4", method => 'PUT')
		    ->{status}, 200, 'an object of no recording');
		$r = $s->reaper('--pass', 'orphans');
		like($r->{err}, qr{pass=orphans file=incoming/\Q$stray\E\.mp4 action=reported reason=no_recording},
		    '... is reported') or diag($r->{err});
		unlike($r->{err}, qr{file=incoming/\Q$bad\E}, '... and only it');
		is($s3->get_object("incoming/$stray.mp4", method => 'HEAD')
		    ->{status}, 200, '... and kept');
	}
	$s->finish;
	$nc->stop if $nc;
}

$s3->stop;
done_testing();
