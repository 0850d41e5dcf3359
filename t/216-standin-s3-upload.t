#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 216-standin-s3-upload.t - the LiveKit stand-in with a file output that
# has an s3 upload target, driven through its Twirp API as meetrec will
# drive it, against the local S3 server (t/s3/s3server.mjs): the output is
# uploaded once at the end, as one PUT or in 5 MiB parts, and reported as
# egress reports it (filename = the key, location = the object's URL,
# size); the secrets are redacted in the request's echo; a failed upload
# ends the egress FAILED with "S3 upload failed: ..." (400) and no
# location, and egress_ended is still produced; a truncated upload leaves
# a shorter object than the size reported; requests without s3 still
# write local files.  See shared/protocols/livekit.md section 6a.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Spec;
use JSON::PP ();
use Meetrec::Test::Stack;
use Meetrec::Test::S3;
use Meetrec::Test::Util qw(http jwt_hs256 json_decode slurp);

Meetrec::Test::Stack::require_prereqs(qw(pg node));
Meetrec::Test::S3::require_prereqs();

my $MiB = 1024 * 1024;
my $T = JSON::PP::true;

# The stand-in alone (with the PostgreSQL every stack has): no pool, no
# nginx, so no webhook receiver either; webhooks are recorded, not sent.
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1,
    no_migrate => 1);
my $d = $s->dir;
my $s3 = Meetrec::Test::S3->new(dir => "$d/s3", bucket => 'recordings');
my ($bucket, $port) = ($s3->bucket, $s3->port);
my $secret = $s3->secret_key;

# An API token as meetrec mints it for LiveKit.
my $lk = jwt_hs256($s->lk_secret, { iss => $s->lk_key, nbf => time - 5,
    exp => time + 3600, video => { roomRecord => $T } });

sub twirp {
	my ($method, $body) = @_;
	return http(POST => $s->standin_url("/twirp/livekit.Egress/$method"),
	    { headers => { Authorization => "Bearer $lk" }, json => $body });
}

sub ctl { return $s->standin(@_) }

# mode(%settings) - the defaults, webhooks recorded only, and %settings.
sub mode {
	my (%m) = @_;
	ctl(POST => 'reset');
	my $r = ctl(POST => 'mode', { webhooks => 'drop', %m });
	die "mode: $r->{status} $r->{body}" unless $r->{status} == 200;
}

# The S3 upload target as meetrec sends it.
sub target {
	return { accessKey => $s3->access_key, secret => $secret,
	    region => 'us-east-1', endpoint => $s3->endpoint,
	    bucket => $bucket, forcePathStyle => $T, @_ };
}

sub start_body {
	my ($room, $key, %s3) = @_;
	return { roomName => $room, layout => 'grid', fileOutputs => [{
	    fileType => 'MP4', filepath => $key, disableManifest => $T,
	    s3 => target(%s3) }] };
}

# record($room, $key, %s3) - Start, ACTIVE, Stop, the end: returns
# { id, start (the Start reply), item (ListEgress), ended (egress_ended's
# egressInfo, camelCase), upload (the stand-in's record of it) }.
sub record {
	my ($room, $key, %s3) = @_;
	my $r = twirp(StartRoomCompositeEgress => start_body($room, $key, %s3));
	is($r->{status}, 200, "$room: Start answers 200") or diag($r->{body});
	my $id = $r->{json}{egress_id} // '';
	$s->standin_idle;
	my $st = twirp(StopEgress => { egressId => $id });
	is($st->{status}, 200, "$room: Stop answers 200") or diag($st->{body});
	$s->standin_idle;
	my $l = twirp(ListEgress => { egressId => $id });
	my ($ended) = grep {
		$_->{event} eq 'egress_ended' && $_->{egress_id} eq $id
	} @{ ctl(GET => 'webhooks')->{json}{webhooks} };
	my ($up) = grep { $_->{egress_id} eq $id }
	    @{ ctl(GET => 'uploads')->{json}{uploads} };
	return { id => $id, start => $r->{json}, start_body => $r->{body},
	    item => $l->{json}{items}[0] // {},
	    ended => $ended ? json_decode($ended->{body})->{egressInfo} : {},
	    upload => $up // {} };
}

sub s3_requests_like {
	my ($re) = @_;
	return scalar grep { "$_->[0] $_->[1] $_->[2]" =~ $re } $s3->requests;
}

# A leftover of the stand-in's temp files for egress $id.
sub temp_left {
	my ($id) = @_;
	return glob(File::Spec->tmpdir . "/standin-$id-*");
}

# 1. A small recording: one PUT, reported as egress reports it.
mode();
my $key = 'meetrec/0c5d2f9e-6a2b-4c43-9d67-2f1f1a9e4b01.mp4';
my $x = record('s3-small', $key);
my $id = $x->{id};
my $loc = "https://127.0.0.1:$port/$bucket/$key";
is($x->{start}{file_results}[0]{filename}, $key,
    'the Start reply names the key as filename');
is($x->{start}{file_results}[0]{location}, '', '... with no location yet');
my $echo = $x->{start}{room_composite}{file_outputs}[0]{s3} // {};
is($echo->{access_key}, '{access_key}', 'the echoed request hides the key');
is($echo->{secret}, '{secret}', '... and the secret');
is($echo->{endpoint}, $s3->endpoint, '... and keeps the endpoint');
unlike($x->{start_body}, qr/\Q$secret\E/, 'the secret is in no reply');

my $item = $x->{item};
my $fr = $item->{file_results}[0] // {};
is($item->{status}, 'EGRESS_COMPLETE', 'ListEgress: COMPLETE');
is($fr->{filename}, $key, 'fileResults[0].filename is the key');
is($fr->{location}, $loc, 'location is https://<endpoint host>/<bucket>/<key>');
like($fr->{size} // '', qr/^[1-9]\d*$/, 'size is an int64 string');
is_deeply($item->{file}, $fr, 'the legacy file result is the same');
my $size = $fr->{size} // 0;

my $ev = $x->{ended};
is($ev->{status}, 'EGRESS_COMPLETE', 'egress_ended: COMPLETE');
is_deeply([ @{ $ev->{fileResults}[0] // {} }{qw(filename location size)} ],
    [ $key, $loc, $size ], 'egress_ended: the same filename, location, size');
ok(!exists $ev->{error}, 'egress_ended: no error');

my $obj = $s3->get_object($key);
is($obj->{status}, 200, 'the object is in the bucket');
is(length $obj->{body}, $size, '... with the size reported');
is($obj->{headers}{'content-length'}, $size, '... as S3 says it too');
is(substr($obj->{body}, 4, 4), 'ftyp', '... and is an MP4 (ftyp first)');
ok(unpack('N', $obj->{body}) >= 8 && unpack('N', $obj->{body}) < $size,
    '... whose first box has a sane size');
is($obj->{headers}{'content-type'}, 'video/mp4', '... stored as video/mp4');
is(sha256_hex($obj->{body}), $x->{upload}{sha256},
    '... byte for byte what the stand-in generated');
is(s3_requests_like(qr{^PUT /\Q$bucket/$key\E\?\S* 200$}), 1,
    'uploaded once, in one PUT');
is(s3_requests_like(qr{\Q$key\E\?uploads}), 0, '... and no multipart upload');
is($x->{upload}{status}, 'ok', '/_standin/uploads records it');
ok(!temp_left($id), 'the temp file is gone');
ok(!-e "$d/$key", 'nothing was written at the key as a local path');
ok(!grep({ $_->{egress_id} eq $id } @{ ctl(GET => 'files')->{json}{files} }),
    '/_standin/files lists local outputs only');

# 2. A recording above one part: a multipart upload in 5 MiB parts.
mode(mdat_bytes => 11 * $MiB);
my $bigkey = 'meetrec/big.mp4';
$x = record('s3-big', $bigkey);
$fr = $x->{item}{file_results}[0] // {};
is($x->{item}{status}, 'EGRESS_COMPLETE', 'large: COMPLETE');
ok(($fr->{size} // 0) > 11 * $MiB, 'large: the size reported');
$obj = $s3->get_object($bigkey);
is(length $obj->{body}, $fr->{size}, 'large: the object has that size');
is(sha256_hex($obj->{body}), $x->{upload}{sha256},
    'large: byte for byte what the stand-in generated');
ok($x->{upload}{multipart} && $x->{upload}{parts} == 3,
    'large: three parts') or diag(explain($x->{upload}));
is(s3_requests_like(qr{^POST /\Q$bucket/$bigkey\E\?uploads\S* 200$}), 1,
    'large: one multipart upload created');
is(s3_requests_like(qr{^PUT /\Q$bucket/$bigkey\E\?partNumber=\d\S* 200$}), 3,
    'large: three parts sent');
is(scalar $s3->uploads, 0, 'large: no multipart upload left open');

# 3. Uploads that fail: FAILED, 400, egress's text, no location, no object,
# and egress_ended still produced.  The text when S3 answered with an
# error: the Go SDK's, wrapped with the status as livekit/storage does.
sub s3_said {
	my ($op, $status, $code) = @_;
	return qr/^S3\ upload\ failed:\ Err:\ operation\ error\ S3:\ $op,
	    \ https\ response\ error\ StatusCode:\ $status,
	    \ RequestID:\ \S*,\ HostID:\ \S*,
	    \ api\ error\ $code:\ .+,\ Status\ Code:\ $status$/x;
}
my $n = 0;
for my $case (
    [ 'knob fail=credentials', { fail => 'credentials' }, {},
      s3_said('PutObject', 403, 'SignatureDoesNotMatch') ],
    [ 'knob fail=bucket', { fail => 'bucket' }, {},
      s3_said('PutObject', 404, 'NoSuchBucket') ],
    [ 'knob fail=endpoint', { fail => 'endpoint' }, {},
      qr/^S3\ upload\ failed:\ operation\ error\ S3:\ PutObject,
	  \ exceeded\ maximum\ number\ of\ attempts,\ 5,
	  \ https\ response\ error\ StatusCode:\ 0,\ .*
	  \ request\ send\ failed,\ .*ECONNREFUSED/x ],
    [ 'a wrong secret in the request', undef, { secret => "$secret-x" },
      s3_said('PutObject', 403, 'SignatureDoesNotMatch') ],
    [ 'a bucket that does not exist', undef, { bucket => 'no-such-bucket' },
      s3_said('PutObject', 404, 'NoSuchBucket') ],
) {
	my ($name, $knob, $s3o, $re) = @$case;
	mode();
	if ($knob) {
		my $r = ctl(POST => 's3_next', $knob);
		is_deeply($r->{json}{next}, $knob, "$name: armed");
	}
	my $k = 'meetrec/failed-' . ++$n . '.mp4';
	$x = record("s3-fail$n", $k, %$s3o);
	my $it = $x->{item};
	is($it->{status}, 'EGRESS_FAILED', "$name: FAILED");
	is($it->{error_code}, 400, "$name: error_code 400");
	like($it->{error}, $re, "$name: egress's error text")
	    or diag($it->{error});
	is($it->{details}, 'End reason: StopEgress API', "$name: details");
	is($it->{file_results}[0]{location}, '', "$name: no location");
	is($it->{file_results}[0]{size}, '0', "$name: size 0");
	is($it->{file_results}[0]{filename}, $k, "$name: the filename stays");
	is($x->{ended}{status}, 'EGRESS_FAILED', "$name: egress_ended FAILED");
	is($x->{ended}{error}, $it->{error},
	    "$name: egress_ended has the error");
	ok(!exists $x->{ended}{fileResults}[0]{location},
	    "$name: egress_ended has no location");
	is($s3->get_object($k)->{status}, 404, "$name: no object");
	ok(!-e $s3->object_file($k), "$name: nothing in the data folder");
	ok(!temp_left($x->{id}), "$name: the temp file is gone");
	is(ctl(GET => 's3_next')->{json}{next}, undef,
	    "$name: nothing armed any more");
}

# The knob is for the next upload only.
mode();
ctl(POST => 's3_next', { fail => 'credentials' });
record('s3-once-a', 'meetrec/once-a.mp4');
$x = record('s3-once-b', 'meetrec/once-b.mp4');
is($x->{item}{status}, 'EGRESS_COMPLETE',
    'fail knob: the upload after is fine');
ctl(POST => 's3_next', { fail => 'bucket' });
is(ctl(POST => 's3_next', {})->{json}{next}, undef, 'an empty POST disarms');
ctl(POST => 's3_next', { fail => 'bucket' });
ctl(POST => 'reset');
is(ctl(GET => 's3_next')->{json}{next}, undef, 'reset disarms too');
for my $bad ({ fail => 'disk' }, { truncate => -1 }, { truncate => 'x' },
    { fail => 'bucket', truncate => 1 }, { other => 1 }) {
	is(ctl(POST => 's3_next', $bad)->{status}, 400,
	    'a bad knob: 400 (' . join(',', %$bad) . ')');
}

# A part that keeps failing: the multipart upload is aborted and the
# error is the upload manager's.
mode(mdat_bytes => 6 * $MiB);
$s3->fail_part(2, 500);
$x = record('s3-part', 'meetrec/part.mp4');
$s3->fail_part(0);
like($x->{item}{error} // '',
    qr/^S3\ upload\ failed:\ Err:\ upload\ multipart\ failed,
    \ upload\ id:\ \S+,\ cause:\ operation\ error\ S3:\ UploadPart,
    \ exceeded\ maximum\ number\ of\ attempts,\ 5,
    \ https\ response\ error\ StatusCode:\ 500,\ .+,
    \ Status\ Code:\ 500$/x,
    'a failing part: "upload multipart failed ..." with the cause')
    or diag($x->{item}{error});
is($x->{item}{status}, 'EGRESS_FAILED', 'a failing part: FAILED');
ok($x->{upload}{aborted}, 'a failing part: the upload was aborted');
is(scalar $s3->uploads, 0, 'a failing part: no multipart upload left open');
is($s3->get_object('meetrec/part.mp4')->{status}, 404,
    'a failing part: no object');

# 4. A truncated upload: COMPLETE with the full size, a shorter object.
mode();
ctl(POST => 's3_next', { truncate => 1000 });
$x = record('s3-trunc', 'meetrec/trunc.mp4');
$fr = $x->{item}{file_results}[0] // {};
is($x->{item}{status}, 'EGRESS_COMPLETE', 'truncated: still COMPLETE');
ok(($fr->{size} // 0) > 1000, 'truncated: the full size is reported');
is($fr->{location}, "https://127.0.0.1:$port/$bucket/meetrec/trunc.mp4",
    'truncated: and a location');
$obj = $s3->get_object('meetrec/trunc.mp4');
is(length $obj->{body}, 1000, 'truncated: the object has the first 1000 bytes');
ok(length($obj->{body}) < $fr->{size}, 'truncated: shorter than reported');
is($x->{upload}{sent_bytes}, 1000, 'truncated: /_standin/uploads says so');
is($x->{upload}{size}, $fr->{size}, '... next to the size generated');

# 5. The location of egress 1.12 and before: the endpoint as given.
mode(s3_location => 'as_endpoint');
$x = record('s3-old', 'meetrec/old.mp4');
is($x->{item}{file_results}[0]{location},
    $s3->endpoint . "/$bucket/meetrec/old.mp4",
    's3_location as_endpoint: <endpoint>/<bucket>/<key>');

# 6. Start: what the stand-in cannot do is refused; no s3 writes locally.
mode();
my $r = twirp(StartRoomCompositeEgress => start_body('s3-noep', 'k.mp4',
    endpoint => ''));
is($r->{status}, 400, 's3 without an endpoint: 400');
is($r->{json}{code}, 'invalid_argument', '... invalid_argument');
$r = twirp(StartRoomCompositeEgress => { roomName => 's3-gcp',
    fileOutputs => [{ fileType => 'MP4', filepath => 'k.mp4',
    gcp => { bucket => 'b' } }] });
is($r->{status}, 400, 'a gcp target: 400');
$r = twirp(StartRoomCompositeEgress => { roomName => 's3-local',
    fileOutputs => [{ fileType => 'MP4', filepath => "$d/local/l.mp4" }] });
$id = $r->{json}{egress_id} // '';
$s->standin_idle;
twirp(StopEgress => { egressId => $id });
$s->standin_idle;
$fr = twirp(ListEgress => { egressId => $id })->{json}{items}[0]
    {file_results}[0];
is($fr->{location}, "$d/local/l.mp4", 'no s3: the local file, as before');
is(-s "$d/local/l.mp4", $fr->{size}, '... of the size reported');
ok(!grep({ $_->{egress_id} eq $id }
    @{ ctl(GET => 'uploads')->{json}{uploads} }), '... and no S3 upload');

is($s3->stop, 'exit 0', 'the S3 server stopped cleanly');
$s->finish;
done_testing();
