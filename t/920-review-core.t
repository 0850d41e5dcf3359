#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Review findings on the request path and the reaper: each block shows
# one defect that was fixed, and fails without the fix.
use strict;
use warnings;
use Test::More;
use MIME::Base64 qw(encode_base64url);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');

# 1. A cursor shaped like ours but naming an impossible time is the
# client's mistake (400), not a database error (500).
for my $ts ('2026-13-45T99:99:99.000000Z', '2026-02-31T10:00:00.000000Z',
    '0000-00-00T00:00:00.000000Z', '2026-01-01T10:00:00.1-:234Z',
    '2026-1-01T10:00:00.0000000Z') {
	my $c = encode_base64url("$ts," . uuid());
	my $r = $s->api(GET => "/api/recordings/?cursor=$c", token => $tok);
	is($r->{status}, 400, "cursor $ts: 400") or diag($r->{body});
	is($r->{json}{code}, 'invalid_cursor', "cursor $ts: invalid_cursor");
}
# A cursor the API gave out still works.
{
	my $c = encode_base64url('2026-11-27T07:00:00.123456Z,' . uuid());
	my $r = $s->api(GET => "/api/recordings/?cursor=$c", token => $tok);
	is($r->{status}, 200, 'a well-formed cursor is accepted')
	    or diag($r->{body});
}

# 2. UUIDs in token claims are case-insensitive (RFC 4122 3): a user whose
# ERP writes them in upper case is the same user, in the same company.
{
	my ($uco, $uhost) = (uuid(), uuid());
	$s->room(code => 'upper', name => 'Upper', host => $uhost,
	    company => $uco);
	my $utok = $s->jwt(sub => uc $uhost, company_id => uc $uco,
	    username => 'upper');
	my $r = $s->api(POST => '/api/recordings/start', token => $utok,
	    json => { room_code => 'upper' });
	is($r->{status}, 201, 'upper-case sub and company_id: host may start')
	    or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin_idle;
	$r = $s->api(GET => "/api/recordings/$id", token => $utok);
	is($r->{status}, 200, 'upper-case claims: owner sees the recording')
	    or diag($r->{body});
	$r = $s->api(POST => "/api/recordings/$id/stop", token => $utok);
	is($r->{status}, 202, 'upper-case claims: owner may stop')
	    or diag($r->{body});
	$s->standin_idle;
}

$s->finish;
done_testing();
