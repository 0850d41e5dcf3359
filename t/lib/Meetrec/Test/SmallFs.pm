# SPDX-License-Identifier: ISC
#
# Meetrec::Test::SmallFs - a small filesystem of its own for a test that
# fills the disk on purpose: a tmpfs with a size limit mounted on a test
# folder, when we are root and the kernel lets us mount.
#
#	my $fs = Meetrec::Test::SmallFs->new(path => "$d/spool",
#	    size => 16 << 20);
#	$fs->kind;		# 'tmpfs', or 'rlimit' (see below)
#	$fs->fill;		# disk full: a ballast file takes every block
#	$fs->free;		# the ballast is gone
#	$fs->release;		# unmount (also at the end of the test)
#
# Where a tmpfs cannot be mounted (not root, a container that refuses
# mount(2), or MEETREC_TEST_NO_MOUNT=1) the folder stays an ordinary one
# and kind() says 'rlimit': fill() then sets the file size limit
# (RLIMIT_FSIZE, with prlimit(1)) of the processes that write there to
# zero, so every write that would grow a file fails with EFBIG, as a full
# disk fails with ENOSPC; free() lifts it.  The writers are named by
# writers => sub { list of pids }; they must ignore SIGXFSZ (node does,
# meetrec-reaper does).

package Meetrec::Test::SmallFs;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);

use Meetrec::Test::Proc qw(on_cleanup run_cmd);

sub new {
	my ($class, %o) = @_;
	croak 'SmallFs->new: path and size are required'
	    unless $o{path} && $o{size};
	make_path($o{path});
	my $self = bless { path => $o{path}, size => $o{size},
	    kind => 'rlimit', writers => $o{writers} // sub { () } }, $class;
	if ($> == 0 && !$ENV{MEETREC_TEST_NO_MOUNT}) {
		# One left mounted by an earlier run that was killed.
		for (1 .. 5) {
			last if run_cmd([ 'mountpoint', '-q', $o{path} ])->{rc};
			run_cmd([ 'umount', '-l', $o{path} ]);
		}
		my $r = run_cmd([ 'mount', '-t', 'tmpfs', '-o',
		    "size=$o{size},mode=0755", 'meetrec-test', $o{path} ]);
		if ($r->{rc} == 0) {
			$self->{kind} = 'tmpfs';
			my $p = $o{path};
			$self->{cleanup} = on_cleanup(sub {
				run_cmd([ 'umount', '-l', $p ]);
			});
		} else {
			$self->{why} = "mount: $r->{err}";
		}
	} else {
		$self->{why} = $> == 0 ? 'MEETREC_TEST_NO_MOUNT is set'
		    : 'not root';
	}
	return $self;
}

sub path { return $_[0]{path} }
sub kind { return $_[0]{kind} }
sub why  { return $_[0]{why} }

# fill() - disk full: a tmpfs gets a ballast file of zeros written until
# the filesystem says it is full; otherwise the writers' file size limit
# drops to zero.  Returns the bytes taken (0 for rlimit).
sub fill {
	my ($self) = @_;
	if ($self->{kind} eq 'rlimit') {
		$self->{limited} = [ $self->{writers}->() ];
		_prlimit($_, '0:unlimited') for @{ $self->{limited} };
		return 0;
	}
	return 0 unless $self->{kind} eq 'tmpfs';
	my $f = "$self->{path}/.ballast";
	open(my $fh, '>>', $f) or croak "SmallFs: $f: $!";
	binmode $fh;
	my $chunk = "\0" x 65536;
	my $n = 0;
	for (;;) {
		my $w = syswrite($fh, $chunk);
		last unless defined $w && $w > 0;
		$n += $w;
	}
	# The last blocks, a little at a time.
	for (;;) {
		my $w = syswrite($fh, "\0" x 512);
		last unless defined $w && $w > 0;
		$n += $w;
	}
	close $fh;
	return $n;
}

sub _prlimit {
	my ($pid, $lim) = @_;
	return unless $pid && kill 0, $pid;
	run_cmd([ 'prlimit', '--pid', $pid, "--fsize=$lim" ]);
	return;
}

sub free {
	my ($self) = @_;
	unlink "$self->{path}/.ballast";
	_prlimit($_, 'unlimited:unlimited') for @{ $self->{limited} // [] };
	$self->{limited} = [];
	return;
}

sub release {
	my ($self) = @_;
	$self->free;
	return unless $self->{kind} eq 'tmpfs';
	run_cmd([ 'umount', '-l', $self->{path} ]);
	$self->{kind} = 'rlimit';
	return;
}

1;
