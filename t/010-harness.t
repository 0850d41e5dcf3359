# SPDX-License-Identifier: ISC
#
# 010-harness.t - the test harness itself: one whole stack comes up
# (PostgreSQL, the LiveKit stand-in, meetrec-fcgi, nginx), each part
# answers, the helpers work, and finish() tears it down with its checks.
# If this file fails, every other .t will too: look here first.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(jwt_hs256 b64url_decode json_decode uuid
    free_port port_open);

Meetrec::Test::Stack::require_prereqs();

# Pure helpers first: they need no server.
{
	my $u = uuid();
	like($u, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
	    'uuid() is a version 4 UUID');
	isnt(uuid(), $u, 'uuid() is random');

	# RFC 7515 appendix A.1 would need its exact bytes; check the
	# shape and that the signature is the HMAC of the signing input.
	my $t = jwt_hs256('secret', { sub => 'x', exp => 1 });
	my ($h, $p, $s) = split /\./, $t, -1;
	is_deeply(json_decode(b64url_decode($h)), { alg => 'HS256', typ => 'JWT' },
	    'jwt_hs256 header');
	is_deeply(json_decode(b64url_decode($p)), { sub => 'x', exp => 1 },
	    'jwt_hs256 claims');
	is(length(b64url_decode($s)), 32, 'jwt_hs256 signature is 32 bytes');
	unlike($t, qr/[=+\/]/, 'jwt_hs256 is base64url without padding');
	like(jwt_hs256('k', {}, { alg => 'none' }), qr/\.\z/,
	    'alg none gives an empty signature');
	ok(!port_open(free_port()), 'free_port() gives a closed port');
	my %p;
	$p{ free_port() }++ for 1 .. 200;
	is(scalar keys %p, 200, 'free_port() never gives a port twice');
}

my $s = Meetrec::Test::Stack->new(workers => 2, max_requests => 50);

# PostgreSQL
is($s->pg->psql('select 1'), '1', 'psql select 1');
like($s->pg->conninfo, qr/^host=\S+ dbname=meetrec user=meetrec$/, 'conninfo');
like($s->config('database_url'), qr/^host=/, 'database_url in the config');
is($s->pg->psql("select count(*) > 0 from information_schema.schemata "
    . "where schema_name = 'project_management'"), 't',
    'migrate created schema project_management');

# The config file
my $mode = (stat $s->conf_path)[2] & 07777;
is(sprintf('%04o', $mode), '0600', 'meetrec.conf is mode 0600');

# The pool
ok(-S $s->config('fcgi_socket'), 'the pool socket exists');
ok(kill(0, $s->pool_pid), 'the pool master runs');
my @w = $s->wait_workers(2);
is(scalar @w, 2, 'two workers are children of the master');

# nginx + pool
my $r = $s->api(GET => '/healthz');
is($r->{status}, 200, 'GET /api/healthz answers 200')
    or diag("$r->{status} $r->{body}");
is(ref $r->{json} eq 'HASH' && $r->{json}{status}, 'ok',
    'healthz says status ok');
like($r->{headers}{'content-type'} // '', qr{^application/json},
    'healthz is JSON');

$r = $s->api(GET => '/nope');
is($r->{status}, 404, 'GET /api/nope is 404');
ok($r->{json} && defined $r->{json}{code} && defined $r->{json}{detail},
    '404 body is JSON with code and detail') or diag($r->{body});

is($s->url('/api/healthz'), 'http://127.0.0.1:' . $s->port . '/api/healthz',
    'url()');

# The stand-in
$r = $s->standin(GET => 'egresses');
is($r->{status}, 200, 'stand-in answers GET /_standin/egresses');
is_deeply($r->{json}, { egresses => [] }, 'no egresses yet');
ok($s->standin_idle->{idle}, 'stand-in is idle');

# meetrec-admin helpers
my $host = uuid();
my $tok = $s->token(user => $host, username => 'host');
like($tok, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'token() gives a JWT');
my $claims = json_decode(b64url_decode((split /\./, $tok)[1]));
is($claims->{sub}, $host, 'the token is for our user');
my $room = $s->room(code => 'harness', host => $host);
like($room, qr/^[0-9a-f-]{36}$/, 'room() gives an id');
like($s->admin('room', 'list'), qr/\bharness\b/, 'room list shows it');

# A forged token with the stack's secret looks like meetrec-admin's.
my $f = json_decode(b64url_decode((split /\./, $s->jwt(sub => $host))[1]));
is($f->{iss}, $claims->{iss}, 'jwt() uses the configured issuer');

# The log helper
like($s->log('pool'), qr/pool started/, 'the pool log is readable');

$s->finish;
ok(!-e $s->dir || $ENV{MEETREC_TEST_LEAVE} || !Test::More->builder->is_passing,
    'the test directory is removed after a passing run');
ok(!kill(0, $s->pool_pid), 'the pool is gone after finish');

done_testing;
