#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The API's description, doc/openapi.yaml, against the code: it is what
# www/openapi.json serves; every route of fcgi/routes.def (and HEAD
# wherever GET) is in it, at the paths nginx sends to that route; every
# error code it lists for a status is one the C sources or nginx answer
# with that status, and every code the pool can answer is in it.  The
# answers themselves are checked against it by every test that starts a
# stack (Meetrec::Test::OpenAPI).
use strict;
use warnings;
use FindBin;
use Test::More;
use lib "$FindBin::Bin/lib";
use Meetrec::Test::Stack;
use Meetrec::Test::OpenAPI;
use Meetrec::Test::Util qw(slurp);

Meetrec::Test::Stack::skip_unless(Meetrec::Test::OpenAPI::missing(),
    eval { require YAML::XS; 1 } ? () :
    'YAML::XS not found (Debian: libyaml-libyaml-perl)');

my $top = "$FindBin::Bin/..";

# --------------------------------------------------------------------
# The served JSON is the YAML.
my $r = system("$top/scripts/openapi-json", '--check');
is($r, 0, 'www/openapi.json is doc/openapi.yaml as JSON');
my $oa = Meetrec::Test::OpenAPI->new;
my $doc = $oa->doc;
is($doc->{openapi}, '3.1.0', 'OpenAPI 3.1');
my ($version) = slurp("$top/configure.ac") =~ /AC_INIT\(\[meetrec\],\s*\[([^\]]+)\]/;
is($doc->{info}{version}, $version, "info.version is configure.ac's "
    . ($version // '(none)'));

# --------------------------------------------------------------------
# Its own consistency.

# Every $ref points at something.
sub pointer {
	my ($ref) = @_;
	return undef unless $ref =~ s{^#/}{};
	my $n = $doc;
	for my $k (map { s/~1/\//gr =~ s/~0/~/gr } split m{/}, $ref) {
		return undef unless ref $n eq 'HASH' && exists $n->{$k};
		$n = $n->{$k};
	}
	return $n;
}
my @dangling;
sub walk {
	my ($n, $f) = @_;
	if (ref $n eq 'HASH') {
		$f->($n);
		walk($n->{$_}, $f) for sort keys %$n;
	} elsif (ref $n eq 'ARRAY') {
		walk($_, $f) for @$n;
	}
}
walk($doc, sub {
	my ($h) = @_;
	push @dangling, $h->{'$ref'}
	    if exists $h->{'$ref'} && !defined pointer($h->{'$ref'});
});
is_deeply(\@dangling, [], 'every $ref resolves');

sub deref {
	my ($n) = @_;
	$n = pointer($n->{'$ref'}) while ref $n eq 'HASH' && $n->{'$ref'};
	return $n;
}

my (%opid, @ops);
for my $path (sort keys %{ $doc->{paths} }) {
	my $item = $doc->{paths}{$path};
	for my $m (grep { /^(?:get|head|post|put|delete|patch)$/ } keys %$item) {
		push @ops, [ $path, $m, $item->{$m} ];
		$opid{ $item->{$m}{operationId} // '' }++;
	}
}
ok(scalar @ops >= 30, scalar(@ops) . ' operations');
is_deeply([ grep { $_ eq '' || $opid{$_} > 1 } sort keys %opid ], [],
    'every operation has an operationId of its own');
for my $o (@ops) {
	my ($path, $m, $op) = @$o;
	my $name = "$m $path";
	my @st = keys %{ $op->{responses} // {} };
	ok(@st, "$name: has responses");
	my @nodesc = grep { !deref($op->{responses}{$_})->{description} } @st;
	is_deeply(\@nodesc, [], "$name: every response is described");
	# Path parameters: each one declared, as required.
	my %in = map { my $p = deref($_); $p->{in} eq 'path'
	    ? ($p->{name} => $p->{required}) : () }
	    @{ $doc->{paths}{$path}{parameters} // [] },
	    @{ $op->{parameters} // [] };
	for my $p ($path =~ /\{(\w+)\}/g) {
		ok($in{$p}, "$name: path parameter $p declared as required");
	}
	# A server that refuses unknown fields says so.
	if (my $rb = deref($op->{requestBody})) {
		for my $t (sort keys %{ $rb->{content} }) {
			next unless $t =~ /json/;
			next if $op->{operationId} eq 'livekitWebhook';
			my $s = deref($rb->{content}{$t}{schema});
			ok(defined $s->{additionalProperties}
			    && !$s->{additionalProperties},
			    "$name: $t body has additionalProperties: false");
		}
	}
	# Every error names its codes: Error, narrowed to an enum.
	for my $st (grep { $_ >= 400 } @st) {
		my $resp = deref($op->{responses}{$st});
		for my $t (sort keys %{ $resp->{content} // {} }) {
			next unless $t eq 'application/json';
			my $s = $resp->{content}{$t}{schema};
			my $codes = codes_of($s);
			ok($codes && @$codes, "$name $st: lists its codes");
		}
	}
}

# codes_of($schema) - the code enum of an error schema, or undef.
sub codes_of {
	my ($s) = @_;
	$s = deref($s);
	return undef unless ref $s->{allOf} eq 'ARRAY'
	    && ($s->{allOf}[0]{'$ref'} // '') eq '#/components/schemas/Error';
	return $s->{allOf}[1]{properties}{code}{enum};
}

# HEAD wherever GET, answering as GET does.
for my $path (sort keys %{ $doc->{paths} }) {
	my $item = $doc->{paths}{$path};
	next unless $item->{get} || $item->{head};
	ok($item->{get} && $item->{head}, "$path: HEAD with GET");
	next unless $item->{get} && $item->{head};
	for my $k (qw(responses parameters security)) {
		is_deeply($item->{head}{$k}, $item->{get}{$k},
		    "$path: HEAD has GET's $k");
	}
}

# The recording shapes agree on RecordingInfo's fields.
my $S = $doc->{components}{schemas};
for my $ext (qw(RecordingListItem RecordingDetails AdminRecording)) {
	my $base = $S->{RecordingInfo};
	is_deeply({ map { $_ => $S->{$ext}{properties}{$_} }
	    keys %{ $base->{properties} } }, $base->{properties},
	    "$ext has RecordingInfo's properties");
	my %req = map { $_ => 1 } @{ $S->{$ext}{required} };
	is_deeply([ grep { !$req{$_} } @{ $base->{required} } ], [],
	    "$ext requires what RecordingInfo does");
	is_deeply([ sort @{ $S->{$ext}{required} } ],
	    [ sort keys %{ $S->{$ext}{properties} } ],
	    "$ext requires every field it has");
}
is_deeply([ sort @{ $S->{RecordingInfo}{required} } ],
    [ sort keys %{ $S->{RecordingInfo}{properties} } ],
    'RecordingInfo requires every field it has');

# --------------------------------------------------------------------
# The routes: fcgi/routes.def and nginx's locations.

my $def = slurp("$top/fcgi/routes.def") =~ s{/\*.*?\*/}{}gsr;
my %c;
$c{"$1 $2"} = 1 while $def =~ /^MR_ROUTE\((\w+),\s*(\w+),/mg;
$c{"$_ HEAD"} = 1 for map { /^(\w+) GET$/ ? $1 : () } keys %c;
my (%d, @static);
for my $o (@ops) {
	my ($path, $m) = @$o;
	my $item = $doc->{paths}{$path};
	if (my $route = $item->{'x-meetrec-route'}) {
		$d{"$route " . uc $m} = 1;
	} else {
		ok($item->{'x-meetrec-static'}, "$path: a route, or static");
		push @static, $path;
	}
}
is_deeply([ sort keys %d ], [ sort keys %c ], 'every route and method of '
    . 'fcgi/routes.def is in the document (and HEAD wherever GET), and '
    . 'nothing else');

# nginx's locations in order, with their bodies (braces balanced).
my $conf = slurp("$top/nginx/meetrec-locations.conf.in") =~ s/#[^\n]*//gr;
my @loc;
while ($conf =~ /\blocation\s+(=|~|\^~)?\s*(\S+)\s*\{/g) {
	my ($mod, $pat, $start, $depth) = ($1 // '', $2, pos($conf), 1);
	my $i = $start;
	for (; $i < length $conf && $depth; $i++) {
		my $ch = substr($conf, $i, 1);
		$depth++ if $ch eq '{';
		$depth-- if $ch eq '}';
	}
	push @loc, { mod => $mod, pat => $pat,
	    body => substr($conf, $start, $i - $start - 1) };
	pos($conf) = $i;
}
ok(scalar @loc > 10, scalar(@loc) . ' nginx locations');

# The location nginx picks for a path: exact, then regexes in order,
# then the longest prefix (no ^~ prefixes are used here).
sub location {
	my ($path) = @_;
	for (grep { $_->{mod} eq '=' } @loc) {
		return $_ if $_->{pat} eq $path;
	}
	for (grep { $_->{mod} eq '~' } @loc) {
		return $_ if $path =~ /$_->{pat}/;
	}
	my ($best) = sort { length $b->{pat} <=> length $a->{pat} }
	    grep { $_->{mod} eq '' && $_->{pat} !~ /^@/
	    && index($path, $_->{pat}) == 0 } @loc;
	return $best;
}

my %sample = (id => '11111111-2222-4333-8444-555555555555',
    share_id => '66666666-7777-4888-8999-aaaaaaaaaaaa',
    token => 'T' x 43, delivery => 42);
my %reached;
for my $path (sort keys %{ $doc->{paths} }) {
	my $item = $doc->{paths}{$path};
	for my $p ($path, @{ $item->{'x-aliases'} // [] }) {
		(my $real = $p) =~ s/\{(\w+)\}/$sample{$1}/g;
		my $l = location($real);
		if (!$l) {
			fail("$p: some nginx location takes it");
			next;
		}
		if (my $route = $item->{'x-meetrec-route'}) {
			my ($named) = $l->{body} =~ /MEETREC_ROUTE\s+(\w+)/;
			is($named // '(none)', $route, "$p: nginx's location "
			    . "'$l->{pat}' passes route $route");
			$reached{$route}++;
		} else {
			like($l->{body}, qr/\balias\s+\@WWW_DIR\@\/openapi\.json;/,
			    "$p: nginx's location serves www/openapi.json");
			ok(-f "$top/www/openapi.json", 'which exists');
		}
	}
}
my %routes = map { /^(\w+) / ? ($1 => 1) : () } keys %c;
is_deeply([ sort grep { !$reached{$_} } keys %routes ], [],
    'every route is reached by a documented path');

# --------------------------------------------------------------------
# Error codes: the document's against the code's.

# (status, code) pairs the sources can answer with.
my (%pairs, %src_code);
for my $f (sort glob("$top/fcgi/*.c"), sort glob("$top/src/*.c")) {
	my $text = slurp($f);
	(my $short = $f) =~ s{^.*/((?:fcgi|src)/[^/]+)$}{$1};
	while ($text =~ /\bmr_err_set\(\s*[^,]+,\s*(\d{3}),\s*"(\w+)"/g) {
		$pairs{"$1 $2"}{$short}++;
		$src_code{$2}{$short}++;
	}
	pos($text) = 0;
	while ($text =~ /\brefuse\(\s*cx,\s*&?\w+,\s*(\d{3}),\s*"(\w+)"/g) {
		$pairs{"$1 $2"}{$short}++;
		$src_code{$2}{$short}++;
	}
}
my %nginx_pairs;
$nginx_pairs{"$1 $2"}++
    while $conf =~ /return\s+(\d{3})\s+'\{[^']*"code":"(\w+)"/g;
ok(scalar keys %nginx_pairs >= 7, 'nginx answers errors of its own: '
    . join(', ', sort keys %nginx_pairs));

my (%doc_pairs, %doc_codes);
for my $o (@ops) {
	my ($path, $m, $op) = @$o;
	for my $st (grep { $_ >= 400 } keys %{ $op->{responses} }) {
		my $resp = deref($op->{responses}{$st});
		my $codes = codes_of($resp->{content}{'application/json'}
		    {schema}) // [];
		for (@$codes) {
			$doc_pairs{"$st $_"}{"$m $path"}++;
			$doc_codes{$_}++;
		}
	}
}
# Answers to any path: 405 to a method it does not list.
for my $name (sort keys %{ $doc->{components}{responses} }) {
	my $resp = $doc->{components}{responses}{$name};
	my ($st) = ($resp->{'x-status'} // '') =~ /^(\d{3})$/ or next;
	for (@{ codes_of($resp->{content}{'application/json'}{schema})
	    // [] }) {
		$doc_pairs{"$st $_"}{"components/responses/$name"}++;
		$doc_codes{$_}++;
	}
}
for my $p (sort keys %doc_pairs) {
	ok($pairs{$p} || $nginx_pairs{$p}, "documented $p is answered by "
	    . join(', ', sort(keys %{ $pairs{$p} // {} }),
	    $nginx_pairs{$p} ? 'nginx' : ()))
	    or diag("documented for " . join(', ',
	    sort keys %{ $doc_pairs{$p} }));
}

# Codes the pool cannot answer, though the library it links has them.
my %not_api = (
	config => 'configuration errors stop a program at start',
	pid_file => 'the pid file, at start',
	io_error => 'reading and writing files: uploads, probes, '
	    . 'meetrec-admin store',
	invalid_key => 'storage keys are checked before they are stored; '
	    . 'downloads use the storage_path the reaper wrote',
	invalid_upload_id => 'meetrec-admin store put --upload-id',
	storage_verify => 'the reaper checks what it uploaded',
	storage_share => 'the reaper shares uploads with their owner',
	storage_config => 'S3 bucket checks of uploads; presigned URLs are '
	    . 'made without asking S3',
	unreadable_media => 'the reaper probes durations',
	upstream_timeout => 'livekit.c answers livekit_timeout instead',
	upstream_unreachable => 'livekit.c answers livekit_unreachable '
	    . 'instead',
	upstream_no_reply => 'livekit.c answers livekit_no_reply instead',
	livekit_error => 'an error answer that proves no refusal: Start '
	    . 'leaves the recording pending (202), Stop takes it as '
	    . 'LiveKit\'s word that the egress is ending or gone (202)',
	migrate => 'meetrec-admin migrate',
	spool_missing => 'the reaper',
	copy_unsupported => 'the reaper streams what it cannot copy inside '
	    . 'the storage',
	invalid_name => 'the orphans pass removes spool files by name',
	storage_changed => 'the reaper',
	room_busy => 'meetrec-admin room del',
	room_has_recordings => 'meetrec-admin room del',
	asr_bad_answer => 'the transcribe pass: transcript_error',
	asr_rate_limited => 'the transcribe pass: transcript_error',
	asr_too_large => 'the transcribe pass: transcript_error',
	asr_unavailable => 'the transcribe pass: transcript_error',
	read_unsupported => 'the transcribe pass reads stored recordings',
	stopping => 'the transcribe pass, told to stop, gives its work back',
);
my %cli_only = map { $_ => 1 } grep {
	my $c = $_;
	!grep { !m{^src/(?:admin|reap|db_migrate|reaper)} }
	    keys %{ $src_code{$c} };
} keys %src_code;
for my $code (sort keys %src_code) {
	next if $cli_only{$code} && !$doc_codes{$code};
	if ($not_api{$code}) {
		ok(!$doc_codes{$code}, "$code is not an API answer "
		    . "($not_api{$code})");
		next;
	}
	ok($doc_codes{$code}, "$code (" . join(', ',
	    sort keys %{ $src_code{$code} }) . ') is in the document');
}
for my $code (sort keys %not_api) {
	ok($src_code{$code}, "$code, listed as not an API answer, is still "
	    . 'in the sources');
}
for my $p (sort keys %nginx_pairs) {
	my ($st, $code) = split / /, $p;
	ok($doc_codes{$code}, "nginx's $code is in the document");
}

done_testing();
