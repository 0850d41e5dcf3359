# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Stack - the whole meetrec stack for one test file:
# a private PostgreSQL cluster, the LiveKit stand-in, the meetrec-fcgi
# pool and nginx with the project's own configuration, in a fresh
# directory on free ports (STYLE.md 4.9).
#
#	use Test::More;
#	use lib 't/lib';
#	use Meetrec::Test::Stack;
#	Meetrec::Test::Stack::require_prereqs();
#	my $s = Meetrec::Test::Stack->new(workers => 2);
#	my $r = $s->api(GET => '/healthz');
#	is($r->{status}, 200);
#	$s->finish;		# stops everything, adds the teardown tests
#	done_testing;
#
# Bring-up order: PostgreSQL, the stand-in, the config file, migrate,
# the pool, nginx.  (The stand-in comes before migrate because
# meetrec-admin reads the same config, and livekit_url is a required key
# that holds the stand-in's port.  nginx's port is picked first, because
# the stand-in needs the webhook URL.)
#
# Files: t/tmp_check/<test>/ under the build tree (MEETREC_BUILDDIR, else
# the source tree; MEETREC_TEST_TMPDIR overrides the t/tmp_check part):
#	meetrec.conf	the config (mode 0600)
#	log/		meetrec-fcgi.log, standin.log, postgresql.log, ...
#	nginx/		rendered nginx.conf, meetrec-*.conf, error.log,
#			access.log
#	asan/		sanitizer reports (there must be none)
#	pg/ spool/ storage/ run/
# It is removed by finish() when every test passed, and kept on failure,
# when the test died, or with MEETREC_TEST_LEAVE=1.  MEETREC_TEST_CATLOG=1
# prints the logs at finish().
#
# With persistent_dir => DIR (scripts/run-stack) the same stack lives in
# DIR and survives: the cluster is initialised once, the config is
# generated once (random secrets) and reused afterwards, nothing is
# deleted, and shutdown() replaces finish().

package Meetrec::Test::Stack;

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(sha1_hex);
use Fcntl qw(:flock);
use File::Basename qw(basename);
use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Temp ();
use POSIX ();

use Meetrec::Test::Proc qw(spawn wait_for run_cmd);
use Meetrec::Test::Util qw(src_root build_root free_port http uuid
    random_hex jwt_hs256 slurp spew watch);
use Meetrec::Test::OpenAPI;
use Meetrec::Test::Pg;
use Meetrec::Test::PgProxy;
use Meetrec::Test::PgBouncer;
use Meetrec::Test::Nginx;

# Keys written to meetrec.conf, in this order (conf.c refuses unknown
# keys, so extras from conf => {} must be real keys too).
my @KEY_ORDER = qw(
	database_url fcgi_socket fcgi_pm fcgi_workers fcgi_workers_min
	fcgi_workers_max fcgi_spare_min fcgi_spare_max fcgi_idle_timeout
	fcgi_max_requests pid_file nginx_user
	body_max jwt_secret jwt_issuer jwt_audience jwt_leeway
	livekit_url livekit_api_key livekit_api_secret livekit_timeout_ms
	webhook_leeway spool_dir storage_type storage_local_dir public_url
	log_level
);

# ---------------------------------------------------------------------
# Prerequisites

sub _node {
	my @c = ($ENV{MEETREC_NODE} // (), map { "$_/node" }
	    split /:/, $ENV{PATH} // '');
	for (@c) { return $_ if length && -x $_ && !-d $_ }
	return undef;
}

sub admin_bin { return build_root() . '/src/meetrec-admin' }
sub fcgi_bin  { return build_root() . '/fcgi/meetrec-fcgi' }
sub reaper_bin { return build_root() . '/src/meetrec-reaper' }

# The directory that holds t/tmp_check/<test>.
sub _check_root {
	return $ENV{MEETREC_TEST_TMPDIR} if $ENV{MEETREC_TEST_TMPDIR};
	return build_root() . '/t/tmp_check';
}

# npm_dir($dir) - where the npm helper in <src>/$dir (t/livekit, t/s3,
# t/browser) runs from: the source tree, unless that is read-only (as
# make distcheck makes it) and has no node_modules, then a copy of its
# files under the build tree, <build>/t/npm/$dir.
sub npm_dir {
	my ($dir) = @_;
	my $s = src_root() . "/$dir";
	my $mode = (stat $s)[2] // 0;
	# By the mode bits: root may write where nobody else may.
	return $s if -d "$s/node_modules" || ($mode & 0222);
	return build_root() . "/t/npm/$dir";
}

# ensure_npm($dir, $marker) - npm ci in npm_dir($dir) when
# node_modules/$marker is missing, once even when several tests start at
# the same moment (flock, then look again).  Returns undef on success,
# else the reason.
sub ensure_npm {
	my ($dir, $marker) = @_;
	my $d = npm_dir($dir);
	my $have = "$d/node_modules" . (defined $marker ? "/$marker" : '');
	return undef if -d $have;
	my $root = _check_root();
	(my $tag = $dir) =~ s{\W+}{-}g;
	make_path($root);
	open my $lock, '>>', "$root/.npm-ci-$tag.lock"
	    or return "cannot create $root/.npm-ci-$tag.lock: $!";
	flock($lock, LOCK_EX) or return "flock: $!";
	return undef if -d $have;
	my $src = src_root() . "/$dir";
	if ($d ne $src) {
		make_path($d);
		opendir my $dh, $src or return "$src: $!";
		for my $f (grep { -f "$src/$_" } readdir $dh) {
			spew("$d/$f", slurp("$src/$f"));
		}
		closedir $dh;
	}
	my $npm = $ENV{MEETREC_NPM} // 'npm';
	my $r = run_cmd([ $npm, 'ci', '--no-audit', '--no-fund',
	    '--prefix', $d ], timeout => 600, cwd => $d,
	    log => "$root/npm-ci-$tag.log");
	close $lock;
	return undef if $r->{rc} == 0 && -d $have;
	return "npm ci in $d failed (see $root/npm-ci-$tag.log)";
}

# prereqs_missing(@what) - reasons why the stack cannot run, for each of
# pg, nginx, node, binaries (default: all).  Empty when all is there.
sub prereqs_missing {
	my @what = @_ ? @_ : qw(pg nginx node binaries);
	my %w = map { $_ => 1 } @what;
	my @miss;
	if ($w{pg}) {
		if (!Meetrec::Test::Pg::bindir()) {
			push @miss, 'PostgreSQL (initdb, pg_ctl) not found';
		} elsif (my $u = Meetrec::Test::Pg::server_user()) {
			push @miss, "running as root, but there is no '$u' user "
			    . 'to run PostgreSQL as' unless defined getpwnam($u);
		}
	}
	push @miss, 'nginx not found' if $w{nginx}
	    && !Meetrec::Test::Nginx::binary();
	if ($w{binaries}) {
		for my $b (admin_bin(), fcgi_bin()) {
			push @miss, "$b is not built" unless -x $b;
		}
	}
	push @miss, node_missing('t/livekit/standin.mjs', 't/livekit')
	    if $w{node};
	return @miss;
}

# node_missing($script, $npm_dir, $marker) - why node cannot run $script
# (relative to the source tree) with the packages of $npm_dir installed
# by ensure_npm(); empty when it can.
sub node_missing {
	my ($script, $dir, $marker) = @_;
	my $js = src_root() . "/$script";
	return 'node not found' unless _node();
	return "$js is missing" unless -e $js;
	my $why = ensure_npm($dir, $marker);
	return defined $why ? $why : ();
}

# node_script($script, $dir) - the path node runs $script (relative to
# the source tree, inside the npm helper $dir) from: see npm_dir.
sub node_script {
	my ($script, $dir) = @_;
	return npm_dir($dir) . substr($script, length $dir);
}

# require_prereqs(@what) - call first in every .t: skip_all when
# something is missing, or BAIL_OUT when MEETREC_TEST_REQUIRE_ALL=1 (CI,
# where a silent skip would hide a broken job).
sub require_prereqs {
	return skip_unless(prereqs_missing(@_));
}

# skip_unless(@reasons) - with no reason, 1; else skip_all, or BAIL_OUT
# when MEETREC_TEST_REQUIRE_ALL=1.
sub skip_unless {
	my @miss = @_;
	return 1 unless @miss;
	require Test::More;
	my $why = join '; ', @miss;
	Test::More::BAIL_OUT($why) if $ENV{MEETREC_TEST_REQUIRE_ALL};
	Test::More::plan(skip_all => $why);
	return 0;			# NOTREACHED
}

# ---------------------------------------------------------------------
# Bring-up

# new(%opts)
#   workers => 2, max_requests => 50	pool size and recycling; a test's
#					pool is static (fcgi_pm), unless
#					conf => { fcgi_pm => ... } says
#					otherwise; scripts/run-stack's
#					follows the product's default
#   max_conns => 1024			nginx's limit of requests with the
#					pool at once (FCGI_MAX_CONNS)
#   conf => { key => value }		extra/overriding config keys;
#					undef removes a key
#   env => { VAR => value }		extra environment for meetrec-*
#   body_limit => '1m'			nginx client_max_body_size
#   nginx_vars => { NAME => value }	extra @NAME@ values for templates
#   nginx_workers => N|'auto'		nginx's worker_processes (the
#					template ships 1; bench/http.pl)
#   no_nginx, no_pool, no_standin, no_migrate	leave that part out
#   pg_durable => 1			synchronous_commit on: an
#					immediate shutdown loses no commit
#   pg_proxy => 1			the programs reach PostgreSQL
#					through Meetrec::Test::PgProxy
#					($s->pgproxy), which can drop a
#					connection after a commit
#					(no_standin: livekit_url points at a
#					closed port)
#   pgbouncer => N			the programs reach PostgreSQL
#					through Debian's PgBouncer in
#					transaction mode with N server
#					connections ($s->pgbouncer:
#					Meetrec::Test::PgBouncer); the
#					test sets the database_* keys
#   share_with => $stack		another API host of that stack:
#					its own pool and nginx, sharing
#					the other's PostgreSQL, stand-in,
#					folders and config (conf overrides
#					apply); the other stops them
#   webhook_url => URL			where the stand-in sends webhooks
#					(else this stack's nginx), e.g. a
#					balancer in front of several hosts
#   listen_port => N			fixed nginx port (else a free one)
#   standin_port => N			fixed stand-in port (persistent)
#   fixture_mp4 => FILE			the stand-in copies FILE as each
#					MP4 egress output (--fixture-mp4),
#					e.g. t/fixtures/play.mp4, a video a
#					browser plays
#   name => '...'			test name (default: basename of $0)
#   persistent_dir => DIR		scripts/run-stack mode (see top)
sub new {
	my ($class, %o) = @_;
	my $self = bless {
		o        => \%o,
		owner    => $$,
		src      => src_root(),
		build    => build_root(),
		company  => uuid(),
		finished => 0,
	}, $class;
	$self->{name} = $o{name} // (basename($0) =~ s/\.t\z//r)
	    . ($o{share_with} ? '-b' : '');
	if ($o{persistent_dir}) {
		$self->{persistent} = 1;
		$self->{dir} = File::Spec->rel2abs($o{persistent_dir});
	} else {
		$self->{dir} = _check_root() . "/$self->{name}";
		remove_tree($self->{dir}) if -e $self->{dir};
	}
	my $d = $self->{dir};
	make_path(map { "$d/$_" } qw(log asan run spool storage));
	# PostgreSQL (as user postgres when we are root) must be able to
	# reach $d/pg; a sanitizer log written by a process that dropped
	# privileges must land in asan/.
	chmod 0755, $d;
	chmod 0755, _check_root() unless $self->{persistent};
	chmod 01777, "$d/asan";
	my $ok = eval { $self->_bring_up; 1 };
	unless ($ok) {
		my $err = $@;
		eval { $self->shutdown(quick => 1) };
		$self->{finished} = 1;
		croak "Stack: bring-up failed: $err"
		    . "(artefacts kept in $d)\n";
	}
	return $self;
}

# Every answer from this stack's nginx, whichever helper asked (api(),
# Meetrec::Test::Util's http() and raw_http()), is checked against the
# API's description (Meetrec::Test::OpenAPI); finish() fails on any
# answer that does not fit.  Without JSON::Validator nothing is checked,
# and under MEETREC_TEST_REQUIRE_ALL=1 that is a failure, as for any
# other prerequisite.
sub _watch_answers {
	my ($self) = @_;
	if (my @miss = Meetrec::Test::OpenAPI::missing()) {
		require Test::More;
		Test::More::BAIL_OUT("@miss") if $ENV{MEETREC_TEST_REQUIRE_ALL};
		Test::More::note("answers are not checked against the OpenAPI "
		    . "document: @miss");
		return;
	}
	$self->{openapi} = Meetrec::Test::OpenAPI->new;
	$self->{openapi_checked} = 0;
	my $log = "$self->{dir}/log/openapi.log";
	$self->{openapi_log} = $log;
	watch("127.0.0.1:$self->{port}", sub {
		my ($a) = @_;
		$self->{openapi_checked}++;
		my @p = $self->{openapi}->check(%$a);
		return unless @p;
		# Children of the test (forked requests) append here too.
		open(my $fh, '>>', $log) or return;
		print {$fh} map { "$_\n" } @p;
		close $fh;
	});
	return;
}

# A short directory for Unix sockets when $dir is too deep.
sub _short_dir {
	my ($self) = @_;
	return $self->{short} //= do {
		my $tmp = File::Spec->tmpdir;
		$tmp = '/tmp' if length($tmp) > 60;
		my $t = File::Temp::tempdir('mrfcXXXX', DIR => $tmp, CLEANUP => 0);
		chmod 0755, $t;
		$t;
	};
}

sub _socket_path {
	my ($self) = @_;
	my $p = "$self->{dir}/run/fcgi.sock";
	return $p if length $p <= 100;
	return "/tmp/meetrec-fcgi-" . substr(sha1_hex($self->{dir}), 0, 12)
	    . '.sock' if $self->{persistent};
	return $self->_short_dir . '/fcgi.sock';
}

# parse_conf($path) - key => value from a meetrec.conf (as conf.c reads).
sub parse_conf {
	my ($path) = @_;
	my %c;
	for my $line (split /\n/, slurp($path)) {
		$line =~ s/\A\s+|\s+\z//g;
		next if $line eq '' || $line =~ /^#/;
		my ($k, $v) = $line =~ /^([^=]+?)\s*=\s*(.*)$/ or next;
		$c{$k} = $v;
	}
	return \%c;
}

sub _bring_up {
	my ($self) = @_;
	my ($o, $d) = ($self->{o}, $self->{dir});
	my $conf_path = "$d/meetrec.conf";
	$self->{conf_path} = $conf_path;
	my $old = ($self->{persistent} && -e $conf_path)
	    ? parse_conf($conf_path) : undef;

	# 1. Ports.  nginx's first: the stand-in's webhook URL needs it.
	$self->{port} = $o->{listen_port} // free_port();
	$self->_watch_answers unless $self->{persistent} || $o->{no_nginx};
	return $self->_bring_up_host($o->{share_with}) if $o->{share_with};

	# 2. PostgreSQL.
	my $sockdir;
	if ($old && ($old->{database_url} // '') =~ /\bhost=(\S+)/) {
		$sockdir = $1;
	} elsif ($self->{persistent}) {
		$sockdir = "$d/pgsock";
		$sockdir = '/tmp/meetrec-pg-' . substr(sha1_hex($d), 0, 12)
		    if length("$sockdir/.s.PGSQL.5432") > 100;
	}
	$self->{pg} = Meetrec::Test::Pg->new(datadir => "$d/pg",
	    logdir => "$d/log", $sockdir ? (sockdir => $sockdir) : (),
	    durable => $o->{pg_durable},
	    $self->{persistent} ? () : (template_dir => _check_root()));
	$self->{pg}->init;
	$self->{pg}->start;
	if ($o->{pg_proxy}) {
		# The programs reach PostgreSQL through a proxy the test can
		# make drop connections (Meetrec::Test::PgProxy).
		$self->{pgproxy} = Meetrec::Test::PgProxy->new(
		    dir => $self->_short_dir . '/pgproxy',
		    to => $self->{pg}->sockdir, log => "$d/log/pgproxy.log");
		$self->{pgproxy}->start;
	}
	if ($o->{pgbouncer}) {
		$self->{pgbouncer} = Meetrec::Test::PgBouncer->new(
		    dir => $self->_short_dir . '/pgbouncer',
		    to => $self->{pg}->sockdir, db => $self->{pg}->dbname,
		    user => $Meetrec::Test::Pg::ROLE,
		    log => "$d/log/pgbouncer.log",
		    pool_size => $o->{pgbouncer});
		$self->{pgbouncer}->start;
	}

	# 3. Secrets and the stand-in.
	my $cfg;
	if ($old) {
		$cfg = $old;
	} else {
		$cfg = $self->_default_conf;
	}
	my ($lk_port) = ($cfg->{livekit_url} // '') =~ m{:(\d+)/?$};
	$self->{lk_key} = $cfg->{livekit_api_key};
	$self->{lk_secret} = $cfg->{livekit_api_secret};
	if ($old && $cfg->{livekit_url}
	    && $cfg->{livekit_url} !~ m{^http://(?:127\.0\.0\.1|localhost):\d+/?$}) {
		# The person pointed var/meetrec.conf at a real LiveKit.
		$self->{lk_port} = undef;
	} elsif ($o->{no_standin}) {
		# Nothing listens there: LiveKit is down.
		$self->{lk_port} = $lk_port || free_port();
		$cfg->{livekit_url} = "http://127.0.0.1:$self->{lk_port}";
	} else {
		$self->{lk_port} = $self->_start_standin($lk_port);
		$cfg->{livekit_url} = "http://127.0.0.1:$self->{lk_port}";
	}

	# 4. The config file.
	unless ($old) {
		my $extra = $o->{conf} // {};
		for my $k (keys %$extra) {
			if (defined $extra->{$k}) {
				$cfg->{$k} = $extra->{$k};
			} else {
				delete $cfg->{$k};
			}
		}
		$self->_write_conf($cfg);
	}
	$self->{config} = $cfg;
	make_path($cfg->{spool_dir}) if $cfg->{spool_dir};
	make_path($cfg->{storage_local_dir}) if $cfg->{storage_local_dir};

	# 5. Schema.
	$self->admin('migrate') unless $o->{no_migrate};

	# 6. The pool, then nginx in front of it.
	$self->start_pool unless $o->{no_pool};
	$self->_start_nginx unless $o->{no_nginx};
	return;
}

# Another API host of stack $o: the same database and folders, its own
# socket, pid file, pool and nginx.
sub _bring_up_host {
	my ($self, $o) = @_;
	my $d = $self->{dir};
	$self->{pg} = $o->{pg};
	$self->{pg_shared} = 1;
	$self->{conf_path} = "$d/meetrec.conf";
	my %cfg = (%{ $o->{config} }, fcgi_socket => $self->_socket_path,
	    pid_file => "$d/run/meetrec-fcgi.pid");
	my $extra = $self->{o}{conf} // {};
	for my $k (keys %$extra) {
		if (defined $extra->{$k}) { $cfg{$k} = $extra->{$k} }
		else { delete $cfg{$k} }
	}
	$self->{$_} = $o->{$_} for qw(lk_key lk_secret lk_port company);
	$self->{config} = \%cfg;
	$self->_write_conf(\%cfg);
	$self->start_pool unless $self->{o}{no_pool};
	$self->_start_nginx unless $self->{o}{no_nginx};
	return;
}

sub _default_conf {
	my ($self) = @_;
	my ($o, $d) = ($self->{o}, $self->{dir});
	my $test = !$self->{persistent};
	my $lk_port = $o->{standin_port}
	    // ($self->{persistent} ? $self->{port} + 1 : 0);
	return {
		database_url      => $self->{pgproxy}
		    ? $self->{pgproxy}->conninfo($self->{pg}->dbname,
			$self->{pg}->conninfo =~ /\buser=(\S+)/)
		    : $self->{pgbouncer} ? $self->{pgbouncer}->conninfo
		    : $self->{pg}->conninfo,
		fcgi_socket       => $self->_socket_path,
		($test ? (fcgi_pm => 'static') : ()),
		fcgi_workers      => $o->{workers} // 2,
		fcgi_max_requests => $o->{max_requests} // ($test ? 50 : 10000),
		pid_file          => "$d/run/meetrec-fcgi.pid",
		# nginx's workers run as we do (as root too: Nginx.pm).
		nginx_user        => scalar getpwuid($>),
		body_max          => 65536,
		jwt_secret        => random_hex(32),
		jwt_issuer        => $test ? 'meetrec-test' : 'meetrec-local',
		jwt_audience      => 'meetrec',
		jwt_leeway        => 30,
		# Port 0 until the stand-in says which one it got.
		livekit_url       => "http://127.0.0.1:$lk_port",
		livekit_api_key   => 'API' . random_hex(6),
		livekit_api_secret => random_hex(32),
		# Shorter than the stand-in's "slow" delay (5 s), so the
		# timeout path is reachable with the default settings.
		livekit_timeout_ms => $test ? 3000 : 10000,
		webhook_leeway    => 60,
		spool_dir         => "$d/spool",
		storage_type      => 'local',
		storage_local_dir => "$d/storage",
		public_url        => "http://127.0.0.1:$self->{port}",
		log_level         => $test ? 'debug' : 'info',
	};
}

# The config holds secrets: written 0600 (the programs refuse otherwise).
sub _write_conf {
	my ($self, $cfg) = @_;
	my %seen;
	my @keys = grep { exists $cfg->{$_} && !$seen{$_}++ } @KEY_ORDER;
	push @keys, sort grep { !$seen{$_}++ } keys %$cfg;
	my $text = "# meetrec.conf written by t/lib/Meetrec/Test/Stack.pm\n"
	    . ($self->{persistent}
		? "# Generated once; edit freely, it is reused as it is.\n"
		: "# for test $self->{name}.\n");
	for my $k (@keys) {
		croak "Stack: config value for $k contains a newline"
		    if $cfg->{$k} =~ /\n/;
		$text .= "$k = $cfg->{$k}\n";
	}
	spew($self->{conf_path}, $text, 0600);
}

# Environment for every meetrec-* program we run: the SQL directory, the
# sanitizer options (reports go to asan/, checked by finish), and no
# MEETREC_<KEY> from the developer's shell overriding our config.
sub _prog_env {
	my ($self) = @_;
	my $d = $self->{dir};
	my %env = map { $_ => undef }
	    grep { /^MEETREC_/ && !/^MEETREC_TEST_/ } keys %ENV;
	my $asan = "detect_leaks=1:abort_on_error=1:log_path=$d/asan/asan";
	$asan .= ":$ENV{ASAN_OPTIONS}" if $ENV{ASAN_OPTIONS};
	my $ubsan = "print_stacktrace=1:halt_on_error=1:log_path=$d/asan/ubsan";
	$ubsan .= ":$ENV{UBSAN_OPTIONS}" if $ENV{UBSAN_OPTIONS};
	return {
		%env,
		MEETREC_SQLDIR => "$self->{src}/sql",
		ASAN_OPTIONS   => $asan,
		UBSAN_OPTIONS  => $ubsan,
		%{ $self->{o}{env} // {} },
	};
}

sub _start_standin {
	my ($self, $port) = @_;
	my $d = $self->{dir};
	my $pf = "$d/run/standin.port";
	unlink $pf;
	my $node = _node() or croak 'Stack: node not found';
	my $url = $self->{o}{webhook_url}
	    // "http://127.0.0.1:$self->{port}/api/livekit/webhook";
	my $p = spawn('standin', [ $node,
	    node_script('t/livekit/standin.mjs', 't/livekit'),
	    '--port', $port || 0, '--port-file', $pf,
	    '--api-key', $self->{lk_key} // croak('no livekit_api_key'),
	    '--api-secret', $self->{lk_secret} // croak('no livekit_api_secret'),
	    '--webhook-url', $url, '--log', "$d/log/standin.log",
	    defined $self->{o}{fixture_mp4}
		? ('--fixture-mp4', File::Spec->rel2abs($self->{o}{fixture_mp4}))
		: () ],
	    {}, $d, cwd => $d, log => "$d/log/standin-stdio.log");
	$self->{standin} = $p;
	my $got = wait_for(sub {
		die 'Stack: the LiveKit stand-in exited (' . $p->describe
		    . "):\n" . $p->log_content . "\n" unless $p->alive;
		return 0 unless -s $pf;
		my $n = slurp($pf) =~ s/\s+//gr;
		return $n =~ /^\d+$/ ? $n : 0;
	}, 30, "the LiveKit stand-in's port file $pf");
	return $got;
}

# start_pool() - start meetrec-fcgi and wait until it is serving: the
# pid file names our child (written once the workers are started) and
# the socket exists.  Returns the Proc object.
# reaper([\%env,] @args) - meetrec-reaper --config <conf> --once @args, to the
# end; returns { rc, out, err } (its log lines are in err).  Log lines
# are appended to log/meetrec-reaper.log as well.
sub reaper {
	my ($self, @args) = @_;
	my %env = (%{ $self->_prog_env },
	    ref $args[0] eq 'HASH' ? %{ shift @args } : ());
	my $r = run_cmd([ reaper_bin(), '--config', $self->{conf_path},
	    '--once', @args ], env => \%env, cwd => $self->{dir},
	    timeout => 600);
	if (open(my $fh, '>>', "$self->{dir}/log/meetrec-reaper.log")) {
		print $fh $r->{err};
		close $fh;
	}
	return $r;
}

# start_reaper(name => 'reaper1', args => [...]) - a meetrec-reaper
# --watch in the background (or with other args), as a process object;
# stopped and checked by finish() like the pool.
sub start_reaper {
	my ($self, %o) = @_;
	my $name = $o{name} // 'meetrec-reaper-watch';
	my $p = spawn($name, [ reaper_bin(), '--config', $self->{conf_path},
	    @{ $o{args} // ['--watch'] } ], $self->_prog_env, $self->{dir},
	    cwd => $self->{dir});
	push @{ $self->{reapers} }, $p;
	return $p;
}

# forget_reaper($proc) - a reaper the test killed on purpose: finish()
# does not check how it exited.
sub forget_reaper {
	my ($self, $p) = @_;
	$self->{reapers} = [ grep { $_ != $p } @{ $self->{reapers} // [] } ];
	return;
}

sub start_pool {
	my ($self) = @_;
	croak 'Stack: pool already running'
	    if $self->{pool} && $self->{pool}->alive;
	my $cfg = $self->{config};
	my $p = spawn('meetrec-fcgi', [ fcgi_bin(), '--config',
	    $self->{conf_path} ], $self->_prog_env, $self->{dir},
	    cwd => $self->{dir});
	$self->{pool} = $p;
	my ($pidf, $sock) = @$cfg{qw(pid_file fcgi_socket)};
	wait_for(sub {
		die 'Stack: meetrec-fcgi exited (' . $p->describe
		    . ") during startup:\n" . $p->log_content . "\n"
		    unless $p->alive;
		return 0 unless -S $sock;
		return 1 unless defined $pidf;
		return 0 unless -s $pidf;
		return (slurp($pidf) =~ s/\s+//gr) eq $p->pid;
	}, 30, "meetrec-fcgi to write $pidf and bind $sock");
	return $p;
}

# stop_pool(sig => 'TERM', timeout => 30) - returns the raw wait status.
sub stop_pool {
	my ($self, %o) = @_;
	return undef unless $self->{pool};
	return $self->{pool}->stop(sig => $o{sig} // 'TERM',
	    timeout => $o{timeout} // 30);
}

# reconfigure(key => value, ...) - meetrec.conf again with these keys
# changed (undef: left out, so meetrec's default holds), then SIGHUP to
# the pool.  The caller waits for what it expects: reload_pool() waits
# for the log line, which log_level warn does not write.  nginx and the
# stand-in keep the settings they were started with.
sub reconfigure {
	my ($self, %kv) = @_;
	croak 'Stack: reconfigure of a persistent stack' if $self->{persistent};
	my $cfg = $self->{config};
	for my $k (keys %kv) {
		if (defined $kv{$k}) { $cfg->{$k} = $kv{$k} }
		else { delete $cfg->{$k} }
	}
	$self->_write_conf($cfg);
	$self->{pool}->signal('HUP');
	return;
}

# reload_pool() - SIGHUP, then wait for "reloaded configuration" (or the
# refusal) in the pool log.
sub reload_pool {
	my ($self) = @_;
	my $re = qr/reloaded configuration|reload refused/;
	my $n = () = $self->log('pool') =~ /$re/g;
	$self->{pool}->signal('HUP');
	wait_for(sub { my $m = () = $self->log('pool') =~ /$re/g; $m > $n },
	    10, 'meetrec-fcgi to reload');
}

sub _start_nginx {
	my ($self) = @_;
	my $cfg = $self->{config};
	my $ng = Meetrec::Test::Nginx->new(
		prefix => "$self->{dir}/nginx",
		logdir => $self->{dir},
		port   => $self->{port},
		src    => $self->{src},
		worker_processes => $self->{o}{nginx_workers},
		vars   => {
			FCGI_SOCKET => $cfg->{fcgi_socket},
			WWW_DIR     => "$self->{src}/www",
			BODY_LIMIT  => $self->{o}{body_limit} // '1m',
			STORAGE_DIR => $cfg->{storage_local_dir} // '',
			SPOOL_DIR   => $cfg->{spool_dir} // '',
			METRICS_ALLOW => "\t\tallow\t127.0.0.1;\n\t\tallow\t::1;",
			FCGI_MAX_CONNS => $self->{o}{max_conns} // 1024,
			%{ $self->{o}{nginx_vars} // {} },
		});
	$self->{nginx} = $ng;
	$ng->render;
	$ng->start;
	return $ng;
}

# ---------------------------------------------------------------------
# Accessors

sub dir        { return $_[0]{dir} }
sub pg         { return $_[0]{pg} }
sub pgproxy    { return $_[0]{pgproxy} }
sub pgbouncer  { return $_[0]{pgbouncer} }
sub nginx      { return $_[0]{nginx} }
sub pool       { return $_[0]{pool} }
sub standin_proc { return $_[0]{standin} }
sub conf_path  { return $_[0]{conf_path} }
sub port       { return $_[0]{port} }
sub standin_port { return $_[0]{lk_port} }
sub jwt_secret { return $_[0]{config}{jwt_secret} }
sub lk_key     { return $_[0]{lk_key} }
sub lk_secret  { return $_[0]{lk_secret} }
sub company    { return $_[0]{company} }
sub pool_pid   { return $_[0]{pool} ? $_[0]{pool}->pid : undef }

# config() - a copy of what was written; config($key) - one value.
sub config {
	my ($self, $k) = @_;
	return $self->{config}{$k} if defined $k;
	return { %{ $self->{config} } };
}

# url($path) - http://127.0.0.1:<nginx port>$path
sub url {
	my ($self, $path) = @_;
	$path //= '/';
	$path = "/$path" unless $path =~ m{^/};
	return "http://127.0.0.1:$self->{port}$path";
}

sub standin_url {
	my ($self, $path) = @_;
	return "http://127.0.0.1:$self->{lk_port}" . ($path // '');
}

# _children() - [pid, comm] of the processes whose parent is the pool
# master (/proc scan).
sub _children {
	my ($self) = @_;
	my $master = $self->pool_pid or return ();
	my @c;
	opendir my $dh, '/proc' or return ();
	for my $pid (grep { /^\d+$/ } readdir $dh) {
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $line = <$fh> // next;
		close $fh;
		# "pid (comm) state ppid ..."; comm may hold spaces or ')'.
		my $l = index($line, '(');
		my $r = rindex($line, ')');
		next if $l < 0 || $r < 0;
		my (undef, $ppid) = split ' ', substr($line, $r + 1);
		push @c, [ $pid + 0, substr($line, $l + 1, $r - $l - 1) ]
		    if defined $ppid && $ppid == $master;
	}
	closedir $dh;
	return @c;
}

# worker_pids() - the pool's workers: the master's children but the busy
# responder (named meetrec-busy).
sub worker_pids {
	my ($self) = @_;
	return sort { $a <=> $b } map { $_->[0] }
	    grep { $_->[1] ne 'meetrec-busy' } $self->_children;
}

# busy_pid() - the busy responder's pid, or undef.
sub busy_pid {
	my ($self) = @_;
	my ($b) = grep { $_->[1] eq 'meetrec-busy' } $self->_children;
	return $b ? $b->[0] : undef;
}

# wait_workers($n, $timeout) - until the master has exactly $n children.
sub wait_workers {
	my ($self, $n, $timeout) = @_;
	$n //= $self->{config}{fcgi_workers};
	my @w;
	wait_for(sub { @w = $self->worker_pids; @w == $n }, $timeout // 15,
	    "$n meetrec-fcgi workers");
	return @w;
}

sub restart_pg { my ($self, %o) = @_; return $self->{pg}->restart(%o) }

# log($name) - a log's content ('' if absent).  Names: pool
# (meetrec-fcgi), nginx (error.log), access, standin, pg, or any file
# under log/ by its base name, or a path relative to dir.
sub log_path {
	my ($self, $name) = @_;
	my $d = $self->{dir};
	my %map = (
		pool       => "$d/log/meetrec-fcgi.log",
		fcgi       => "$d/log/meetrec-fcgi.log",
		nginx      => "$d/nginx/error.log",
		error      => "$d/nginx/error.log",
		access     => "$d/nginx/access.log",
		standin    => "$d/log/standin.log",
		pg         => "$d/log/postgresql.log",
		postgresql => "$d/log/postgresql.log",
	);
	return $map{$name} if $map{$name};
	return "$d/log/$name.log" if -e "$d/log/$name.log";
	return "$d/$name";
}

sub log {
	my ($self, $name) = @_;
	my $p = $self->log_path($name);
	return -f $p ? slurp($p) : '';
}

# wait_log($name, qr/.../, $timeout) - until the log matches; returns
# the first match.
sub wait_log {
	my ($self, $name, $re, $timeout) = @_;
	my $m;
	wait_for(sub { ($m) = $self->log($name) =~ /($re)/; defined $m },
	    $timeout // 10, "$re in the $name log");
	return $m;
}

# ---------------------------------------------------------------------
# Talking to the stack

# api($method, $path, %args) - HTTP to nginx.  $path is under /api:
# '/recordings/' and '/api/recordings/' mean the same.  %args: token
# (adds Authorization: Bearer), headers, json (Perl data, sent as JSON),
# body or raw (bytes sent as they are), timeout.  An unknown argument is
# an error, so a typo cannot silently send an empty request.  Returns
# what Meetrec::Test::Util::http returns.
sub api {
	my ($self, $method, $path, %a) = @_;
	croak 'Stack: no nginx in this stack' unless $self->{nginx};
	my @bad = grep { !/^(?:token|headers|json|body|raw|timeout|from)$/ }
	    keys %a;
	croak "api: unknown argument(s) @bad" if @bad;
	$path = "/$path" unless $path =~ m{^/};
	$path = "/api$path" unless $path =~ m{^/api(?:/|\?|$)};
	my %h = %{ $a{headers} // {} };
	$h{Authorization} = "Bearer $a{token}" if defined $a{token};
	my $body = $a{body} // $a{raw};
	return http($method, $self->url($path), {
		headers => \%h,
		(exists $a{json} ? (json => $a{json}) : ()),
		(defined $body ? (body => $body) : ()),
		(defined $a{timeout} ? (timeout => $a{timeout}) : ()),
		(defined $a{from} ? (from => $a{from}) : ()),
	});
}

# standin($method, $path, $json, $timeout) - the stand-in's control API
# (timeout in seconds, default 60); $path is relative to /_standin/
# unless it starts with '/'.
sub standin {
	my ($self, $method, $path, $json, $timeout) = @_;
	$path = "/_standin/$path" unless $path =~ m{^/};
	return http($method, $self->standin_url($path),
	    { defined $json ? (json => $json) : (), timeout => $timeout // 60 });
}

# standin_idle(timeout_ms => N) - until no webhook is queued or in flight
# (and no upload under way); dies if the stand-in says it is not idle
# after its timeout.  The request waits as long as the stand-in may.
sub standin_idle {
	my ($self, %o) = @_;
	my $r = $self->standin(POST => 'wait', { idle => JSON::PP::true(),
	    $o{timeout_ms} ? (timeout_ms => $o{timeout_ms}) : () },
	    $o{timeout_ms} ? $o{timeout_ms} / 1000 + 30 : undef);
	croak "Stack: stand-in not idle: $r->{status} $r->{body}"
	    unless $r->{status} == 200;
	return $r->{json};
}

# admin_run(@args) - meetrec-admin --config <conf> @args; returns the
# run_cmd result { rc, out, err } whatever the exit code.
sub admin_run {
	my ($self, @args) = @_;
	return run_cmd([ admin_bin(), '--config', $self->{conf_path}, @args ],
	    env => $self->_prog_env, cwd => $self->{dir},
	    log => "$self->{dir}/log/meetrec-admin.log");
}

# admin(@args) - as admin_run, but returns stdout trimmed and dies (with
# stderr) on a non-zero exit.
sub admin {
	my ($self, @args) = @_;
	my $r = $self->admin_run(@args);
	croak "meetrec-admin @args: exit $r->{rc}: $r->{err}" if $r->{rc} != 0;
	(my $out = $r->{out}) =~ s/\A\s+|\s+\z//g;
	return $out;
}

# token(user => UUID, company => UUID, username => NAME, email => E,
# role => 'admin', ttl => S) - a JWT from meetrec-admin token.  user
# defaults to a new UUID, company to $s->company, username to "user".
sub token {
	my ($self, %a) = @_;
	my @args = ('token',
	    '--user', $a{user} // uuid(),
	    '--username', $a{username} // 'user',
	    '--company', $a{company} // $self->{company});
	push @args, '--email', $a{email} if defined $a{email};
	push @args, '--role', $a{role} if defined $a{role};
	push @args, '--ttl', $a{ttl} if defined $a{ttl};
	return $self->admin(@args);
}

# jwt(%claims) - a token minted here, for the cases meetrec-admin will
# not make (expired, wrong audience, missing claims, other secret).
# Defaults: sub (new UUID), username, company_id ($s->company), roles [],
# iat now, exp now+3600, iss/aud from the config.  A claim given as
# undef is left out.  Special keys: _secret (sign with this instead),
# _header (merged into the JOSE header).
sub jwt {
	my ($self, %c) = @_;
	my $secret = delete $c{_secret} // $self->jwt_secret;
	my $header = delete $c{_header};
	my $now = time;
	my %claims = (
		sub        => uuid(),
		username   => 'user',
		company_id => $self->{company},
		roles      => [],
		iat        => $now,
		exp        => $now + 3600,
		(defined $self->{config}{jwt_issuer}
		    ? (iss => $self->{config}{jwt_issuer}) : ()),
		(defined $self->{config}{jwt_audience}
		    ? (aud => $self->{config}{jwt_audience}) : ()),
		%c,
	);
	delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;
	return jwt_hs256($secret, \%claims, $header);
}

# recorded(token => JWT, host => UUID, company => UUID, code => CODE) - a
# recording made the whole way: a room of its own (code defaults to a
# random one), started and stopped through the API by token's user (the
# host), the stand-in idle after each, then one upload pass.  Returns
# its id; croaks when it did not start.
sub recorded {
	my ($self, %a) = @_;
	my $code = $a{code} // ('rec-' . random_hex(4));
	$self->room(code => $code, name => $code, host => $a{host},
	    company => $a{company});
	my $r = $self->api(POST => '/api/recordings/start', token => $a{token},
	    json => { room_code => $code });
	my $id = $r->{json}{recording_id}
	    or croak "Stack: start in $code: $r->{status} $r->{body}";
	$self->standin_idle;
	$self->api(POST => "/api/recordings/$id/stop", token => $a{token});
	$self->standin_idle;
	$self->reaper('--pass', 'upload');
	return $id;
}

# room(code => CODE, host => UUID, company => UUID, name => NAME) - create
# a room with meetrec-admin; returns its id.  code defaults to a random
# one, host to a new UUID, company to $s->company.
sub room {
	my ($self, %a) = @_;
	my $code = $a{code} // ('room-' . random_hex(4));
	return $self->admin('room', 'add', '--code', $code,
	    '--name', $a{name} // "Room $code",
	    '--host', $a{host} // uuid(),
	    '--company', $a{company} // $self->{company});
}

# meeting($code, host => UUID, company => UUID, name => NAME) - the id of
# room $code, for the meeting_id of a recording a test writes by SQL (the
# seed's foreign key wants a real room): the room's if there is one,
# else a new one made by room() with these arguments.
sub meeting {
	my ($self, $code, %a) = @_;
	croak "meeting: '$code' is not a room code"
	    unless $code =~ /\A[A-Za-z0-9_-]{1,50}\z/;
	my $id = $self->{pg}->psql('SELECT id FROM '
	    . "project_management.pm_meeting_rooms WHERE room_code = '$code'");
	return $id if length $id;
	return $self->room(%a, code => $code);
}

# ---------------------------------------------------------------------
# Teardown

# shutdown(quick => 0) - stop everything we started, in reverse order of
# dependency: the pool (TERM, so workers drain and LeakSanitizer runs),
# nginx (QUIT), the stand-in, PostgreSQL.  Returns a hash of the pool's,
# nginx's and the stand-in's wait statuses.  Safe to call twice.
sub shutdown {
	my ($self, %o) = @_;
	my $t = $o{quick} ? 5 : undef;
	my %st;
	# The stand-in first: a webhook it still had queued must not reach
	# nginx after the pool is gone (nginx would log a [crit] connect()).
	if ($self->{standin}) {
		$st{standin} = eval {
			$self->{standin}->stop(sig => 'TERM',
			    timeout => $t // 10);
		};
	}
	for my $r (@{ $self->{reapers} // [] }) {
		next unless $r->alive;
		eval { $r->stop(sig => 'TERM', timeout => $t // 30) };
	}
	if ($self->{pool}) {
		$st{pool} = eval { $self->stop_pool(timeout => $t // 30) };
	}
	if ($self->{nginx}) {
		$st{nginx} = eval { $self->{nginx}->stop(timeout => $t // 10) };
	}
	watch("127.0.0.1:$self->{port}") if $self->{openapi};
	$self->{pgproxy}->stop if $self->{pgproxy};
	$self->{pgbouncer}->stop if $self->{pgbouncer};
	if ($self->{pg} && !$self->{pg_shared}) {
		if ($o{quick}) {
			$self->{pg}->abort;
		} else {
			$self->{pg}->cleanup;
		}
	}
	if ($self->{short} && -d $self->{short}) {
		remove_tree($self->{short});
	}
	$self->{stopped} = 1;
	return \%st;
}

# finish(%o) - shutdown(), then the teardown tests:
#   the pool exited with status 0 and left no worker behind;
#   no sanitizer report files in asan/; no "runtime error"/"Sanitizer"
#   in the pool log; no worker respawn in the pool log other than after
#   a SIGKILL (which only a test sends) - or, with respawns => N,
#   exactly N respawn lines (respawns => undef skips the check);
#   no [alert]/[crit]/[emerg] or "exited on signal" in nginx's error.log
#   (nginx_allow => [qr/.../] excuses matching lines, e.g. a test that
#   stopped the pool on purpose);
#   the stand-in exited with status 0;
#   every answer nginx gave fits the API's description (see
#   _watch_answers).
# Then removes the directory when all tests so far passed (unless
# MEETREC_TEST_LEAVE=1); otherwise says where the artefacts are.
# The counts sql/010 keeps with the recordings are what the rows say,
# after everything the test did: meetrec_recount() changes none.
sub _check_counts {
	my ($self) = @_;
	my $pg = $self->{pg};
	return unless $pg && $pg->running;
	my $r = $pg->psql("SELECT to_regprocedure("
	    . "'project_management.meetrec_recount()') IS NOT NULL",
	    allow_fail => 1);
	return unless ref $r && $r->{rc} == 0 && $r->{out} =~ /^t/;
	my $n = $pg->psql('SELECT project_management.meetrec_recount()',
	    allow_fail => 1);
	Test::More::is($n->{rc} == 0 ? $n->{out} =~ s/\s+//gr
	    : "error: $n->{err}", 0,
	    'teardown: the counts kept with the recordings are theirs');
}

sub finish {
	my ($self, %o) = @_;
	return if $self->{finished}++;
	require Test::More;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $d = $self->{dir};
	$self->_check_counts;
	$self->shutdown;

	if (my $p = $self->{pool}) {
		Test::More::is($p->describe, 'exit 0', 'teardown: meetrec-fcgi '
		    . 'exited with status 0');
		Test::More::ok(!$p->orphans, 'teardown: no meetrec-fcgi worker '
		    . 'outlived the master');
		my @bad = grep { /runtime error|Sanitizer/ }
		    split /\n/, $self->log('pool');
		Test::More::ok(!@bad, 'teardown: no sanitizer errors in the '
		    . 'pool log') or Test::More::diag(join "\n", @bad);
		my @r = grep { /respawn/ } split /\n/, $self->log('pool');
		if (!exists $o{respawns}) {
			# A worker SIGKILLed by the test itself is expected;
			# any other death (a crash, an abort, exit != 0) is not.
			my @bad = grep { !/on signal 9\b/ } @r;
			Test::More::ok(!@bad, 'teardown: no unexpected worker '
			    . 'respawns in the pool log')
			    or Test::More::diag(join "\n", @bad);
		} elsif (defined $o{respawns}) {
			Test::More::is(scalar @r, $o{respawns}, 'teardown: '
			    . "$o{respawns} worker respawn(s) in the pool log")
			    or Test::More::diag(join "\n", @r);
		}
	}
	for my $r (@{ $self->{reapers} // [] }) {
		my $name = $r->name;
		Test::More::ok($r->describe =~ /^exit [01]$/, "teardown: $name "
		    . 'exited cleanly (' . $r->describe . ')')
		    or Test::More::diag($r->log_content);
	}
	if ($self->{openapi}) {
		my @bad = -f $self->{openapi_log}
		    ? split /\n/, slurp($self->{openapi_log}) : ();
		Test::More::ok(!@bad, 'teardown: every answer fits the OpenAPI '
		    . "document ($self->{openapi_checked} checked)")
		    or Test::More::diag(join "\n", @bad > 40
		    ? (@bad[0 .. 39], '... and ' . (@bad - 40) . ' more')
		    : @bad);
	}
	my @reports = grep { -f } glob "$d/asan/*";
	Test::More::ok(!@reports, 'teardown: no sanitizer reports in asan/')
	    or Test::More::diag(join "\n", map {
		"--- $_ ---\n" . substr(slurp($_), 0, 8192) } @reports);
	if (my $ng = $self->{nginx}) {
		my @allow = @{ $o{nginx_allow} // [] };
		my @bad = grep { my $l = $_; !grep { $l =~ $_ } @allow }
		    $ng->problems;
		Test::More::ok(!@bad, 'teardown: no alerts in nginx error.log')
		    or Test::More::diag(join "\n", @bad);
	}
	if (my $sp = $self->{standin}) {
		Test::More::is($sp->describe, 'exit 0', 'teardown: the LiveKit '
		    . 'stand-in exited with status 0')
		    or Test::More::diag($sp->log_content);
	}

	if ($ENV{MEETREC_TEST_CATLOG}) {
		for my $f (sort(glob("$d/log/*")), "$d/nginx/error.log") {
			next unless -f $f;
			Test::More::diag("--- $f ---\n" . slurp($f));
		}
	}
	return if $self->{persistent};
	if (Test::More->builder->is_passing && !$ENV{MEETREC_TEST_LEAVE}) {
		remove_tree($d);
	} else {
		Test::More::diag("artefacts kept in $d");
	}
	return;
}

# A stack dropped without finish() (the test died) still stops
# everything; the directory is kept for the post-mortem.
sub DESTROY {
	my ($self) = @_;
	return if ($self->{owner} // 0) != $$ || $self->{stopped};
	local ($?, $!, $@);
	eval { $self->shutdown(quick => 1) };
}

1;
