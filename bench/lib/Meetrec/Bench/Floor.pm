# SPDX-License-Identifier: ISC
#
# Meetrec::Bench::Floor - the C floor of the baselines (c-floor/): two
# libfcgi responders, fcgi_pq_status.c (one prepared libpq query a
# request) and fcgi_hello.c (none), built with gcc -O2 into a scratch
# folder, each run as N processes on a Unix socket behind nginx, as the
# baseline's nginx.conf.in shows.
#
#	my $f = Meetrec::Bench::Floor->new(src => "$base/c-floor",
#	    dir => "$dir/floor", conninfo => $pg->conninfo, procs => 2,
#	    nginx_workers => 'auto');
#	$f->start;		# build, the pools, nginx
#	$f->url('ka', '/recordings/<id>/status');
#	$f->pool_pids('pq_ka'); $f->nginx_pid;
#	$f->stop;
#
# The processes are forked here, not by spawn-fcgi: each gets the
# listening socket as its descriptor 0, as spawn-fcgi -F N would hand it
# over, and leads a process group of its own; they are stopped by pid,
# at stop() or, when the bench dies or is interrupted, by the cleanup
# Meetrec::Test::Proc runs at exit.
#
# The template is used as it is but for what makes it private: @RUN@ is
# the scratch folder, its three ports (18080 nginx alone, 18081 FastCGI
# with keep-alive, 18082 one connection per request) become free ones,
# nginx runs in the foreground as our child, and, as root, its workers
# run as root (like the test harness's) instead of www-data, which could
# not reach sockets made by root.  Pools run for pq_ka, pq_nk and
# hello_ka; the /big/ pools of the template are not started.

package Meetrec::Bench::Floor;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM SOMAXCONN);

use Meetrec::Test::Proc qw(spawn wait_for run_cmd on_cleanup);
use Meetrec::Test::Util qw(free_port port_open slurp spew);
use Meetrec::Test::Nginx;

# The pools started, and the program each runs.
my %POOLS = (pq_ka => 'fcgi_pq_status', pq_nk => 'fcgi_pq_status',
    hello_ka => 'fcgi_hello');

# missing($src) - why the floor cannot run here; empty when it can.
sub missing {
	my ($src) = @_;
	my @why;
	for (qw(fcgi_pq_status.c fcgi_hello.c nginx.conf.in)) {
		push @why, "$src/$_ is missing" unless -r "$src/$_";
	}
	push @why, 'gcc not found' unless _which('gcc');
	push @why, 'pg_config not found (Debian package libpq-dev)'
	    unless _which('pg_config');
	push @why, 'fcgiapp.h not found (Debian package libfcgi-dev)'
	    unless -r '/usr/include/fcgiapp.h';
	push @why, '/etc/nginx/fastcgi_params not found (the template '
	    . 'includes it)' unless -r '/etc/nginx/fastcgi_params';
	return @why;
}

sub _which {
	my ($p) = @_;
	for (split /:/, $ENV{PATH} // '') {
		return "$_/$p" if length && -x "$_/$p";
	}
	return undef;
}

sub new {
	my ($class, %o) = @_;
	croak 'Floor->new: src, dir and conninfo are required'
	    unless $o{src} && $o{dir} && $o{conninfo};
	return bless { %o, procs => $o{procs} // 2, pools => {} }, $class;
}

sub dir { return $_[0]{dir} }

# build() - gcc -O2 each responder into dir/bin; returns the gcc command
# lines.
sub build {
	my ($self) = @_;
	my $d = $self->{dir};
	make_path("$d/bin", "$d/log");
	chomp(my $inc = `pg_config --includedir`);
	my @cmds;
	for my $p (qw(fcgi_pq_status fcgi_hello)) {
		my @argv = ('gcc', '-O2', "$self->{src}/$p.c", '-o', "$d/bin/$p",
		    '-lfcgi', '-lpq', "-I$inc");
		my $r = run_cmd(\@argv, log => "$d/log/build.log");
		croak "Floor: building $p failed:\n$r->{out}$r->{err}"
		    if $r->{rc} != 0;
		push @cmds, "@argv";
	}
	$self->{build} = \@cmds;
	return @cmds;
}

# A short folder for the sockets when dir is deep (a Unix socket path
# holds about 107 bytes).
sub _sockdir {
	my ($self) = @_;
	return $self->{sockdir} //= do {
		my $s = "$self->{dir}/sock";
		if (length("$s/hello_big.sock") > 100) {
			require File::Temp;
			$s = File::Temp::tempdir('mrflXXXX', DIR => '/tmp',
			    CLEANUP => 1);
		}
		make_path($s);
		$s;
	};
}

# Fork n processes of $prog sharing one listening socket as fd 0.
sub _pool {
	my ($self, $name, $prog) = @_;
	my $path = $self->_sockdir . "/$name.sock";
	unlink $path;
	my $ls = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path,
	    Listen => SOMAXCONN) or croak "Floor: listen on $path: $!";
	my $log = "$self->{dir}/log/$name.log";
	my @pids;
	for my $n (1 .. $self->{procs}) {
		my $pid = fork // croak "Floor: fork: $!";
		if ($pid == 0) {
			POSIX::setpgid(0, 0);
			$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP QUIT PIPE CHLD);
			$ENV{PG_CONNINFO} = $self->{conninfo};
			POSIX::dup2(fileno($ls), 0) // POSIX::_exit(126);
			open STDOUT, '>>', $log or POSIX::_exit(126);
			open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
			{ no warnings 'exec'; exec { "$self->{dir}/bin/$prog" } $prog; }
			POSIX::_exit(127);
		}
		push @pids, $pid;
	}
	close $ls;
	my $c = on_cleanup(sub { _kill(@pids) });
	$self->{pools}{$name} = { pids => \@pids, cleanup => $c,
	    socket => $path };
	return @pids;
}

sub _kill {
	my (@pids) = @_;
	kill 'TERM', @pids;
	my $until = time + 5;
	for my $p (@pids) {
		while (waitpid($p, POSIX::WNOHANG()) == 0) {
			if (time > $until) {
				kill 'KILL', $p;
				waitpid($p, 0);
				last;
			}
			select(undef, undef, undef, 0.05);
		}
	}
}

# pool_pids($name) - the processes of pool $name (pq_ka, pq_nk,
# hello_ka).
sub pool_pids {
	my ($self, $name) = @_;
	return @{ $self->{pools}{$name}{pids} // [] };
}

# A pool process that exited (a failed connection to PostgreSQL) is a
# failed bring-up.
sub _check_pools {
	my ($self) = @_;
	for my $name (sort keys %{ $self->{pools} }) {
		for my $p (@{ $self->{pools}{$name}{pids} }) {
			next unless waitpid($p, POSIX::WNOHANG()) == $p;
			my $log = "$self->{dir}/log/$name.log";
			croak "Floor: $name process $p exited (status $?):\n"
			    . (-e $log ? slurp($log) : '');
		}
	}
}

# The template with the scratch folder, free ports and our user.
sub _render {
	my ($self) = @_;
	my $d = $self->{dir};
	my $t = slurp("$self->{src}/nginx.conf.in");
	my %ports = (18080 => 'static', 18081 => 'ka', 18082 => 'nk');
	for my $old (sort keys %ports) {
		my $new = free_port();
		$t =~ s/\b127\.0\.0\.1:$old\b/127.0.0.1:$new/g
		    or croak "Floor: nginx.conf.in does not listen on $old";
		$self->{port}{ $ports{$old} } = $new;
	}
	my $run = "$d/run";
	make_path(map { "$run/nginx/tmp/$_" } qw(body fastcgi proxy uwsgi scgi));
	# Sockets live in _sockdir, maybe not under @RUN@.
	my $sock = $self->_sockdir;
	$t =~ s{unix:\@RUN\@/sock/}{unix:$sock/}g;
	$t =~ s/\@RUN\@/$run/g;
	my $user = $> == 0 ? 'user root;' : '';
	$t =~ s/^user\s+[^;]+;/$user/m;
	$t = "# Rendered by bench/lib/Meetrec/Bench/Floor.pm from\n"
	    . "# $self->{src}/nginx.conf.in\ndaemon off;\n" . $t;
	if (defined(my $w = $self->{nginx_workers})) {
		$t =~ s/^worker_processes\s+[^;]+;.*$/worker_processes $w;/m
		    or croak 'Floor: nginx.conf.in has no worker_processes';
	}
	spew("$run/nginx.conf", $t);
	return "$run/nginx.conf";
}

# start() - build, start the pools, render and start nginx, and wait
# until it answers.
sub start {
	my ($self) = @_;
	$self->build unless $self->{build};
	$self->_pool($_, $POOLS{$_}) for sort keys %POOLS;
	my $conf = $self->_render;
	my $run = "$self->{dir}/run";
	my $pidf = "$run/nginx/nginx.pid";
	my $p = spawn('floor-nginx', [ Meetrec::Test::Nginx::binary(),
	    '-p', "$run/", '-c', $conf, '-e', "$run/nginx/error.log" ], {},
	    $self->{dir}, cwd => $run);
	$self->{nginx} = $p;
	wait_for(sub {
		die "Floor: nginx exited (" . $p->describe . "):\n"
		    . $p->log_content . "\n" unless $p->alive;
		return 0 unless -s $pidf;
		return (slurp($pidf) =~ s/\s+//gr) eq $p->pid
		    && port_open($self->{port}{ka});
	}, 20, 'the floor\'s nginx');
	$self->_check_pools;
	return $self;
}

sub nginx_pid { return $_[0]{nginx} ? $_[0]{nginx}->pid : undef }

# url($server, $path) - $server: static, ka (keep-alive), nk.
sub url {
	my ($self, $server, $path) = @_;
	return "http://127.0.0.1:$self->{port}{$server}$path";
}

# nginx_conf() - the rendered configuration's path.
sub nginx_conf { return "$_[0]{dir}/run/nginx.conf" }

# stop() - nginx (QUIT), then the pools (TERM, KILL after 5 s).
sub stop {
	my ($self) = @_;
	$self->{nginx}->stop(sig => 'QUIT', timeout => 10) if $self->{nginx};
	for my $pool (values %{ $self->{pools} }) {
		_kill(@{ $pool->{pids} });
		Meetrec::Test::Proc::cancel_cleanup($pool->{cleanup});
	}
	$self->{pools} = {};
	return;
}

1;
