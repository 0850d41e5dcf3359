#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The nginx templates hold placeholders only where a directive takes a
# value, never in a comment, and the expander the tests and
# scripts/run-stack use substitutes only there.  A multi-line
# METRICS_ALLOW (several allow lines, an operator's deny) lands whole
# inside the metrics location: no line of it may become a directive of
# the enclosing block, as happened when a comment named the placeholder.
# The locations hold nothing that would change the server they are
# included in, neither server of the pool's upstream is ever taken out
# for a failed request, and Debian's stock nginx accepts
# meetrec-locations.conf inside a server of its own next to the default
# site, and meetrec-site.conf as a site, each with meetrec-http.conf in
# conf.d/.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Meetrec::Test::Nginx;
use Meetrec::Test::NginxStock;
use Meetrec::Test::Util qw(src_root build_root slurp spew free_port);

my $src = src_root();
my @rules = ("allow\t10.1.2.3;", "allow\t2001:db8::/32;",
    "deny\t192.0.2.1;");
my %vars = (
	PREFIX        => '/srv/meetrec-nginx',
	CONFDIR       => '/srv/meetrec-nginx',
	LISTEN        => '127.0.0.1:8080',
	FCGI_SOCKET   => '/run/meetrec/fcgi.sock',
	FCGI_MAX_CONNS => 1024,
	WWW_DIR       => "$src/www",
	BODY_LIMIT    => '1m',
	STORAGE_DIR   => '/var/lib/meetrec/recordings',
	METRICS_ALLOW => join("\n", map { "\t\t$_" } @rules),
);

# A comment as nginx reads one: from a '#' that starts a token (outside
# quotes; the templates quote no '#') to the end of the line.
sub comments {
	my ($text) = @_;
	return map { /(?:^|[\s;{}])(#.*)$/ ? $1 : () } split /\n/, $text;
}

# 1. No template has a placeholder in a comment.
opendir my $dh, "$src/nginx" or die "$src/nginx: $!";
my @templates = sort grep { /\.in\z/ } readdir $dh;
closedir $dh;
ok(@templates >= 5, 'templates: ' . join(', ', @templates));
for my $t (@templates) {
	my @bad = grep { /\@[A-Z][A-Z0-9_]*\@/ }
	    comments(slurp("$src/nginx/$t"));
	is_deeply(\@bad, [], "nginx/$t: no placeholder in a comment");
}

# 2. Rendered with a multi-line METRICS_ALLOW, every allow and deny sits
# in the metrics location, and no comment gained any of it.
my $text = eval {
	Meetrec::Test::Nginx::expand(
	    slurp("$src/nginx/meetrec-locations.conf.in"), \%vars,
	    'nginx/meetrec-locations.conf.in');
};
ok(defined $text, 'meetrec-locations.conf.in renders') or diag($@);
$text //= '';

# Directives with the blocks around them, comments and quotes aside.
sub directives {
	my ($conf) = @_;
	$conf = join "\n", map { s/(?:^|(?<=[\s;{}]))#.*$//r }
	    split /\n/, $conf;
	my (@stack, @found);
	my $cur = '';
	for my $c (split //, $conf) {
		if ($c eq '{') {
			push @stack, $cur =~ s/\s+/ /gr =~ s/^ | $//gr;
			$cur = '';
		} elsif ($c eq '}') {
			pop @stack;
			$cur = '';
		} elsif ($c eq ';') {
			my $d = $cur =~ s/\s+/ /gr =~ s/^ | $//gr;
			push @found, [ $d, $stack[-1] // '(top)' ];
			$cur = '';
		} else {
			$cur .= $c;
		}
	}
	return @found;
}
my $metrics = 'location ~ ^(/api)?/metrics$';
my @access = grep { $_->[0] =~ /^(?:allow|deny)\b/ } directives($text);
my @astray = grep { $_->[1] ne $metrics } @access;
is_deeply([ map { "$_->[0] (in $_->[1])" } @astray ], [],
    'no allow or deny outside the metrics location');
my @inside = map { $_->[0] } grep { $_->[1] eq $metrics } @access;
is_deeply(\@inside, [ (map { s/\s+/ /gr =~ s/;$//r } @rules), 'deny all' ],
    'the metrics location holds every line of METRICS_ALLOW, then deny '
    . 'all');
my @leaked = grep { my $c = $_; grep { index($c, $_) >= 0 }
    qw(10.1.2.3 2001:db8 192.0.2.1) } comments($text);
is_deeply(\@leaked, [], 'no comment gained a line of METRICS_ALLOW');
unlike($text, qr/\@[A-Z][A-Z0-9_]*\@/, 'no placeholder is left');

# 3. The expander refuses a placeholder in a comment, whole-line or after
# a directive, and substitutes one in a quoted '#'.
my $x = sub { Meetrec::Test::Nginx::expand($_[0], { X => 'v' }, 't') };
for my $bad (['a comment line', "# uses \@X\@\nlisten \@X\@;\n"],
    ['a comment after a directive', "listen 80;\nlisten \@X\@; # \@X\@\n"],
    ['a comment in a block', "location / {\n\t\t# \@X\@\n}\n"]) {
	my $out = eval { $x->($bad->[1]) };
	like($@, qr/line \d+: placeholder \@X\@ in a comment/,
	    "a placeholder in $bad->[0] is refused");
}
is(eval { $x->("return 200 \"#\@X\@\"; # done\n") },
    "return 200 \"#v\"; # done\n", 'one after a quoted hash is substituted')
    or diag($@);
is(eval { $x->("add_header X a#\@X\@;\n") }, "add_header X a#v;\n",
    'and so is one after a hash inside a token') or diag($@);

# 4. The locations file sets nothing at the level it is included at
# (an operator's server): only location blocks, and the named locations
# and error pages carry meetrec in their names.
my @top = grep { $_->[1] eq '(top)' } directives($text);
is_deeply([ map { $_->[0] } @top ], [], 'meetrec-locations.conf: no '
    . 'directive outside a location');
my @named = $text =~ /^\s*location\s+(@\w+)/mg;
ok(@named >= 5, "named locations: @named");
is_deeply([ grep { !/^\@meetrec_/ } @named ], [],
    'each named location is called @meetrec_*');
my $fcgi = Meetrec::Test::Nginx::expand(
    slurp("$src/nginx/meetrec-fastcgi.conf.in"), \%vars,
    'nginx/meetrec-fastcgi.conf.in');
for my $code (403, 404, 413, 429, 502) {
	like($fcgi, qr/^error_page\s[\d ]*\b$code\b[\d ]*= \@meetrec_\w+;/m,
	    "meetrec-fastcgi.conf sends $code to a JSON page");
}

# The pool's upstream: no server of it is ever taken out for a failed
# request (meetrec-http.conf says why), the busy responder no more than
# the pool.
my $http = Meetrec::Test::Nginx::expand(
    slurp("$src/nginx/meetrec-http.conf.in"), \%vars,
    'nginx/meetrec-http.conf.in');
my @servers = map { $_->[0] } grep { $_->[1] eq 'upstream meetrec_pool' &&
    $_->[0] =~ /^server\b/ } directives($http);
is(scalar @servers, 2, 'the pool\'s upstream: the pool and the busy '
    . 'responder') or diag(join "\n", @servers);
is_deeply([ grep { !/ max_fails=0\b/ } @servers ], [],
    'both with max_fails=0');

# 5. nginx itself accepts the rendered configuration.
SKIP: {
	skip 'nginx not found', 1 unless Meetrec::Test::Nginx::binary();
	my $dir = tempdir('mr012XXXX', TMPDIR => 1, CLEANUP => 1);
	my $ng = Meetrec::Test::Nginx->new(prefix => "$dir/nginx",
	    logdir => $dir, port => free_port(), src => $src,
	    vars => { %vars, map { $_ => "$dir/nginx" } qw(PREFIX CONFDIR) });
	$ng->render;
	ok(eval { $ng->check }, 'nginx -t accepts it') or diag($@);
}

# 6. Debian's stock nginx, default site enabled, with meetrec added the
# two ways an operator does: the locations included in a server of the
# operator's, or the whole site; meetrec-http.conf in conf.d/ each time.
SKIP: {
	my @miss = Meetrec::Test::NginxStock::missing();
	skip "@miss", 4 if @miss;
	my @changed = Meetrec::Test::NginxStock::modified();
	diag("the system changed these stock files: @changed") if @changed;
	my $tmp = build_root() . '/t/tmp_check';
	mkdir $tmp;
	my $dir = tempdir('mr012XXXX', DIR => $tmp, CLEANUP => 1);
	my $conf = "$dir/meetrec";
	mkdir $conf;
	my %inst = (%vars, CONFDIR => $conf, LISTEN => 80);
	for my $t (@templates) {
		next if $t eq 'nginx-local.conf.in';
		spew("$conf/" . ($t =~ s/\.in\z//r), Meetrec::Test::Nginx::expand(
		    slurp("$src/nginx/$t"), \%inst, "nginx/$t"));
	}
	spew("$conf/meetrec-page.conf", slurp("$src/nginx/meetrec-page.conf"));
	for my $way ('locations', 'site') {
		my $st = Meetrec::Test::NginxStock->new(
		    root => "$dir/$way", port => free_port());
		symlink "$conf/meetrec-http.conf",
		    $st->etc . '/conf.d/meetrec.conf';
		my $server;
		if ($way eq 'site') {
			$server = slurp("$conf/meetrec-site.conf");
			$server =~ s/^(\s*listen\s+)80;/$1${\ $st->port};/m;
		} else {
			$server = "server {\n\tlisten ${\ $st->port};\n"
			    . "\tserver_name meet.example.com;\n"
			    . "\troot /var/www/html;\n"
			    . "\tlocation / {\n\t\ttry_files \$uri \$uri/ =404;\n"
			    . "\t}\n\tinclude $conf/meetrec-locations.conf;\n}\n";
		}
		spew($st->etc . '/sites-available/meetrec', $server);
		symlink $st->etc . '/sites-available/meetrec',
		    $st->etc . '/sites-enabled/meetrec';
		my $out = eval { $st->check };
		ok(defined $out, "stock nginx -t with meetrec's $way")
		    or diag($@);
		unlike($out // '', qr/\[warn\].*conflicting server name/,
		    'no server name conflicts with the default site');
	}
}

done_testing();
