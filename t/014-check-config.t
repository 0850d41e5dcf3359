#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# meetrec-admin check-config [--connect] as an operator meets it: one
# line per problem, naming the key and the line (or the variable) that
# set it, exit status 1 when there is one (2 when the configuration does
# not load at all).  Without --connect: URLs, the database_url's syntax,
# key files, folders and who may use them (the service user, nginx's
# user), keys that need each other.  With --connect: a wrong database
# password, migrations not applied, a storage folder nginx's user cannot
# read, LiveKit down or refusing the key.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path remove_tree);
use Meetrec::Test::Stack;
use Meetrec::Test::Asr;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(slurp spew free_port);

Meetrec::Test::Stack::require_prereqs(qw(pg node binaries));
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1);
my $admin = Meetrec::Test::Stack::admin_bin();
my $env = $s->_prog_env;
my $d = $s->dir;
my $conf = $s->conf_path;
my $root = $> == 0;
my ($nobody, $nogroup) = (getpwnam('nobody'))[0, 3];

# check(\@args, VAR => value, ...) - check-config with this environment.
sub check {
	my ($args, %e) = @_;
	return run_cmd([ $admin, '--config', $conf, 'check-config', @$args ],
	    env => { %$env, %e });
}
# The problem lines of a run (warnings aside).
sub problems {
	my ($r) = @_;
	return grep { !/: warning: / && !/ problems? found$/ }
	    split /\n/, $r->{err};
}
# The line of $conf that sets $key.
sub line_of {
	my ($key) = @_;
	my @l = split /\n/, slurp($conf);
	for my $i (0 .. $#l) {
		return $i + 1 if $l[$i] =~ /^\Q$key\E\s*=/;
	}
	return undef;
}

# 1. The test stack's configuration has no problem, with --connect too.
my $r = check([]);
is($r->{rc}, 0, 'check-config: no problem') or diag($r->{err});
like($r->{out}, qr/^# no problem found \(--connect also checks/m,
    'and says what --connect adds');
$r = check(['--connect']);
is($r->{rc}, 0, 'check-config --connect: no problem') or diag($r->{err});
like($r->{out}, qr/^# PostgreSQL lets meetrec in, and every migration is applied$/m,
    'PostgreSQL: reachable, migrations current');
like($r->{out}, qr/^# local storage: a probe object was stored, read back and deleted/m,
    'storage: a probe stored, read back, deleted');
like($r->{out}, qr/^# LiveKit at \S+ answers ListEgress with the API key/m,
    'LiveKit: an authenticated ListEgress');
is_deeply([ glob($s->config('storage_local_dir') . '/meetrec-check-*') ], [],
    'the probe is gone');
$r = check(['--frobnicate']);
is($r->{rc}, 2, 'an unknown option is a usage error');

# 2. Static problems, each on a line naming where and which key.
my $n = line_of('public_url');
spew("$d/edit.conf", slurp($conf) =~ s/^public_url\s*=.*$/public_url = not a url/mr,
    0600);
$r = run_cmd([ $admin, '--config', "$d/edit.conf", 'check-config' ],
    env => $env);
is($r->{rc}, 1, 'public_url = not a url: exit 1');
is_deeply([ problems($r) ], [ "meetrec-admin: $d/edit.conf:$n: public_url: "
    . "'not a url' is not a URL" ], 'one line: the file, its line, the key');
$r = check([], MEETREC_PUBLIC_URL => 'https://meet.example.com/rec');
like($r->{err}, qr/^meetrec-admin: MEETREC_PUBLIC_URL: public_url: 'https:\/\/meet\.example\.com\/rec' must be the site's root/m,
    'a public_url with a path: the variable that set it is named');
$r = check([], MEETREC_PUBLIC_URL => 'http://meet.example.com');
is($r->{rc}, 0, 'plain http for another host is not a problem');
like($r->{err}, qr/warning: MEETREC_PUBLIC_URL: public_url: .* plain http/,
    'but a warning');
$r = check([], MEETREC_LIVEKIT_URL => 'http://');
like($r->{err}, qr/livekit_url: 'http:\/\/' is not a URL/,
    'a LiveKit URL without a host');
$r = check([], MEETREC_DATABASE_URL => "host=$d dbname='x");
like($r->{err}, qr/MEETREC_DATABASE_URL: database_url: not a libpq connection string: unterminated quoted string/,
    "a database_url libpq cannot parse");
$r = check([], MEETREC_SPOOL_DIR => "$d/no-such-spool");
is($r->{rc}, 1, 'a spool folder that does not exist: exit 1');
like($r->{err}, qr/^meetrec-admin: MEETREC_SPOOL_DIR: spool_dir: folder '\Q$d\E\/no-such-spool': No such file or directory$/m,
    'named');
remove_tree("$d/spool/store");
make_path("$d/spool/store");
$r = check([], MEETREC_STORAGE_LOCAL_DIR => "$d/spool/store");
like($r->{err}, qr/storage_local_dir: '\Q$d\E\/spool\/store' and spool_dir '\Q$d\E\/spool' must be apart/,
    'storage inside the spool');
remove_tree("$d/spool/store");

# Every problem of the file at once, the loader's included; such a
# configuration does not load: exit 2.
spew("$d/many.conf", slurp($conf) . "bogus = 1\nfcgi_workers = many\n"
    . "storage_type = s3   # the S3 keys are missing\n", 0600);
$r = run_cmd([ $admin, '--config', "$d/many.conf", 'check-config' ],
    env => $env);
is($r->{rc}, 2, 'a configuration that does not load: exit 2');
my @p = problems($r);
my $base = (() = slurp($conf) =~ /\n/g);
like($p[0] // '', qr/many\.conf:${\ ($base + 1)}: unknown key 'bogus'$/,
    'an unknown key, with its line');
like($p[1] // '', qr/many\.conf:${\ ($base + 2)}: fcgi_workers must be an integer/,
    'a bad integer, with its line');
is(scalar(grep { /many\.conf:${\ ($base + 3)}: storage_type is s3 but '(s3_endpoint|s3_bucket|s3_access_key|s3_secret_key)' is not set/ } @p),
    4, 'each missing S3 key (the comment after the value is a comment)');

# Files that hold nothing meetrec can use, checked with --connect too:
# each problem said, and nothing is tried with a key that is missing.
for my $bad ([ 'empty', '' ], [ 'garbage', "garbage\n\x01\x02 = \xff\n" ],
    [ 'emptied', "storage_type =\nfcgi_pm =\nfcgi_socket =\n" ],
    [ 'nextcloud without its keys', "storage_type = nextcloud\n" ]) {
	spew("$d/bad.conf", $bad->[1], 0600);
	$r = run_cmd([ $admin, '--config', "$d/bad.conf", 'check-config',
	    '--connect' ], env => $env);
	is($r->{rc}, 2, "$bad->[0]: exit 2");
	like($r->{err}, qr/required key 'database_url' is not set/,
	    'the missing keys said');
	unlike($r->{err}, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no control byte '
	    . 'reaches the terminal');
}

# 3. Key files: missing, unreadable as a key, or a real one.
$r = check([], MEETREC_JWT_PUBLIC_KEY_FILE => "$d/missing.pem");
is($r->{rc}, 1, 'a missing key file: exit 1');
like($r->{err}, qr/^meetrec-admin: MEETREC_JWT_PUBLIC_KEY_FILE: jwt_public_key_file: '\Q$d\E\/missing\.pem': No such file or directory$/m,
    'named');
spew("$d/junk.pem", "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n"
    . "-----END PUBLIC KEY-----\n", 0644);
$r = check([], MEETREC_JWT_PUBLIC_KEY_FILE => "$d/junk.pem");
like($r->{err}, qr/jwt_public_key_file: .*\S/, 'a file that is no key: '
    . 'named') and is($r->{rc}, 1, 'exit 1');
SKIP: {
	skip 'openssl not found', 1 if system('openssl version >/dev/null 2>&1');
	system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
	    . "-out $d/k.pem 2>/dev/null && openssl pkey -in $d/k.pem -pubout "
	    . "-out $d/pub.pem 2>/dev/null");
	chmod 0644, "$d/pub.pem";
	$r = check([], MEETREC_JWT_PUBLIC_KEY_FILE => "$d/pub.pem");
	is($r->{rc}, 0, 'a P-256 public key file: no problem')
	    or diag($r->{err});
}

# 4. --connect: a wrong database password.  A role that must give one
# (scram-sha-256 for it alone, trust stays for the rest).
my $pgd = $s->pg->datadir;
my $hba = slurp("$pgd/pg_hba.conf");
spew("$pgd/pg_hba.conf", "local all mrpw scram-sha-256\n$hba");
$s->pg->psql("CREATE ROLE mrpw LOGIN PASSWORD 'right'; "
    . 'GRANT USAGE ON SCHEMA project_management TO mrpw; '
    . 'GRANT SELECT ON project_management.meetrec_migrations TO mrpw; '
    . 'SELECT pg_reload_conf()');
my $sock = $s->pg->sockdir;
$r = check(['--connect'], MEETREC_DATABASE_URL =>
    "host=$sock dbname=meetrec user=mrpw password=wrong");
is($r->{rc}, 1, 'a wrong database password: exit 1');
like($r->{err}, qr/^meetrec-admin: MEETREC_DATABASE_URL: database_url: could not connect to PostgreSQL: .*password authentication failed for user "mrpw"$/m,
    'one line naming database_url and what PostgreSQL said');
unlike($r->{err}, qr/wrong/, 'the password is not shown');
$r = check(['--connect'], MEETREC_DATABASE_URL =>
    "host=$sock dbname=meetrec user=mrpw password=right");
is($r->{rc}, 0, 'the right one: no problem') or diag($r->{err});
$r = check([]);
is($r->{rc}, 0, 'without --connect the database is not asked');

# Migrations not applied: a database made empty.
$s->pg->psql('CREATE DATABASE fresh', db => 'postgres');
$r = check(['--connect'], MEETREC_DATABASE_URL =>
    "host=$sock dbname=fresh user=meetrec");
like($r->{err}, qr/database_url: \d+ migrations of \S+ are not applied, from 001_init\.sql on: run meetrec-admin migrate/,
    'an empty database: migrate first');

# 5. --connect: LiveKit down, or refusing the key.
my $closed = free_port();
$r = check(['--connect'], MEETREC_LIVEKIT_URL => "http://127.0.0.1:$closed");
is($r->{rc}, 1, 'LiveKit unreachable: exit 1');
like($r->{err}, qr/^meetrec-admin: MEETREC_LIVEKIT_URL: livekit_url: could not reach LiveKit: .*127\.0\.0\.1.*$closed/m,
    'one line naming livekit_url');
$r = check(['--connect'], MEETREC_LIVEKIT_API_SECRET => 'x' x 40);
like($r->{err}, qr/^meetrec-admin: MEETREC_LIVEKIT_API_SECRET: livekit_api_secret: LiveKit at \S+ refused livekit_api_key '\Q${\ $s->lk_key}\E'/m,
    'a wrong LiveKit secret: named');
unlike($r->{err}, qr/x{40}/, 'and not shown');

# 5b. The speech-to-text server: its URL and the pieces' folder without
# --connect; with it, a second of silence sent as the transcribe pass
# sends pieces (to t/asr's stand-in, which wants a key here).
$r = check([], MEETREC_ASR_URL => 'ftp://asr.example.com/x');
like($r->{err}, qr/^meetrec-admin: MEETREC_ASR_URL: asr_url: 'ftp:\/\/asr\.example\.com\/x' must start with http:\/\/ or https:\/\//m,
    'asr_url: not http(s)');
$r = check([], MEETREC_ASR_URL => 'http://127.0.0.1:9/v1/audio/transcriptions',
    MEETREC_ASR_TMP_DIR => "$d/no-such-folder");
like($r->{err}, qr/^meetrec-admin: MEETREC_ASR_TMP_DIR: asr_tmp_dir: folder '\Q$d\E\/no-such-folder': No such file or directory$/m,
    'asr_tmp_dir: a folder that is not there');
$r = check([], MEETREC_ASR_URL => 'http://asr.example.com/v1/audio/transcriptions',
    MEETREC_ASR_API_KEY => 'k');
like($r->{err}, qr/asr_url: .*plain http: asr_api_key and the meetings' audio would travel unencrypted/,
    'a key over plain http: a warning');
if (my @miss = Meetrec::Test::Asr::prereqs_missing()) {
	fail("the speech-to-text stand-in cannot run: @miss")
	    if $ENV{MEETREC_TEST_REQUIRE_ALL};
} else {
	my $asr = Meetrec::Test::Asr->new(dir => "$d/asr",
	    api_key => 'sk-right');
	my %e = (MEETREC_ASR_URL => $asr->url, MEETREC_ASR_API_KEY => 'sk-right');
	$r = check(['--connect'], %e);
	is($r->{rc}, 0, 'a speech-to-text server that answers: exit 0')
	    or diag($r->{err});
	like($r->{out}, qr/^# the speech-to-text server at \S+ transcribed a second of silence with model whisper-1$/m,
	    '... it transcribed a second of silence');
	my ($req) = @{ $asr->requests };
	is($req && $req->{wav}{rate}, 16000, '... sent as 16 kHz WAV');
	$r = check(['--connect'], %e, MEETREC_ASR_API_KEY => 'sk-wrong');
	like($r->{err}, qr/^meetrec-admin: MEETREC_ASR_API_KEY: asr_api_key: the speech-to-text server at \S+ refused the key/m,
	    'a wrong key: named');
	unlike($r->{err}, qr/sk-wrong/, '... and not shown');
	$r = check(['--connect'], %e, MEETREC_ASR_URL => $asr->url =~
	    s{/v1/audio/transcriptions}{/v1/nothing-here}r);
	like($r->{err}, qr/asr_url: .* does not take transcriptions \(HTTP 404\)/,
	    'a URL that is not the endpoint: named');
	$r = check(['--connect'], %e, MEETREC_ASR_URL =>
	    "http://127.0.0.1:$closed/v1/audio/transcriptions");
	like($r->{err}, qr/^meetrec-admin: MEETREC_ASR_URL: asr_url: the speech-to-text server at /m,
	    'a server that is down: named');
	$asr->stop;
}

# --connect checks a storage folder, it does not make one: a missing
# folder is said by the static check, and is still missing afterwards
# (made as root, it would be root's and the reaper could not use it).
my $nostore = "$d/no-such-store";
rmdir $nostore;
$r = check(['--connect'], MEETREC_STORAGE_LOCAL_DIR => $nostore);
is($r->{rc}, 1, 'a storage folder that does not exist, --connect: exit 1');
like($r->{err}, qr/^meetrec-admin: MEETREC_STORAGE_LOCAL_DIR: storage_local_dir: folder '\Q$nostore\E': No such file or directory$/m,
    'named');
ok(!-e $nostore, 'and not made by the storage probe');
unlike($r->{err}, qr/probe object/, 'no probe is tried there');

# 6. Who may do what: nginx's user and the storage folder, the service
# user and the config file.  The real users of a deployment are
# meetrec and www-data; here nobody stands for both, and the test, as
# root, makes the folders as an operator would.
SKIP: {
	skip 'needs root and the user nobody', 9 unless $root && defined $nobody;
	my $store = "$d/store-nginx";
	make_path($store);
	chmod 0700, $store;
	$r = check(['--connect'], MEETREC_STORAGE_LOCAL_DIR => $store,
	    MEETREC_NGINX_USER => $nobody);
	is($r->{rc}, 1, "a storage folder nginx's user cannot read: exit 1");
	like($r->{err}, qr/^meetrec-admin: MEETREC_STORAGE_LOCAL_DIR: storage_local_dir: nginx's user nobody may not read and search in '\Q$store\E' \(owner root, group root, mode 0700\)$/m,
	    'named, with the folder\'s owner, group and mode');
	like($r->{err}, qr/^meetrec-admin: MEETREC_STORAGE_LOCAL_DIR: storage_local_dir: nginx's user nobody could not read the probe object stored in '\Q$store\E' \(permission denied\)/m,
	    'and the probe, read as nobody, says the same');

	chmod 0755, $store;
	$r = check(['--connect'], MEETREC_STORAGE_LOCAL_DIR => $store,
	    MEETREC_NGINX_USER => $nobody);
	like($r->{err}, qr/storage_local_dir: nginx's user nobody could not read what is stored in '\Q$store\E': files get the folder's group root and mode 0640/,
	    'a folder it may read, but files of a group it is not in');

	# The way doc/deploy.md sets it up: nginx's group, set-group-ID.
	# The socket gets nginx's group too.
	chown 0, $nogroup, $store;
	chmod 02750, $store;
	$r = check(['--connect'], MEETREC_STORAGE_LOCAL_DIR => $store,
	    MEETREC_NGINX_USER => $nobody,
	    MEETREC_FCGI_SOCKET_GROUP => scalar getgrgid($nogroup));
	is($r->{rc}, 0, "nginx's group, set-group-ID: no problem")
	    or diag($r->{err});

	# The service user must read the config: root's 0600 file is not.
	spew("$d/svc.conf", slurp($conf) . "fcgi_user = $nobody\n", 0600);
	$r = run_cmd([ $admin, '--config', "$d/svc.conf", 'check-config' ],
	    env => $env);
	like($r->{err}, qr/^meetrec-admin: config file '\Q$d\E\/svc\.conf': the service user nobody may not read it \(owner root, group root, mode 0600\): chown root:nobody and chmod 640$/m,
	    'a config file the service user cannot read');
	# 0640 with the service user's group: the Debian way.
	chown 0, $nogroup, "$d/svc.conf";
	chmod 0640, "$d/svc.conf";
	$r = run_cmd([ $admin, '--config', "$d/svc.conf", 'check-config' ],
	    env => $env);
	unlike($r->{err}, qr/config file/, 'root:<its group> 0640 is right');
	# The spool: the service user reads and removes what LiveKit wrote.
	my $spool = "$d/spool-root";
	make_path($spool);
	chmod 0755, $spool;
	$r = run_cmd([ $admin, '--config', "$d/svc.conf", 'check-config' ],
	    env => { %$env, MEETREC_SPOOL_DIR => $spool });
	like($r->{err}, qr/spool_dir: the service user nobody may not read, write and search in '\Q$spool\E' \(owner root, group root, mode 0755\)/,
	    'a spool the service user cannot write');
	# The socket: nginx must get in.
	$r = run_cmd([ $admin, '--config', "$d/svc.conf", 'check-config' ],
	    env => { %$env, MEETREC_NGINX_USER => 'root',
	    MEETREC_FCGI_SOCKET_GROUP => 'root' });
	unlike($r->{err}, qr/fcgi_socket/, 'nginx as root reaches any socket');
}

$s->finish;
done_testing();
