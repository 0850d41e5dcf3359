#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 410-store-nextcloud.t - the Nextcloud storage backend (src/store_webdav.c)
# as meetrec-admin store drives it, against t/nextcloud/ncserver.mjs:
# single PUT below the threshold, chunked upload v2 above it (names,
# headers, MOVE), resume after a crash half-way (finished chunks are not
# sent again, short ones are), a restart when the server lost the upload's
# metadata (412), a slow assembly (a concurrent MOVE gets 423, both puts
# end with the right file), a MOVE whose answer is lost or 504, a server
# that is down or unreachable (retryable failure, then success), quota
# (507), stat, del, hostile PROPFIND answers (a DTD, 9 MiB), share
# (twice is fine, old and new server answers, share off makes no call),
# url (a direct download link: fetched without credentials, Range,
# expiry, ttl clamp, failures), a wrong app password, keys with spaces
# and unicode, and the memory of a 200 MiB chunked upload.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA ();
use Test::More;
use Time::HiRes ();

use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(spawn wait_for run_cmd timeout_factor);
use Meetrec::Test::Util qw(build_root free_port http random_bytes slurp
    spew);
use Meetrec::Test::Nextcloud;

Meetrec::Test::Stack::require_prereqs(qw(pg binaries));
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));

my ($s, $nc) = Meetrec::Test::Nextcloud->with_stack(user => 'meetrec',
    stack => { no_pool => 1, no_nginx => 1, no_standin => 1,
    no_migrate => 1 }, conf => { nextcloud_chunk_threshold => 1048576,
    nextcloud_chunk_size => 262144 });
my ($USER, $PASS, $port) = ($nc->user, $nc->password, $nc->port);
my $d = $s->dir;
my $admin = Meetrec::Test::Stack::admin_bin();
my $env = $s->_prog_env;

my $FILES = "/remote.php/dav/files/$USER";
my $UPLOADS = "/remote.php/dav/uploads/$USER";
my $SHARES = '/ocs/v2.php/apps/files_sharing/api/v1/shares';

# Percent-encode each segment as the backend must (unreserved kept).
sub enc {
	return join '/', map {
		s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ger
	} split m{/}, $_[0], -1;
}

sub mkfile {
	my ($name, $bytes, $mtime) = @_;
	spew("$d/$name", $bytes);
	utime $mtime, $mtime, "$d/$name" if defined $mtime;
	return "$d/$name";
}

sub put {
	my ($file, $key, @rest) = @_;
	return $s->admin_run('store', 'put', $file, $key, @rest);
}

sub sha_file {
	my ($path) = @_;
	return undef unless -f $path;
	return Digest::SHA->new(256)->addfile($path, 'b')->hexdigest;
}

# Requests since log entry $n.
sub since { return @{ $nc->log_entries(since => $_[0]) } }

sub last_seg { return (split m{/}, $_[0])[-1] }

sub chunk_puts {
	my ($id, @log) = @_;
	return grep { $_->{method} eq 'PUT'
	    && $_->{path} =~ m{^\Q$UPLOADS/$id\E/\d+$} } @log;
}

# ---------------------------------------------------------------------
# A small file: one streamed PUT, folders made from the top.
{
	my $small = mkfile('small.bin', random_bytes(1000), 1700000000);
	my $n = $nc->log_count;
	my $r = put($small, 'room-a/small.bin');
	is($r->{rc}, 0, 'small put succeeds') or diag $r->{err};
	like($r->{out}, qr{^stored room-a/small\.bin 1000$}m, 'and says so');
	my @log = since($n);
	my @puts = grep { $_->{method} eq 'PUT' } @log;
	is(scalar @puts, 1, 'one PUT');
	is($puts[0]{path}, "$FILES/Recordings/room-a/small.bin",
	    'to the file under the Recordings folder');
	is($puts[0]{status}, 201, 'answered 201 created');
	is($puts[0]{headers}{'content-length'}, 1000, 'with Content-Length');
	is($puts[0]{headers}{'oc-total-length'}, 1000, 'and OC-Total-Length');
	is($puts[0]{headers}{'x-oc-mtime'}, 1700000000,
	    'and X-OC-Mtime from the file');
	ok(!grep({ $_->{path} =~ m{^\Q$UPLOADS\E} } @log),
	    'no chunked upload for a small file');
	is_deeply([ map { $_->{path} } grep { $_->{method} eq 'MKCOL' } @log ],
	    [ "$FILES/Recordings/", "$FILES/Recordings/room-a/" ],
	    'MKCOL of each missing folder level, from the top');
	is($log[-1]{method}, 'PROPFIND', 'a PROPFIND checks the result');
	is($log[-1]{headers}{depth}, '0', 'with Depth 0');
	ok(!grep({ ($_->{auth} // '') ne 'ok' } @log),
	    'every request carried the credentials (pre-emptive Basic)');
	my $path = $nc->file_path('Recordings/room-a/small.bin');
	is(slurp($path), slurp($small), 'the server holds the same bytes');
	is((stat $path)[9], 1700000000, 'with the mtime sent');

	# Again: the folder exists, so no MKCOL; an overwrite is a 204.
	$n = $nc->log_count;
	my $other = mkfile('small2.bin', random_bytes(1500));
	$r = put($other, 'room-a/small.bin');
	is($r->{rc}, 0, 'overwriting succeeds') or diag $r->{err};
	@log = since($n);
	ok(!grep({ $_->{method} eq 'MKCOL' } @log),
	    'no MKCOL when the folder is there');
	is((grep { $_->{method} eq 'PUT' } @log)[0]{status}, 204,
	    'the overwrite is answered 204');
	is(slurp($path), slurp($other), 'the server holds the new bytes');
}

# ---------------------------------------------------------------------
# 3 MiB: chunked upload v2.
my $big = mkfile('big.bin', random_bytes(3 * 1048576), 1700000100);
my $big_sha = sha_file($big);
{
	my $n = $nc->log_count;
	my $r = put($big, 'room-a/big.mp4', '--upload-id', 'meetrec-big1');
	is($r->{rc}, 0, 'a 3 MiB put succeeds') or diag $r->{err};
	my @log = since($n);
	my $dest = $nc->url . "$FILES/Recordings/room-a/big.mp4";
	my ($pf) = grep { $_->{method} eq 'PROPFIND'
	    && $_->{path} eq "$UPLOADS/meetrec-big1" } @log;
	ok($pf && $pf->{headers}{depth} eq '1',
	    'the upload folder is looked at first (PROPFIND Depth 1)');
	my ($mk) = grep { $_->{method} eq 'MKCOL'
	    && $_->{path} eq "$UPLOADS/meetrec-big1" } @log;
	ok($mk, 'the upload folder is made');
	is($mk && $mk->{headers}{destination}, $dest,
	    'with a Destination header');
	my @cp = chunk_puts('meetrec-big1', @log);
	is_deeply([ map { last_seg($_->{path}) } @cp ],
	    [ map { sprintf '%05d', $_ } 1 .. 12 ],
	    'twelve chunks named 00001..00012, in order');
	is(scalar(grep { ($_->{headers}{destination} // '') eq $dest } @cp),
	    12, 'each chunk PUT carries Destination');
	is(scalar(grep { ($_->{headers}{'oc-total-length'} // '') eq
	    '3145728' } @cp), 12, 'and OC-Total-Length');
	is(scalar(grep { ($_->{headers}{'content-length'} // '') eq
	    '262144' } @cp), 12, 'and is 256 KiB long');
	my @mv = grep { $_->{method} eq 'MOVE' } @log;
	is(scalar @mv, 1, 'one MOVE');
	is($mv[0]{path}, "$UPLOADS/meetrec-big1/.file", 'of .file');
	is($mv[0]{headers}{destination}, $dest, 'to the destination');
	is($mv[0]{headers}{'oc-total-length'}, 3145728,
	    'with OC-Total-Length');
	is($mv[0]{headers}{'x-oc-mtime'}, 1700000100, 'and X-OC-Mtime');
	is($mv[0]{status}, 201, 'answered 201');
	ok(!grep({ $_->{method} eq 'PUT'
	    && $_->{path} eq "$FILES/Recordings/room-a/big.mp4" } @log),
	    'no single PUT of the file');
	is($log[-1]{method} . ' ' . $log[-1]{path},
	    "PROPFIND $FILES/Recordings/room-a/big.mp4",
	    'the stored size is checked last');
	is(sha_file($nc->file_path('Recordings/room-a/big.mp4')), $big_sha,
	    'the assembled file is byte-identical');
	ok(!-e $nc->upload_dir('meetrec-big1'),
	    'the upload folder is gone after the MOVE');

	# Without --upload-id one is derived from the key.
	my $mid = mkfile('mid.bin', random_bytes(1536 * 1024));
	$n = $nc->log_count;
	$r = put($mid, 'room-a/mid.mp4');
	is($r->{rc}, 0, 'a chunked put without an upload id succeeds')
	    or diag $r->{err};
	@log = since($n);
	my @ids = map { $_->{path} =~ m{^\Q$UPLOADS\E/([^/]+)/\d+$} ? $1 : () }
	    grep { $_->{method} eq 'PUT' } @log;
	is(scalar @ids, 6, 'six chunks');
	like($ids[0] // '', qr/^meetrec-[0-9a-f]{32}$/,
	    'under a derived upload id');
	is(sha_file($nc->file_path('Recordings/room-a/mid.mp4')),
	    sha_file($mid), 'byte-identical');
}

# ---------------------------------------------------------------------
# Resume: the connection dies on the 5th chunk; the next put sends only
# what is missing.
{
	$nc->faults({ fail_chunk_puts_after => 4 });
	my $n = $nc->log_count;
	my $r = put($big, 'room-a/resume.mp4', '--upload-id', 'meetrec-res');
	is($r->{rc}, 1, 'the put fails when the server goes away half-way');
	like($r->{err}, qr/could not be reached/,
	    'with a retryable (transport) error');
	my @log = since($n);
	my @cp = chunk_puts('meetrec-res', @log);
	cmp_ok(scalar(grep { last_seg($_->{path}) eq '00005' } @cp), '>=',
	    2, 'the failing chunk was tried again before giving up');
	my @held = sort map { last_seg($_) }
	    glob $nc->upload_dir('meetrec-res') . '/0*';
	is_deeply(\@held, [ map { sprintf '%05d', $_ } 1 .. 4 ],
	    'the server holds chunks 1-4');

	$nc->faults({});
	$n = $nc->log_count;
	$r = put($big, 'room-a/resume.mp4', '--upload-id', 'meetrec-res');
	is($r->{rc}, 0, 'the second put succeeds') or diag $r->{err};
	@log = since($n);
	@cp = chunk_puts('meetrec-res', @log);
	is_deeply([ map { last_seg($_->{path}) } @cp ],
	    [ map { sprintf '%05d', $_ } 5 .. 12 ],
	    'only chunks 5-12 are sent: 1-4 are not PUT again');
	ok(!grep({ $_->{method} eq 'MKCOL' && $_->{path} =~ /meetrec-res/ }
	    @log), 'the upload folder is reused, not made again');
	is(sha_file($nc->file_path('Recordings/room-a/resume.mp4')), $big_sha,
	    'the resumed file is byte-identical');

	# A crash that leaves half a chunk behind: that one is sent again.
	$nc->faults({ fail_chunk_puts_after => 2, keep_partial => 1 });
	$r = put($big, 'room-a/partial.mp4', '--upload-id', 'meetrec-part');
	is($r->{rc}, 1, 'a put that leaves a short chunk fails');
	is(-s $nc->upload_dir('meetrec-part') . '/00003', 131072,
	    'chunk 3 is on the server, half of it');
	$nc->faults({});
	$n = $nc->log_count;
	$r = put($big, 'room-a/partial.mp4', '--upload-id', 'meetrec-part');
	is($r->{rc}, 0, 'the next put succeeds') or diag $r->{err};
	is_deeply([ map { last_seg($_->{path}) }
	    chunk_puts('meetrec-part', since($n)) ],
	    [ map { sprintf '%05d', $_ } 3 .. 12 ],
	    'the short chunk 3 is sent again, 1-2 are not');
	is(sha_file($nc->file_path('Recordings/room-a/partial.mp4')),
	    $big_sha, 'and the file is byte-identical');
}

# ---------------------------------------------------------------------
# 412 "Missing metadata": the folder is dropped and the upload restarts.
{
	$nc->faults({ fail_chunk_puts_after => 3 });
	my $r = put($big, 'room-a/lost.mp4', '--upload-id', 'meetrec-lost');
	is($r->{rc}, 1, 'a put interrupted after 3 chunks fails');
	$nc->faults({ lose_metadata => 1 });
	my $n = $nc->log_count;
	$r = put($big, 'room-a/lost.mp4', '--upload-id', 'meetrec-lost');
	is($r->{rc}, 0, 'the next put succeeds although the server forgot '
	    . 'the upload') or diag $r->{err};
	my @log = since($n);
	my @seq = map { "$_->{method} $_->{status}" }
	    grep { $_->{path} =~ m{\Q$UPLOADS\E/meetrec-lost} } @log;
	is_deeply([ @seq[0 .. 4] ], [ 'PROPFIND 207', 'PUT 412',
	    'DELETE 204', 'PROPFIND 404', 'MKCOL 201' ],
	    'a 412 makes it delete the folder and start a fresh one');
	is(scalar(grep { $_->{status} == 201 }
	    chunk_puts('meetrec-lost', @log)), 12,
	    'then all twelve chunks go up');
	is(sha_file($nc->file_path('Recordings/room-a/lost.mp4')), $big_sha,
	    'byte-identical');
	$nc->faults({});
}

# ---------------------------------------------------------------------
# Slow assembly: a second put of the same upload meets the lock (423) and
# waits for the first one's result.
{
	$nc->faults({ move_delay_ms => 3000 * timeout_factor() });
	my $n = $nc->log_count;
	my $first = spawn('admin-first', [ $admin, '--config', $s->conf_path,
	    'store', 'put', $big, 'room-b/conc.mp4', '--upload-id',
	    'meetrec-conc' ], $env, $d, cwd => $d,
	    log => "$d/log/admin-first.log");
	wait_for(sub { grep { $_->{method} eq 'MOVE' } since($n) }, 30,
	    "the first put's MOVE");
	my $r = put($big, 'room-b/conc.mp4', '--upload-id', 'meetrec-conc');
	is($r->{rc}, 0, 'a concurrent put of the same upload succeeds')
	    or diag $r->{err};
	ok($first->wait_exit(timeout => 60), 'the first put ends');
	is($first->exit_code, 0, 'and succeeds')
	    or diag $first->log_content;
	my @log = since($n);
	my @mv = grep { $_->{method} eq 'MOVE' } @log;
	ok(scalar(grep { $_->{status} == 423 } @mv),
	    'the concurrent MOVE was refused with 423 (locked)');
	is(scalar(grep { $_->{status} == 201 } @mv), 1,
	    'the file was assembled once');
	is(scalar(chunk_puts('meetrec-conc', @log)), 12,
	    'the second put sent no chunk again');
	is(sha_file($nc->file_path('Recordings/room-b/conc.mp4')), $big_sha,
	    'the file is right');
	$nc->faults({});
	$nc->wait_idle;
}

# ---------------------------------------------------------------------
# The MOVE's answer is lost (connection closed, or a proxy's 504) while
# the server goes on assembling: the client polls and succeeds.
for my $case ([ move_timeout_close => 'closed connection' ],
    [ move_504 => '504 from a proxy' ]) {
	my ($fault, $what) = @$case;
	$nc->faults({ $fault => 1, move_delay_ms => 1000 });
	my $n = $nc->log_count;
	my $key = "room-b/$fault.mp4";
	my $r = put($big, $key, '--upload-id', "meetrec-$fault");
	is($r->{rc}, 0, "a MOVE answered by a $what still succeeds")
	    or diag $r->{err};
	my @log = since($n);
	my @mv = grep { $_->{method} eq 'MOVE' } @log;
	ok(scalar(grep { $_->{status} == 423 } @mv) || @mv == 1,
	    'a repeated MOVE only met the lock');
	ok(scalar(grep { $_->{method} eq 'PROPFIND'
	    && $_->{path} eq "$FILES/Recordings/$key"
	    && $_->{headers}{depth} eq '0' } @log) >= 2,
	    'the destination was polled with PROPFIND');
	$nc->wait_idle;
	is(sha_file($nc->file_path("Recordings/$key")), $big_sha,
	    'the file is right');
}
$nc->faults({});

# ---------------------------------------------------------------------
# The server is down (503), then back; or nothing listens at all.
{
	$nc->faults({ down_for_ms => 2000 * timeout_factor() });
	my $small = mkfile('down.bin', random_bytes(2000));
	my $r = put($small, 'room-c/down.bin');
	is($r->{rc}, 1, 'a put fails while the server answers 503');
	like($r->{err}, qr/answered HTTP 503/,
	    'saying so (a 5xx: worth a retry)');
	wait_for(sub { http(GET => $nc->url . "$FILES/")->{status} != 503 },
	    30, 'the server to come back');
	$r = put($small, 'room-c/down.bin');
	is($r->{rc}, 0, 'and succeeds once it is back') or diag $r->{err};
	is(slurp($nc->file_path('Recordings/room-c/down.bin')), slurp($small),
	    'with the right bytes');

	my $closed = free_port();
	$r = run_cmd([ $admin, '--config', $s->conf_path, 'store', 'put',
	    $small, 'room-c/down.bin' ], env => { %$env,
	    MEETREC_NEXTCLOUD_URL => "http://127.0.0.1:$closed" });
	is($r->{rc}, 1, 'a put fails when nothing listens');
	like($r->{err}, qr/could not be reached/, 'saying it');

	for my $bad ('ftp://127.0.0.1/', "http://$USER:x\@127.0.0.1:$port") {
		$r = run_cmd([ $admin, '--config', $s->conf_path, 'store',
		    'stat', 'room-c/down.bin' ],
		    env => { %$env, MEETREC_NEXTCLOUD_URL => $bad });
		is($r->{rc}, 1, "nextcloud_url $bad is refused");
		like($r->{err}, qr/nextcloud_url must be/, 'saying why');
	}

	$nc->faults({ quota_bytes => 10 });
	$r = put($small, 'room-c/full.bin');
	is($r->{rc}, 1, 'a put fails when the quota is exhausted');
	like($r->{err}, qr/out of space \(HTTP 507\)/, 'saying it');
	$nc->faults({});
}

# ---------------------------------------------------------------------
# stat, del.
{
	my $r = $s->admin_run('store', 'stat', 'room-a/big.mp4');
	is($r->{rc}, 0, 'stat succeeds');
	like($r->{out}, qr{^room-a/big\.mp4 3145728 "[0-9a-f]+"$}m,
	    'with the size and the etag');
	$r = $s->admin_run('store', 'stat', 'room-a/none.mp4');
	like($r->{out}, qr{^room-a/none\.mp4 absent$}m,
	    'stat of a missing file says absent');
	$r = $s->admin_run('store', 'del', 'room-a/mid.mp4');
	is($r->{rc}, 0, 'del succeeds');
	ok(!-e $nc->file_path('Recordings/room-a/mid.mp4'),
	    'the file is gone');
	$r = $s->admin_run('store', 'stat', 'room-a/mid.mp4');
	like($r->{out}, qr{absent}, 'stat says absent');
	$r = $s->admin_run('store', 'del', 'room-a/mid.mp4');
	is($r->{rc}, 0, 'deleting it again succeeds (404 is fine)');
	$nc->faults({ propfind_evil => 'doctype' });
	$r = $s->admin_run('store', 'stat', 'room-a/big.mp4');
	is($r->{rc}, 1, 'a multistatus with a DTD (entity expansion) is '
	    . 'refused');
	like($r->{err}, qr/not a WebDAV multistatus/, 'as not a multistatus');
	$nc->faults({ propfind_evil => 'huge' });
	$r = $s->admin_run('store', 'stat', 'room-a/big.mp4');
	is($r->{rc}, 1, 'a 9 MiB PROPFIND answer is refused');
	like($r->{err}, qr/larger than 8388608 bytes/, 'as too large');
	$nc->faults({});
	$r = $s->admin_run('store', 'put', "$d/small.bin", '../escape.bin');
	is($r->{rc}, 1, 'a key with .. is refused');
	like($r->{err}, qr/not a safe relative path/, 'saying why');
}

# ---------------------------------------------------------------------
# url: a direct download link (PROPFIND oc:fileid, then the OCS direct
# API), fetched without credentials; Range; expiry; the ttl clamped to
# the API's 1..86400; errors for a missing file, a folder, a failing or
# lying API.
{
	my $DIRECT = '/ocs/v2.php/apps/dav/api/v1/direct';
	my $stored = $nc->file_path('Recordings/room-a/big.mp4');
	my $n = $nc->log_count;
	my $r = $s->admin_run('store', 'url', 'room-a/big.mp4');
	is($r->{rc}, 0, 'url succeeds') or diag $r->{err};
	(my $link = $r->{out}) =~ s/\s+\z//;
	like($link, qr{^http://127\.0\.0\.1:$port/remote\.php/direct/
	    [A-Za-z0-9]{60}$}x, 'a direct link with a 60-character token');
	my @log = since($n);
	is_deeply([ map { "$_->{method} $_->{path}" } @log ],
	    [ "PROPFIND $FILES/Recordings/room-a/big.mp4", "POST $DIRECT" ],
	    'a PROPFIND of the file, then the direct API');
	is($log[0]{headers}{depth}, '0', 'PROPFIND with Depth 0');
	is($log[1]{headers}{'ocs-apirequest'}, 'true',
	    'the OCS call says OCS-APIRequest: true');
	is($log[1]{auth}, 'ok', 'with the credentials');
	is($log[1]{status}, 200, 'answered 200');
	my ($d) = @{ $nc->state->{directs} };
	is($d->{ttl}, 3600, 'expirationTime is the ttl asked for');

	$r = http(GET => $link);
	is($r->{status}, 200, 'the link answers 200 without credentials');
	is($r->{headers}{'content-type'}, 'video/mp4', 'as video/mp4');
	is($r->{headers}{'content-length'}, -s $stored, 'with its length');
	is(Digest::SHA::sha256_hex($r->{body}), sha_file($stored),
	    'the stored bytes');
	$r = http(GET => $link, { headers => { Range => 'bytes=10-19' } });
	is($r->{status}, 206, 'a Range request gets 206');
	is($r->{headers}{'content-range'}, 'bytes 10-19/' . -s $stored,
	    'with Content-Range');
	is($r->{body}, substr(slurp($stored), 10, 10), 'and the slice');
	$r = http(GET => $link, { headers => { Range => 'bytes='
	    . (-s $stored) . '-' } });
	is($r->{status}, 416, 'a Range past the end gets 416');
	is(http(GET => $nc->url . '/remote.php/direct/' . ('x' x 60))
	    ->{status}, 404, 'an unknown token gets 404');

	# The file id survives an overwrite, as Nextcloud's does.
	my $f1 = mkfile('ow1.bin', random_bytes(500));
	my $f2 = mkfile('ow2.bin', random_bytes(600));
	is(put($f1, 'room-a/ow.bin')->{rc}, 0, 'a file to overwrite');
	$r = $s->admin_run('store', 'url', 'room-a/ow.bin');
	(my $l1 = $r->{out}) =~ s/\s+\z//;
	is(put($f2, 'room-a/ow.bin')->{rc}, 0, 'overwritten');
	$r = $s->admin_run('store', 'url', 'room-a/ow.bin');
	my @ds = @{ $nc->state->{directs} };
	is($ds[-1]{fileid}, $ds[-2]{fileid}, 'the same fileId after an '
	    . 'overwrite');
	is(http(GET => $l1)->{body}, slurp($f2),
	    'the earlier link serves the new bytes');

	$r = $s->admin_run('store', 'url', 'room-a/big.mp4', '--ttl',
	    7 * 86400);
	is($r->{rc}, 0, 'a week long url succeeds');
	is($nc->state->{directs}[-1]{ttl}, 86400,
	    'clamped to the API\'s maximum, one day');
	$r = $s->admin_run('store', 'url', 'room-a/big.mp4', '--ttl', 1);
	(my $short = $r->{out}) =~ s/\s+\z//;
	is($nc->state->{directs}[-1]{ttl}, 1, 'a one-second link');
	Time::HiRes::sleep(1.3);
	is(http(GET => $short)->{status}, 404, 'gets 404 once expired');

	$r = $s->admin_run('store', 'url', 'room-a/none.mp4');
	is($r->{rc}, 1, 'url of a missing file fails');
	like($r->{err}, qr/missing from the storage server/, 'saying so');
	$r = $s->admin_run('store', 'url', 'room-a');
	is($r->{rc}, 1, 'url of a folder fails');
	like($r->{err}, qr/folder where a file was expected/, 'saying so');
	$nc->faults({ direct_status => 503 });
	$r = $s->admin_run('store', 'url', 'room-a/big.mp4');
	is($r->{rc}, 1, 'url fails while the direct API answers 503');
	like($r->{err}, qr/HTTP 503 while creating a download link/,
	    'naming the problem');
	$nc->faults({ direct_bad_url => 'javascript:alert(1)' });
	$r = $s->admin_run('store', 'url', 'room-a/big.mp4');
	is($r->{rc}, 1, 'a link that is not http(s) is refused');
	like($r->{err}, qr/not an http\(s\) URL/, 'saying why');
	$nc->faults({ direct_bad_url => "http://h/x\r\nSet-Cookie: a=b" });
	$r = $s->admin_run('store', 'url', 'room-a/big.mp4');
	is($r->{rc}, 1, 'a link with CR LF in it is refused');
	$nc->faults({ ocs_v1_meta => 1 });
	$r = $s->admin_run('store', 'url', 'room-a/big.mp4');
	is($r->{rc}, 0, 'an OCS v1 style answer (statuscode 100) works')
	    or diag $r->{err};
	$nc->faults({});

	# The test server's direct API itself, as Nextcloud's answers.
	my $fid = sub {
		my $x = $nc->ocs(PROPFIND => "$FILES/Recordings/$_[0]",
		    headers => { Depth => 0 }, body => '<?xml version="1.0"?>'
		    . '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org'
		    . '/ns"><d:prop><oc:fileid/></d:prop></d:propfind>');
		return $x->{body} =~ m{:fileid>(\d+)<} ? $1 : undef;
	};
	my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };
	my $file_id = $fid->('room-a/big.mp4');
	ok($file_id, "PROPFIND gives oc:fileid $file_id");
	is(http(POST => $nc->url . $DIRECT, { headers => { %$form,
	    'OCS-APIRequest' => 'true' }, body => "fileId=$file_id" })
	    ->{status}, 401, 'the direct API needs credentials');
	$r = $nc->ocs(POST => $DIRECT, headers => $form,
	    body => 'fileId=999999');
	is($r->{status}, 404, 'an unknown fileId gets 404');
	is($r->{json}{ocs}{meta}{statuscode}, 404, 'in the OCS envelope too');
	is($nc->ocs(POST => $DIRECT, headers => $form, body => 'fileId='
	    . $fid->('room-a'))->{status}, 400, 'a folder gets 400');
	is($nc->ocs(POST => $DIRECT, headers => $form, body => "fileId="
	    . "$file_id&expirationTime=86401")->{status}, 400,
	    'expirationTime over a day gets 400');
	$r = $nc->ocs(POST => $DIRECT, headers => $form,
	    body => "fileId=$file_id");
	is($r->{status}, 200, 'without expirationTime it works');
	is($nc->state->{directs}[-1]{ttl}, 28800, 'for the default 8 hours');
	$r = http(HEAD => $r->{json}{ocs}{data}{url});
	is($r->{status}, 200, 'HEAD on the link');
	is($r->{headers}{'content-length'}, -s $stored, 'tells the length');
}

# ---------------------------------------------------------------------
# share: OCS, twice is fine, old servers' 403 "already shared" too.
{
	my $list = sub {
		my $r = $nc->ocs(GET => "$SHARES?format=json&path="
		    . '/Recordings/room-a/big.mp4');
		return $r->{json}{ocs}{data} // [];
	};
	my $n = $nc->log_count;
	my $r = $s->admin_run('store', 'share', 'room-a/big.mp4', 'bob');
	is($r->{rc}, 0, 'share succeeds') or diag $r->{err};
	like($r->{out}, qr{^shared room-a/big\.mp4 with bob$}m, 'and says so');
	$r = $s->admin_run('store', 'share', 'room-a/big.mp4', 'bob');
	is($r->{rc}, 0, 'sharing again succeeds') or diag $r->{err};
	my @ocs = grep { $_->{path} eq $SHARES } since($n);
	is(scalar @ocs, 2, 'two OCS calls');
	is(scalar(grep { $_->{method} eq 'POST' && $_->{query} eq
	    'format=json' && ($_->{headers}{'ocs-apirequest'} // '') eq 'true'
	    && $_->{status} == 200 } @ocs), 2,
	    'POST ?format=json with OCS-APIRequest: true, answered 200');
	my $sh = $list->();
	is(scalar @$sh, 1, 'one share exists');
	is($sh->[0]{share_with}, 'bob', 'with bob');
	is($sh->[0]{share_type}, 0, 'a user share');
	is($sh->[0]{permissions}, 1, 'read-only');

	$nc->faults({ legacy_duplicate_share => 1 });
	$n = $nc->log_count;
	$r = $s->admin_run('store', 'share', 'room-a/big.mp4', 'bob');
	is($r->{rc}, 0, 'a 403 "already shared" (before Nextcloud 22) is a '
	    . 'success') or diag $r->{err};
	is((since($n))[0]{status}, 403, 'the server did answer 403');
	$nc->faults({ ocs_v1_meta => 1 });
	$r = $s->admin_run('store', 'share', 'room-a/big.mp4', 'carol');
	is($r->{rc}, 0, 'an OCS v1 style answer (statuscode 100) is a success')
	    or diag $r->{err};
	is(scalar @{ $list->() }, 2, 'carol has a share too');
	$nc->faults({});

	$r = $s->admin_run('store', 'share', 'room-a/big.mp4', 'mallory');
	is($r->{rc}, 1, 'sharing with an unknown account fails');
	like($r->{err}, qr/valid account/, "with Nextcloud's reason");
	$r = $s->admin_run('store', 'share', 'room-a/nothing.mp4', 'bob');
	is($r->{rc}, 1, 'sharing a missing file fails');

	$n = $nc->log_count;
	$r = run_cmd([ $admin, '--config', $s->conf_path, 'store', 'share',
	    'room-a/big.mp4', 'dave' ],
	    env => { %$env, MEETREC_NEXTCLOUD_SHARE => 0 });
	is($r->{rc}, 0, 'with nextcloud_share = 0 share succeeds');
	is($nc->log_count, $n, 'without calling the server');
}

# ---------------------------------------------------------------------
# A wrong app password.
{
	my $wrong = 'wrong-' . unpack('H*', random_bytes(6));
	my %bad = (%$env, MEETREC_NEXTCLOUD_APP_PASSWORD => $wrong);
	my $n = $nc->log_count;
	my $r = run_cmd([ $admin, '--config', $s->conf_path, 'store', 'put',
	    "$d/small.bin", 'room-a/auth.bin' ], env => \%bad);
	is($r->{rc}, 1, 'a put with a wrong password fails');
	like($r->{err}, qr/authentication failed/, 'naming authentication');
	like($r->{err}, qr/nextcloud_app_password/, 'and the key to check');
	unlike($r->{err}, qr/\Q$wrong\E|\Q$PASS\E/,
	    'without showing a password');
	is(scalar(grep { $_->{status} == 401 } since($n)), 1,
	    'after one 401: no retry loop');
	$r = run_cmd([ $admin, '--config', $s->conf_path, 'store', 'share',
	    'room-a/big.mp4', 'bob' ], env => \%bad);
	is($r->{rc}, 1, 'share with a wrong password fails');
	like($r->{err}, qr/authentication failed/, 'naming authentication');
}

# ---------------------------------------------------------------------
# Keys with spaces, unicode and URL syntax characters.
{
	my $key = "room d/\xc3\x9cnic\xc3\xb8de talk #1 ?50%.mp4";
	my $small = mkfile('uni.bin', random_bytes(777));
	my $n = $nc->log_count;
	my $r = put($small, $key);
	is($r->{rc}, 0, 'a key with spaces and unicode is stored')
	    or diag $r->{err};
	my ($p) = grep { $_->{method} eq 'PUT' } since($n);
	is($p->{path}, "$FILES/Recordings/" . enc($key),
	    'each segment percent-encoded in the URL');
	is(slurp($nc->file_path("Recordings/$key")), slurp($small),
	    'under its real name on the server');
	$r = $s->admin_run('store', 'stat', $key);
	like($r->{out}, qr/ 777 /, 'stat finds it');

	my $mid = mkfile('uni-big.bin', random_bytes(1200 * 1024));
	$n = $nc->log_count;
	$r = put($mid, $key, '--upload-id', 'meetrec-uni');
	is($r->{rc}, 0, 'and through the chunked path') or diag $r->{err};
	my ($mv) = grep { $_->{method} eq 'MOVE' } since($n);
	is($mv->{headers}{destination},
	    $nc->url . "$FILES/Recordings/" . enc($key),
	    'with the same encoding in Destination');
	is(sha_file($nc->file_path("Recordings/$key")), sha_file($mid),
	    'byte-identical');
	$r = $s->admin_run('store', 'del', $key);
	is($r->{rc}, 0, 'and deleted');
	ok(!-e $nc->file_path("Recordings/$key"), 'gone');
}

# ---------------------------------------------------------------------
# Memory: a 200 MiB (sparse) file through the chunked path.  meetrec-admin
# runs on its own; its peak RSS (VmHWM) is read from /proc every 20 ms.
{
	my $sparse = "$d/sparse.bin";
	open my $fh, '>', $sparse or die "$sparse: $!";
	truncate $fh, 200 * 1048576 or die "truncate: $!";
	close $fh;
	my $p = spawn('admin-rss', [ $admin, '--config', $s->conf_path,
	    'store', 'put', $sparse, 'room-m/sparse.mp4', '--upload-id',
	    'meetrec-rss' ], $env, $d, cwd => $d,
	    log => "$d/log/admin-rss.log");
	my ($peak, $t0) = (0, Time::HiRes::time());
	my $deadline = $t0 + 600 * timeout_factor();
	while ($p->alive && Time::HiRes::time() < $deadline) {
		if (open my $st, '<', '/proc/' . $p->pid . '/status') {
			while (<$st>) {
				$peak = $1
				    if /^VmHWM:\s+(\d+)\s+kB/ && $1 > $peak;
			}
			close $st;
		}
		Time::HiRes::sleep(0.02);
	}
	ok($p->wait_exit(timeout => 5), 'the 200 MiB put ends');
	is($p->exit_code, 0, 'and succeeds') or diag $p->log_content;
	is(-s $nc->file_path('Recordings/room-m/sparse.mp4'), 200 * 1048576,
	    'the server holds 200 MiB');
	is(sha_file($nc->file_path('Recordings/room-m/sparse.mp4')),
	    sha_file($sparse), 'byte-identical');
	my $secs = Time::HiRes::time() - $t0;
	note(sprintf 'meetrec-admin peak RSS %.1f MiB for 200 MiB in %.1f s',
	    $peak / 1024, $secs);
	my $asan = -f build_root() . '/config.status'
	    && slurp(build_root() . '/config.status') =~ /enable-sanitizers/;
	SKIP: {
		skip 'a sanitizer build is not representative of memory use', 1
		    if $asan;
		cmp_ok($peak, '<', 32 * 1024, sprintf 'peak RSS %.1f MiB stays '
		    . 'under 32 MiB', $peak / 1024);
	}
	unlink $sparse;
	$nc->reset;
}

# ---------------------------------------------------------------------
is($nc->stop, 0, 'teardown: ncserver exited with status 0')
    or diag $nc->log_content;
$s->finish;
done_testing();
