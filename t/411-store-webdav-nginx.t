#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 411-store-webdav-nginx.t - the Nextcloud backend (src/store_webdav.c)
# against a plain WebDAV server, nginx's dav module with dav-ext for
# PROPFIND (storage.md section 7), behind Basic auth: put (folders made
# with MKCOL, one PUT: the threshold is high), stat (nginx's multistatus
# has other prefixes and no getetag), overwrite (201 then 204), a key with
# spaces and unicode, del (twice), share off, a wrong password.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(free_port random_bytes slurp spew);
use Meetrec::Test::Nextcloud;

Meetrec::Test::Stack::require_prereqs(qw(pg binaries));
if (my @miss = Meetrec::Test::Nextcloud::prereqs_missing('nginx_dav')) {
	plan skip_all => join '; ', @miss;
}

my $USER = 'meetrec';
my $PASS = 'dav-' . unpack('H*', random_bytes(8));
my $port = free_port();
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1,
    no_standin => 1, no_migrate => 1, conf => {
	storage_type              => 'nextcloud',
	nextcloud_url             => "http://127.0.0.1:$port/",
	nextcloud_user            => $USER,
	nextcloud_app_password    => $PASS,
	nextcloud_chunk_threshold => 1073741824,
	nextcloud_share           => 0,
});
my $d = $s->dir;
my $dav = Meetrec::Test::Nextcloud->start_nginx_dav(dir => "$d/dav",
    port => $port, user => $USER, password => $PASS);
my $admin = Meetrec::Test::Stack::admin_bin();
my $env = $s->_prog_env;

sub mkfile {
	my ($name, $bytes) = @_;
	spew("$d/$name", $bytes);
	return "$d/$name";
}

# "METHOD URI STATUS" of each access log line from line $n on.
sub requests {
	my ($n) = @_;
	my @l = split /\n/, $dav->access_log;
	return map { /"(\S+) (\S+) HTTP\/[\d.]+" (\d+)/ ? "$1 $2 $3" : $_ }
	    @l[$n .. $#l];
}

sub nreq { return scalar(() = $dav->access_log =~ /\n/g) }

my $F = "/remote.php/dav/files/$USER/Recordings";

# put: MKCOL of the missing levels, one PUT, a PROPFIND to verify.
my $a1 = mkfile('a1.bin', random_bytes(1000));
my $n = nreq();
my $r = $s->admin_run('store', 'put', $a1, 'room-x/talk.mp4');
is($r->{rc}, 0, 'put succeeds') or diag $r->{err};
like($r->{out}, qr{^stored room-x/talk\.mp4 1000$}m, 'and says so');
my @req = requests($n);
is_deeply([ grep { /^MKCOL/ } @req ],
    [ "MKCOL $F/ 201", "MKCOL $F/room-x/ 201" ],
    'each folder level made with MKCOL (trailing slash, as nginx wants)');
is_deeply([ grep { /^PUT/ } @req ], [ "PUT $F/room-x/talk.mp4 201" ],
    'one PUT, 201 created');
like($req[-1], qr{^PROPFIND \Q$F\E/room-x/talk\.mp4 207$},
    'the result is checked with PROPFIND');
is(slurp($dav->file_path('Recordings/room-x/talk.mp4')), slurp($a1),
    'nginx holds the same bytes');

# stat: nginx sends no getetag; the size is enough.
$r = $s->admin_run('store', 'stat', 'room-x/talk.mp4');
is($r->{rc}, 0, 'stat succeeds') or diag $r->{err};
like($r->{out}, qr{^room-x/talk\.mp4 1000$}m,
    'with the size (nginx gives no etag)');
$r = $s->admin_run('store', 'stat', 'room-x/other.mp4');
like($r->{out}, qr{^room-x/other\.mp4 absent$}m, 'a missing file is absent');

# overwrite: a bigger file, still one PUT (the threshold is high).
my $a2 = mkfile('a2.bin', random_bytes(3 * 1048576));
$n = nreq();
$r = $s->admin_run('store', 'put', $a2, 'room-x/talk.mp4');
is($r->{rc}, 0, 'overwriting succeeds') or diag $r->{err};
@req = requests($n);
is_deeply([ grep { /^PUT/ } @req ], [ "PUT $F/room-x/talk.mp4 204" ],
    'one PUT of 3 MiB, 204 replaced');
ok(!grep({ /^MKCOL/ } @req), 'no MKCOL: the folder is there');
is(slurp($dav->file_path('Recordings/room-x/talk.mp4')), slurp($a2),
    'nginx holds the new bytes');
$r = $s->admin_run('store', 'stat', 'room-x/talk.mp4');
like($r->{out}, qr{^room-x/talk\.mp4 3145728$}m, 'stat sees the new size');

# A key with spaces, unicode and URL syntax characters.
my $key = "room y/\xc3\xa9t\xc3\xa9 #2 ?.mp4";
my $a3 = mkfile('a3.bin', random_bytes(4321));
$r = $s->admin_run('store', 'put', $a3, $key);
is($r->{rc}, 0, 'a key with spaces and unicode is stored') or diag $r->{err};
is(slurp($dav->file_path("Recordings/$key")), slurp($a3),
    'under its real name');
$r = $s->admin_run('store', 'stat', $key);
like($r->{out}, qr/ 4321$/m, 'stat finds it');
$r = $s->admin_run('store', 'del', $key);
is($r->{rc}, 0, 'and del removes it');
ok(!-e $dav->file_path("Recordings/$key"), 'gone');

# del, twice.
$r = $s->admin_run('store', 'del', 'room-x/talk.mp4');
is($r->{rc}, 0, 'del succeeds') or diag $r->{err};
ok(!-e $dav->file_path('Recordings/room-x/talk.mp4'), 'the file is gone');
$r = $s->admin_run('store', 'stat', 'room-x/talk.mp4');
like($r->{out}, qr/absent/, 'stat says absent');
$n = nreq();
$r = $s->admin_run('store', 'del', 'room-x/talk.mp4');
is($r->{rc}, 0, 'deleting again succeeds');
is_deeply([ requests($n) ], [ "DELETE $F/room-x/talk.mp4 404" ],
    'nginx said 404, which is fine');

# share is off: nothing is asked of the server.
$n = nreq();
$r = $s->admin_run('store', 'share', 'room-x/talk.mp4', 'bob');
is($r->{rc}, 0, 'share with nextcloud_share = 0 succeeds');
is(nreq(), $n, 'without a request');

# A wrong password.
$r = run_cmd([ $admin, '--config', $s->conf_path, 'store', 'put', $a1,
    'room-x/x.mp4' ], env => { %$env,
    MEETREC_NEXTCLOUD_APP_PASSWORD => 'not-the-password' });
is($r->{rc}, 1, 'a wrong password fails');
like($r->{err}, qr/authentication failed/, 'naming authentication');

my @bad = $dav->problems;
ok(!@bad, 'teardown: no alerts in the dav nginx error.log')
    or diag join "\n", @bad;
is($dav->stop, 0, 'teardown: the dav nginx exited with status 0');
$s->finish;
done_testing();
