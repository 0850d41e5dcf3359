#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Hostile and malformed input on every endpoint: each gets a 4xx JSON
# error naming the problem, no worker dies, no row is half-written.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use JSON::PP;
use Meetrec::Test::Util qw(uuid raw_http);

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

$s->finish;
done_testing();
