#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Started as root with fcgi_user set, the pool makes its socket and pid
# file as root, drops root for good and serves as that user.  Neither
# file may become a way for that user to have root act on a file of its
# choosing: a symbolic link at the pid file's path is refused (not
# followed, not removed), a stale pid file of someone else's is replaced
# by a new one of root's, the socket (and the busy responder's next to
# it) is born root's with the socket group and mode 0660 (never chowned
# by path), and folders that others than root can change are refused for
# either.
use strict;
use warnings;
use Test::More;
use Fcntl qw(S_IMODE);
use File::Path qw(make_path);
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp spew);

plan skip_all => 'needs root to start the pool as root' if $> != 0;
my $nobody = getpwnam('nobody');
plan skip_all => 'no user nobody' unless defined $nobody;
Meetrec::Test::Stack::require_prereqs();
my ($nuid, $ngid) = (getpwnam('nobody'))[2, 3];
# A socket group other than nobody's own, to see fcgi_socket_group used.
my ($sgroup) = grep { my $g = getgrnam($_); defined $g && $g != $ngid }
    qw(www-data daemon adm);
my $sgid = defined $sgroup ? scalar getgrnam($sgroup) : $ngid;
my $s = Meetrec::Test::Stack->new(no_pool => 1, conf => {
	fcgi_user => 'nobody',
	defined $sgroup ? (fcgi_socket_group => $sgroup) : () });
my $d = $s->dir;
my $pidf = $s->config('pid_file');
my $sock = $s->config('fcgi_socket');

sub mode { return S_IMODE((lstat $_[0])[2]) }
sub owner { my @st = lstat $_[0]; return "$st[4]:$st[5]" }

# 1. A link at the pid file's path, to a file of root's: the pool says
# why it refuses and exits; the file and the link stay as they were.
my $victim = "$d/victim";
spew($victim, "root's own, not for nobody\n", 0600);
symlink($victim, $pidf) or die "symlink: $!";
my $started = eval { $s->start_pool; 1 };
my $why = $@;
ok(!$started, 'a symbolic link as the pid file: the pool refuses to start');
like($why, qr/pid file '\Q$pidf\E' is a symbolic link/,
    'and says the pid file is a symbolic link');
$s->stop_pool if $started;
is(slurp($victim), "root's own, not for nobody\n",
    'the link\'s target keeps its content');
is(owner($victim), '0:0', 'the link\'s target is still root\'s');
is(mode($victim), 0600, 'the link\'s target keeps its mode');
ok(-l $pidf, 'the link is left for the administrator to look at');
unlink $pidf or die "unlink $pidf: $!";

# 2. A stale pid file of nobody's (as older versions left it) is
# replaced by a new file of root's, not written through.
spew($pidf, "1\n", 0644);
chown $nuid, $ngid, $pidf or die "chown: $!";
my $stale_ino = (lstat $pidf)[1];
my $stale = "$pidf.stale";
link($pidf, $stale) or die "link: $!";	# keeps the old inode alive
$s->start_pool;
$s->wait_workers;
is(slurp($pidf), $s->pool_pid . "\n", 'the pid file names the master');
isnt((lstat $pidf)[1], $stale_ino, 'a stale pid file of nobody\'s is '
    . 'replaced, not written through');
is(slurp($stale), "1\n", 'the stale file itself is untouched');
unlink $stale;
is(owner($pidf), '0:0', 'the pid file is root\'s');
is(mode($pidf), 0644, 'the pid file is 0644');

sub uids {
	my ($pid) = @_;
	my ($line) = slurp("/proc/$pid/status") =~ /^Uid:\s+(.*)$/m;
	return [split ' ', $line];
}
# Which files a process holds open.
sub open_files {
	my ($pid) = @_;
	opendir my $dh, "/proc/$pid/fd" or return ();
	my @f = grep { defined } map { readlink "/proc/$pid/fd/$_" }
	    grep { /^\d+$/ } readdir $dh;
	closedir $dh;
	return @f;
}
is_deeply(uids($s->pool_pid), [($nuid) x 4],
    'the master runs as nobody (real, effective, saved, fs)');
my @workers = $s->worker_pids;
ok(@workers > 0, scalar(@workers) . ' workers');
is_deeply(uids($_), [($nuid) x 4], "worker $_ runs as nobody")
    for @workers;
ok((grep { $_ eq $pidf } open_files($s->pool_pid)),
    'the master holds the pid file open');
ok(!(grep { $_ eq $pidf } open_files($_)),
    "worker $_ does not hold the pid file") for @workers;
ok(-S $sock, 'the socket exists');
is(owner($sock), "0:$sgid", 'the socket is root\'s, group '
    . ($sgroup // 'nobody\'s'));
is(mode($sock), 0660, 'the socket is 0660');
ok(-S "$sock.busy", 'so is the busy responder\'s socket next to it');
is(owner("$sock.busy"), "0:$sgid", 'root\'s, the same group');
is(mode("$sock.busy"), 0660, 'and 0660');
my $busy = $s->busy_pid;
ok($busy, 'the busy responder runs');
is_deeply(uids($busy), [($nuid) x 4], 'as nobody') if $busy;
ok(!(grep { $_ eq $pidf } open_files($busy)),
    'without the pid file') if $busy;
like($s->log('pool'), qr/running as nobody/, 'it says so');
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'priv', name => 'priv', host => $host, company => $co);
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'priv' });
is($r->{status}, 201, 'and serves: a recording starts') or diag($r->{body});

# 3. Stopped, the master (nobody now) cannot remove either file from
# root's folder: the pid file is left empty.
is($s->stop_pool, 0, 'the pool stops cleanly');
is(slurp($pidf), '', 'the pid file is emptied at exit');

# 4. Folders others than root can change are refused, for the socket
# and for the pid file, before anything is made in them.
my %env = %{ $s->_prog_env };
my $cmd = [ Meetrec::Test::Stack::fcgi_bin(), '--config', $s->conf_path ];
make_path("$d/nobodys", "$d/open/sub", "$d/shared");
chown $nuid, $ngid, "$d/nobodys";
chmod 0777, "$d/open";
chmod 0775, "$d/shared";
for my $case (
    [ FCGI_SOCKET => "$d/nobodys/fcgi.sock", "$d/nobodys",
	'a socket folder of nobody\'s' ],
    [ FCGI_SOCKET => "$d/shared/fcgi.sock", "$d/shared",
	'a group-writable socket folder' ],
    [ FCGI_SOCKET => "$d/open/sub/fcgi.sock", "$d/open",
	'a world-writable folder above the socket' ],
    [ PID_FILE => "$d/nobodys/meetrec-fcgi.pid", "$d/nobodys",
	'a pid file folder of nobody\'s' ]) {
	my ($key, $path, $dir, $name) = @$case;
	my $r = run_cmd($cmd, env => { %env, "MEETREC_$key" => $path },
	    timeout => 10);
	is($r->{rc}, 1, "$name: the pool refuses to start");
	like($r->{err}, qr/folder '\Q$dir\E' .*can be changed by others/,
	    "$name: and says which folder") or diag($r->{err});
	ok(!-e $path, "$name: nothing was made there");
}

# 5. Started again, the stale (empty) pid file of root's is reused.
$s->start_pool;
is(slurp($pidf), $s->pool_pid . "\n", 'restarted: the pid file names the '
    . 'new master');
is(sprintf('%s %04o', owner($pidf), mode($pidf)), '0:0 0644',
    'and is still root\'s, 0644');

$s->finish;
done_testing();
