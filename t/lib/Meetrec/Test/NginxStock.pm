# SPDX-License-Identifier: ISC
#
# Meetrec::Test::NginxStock - Debian's stock nginx configuration, copied
# into a scratch root: /etc/nginx/nginx.conf, mime.types, the enabled
# modules and sites-available/default, enabled as it is after the
# package is installed.  Its paths are moved into the root (the pid
# file, the logs, conf.d/ and sites-enabled/, and temporary files), its
# default site listens on a port of ours instead of 80, and it keeps the
# rest: "user www-data", the default site as the default server.  The
# system's /etc/nginx is only read.
#
#	my $st = Meetrec::Test::NginxStock->new(root => "$dir/root",
#	    port => $port);
#	spew($st->etc . '/conf.d/meetrec.conf', ...);
#	$st->check;			# nginx -t, dies with its output
#	$st->start; ... $st->stop;	# in the foreground, as our child

package Meetrec::Test::NginxStock;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use IO::Socket::INET;

use Meetrec::Test::Nginx;
use Meetrec::Test::Proc qw(spawn wait_for run_cmd);
use Meetrec::Test::Util qw(slurp spew port_open);

my $ETC = '/etc/nginx';

# missing() - why there is no stock configuration to copy, or ().
sub missing {
	return 'nginx not found' unless Meetrec::Test::Nginx::binary();
	for my $f ("$ETC/nginx.conf", "$ETC/mime.types",
	    "$ETC/sites-available/default") {
		return "$f is missing (Debian's nginx-common)" unless -r $f;
	}
	return ();
}

# modified() - the stock files the system changed since the package put
# them there (dpkg's checksums of nginx-common's conffiles), for a
# test's diagnostics.
sub modified {
	my $r = run_cmd([ 'dpkg-query', '-W', '-f=${Conffiles}\n',
	    'nginx-common' ]);
	return () if $r->{rc} != 0;
	my @changed;
	for (split /\n/, $r->{out}) {
		my ($f, $md5) = split ' ';
		next unless $f && $md5 && $f =~ m{^\Q$ETC\E/(?:nginx\.conf|mime\.types|sites-available/default)$};
		my $m = run_cmd([ 'md5sum', $f ]);
		push @changed, $f unless $m->{out} =~ /^\Q$md5\E\b/;
	}
	return @changed;
}

sub _ipv6 {
	my $s = eval {
		require IO::Socket::IP;
		IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
		    Listen => 1);
	};
	return $s ? 1 : 0;
}

# new(root => DIR, port => N) - write the copy.
sub new {
	my ($class, %o) = @_;
	croak 'NginxStock->new: root and port are required'
	    unless $o{root} && $o{port};
	my $root = $o{root};
	my $etc = "$root/etc/nginx";
	make_path(map { "$etc/$_" } qw(conf.d sites-available sites-enabled
	    modules-enabled));
	make_path(map { "$root/$_" } qw(var/log/nginx run var/lib/nginx));
	my $self = bless { root => $root, etc => $etc, port => $o{port} },
	    $class;

	my $main = slurp("$ETC/nginx.conf");
	$main =~ s{\Q$ETC/\E}{$etc/}g;
	$main =~ s{/var/log/nginx/}{$root/var/log/nginx/}g;
	$main =~ s{^(\s*pid\s+)/run/nginx\.pid;}{$1$root/run/nginx.pid;}m
	    or croak "NginxStock: no pid line in $ETC/nginx.conf";
	# Temporary files: ours, not /var/lib/nginx.
	my $tmp = join '', map { "\t${_}_temp_path $root/var/lib/nginx/$_;\n" }
	    qw(client_body proxy fastcgi uwsgi scgi);
	$main =~ s{^(http\s*\{\n)}{$1$tmp}m
	    or croak "NginxStock: no http block in $ETC/nginx.conf";
	spew("$etc/nginx.conf", $main);
	spew("$etc/mime.types", slurp("$ETC/mime.types"));

	# The modules Debian enabled (their files name absolute .so paths).
	if (opendir my $dh, "$ETC/modules-enabled") {
		for my $f (grep { /\.conf\z/ } readdir $dh) {
			spew("$etc/modules-enabled/$f",
			    slurp("$ETC/modules-enabled/$f"));
		}
		closedir $dh;
	}

	my $site = slurp("$ETC/sites-available/default");
	my $v6 = _ipv6();
	# The default server's port becomes ours; IPv6 stays if we have it.
	$site =~ s{^(\s*listen\s+)80(\s+default_server;)}{$1$o{port}$2}m
	    or croak "NginxStock: no 'listen 80 default_server' in the "
	    . 'default site';
	if ($v6) {
		$site =~ s{^(\s*listen\s+)\[::\]:80(\s+default_server;)}
		    {$1\[::1\]:$o{port}$2}m;
	} else {
		$site =~ s{^(\s*listen\s+\[::\]:80\s+default_server;)}{#$1}m;
	}
	spew("$etc/sites-available/default", $site);
	symlink "$etc/sites-available/default", "$etc/sites-enabled/default"
	    or croak "NginxStock: symlink: $!";
	return $self;
}

sub root { return $_[0]{root} }
sub etc  { return $_[0]{etc} }
sub port { return $_[0]{port} }
sub proc { return $_[0]{proc} }
sub error_log_path { return "$_[0]{root}/var/log/nginx/error.log" }

sub _argv {
	my ($self, @extra) = @_;
	# nginx's own prefix stays: the modules' relative paths need it.
	return (Meetrec::Test::Nginx::binary(),
	    '-c', "$self->{etc}/nginx.conf",
	    '-e', $self->error_log_path, @extra);
}

# check() - nginx -t; returns its output, dies with it when refused.
sub check {
	my ($self) = @_;
	my $r = run_cmd([ $self->_argv('-t') ]);
	croak "nginx -t failed:\n$r->{out}$r->{err}" if $r->{rc} != 0;
	return "$r->{out}$r->{err}";
}

# start() - nginx in the foreground ("daemon off" on the command line:
# the stock file says nothing about it), until it listens on our port.
sub start {
	my ($self, %o) = @_;
	my $pidf = "$self->{root}/run/nginx.pid";
	unlink $pidf;
	my $p = spawn('nginx-stock', [ $self->_argv('-g', 'daemon off;') ],
	    {}, $o{logdir} // $self->{root}, cwd => $self->{etc});
	$self->{proc} = $p;
	wait_for(sub {
		die 'NginxStock: nginx exited (' . $p->describe . "):\n"
		    . $p->log_content . $self->_tail . "\n" unless $p->alive;
		return -s $pidf && port_open($self->{port});
	}, 20, "nginx on 127.0.0.1:$self->{port}");
	return $self;
}

sub _tail {
	my ($self) = @_;
	my $f = $self->error_log_path;
	return -r $f ? "--- $f ---\n" . slurp($f) : '';
}

sub stop {
	my ($self) = @_;
	return undef unless $self->{proc};
	return $self->{proc}->stop(sig => 'QUIT', timeout => 10);
}

# problems() - [alert], [crit], [emerg] and "exited on signal" lines.
sub problems {
	my ($self) = @_;
	my $f = $self->error_log_path;
	return () unless -r $f;
	return grep { /\[(?:alert|crit|emerg)\]|exited on signal/ }
	    split /\n/, slurp($f);
}

1;
