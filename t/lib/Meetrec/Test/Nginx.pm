# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Nginx - run nginx with the project's own configuration
# (nginx/*.in, rendered with test values as nginx-tests' write_file_expand
# does), everything under one prefix directory, in the foreground as our
# child.
#
#	my $ng = Meetrec::Test::Nginx->new(prefix => "$dir/nginx",
#	    logdir => $dir, port => $port, vars => {
#		FCGI_SOCKET => ..., WWW_DIR => ..., BODY_LIMIT => '1m' });
#	$ng->render; $ng->start; ... $ng->stop;
#
# Rendering: every nginx/*.conf is copied and every nginx/*.in rendered
# into the prefix (nginx-local.conf.in becomes nginx.conf, x.conf.in
# becomes x.conf).  Each @NAME@ is replaced from vars; PREFIX, CONFDIR
# (= prefix) and LISTEN (127.0.0.1:port) are filled in by default.  A
# placeholder left over is an error, so a template that grows a new one
# fails loudly here instead of inside nginx; so is a placeholder in a
# comment (see expand).

package Meetrec::Test::Nginx;

use strict;
use warnings;

use Carp qw(croak);
use File::Basename qw(basename);
use File::Path qw(make_path);
use File::Spec;

use Meetrec::Test::Proc qw(spawn wait_for);
use Meetrec::Test::Util qw(src_root slurp spew port_open);

# binary() - the nginx to run: MEETREC_NGINX, /usr/sbin/nginx, or PATH.
sub binary {
	my @cand = ($ENV{MEETREC_NGINX} // (), '/usr/sbin/nginx',
	    map { "$_/nginx" } split /:/, $ENV{PATH} // '');
	for my $c (@cand) {
		return $c if length $c && -x $c && !-d $c;
	}
	return undef;
}

# new(prefix => DIR, port => N, logdir => DIR, vars => {NAME => value},
#     src => source root, worker_processes => N|'auto')
#
# worker_processes replaces the value nginx-local.conf.in ships (1), for
# bench/http.pl, which runs nginx with as many workers as its baselines.
sub new {
	my ($class, %o) = @_;
	croak 'Nginx->new: prefix and port are required'
	    unless $o{prefix} && $o{port};
	my $bin = binary() or croak 'Nginx: no nginx binary found '
	    . '(set MEETREC_NGINX)';
	my $prefix = File::Spec->rel2abs($o{prefix});
	return bless {
		bin    => $bin,
		prefix => $prefix,
		port   => $o{port},
		logdir => File::Spec->rel2abs($o{logdir} // $prefix),
		src    => $o{src} // src_root(),
		worker_processes => $o{worker_processes},
		vars   => {
			PREFIX  => $prefix,
			CONFDIR => $prefix,
			LISTEN  => "127.0.0.1:$o{port}",
			%{ $o{vars} // {} },
		},
	}, $class;
}

sub prefix { return $_[0]{prefix} }
sub port   { return $_[0]{port} }
sub proc   { return $_[0]{proc} }
sub pid    { return $_[0]{proc} ? $_[0]{proc}->pid : undef }
sub error_log_path { return "$_[0]{prefix}/error.log" }
sub access_log_path { return "$_[0]{prefix}/access.log" }

sub error_log {
	my ($self) = @_;
	return -e $self->error_log_path ? slurp($self->error_log_path) : '';
}

# expand($text, \%vars, $what) - replace each @NAME@ from vars.  The
# templates' rule: a placeholder stands only where a directive takes a
# value, never in a comment.  One in a comment is an error (substituted
# there, the second line of a multi-line value would become a directive of
# whatever block holds the comment), and so is one left without a value.
# A value is put in as it is, never expanded again.
sub expand {
	my ($text, $vars, $what) = @_;
	my ($out, %left) = ('');
	for my $part (split_comments($text)) {
		my ($comment, $s, $line) = @$part;
		if ($comment) {
			croak "Nginx: $what line $line: placeholder \@$1\@ in "
			    . 'a comment (placeholders belong where a '
			    . 'directive takes a value)'
			    if $s =~ /\@([A-Z][A-Z0-9_]*)\@/;
		} else {
			$s =~ s{\@([A-Z][A-Z0-9_]*)\@}{
				exists $vars->{$1} ? $vars->{$1}
				    : do { $left{$1} = 1; "\@$1\@" }
			}ge;
		}
		$out .= $s;
	}
	croak "Nginx: $what: no value for placeholder(s) "
	    . join(', ', map { "\@$_\@" } sort keys %left) if %left;
	return $out;
}

# split_comments($text) - the text as nginx reads it, in pieces
# [0, code] and [1, comment, line number]: a comment starts at a '#' that
# begins a token (at the start of the text or of a line, after white
# space or after ; { or }), outside quotes, and runs to the end of the
# line; a backslash escapes the next character.
sub split_comments {
	my ($text) = @_;
	my ($quote, $prev, $start, $line, @parts) = ('', "\n", 0, 1);
	my $len = length $text;
	for (my $i = 0; $i < $len; $i++) {
		my $c = substr($text, $i, 1);
		$line++ if $c eq "\n";
		if ($c eq '\\') {
			$i++;
			$line++ if substr($text, $i, 1) eq "\n";
			$prev = $c;
			next;
		}
		if ($quote ne '') {
			$quote = '' if $c eq $quote;
		} elsif ($c eq '"' || $c eq "'") {
			$quote = $c;
		} elsif ($c eq '#' && $prev =~ /[\s;{}]/) {
			my $end = index($text, "\n", $i);
			$end = $len if $end < 0;
			push @parts, [0, substr($text, $start, $i - $start)],
			    [1, substr($text, $i, $end - $i), $line];
			# The newline is code again: it ends the comment.
			($start, $i) = ($end, $end - 1);
		}
		$prev = $c;
	}
	push @parts, [0, substr($text, $start)];
	return @parts;
}

# render() - write the configuration into the prefix.  Returns the path
# of nginx.conf.
sub render {
	my ($self) = @_;
	my $src = "$self->{src}/nginx";
	my $p = $self->{prefix};
	make_path($p);
	opendir my $dh, $src or croak "Nginx: $src: $!";
	my @files = sort grep { /\.(?:conf|in)\z/ && -f "$src/$_" } readdir $dh;
	closedir $dh;
	croak "Nginx: $src/nginx-local.conf.in is missing"
	    unless grep { $_ eq 'nginx-local.conf.in' } @files;
	for my $f (@files) {
		my $out = $f eq 'nginx-local.conf.in' ? 'nginx.conf'
		    : $f =~ s/\.in\z//r;
		my $text = expand(slurp("$src/$f"), $self->{vars}, "nginx/$f");
		if ($out eq 'nginx.conf' && defined $self->{worker_processes}) {
			my $n = $self->{worker_processes};
			croak "Nginx: worker_processes '$n' is not a number or auto"
			    unless $n =~ /^(?:[1-9][0-9]*|auto)$/;
			$text =~ s/^worker_processes\s+\S+;/worker_processes $n;/m
			    or croak "Nginx: nginx/$f has no worker_processes line";
		}
		if ($out eq 'nginx.conf' && $> == 0) {
			# As root the nginx master switches its workers to
			# "nobody", which could neither connect to the pool's
			# socket (mode 0660, owned by root) nor read our temp
			# directories.  The test stack is private and
			# short-lived, so run the workers as root too rather
			# than loosen the socket's permissions.
			$text = "# Added by the test harness: running as root.\n"
			    . "user root;\n" . $text;
		}
		spew("$p/$out", $text);
	}
	return "$p/nginx.conf";
}

sub _argv {
	my ($self, @extra) = @_;
	my $p = $self->{prefix};
	return ($self->{bin}, '-p', "$p/", '-c', "$p/nginx.conf",
	    '-e', "$p/error.log", @extra);
}

# check() - nginx -t; dies with its output when the config is refused.
sub check {
	my ($self) = @_;
	my $r = Meetrec::Test::Proc::run_cmd([ $self->_argv('-t') ]);
	croak "Nginx: configuration test failed:\n$r->{out}$r->{err}"
	    if $r->{rc} != 0;
	return 1;
}

# start() - run nginx in the foreground (daemon off in the template) and
# wait until nginx.pid names our child and the port accepts connections.
sub start {
	my ($self) = @_;
	croak 'Nginx: already running' if $self->{proc} && $self->{proc}->alive;
	$self->render unless -e "$self->{prefix}/nginx.conf";
	my $pidf = "$self->{prefix}/nginx.pid";
	unlink $pidf;
	my $proc = spawn('nginx', [ $self->_argv ], {}, $self->{logdir},
	    cwd => $self->{prefix});
	$self->{proc} = $proc;
	my $pid = $proc->pid;
	wait_for(sub {
		unless ($proc->alive) {
			die "Nginx: exited (" . $proc->describe
			    . ") during startup:\n" . $proc->log_content
			    . $self->_tail . "\n";
		}
		return 0 unless -s $pidf;
		my $got = slurp($pidf) =~ s/\s+//gr;
		return $got eq $pid && port_open($self->{port});
	}, 20, "nginx on 127.0.0.1:$self->{port}");
	return $self;
}

sub _tail {
	my ($self) = @_;
	my @l = split /\n/, $self->error_log;
	splice @l, 0, @l - 20 if @l > 20;
	return @l ? "--- error.log (tail) ---\n" . join("\n", @l) . "\n" : '';
}

# reload() - SIGHUP; returns once a new worker generation is up (the
# error log says "start worker process" again).
sub reload {
	my ($self) = @_;
	my $n = () = $self->error_log =~ /start worker process/g;
	$self->{proc}->signal('HUP');
	wait_for(sub {
		my $m = () = $self->error_log =~ /start worker process/g;
		return $m > $n;
	}, 10, 'nginx to reload');
}

# stop(sig => 'QUIT') - graceful shutdown (QUIT), TERM then KILL after the
# deadline.  Returns the raw wait status.
sub stop {
	my ($self, %o) = @_;
	return undef unless $self->{proc};
	my $st = $self->{proc}->stop(sig => $o{sig} // 'QUIT',
	    timeout => $o{timeout} // 10);
	return $st;
}

# problems() - error.log lines that a clean run must not contain:
# [alert], [crit], [emerg], and worker "exited on signal".
sub problems {
	my ($self) = @_;
	return grep { /\[(?:alert|crit|emerg)\]|exited on signal/ }
	    split /\n/, $self->error_log;
}

1;
