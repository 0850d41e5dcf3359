# SPDX-License-Identifier: ISC
#
# Meetrec::Test::OpenAPI - checks an answer of the stack against the
# API's description, www/openapi.json (made from doc/openapi.yaml by
# scripts/openapi-json), with Debian's JSON::Validator.
#
#	my $oa = Meetrec::Test::OpenAPI->new;	# dies when it cannot load
#	my @problems = $oa->check(method => 'GET', target => '/api/x?y=1',
#	    status => 200, headers => { 'content-type' => ... },
#	    body => $bytes);
#
# The request's path is matched against the document's paths and their
# x-aliases (after nginx's normalisation: %xx decoded, slashes merged,
# dot segments removed); a literal segment beats a {parameter}.  Then:
#   - a documented method: the status must be one of the operation's
#     responses; the headers it marks required must be there and every
#     documented header that is there must fit its schema; the
#     Content-Type must be one of the response's media types (JSON with
#     charset=utf-8), or there must be no body when it has none; a JSON
#     body must fit the schema (strictly: "1" is not an integer); a HEAD
#     answer has no body.
#   - a method the path does not list: 405 method_not_allowed whose Allow
#     names exactly the documented methods (nginx refuses TRACE and
#     CONNECT without one), or one of the answers nginx gives before any
#     route (400, 403, 413, 429, 503 as an error body).
#   - on any path, the answers of components/responses marked
#     x-any-path (nginx's to a request line too long, an HTTP version or
#     Transfer-Encoding it does not speak).
#   - a path under /api/, /r/ or /metrics that the document does not
#     have, or a request line nginx could not read: nginx's 404
#     not_found, or one of those nginx answers.
# Paths outside those (the recordings page) are not part of the API and
# are not checked.  check() returns the problems, one sentence each.

package Meetrec::Test::OpenAPI;

use strict;
use warnings;

use Carp qw(croak);
use JSON::PP ();

use Meetrec::Test::Util qw(src_root slurp);

my %NGINX_ANY = map { $_ => 1 } (400, 403, 413, 429, 503);
my %NGINX_CODES = map { $_ => 1 } qw(bad_request header_too_large forbidden
    body_too_large too_many_requests unavailable not_found);

# missing() - why the documents cannot be checked here; empty when they can.
sub missing {
	return () if eval { require JSON::Validator; 1 };
	return 'JSON::Validator not found (Debian: libjson-validator-perl)';
}

sub new {
	my ($class, %o) = @_;
	require JSON::Validator;
	my $file = $o{file} // src_root() . '/www/openapi.json';
	my $doc = JSON::PP->new->decode(slurp($file));
	my $schema = JSON::Validator->new->schema($doc)->schema;
	croak "OpenAPI: $file is not an OpenAPI 3 document"
	    unless ref $schema eq 'JSON::Validator::Schema::OpenAPIv3';
	# Bodies are checked strictly; headers are strings, converted below.
	$schema->coerce({});
	my @routes;
	for my $key (sort keys %{ $doc->{paths} }) {
		my $item = $doc->{paths}{$key};
		for my $p ($key, @{ $item->{'x-aliases'} // [] }) {
			my @lit = $p =~ m#/([^/{]+)#g;
			my $re = join '', map {
				/^\{\w+\}$/ ? '[^/]+' : quotemeta
			} split /(\{\w+\})/, $p;
			push @routes, { key => $key, re => qr/^$re$/,
			    weight => length join '', @lit };
		}
	}
	@routes = sort { $b->{weight} <=> $a->{weight} } @routes;
	# nginx's answers on every path (components/responses, x-any-path).
	my %any;
	for my $name (sort keys %{ $doc->{components}{responses} // {} }) {
		my $resp = $doc->{components}{responses}{$name};
		$any{ $resp->{'x-status'} } = $name if $resp->{'x-any-path'};
	}
	return bless { doc => $doc, schema => $schema, routes => \@routes,
	    any => \%any, json => JSON::PP->new->utf8->allow_nonref }, $class;
}

# An answer any path may get (x-any-path): its problems, or undef when
# the status is not one of them.
sub _any_path {
	my ($self, $what, $r) = @_;
	my $name = $self->{any}{ $r->{status} } or return undef;
	return [ $self->_response($what, $r, $self->{schema}->get(
	    ['components', 'responses', $name]),
	    ['components', 'responses', $name]) ];
}

sub doc { return $_[0]{doc} }

# The path nginx matches its locations against.
sub normalize {
	my ($target) = @_;
	(my $p = $target) =~ s/[?#].*\z//s;
	$p =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
	$p =~ s{/{2,}}{/}g;
	my @out;
	for my $seg (split m{/}, $p, -1) {
		if ($seg eq '..') {
			pop @out if @out > 1;
		} elsif ($seg ne '.') {
			push @out, $seg;
		}
	}
	$p = join '/', @out;
	$p .= '/' if $target =~ m{/\.\.?(?:[?#].*)?\z}s && $p !~ m{/\z};
	return $p eq '' ? '/' : $p;
}

# The document's path for a request path, or undef.
sub route {
	my ($self, $path) = @_;
	for my $r (@{ $self->{routes} }) {
		return $r->{key} if $path =~ $r->{re};
	}
	return undef;
}

sub _header {
	my ($h, $name) = @_;
	my $v = $h->{lc $name};
	$v = join ', ', @$v if ref $v eq 'ARRAY';
	return $v;
}

# An error body nginx (or the pool, for a 405) may give on any path.
sub _error_body {
	my ($self, $what, $r, $codes) = @_;
	my @p;
	my $ct = _header($r->{headers}, 'content-type') // '';
	return "$what: $r->{status} with Content-Type '$ct', not JSON"
	    unless $ct =~ m{^application/json;\s*charset=utf-8$}i;
	return () if $r->{method} eq 'HEAD';
	my $body = eval { $self->{json}->decode($r->{body}) };
	return "$what: the body is not JSON: $r->{body}" unless defined $body;
	push @p, map { "$what: $_" } $self->{schema}->validate($body,
	    $self->{schema}->get('/components/schemas/Error'));
	push @p, "$what: code '" . ($body->{code} // '') . "' is not one of "
	    . join(', ', sort keys %$codes) if ref $body eq 'HASH'
	    && !$codes->{ $body->{code} // '' };
	return @p;
}

sub check {
	my ($self, %r) = @_;
	my $method = uc $r{method};
	my $status = $r{status};
	return () if $status == 599;	# no answer: HTTP::Tiny's own
	if (!defined $r{target}) {
		# A request line nginx could not read: its own answers only.
		my $what = "$method (unreadable request) -> $status";
		if (my $p = $self->_any_path($what, \%r)) {
			return @$p;
		}
		return "$what: not one of nginx's own answers"
		    unless $NGINX_ANY{$status};
		return $self->_error_body($what, \%r, \%NGINX_CODES);
	}
	my $path = normalize($r{target});
	my $what = "$method $r{target} -> $status";
	my $key = $self->route($path);
	if (!defined $key) {
		return () unless $path =~ m{^/(?:api|r|metrics)(?:/|\z)};
		if (my $p = $self->_any_path($what, \%r)) {
			return @$p;
		}
		return "$what: no such path in the document, and not "
		    . "nginx's 404 or another answer of nginx's own"
		    unless $status == 404 || $NGINX_ANY{$status};
		return $self->_error_body($what, \%r, \%NGINX_CODES);
	}
	my $item = $self->{doc}{paths}{$key};
	my @methods = sort grep { !/^x-|^parameters$|^summary$|^description$/ }
	    keys %$item;
	my $op = $item->{ lc $method };
	if (!$op) {
		if ($status == 405) {
			my $allow = _header($r{headers}, 'allow');
			my $want = join ', ', map { uc } @methods;
			if (defined $allow) {
				my $got = join ', ', sort map { uc }
				    split /\s*,\s*/, $allow;
				return ("$what: Allow is '$allow', the "
				    . "document has $want") if $got ne $want;
			} elsif ($method !~ /^(?:TRACE|CONNECT)$/) {
				return "$what: no Allow (the document has "
				    . "$want)";
			}
			return @{ $self->_any_path($what, \%r) };
		}
		if (my $p = $self->_any_path($what, \%r)) {
			return @$p;
		}
		return "$what: the document has no $method for $key (405 "
		    . 'expected)' unless $NGINX_ANY{$status};
		return $self->_error_body($what, \%r, \%NGINX_CODES);
	}
	my $base = ['paths', $key, lc $method, 'responses', "$status"];
	my $resp = $self->{schema}->get($base);
	if (ref $resp ne 'HASH') {
		if ($status != 405 && (my $p = $self->_any_path($what, \%r))) {
			return @$p;
		}
		return "$what: status $status is not documented for "
		    . $op->{operationId};
	}
	return $self->_response($what, \%r, $resp, $base);
}

sub _response {
	my ($self, $what, $r, $resp, $base) = @_;
	my $s = $self->{schema};
	my @p;
	for my $name (sort keys %{ $resp->{headers} // {} }) {
		my $h = $s->get([@$base, 'headers', $name]);
		my $v = _header($r->{headers}, $name);
		if (!defined $v) {
			push @p, "$what: header $name is missing"
			    if $h->{required};
			next;
		}
		my $sch = $h->{schema} // {};
		my $type = $s->get([@$base, 'headers', $name, 'schema', 'type'])
		    // '';
		$v += 0 if $type eq 'integer' && $v =~ /^[0-9]+$/;
		push @p, map { "$what: header $name '$v': $_" }
		    $s->validate($v, $s->get([@$base, 'headers', $name,
		    'schema']));
	}
	my $ct = _header($r->{headers}, 'content-type');
	my $content = $resp->{content};
	if (!$content) {
		push @p, "$what: a body where the document has none"
		    if length $r->{body};
		return @p;
	}
	if (!defined $ct) {
		push @p, "$what: no Content-Type";
		return @p;
	}
	(my $type = lc $ct) =~ s/\s*;.*\z//s;
	if (!exists $content->{$type}) {
		push @p, "$what: Content-Type '$ct' is not one of "
		    . join(', ', sort keys %$content);
		return @p;
	}
	if ($type eq 'application/json' && $ct !~ /;\s*charset=utf-8\s*$/i) {
		push @p, "$what: Content-Type '$ct' without charset=utf-8";
	}
	if ($r->{method} eq 'HEAD') {
		push @p, "$what: HEAD with a body" if length $r->{body};
		return @p;
	}
	return @p unless $type =~ m{[/+]json\z};
	my $body = eval { $self->{json}->decode($r->{body}) };
	if ($@) {
		push @p, "$what: the body is not JSON: " . substr($@, 0, 80);
		return @p;
	}
	push @p, map { "$what: $_" } $s->validate($body,
	    $s->get([@$base, 'content', $type, 'schema']));
	return @p;
}

1;
