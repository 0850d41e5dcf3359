# SPDX-License-Identifier: ISC
#
# Meetrec::Test::PgBouncer - Debian's PgBouncer in front of a test's
# PostgreSQL, in transaction mode, as operators put it before one
# database shared by many hosts.
#
#	my $pb = Meetrec::Test::PgBouncer->new(dir => $short_dir,
#	    to => $pg->sockdir, db => $pg->dbname, user => 'meetrec',
#	    log => "$d/log/pgbouncer.log", pool_size => 2);
#	$pb->start;			# a child process, stopped by pid
#	$pb->conninfo			# libpq conninfo through PgBouncer
#	$pb->show('POOLS')		# the admin console's rows, as hashes
#
# It listens on a Unix socket only (<dir>/.s.PGSQL.<port>; no TCP port to
# collide with), trusts the one user it knows (auth_file), and reaches the
# server over its Unix socket.  pool_size server connections serve every
# client: with fewer than the clients, transactions of different clients
# run on one server connection, which is what a program that keeps state
# in its session (named prepared statements, LISTEN) must survive.
# PgBouncer refuses to run as root: as root it runs as the PostgreSQL
# server's user (Meetrec::Test::Pg::server_user).

package Meetrec::Test::PgBouncer;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);

use Meetrec::Test::Pg ();
use Meetrec::Test::Proc qw(spawn wait_for run_cmd as_user);
use Meetrec::Test::Util qw(spew);

our @BIN = qw(/usr/sbin/pgbouncer /usr/bin/pgbouncer);

# binary() - PgBouncer's path, undef when it is not installed.
sub binary {
	for my $b (@BIN) {
		return $b if -x $b;
	}
	return undef;
}

# new(dir => DIR, to => SOCKDIR, db => NAME, user => ROLE, log => FILE,
#     pool_size => 2, port => 6432, mode => 'transaction')
sub new {
	my ($class, %o) = @_;
	croak 'PgBouncer->new: dir, to, db and user are required'
	    unless $o{dir} && $o{to} && $o{db} && $o{user};
	make_path($o{dir});
	chmod 0755, $o{dir};
	return bless {
		dir  => $o{dir},
		to   => $o{to},
		db   => $o{db},
		user => $o{user},
		log  => $o{log} // "$o{dir}/pgbouncer.log",
		port => $o{port} // 6432,
		size => $o{pool_size} // 2,
		mode => $o{mode} // 'transaction',
	}, $class;
}

sub dir { return $_[0]{dir} }
sub socket_path { return "$_[0]{dir}/.s.PGSQL.$_[0]{port}" }

sub conninfo {
	my ($self) = @_;
	return "host=$self->{dir} port=$self->{port} dbname=$self->{db} "
	    . "user=$self->{user}";
}

sub _write_conf {
	my ($self) = @_;
	my $d = $self->{dir};
	spew("$d/userlist.txt", qq{"$self->{user}" ""\n});
	# No server_reset_query: transaction mode runs none, as shipped.
	spew("$d/pgbouncer.ini", <<"EOF");
[databases]
$self->{db} = host=$self->{to} dbname=$self->{db} user=$self->{user}

[pgbouncer]
unix_socket_dir = $d
listen_port = $self->{port}
auth_type = trust
auth_file = $d/userlist.txt
admin_users = $self->{user}
pool_mode = $self->{mode}
default_pool_size = $self->{size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_lifetime = 3600
server_idle_timeout = 600
ignore_startup_parameters = extra_float_digits
EOF
	chmod 0644, "$d/userlist.txt", "$d/pgbouncer.ini";
	return;
}

sub start {
	my ($self) = @_;
	my $bin = binary() or croak 'PgBouncer is not installed';
	$self->_write_conf;
	unlink $self->socket_path;
	my $user = Meetrec::Test::Pg::server_user();
	if (defined $user) {
		my $uid = getpwnam($user);
		chown $uid, -1, $self->{dir} if defined $uid;
	}
	$self->{proc} = spawn('pgbouncer',
	    [ as_user($user, $bin, "$self->{dir}/pgbouncer.ini") ], {},
	    $self->{dir}, log => $self->{log}, cwd => $self->{dir});
	my $p = $self->{proc};
	wait_for(sub {
		die "PgBouncer exited:\n" . $p->log_content unless $p->alive;
		-S $self->socket_path }, 15, 'PgBouncer');
	return $self;
}

sub stop {
	my ($self) = @_;
	$self->{proc}->stop if $self->{proc};
	return;
}

sub proc { return $_[0]{proc} }

# show($what) - "SHOW $what" on the admin console: a list of hashes.
sub show {
	my ($self, $what) = @_;
	croak "show: bad name '$what'" unless $what =~ /\A[A-Z_]+\z/;
	my $r = run_cmd([ 'psql', '-X', '-A', '-F', "\t", '-P', 'footer=off',
	    '-h', $self->{dir}, '-p', $self->{port}, '-U', $self->{user},
	    '-d', 'pgbouncer', '-c', "SHOW $what" ], timeout => 30);
	croak "SHOW $what: $r->{err}" if $r->{rc} != 0;
	my ($head, @lines) = split /\n/, $r->{out};
	my @cols = split /\t/, $head // '';
	return [ map {
		my @v = split /\t/, $_, -1;
		+{ map { ($cols[$_] => $v[$_]) } 0 .. $#cols };
	} @lines ];
}

1;
