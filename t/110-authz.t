#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Who may do what, endpoint by endpoint: the owner, another user of the
# same company, a user of another company, an admin, the room's host, and
# requests with no token, an expired token, a forged signature or a token
# issued in the future.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid jwt_hs256);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;

my ($co, $other_co) = (uuid(), uuid());
my ($host, $peer, $admin, $stranger, $viewer) = map { uuid() } 1 .. 5;
my $peer2 = uuid();	# given the recording, never asks
my %tok = (
	host => $s->token(user => $host, company => $co, username => 'host'),
	peer => $s->token(user => $peer, company => $co, username => 'peer'),
	admin => $s->token(user => $admin, company => $co, username => 'adm',
	    role => 'admin'),
	stranger => $s->token(user => $stranger, company => $other_co,
	    username => 'stranger'),
	other_admin => $s->token(user => uuid(), company => $other_co,
	    username => 'oadm', role => 'admin'),
	viewer => $s->token(user => $viewer, company => $co,
	    username => 'viewer'),
);
my $now = time;
my $secret = $s->jwt_secret;
# Hand-made tokens carry the configured iss and aud, so each fails for
# the one reason its name says.
my %std = (iss => $s->config->{jwt_issuer}, aud => $s->config->{jwt_audience},
    username => 'host');
$tok{expired} = jwt_hs256($secret, { %std, sub => $host, company_id => $co,
    exp => $now - 3600 });
$tok{forged} = jwt_hs256('not-the-secret', { %std, sub => $host,
    company_id => $co, exp => $now + 3600 });
$tok{none} = do {
	my $t = jwt_hs256($secret, { %std, sub => $host, company_id => $co,
	    exp => $now + 3600 }, { alg => 'none' });
	$t =~ s/[^.]+$//;
	$t;
};
$tok{no_company} = jwt_hs256($secret, { %std, sub => $host,
    exp => $now + 3600 });
$tok{bad_sub} = jwt_hs256($secret, { %std, sub => 'host', company_id => $co,
    exp => $now + 3600 });
$tok{no_exp} = jwt_hs256($secret, { %std, sub => $host, company_id => $co });
$tok{wrong_aud} = jwt_hs256($secret, { %std, aud => 'other', sub => $host,
    company_id => $co, exp => $now + 3600 });
$tok{wrong_iss} = jwt_hs256($secret, { %std, iss => 'evil', sub => $host,
    company_id => $co, exp => $now + 3600 });
# Issued an hour ahead: beyond any clock leeway.
$tok{future_iat} = jwt_hs256($secret, { %std, sub => $host,
    company_id => $co, iat => $now + 3600, exp => $now + 7200 });
my %why = (expired => qr/expired/, forged => qr/signature/,
    none => qr/algorithm/, no_company => qr/company/, bad_sub => qr/sub/,
    no_exp => qr/exp/, wrong_aud => qr/aud|audience/i,
    wrong_iss => qr/iss|issuer/i, future_iat => qr/issued in the future/);
# The same claims, correctly signed, are accepted: the tokens above fail
# only for what was changed.
is($s->api(GET => '/api/recordings/', token => jwt_hs256($secret, { %std,
    sub => $host, company_id => $co, exp => $now + 3600 }))->{status}, 200,
    'a hand-made token with the right claims is accepted');
# A clock a little ahead of ours, within jwt_leeway (30 s in the tests).
is($s->api(GET => '/api/recordings/', token => jwt_hs256($secret, { %std,
    sub => $host, company_id => $co, iat => $now + 10,
    exp => $now + 3600 }))->{status}, 200,
    'a token issued 10 s ahead (within the leeway) is accepted');

$s->room(code => 'authz', name => 'Authz', host => $host, company => $co);

# New share links from an address each: nginx limits them per address.
my $share_from = 0;
sub call {
	my ($who, $method, $path, $json) = @_;
	return $s->api($method => $path, ($who eq 'anon' ? () :
	    (token => $tok{$who})), ($json ? (json => $json) : ()),
	    ($method eq 'POST' && $path =~ m{/shares/?$} ?
	    (from => '127.0.1.' . ($share_from++ % 250 + 1)) : ()));
}

# Bad tokens are 401 with WWW-Authenticate everywhere.
for my $who (qw(anon expired forged none no_company bad_sub no_exp
    wrong_aud wrong_iss future_iat)) {
	for my $ep (['POST', '/api/recordings/start', { room_code => 'authz' }],
	    ['GET', '/api/recordings/'],
	    ['GET', '/api/recordings/' . uuid()],
	    ['GET', '/api/recordings/' . uuid() . '/status'],
	    ['POST', '/api/recordings/' . uuid() . '/stop'],
	    ['DELETE', '/api/recordings/' . uuid()],
	    ['GET', '/api/recordings/' . uuid() . '/download'],
	    ['PUT', '/api/recordings/' . uuid() . '/access',
	        { is_public => \1 }],
	    ['GET', '/api/recordings/' . uuid() . '/access-log'],
	    ['POST', '/api/recordings/' . uuid() . '/shares', {}],
	    ['GET', '/api/recordings/' . uuid() . '/shares'],
	    ['DELETE', '/api/recordings/' . uuid() . '/shares/' . uuid()],
	    ['GET', '/api/admin/recordings'],
	    ['POST', '/api/admin/recordings/' . uuid() . '/retry'],
	    ['POST', '/api/admin/recordings/' . uuid() . '/restore'],
	    ['GET', '/api/admin/stats']) {
		my $r = call($who, @$ep);
		is($r->{status}, 401, "$who: $ep->[0] $ep->[1] is 401");
		like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
		    "$who: WWW-Authenticate: Bearer");
		like($r->{json}{code} // '', qr/token/, "$who: code names "
		    . "the token problem");
		like($r->{json}{detail} // '', $why{$who}, "$who: detail says "
		    . "why") if $why{$who};
	}
}
my $n = $s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_meeting_recordings");
is($n, 0, 'no refused request wrote a row');

# Start: only the room's host or an admin of the room's company.
for my $who (qw(peer stranger other_admin)) {
	my $r = call($who, POST => '/api/recordings/start',
	    { room_code => 'authz' });
	is($r->{status}, $who eq 'peer' ? 403 : 404,
	    "start by $who refused");
}
my $r = call('admin', POST => '/api/recordings/start',
    { room_code => 'authz' });
is($r->{status}, 201, 'an admin of the company may start');
my $by_admin = $r->{json}{recording_id};
$r = call('host', POST => "/api/recordings/$by_admin/stop");
is($r->{status}, 202, 'the room host may stop what an admin started');
$s->standin(POST => '/_standin/wait', { idle => \1 });

$r = call('host', POST => '/api/recordings/start', { room_code => 'authz' });
is($r->{status}, 201, 'the host starts');
my $id = $r->{json}{recording_id};

# Reading: owner yes; peer no until shared; other company never.
my %want = (host => 200, admin => 200, peer => 403, viewer => 403,
    stranger => 404, other_admin => 404);
for my $who (sort keys %want) {
	for my $p ("/api/recordings/$id", "/api/recordings/$id/status") {
		is(call($who, GET => $p)->{status}, $want{$who},
		    "GET $p as $who");
	}
}
# The owner's endpoints: the owner or an admin of the company; a peer or
# a viewer is refused; another company does not see the recording.
my %owner = (host => 200, admin => 200, peer => 403, viewer => 403,
    stranger => 404, other_admin => 404);
for my $ep (['PUT', "/api/recordings/$id/access", { is_public => \0 }],
    ['GET', "/api/recordings/$id/access-log"],
    ['GET', "/api/recordings/$id/shares"],
    ['DELETE', "/api/recordings/$id/shares/" . uuid(), undef, 404],
    # Still recording: the owner is told it cannot be shared yet.
    ['POST', "/api/recordings/$id/shares", {}, 409]) {
	my ($m, $p, $json, $ok) = @$ep;
	for my $who (sort keys %owner) {
		my $want = $owner{$who} == 200 ? $ok // 200 : $owner{$who};
		is(call($who, $m, $p, $json)->{status}, $want,
		    "$m $p as $who: $want");
	}
}
# The admin API: admins only, and only their own company's recordings.
my %adm = (host => 403, peer => 403, viewer => 403, stranger => 403,
    admin => 200, other_admin => 200);
for my $who (sort keys %adm) {
	is(call($who, GET => '/api/admin/recordings')->{status}, $adm{$who},
	    "GET /api/admin/recordings as $who");
	is(call($who, GET => '/api/admin/stats')->{status}, $adm{$who},
	    "GET /api/admin/stats as $who");
	my $r2 = call($who, POST => "/api/admin/recordings/$id/retry");
	is($r2->{status}, $who eq 'admin' ? 409 : $who eq 'other_admin' ?
	    404 : 403, "retry as $who: $r2->{status}");
	$r2 = call($who, POST => "/api/admin/recordings/$id/restore");
	is($r2->{status}, $who =~ /admin/ ? 404 : 403,
	    "restore as $who: $r2->{status}");
}
is(scalar @{ call('other_admin', GET => '/api/admin/recordings')
    ->{json}{recordings} // [1] }, 0,
    "another company's admin lists none of ours");
my $list = call('peer', GET => '/api/recordings/');
is($list->{json}{total}, 0, 'peer lists none of it (mine)');
$list = call('stranger', GET => '/api/recordings/?scope=company');
is($list->{status}, 403, 'scope=company needs an admin');
$list = call('other_admin', GET => '/api/recordings/?scope=company');
is($list->{json}{total}, 0, 'another company\'s admin sees nothing');
$list = call('admin', GET => '/api/recordings/?scope=company');
is($list->{json}{total}, 2, 'the company admin sees both');

# Shared with one viewer.
is(call('host', PUT => "/api/recordings/$id/access",
    { allowed_viewers => [$viewer] })->{status}, 200,
    'the owner shares it with one viewer');
is(call('host', PUT => "/api/recordings/$id/access",
    { allowed_viewers => [$viewer, $peer2] })->{status}, 200,
    'the owner shares it with two viewers');
my $seen = call('viewer', GET => "/api/recordings/$id");
is($seen->{status}, 200, 'a listed viewer may read');
is_deeply($seen->{json}{allowed_viewers}, [$viewer],
    'a viewer sees itself in allowed_viewers, not who else was given it');
is_deeply([ sort @{ call('host', GET => "/api/recordings/$id")
    ->{json}{allowed_viewers} } ], [ sort $viewer, $peer2 ],
    'the owner sees every viewer');
is_deeply([ sort @{ call('admin', GET => "/api/recordings/$id")
    ->{json}{allowed_viewers} } ], [ sort $viewer, $peer2 ],
    'so does an admin of the company');
is(call('host', PUT => "/api/recordings/$id/access",
    { allowed_viewers => [$viewer] })->{status}, 200,
    'the owner keeps one viewer');
is(call('peer', GET => "/api/recordings/$id")->{status}, 403,
    'an unlisted peer still may not');
$list = call('viewer', GET => '/api/recordings/?scope=shared');
is($list->{json}{total}, 1, 'scope=shared shows it to the viewer');
is($list->{json}{recordings}[0]{id}, $id, 'the shared one');
is(call('host', PUT => "/api/recordings/$id/access", { is_public => \1 })
    ->{status}, 200, 'the owner makes it public to the company');
my $pub = call('peer', GET => "/api/recordings/$id");
is($pub->{status}, 200, 'public: anyone of the company may read');
is_deeply($pub->{json}{allowed_viewers}, [],
    'but not whom it was given to');
is(call('stranger', GET => "/api/recordings/$id")->{status}, 404,
    'public is not public to another company');

# Stop: the recorder, the room's host or an admin; not a viewer.
for my $who (qw(peer viewer stranger)) {
	my $r2 = call($who, POST => "/api/recordings/$id/stop");
	is($r2->{status}, $who eq 'stranger' ? 404 : 403,
	    "stop by $who refused");
}
is($s->pg->psql("SELECT status FROM project_management."
    . "pm_meeting_recordings WHERE id = '$id'"), 'recording',
    'refused stops changed nothing');
is(call('host', POST => "/api/recordings/$id/stop")->{status}, 202,
    'the recorder stops');
$s->standin(POST => '/_standin/wait', { idle => \1 });

# Delete: owner or admin only.
for my $who (qw(peer viewer stranger other_admin)) {
	my $r2 = call($who, DELETE => "/api/recordings/$id");
	ok($r2->{status} == 403 || $r2->{status} == 404,
	    "delete by $who refused ($r2->{status})");
}
is(call('admin', DELETE => "/api/recordings/$by_admin")->{status}, 200,
    'an admin deletes');
is(call('host', DELETE => "/api/recordings/$id")->{status}, 200,
    'the owner deletes');
is(call('admin', GET => "/api/recordings/$id")->{status}, 404,
    'gone for the admin too');

# Audit rows only for what was allowed.
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_recording_access_logs WHERE action = 'view' AND user_id = '$peer'"),
    1, 'one view row for the peer: only the allowed read');
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_recording_access_logs WHERE user_id = '$stranger' AND "
    . "action <> 'refused'"), 0,
    'none for the stranger but refusals');
cmp_ok($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_recording_access_logs WHERE user_id = '$stranger' AND "
    . "action = 'refused'"), '>', 0, '... which are audited');

$s->finish;
done_testing();
