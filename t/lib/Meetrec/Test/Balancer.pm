# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Balancer - nginx as the balancer in front of several
# meetrec API hosts (each its own nginx and pool), configured as
# doc/deploy.md ("More than one host") tells operators to: an upstream
# of the hosts, a failed connection or a host's 502/503/504 passed to the
# next host, which nginx does for a POST only when the request never
# reached the first (proxy_next_upstream's rule for non-idempotent
# methods), and no keep-alive to the hosts, so a request is in flight on
# one host only while that host is working on it.
#
#	my $b = Meetrec::Test::Balancer->new(prefix => "$dir/balancer",
#	    port => $port, hosts => [ $port_a, $port_b ]);
#	$b->start; ... $b->stop;
#	$b->url('/api/healthz')

package Meetrec::Test::Balancer;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);

use Meetrec::Test::Nginx;
use Meetrec::Test::Util qw(spew);

# new(prefix => DIR, port => N, hosts => [ports], fail_timeout => 5)
sub new {
	my ($class, %o) = @_;
	croak 'Balancer->new: prefix, port and hosts are required'
	    unless $o{prefix} && $o{port} && @{ $o{hosts} // [] };
	my $self = bless { %o, fail_timeout => $o{fail_timeout} // 5 },
	    $class;
	$self->{nginx} = Meetrec::Test::Nginx->new(prefix => $o{prefix},
	    port => $o{port}, logdir => $o{logdir} // $o{prefix});
	return $self;
}

sub port  { return $_[0]{port} }
sub nginx { return $_[0]{nginx} }
sub url   { return "http://127.0.0.1:$_[0]{port}" . ($_[1] // '') }

sub _render {
	my ($self) = @_;
	my $p = $self->{nginx}->prefix;
	make_path(map { "$p/$_" } qw(client_body proxy));
	my $servers = join '', map {
		"\t\tserver 127.0.0.1:$_ max_fails=1 "
		    . "fail_timeout=$self->{fail_timeout}s;\n"
	} @{ $self->{hosts} };
	my $user = $> == 0 ? "user root;\n" : '';
	spew("$p/nginx.conf", <<"EOF");
${user}daemon off;
worker_processes 1;
pid $p/nginx.pid;
error_log $p/error.log info;
events { worker_connections 1024; }
http {
	access_log $p/access.log;
	client_body_temp_path $p/client_body;
	proxy_temp_path $p/proxy;
	client_max_body_size 1m;

	upstream meetrec_hosts {
$servers	}

	server {
		listen 127.0.0.1:$self->{port};
		location / {
			proxy_pass http://meetrec_hosts;
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_connect_timeout 2s;
			proxy_read_timeout 120s;
			proxy_next_upstream error timeout http_502 http_503 http_504;
			proxy_next_upstream_tries 2;
			proxy_buffering off;
			proxy_request_buffering on;
		}
	}
}
EOF
	return;
}

sub start {
	my ($self) = @_;
	$self->_render;
	$self->{nginx}->start;
	return $self;
}

sub stop {
	my ($self) = @_;
	return $self->{nginx}->stop;
}

1;
