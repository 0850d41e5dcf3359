# SPDX-License-Identifier: ISC
#
# Meetrec::Test::PgProxy - a PostgreSQL wire-protocol proxy that breaks
# connections on purpose, for the tests of what meetrec does when its
# database connection dies at the worst moment.
#
#	my $px = Meetrec::Test::PgProxy->new(dir => "$d/pgproxy",
#	    to => $pg->sockdir, log => "$d/log/pgproxy.log");
#	$px->start;			# a child process, stopped by pid
#	$px->conninfo($dbname, $user)	# libpq conninfo through the proxy
#	$px->arm(qr/^INSERT/)		# one shot: see below
#	$px->fired			# how many armed drops happened
#	$px->cut			# close every connection now
#	$px->refuse(1)			# refuse new connections until refuse(0)
#
# It listens on a Unix socket (<dir>/.s.PGSQL.<port>, so libpq's "host=<dir>
# port=<port>" reaches it, with no TLS negotiation) and copies bytes to the
# server's socket and back.  From the server it reads whole messages (a
# type byte, then a 32-bit length); from the client it copies blindly.
#
# arm(RE): the next CommandComplete whose tag matches RE ("INSERT 0 1",
# "UPDATE 1", "COMMIT", ...) and was committed is not delivered.  The
# proxy holds it and what follows until the ReadyForQuery, whose status
# byte says whether the server is idle ('I': the statement's implicit
# transaction, or the transaction COMMIT ended, is committed) or still in
# a transaction block ('T', or 'E' failed).  Idle, it closes both sides
# instead of passing any of it on: the client sees its connection die
# after the commit, with no answer, the one case where it cannot know
# what happened.  In a transaction nothing is committed yet: the held
# messages go on to the client and the proxy stays armed.
#
# Control is by files in <dir>, read on every server message and every
# new connection, so a test needs no channel to the proxy process:
# "arm" holds the pattern (removed when it fires; each firing appends a
# line to "fired"), "cut" closes everything once (then removed), "refuse"
# refuses while it exists.

package Meetrec::Test::PgProxy;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

use Meetrec::Test::Proc qw(spawn wait_for);
use Meetrec::Test::Util qw(slurp spew src_root);

# new(dir => DIR, to => SOCKDIR, port => 5432 (server), log => FILE)
sub new {
	my ($class, %o) = @_;
	croak 'PgProxy->new: dir and to are required' unless $o{dir} && $o{to};
	make_path($o{dir});
	chmod 0755, $o{dir};
	return bless {
		dir   => $o{dir},
		to    => "$o{to}/.s.PGSQL." . ($o{port} // 5432),
		lport => $o{listen_port} // 5433,
		log   => $o{log} // "$o{dir}/pgproxy.log",
	}, $class;
}

sub dir  { return $_[0]{dir} }
sub socket_path { return "$_[0]{dir}/.s.PGSQL.$_[0]{lport}" }

sub conninfo {
	my ($self, $db, $user) = @_;
	return "host=$self->{dir} port=$self->{lport} dbname=$db user=$user";
}

sub start {
	my ($self) = @_;
	unlink $self->socket_path;
	my $src = src_root();
	$self->{proc} = spawn('pgproxy', [ $^X, "-I$src/t/lib",
	    '-MMeetrec::Test::PgProxy', '-e',
	    'Meetrec::Test::PgProxy::serve(@ARGV)', $self->socket_path,
	    $self->{to}, $self->{dir} ], {}, $self->{dir},
	    log => $self->{log});
	my $p = $self->{proc};
	wait_for(sub {
		die "PgProxy exited:\n" . $p->log_content unless $p->alive;
		-S $self->socket_path }, 10, 'the PostgreSQL proxy');
	return $self;
}

sub stop {
	my ($self) = @_;
	$self->{proc}->stop if $self->{proc};
	unlink $self->socket_path;
	return;
}

sub arm {
	my ($self, $re) = @_;
	my $pat = ref $re ? "$re" : $re;
	spew("$self->{dir}/arm.tmp", "$pat\n");
	rename "$self->{dir}/arm.tmp", "$self->{dir}/arm" or croak "arm: $!";
	return;
}

sub armed { return -e "$_[0]{dir}/arm" }

sub fired {
	my ($self) = @_;
	my $f = "$self->{dir}/fired";
	return 0 unless -e $f;
	my @l = split /\n/, slurp($f);
	return scalar @l;
}

sub cut {
	my ($self) = @_;
	spew("$self->{dir}/cut", "1\n");
	return;
}

sub refuse {
	my ($self, $on) = @_;
	if ($on) {
		spew("$self->{dir}/refuse", "1\n");
	} else {
		unlink "$self->{dir}/refuse";
	}
	return;
}

# ---------------------------------------------------------------------
# The proxy process: one select loop, every socket non-blocking, bytes
# that cannot be written at once wait in an output buffer (a client that
# does not read must not stall the others).

my %peer;	# fileno => the other socket
my %role;	# fileno => 'c' (client side) or 's' (server side)
my %inbuf;	# fileno of a server side => bytes not yet parsed
my %outbuf;	# fileno => bytes waiting to be written to that socket
my %held;	# fileno of a server side => [ tag matched, messages held
		# since ] until the ReadyForQuery after the match
my %txn;	# fileno of a server side => its last ReadyForQuery status
my %sock;	# fileno => socket

sub _log {
	my ($msg) = @_;
	printf STDERR "%s pgproxy: %s\n", scalar localtime, $msg;
	return;
}

sub _close_pair {
	my ($sel, $fd) = @_;
	my @fds = ($fd, exists $peer{$fd} ? fileno($peer{$fd}) : ());
	for my $f (@fds) {
		next unless defined $f && $sock{$f};
		$sel->remove($sock{$f});
		close $sock{$f};
		delete $sock{$f}; delete $peer{$f}; delete $role{$f};
		delete $inbuf{$f}; delete $outbuf{$f}; delete $held{$f};
		delete $txn{$f};
	}
	return;
}

sub _fire {
	my ($dir, $tag) = @_;
	if (open(my $fh, '>>', "$dir/fired")) {
		print $fh "$tag\n";
		close $fh;
	}
	return;
}

# Queue bytes for socket $to and write what it takes now.
sub _send {
	my ($sel, $to, $bytes) = @_;
	my $f = fileno $to;
	return 0 unless defined $f && $sock{$f};
	$outbuf{$f} .= $bytes;
	return _flush($sel, $f);
}

sub _flush {
	my ($sel, $f) = @_;
	while (length($outbuf{$f} // '')) {
		my $n = syswrite($sock{$f}, $outbuf{$f});
		if (!defined $n) {
			return 1 if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
			_close_pair($sel, $f);
			return 0;
		}
		substr($outbuf{$f}, 0, $n, '');
	}
	return 1;
}

# Pass the whole messages in $inbuf{$fd} on to the client; returns 0
# when the pair was closed on purpose.
sub _server_data {
	my ($sel, $fd, $dir) = @_;
	my $buf = \$inbuf{$fd};
	my $out = '';
	while (length $$buf >= 5) {
		my ($type, $len) = unpack 'a N', $$buf;
		last if length $$buf < 1 + $len;
		my $msg = substr($$buf, 0, 1 + $len, '');
		$txn{$fd} = substr($msg, 5, 1) if $type eq 'Z';
		if (my $h = $held{$fd}) {
			# Hold everything until the ReadyForQuery says
			# whether the statement is committed.
			$h->[1] .= $msg;
			next unless $type eq 'Z';
			delete $held{$fd};
			my $tag = $h->[0];
			if ($txn{$fd} eq 'I' && -e "$dir/arm") {
				unlink "$dir/arm";
				_fire($dir, $tag);
				_log("dropped a connection after '$tag' was "
				    . 'committed');
				_close_pair($sel, $fd);
				return 0;
			}
			_log("'$tag' matched in a transaction (status "
			    . "$txn{$fd}): passed on, still armed")
			    if $txn{$fd} ne 'I';
			$out .= $h->[1];
			next;
		}
		if ($type eq 'C' && -e "$dir/arm") {
			my $tag = unpack 'Z*', substr($msg, 5);
			my $pat = eval { slurp("$dir/arm") } // '';
			chomp $pat;
			if (length $pat && $tag =~ /$pat/) {
				$held{$fd} = [ $tag, $msg ];
				next;
			}
		}
		$out .= $msg;
	}
	return length $out ? _send($sel, $peer{$fd}, $out) : 1;
}

sub serve {
	my ($listen_path, $to, $dir) = @_;
	$| = 1;
	$SIG{PIPE} = 'IGNORE';
	unlink $listen_path;
	my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $listen_path,
	    Listen => 64) or die "pgproxy: listen $listen_path: $!\n";
	chmod 0777, $listen_path;
	my $sel = IO::Select->new($l);
	$SIG{TERM} = sub { exit 0 };
	_log("listening on $listen_path, to $to");
	for (;;) {
		if (-e "$dir/cut") {
			unlink "$dir/cut";
			my $n = 0;
			for my $f (keys %sock) {
				next unless $sock{$f} && ($role{$f} // '') eq 'c';
				_close_pair($sel, $f);
				$n++;
			}
			_log("cut $n connection(s)");
		}
		my $wsel = IO::Select->new(map { $sock{$_} }
		    grep { $sock{$_} && length($outbuf{$_} // '') } keys %sock);
		my ($rd, $wr) = IO::Select->select($sel, $wsel, undef, 0.1);
		for my $s (@{ $wr // [] }) {
			my $f = fileno $s;
			_flush($sel, $f) if defined $f && $sock{$f};
		}
		for my $s (@{ $rd // [] }) {
			if ($s == $l) {
				my $c = $l->accept or next;
				if (-e "$dir/refuse") {
					close $c;
					_log('refused a connection');
					next;
				}
				my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM,
				    Peer => $to);
				unless ($u) {
					close $c;
					_log("could not reach $to: $!");
					next;
				}
				$_->blocking(0) for $c, $u;
				my ($cf, $uf) = (fileno $c, fileno $u);
				@sock{$cf, $uf} = ($c, $u);
				@peer{$cf, $uf} = ($u, $c);
				@role{$cf, $uf} = ('c', 's');
				$inbuf{$uf} = '';
				$sel->add($c, $u);
				next;
			}
			my $fd = fileno $s;
			next unless defined $fd && $sock{$fd};
			my $n = sysread($s, my $data, 65536);
			next if !defined $n && ($!{EAGAIN} || $!{EINTR});
			unless ($n) {
				_close_pair($sel, $fd);
				next;
			}
			if ($role{$fd} eq 's') {
				$inbuf{$fd} .= $data;
				_server_data($sel, $fd, $dir);
			} else {
				_send($sel, $peer{$fd}, $data);
			}
		}
	}
}

1;
