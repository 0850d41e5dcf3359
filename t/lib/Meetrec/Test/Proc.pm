# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Proc - start, watch and stop the servers of a test.
#
# spawn() forks and execs a program in its own process group with stdin
# from /dev/null and stdout+stderr appended to <dir>/log/<name>.log.  The
# object remembers the pid; stop() sends a signal (TERM by default), waits
# with a deadline, then KILLs.  run_cmd() runs a short command to
# completion and captures its output (initdb, pg_ctl, meetrec-admin).
#
# The guard: every spawned process is also listed here by pid, and an END
# block (plus DESTROY of each object) kills whatever is still running, so a
# test that dies half-way leaves nothing behind.  Only processes we started
# are signalled, always by pid or by the process group we created for them.
# Extra cleanups (a postmaster started by pg_ctl is not our child) are
# registered with on_cleanup() and run in END, last registered first.
#
# wait_for() is the one polling loop: readiness is always a condition
# polled every 50 ms against a deadline, never a fixed sleep.
# MEETREC_TEST_TIMEOUT_FACTOR (default 1) scales every deadline, for
# slow sanitizer builds.

package Meetrec::Test::Proc;

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use File::Path qw(make_path);
use File::Temp ();
use POSIX qw(WNOHANG);
use Time::HiRes ();

our @EXPORT_OK = qw(spawn wait_for run_cmd as_user on_cleanup timeout_factor);

my $OWNER = $$;		# the process that started everything (not a fork)
my %LIVE;		# pid => { name, pgid } of spawned, unreaped processes
my @CLEANUP;		# [ id, sub ] extra cleanups, run LIFO in END
my $CLEANUP_ID = 0;

sub timeout_factor {
	my $f = $ENV{MEETREC_TEST_TIMEOUT_FACTOR};
	return (defined $f && $f =~ /^\d+(?:\.\d+)?$/ && $f > 0) ? $f : 1;
}

# wait_for($sub, $timeout, $what) - call $sub every 50 ms until it returns
# true and return that value.  Dies "timed out after N s waiting for
# $what" when the deadline passes.  $sub may itself die (for example when
# the process it waits for has exited); that propagates at once.
sub wait_for {
	my ($cond, $timeout, $what) = @_;
	$timeout = ($timeout // 10) * timeout_factor();
	my $deadline = Time::HiRes::time() + $timeout;
	for (;;) {
		my $r = $cond->();
		return $r if $r;
		if (Time::HiRes::time() > $deadline) {
			croak sprintf "timed out after %gs waiting for %s",
			    $timeout, $what // 'a condition';
		}
		Time::HiRes::sleep(0.05);
	}
}

# as_user($user, @argv) - the argv that runs @argv as $user when we are
# root (runuser, else su), or @argv unchanged when $user is undef, is us,
# or we are not root.  The environment and working directory are kept.
sub as_user {
	my ($user, @argv) = @_;
	return @argv unless defined $user && $> == 0;
	my $uid = getpwnam($user);
	croak "as_user: no such user '$user'" unless defined $uid;
	return @argv if $uid == 0;
	for my $d (qw(/usr/sbin /sbin /usr/bin /bin)) {
		return ("$d/runuser", '-u', $user, '--', @argv)
		    if -x "$d/runuser";
	}
	# su -c takes one string; "$0" and "$@" pass argv through untouched.
	return ('su', $user, '-s', '/bin/sh', '-c', 'exec "$0" "$@"', @argv);
}

# In a child before exec: a signal ignored by whoever started prove (a
# background job ignores INT and QUIT) would stay ignored across exec and
# make the server deaf to our stop signal.
sub _reset_signals {
	$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP QUIT PIPE CHLD USR1 USR2 ALRM);
}

# Apply an env hashref in a child: undef deletes a variable.
sub _apply_env {
	my ($env) = @_;
	for my $k (keys %{ $env // {} }) {
		if (defined $env->{$k}) {
			$ENV{$k} = $env->{$k};
		} else {
			delete $ENV{$k};
		}
	}
}

# spawn($name, \@argv, \%env, $dir, %opt) - start a long-running program.
#
# Output goes to <dir>/log/<name>.log (appended; opt log => PATH
# overrides).  opt cwd => DIR runs it there.  The child leads a new
# process group so that the guard can also reap its descendants (pool
# workers, node helpers).  Dies at once when exec fails.  Returns a
# Meetrec::Test::Proc object.
sub spawn {
	my ($name, $argv, $env, $dir, %opt) = @_;
	croak "spawn: empty argv for $name" unless $argv && @$argv;
	my $log = $opt{log};
	unless (defined $log) {
		make_path("$dir/log");
		$log = "$dir/log/$name.log";
	}
	# Perl marks pipes close-on-exec, so the parent reads EOF when the
	# exec succeeded and the errno text when it did not.
	pipe(my $rd, my $wr) or croak "spawn: pipe: $!";
	my $pid = fork;
	croak "spawn $name: fork: $!" unless defined $pid;
	if ($pid == 0) {
		close $rd;
		eval {
			POSIX::setpgid(0, 0);
			_reset_signals();
			_apply_env($env);
			if (defined $opt{cwd}) {
				chdir $opt{cwd} or die "chdir $opt{cwd}: $!\n";
			}
			open STDIN, '<', '/dev/null' or die "stdin: $!\n";
			open STDOUT, '>>', $log or die "$log: $!\n";
			open STDERR, '>&', \*STDOUT or die "stderr: $!\n";
			$| = 1;
			exec { $argv->[0] } @$argv;
			die "exec $argv->[0]: $!\n";
		};
		print {$wr} $@ || "spawn failed\n";
		close $wr;
		# _exit: no END blocks (the guard) and no destructors here.
		POSIX::_exit(127);
	}
	close $wr;
	my $err = do { local $/; <$rd> };
	close $rd;
	if (defined $err && length $err) {
		waitpid($pid, 0);
		chomp $err;
		croak "spawn $name: $err";
	}
	# Also set it from here: whichever runs first wins, so the group
	# exists before anybody signals it.
	POSIX::setpgid($pid, $pid);
	$LIVE{$pid} = { name => $name, pgid => $pid };
	return bless {
		name   => $name,
		pid    => $pid,
		argv   => [@$argv],
		log    => $log,
		status => undef,	# raw wait status once reaped
	}, __PACKAGE__;
}

sub pid  { return $_[0]{pid} }
sub name { return $_[0]{name} }
sub log_path { return $_[0]{log} }

sub log_content {
	my ($self) = @_;
	open my $fh, '<:raw', $self->{log} or return '';
	local $/;
	my $s = <$fh>;
	return $s // '';
}

# Reap without blocking; true while the process runs.
sub alive {
	my ($self) = @_;
	return 0 if defined $self->{status};
	my $r = waitpid($self->{pid}, WNOHANG);
	if ($r == $self->{pid}) {
		$self->{status} = $?;
		delete $LIVE{ $self->{pid} };
		return 0;
	}
	if ($r == -1) {
		# Not our child any more (reaped elsewhere): ask the kernel.
		return 1 if kill 0, $self->{pid};
		$self->{status} //= -1;
		delete $LIVE{ $self->{pid} };
		return 0;
	}
	return 1;
}

# Raw wait status (undef while running, -1 when unknown).
sub status { my ($s) = @_; $s->alive; return $s->{status} }

# Exit code, or undef if it is running or was killed by a signal.
sub exit_code {
	my ($self) = @_;
	my $st = $self->status;
	return undef if !defined $st || $st == -1 || ($st & 127);
	return $st >> 8;
}

# Signal number that ended it, or 0.
sub term_signal {
	my ($self) = @_;
	my $st = $self->status;
	return 0 if !defined $st || $st == -1;
	return $st & 127;
}

# Human text for diagnostics: "running", "exit 0", "signal 9".
sub describe {
	my ($self) = @_;
	my $st = $self->status;
	return 'running' unless defined $st;
	return 'unknown' if $st == -1;
	return 'signal ' . ($st & 127) if $st & 127;
	return 'exit ' . ($st >> 8);
}

# True when some other member of the process group is still there (for
# the pool: a worker that outlived its master).
sub group_alive {
	my ($self) = @_;
	return kill(0, -$self->{pid}) ? 1 : 0;
}

sub signal {
	my ($self, $sig) = @_;
	return 0 unless $self->alive;
	return kill $sig, $self->{pid};
}

# wait_exit(timeout => S) - wait for it to exit by itself; returns true
# if it did.
sub wait_exit {
	my ($self, %o) = @_;
	my $ok = eval {
		wait_for(sub { !$self->alive }, $o{timeout} // 10,
		    "$self->{name} (pid $self->{pid}) to exit");
		1;
	};
	return $ok ? 1 : 0;
}

# stop(sig => 'TERM', timeout => 10) - send sig, wait up to timeout for
# the exit, then SIGKILL the process and its group.  Any member of the
# group still there after the main process exited is killed too and
# remembered in {orphans}.  Returns the raw wait status.
sub stop {
	my ($self, %o) = @_;
	my $sig = $o{sig} // 'TERM';
	if ($self->alive) {
		kill $sig, $self->{pid};
		unless ($self->wait_exit(timeout => $o{timeout} // 10)) {
			warn "# $self->{name} (pid $self->{pid}) ignored "
			    . "SIG$sig; sending SIGKILL\n";
			$self->{killed} = 1;
			kill 'KILL', -$self->{pid};
			kill 'KILL', $self->{pid};
			waitpid($self->{pid}, 0);
			$self->{status} = $?;
			delete $LIVE{ $self->{pid} };
		}
	}
	if ($self->group_alive) {
		$self->{orphans} = 1;
		kill 'KILL', -$self->{pid};
	}
	return $self->{status};
}

sub killed  { return $_[0]{killed}  ? 1 : 0 }
sub orphans { return $_[0]{orphans} ? 1 : 0 }

# A process object going away kills what it stands for (scope guard).
sub DESTROY {
	my ($self) = @_;
	return if $$ != $OWNER;
	local ($?, $!, $@);
	return unless $LIVE{ $self->{pid} };
	_kill_group($self->{pid}, 3);
}

# TERM the group, give it $grace seconds, then KILL; reap if ours.
sub _kill_group {
	my ($pid, $grace) = @_;
	kill 'TERM', -$pid;
	kill 'TERM', $pid;
	my $deadline = Time::HiRes::time() + $grace;
	while (Time::HiRes::time() < $deadline) {
		my $r = waitpid($pid, WNOHANG);
		last if $r == $pid || ($r == -1 && !kill 0, $pid);
		Time::HiRes::sleep(0.05);
	}
	kill 'KILL', -$pid;
	kill 'KILL', $pid;
	waitpid($pid, 0);
	delete $LIVE{$pid};
}

# on_cleanup($sub) - run $sub in END (if the test did not clean up
# itself).  Returns an id for cancel_cleanup().
sub on_cleanup {
	my ($sub) = @_;
	push @CLEANUP, [ ++$CLEANUP_ID, $sub ];
	return $CLEANUP_ID;
}

sub cancel_cleanup {
	my ($id) = @_;
	@CLEANUP = grep { $_->[0] != $id } @CLEANUP;
}

# Kill everything still listed, then run the extra cleanups.
sub cleanup_all {
	return if $$ != $OWNER;
	for my $pid (sort { $b <=> $a } keys %LIVE) {
		warn "# cleanup: killing $LIVE{$pid}{name} (pid $pid)\n"
		    if $ENV{MEETREC_TEST_VERBOSE};
		_kill_group($pid, 5);
	}
	while (my $c = pop @CLEANUP) {
		eval { $c->[1]->(); 1 } or warn "# cleanup failed: $@";
	}
}

END {
	# Keep the test's exit status: waitpid in here would clobber $?.
	local ($?, $!, $@);
	cleanup_all();
}

# A signal would otherwise end the test without END blocks, leaving the
# servers running.  Turn INT/TERM/HUP into an exit (which runs END) unless
# the program installed its own handler.
for my $sig (qw(INT TERM HUP)) {
	next if defined $SIG{$sig} && $SIG{$sig} ne '' && $SIG{$sig} ne 'DEFAULT';
	$SIG{$sig} = sub {
		warn "# caught SIG$_[0], stopping the test servers\n";
		exit 1;
	};
}

# run_cmd(\@argv, %opt) - run a command to completion.
#
# %opt: env (hashref, undef deletes), cwd, user (run as this user when we
# are root; see as_user), stdin (a string), timeout (seconds, default
# 120; the command is KILLed after it), log (append a transcript here).
#
# Returns { rc => exit code (-1 if killed/signalled), status => raw,
# out => stdout, err => stderr }.  Never dies because the command failed.
sub run_cmd {
	my ($argv, %opt) = @_;
	my @argv = as_user($opt{user}, @$argv);
	my $out = File::Temp->new(TMPDIR => 1);
	my $err = File::Temp->new(TMPDIR => 1);
	my $in;
	if (defined $opt{stdin}) {
		$in = File::Temp->new(TMPDIR => 1);
		binmode $in;
		print {$in} $opt{stdin};
		close $in;
		# Readable by the user we may switch to.
		chmod 0644, $in->filename;
	}
	# The capture files must be writable by that user too.
	chmod 0666, $out->filename, $err->filename if defined $opt{user};
	my $pid = fork;
	croak "run_cmd: fork: $!" unless defined $pid;
	if ($pid == 0) {
		eval {
			_reset_signals();
			_apply_env($opt{env});
			if (defined $opt{cwd}) {
				chdir $opt{cwd} or die "chdir $opt{cwd}: $!\n";
			}
			my $src = defined $in ? $in->filename : '/dev/null';
			open STDIN, '<', $src or die "stdin: $!\n";
			open STDOUT, '>', $out->filename or die "stdout: $!\n";
			open STDERR, '>', $err->filename or die "stderr: $!\n";
			exec { $argv[0] } @argv;
			die "exec $argv[0]: $!\n";
		};
		print STDERR $@;
		POSIX::_exit(127);
	}
	my $timeout = ($opt{timeout} // 120) * timeout_factor();
	my $deadline = Time::HiRes::time() + $timeout;
	my $status;
	for (;;) {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid) { $status = $?; last }
		if (Time::HiRes::time() > $deadline) {
			kill 'KILL', $pid;
			waitpid($pid, 0);
			$status = $?;
			warn "# run_cmd: '@argv' killed after ${timeout}s\n";
			last;
		}
		Time::HiRes::sleep(0.02);
	}
	my %res = (
		status => $status,
		rc     => ($status & 127) ? -1 : $status >> 8,
		out    => _read($out->filename),
		err    => _read($err->filename),
	);
	if (defined $opt{log}) {
		if (open my $fh, '>>', $opt{log}) {
			print {$fh} "\$ @argv\n$res{out}$res{err}"
			    . "[exit $res{rc}]\n";
			close $fh;
		}
	}
	return \%res;
}

sub _read {
	open my $fh, '<:raw', $_[0] or return '';
	local $/;
	my $s = <$fh>;
	return $s // '';
}

1;
