#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The S3 backend against a local SigV4-checking server (s3rver, through
# t/s3/s3server.mjs), driven by meetrec-admin store put|stat|del|url: a
# small file in one PUT and a large one in parts, both byte-identical and
# readable through the presigned URL; awkward keys; wrong credentials and
# a missing bucket refused clearly with nothing stored; a part that keeps
# failing aborts the upload; a server killed mid-upload fails the put and
# a second put succeeds, aborting the upload the first one left; memory stays flat on a 200 MiB upload with parts
# larger than the memory limit.  Then the reaper uploads a recording to S3
# and the download API redirects to a working presigned URL; a recording
# that fails, or is purged, while S3 cannot remove what an earlier
# attempt stored waits for S3 instead of leaving the object behind.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::S3;
use Meetrec::Test::Proc qw(spawn wait_for run_cmd);
use Meetrec::Test::Util qw(free_port http random_bytes slurp spew uuid);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::S3::require_prereqs();

my $MiB = 1024 * 1024;
# The server's port is fixed before the stack writes it into the config;
# the server itself lives in the stack's folder, started right after.
my $port = free_port();
my %s3o = (bucket => 'meetrec-test', port => $port);
my $s = Meetrec::Test::Stack->new(conf => {
	storage_type => 's3',
	s3_endpoint => "http://127.0.0.1:$port",
	s3_bucket => $s3o{bucket},
	s3_access_key => 'AKMEETRECTEST',
	s3_secret_key => 'c2VjcmV0/with+slash=',
	# s3rver has no 5 MiB minimum (AWS's EntityTooSmall) and our config
	# none under 64 KiB: small parts make several of them cheaply.
	s3_multipart_threshold => $MiB,
	s3_part_size => 512 * 1024,
});
my $s3 = Meetrec::Test::S3->new(dir => $s->dir . '/s3', %s3o,
    access_key => 'AKMEETRECTEST', secret_key => 'c2VjcmV0/with+slash=');
my $d = $s->dir;
my $secret = $s3->secret_key;

# admin(\%env, @args) - meetrec-admin with extra environment.
sub admin_env {
	my ($env, @args) = @_;
	return run_cmd([ Meetrec::Test::Stack::admin_bin(), '--config',
	    $s->conf_path, @args ], env => { %{ $s->_prog_env }, %$env },
	    cwd => $d, log => "$d/log/meetrec-admin.log");
}

sub file_of {
	my ($name, $bytes) = @_;
	my $f = "$d/$name";
	spew($f, $bytes);
	return $f;
}

sub requests_like {
	my ($re) = @_;
	return scalar grep { "$_->[0] $_->[1] $_->[2]" =~ $re } $s3->requests;
}

# 1. A small file: one PUT, byte for byte, and a presigned URL that works.
my $small = random_bytes(100_000);
my $f = file_of('small.bin', $small);
my $r = $s->admin_run('store', 'put', $f, 'room1/small.bin');
is($r->{rc}, 0, 'put a 100 kB file') or diag($r->{err});
like($r->{out}, qr/^stored room1\/small\.bin 100000$/m, 'reports the size');
is(requests_like(qr{^PUT /meetrec-test/room1/small\.bin 200$}), 1,
    'in one PUT');
is(requests_like(qr{uploads=}), 0, 'no multipart upload for it');
is(slurp($s3->object_file('room1/small.bin')), $small,
    'the stored object is byte-identical');
unlike($r->{err}, qr/\Q$secret\E/, 'the secret is not logged');

$r = $s->admin_run('store', 'stat', 'room1/small.bin');
like($r->{out}, qr/^room1\/small\.bin 100000 "[0-9a-f]{32}"$/m,
    'stat: size and ETag');
$r = $s->admin_run('store', 'stat', 'room1/none.bin');
is($r->{rc}, 0, 'stat of an absent key succeeds');
like($r->{out}, qr/^room1\/none\.bin absent$/m, 'and says absent');

$r = $s->admin_run('store', 'url', 'room1/small.bin');
is($r->{rc}, 0, 'url succeeds') or diag($r->{err});
chomp(my $url = $r->{out});
like($url, qr{^http://127\.0\.0\.1:$port/meetrec-test/room1/small\.bin\?
    X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKMEETRECTEST%2F\d{8}
    %2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z
    &X-Amz-Expires=3600&X-Amz-SignedHeaders=host
    &X-Amz-Signature=[0-9a-f]{64}$}x,
    'a presigned GET URL, path-style');
my $g = http(GET => $url);
is($g->{status}, 200, 'the presigned URL works against the server');
ok($g->{body} eq $small, 'and gives the same bytes');
(my $longer = $url) =~ s/X-Amz-Expires=3600/X-Amz-Expires=3601/;
$g = http(GET => $longer);
is($g->{status}, 403, 'a URL whose expiry was changed is refused');
like($g->{body}, qr/SignatureDoesNotMatch/, 'as SignatureDoesNotMatch');
$r = $s->admin_run('store', 'url', 'room1/small.bin', '--ttl', 1);
chomp($url = $r->{out});
like($url, qr/X-Amz-Expires=1&/, '--ttl sets X-Amz-Expires');
my $t0 = time;
sleep 0.1 while time < $t0 + 2.2;
$g = http(GET => $url);
is($g->{status}, 403, 'an expired URL is refused');

# 2. Above the threshold: a multipart upload, complete, nothing left over.
my $big = random_bytes(3 * $MiB + 12345);
$f = file_of('big.bin', $big);
$r = $s->admin_run('store', 'put', $f, 'room1/big.bin');
is($r->{rc}, 0, 'put a 3 MiB file') or diag($r->{err});
is(requests_like(qr{^POST /meetrec-test/room1/big\.bin\?uploads= 200$}), 1,
    'one multipart upload started');
is(requests_like(qr{^PUT\ /meetrec-test/room1/big\.bin
    \?partNumber=\d+&uploadId=\w+\ 200$}x),
    7, 'seven 512 KiB parts');
is(requests_like(qr{^POST /meetrec-test/room1/big\.bin\?uploadId=\w+ 200$}),
    1, 'completed');
is(requests_like(qr{^HEAD /meetrec-test/room1/big\.bin 200$}), 1,
    'and its size checked');
ok(slurp($s3->object_file('room1/big.bin')) eq $big,
    'the object is byte-identical');
is_deeply([ $s3->uploads ], [], 'no multipart upload left over');
$r = $s->admin_run('store', 'stat', 'room1/big.bin');
like($r->{out}, qr/^room1\/big\.bin ${\ length $big} /m,
    'stat: the full size');
chomp($url = $s->admin('store', 'url', 'room1/big.bin'));
$g = http(GET => $url);
ok($g->{status} == 200 && $g->{body} eq $big,
    'the presigned URL gives the whole object');

# 3. Keys with spaces, unicode and '+', and a prefix.
my $key = "Raum 1/Aufnahme \x{fc} \x{20ac}+x (1).bin";
utf8::encode($key);
$f = file_of('odd.bin', $small);
$r = $s->admin_run('store', 'put', $f, $key);
is($r->{rc}, 0, 'put under a key with spaces, unicode and +')
    or diag($r->{err});
ok(-e $s3->object_file($key) && slurp($s3->object_file($key)) eq $small,
    'stored under exactly that name');
ok(requests_like(qr{^PUT\ /meetrec-test/Raum%201/
    Aufnahme%20%C3%BC%20%E2%82%AC%2Bx%20%281%29\.bin\ 200$}x),
    'every segment percent-encoded, upper-case hex');
chomp($url = $s->admin('store', 'url', $key));
$g = http(GET => $url);
ok($g->{status} == 200 && $g->{body} eq $small,
    'its presigned URL works');
like($s->admin('store', 'stat', $key), qr/ 100000 /, 'stat finds it');
is($s->admin('store', 'del', $key), "deleted $key", 'del');
ok(!-e $s3->object_file($key), 'the object is gone');
like($s->admin('store', 'stat', $key), qr/ absent$/, 'stat: absent');
is($s->admin('store', 'del', $key), "deleted $key",
    'deleting it again succeeds');
$r = admin_env({ MEETREC_S3_PREFIX => '/recordings' }, 'store', 'put', $f,
    'room1/p.bin');
is($r->{rc}, 0, 'put with s3_prefix') or diag($r->{err});
ok(-e $s3->object_file('recordings/room1/p.bin'),
    'the prefix is a folder in front of the key');
$r = $s->admin_run('store', 'put', $f, 'room1/../etc.bin');
is($r->{rc}, 1, 'a key with a ".." segment is refused');
like($r->{err}, qr/not a valid object name/, 'saying why');

# 4. Wrong credentials: a clear error, nothing stored, secrets not shown.
for my $case ([ 'single', 'small.bin', 'room1/bad-small.bin' ],
    [ 'multipart', 'big.bin', 'room1/bad-big.bin' ]) {
	my ($what, $file, $k) = @$case;
	$r = admin_env({ MEETREC_S3_SECRET_KEY => 'not-the-secret' }, 'store',
	    'put', "$d/$file", $k);
	is($r->{rc}, 1, "wrong secret ($what): put fails");
	like($r->{err},
	    qr/refused our credentials \(S3 SignatureDoesNotMatch\)/,
	    "wrong secret ($what): says the credentials were refused");
	ok(!-e $s3->object_file($k), "wrong secret ($what): nothing stored");
	unlike($r->{err}, qr/not-the-secret|\Q$secret\E/,
	    "wrong secret ($what): no secret in the message");
}
is_deeply([ $s3->uploads ], [], 'no multipart upload was started');
$r = admin_env({ MEETREC_S3_ACCESS_KEY => 'AKNOBODY' }, 'store', 'put',
    "$d/small.bin", 'room1/bad-key.bin');
like($r->{err}, qr/refused our credentials \(S3 InvalidAccessKeyId\)/,
    'an unknown access key: InvalidAccessKeyId');
$r = admin_env({ MEETREC_S3_SECRET_KEY => 'not-the-secret' }, 'store',
    'stat', 'room1/small.bin');
like($r->{err}, qr/refused our credentials \(S3 HTTP 403\)/,
    'stat with a wrong secret: refused too (a HEAD has no error body)');

# 5. A missing bucket: a configuration error, for every operation.
for my $op ([ 'put', "$d/big.bin", 'x.bin' ], [ 'stat', 'x.bin' ],
    [ 'del', 'x.bin' ]) {
	$r = admin_env({ MEETREC_S3_BUCKET => 'no-such-bucket' }, 'store',
	    @$op);
	is($r->{rc}, 1, "missing bucket: $op->[0] fails");
	like($r->{err}, qr/bucket does not exist \(S3 NoSuchBucket\)/,
	    "missing bucket: $op->[0] says so");
}

# 6. Nothing listening: unreachable, quickly.
my $closed = free_port();
$t0 = time;
$r = admin_env({ MEETREC_S3_ENDPOINT => "http://127.0.0.1:$closed" },
    'store', 'put', "$d/small.bin", 'room1/x.bin');
like($r->{err}, qr/storage could not be reached/,
    'a closed port: the storage could not be reached');
ok(time - $t0 < 10, 'within seconds (three tries)');
# A config the backend cannot use: refused when opening (and under ASan,
# closing after the failed open frees what it had).
$r = admin_env({ MEETREC_S3_ENDPOINT => 'ftp://127.0.0.1/x' }, 'store',
    'stat', 'x.bin');
is($r->{rc}, 1, 'an unusable s3_endpoint: refused');
like($r->{err}, qr/s3_endpoint must be http\[s\]:\/\/host\[:port\]/,
    'saying what it must look like');

# 7. A part that keeps failing: the upload is aborted, nothing remains.
$s3->fail_part(3);
my $before = requests_like(qr{partNumber=3&});
$r = $s->admin_run('store', 'put', "$d/big.bin", 'room1/fail.bin');
$s3->fail_part(0);
is($r->{rc}, 1, 'put fails when part 3 keeps failing');
like($r->{err}, qr/storage refused the request \(HTTP 500 InternalError\)/,
    'with the status and S3 code');
like($r->{err}, qr/multipart upload aborted: part 3 of 7/,
    'naming the part, and the upload was aborted');
is(requests_like(qr{partNumber=3&}) - $before, 3,
    'part 3 was tried three times');
is(requests_like(qr{^DELETE /meetrec-test/room1/fail\.bin\?uploadId=\w+ 204$}),
    1, 'AbortMultipartUpload sent');
is_deeply([ $s3->uploads ], [], 'no parts left on the server');
ok(!-e $s3->object_file('room1/fail.bin'), 'no object');

# 8. A server that stops answering mid-upload: each try of the part
# times out (upload_timeout_ms), then the put fails as a timeout (504,
# worth a retry) and the upload is aborted.
$s3->stall_part(2);
$t0 = time;
$r = admin_env({ MEETREC_UPLOAD_TIMEOUT_MS => 1000 }, 'store', 'put',
    "$d/big.bin", 'room1/slow.bin');
$s3->stall_part(0);
is($r->{rc}, 1, 'a hung server: put fails');
like($r->{err}, qr/storage did not answer in time/, 'as a timeout');
like($r->{err}, qr/multipart upload aborted: part 2 of 7/,
    'in part 2, and the upload was aborted');
ok(time - $t0 < 15, 'after three tries of a second each');
is_deeply([ $s3->uploads ], [], 'nothing left on the server');

# 9. The server killed mid-upload: put fails (unreachable, worth a retry),
# tries to abort, and the same put works once the server is back.
$s3->stall_part(4);
my $mid = "$d/mid.bin";
open(my $fh, '>', $mid) or die "$mid: $!";
truncate($fh, 8 * $MiB) or die "truncate: $!";
close $fh;
my $p = spawn('admin-put-mid', [ Meetrec::Test::Stack::admin_bin(),
    '--config', $s->conf_path, 'store', 'put', $mid, 'room1/mid.bin' ],
    $s->_prog_env, $d, cwd => $d);
wait_for(sub { $s3->log =~ m{room1/mid\.bin\?partNumber=4&\S+ stalled} },
    30, 'part 4 of the upload to reach the server');
is($s3->stop(sig => 'KILL'), 'signal 9', 'S3 server killed mid-upload');
ok($p->wait_exit(timeout => 60), 'meetrec-admin gives up');
is($p->exit_code, 1, 'with exit status 1');
my $out = $p->log_content;
like($out, qr/store put failed: The storage could not be reached/,
    'the storage could not be reached (502, worth a retry)');
like($out, qr/part 4 of 16/, 'in part 4');
like($out, qr{could\ not\ abort\ the\ multipart\ upload\ of
    \ '/meetrec-test/room1/mid\.bin'}x,
    'the abort was attempted');
$s3->start;
is($s3->port, $port, 'server back on the same port');
is(scalar $s3->uploads, 1, 'the killed upload is still on the server');
# A put of another key, killed with the server up: its upload stays too.
$s3->stall_part(2);
$p = spawn('admin-put-mid2', [ Meetrec::Test::Stack::admin_bin(),
    '--config', $s->conf_path, 'store', 'put', $mid, 'room1/mid.bin2' ],
    $s->_prog_env, $d, cwd => $d);
wait_for(sub { $s3->log =~ m{room1/mid\.bin2\?partNumber=2&\S+ stalled} },
    30, 'part 2 of the other upload to reach the server');
$p->signal('KILL');
$p->wait_exit(timeout => 10);
$s3->stall_part(0);
my %key_of = map { $_ => slurp($s->dir . "/s3/data/meetrec-test/._S3rver_uploads/"
    . "$_/key") } $s3->uploads;
is_deeply([ sort values %key_of ], [ 'room1/mid.bin', 'room1/mid.bin2' ],
    'two unfinished uploads, one of each key');
$r = $s->admin_run('store', 'put', $mid, 'room1/mid.bin');
is($r->{rc}, 0, 'putting it again succeeds') or diag($r->{err});
like($r->{err}, qr{aborted 1 unfinished upload\(s\) of 'room1/mid\.bin'},
    'after aborting the upload the killed put left');
like($s->admin('store', 'stat', 'room1/mid.bin'), qr/ 8388608 /,
    'the whole file is there');
is_deeply([ map { $key_of{$_} } $s3->uploads ], [ 'room1/mid.bin2' ],
    'the other key\'s unfinished upload is not touched');
unlink $s3->object_file('room1/mid.bin');

# 10. Memory: 200 MiB through parts of 64 MiB (more than the limit, so a
# buffered part could not hide), peak RSS polled from /proc.
my $huge = "$d/huge.bin";
open($fh, '>', $huge) or die "$huge: $!";
truncate($fh, 200 * $MiB) or die "truncate: $!";
close $fh;
$p = spawn('admin-put-huge', [ Meetrec::Test::Stack::admin_bin(),
    '--config', $s->conf_path, 'store', 'put', $huge, 'room1/huge.bin' ],
    { %{ $s->_prog_env }, MEETREC_S3_PART_SIZE => 64 * $MiB }, $d,
    cwd => $d);
my ($hwm, $pid) = (0, $p->pid);
while ($p->alive) {
	if (open(my $st, '<', "/proc/$pid/status")) {
		local $/;
		my $text = <$st> // '';
		close $st;
		# Only while it is meetrec-admin (not the forked Perl child).
		$hwm = $1 if $text =~ /^Name:\s+meetrec-admin/m
		    && $text =~ /^VmHWM:\s+(\d+) kB/m && $1 > $hwm;
	}
	sleep 0.02;
}
is($p->exit_code, 0, 'put 200 MiB') or diag($p->log_content);
is(requests_like(qr{room1/huge\.bin\?partNumber=\d+&uploadId=\w+ 200$}), 4,
    'in four parts of up to 64 MiB');
like($s->admin('store', 'stat', 'room1/huge.bin'), qr/ 209715200 /,
    'all 200 MiB stored');
my $asan = `ldd ${\ Meetrec::Test::Stack::admin_bin()} 2>/dev/null`
    =~ /libasan/;
note(sprintf 'meetrec-admin peak RSS (VmHWM) putting 200 MiB: %.1f MiB%s',
    $hwm / 1024, $asan ? ' (AddressSanitizer build)' : '');
ok($hwm > 0, 'VmHWM was read while it ran');
SKIP: {
	skip 'AddressSanitizer keeps its own shadow memory: RSS is measured '
	    . 'in the normal build', 1 if $asan;
	ok($hwm < 32 * 1024, 'peak RSS under 32 MiB');
}
unlink $s3->object_file('room1/huge.bin'), $huge, $mid;

# 11. The reaper stores finished recordings in S3 (one PUT carrying the
# file's SHA-256 as its payload hash, and one in parts) with the checksum
# as metadata; the download API redirects to a working presigned URL.
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $T = 'project_management.pm_meeting_recordings';
# recording($status, [ $columns, $values ]) - the id of a new recording in
# room s3room whose egress wrote a complete file.
sub recording {
	my ($status, $extra) = @_;
	my $room = $s->meeting('s3room', host => $host, company => $co);
	return $s->pg->psql("INSERT INTO $T (room_code, meeting_id, "
	    . "company_id, recorded_by, status, egress_id, egress_status, "
	    . "started_at, ended_at$extra->[0]) VALUES ('s3room', '$room', "
	    . "'$co', '$host', '$status', 'EG_' || gen_random_uuid(), "
	    . "'EGRESS_COMPLETE', now(), now()$extra->[1]) RETURNING id");
}
# A whole MP4 of $size bytes (the upload pass refuses what its probe
# cannot read): ftyp, moov with a 5 s mvhd, and random media data.
sub mp4 {
	my ($size) = @_;
	my $box = sub { pack('N', 8 + length $_[1]) . $_[0] . $_[1] };
	my $head = $box->('ftyp', 'isom' . pack('N', 512) . 'isom')
	    . $box->('moov', $box->('mvhd', pack('C x3 N N N N', 0, 0, 0,
	    1000, 5000) . ("\0" x 80)));
	return $head . $box->('mdat', random_bytes($size - length($head) - 8));
}
for my $case ([ 'one PUT', 500_000, 0 ], [ 'in parts', 1_500_000, 1 ]) {
	my ($how, $size, $parts) = @$case;
	my $id = recording('processing', [ '', '' ]);
	my $rec = mp4($size);
	spew($s->config('spool_dir') . "/$id.mp4", $rec);
	$r = $s->reaper('--pass', 'upload');
	is($r->{rc}, 0, "reaper ($how): uploads a recording to S3")
	    or diag($r->{err});
	my ($st, $path, $sum) = split /\|/, $s->pg->psql("SELECT status || "
	    . "'|' || storage_type || ':' || storage_path || '|' || "
	    . "checksum_sha256 FROM $T WHERE id = '$id'");
	is($st, 'completed', "reaper ($how): completed");
	like($path, qr{^s3:s3room/recording_\d{8}_\d{6}_\w{8}\.mp4$},
	    "reaper ($how): in S3 under its key");
	$path =~ s/^s3://;
	is($sum, sha256_hex($rec), "reaper ($how): checksum recorded");
	ok(slurp($s3->object_file($path)) eq $rec,
	    "reaper ($how): the object is the recording");
	is(requests_like(qr{^POST .*\Q$path\E\?uploads= 200$}), $parts,
	    "reaper ($how): " . ($parts ? 'multipart' : 'not multipart'));
	my $meta = slurp($s3->object_file($path)
	    =~ s/_object$/_metadata.json/r);
	like($meta, qr{"content-type":\s*"video/mp4"},
	    "reaper ($how): stored as video/mp4");
	like($meta, qr/"x-amz-meta-sha256":\s*"$sum"/,
	    "reaper ($how): with its SHA-256 as metadata");
	$g = $s->api(GET => "/api/recordings/$id/download", token => $tok);
	is($g->{status}, 302, "download ($how): a redirect");
	my $loc = $g->{headers}{location} // '';
	like($loc,
	    qr{^http://127\.0\.0\.1:$port/meetrec-test/\Q$path\E\?X-Amz-},
	    "download ($how): to a presigned S3 URL");
	$g = http(GET => $loc);
	ok($g->{status} == 200 && $g->{body} eq $rec,
	    "download ($how): which gives the recording");
}

# 12. Nothing stays in S3 that no row leads to.  A recording whose file
# is damaged fails at once, but an earlier attempt (its put done, its
# answer lost) left the whole file at the recording's key; with S3 down
# it cannot be removed, so the recording does not fail yet: it waits,
# with last_error saying why, and fails once S3 answers, the object gone.
# The purge of a recording never stored waits for S3 the same way.
my $whole = mp4(200_000);
my $keyq = "room_code || '/recording_' || to_char(to_timestamp("
    . 'round(extract(epoch FROM coalesce(started_at, created_at)))) AT '
    . "TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS') || '_' || left(id::text, 8) "
    . "|| '.mp4'";
sub leftover_row {
	my $id = recording(@_);
	my $key = $s->pg->psql("SELECT $keyq FROM $T WHERE id = '$id'");
	my $r = $s->admin_run('store', 'put', file_of('left.mp4', $whole),
	    $key);
	is($r->{rc}, 0, "an earlier attempt's put of $id") or diag($r->{err});
	return ($id, $key);
}
my ($id, $left) = leftover_row('processing', [ '', '' ]);
my $cut = substr($whole, 0, length($whole) - 1000);
my $spooled = $s->config('spool_dir') . "/$id.mp4";
spew($spooled, $cut);
is($s3->stop, 'exit 0', 'S3 down');
$r = $s->reaper('--pass', 'upload');
my $waits = quotemeta('(not failed until storage answers: The storage '
    . 'could not be reached.: could not remove what an earlier attempt may '
    . "have stored at '$left': DELETE ") . '[^)]*\)';
my $dmg = "rec=$id action=retry_later attempt=1 error=\"The recording's "
    . "file is damaged: Box 'mdat' ";
like($r->{err}, qr/\Q$dmg\E[^"]* $waits"/,
    'damaged, but not failed while its leftover cannot be removed');
my ($st, $att, $due, $err) = split /\|/, $s->pg->psql("SELECT status "
    . "|| '|' || upload_attempts || '|' || (next_attempt_at > now()) || "
    . "'|' || last_error FROM $T WHERE id = '$id'");
is($st, 'processing', 'the recording is still processing');
is($att, 1, 'the attempt is counted');
is($due, 'true', 'and it is tried again later');
like($err, qr/^The recording's file is damaged: .* $waits\z/,
    'last_error says what it waits for');
ok(-f $s3->object_file($left), 'the leftover is still in S3 (it was down)');
$s3->start;
$s->pg->psql("UPDATE $T SET next_attempt_at = NULL WHERE id = '$id'");
$r = $s->reaper('--pass', 'upload');
like($r->{err}, qr/rec=\Q$id\E action=failed reason=damaged/,
    'with S3 back, the next pass fails it as damaged');
($st, $err) = split /\|/, $s->pg->psql("SELECT status || '|' || "
    . "last_error FROM $T WHERE id = '$id'");
is($st, 'failed', 'failed');
like($err, qr/^The recording's file is damaged: Box 'mdat'/,
    'for its damage');
ok(!-e $s3->object_file($left), 'and the leftover is gone from S3');
is(slurp($spooled), $cut, 'the spool file stays as it was');
unlink $spooled;

($id, $left) = leftover_row('failed', [ ', deleted_at',
    ", now() - interval '40 days'" ]);
$s3->stop;
$r = $s->reaper('--pass', 'purge');
my $gone = 'The storage could not be reached.: could not remove what an '
    . "earlier attempt may have stored at '$left'";
like($r->{err}, qr/pass=purge rec=\Q$id\E action=retry_later error="\Q$gone\E/,
    'a purge while S3 is down waits');
is($s->pg->psql("SELECT count(*) FROM $T WHERE id = '$id'"), 1,
    'the row stays');
$s3->start;
$s->pg->psql("UPDATE $T SET lease_owner = NULL, lease_until = NULL "
    . "WHERE id = '$id'");
$r = $s->reaper('--pass', 'purge');
like($r->{err} . $r->{out}, qr/pass=purge rec=\Q$id\E action=purged/,
    'with S3 back the recording is purged');
is($s->pg->psql("SELECT count(*) FROM $T WHERE id = '$id'"), 0,
    'the row is gone');
ok(!-e $s3->object_file($left), 'and so is its leftover in S3');

is($s3->stop, 'exit 0', 'the S3 server stopped cleanly');
$s->finish;
done_testing();
