#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The release as an operator deploys it: the tarball "make dist" makes
# (holding every file the repository does) is built with
# ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var and
# installed with DESTDIR into a scratch root, and then only installed
# files are used, as a deployment uses them: the sysusers.d and
# tmpfiles.d entries make the service user's folders, the sample
# configuration becomes root:<service group> 0640, the installed
# meetrec-admin migrates and checks it, the installed pool runs as the
# service user (with nginx's group, as meetrec-fcgi.service runs it)
# and the installed reaper as well, behind a copy of Debian's stock
# nginx configuration with its default site still enabled, its workers
# www-data, meetrec's http part in conf.d/ and the installed locations
# included in a server of the "operator's".  Through that nginx a
# recording is started and stopped (the LiveKit stand-in writes its
# file into the spool and sends the webhooks), the reaper stores it,
# nginx sends it, and the recordings page loads.  systemd-analyze
# verifies the installed units, and the cron entry runs.
#
# The scratch root keeps the installed paths below it: the test moves
# /etc/meetrec, /usr/share/meetrec, /run/meetrec, /var/lib/meetrec and
# /var/spool/meetrec in the installed configuration into it (the
# programs are told where their SQL is with MEETREC_SQLDIR).  The
# service user is one the test creates, and removes, for the purpose:
# ./configure --with-user names it.  It runs as root (as CI does).
use strict;
use warnings;
use Test::More;
use Cwd qw(abs_path);
use Digest::SHA;
use File::Path qw(make_path remove_tree);
use File::Temp ();
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::NginxStock;
use Meetrec::Test::Proc qw(run_cmd spawn wait_for);
use Meetrec::Test::Util qw(src_root build_root slurp spew uuid http);

Meetrec::Test::Stack::skip_unless(
    $> == 0 ? () : 'installing as a deployment does needs root',
    Meetrec::Test::Stack::prereqs_missing(),
    Meetrec::Test::NginxStock::missing(),
    (map { system("command -v $_ >/dev/null 2>&1") == 0 ? ()
	: "$_ not found" } qw(make tar useradd userdel setpriv
	systemd-tmpfiles systemd-sysusers systemd-analyze)));
defined getpwnam('www-data') or Meetrec::Test::Stack::skip_unless(
    'no user www-data (nginx\'s on Debian)');

my $build = build_root();
my $src = src_root();
my $dir = ($ENV{MEETREC_TEST_TMPDIR} || "$build/t/tmp_check") . '/015-install';
remove_tree($dir);
make_path($dir);
chmod 0755, $dir, "$dir/..";
my $root = "$dir/root";

# run(\@argv, %opt) - a command that must succeed; its output is logged.
sub run {
	my ($argv, %o) = @_;
	my $r = run_cmd($argv, timeout => 900, log => "$dir/commands.log",
	    %o);
	ok($r->{rc} == 0, "@$argv[0 .. ($#$argv < 3 ? $#$argv : 3)] ...")
	    or diag("exit $r->{rc}: $r->{out}$r->{err}");
	return $r;
}

# 1. The tarball: everything the repository holds, and it builds.
my $r = run([ 'make', '-C', $build, 'dist' ]);
my ($tarball) = glob("$build/meetrec-*.tar.gz");
ok($tarball && -s $tarball, 'make dist made ' . ($tarball // 'nothing'))
    or BAIL_OUT('no tarball');
my ($version) = $tarball =~ /meetrec-([\d.]+)\.tar\.gz$/;
my %in = map { s{^meetrec-\Q$version\E/}{}r => 1 }
    split /\n/, run_cmd([ 'tar', 'tzf', $tarball ])->{out};
SKIP: {
	my $g = run_cmd([ 'git', '-C', $src, 'ls-files' ]);
	skip 'not a git checkout', 1 if $g->{rc} != 0;
	my @missing = grep { !$in{$_} && $_ ne '.gitignore' }
	    split /\n/, $g->{out};
	is_deeply(\@missing, [], 'the tarball holds every file of the '
	    . 'repository');
}
run([ 'tar', 'xzf', $tarball, '-C', $dir ]);
my $tsrc = "$dir/meetrec-$version";
make_path("$dir/build");
my $svc = "mrt$$";
run([ "$tsrc/configure", '--prefix=/usr', '--sysconfdir=/etc',
    '--localstatedir=/var', "--with-user=$svc" ], cwd => "$dir/build");
run([ 'make', '-j2' ], cwd => "$dir/build");
run([ 'make', 'install', "DESTDIR=$root" ], cwd => "$dir/build");

# 2. What was installed where, with the real paths and no placeholder.
my @expect = qw(usr/sbin/meetrec-fcgi usr/bin/meetrec-reaper
    usr/bin/meetrec-transcribe
    usr/bin/meetrec-admin usr/share/meetrec/sql/001_init.sql
    usr/share/meetrec/www/index.html usr/share/meetrec/www/app.js
    usr/share/meetrec/www/app.css etc/meetrec/meetrec.conf.sample
    etc/meetrec/nginx/meetrec-http.conf
    etc/meetrec/nginx/meetrec-locations.conf
    etc/meetrec/nginx/meetrec-site.conf
    etc/meetrec/nginx/meetrec-fastcgi.conf
    etc/meetrec/nginx/meetrec-page.conf
    usr/lib/systemd/system/meetrec-fcgi.service
    usr/lib/systemd/system/meetrec-reaper.service
    usr/lib/systemd/system/meetrec-reaper-once.service
    usr/lib/systemd/system/meetrec-reaper.timer
    usr/lib/sysusers.d/meetrec.conf usr/lib/tmpfiles.d/meetrec.conf
    usr/share/doc/meetrec/deploy.md usr/share/doc/meetrec/LICENSE
    usr/share/doc/meetrec/examples/meetrec-reaper.cron
    usr/share/man/man7/meetrec.7 usr/share/man/man5/meetrec.conf.5
    usr/share/man/man8/meetrec-fcgi.8 usr/share/man/man8/meetrec-admin.8
    usr/share/man/man8/meetrec-reaper.8);
is_deeply([ grep { !-f "$root/$_" } @expect ], [], 'installed: '
    . scalar(@expect) . ' files where a deployment expects them');
ok(!-e "$root/etc/meetrec/meetrec.conf", 'no meetrec.conf: the sample only');
my @text = grep { -f && !-B } map { "$root/$_" } @expect;
is_deeply([ grep { slurp($_) =~ /\@[A-Za-z_]+\@/ } @text ], [],
    'no placeholder is left in an installed file');
like(slurp("$root/etc/meetrec/nginx/meetrec-http.conf"),
    qr{server\s+unix:/run/meetrec/fcgi\.sock max_conns=1024 max_fails=0;},
    'the nginx files name the real socket');
like(slurp("$root/usr/lib/systemd/system/meetrec-fcgi.service"),
    qr{^ExecStart=/usr/sbin/meetrec-fcgi --config /etc/meetrec/meetrec\.conf$}m,
    'the units the real programs');
for my $p (qw(usr/sbin/meetrec-fcgi usr/bin/meetrec-reaper
    usr/bin/meetrec-transcribe usr/bin/meetrec-admin)) {
	my $h = run_cmd([ "$root/$p", '--help' ]);
	is($h->{rc}, 0, "$p --help exits 0");
	like($h->{out}, qr{read from /etc/meetrec/meetrec\.conf,},
	    'and names /etc/meetrec/meetrec.conf');
	like(run_cmd([ "$root/$p", '--version' ])->{out},
	    qr/^meetrec-\w+ \Q$version\E$/, "$p --version");
}

# 3. The units, as systemd reads them: their programs and manual pages
# are looked for below the scratch root.
SKIP: {
	my $v = "$dir/units";
	make_path($v);
	for my $u (glob "$root/usr/lib/systemd/system/*") {
		spew("$v/" . ($u =~ s{.*/}{}r),
		    slurp($u) =~ s{(?<=[= ])/usr/(s?bin)/}{$root/usr/$1/}gr);
	}
	my $man = system('command -v man >/dev/null 2>&1') == 0;
	my $a = run_cmd([ 'systemd-analyze', 'verify',
	    $man ? () : '--man=no', glob("$v/*") ],
	    env => { MANPATH => "$root/usr/share/man" });
	is("$a->{rc} $a->{out}$a->{err}", '0 ', 'systemd-analyze verify: '
	    . 'the units are clean' . ($man ? ', manual pages found' : ''));
	my $sec = run_cmd([ 'systemd-analyze', 'security', '--offline=yes',
	    "$v/meetrec-fcgi.service", "$v/meetrec-reaper.service" ]);
	note(join "\n", grep { /Overall exposure/ } split /\n/,
	    $sec->{out} . $sec->{err});
}

# 4. The service user and its folders, as systemd-sysusers and
# systemd-tmpfiles make them.  The user is made here on the host (the
# processes need it), and the scratch root gets the host's users.
my $base = "$dir/sysusers-root";
make_path("$base/etc");
spew("$base/etc/$_", slurp("/etc/$_")) for qw(passwd group);
run([ 'systemd-sysusers', "--root=$base",
    "$root/usr/lib/sysusers.d/meetrec.conf" ]);
like(slurp("$base/etc/passwd"), qr{^\Q$svc\E:x:\d+:\d+:meetrec recording service:/:/usr/sbin/nologin$}m,
    'sysusers.d makes the service user: a system user without a login');
run([ 'useradd', '--system', '--user-group', '--home-dir', '/',
    '--no-create-home', '--shell', '/usr/sbin/nologin',
    '--comment', 'meetrec recording service', $svc ]);
my $made_user = 1;
END {
	# Whatever happened, the user goes (and its group with it).
	system('userdel', '--force', $svc) if $made_user;
}
my ($suid, $sgid) = (getpwnam($svc))[2, 3];
my $wgid = getgrnam('www-data');
make_path("$root/etc");
spew("$root/etc/$_", slurp("/etc/$_")) for qw(passwd group);
run([ 'systemd-tmpfiles', '--create', "--root=$root",
    "$root/usr/lib/tmpfiles.d/meetrec.conf" ]);
my %want = ('var/spool/meetrec' => [ $suid, $sgid, 02770 ],
    'var/lib/meetrec/recordings' => [ $suid, $wgid, 02750 ]);
for my $p (sort keys %want) {
	my @st = stat "$root/$p";
	is_deeply([ @st ? ($st[4], $st[5], $st[2] & 07777) : () ],
	    $want{$p}, sprintf('%s: %s, %04o', $p,
	    join(':', map { $_ // '?' } scalar getpwuid($want{$p}[0]),
	    scalar getgrgid($want{$p}[1])), $want{$p}[2]));
}
# systemd's RuntimeDirectory=meetrec, mode 0755, the service user's.
make_path("$root/run/meetrec");
chown $suid, $sgid, "$root/run/meetrec";
chmod 0755, "$root/run", "$root/run/meetrec";

# 5. PostgreSQL and the LiveKit stand-in (whose webhooks go to nginx's
# port), as the harness runs them; the rest is the installed tree.
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1,
    no_migrate => 1, name => '015-install-stack');
my $port = $s->port;

# The configuration from the sample, as doc/deploy.md says: secrets
# and addresses set, root:<service group> 0640; the paths moved into
# the scratch root.
sub relocate {
	my ($t) = @_;
	$t =~ s{(?<![\w/])(/etc/meetrec|/usr/share/meetrec|/run/meetrec|/var/lib/meetrec|/var/spool/meetrec)\b}{$root$1}g;
	return $t;
}
my $conf = "$root/etc/meetrec/meetrec.conf";
my $text = relocate(slurp("$root/etc/meetrec/meetrec.conf.sample"));
my %set = (
	database_url       => $s->config('database_url'),
	jwt_secret         => $s->jwt_secret,
	livekit_url        => $s->config('livekit_url'),
	livekit_api_key    => $s->lk_key,
	livekit_api_secret => $s->lk_secret,
	public_url         => "http://127.0.0.1:$port",
	fcgi_pm            => 'static',
	fcgi_workers       => 2,
);
for my $k (sort keys %set) {
	$text =~ s/^\Q$k\E\s*=.*$/$k = $set{$k}/m
	    or fail("the sample has no $k");
}
unlike($text, qr/^[^#\n]*CHANGE-ME/m, 'every CHANGE-ME value is set');
spew($conf, $text, 0640);
chown 0, $sgid, $conf;
my $sock = "$root/run/meetrec/fcgi.sock";
if (length($sock) > 100) {
	# A Unix socket path must stay short: the folder moves to /tmp.
	my $t = File::Temp::tempdir('mr015XXXX', TMPDIR => 1, CLEANUP => 1);
	chown $suid, $sgid, $t;
	chmod 0755, $t;
	$sock = "$t/fcgi.sock";
	$text =~ s/^fcgi_socket\s*=.*$/fcgi_socket = $sock/m;
	spew($conf, $text, 0640);
	chown 0, $sgid, $conf;
}
# A second install leaves the configuration alone.
run([ 'make', 'install', "DESTDIR=$root" ], cwd => "$dir/build");
is(slurp($conf), $text, 'make install again: meetrec.conf untouched');

# The installed programs, run as the service user (setpriv execs them
# with exactly the user and groups asked for, as systemd would).
my $env = { %{ $s->_prog_env },
    MEETREC_SQLDIR => "$root/usr/share/meetrec/sql" };
sub as_svc { return ('setpriv', "--reuid=$svc", "--regid=$svc", @_) }
sub admin {
	return run_cmd([ as_svc('--clear-groups', '--',
	    "$root/usr/bin/meetrec-admin", '--config', $conf, @_) ],
	    env => $env, cwd => '/');
}
$r = admin('migrate');
is($r->{rc}, 0, 'meetrec-admin migrate, as the service user')
    or diag($r->{err});
like($r->{out}, qr/^applied 001_init\.sql$/m, 'it applies the migrations');
$r = admin('check-config', '--connect');
is($r->{rc}, 0, 'check-config --connect, as the service user: no problem')
    or diag($r->{err});
$r = run_cmd([ "$root/usr/bin/meetrec-admin", '--config', $conf,
    'check-config', '--connect' ], env => $env, cwd => '/');
is($r->{rc}, 0, 'and as root, reading the probe as www-data: no problem')
    or diag($r->{err});
like($r->{out}, qr/checked for the service user \Q$svc\E .* and nginx's user www-data/,
    'for the service user and nginx\'s');

# 6. The pool, as meetrec-fcgi.service runs it: the service user, with
# www-data as a supplementary group to give the socket.
my @procs;
my $pool = spawn('meetrec-fcgi', [ as_svc('--groups=www-data', '--',
    "$root/usr/sbin/meetrec-fcgi", '--config', $conf) ], $env, $dir,
    cwd => '/');
push @procs, $pool;
wait_for(sub {
	die 'meetrec-fcgi exited: ' . $pool->log_content unless $pool->alive;
	-S $sock && -S "$sock.busy";
}, 30, "meetrec-fcgi's socket $sock");
my @st = lstat $sock;
is_deeply([ $st[4], $st[5], $st[2] & 07777 ], [ $suid, $wgid, 0660 ],
    "the socket: the service user's, group www-data, 0660");

# The reaper, watching, as meetrec-reaper.service runs it.
my $reaper = spawn('meetrec-reaper', [ as_svc('--clear-groups', '--',
    "$root/usr/bin/meetrec-reaper", '--config', $conf, '--watch') ],
    $env, $dir, cwd => '/');
push @procs, $reaper;

# 7. Debian's stock nginx, default site on, meetrec in a server of the
# operator's (by name, on the same port).
my $ng = Meetrec::Test::NginxStock->new(root => $root, port => $port);
for my $f (glob "$root/etc/meetrec/nginx/*.conf") {
	my $t = relocate(slurp($f));
	$t =~ s{unix:\S*?/fcgi\.sock}{unix:$sock}g;
	spew($f, $t);
}
symlink "$root/etc/meetrec/nginx/meetrec-http.conf",
    $ng->etc . '/conf.d/meetrec.conf';
spew($ng->etc . '/sites-available/operator', <<"EOF");
server {
	listen $port;
	server_name 127.0.0.1;
	include $root/etc/meetrec/nginx/meetrec-locations.conf;
}
EOF
symlink $ng->etc . '/sites-available/operator',
    $ng->etc . '/sites-enabled/operator';
ok(eval { $ng->check; 1 }, 'nginx -t: the stock configuration with '
    . 'meetrec added') or diag($@);
$ng->start(logdir => $dir);

my $url = "http://127.0.0.1:$port";
$r = http(GET => "$url/api/healthz");
is($r->{status}, 200, 'GET /api/healthz through nginx') or diag($r->{body});
$r = http(GET => "http://localhost:$port/");
unlike($r->{body} // '', qr/meetrec/i, 'another host name still gets '
    . 'the default site');

# 8. Start, stop, stored, downloaded.
my ($co, $host) = (uuid(), uuid());
$r = admin('room', 'add', '--code', 'deploy', '--name', 'Deployed',
    '--host', $host, '--company', $co);
is($r->{rc}, 0, 'meetrec-admin room add') or diag($r->{err});
$r = admin('token', '--user', $host, '--username', 'host', '--company',
    $co);
chomp(my $tok = $r->{out});
my %auth = (headers => { Authorization => "Bearer $tok" });
$r = http(POST => "$url/api/recordings/start", { %auth,
    json => { room_code => 'deploy' } });
is($r->{status}, 201, 'start') or diag($r->{body});
my $id = $r->{json}{recording_id} // '';
$s->standin_idle;
sleep 1.5;
$r = http(POST => "$url/api/recordings/$id/stop", \%auth);
is($r->{status}, 202, 'stop') or diag($r->{body});
$s->standin_idle;
my $status = '';
eval { wait_for(sub {
	$r = http(GET => "$url/api/recordings/$id/status", \%auth);
	$status = $r->{json}{status} // '';
	return $status eq 'completed' || $status eq 'failed';
}, 60, 'the reaper to store the recording') };
is($status, 'completed', 'completed: the reaper stored it')
    or diag($reaper->log_content);
my $path = $s->pg->psql('SELECT storage_path FROM project_management.'
    . "pm_meeting_recordings WHERE id = '$id'");
my $file = "$root/var/lib/meetrec/recordings/$path";
@st = stat $file;
is_deeply([ @st ? ($st[4], $st[5], $st[2] & 07777) : () ],
    [ $suid, $wgid, 0640 ], 'stored: the service user\'s, group www-data, '
    . '0640');
$r = http(GET => "$url/api/recordings/$id/download", \%auth);
is($r->{status}, 200, 'download through nginx (X-Accel-Redirect, read as '
    . 'www-data)') or diag($r->{body});
is(Digest::SHA::sha256_hex($r->{body} // ''), $s->pg->psql('SELECT '
    . 'checksum_sha256 FROM project_management.pm_meeting_recordings WHERE '
    . "id = '$id'"), 'the bytes stored');
is($r->{headers}{'content-type'}, 'video/mp4', 'as video/mp4');
$r = http(GET => "$url/api/recordings/$id", \%auth);
my $dl = $r->{json}{download_url} // '';
$r = http(GET => $dl, { headers => { Range => 'bytes=0-9' } });
is($r->{status}, 206, 'the signed download_url, with a Range') or diag($dl);

# 9. The recordings page.
$r = http(GET => "$url/meetrec/");
is($r->{status}, 200, 'the recordings page at /meetrec/');
like($r->{body} // '', qr/<script type="module" src="app\.js"><\/script>/,
    'is the page');
like($r->{headers}{'content-security-policy'} // '', qr/default-src 'self'/,
    'with its Content-Security-Policy');
for my $f ([ 'app.js', qr{javascript} ], [ 'app.css', qr{text/css} ]) {
	$r = http(GET => "$url/meetrec/$f->[0]");
	ok($r->{status} == 200 && ($r->{headers}{'content-type'} // '') =~
	    $f->[1], "its $f->[0]");
}
$r = http(GET => "$url/meetrec");
is($r->{status}, 301, '/meetrec sends the browser to /meetrec/');

# 10. The cron entry's command, as cron would run it.
my ($line) = grep { /^\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\Q$svc\E\s/ }
    split /\n/, slurp("$root/usr/share/doc/meetrec/examples/meetrec-reaper.cron");
ok($line, 'the cron entry runs the reaper every minute as the service user')
    or diag(slurp("$root/usr/share/doc/meetrec/examples/meetrec-reaper.cron"));
my ($cmd) = ($line // '') =~ /^(?:\S+\s+){6}(.*)$/;
my @cmd = split ' ', relocate($cmd // 'false');
$cmd[0] =~ s{^(/usr/)}{$root$1};
$r = run_cmd([ as_svc('--clear-groups', '--', @cmd) ], env => $env,
    cwd => '/');
is($r->{rc}, 0, "the cron entry's command runs: @cmd[1 .. $#cmd]")
    or diag($r->{err});

# Teardown: everything stopped by pid, clean exits, no nginx alert.
is($reaper->stop(sig => 'TERM', timeout => 30) >> 8, 0,
    'the reaper exits 0');
is($pool->stop(sig => 'TERM', timeout => 30) >> 8, 0, 'the pool exits 0');
$ng->stop;
is_deeply([ $ng->problems ], [], 'no alert in nginx\'s error log');
$s->finish;
remove_tree($dir) if Test::More->builder->is_passing
    && !$ENV{MEETREC_TEST_LEAVE};
done_testing();
