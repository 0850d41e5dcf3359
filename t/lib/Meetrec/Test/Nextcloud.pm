# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Nextcloud - storage servers for the Nextcloud backend's
# tests (src/store_webdav.c):
#
#   * t/nextcloud/ncserver.mjs, a Nextcloud-protocol server (WebDAV,
#     chunked upload v2, OCS shares, fault injection, a request log):
#
#	my $nc = Meetrec::Test::Nextcloud->start(dir => "$d/nc",
#	    user => 'meetrec', password => 'app-password');
#	$nc->url;			# http://127.0.0.1:PORT
#	$nc->faults({ fail_chunk_puts_after => 4 });
#	my $n = $nc->log_count;	... $nc->log_entries(since => $n);
#	$nc->file_path('Recordings/room/x.mp4');	# the bytes on disk
#	$nc->stop;
#
#   * nginx's dav module (+ dav-ext for PROPFIND) as a plain WebDAV
#     server, with /remote.php/dav/files/<user>/ aliased to a folder so the
#     backend's URLs work unchanged (storage.md section 7):
#
#	my $dav = Meetrec::Test::Nextcloud->start_nginx_dav(dir => "$d/dav",
#	    user => 'meetrec', password => 'pw');	# password: auth_basic
#	$dav->url; $dav->file_path('Recordings/x'); $dav->stop;
#
# Both run as our children (Meetrec::Test::Proc), get a free port from the
# kernel (ncserver writes a port file; nginx gets one picked here) and are
# waited for, never slept for.

package Meetrec::Test::Nextcloud;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);

use Meetrec::Test::Proc qw(spawn wait_for);
use Meetrec::Test::Util qw(src_root free_port port_open http slurp spew
    json_decode random_hex);
use Meetrec::Test::Nginx;
use Meetrec::Test::Stack;

sub node {
	my @c = ($ENV{MEETREC_NODE} // (), map { "$_/node" }
	    split /:/, $ENV{PATH} // '');
	for (@c) { return $_ if length && -x $_ && !-d $_ }
	return undef;
}

sub dav_ext_module {
	my $m = $ENV{MEETREC_NGINX_DAV_EXT}
	    // '/usr/lib/nginx/modules/ngx_http_dav_ext_module.so';
	return -f $m ? $m : undef;
}

# prereqs_missing(@what) - reasons (ncserver: node; nginx_dav: nginx and
# the dav-ext module).  Empty when all is there.
sub prereqs_missing {
	my @what = @_ ? @_ : qw(ncserver);
	my @miss;
	for my $w (@what) {
		if ($w eq 'ncserver') {
			push @miss, 'node not found' unless node();
		} elsif ($w eq 'nginx_dav') {
			push @miss, 'nginx not found'
			    unless Meetrec::Test::Nginx::binary();
			push @miss, 'nginx dav-ext module not found '
			    . '(libnginx-mod-http-dav-ext)'
			    unless dav_ext_module();
		}
	}
	return @miss;
}

# ---------------------------------------------------------------------
# ncserver.mjs

# start(dir => DIR, user => U, password => P, sharees => [..],
#     port => N, name => 'ncserver') - start it and wait for its port
# file.  Without port the kernel picks one.
sub start {
	my ($class, %o) = @_;
	my $dir = $o{dir} or croak 'Nextcloud->start: dir is required';
	my $user = $o{user} // 'meetrec';
	my $pw = $o{password} // croak 'Nextcloud->start: password is required';
	my $name = $o{name} // 'ncserver';
	make_path("$dir/root", "$dir/log");
	my $pf = "$dir/$name.port";
	unlink $pf;
	my $node = node() or croak 'Nextcloud: node not found';
	my @argv = ($node, src_root() . '/t/nextcloud/ncserver.mjs',
	    '--port', $o{port} // 0, '--port-file', $pf, '--root', "$dir/root",
	    '--user', $user, '--password', $pw,
	    '--log', "$dir/log/$name.log");
	push @argv, '--sharees', join(',', @{ $o{sharees} }) if $o{sharees};
	my $p = spawn($name, \@argv, {}, $dir, cwd => $dir,
	    log => "$dir/log/$name-stdio.log");
	my $port = wait_for(sub {
		die "Nextcloud: $name exited (" . $p->describe . "):\n"
		    . $p->log_content . "\n" unless $p->alive;
		return 0 unless -s $pf;
		my $n = slurp($pf) =~ s/\s+//gr;
		return $n =~ /^\d+$/ ? $n : 0;
	}, 30, "${name}'s port file $pf");
	return bless {
		proc     => $p,
		port     => $port,
		dir      => $dir,
		root     => "$dir/root",
		user     => $user,
		password => $pw,
		name     => $name,
	}, $class;
}

# with_stack(conf => {...}, sharees => [..], user => 'meetrec-svc',
# stack => { no_pool => 1, ... }) - a Meetrec::Test::Stack (made with
# the stack options) storing into a new ncserver as service account user
# (chunked above 2 KiB, in 64 KiB chunks, unless conf says otherwise);
# returns ($stack, $nextcloud).
sub with_stack {
	my ($class, %o) = @_;
	my $user = $o{user} // 'meetrec-svc';
	my $pass = 'app-' . random_hex(12);
	my $port = free_port();
	my $s = Meetrec::Test::Stack->new(%{ $o{stack} // {} }, conf => {
		storage_type              => 'nextcloud',
		nextcloud_url             => "http://127.0.0.1:$port",
		nextcloud_user            => $user,
		nextcloud_app_password    => $pass,
		nextcloud_chunk_threshold => 2048,
		nextcloud_chunk_size      => 65536,
		%{ $o{conf} // {} },
	});
	my $nc = $class->start(dir => $s->dir . '/nc', port => $port,
	    user => $user, password => $pass, sharees => $o{sharees});
	return ($s, $nc);
}

sub port     { return $_[0]{port} }
sub url      { return "http://127.0.0.1:$_[0]{port}" }
sub user     { return $_[0]{user} }
sub password { return $_[0]{password} }
sub proc     { return $_[0]{proc} }
sub root     { return $_[0]{root} }

# file_path($rel) - where the file <files root>/$rel lives on disk.
sub file_path {
	my ($self, $rel) = @_;
	return "$self->{root}/files/$self->{user}/$rel";
}

# upload_dir($id) - the chunk folder of an upload.
sub upload_dir {
	my ($self, $id) = @_;
	return "$self->{root}/uploads/$self->{user}/$id";
}

sub _control {
	my ($self, $method, $what, $json) = @_;
	my $r = http($method, $self->url . "/_nc/$what",
	    { defined $json ? (json => $json) : (), timeout => 120 });
	croak "Nextcloud: $method /_nc/$what: $r->{status} $r->{body}"
	    unless $r->{status} == 200;
	return $r->{json};
}

# faults(\%f) - replace the faults (see ncserver.mjs); {} clears them.
sub faults {
	my ($self, $f) = @_;
	return $self->_control(POST => 'faults', $f // {});
}

# log_entries(since => N) - requests since entry N: arrayref of
# { i, method, path, query, headers => {...}, status, auth, note }.
sub log_entries {
	my ($self, %o) = @_;
	my $since = $o{since} // 0;
	return $self->_control(GET => "log?since=$since");
}

sub log_count {
	my ($self) = @_;
	return scalar @{ $self->log_entries };
}

# reset(keep_files => 0) - no faults, empty log and shares, empty disk.
sub reset {
	my ($self, %o) = @_;
	return $self->_control(POST => 'reset', { keep_files =>
	    $o{keep_files} ? JSON::PP::true() : JSON::PP::false() });
}

# wait_idle(timeout_ms => N) - until no request is in flight and no
# assembly runs in the background.
sub wait_idle {
	my ($self, %o) = @_;
	return $self->_control(POST => 'wait', { idle => JSON::PP::true(),
	    timeout_ms => ($o{timeout_ms} // 30000)
	    * Meetrec::Test::Proc::timeout_factor() });
}

sub state { return $_[0]->_control(GET => 'state') }

# ocs($method, $path_and_query) - an authenticated OCS call (JSON).
sub ocs {
	my ($self, $method, $pq, %o) = @_;
	my $auth = encode_base64("$self->{user}:$self->{password}", '');
	return http($method, $self->url . $pq, {
		headers => { Authorization => "Basic $auth",
		    'OCS-APIRequest' => 'true', Accept => 'application/json',
		    %{ $o{headers} // {} } },
		defined $o{body} ? (body => $o{body}) : (),
	});
}

sub log_content {
	my ($self) = @_;
	my $f = "$self->{dir}/log/$self->{name}.log";
	return -f $f ? slurp($f) : '';
}

sub stop {
	my ($self) = @_;
	return $self->{proc}->stop(sig => 'TERM', timeout => 10);
}

# ---------------------------------------------------------------------
# nginx + dav-ext

# start_nginx_dav(dir => DIR, user => U, password => P, port => N) -
# nginx serving DIR/davroot at /remote.php/dav/files/U/ (PUT DELETE MKCOL
# COPY MOVE, PROPFIND OPTIONS; no parent creation on PUT, as Nextcloud);
# with a password, Basic auth is required.
sub start_nginx_dav {
	my ($class, %o) = @_;
	my $dir = $o{dir} or croak 'start_nginx_dav: dir is required';
	my $user = $o{user} // 'meetrec';
	my $bin = Meetrec::Test::Nginx::binary()
	    or croak 'start_nginx_dav: nginx not found';
	my $mod = dav_ext_module()
	    or croak 'start_nginx_dav: the dav-ext module is missing';
	my $port = $o{port} // free_port();
	my $root = "$dir/davroot";
	make_path($root, "$dir/tmp", "$dir/log");
	my $auth = '';
	if (defined $o{password}) {
		spew("$dir/htpasswd", "$user:{PLAIN}$o{password}\n");
		$auth = "\t\t\tauth_basic \"meetrec test\";\n"
		    . "\t\t\tauth_basic_user_file $dir/htpasswd;\n";
	}
	# As root the workers would run as "nobody" and could not write our
	# folders; the server is private and short-lived.
	my $usr = $> == 0 ? "user root;\n" : '';
	my $conf = <<"EOF";
# Written by t/lib/Meetrec/Test/Nextcloud.pm: a plain WebDAV server.
load_module $mod;
${usr}daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 128; }
http {
	access_log $dir/access.log;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		client_max_body_size 0;
		location /remote.php/dav/files/$user/ {
			alias $root/;
			dav_methods PUT DELETE MKCOL COPY MOVE;
			dav_ext_methods PROPFIND OPTIONS;
			create_full_put_path off;
			dav_access user:rw group:r all:r;
$auth		}
	}
}
EOF
	spew("$dir/nginx.conf", $conf);
	unlink "$dir/nginx.pid";
	my $p = spawn('nginx-dav', [ $bin, '-p', "$dir/", '-c',
	    "$dir/nginx.conf", '-e', "$dir/error.log" ], {}, $dir,
	    cwd => $dir, log => "$dir/log/nginx-dav-stdio.log");
	wait_for(sub {
		die 'start_nginx_dav: nginx exited (' . $p->describe . "):\n"
		    . $p->log_content . (-f "$dir/error.log"
		    ? slurp("$dir/error.log") : '') . "\n" unless $p->alive;
		return 0 unless -s "$dir/nginx.pid";
		return (slurp("$dir/nginx.pid") =~ s/\s+//gr) eq $p->pid
		    && port_open($port);
	}, 20, "nginx dav on 127.0.0.1:$port");
	return bless {
		proc => $p,
		port => $port,
		dir  => $dir,
		root => $root,
		user => $user,
	}, 'Meetrec::Test::Nextcloud::NginxDav';
}

package Meetrec::Test::Nextcloud::NginxDav;

use strict;
use warnings;

use Meetrec::Test::Util qw(slurp);

sub port { return $_[0]{port} }
sub url  { return "http://127.0.0.1:$_[0]{port}" }
sub root { return $_[0]{root} }
sub proc { return $_[0]{proc} }

sub file_path {
	my ($self, $rel) = @_;
	return "$self->{root}/$rel";
}

sub error_log {
	my ($self) = @_;
	my $f = "$self->{dir}/error.log";
	return -f $f ? slurp($f) : '';
}

# access_log() - one line per request ("METHOD URI STATUS" in the
# default combined format).
sub access_log {
	my ($self) = @_;
	my $f = "$self->{dir}/access.log";
	return -f $f ? slurp($f) : '';
}

# problems() - [alert]/[crit]/[emerg] lines and crashed workers.
sub problems {
	my ($self) = @_;
	return grep { /\[(?:alert|crit|emerg)\]|exited on signal/ }
	    split /\n/, $self->error_log;
}

sub stop {
	my ($self) = @_;
	return $self->{proc}->stop(sig => 'QUIT', timeout => 10);
}

1;
