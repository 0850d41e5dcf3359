# SPDX-License-Identifier: ISC
#
# Meetrec::Bench::Seed - the seed baseline (seed-fastapi/): FastAPI +
# SQLAlchemy async + asyncpg on uvicorn (uvloop, httptools), run with
# Debian's python3 and packages, read where it lies (never copied).
#
#	my @why = Meetrec::Bench::Seed::ensure_packages(install => 1);
#	my $seed = Meetrec::Bench::Seed->new(backend => "$base/seed-fastapi/"
#	    . 'backend', dir => "$dir/seed-default", workers => 2,
#	    database_url => ..., secret => ..., env => { DB_POOL_SIZE => 15 });
#	$seed->start;
#	my $tok = $seed->token($user, 'user1', $company);
#	$seed->url('/recordings/');  $seed->pid;  $seed->stop;
#
# uvicorn runs as a child of ours in a process group of its own
# (Meetrec::Test::Proc::spawn): stop() sends TERM and, after a
# deadline, KILLs the group; so does the harness's cleanup at exit or on
# Ctrl-C.

package Meetrec::Bench::Seed;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);

use Meetrec::Test::Proc qw(spawn wait_for run_cmd);
use Meetrec::Test::Util qw(free_port port_open);

# Debian's own interpreter: a python3 earlier on PATH (pyenv) has none
# of Debian's python3-* packages.
our $PYTHON = '/usr/bin/python3';

our @PACKAGES = qw(python3-fastapi python3-uvicorn python3-uvloop
    python3-httptools python3-sqlalchemy python3-asyncpg python3-aiofiles);

# The modules those packages bring, as the seed imports them.
my @MODULES = qw(fastapi uvicorn uvloop httptools sqlalchemy asyncpg
    aiofiles);

sub _installed {
	my ($p) = @_;
	my $s = `dpkg-query -W -f='\${Status}' $p 2>/dev/null` // '';
	return $s =~ /install ok installed/;
}

# missing_packages() - the Debian packages of @PACKAGES not installed.
sub missing_packages {
	return grep { !_installed($_) } @PACKAGES;
}

# ensure_packages(install => 1, log => FILE, say => sub) - install with
# apt-get what is missing (as root only; never when install is false).
# Returns the reasons the seed cannot run; empty when it can.
sub ensure_packages {
	my (%o) = @_;
	return "$PYTHON not found" unless -x $PYTHON;
	my @miss = missing_packages();
	if (@miss) {
		return "Debian packages missing: @miss (install them, or run "
		    . 'the benchmark as root, which installs them)'
		    if $> != 0 || !$o{install};
		$o{say}->("installing Debian packages for the seed baseline "
		    . "with apt-get: @miss") if $o{say};
		my @apt = ('apt-get', 'install', '-y', '-q',
		    '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300',
		    @miss);
		my %env = (DEBIAN_FRONTEND => 'noninteractive');
		my $r = run_cmd(\@apt, env => \%env, timeout => 1200,
		    log => $o{log});
		if ($r->{rc} != 0) {
			# The package lists may be missing or stale.
			run_cmd([ 'apt-get', 'update', '-q', '-o',
			    'DPkg::Lock::Timeout=300' ], env => \%env,
			    timeout => 600, log => $o{log});
			$r = run_cmd(\@apt, env => \%env, timeout => 1200,
			    log => $o{log});
		}
		return "apt-get install @miss failed (exit $r->{rc}"
		    . ($o{log} ? ", see $o{log}" : '') . ')' if $r->{rc} != 0;
	}
	my $r = run_cmd([ $PYTHON, '-c', join('; ', map { "import $_" }
	    @MODULES) ], env => _clean_env());
	return "$PYTHON cannot import the seed's modules: $r->{err}"
	    if $r->{rc} != 0;
	return ();
}

# versions() - "name version" of python3 and the seed's libraries.
sub versions {
	my $r = run_cmd([ $PYTHON, '-c', 'import sys, uvicorn, fastapi, '
	    . 'sqlalchemy, asyncpg, uvloop, httptools; '
	    . 'print("python3", sys.version.split()[0]); '
	    . 'print("uvicorn", uvicorn.__version__); '
	    . 'print("fastapi", fastapi.__version__); '
	    . 'print("sqlalchemy", sqlalchemy.__version__); '
	    . 'print("asyncpg", asyncpg.__version__); '
	    . 'print("uvloop", uvloop.__version__); '
	    . 'print("httptools", httptools.__version__)' ],
	    env => _clean_env());
	return $r->{rc} == 0 ? split /\n/, $r->{out} : ();
}

# Nothing from a developer's Python setup (pyenv, a virtualenv) leaks in;
# no __pycache__ is written into the baselines' (read-only) folder.
sub _clean_env {
	return { PYTHONPATH => undef, PYTHONHOME => undef,
	    VIRTUAL_ENV => undef, PYTHONDONTWRITEBYTECODE => 1 };
}

# new(backend => DIR, dir => DIR, workers => 2, database_url => URL,
#     secret => S, env => { DB_POOL_SIZE => ..., ... }, name => NAME,
#     label => TEXT)
sub new {
	my ($class, %o) = @_;
	croak 'Seed->new: backend, dir, database_url and secret are required'
	    unless $o{backend} && $o{dir} && $o{database_url} && $o{secret};
	return bless { %o, workers => $o{workers} // 2,
	    name => $o{name} // 'seed', label => $o{label} // 'seed' }, $class;
}

sub label { return $_[0]{label} }

sub _env {
	my ($self) = @_;
	return { %{ _clean_env() }, DATABASE_URL => $self->{database_url},
	    JWT_SECRET => $self->{secret}, DB_POOL_SIZE => undef,
	    DB_MAX_OVERFLOW => undef, %{ $self->{env} // {} } };
}

# start() - uvicorn main:app as the baselines' README runs it, on a free
# port; returns once the port accepts connections.
sub start {
	my ($self) = @_;
	make_path("$self->{dir}/log");
	$self->{port} = free_port();
	my $p = spawn($self->{name}, [ $PYTHON, '-m', 'uvicorn', 'main:app',
	    '--workers', $self->{workers}, '--loop', 'uvloop', '--http',
	    'httptools', '--no-access-log', '--host', '127.0.0.1', '--port',
	    $self->{port} ], $self->_env, $self->{dir},
	    cwd => $self->{backend});
	$self->{proc} = $p;
	wait_for(sub {
		die "Seed: uvicorn exited (" . $p->describe . "):\n"
		    . $p->log_content . "\n" unless $p->alive;
		return port_open($self->{port});
	}, 60, "uvicorn ($self->{name}) on port $self->{port}");
	return $self;
}

sub pid { return $_[0]{proc} ? $_[0]{proc}->pid : undef }
sub port { return $_[0]{port} }
sub log_content { return $_[0]{proc} ? $_[0]{proc}->log_content : '' }

sub url {
	my ($self, $path) = @_;
	return "http://127.0.0.1:$self->{port}$path";
}

# token($user, $username, $company) - the seed's bearer token, from its
# own mint_token.py.
sub token {
	my ($self, @claims) = @_;
	my $r = run_cmd([ $PYTHON, 'mint_token.py', @claims ],
	    env => $self->_env, cwd => $self->{backend});
	croak "Seed: mint_token.py failed: $r->{err}" if $r->{rc} != 0;
	(my $t = $r->{out}) =~ s/\s+//g;
	return $t;
}

# stop() - TERM (uvicorn stops its workers), KILL the group after 20 s.
sub stop {
	my ($self) = @_;
	return unless $self->{proc};
	return $self->{proc}->stop(sig => 'TERM', timeout => 20);
}

1;
