#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# nginx owns routing and the C side dispatches from fcgi/routes.def: both
# must name the same set of routes, and every location must pass one,
# unless it is one of nginx's own (error pages, local files, the
# recordings page, the static API description; t/003-openapi.t checks
# which location each documented path reaches).
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

# The location blocks, braces balanced (a location may hold an "if").
my @blocks;
while ($conf =~ /\blocation\s+([^{]*?)\s*\{/g) {
	my ($head, $i, $depth) = ($1, pos($conf), 1);
	for (; $i < length $conf && $depth; $i++) {
		$depth += { '{' => 1, '}' => -1 }->{ substr($conf, $i, 1) } // 0;
	}
	push @blocks, [ $head, substr($conf, pos($conf), $i - pos($conf) - 1) ];
	pos($conf) = $i;
}

# Every location that passes a route also includes the FastCGI params;
# every other one is one of nginx's own: an error page, the files of
# local storage, the catch-all JSON 404 of /api/, the recordings page at
# /meetrec/, or the API's description (a file next to the recordings
# page).
for my $l (@blocks) {
	my ($head, $b) = @$l;
	if ($b =~ /MEETREC_ROUTE\s+(\w+)/) {
		my $r = $1;
		like($b, qr/include\s+\@CONFDIR\@\/meetrec-fastcgi\.conf;/,
		    "location of $r includes the FastCGI parameters");
	} elsif ($head eq '= /api/openapi.json') {
		like($b, qr/\balias\s+\@WWW_DIR\@\/openapi\.json;/,
		    "$head serves www/openapi.json");
		ok(-f "$top/www/openapi.json", 'which exists');
		unlike($b, qr/fastcgi/, 'without the pool');
	} else {
		ok($head =~ /^@/ || $b =~ /^\s*internal;/m
		    || ($head eq '/api/' && $b =~ /^\s*return 404 '\{[^\n]*"code":"not_found"\}';\s*$/m)
		    || ($head eq '= /meetrec' && $b =~ /^\s*return 301 \/meetrec\/;\s*$/)
		    || ($head eq '/meetrec/' && $b =~ /\balias\s+\@WWW_DIR\@\/;/),
		    "location $head is an error page, internal, the /api/ 404 "
		    . 'or the recordings page');
	}
}

# Each (route, method) pair is unique in the C table.
my %pair;
$pair{"$1 $2"}++ while $def =~ /^MR_ROUTE\((\w+),\s*(\w+),/mg;
is((grep { $pair{$_} > 1 } keys %pair), 0, 'no route and method twice');

done_testing();
