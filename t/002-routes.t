#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# nginx owns routing and the C side dispatches from fcgi/routes.def: both
# must name the same set of routes, and every location must pass one.
use strict;
use warnings;
use FindBin;
use Test::More;

my $top = "$FindBin::Bin/..";

sub slurp {
	my ($f) = @_;
	open(my $fh, '<', $f) or die "$f: $!";
	local $/;
	return <$fh>;
}

my $conf = slurp("$top/nginx/meetrec-locations.conf.in");
$conf =~ s/#[^\n]*//g;	# comments are not configuration
my $def = slurp("$top/fcgi/routes.def");
$def =~ s{/\*.*?\*/}{}gs;

my %nginx;
$nginx{$1}++ while $conf =~ /fastcgi_param\s+MEETREC_ROUTE\s+(\w+)\s*;/g;
my %c;
$c{$1}++ while $def =~ /^MR_ROUTE\((\w+),\s*(\w+),/mg;

ok(scalar(keys %c) >= 7, 'routes.def names the routes (' .
    join(' ', sort keys %c) . ')');
is_deeply([sort keys %nginx], [sort keys %c],
    'nginx locations and the C route table name the same routes');
is((grep { $nginx{$_} > 1 } keys %nginx), 0,
    'each route is set by exactly one nginx location');

# Every location that passes a route also includes the FastCGI params.
my @blocks = $conf =~ /(location[^{]*\{[^}]*\})/g;
for my $b (@blocks) {
	next unless $b =~ /MEETREC_ROUTE\s+(\w+)/;
	my $r = $1;
	like($b, qr/include\s+\@CONFDIR\@\/meetrec-fastcgi\.conf;/,
	    "location of $r includes the FastCGI parameters");
}

# Each (route, method) pair is unique in the C table.
my %pair;
$pair{"$1 $2"}++ while $def =~ /^MR_ROUTE\((\w+),\s*(\w+),/mg;
is((grep { $pair{$_} > 1 } keys %pair), 0, 'no route and method twice');

done_testing();
