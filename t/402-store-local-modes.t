#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Local storage and nginx's user: what the reaper stores is 0640, and it
# and the folders above it take the storage folder's group (nginx's),
# whatever the umask: through a set-group-ID folder, or given by a
# writer that may (root, a member of the group).  A writer that may not
# fails the put with a message that says what to do, rather than store
# a recording nginx cannot send.  nobody stands in for nginx's user and
# for the service user; the test runs as root.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd as_user);
use Meetrec::Test::Util qw(slurp spew);

plan skip_all => 'needs root' unless $> == 0;
my ($nobody, $nuid, $ngid) = (getpwnam('nobody'))[0, 2, 3];
plan skip_all => 'needs the user nobody' unless defined $nobody;
Meetrec::Test::Stack::require_prereqs(qw(pg binaries));
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1,
    no_standin => 1);
my $admin = Meetrec::Test::Stack::admin_bin();
my $env = $s->_prog_env;
my $d = $s->dir;
spew("$d/src.mp4", 'x' x 4096, 0644);

# put($store, $key, user => U, umask => M) - meetrec-admin store put.
sub put {
	my ($store, $key, %o) = @_;
	my $conf = "$d/put.conf";
	# Readable by the service group: nobody's, as fcgi_user says.
	spew($conf, slurp($s->conf_path) . "fcgi_user = $nobody\n", 0640);
	chown 0, $ngid, $conf;
	my @argv = ($admin, '--config', $conf, 'store', 'put', "$d/src.mp4",
	    $key);
	@argv = ('sh', '-c', "umask $o{umask} && exec \"\$@\"", 'sh', @argv)
	    if defined $o{umask};
	return run_cmd([ as_user($o{user}, @argv) ], env => { %$env,
	    MEETREC_STORAGE_LOCAL_DIR => $store });
}
sub mode { return sprintf '%04o', (stat $_[0])[2] & 07777 }
sub gid { return (stat $_[0])[5] }
# Can nobody read the file, as nginx's workers would?
sub nobody_reads {
	my $r = run_cmd([ as_user($nobody, 'cat', $_[0]) ]);
	return $r->{rc} == 0 && length($r->{out}) == 4096;
}

# 1. A set-group-ID folder of nginx's group: the kernel gives the group.
my $st = "$d/s1";
make_path($st);
chown 0, $ngid, $st;
chmod 02750, $st;
my $r = put($st, 'room/a.mp4', umask => '077');
is($r->{rc}, 0, 'stored into a set-group-ID folder') or diag($r->{err});
is(mode("$st/room/a.mp4"), '0640', 'the file is 0640 whatever the umask');
is(gid("$st/room/a.mp4"), $ngid, 'of the folder\'s group');
is(gid("$st/room"), $ngid, 'and so is the folder made for it');
is(mode("$st/room"), '2750', 'which nginx\'s group may read and search');
ok(nobody_reads("$st/room/a.mp4"), 'nginx\'s user reads the file');

# The storage folder itself is the operator's: its mode stays.
$st = "$d/s0";
make_path($st);
chmod 0700, $st;
$r = put($st, 'z.mp4');	# as check-config's probe
is($r->{rc}, 0, 'stored into a folder only its owner may enter')
    or diag($r->{err});
is(mode($st), '0700', 'whose mode stays as it was');

# 2. The same group without set-group-ID: root gives it.
$st = "$d/s2";
make_path("$st/old");
chown 0, $ngid, $st;
chmod 0750, $st;
chmod 0750, "$st/old";		# root's group, as older versions left it
$r = put($st, 'old/b.mp4');
is($r->{rc}, 0, 'stored by root into a folder of another group')
    or diag($r->{err});
is(gid("$st/old/b.mp4"), $ngid, 'the file gets the folder\'s group');
is(gid("$st/old"), $ngid, 'and so does the folder an older version made');
ok(nobody_reads("$st/old/b.mp4"), 'nginx\'s user reads it');

# 3. A writer outside the folder's group, without set-group-ID: the put
# fails, saying why and what to do.
$st = "$d/s3";
make_path($st);
chown $nuid, 0, $st;
chmod 0750, $st;
$r = put($st, 'room/c.mp4', user => $nobody);
isnt($r->{rc}, 0, 'a writer that cannot give the group: the put fails');
like($r->{err}, qr/the storage folder '\Q$st\E' is not set-group-ID, and its group, root, is not ours to give: nginx could not read what is stored there; make the folder set-group-ID \(chmod g\+s\)/,
    'saying why and what to do');
ok(!-e "$st/room", 'nothing is made');
chmod 02750, $st;
$r = put($st, 'room/d.mp4', user => $nobody);
is($r->{rc}, 0, 'set-group-ID, the same writer stores') or diag($r->{err});
is(gid("$st/room/d.mp4"), 0, 'the file has the folder\'s group');

$s->finish;
done_testing();
