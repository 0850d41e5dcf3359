#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Requests nginx refuses itself, before or instead of meetrec, answer
# with the JSON error body every other answer has (SPEC section 3), the
# ones doc/openapi.yaml describes: a request line too long, an HTTP
# version or Transfer-Encoding nginx does not speak, TRACE, a byte range
# past the end of a file, and the error pages of a URI with an extension
# (which once took their Content-Type from it).
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid http raw_http spew json_decode);

Meetrec::Test::Stack::require_prereqs(qw(pg nginx binaries));
my $s = Meetrec::Test::Stack->new(no_standin => 1);
my $user = uuid();
my $tok = $s->token(user => $user);

# answer($raw) - status, Content-Type and the decoded body.
sub answer {
	my ($raw) = @_;
	my ($st) = $raw =~ m{^HTTP/1\.\d (\d{3})};
	my ($ct) = $raw =~ /\r\nContent-Type: ([^\r\n]*)/i;
	my ($body) = $raw =~ /\r\n\r\n(.*)\z/s;
	return ($st // 0, $ct // '', eval { json_decode($body // '') } // {});
}

sub refused {
	my ($name, $raw, $status, $code) = @_;
	my ($st, $ct, $json) = answer($raw);
	is($st, $status, "$name: $status");
	is($ct, 'application/json; charset=utf-8', "$name: JSON");
	is($json->{code}, $code, "$name: code $code");
	ok(length($json->{detail} // '') > 10, "$name: a detail");
}

my $port = $s->port;
refused('a request line of 20000 bytes', raw_http($port, 'GET /api/recordings/?'
    . ('a' x 20000) . " HTTP/1.0\r\n\r\n"), 414, 'uri_too_long');
my $r = http(GET => $s->url('/api/recordings/?room_code=' . ('a' x 5000)),
    { headers => { Authorization => "Bearer $tok" } });
is($r->{status}, 414, "a query over meetrec's 4096 bytes: 414");
is($r->{json}{code}, 'query_too_long', 'query_too_long');
refused('HTTP/2.0 in a request line', raw_http($port,
    "GET /api/healthz HTTP/2.0\r\nHost: x\r\n\r\n"), 505,
    'http_version_not_supported');
refused('Transfer-Encoding: gzip', raw_http($port, "POST /api/healthz "
    . "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: "
    . "close\r\n\r\n"), 501, 'unsupported_transfer_encoding');
refused('TRACE', raw_http($port, "TRACE /api/healthz HTTP/1.0\r\n\r\n"),
    405, 'method_not_allowed');
refused('a request line that is not one', raw_http($port,
    "GARBAGE\r\n\r\n"), 400, 'bad_request');
refused('POST to the recordings page', raw_http($port, "POST /index.html "
    . "HTTP/1.0\r\nContent-Length: 0\r\n\r\n"), 405, 'method_not_allowed');
refused('POST to /api/openapi.json', raw_http($port, "POST "
    . "/api/openapi.json HTTP/1.0\r\nContent-Length: 0\r\n\r\n"), 405,
    'method_not_allowed');
like(raw_http($port, "POST /api/openapi.json HTTP/1.0\r\nContent-Length: "
    . "0\r\n\r\n"), qr/\r\nAllow: GET, HEAD\r\n/, 'with Allow: GET, HEAD');

# Error pages whatever the URI's extension.
for my $p ('/api/x.mp4', '/api/x.html', '/api/x.json', '/nothing.js') {
	$r = http(GET => $s->url($p));
	is($r->{status}, 404, "$p: 404");
	is($r->{headers}{'content-type'}, 'application/json; charset=utf-8',
	    "$p: as JSON");
	is($r->{json}{code}, 'not_found', "$p: not_found");
}

# A range past the end of a file nginx sends for meetrec.
my $T = 'project_management.pm_meeting_recordings';
my $room = $s->meeting('r', host => $user);
my $id = $s->pg->psql("INSERT INTO $T (room_code, meeting_id, company_id, "
    . "recorded_by, status, storage_type, storage_path, file_size_bytes) "
    . "VALUES ('r', '$room', '" . $s->company . "', '$user', 'completed', "
    . "'local', 'r/x.mp4', 100) RETURNING id");
mkdir $s->config('storage_local_dir') . '/r';
spew($s->config('storage_local_dir') . '/r/x.mp4', 'x' x 100);
$r = $s->api(GET => "/recordings/$id/download", token => $tok,
    headers => { Range => 'bytes=10-19' });
is($r->{status}, 206, 'a range in the file: 206');
$r = $s->api(GET => "/recordings/$id/download", token => $tok,
    headers => { Range => 'bytes=500-' });
is($r->{status}, 416, 'a range past its end: 416');
is($r->{json}{code}, 'range_not_satisfiable', 'range_not_satisfiable');
$r = $s->api(GET => "/recordings/$id/download", token => $tok,
    headers => { Range => 'bytes=0-0,5-9' });
is($r->{status}, 416, 'a list of ranges: 416');
is($r->{json}{code}, 'multiple_ranges', 'multiple_ranges (meetrec)');

$s->finish;
done_testing();
