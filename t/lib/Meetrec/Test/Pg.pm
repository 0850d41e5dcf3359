# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Pg - a private PostgreSQL cluster for one test (or for
# scripts/run-stack): initdb -A trust in a directory of ours, Unix socket
# only (listen_addresses = ''), in a short directory so the socket path
# stays under the ~107-byte limit (PostgreSQL's tempdir_short), fsync off.
#
#	my $pg = Meetrec::Test::Pg->new(datadir => "$dir/pg",
#	    logdir => "$dir/log");
#	$pg->init; $pg->start;		# creates database "meetrec"
#	$pg->psql('select 1');		# "1"
#	$pg->restart; $pg->stop;
#
# PostgreSQL refuses to run as root.  When we are root, initdb, pg_ctl and
# the server run as the "postgres" user (MEETREC_PG_USER overrides): the
# data directory, the socket directory and the log file are handed to
# that user, and the directories above them must be searchable by it.
# Clients (psql, the meetrec programs) stay root; trust auth over a 0777
# socket lets them in as role "meetrec".
#
# pg_ctl detaches the postmaster, so it is not our child: the guard in
# Meetrec::Test::Proc gets a cleanup that SIGQUITs (immediate shutdown)
# then SIGKILLs the postmaster pid from postmaster.pid.

package Meetrec::Test::Pg;

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(sha1_hex);
use Fcntl qw(:flock);
use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Temp ();

use Meetrec::Test::Proc qw(run_cmd wait_for on_cleanup);
use Meetrec::Test::Util qw(slurp spew);

# Role and database the harness uses.
our $ROLE = 'meetrec';
our $DB   = 'meetrec';

# Variables a developer's shell may carry that would send psql elsewhere.
my %CLEAN_ENV = map { $_ => undef } qw(PGHOST PGHOSTADDR PGPORT PGUSER
    PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSWORD PGPASSFILE
    PGSSLMODE PGDATA PGTZ);

# bindir() - directory holding initdb, pg_ctl, postgres and psql, or
# undef.  Order: MEETREC_PG_BINDIR, the newest /usr/lib/postgresql/*/bin
# (Debian keeps them off PATH), then PATH.
sub bindir {
	my @cand;
	push @cand, $ENV{MEETREC_PG_BINDIR} if $ENV{MEETREC_PG_BINDIR};
	push @cand, map { $_->[1] }
	    sort { $b->[0] <=> $a->[0] }
	    map { m{/postgresql/(\d+)/bin$} ? [ $1, $_ ] : () }
	    glob '/usr/lib/postgresql/*/bin';
	push @cand, split /:/, $ENV{PATH} // '';
	for my $d (@cand) {
		next unless length $d;
		return $d if -x "$d/initdb" && -x "$d/pg_ctl"
		    && -x "$d/postgres";
	}
	return undef;
}

# A client program: from bindir, else PATH (Debian's wrappers).
sub _client {
	my ($self, $prog) = @_;
	return "$self->{bindir}/$prog" if -x "$self->{bindir}/$prog";
	return $prog;
}

# server_user() - the user the server must run as: undef when we are not
# root, else MEETREC_PG_USER or "postgres".
sub server_user {
	return undef if $> != 0;
	return $ENV{MEETREC_PG_USER} || 'postgres';
}

# new(datadir => DIR, logdir => DIR, sockdir => DIR?, db => NAME?,
#     template_dir => DIR?)
#
# sockdir defaults to a fresh short directory under the temp dir, removed
# by stop()/DESTROY.  Pass a fixed one (scripts/run-stack) to keep the
# conninfo stable across runs; it is created if missing and kept.
sub new {
	my ($class, %o) = @_;
	croak 'Pg->new: datadir is required' unless $o{datadir};
	my $bindir = bindir() or croak 'Pg: initdb/pg_ctl/postgres not found '
	    . '(set MEETREC_PG_BINDIR)';
	my $self = bless {
		bindir  => $bindir,
		datadir => File::Spec->rel2abs($o{datadir}),
		logdir  => File::Spec->rel2abs($o{logdir} // "$o{datadir}/.."),
		db      => $o{db} // $DB,
		template_dir => $o{template_dir},
		durable => $o{durable},
		user    => server_user(),
		owner   => $$,
	}, $class;
	if ($self->{user}) {
		my @pw = getpwnam($self->{user})
		    or croak "Pg: running as root but there is no user "
		    . "'$self->{user}' to run PostgreSQL as (set MEETREC_PG_USER)";
		@$self{qw(uid gid)} = @pw[2, 3];
	}
	make_path($self->{logdir});
	$self->{log} = "$self->{logdir}/postgresql.log";
	if ($o{sockdir}) {
		$self->{sockdir} = File::Spec->rel2abs($o{sockdir});
		make_path($self->{sockdir});
	} else {
		# Short: /tmp/mrpgXXXX/.s.PGSQL.5432 is ~30 bytes.  A long
		# TMPDIR would defeat that, so fall back to /tmp then.
		my $tmp = File::Spec->tmpdir;
		$tmp = '/tmp' if length($tmp) > 60;
		$self->{sockdir} = File::Temp::tempdir('mrpgXXXX',
		    DIR => $tmp, CLEANUP => 0);
		$self->{own_sockdir} = 1;
	}
	croak "Pg: socket directory '$self->{sockdir}' is too long for a "
	    . "Unix socket path" if length("$self->{sockdir}/.s.PGSQL.5432") > 100;
	$self->_give($self->{sockdir});
	# Like /run/postgresql: clients running as other users (a pool that
	# dropped root) must reach the socket; the server sets its mode.
	chmod 0755, $self->{sockdir};
	return $self;
}

sub datadir { return $_[0]{datadir} }
sub sockdir { return $_[0]{sockdir} }
sub log_path { return $_[0]{log} }
sub pid     { return $_[0]{pid} }
sub dbname  { return $_[0]{db} }

# libpq conninfo for the meetrec programs' database_url.
sub conninfo {
	my ($self) = @_;
	return "host=$self->{sockdir} dbname=$self->{db} user=$ROLE";
}

# Hand a path we created to the server user (no-op unless root).
sub _give {
	my ($self, @paths) = @_;
	return unless $self->{user};
	chown $self->{uid}, $self->{gid}, @paths;
}

# Run a server-side program (initdb, pg_ctl) as the server user; dies
# with its output on failure.
sub _server_cmd {
	my ($self, $what, @argv) = @_;
	my $r = run_cmd(\@argv,
	    user => $self->{user},
	    env  => { %CLEAN_ENV, LC_ALL => 'C', TZ => 'UTC' },
	    # The server user may not be allowed into our cwd.
	    cwd  => $self->{sockdir},
	    log  => "$self->{logdir}/pg_ctl.log",
	    timeout => 180);
	return $r if $r->{rc} == 0;
	my $tail = $self->_log_tail;
	croak "Pg: $what failed (exit $r->{rc}): $r->{out}$r->{err}"
	    . ($tail ? "--- $self->{log} (tail) ---\n$tail" : '');
}

sub _log_tail {
	my ($self) = @_;
	return '' unless -r $self->{log};
	my @l = split /\n/, slurp($self->{log});
	splice @l, 0, @l - 30 if @l > 30;
	return join("\n", @l) . "\n";
}

# init() - initdb unless the data directory already holds a cluster
# (scripts/run-stack keeps var/pg).  Returns true when it created one.
#
# With template_dir (the test suite passes t/tmp_check), the first test
# runs initdb once into <template_dir>/pg-template-<hash> under a lock
# and every test copies that (0.1 s instead of about 1 s), as
# PostgreSQL's own suite does since version 16.  MEETREC_TEST_NO_PG_TEMPLATE=1
# turns it off.
sub init {
	my ($self) = @_;
	my $d = $self->{datadir};
	return 0 if -e "$d/PG_VERSION";
	if ($self->{template_dir} && !$ENV{MEETREC_TEST_NO_PG_TEMPLATE}) {
		my $t = eval { $self->_template };
		if ($t) {
			make_path($d);
			chmod 0700, $d;
			$self->_give($d);
			# cp -a keeps the owner (postgres when we are root).
			my $r = run_cmd([ 'cp', '-a', "$t/.", "$d/" ]);
			return 1 if $r->{rc} == 0 && -e "$d/PG_VERSION";
			warn "# Pg: copying the template failed, running initdb: "
			    . "$r->{err}";
			remove_tree($d);
		} else {
			warn "# Pg: no cluster template ($@), running initdb\n";
		}
	}
	$self->_initdb($d);
	return 1;
}

# The template cluster for this PostgreSQL and user, made on first use.
sub _template {
	my ($self) = @_;
	my $base = $self->{template_dir};
	make_path($base);
	my $t = "$base/pg-template-" . substr(sha1_hex(join "\0",
	    $self->{bindir}, $self->{user} // ''), 0, 12);
	open my $lock, '>>', "$t.lock" or croak "$t.lock: $!";
	flock($lock, LOCK_EX) or croak "flock $t.lock: $!";
	unless (-e "$t/PG_VERSION") {
		remove_tree("$t.tmp");
		chmod 0755, $base;
		$self->_initdb("$t.tmp");
		rename "$t.tmp", $t or croak "rename $t.tmp: $!";
	}
	close $lock;
	return $t;
}

sub _initdb {
	my ($self, $d) = @_;
	make_path($d);
	chmod 0700, $d;
	$self->_give($d);
	if ($self->{user}) {
		# Fail early and clearly when a parent is closed to postgres.
		my $r = run_cmd([ 'test', '-w', $d ], user => $self->{user},
		    cwd => '/');
		croak "Pg: user '$self->{user}' cannot write '$d'; every "
		    . "directory above it must be searchable (o+x) by that user"
		    if $r->{rc} != 0;
	}
	$self->_server_cmd('initdb', "$self->{bindir}/initdb",
	    '-A', 'trust', '-N', '-U', $ROLE, '-E', 'UTF8', '--no-locale',
	    '-D', $d);
	# Our settings live in their own file, rewritten at each start
	# (the socket directory may move); postgresql.conf includes it.
	open my $fh, '>>', "$d/postgresql.conf"
	    or croak "Pg: $d/postgresql.conf: $!";
	print {$fh} "\n# meetrec test harness\n"
	    . "include_if_exists 'meetrec-test.conf'\n";
	close $fh;
}

# Write meetrec-test.conf: socket only, durability off (a test cluster
# is thrown away), enough connections for workers x parallel requests.
# With durable => 1 (new()), a commit is on disk before it is
# acknowledged, as on a production server: an immediate shutdown (a
# crash) loses no commit.  fsync stays off: the machine does not crash.
sub _write_conf {
	my ($self) = @_;
	my $f = "$self->{datadir}/meetrec-test.conf";
	my $sync = $self->{durable} ? 'on' : 'off';
	spew($f, <<"EOF", 0600);
# Written by t/lib/Meetrec/Test/Pg.pm at each start; do not edit.
listen_addresses = ''
unix_socket_directories = '$self->{sockdir}'
unix_socket_permissions = 0777
port = 5432
fsync = off
full_page_writes = off
synchronous_commit = $sync
max_connections = 100
shared_buffers = 32MB
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_connections = off
log_statement = 'none'
lc_messages = 'C'
timezone = 'UTC'
EOF
	$self->_give($f);
}

# start() - pg_ctl -w start, register the kill-guard, create the
# database if it is missing.
sub start {
	my ($self) = @_;
	croak 'Pg: start() before init()' unless -e "$self->{datadir}/PG_VERSION";
	$self->_write_conf;
	# pg_ctl opens the log as the server user; create it ourselves.
	unless (-e $self->{log}) {
		open my $fh, '>>', $self->{log} or croak "Pg: $self->{log}: $!";
		close $fh;
	}
	$self->_give($self->{log});
	$self->_server_cmd('pg_ctl start', "$self->{bindir}/pg_ctl",
	    '-w', '-t', '120', '-D', $self->{datadir}, '-l', $self->{log},
	    'start');
	my $pidfile = "$self->{datadir}/postmaster.pid";
	my ($pid) = split /\n/, slurp($pidfile);
	croak "Pg: no pid in $pidfile" unless $pid && $pid =~ /^\d+$/;
	$self->{pid} = $pid;
	my $sock = "$self->{sockdir}/.s.PGSQL.5432";
	wait_for(sub { -S $sock }, 30, "PostgreSQL socket $sock");
	# Not our child: the guard kills it by pid if we never get to stop().
	$self->{cleanup} = on_cleanup(sub {
		_kill_postmaster($pid);
	});
	$self->_createdb;
	return $self;
}

sub _kill_postmaster {
	my ($pid) = @_;
	return unless kill 0, $pid;
	kill 'QUIT', $pid;		# immediate shutdown
	my $n = 0;
	while (kill(0, $pid) && $n++ < 100) {
		select(undef, undef, undef, 0.05);
	}
	kill 'KILL', $pid if kill 0, $pid;
}

sub _createdb {
	my ($self) = @_;
	my $have = $self->psql(
	    "select 1 from pg_database where datname = '$self->{db}'",
	    db => 'postgres');
	return if $have eq '1';
	my $r = run_cmd([ $self->_client('createdb'), '-h', $self->{sockdir},
	    '-U', $ROLE, '-E', 'UTF8', $self->{db} ],
	    env => \%CLEAN_ENV, log => "$self->{logdir}/pg_ctl.log");
	croak "Pg: createdb $self->{db} failed: $r->{err}" if $r->{rc} != 0;
}

# running() - true while the postmaster we started is there.
sub running {
	my ($self) = @_;
	return $self->{pid} && kill(0, $self->{pid}) ? 1 : 0;
}

# stop(mode => 'fast') - pg_ctl stop, waiting until the server is gone.
sub stop {
	my ($self, %o) = @_;
	return unless $self->{pid};
	if ($self->running) {
		$self->_server_cmd('pg_ctl stop', "$self->{bindir}/pg_ctl",
		    '-w', '-t', '60', '-D', $self->{datadir},
		    '-m', $o{mode} // 'fast', 'stop');
		my $pid = $self->{pid};
		wait_for(sub { !kill 0, $pid }, 30, "postmaster $pid to exit");
	}
	Meetrec::Test::Proc::cancel_cleanup($self->{cleanup})
	    if $self->{cleanup};
	delete @$self{qw(pid cleanup)};
	return 1;
}

# restart() - stop (fast: sessions are cut, as in a real restart) and
# start again on the same socket.  Clients must reconnect by themselves.
sub restart {
	my ($self, %o) = @_;
	$self->stop(%o);
	$self->start;
	return $self;
}

# psql($sql, db => NAME, allow_fail => 0) - run SQL through psql -X -A -t
# -q with ON_ERROR_STOP and return stdout, trimmed.  Dies on error unless
# allow_fail, in which case it returns the run_cmd result hash.
sub psql {
	my ($self, $sql, %o) = @_;
	my $r = run_cmd([ $self->_client('psql'), '-X', '-A', '-t', '-q',
	    '-v', 'ON_ERROR_STOP=1', '-h', $self->{sockdir}, '-U', $ROLE,
	    '-d', $o{db} // $self->{db} ],
	    stdin => $sql, env => { %CLEAN_ENV, PGTZ => 'UTC' },
	    timeout => $o{timeout} // 60);
	return $r if $o{allow_fail};
	croak "psql failed (exit $r->{rc}): $r->{err}\nSQL: $sql"
	    if $r->{rc} != 0;
	(my $out = $r->{out}) =~ s/\A\s+|\s+\z//g;
	return $out;
}

# Remove our private socket directory (PostgreSQL removed its socket).
sub _drop_sockdir {
	my ($self) = @_;
	return unless $self->{own_sockdir} && -d $self->{sockdir};
	remove_tree($self->{sockdir});
}

# cleanup() - stop if running (fast) and remove the socket directory.
sub cleanup {
	my ($self) = @_;
	eval { $self->stop; 1 } or warn "# Pg stop: $@";
	$self->_drop_sockdir;
}

# abort() - immediate shutdown by signal (SIGQUIT, then SIGKILL), for a
# test that died; no pg_ctl, no waiting for sessions.
sub abort {
	my ($self) = @_;
	if ($self->{pid}) {
		_kill_postmaster($self->{pid});
		Meetrec::Test::Proc::cancel_cleanup($self->{cleanup})
		    if $self->{cleanup};
		delete @$self{qw(pid cleanup)};
	}
	$self->_drop_sockdir;
}

sub DESTROY {
	my ($self) = @_;
	return if ($self->{owner} // 0) != $$;
	local ($?, $!, $@);
	$self->abort;
}

1;
