#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Hostile and malformed input on every endpoint: each gets a 4xx JSON
# error naming the problem, no worker dies, no row is half-written.
use strict;
use warnings;
use Test::More;
use FindBin;
use Meetrec::Test::Stack;
use JSON::PP;
use Meetrec::Test::Util qw(http uuid raw_http);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 2, max_requests => 1000);

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'safe', name => 'Safe', host => $host, company => $co);
my @workers = sort { $a <=> $b } $s->worker_pids;

sub check {
	my ($name, $r, $status, $code) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($r->{status}, $status, "$name: $status") or diag($r->{body});
	like($r->{headers}{'content-type'} // '', qr{^application/json},
	    "$name: JSON error");
	ok(defined $r->{json}{detail} && length $r->{json}{detail},
	    "$name: has detail");
	is($r->{json}{code}, $code, "$name: code $code") if defined $code;
}

my $start = '/api/recordings/start';
my @bodies = (
	['empty body', '', 400, 'invalid_json'],
	['not JSON', 'hello', 400, 'invalid_json'],
	['truncated', '{"room_code":"safe"', 400, 'invalid_json'],
	['trailing garbage', '{"room_code":"safe"}x', 400, 'invalid_json'],
	['two objects', '{"room_code":"safe"}{}', 400, 'invalid_json'],
	['single quotes', "{'room_code':'safe'}", 400, 'invalid_json'],
	['array', '["safe"]', 422, 'invalid_body'],
	['string', '"safe"', 422, 'invalid_body'],
	['null', 'null', 422, undef],
	['deep nesting', '{"room_code":' . ('[' x 5000) . (']' x 5000) . '}',
	    400, 'invalid_json'],
	['unknown field', '{"room_code":"safe","admin":true}', 422,
	    'unknown_field'],
	['room_code number', '{"room_code":42}', 422, 'invalid_field'],
	['room_code null', '{"room_code":null}', 422, 'missing_field'],
	['missing room_code', '{}', 422, 'missing_field'],
	['room_code too long', '{"room_code":"' . ('a' x 51) . '"}', 422,
	    'invalid_field'],
	['room_code huge', '{"room_code":"' . ('a' x 60000) . '"}', 422,
	    'invalid_field'],
	['room_code bad chars', '{"room_code":"a b/../c"}', 422,
	    'invalid_field'],
	['room_code NUL', '{"room_code":"safe\u0000x"}', 422,
	    'invalid_field'],
	['audio_only string', '{"room_code":"safe","audio_only":"yes"}', 422,
	    'invalid_field'],
	['layout unknown', '{"room_code":"safe","layout":"mosaic"}', 422,
	    'invalid_field'],
	['layout object', '{"room_code":"safe","layout":{}}', 422,
	    'invalid_field'],
	['bad UTF-8', qq({"room_code":"s\xffafe"}), 400, 'invalid_json'],
	['NaN', '{"room_code":"safe","audio_only":NaN}', 400, 'invalid_json'],
);
for my $b (@bodies) {
	my ($name, $raw, $st, $code) = @$b;
	check($name, $s->api(POST => $start, token => $tok, raw => $raw,
	    headers => { 'Content-Type' => 'application/json' }), $st, $code);
}

# Bodies over the limit: meetrec's own cap, then nginx's.
check('body over body_max', $s->api(POST => $start, token => $tok,
    raw => '{"room_code":"' . ('a' x 70000) . '"}'), 413, 'body_too_large');
check('body over nginx limit', $s->api(POST => $start, token => $tok,
    raw => 'x' x (2 * 1024 * 1024)), 413, 'body_too_large');
check('webhook over body_max', $s->api(POST => '/api/livekit/webhook',
    raw => 'x' x 70000, headers => { Authorization => 'x.y.z' }), 413,
    'body_too_large');

# Bad ids and query strings.
# A NUL in the path is refused by nginx's request parser, before any
# location applies; its error_page answers in JSON all the same.
check('a NUL in the path', $s->api(GET => '/api/recordings/%00',
    token => $tok), 400, 'bad_request');
for my $id ('not-a-uuid', '1' x 36, '00000000-0000-0000-0000-00000000000g',
    'x' x 500, '%41%42') {
	check("GET id '$id'", $s->api(GET => "/api/recordings/$id",
	    token => $tok), 400, 'invalid_id');
	check("stop id '$id'", $s->api(POST => "/api/recordings/$id/stop",
	    token => $tok), 400, 'invalid_id');
	check("DELETE id '$id'", $s->api(DELETE => "/api/recordings/$id",
	    token => $tok), 400, 'invalid_id');
}
my @queries = (
	['limit=0', 'invalid_query'], ['limit=201', 'invalid_query'],
	['limit=-1', 'invalid_query'], ['limit=abc', 'invalid_query'],
	['limit=1e3', 'invalid_query'], ['offset=-5', 'invalid_query'],
	['status=deleted', 'invalid_query'], ['scope=everyone', 'invalid_query'],
	['room_code=a%20b', 'invalid_query'], ['cursor=garbage', 'invalid_cursor'],
	['cursor=' . ('A' x 300), 'invalid_cursor'],
	['limit=5&limit=6', 'invalid_query'], ['bogus=1', 'invalid_query'],
	['room_code=%zz', 'invalid_query'], ['room_code=%00', 'invalid_query'],
);
for my $q (@queries) {
	check("list ?$q->[0]", $s->api(GET => "/api/recordings/?$q->[0]",
	    token => $tok), 400, $q->[1]);
}

# Wrong methods and paths.
check('GET on start', $s->api(GET => $start, token => $tok), 405,
    'method_not_allowed');
check('PUT on a recording', $s->api(PUT => '/api/recordings/' . uuid(),
    token => $tok, raw => '{}'), 405, 'method_not_allowed');
check('unknown path', $s->api(GET => '/api/nope', token => $tok), 404,
    'not_found');

# Headers that are not tokens.
for my $h ('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a.b',
    'Bearer ' . ('a' x 9000), "Bearer \x01\x02.\x7f.\x80\xff", 'Bearer ...') {
	# HTTP::Tiny will not send control bytes: write the request raw.
	my $raw = raw_http($s->port, "GET /api/recordings/ HTTP/1.0\r\n"
	    . "Host: localhost\r\nAuthorization: $h\r\n\r\n");
	my ($st) = $raw =~ m{^HTTP/1\.\d (\d+)};
	my ($body) = $raw =~ /\r\n\r\n(.*)\z/s;
	my $json = eval { JSON::PP->new->decode($body) } // {};
	my $name = 'Authorization ' . substr($h, 0, 20) =~ s/[^ -~]/?/gr;
	is($st, 401, "$name: 401");
	like($json->{code} // '', qr/token/, "$name: code names the token");
}

# Content-Length lies are handled by nginx; a short body never reaches us.

# Nothing crashed, nothing was written, the service still works.
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_meeting_recordings"), 0, 'no row was written');
is_deeply([sort { $a <=> $b } $s->worker_pids], \@workers,
    'the same workers are alive: none crashed');
my $r = $s->api(POST => $start, token => $tok, json => { room_code => 'safe' });
is($r->{status}, 201, 'a good request still works');

# The watching and sharing endpoints.  A completed recording to aim at
# (set in the database: what matters here is the input handling).
my $rid = uuid();
my $safe = $s->meeting('safe');
$s->pg->psql("INSERT INTO project_management.pm_meeting_recordings "
    . "(id, room_code, meeting_id, company_id, recorded_by, status, "
    . "storage_type, storage_path, file_size_bytes) VALUES ('$rid', 'safe', "
    . "'$safe', '$co', '$host', 'completed', 'local', 'safe/x.mp4', 10)");
my %hostile = (
	'empty body' => ['', 400, 'invalid_json'],
	'not JSON' => ['hello', 400, 'invalid_json'],
	'array' => ['[1]', 422, 'invalid_body'],
	'deep nesting' => ['{"a":' . ('[' x 5000) . (']' x 5000) . '}', 400,
	    'invalid_json'],
	'bad UTF-8' => [qq({"password":"\xff"}), 400, 'invalid_json'],
	'unknown field' => ['{"owner":"x"}', 422, 'unknown_field'],
	'huge' => ['{"password":"' . ('a' x 60000) . '"}', 422, undef],
);
my %access = (%hostile,
	'is_public string' => ['{"is_public":"true"}', 422, 'invalid_field'],
	'viewers object' => ['{"allowed_viewers":{}}', 422, 'invalid_field'],
	'viewer bad' => ['{"allowed_viewers":["x"]}', 422, 'invalid_field'],
	'viewer NUL' => ['{"allowed_viewers":["\u0000"]}', 422,
	    'invalid_field'],
);
my %share = (%hostile,
	'expires_in string' => ['{"expires_in":"60"}', 422, 'invalid_field'],
	'expires_in huge' => ['{"expires_in":1e300}', 422, 'invalid_field'],
	'expires_in negative' => ['{"expires_in":-60}', 422, 'invalid_field'],
	'password number' => ['{"password":1}', 422, 'invalid_field'],
	'password NUL' => ['{"password":"a\u0000b"}', 422, 'invalid_field'],
);
for my $k (sort keys %access) {
	my ($raw, $st, $code) = @{ $access{$k} };
	$st = 422, $code = 'unknown_field' if $k eq 'huge';
	check("access: $k", $s->api(PUT => "/api/recordings/$rid/access",
	    token => $tok, raw => $raw,
	    headers => { 'Content-Type' => 'application/json' }), $st, $code);
}
# Each from an address of its own: nginx limits share creation per address.
my $share_from = 1;
for my $k (sort keys %share) {
	my ($raw, $st, $code) = @{ $share{$k} };
	check("share: $k", $s->api(POST => "/api/recordings/$rid/shares",
	    from => '127.0.2.' . $share_from++, token => $tok, raw => $raw,
	    headers => { 'Content-Type' => 'application/json' }), $st, $code);
}
check('access over body_max', $s->api(PUT => "/api/recordings/$rid/access",
    token => $tok, raw => '{"allowed_viewers":["' . ('a' x 70000) . '"]}'),
    413, 'body_too_large');
for my $id ('not-a-uuid', 'x' x 500, '%41%42') {
	for my $p ("/api/recordings/$id/access", "/api/recordings/$id/shares",
	    "/api/recordings/$id/access-log", "/api/recordings/$id/download") {
		my $m = $p =~ /access$/ ? 'PUT' : 'GET';
		check("$m $p", $s->api($m => $p, token => $tok,
		    ($m eq 'PUT' ? (json => { is_public => \0 }) : ())), 400,
		    'invalid_id');
	}
	check("revoke share '$id'", $s->api(DELETE =>
	    "/api/recordings/$rid/shares/$id", token => $tok), 400,
	    'invalid_id');
}
for my $q ('limit=0', 'limit=999', 'cursor=%zz', 'cursor=' . ('A' x 300),
    'limit=1&limit=2', 'x=1') {
	my $r2 = $s->api(GET => "/api/recordings/$rid/access-log?$q",
	    token => $tok);
	check("access-log ?$q", $r2, 400, undef);
}
for my $q ('expires=1&user=x&sig=y', 'expires=-1&user=' . $host . '&sig='
    . ('A' x 43), 'expires=99999999999999999999&user=' . $host . '&sig='
    . ('A' x 43), 'expires=1&user=' . $host . '&admin=2&sig=' . ('A' x 43),
    'sig=%zz', 'sig=' . ('A' x 5000)) {
	my $r2 = $s->api(GET => "/api/recordings/$rid/download?$q");
	ok($r2->{status} == 400 || $r2->{status} == 403 || $r2->{status} == 414,
	    "download ?" . substr($q, 0, 40) . ": $r2->{status}");
	like($r2->{headers}{'content-type'} // '', qr{^application/json},
	    '... a JSON error');
}
# A list of byte ranges, however long, is refused before anything is
# served; a user agent that is long or not UTF-8 is stored cut and
# cleaned, never refused by the database.
for my $range ('bytes=0-0,0-0', 'bytes=' . join(',', map { "$_-$_" }
    0 .. 1500), 'bytes=,', ',') {
	check('Range ' . substr($range, 0, 16), $s->api(GET =>
	    "/api/recordings/$rid/download", token => $tok,
	    headers => { Range => $range }), 416, 'multiple_ranges');
}
# A viewer of its own: a view is audited once per viewing.
my $vtok = $s->token(user => uuid(), company => $co, username => 'agent',
    role => 'admin');
my $raw = raw_http($s->port, "GET /api/recordings/$rid HTTP/1.0\r\n"
    . "Host: localhost\r\nAuthorization: Bearer $vtok\r\nUser-Agent: "
    . "\xff\x01" . ("\xe9" x 12000) . "\r\n\r\n");
like($raw // '', qr{^HTTP/1\.\d 200}, 'details with a long non-UTF-8 agent');
is($s->pg->psql("SELECT octet_length(user_agent) || ' ' || "
    . "left(user_agent, 3) FROM project_management.pm_recording_access_logs "
    . "WHERE recording_id = '$rid' AND action = 'view' ORDER BY accessed_at "
    . "DESC LIMIT 1"), "512 ?\x01?", '... is stored as 512 bytes of UTF-8');

$r = $s->api(POST => "/api/recordings/$rid/shares", token => $tok,
    from => '127.0.2.' . $share_from++,
    json => { password => 'pw' });
is($r->{status}, 201, 'a password link to try hostile bodies on');
my $purl = $r->{json}{url};
my $from = 2;
for my $k (sort keys %hostile) {
	my ($raw, $st, $code) = @{ $hostile{$k} };
	my $r2 = http(POST => $purl, { raw => $raw,
	    headers => { 'Content-Type' => 'application/json' },
	    from => '127.0.1.' . $from++ });
	ok($r2->{status} >= 400 && $r2->{status} < 500,
	    "share password, $k: $r2->{status}");
	ok(defined $r2->{json}{code}, '... a JSON error with a code');
}
for my $form ('password=%zz', 'password=a%00b', 'password=a&password=b',
    'pass=x', '', '=&=&&') {
	my $r2 = http(POST => $purl, { raw => $form, headers =>
	    { 'Content-Type' => 'application/x-www-form-urlencoded' },
	    from => '127.0.1.' . $from++ });
	ok($r2->{status} >= 400 && $r2->{status} < 500,
	    "share form '$form': $r2->{status}");
}
for my $t ('%00', 'a' x 5000, '..%2f..%2fetc', ('A' x 43) . '/file') {
	my $r2 = http(GET => $s->url("/r/$t"));
	ok($r2->{status} >= 400 && $r2->{status} < 500,
	    "share token '" . substr($t, 0, 20) . "': $r2->{status}");
	like($r2->{headers}{'content-type'} // '', qr{^application/json},
	    '... a JSON error');
}
is($s->pg->psql("SELECT failed_attempts FROM project_management."
    . "pm_recording_shares"), 0, 'malformed tries are not password tries');
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_recording_shares"), 1, 'no share row from a refused request');
# Every documented endpoint that takes a token: a forged one (signed
# with another secret), an expired one and, where there is a body, one
# over body_max, each a JSON 4xx before anything is read or written.
my $doc = JSON::PP->new->decode(do {
	local $/;
	open(my $fh, '<', "$FindBin::Bin/../www/openapi.json") or die $!;
	<$fh>
});
my %sample = (id => uuid(), share_id => uuid(), token => 'T' x 43,
    delivery => 7);
my $forged = $s->jwt(sub => $host, company_id => $co, _secret => 'x' x 40);
my $expired = $s->jwt(sub => $host, company_id => $co, exp => time - 3600,
    iat => time - 7200);
my $rows = $s->pg->psql("SELECT (SELECT count(*) FROM project_management."
    . "pm_meeting_recordings) || '/' || (SELECT count(*) FROM "
    . "project_management.pm_recording_access_logs)");
for my $path (sort keys %{ $doc->{paths} }) {
	next unless $path =~ m{^/api/};
	(my $real = $path) =~ s/\{(\w+)\}/$sample{$1}/g;
	for my $m (qw(get post put patch delete)) {
		my $op = $doc->{paths}{$path}{$m} or next;
		my $sec = $op->{security} // $doc->{security};
		next unless grep { exists $_->{bearerAuth} } @$sec;
		next if grep { !%$_ } @$sec;	# a token is optional here
		my $body = $m =~ /^(?:post|put|patch)$/ ? '{}' : undef;
		for my $t ([ forged => $forged ], [ expired => $expired ]) {
			my $r = $s->api(uc $m => $real, token => $t->[1],
			    defined $body ? (raw => $body, headers =>
			    { 'Content-Type' => 'application/json' }) : ());
			check(uc($m) . " $path, $t->[0] token", $r, 401,
			    'invalid_token');
		}
		next unless defined $body;
		check(uc($m) . " $path, body over body_max", $s->api(uc $m =>
		    $real, token => $tok, raw => '{"x":"' . ('a' x 70000)
		    . '"}', headers => { 'Content-Type' =>
		    'application/json' }), 413, 'body_too_large');
	}
}
is($s->pg->psql("SELECT (SELECT count(*) FROM project_management."
    . "pm_meeting_recordings) || '/' || (SELECT count(*) FROM "
    . "project_management.pm_recording_access_logs)"), $rows,
    'none of them wrote a row');

is_deeply([sort { $a <=> $b } $s->worker_pids], \@workers,
    'still the same workers: none crashed');

$s->finish;
done_testing();
