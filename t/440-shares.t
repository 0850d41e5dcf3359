#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Watching and sharing: signed download links, who may view (PUT access,
# scope=shared), the audit trail, and share links with expiry,
# revocation, passwords and the slowing of password guesses.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex hmac_sha256);
use Encode qw(encode);
use POSIX qw(_exit);
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp http b64url raw_http);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 4,
    conf => { audit_dedupe_seconds => 300, share_max_active => 5 });
my ($co, $other_co) = (uuid(), uuid());
my ($host, $viewer, $peer, $admin) = map { uuid() } 1 .. 4;
my %tok = (
	host => $s->token(user => $host, company => $co, username => 'host',
	    email => 'host@example.com'),
	viewer => $s->token(user => $viewer, company => $co,
	    username => 'viewer', email => 'viewer@example.com'),
	peer => $s->token(user => $peer, company => $co, username => 'peer'),
	admin => $s->token(user => $admin, company => $co, username => 'adm',
	    role => 'admin'),
	stranger => $s->token(user => uuid(), company => $other_co,
	    username => 'stranger'),
);
my $public = $s->config->{public_url};

# New share links come from an address each (127.0.1.x), so that nginx's
# limit on creating them per address refuses none of the tests; the limit
# itself is tested with an address of its own.
my $share_from = 0;
sub api {
	my ($who, $method, $path, %a) = @_;
	$a{from} //= '127.0.1.' . ($share_from++ % 250 + 1)
	    if $method eq 'POST' && $path =~ m{/shares/?$};
	return $s->api($method => $path,
	    ($who eq 'anon' ? () : (token => $tok{$who})), %a);
}

sub sql { return $s->pg->psql($_[0]) }

sub audit {
	my ($id, $action) = @_;
	return sql("SELECT count(*) FROM project_management."
	    . "pm_recording_access_logs WHERE recording_id = '$id'"
	    . ($action ? " AND action = '$action'" : ''));
}

# A viewing's audit mark runs out, as when audit_dedupe_seconds pass.
sub marks_run_out {
	sql("UPDATE project_management.pm_recording_audit_marks SET until = "
	    . "now() - interval '1 second' WHERE recording_id = '$_[0]'");
}

# at_once($n, $sub) - $n children run $sub at the same moment (each
# request on its own connection), each given its number, 1 .. $n;
# returns what each returned.
sub at_once {
	my ($n, $code) = @_;
	my $dir = $s->dir;
	pipe(my $go_r, my $go_w) or die "pipe: $!";
	my @kids;
	for my $i (1 .. $n) {
		unlink "$dir/at_once.$i";
		my $pid = fork() // die "fork: $!";
		if ($pid == 0) {
			close $go_w;
			sysread($go_r, my $x, 1);
			my $v = $code->($i);
			open(my $fh, '>', "$dir/at_once.$i") or _exit(1);
			print $fh $v;
			close $fh;
			_exit(0);
		}
		push @kids, $pid;
	}
	close $go_r;
	close $go_w;	# EOF wakes every child at once
	waitpid($_, 0) for @kids;
	return map { -e "$dir/at_once.$_" ? slurp("$dir/at_once.$_") : 'none' }
	    1 .. $n;
}

# raw_get($url, $agent, $from, %headers) - GET with a user agent that
# HTTP::Tiny will not send (bytes that are not ASCII), from address
# $from; returns { status, body, json }.
sub raw_get {
	my ($url, $agent, $from, %h) = @_;
	my ($path) = $url =~ m{^https?://[^/]+(/.*)$};
	my $raw = raw_http($s->port, "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    . "User-Agent: $agent\r\n"
	    . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n",
	    from => $from) // '';
	my ($st) = $raw =~ m{^HTTP/1\.\d (\d{3})};
	my ($body) = $raw =~ /\r\n\r\n(.*)\z/s;
	return { status => $st // 599, body => $body // $raw,
	    json => eval { JSON::PP->new->decode($body // '') } };
}

# slow_inserts($table, $on) - while on, every INSERT into $table waits a
# moment inside its statement, so requests sent at once overlap in the
# database for sure (races show instead of hiding behind fast statements).
sub slow_inserts {
	my ($table, $on) = @_;
	my $t = "project_management.$table";
	sql($on ? "CREATE OR REPLACE FUNCTION project_management.t_slow() "
	    . "RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN "
	    . "PERFORM pg_sleep(0.3); RETURN NEW; END \$\$; CREATE TRIGGER "
	    . "t_slow BEFORE INSERT ON $t FOR EACH ROW EXECUTE FUNCTION "
	    . "project_management.t_slow()" : "DROP TRIGGER t_slow ON $t");
}

my $n = 0;
sub completed {
	my $code = 'sh' . ++$n;
	$s->room(code => $code, name => "Share <$n> & co", host => $host,
	    company => $co);
	my $r = api(host => POST => '/api/recordings/start',
	    json => { room_code => $code });
	is($r->{status}, 201, "start $code") or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	sleep 1.2;
	is(api(host => POST => "/api/recordings/$id/stop")->{status}, 202,
	    "stop $code");
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	is($s->reaper->{rc}, 0, 'the reaper stores it');
	is(api(host => GET => "/api/recordings/$id/status")->{json}{status},
	    'completed', "$code completed");
	return $id;
}

my $id = completed();
my $id2 = completed();
my $path = sql("SELECT storage_path FROM project_management."
    . "pm_meeting_recordings WHERE id = '$id'");
my $bytes = slurp("$s->{config}{storage_local_dir}/$path");
ok(length $bytes > 1000, 'the stored file has its bytes');

# ---------------------------------------------------------------------
# Signed download links
my $r = api(host => GET => "/api/recordings/$id");
my $url = $r->{json}{download_url};
like($url, qr{^\Q$public\E/api/recordings/$id/download\?expires=\d+&user=$host&sig=[\w-]{43}$},
    'GET gives an absolute signed download_url');
is(api(host => GET => "/api/recordings/$id2")->{json}{download_url} =~
    /\Q$id2\E/ ? 1 : 0, 1, 'each recording its own');
$r = http(GET => $url);
is($r->{status}, 200, 'the link works without an Authorization header');
is($r->{body}, $bytes, 'and gives the whole file');
$r = http(GET => $url, { headers => { Range => 'bytes=100-199' } });
is($r->{status}, 206, 'Range on a signed link: 206');
is($r->{body}, substr($bytes, 100, 100), 'the right 100 bytes');

my ($exp) = $url =~ /expires=(\d+)/;
my %bad = (
	'another recording' => $url =~ s/\Q$id\E/$id2/r,
	'a later expiry' => $url =~ s/expires=\d+/'expires=' . ($exp + 1)/er,
	'an earlier expiry' => $url =~ s/expires=\d+/'expires=' . ($exp - 1)/er,
	'another user' => $url =~ s/user=[^&]+/user=$viewer/r,
	'admin added' => $url =~ s/&sig=/&admin=1&sig=/r,
	'a flipped signature' => $url =~ s/sig=(.)/'sig=' . ($1 eq 'A' ? 'B' : 'A')/er,
	'a short signature' => $url =~ s/.$//r,
	'no signature' => $url =~ s/&sig=.*//r,
);
for my $k (sort keys %bad) {
	$r = http(GET => $bad{$k});
	my $want = $k eq 'no signature' ? 401 : 403;
	is($r->{status}, $want, "a link with $k is refused ($want)");
	like($r->{json}{code} // '', qr/^(invalid_link|missing_token)$/,
	    '... with a JSON code');
}
$r = http(GET => $url =~ s/&sig=/&extra=1&sig=/r);
is($r->{status}, 400, 'an unknown query parameter: 400');

# An expired link, made with the right key (derived from jwt_secret):
# refused for its age, not for its signature.
my $key = hmac_sha256('meetrec signed links v1', $s->jwt_secret);
my $past = time - 10;
my $sig = b64url(hmac_sha256("download\n$id\n$host:u\n$past", $key));
$r = http(GET => "$public/api/recordings/$id/download?expires=$past"
    . "&user=$host&sig=$sig");
is($r->{status}, 403, 'an expired link: 403');
is($r->{json}{code}, 'link_expired', '... link_expired');
my $future = time + 600;
$sig = b64url(hmac_sha256("download\n$id\n$host:u\n$future", $key));
is(http(GET => "$public/api/recordings/$id/download?expires=$future"
    . "&user=$host&sig=$sig")->{status}, 200,
    'the same key and a future expiry: 200 (the test signs as meetrec)');

# Downloads are audited once per viewer and recording within
# audit_dedupe_seconds (300 here), wherever the first range starts: a
# player's Range requests are one download.  A list of ranges is refused:
# nginx would answer it with any bytes of the file, the first one too.
marks_run_out($id);
my $before = audit($id, 'download');
$r = http(GET => $url, { headers => { Range => 'bytes=1-' } });
is($r->{status}, 206, 'a read from byte 1: 206');
is($r->{body}, substr($bytes, 1), '... all but the first byte');
is(audit($id, 'download') - $before, 1, '... audited as a download');
is(sql("SELECT user_id || ' ' || ip_address || ' ' || user_agent FROM "
    . "project_management.pm_recording_access_logs WHERE recording_id = "
    . "'$id' AND action = 'download' ORDER BY accessed_at DESC LIMIT 1"),
    "$host 127.0.0.1 meetrec-test/1",
    'the audit row names the user, address and user agent');
is(sql("SELECT extract(epoch FROM k.until - l.accessed_at)::int FROM "
    . "project_management.pm_recording_audit_marks k, "
    . "project_management.pm_recording_access_logs l WHERE "
    . "k.recording_id = '$id' AND k.action = 'download' AND "
    . "l.recording_id = '$id' AND l.action = 'download' "
    . "ORDER BY l.accessed_at DESC LIMIT 1"), 300,
    'the viewing lasts audit_dedupe_seconds');
for my $range ('bytes=1-,0-0', 'bytes=0-0,1-', 'bytes=0-10, 5-20',
    'bytes=-1,0-') {
	$r = http(GET => $url, { headers => { Range => $range } });
	is($r->{status}, 416, "Range: $range is refused (416)");
	is($r->{json}{code}, 'multiple_ranges', '... multiple_ranges');
	is($r->{headers}{'content-range'}, 'bytes */' . length($bytes),
	    '... naming the length');
}
$r = api(host => GET => "/api/recordings/$id/download",
    headers => { Range => 'bytes=1-,0-0' });
is($r->{status}, 416, 'with a bearer token too');
http(GET => $url);
http(GET => $url, { headers => { Range => 'bytes=0-' } });
http(GET => $url, { headers => { Range => 'bytes=500-' } });
api(host => GET => "/api/recordings/$id/download",
    headers => { Range => 'bytes=9-' });
http(GET => $bad{'another user'});
is(audit($id, 'download') - $before, 1, 'within the window, whole reads, '
    . 'seeks, the bearer token and refusals add no row');
marks_run_out($id);
$r = http(GET => $url, { headers => { Range => 'bytes=700-' } });
is($r->{status}, 206, 'after the window, a seek');
is(audit($id, 'download') - $before, 2, '... is a new download');
$r = api(admin => GET => "/api/recordings/$id/download",
    headers => { Range => 'bytes=700-' });
is($r->{status}, 206, 'another viewer, a seek');
is(audit($id, 'download') - $before, 3, '... is a download of theirs');
marks_run_out($id);
slow_inserts('pm_recording_audit_marks', 1);
my @got = at_once(8, sub {
	http(GET => $url, { headers => { Range => 'bytes=100-199' } })
	    ->{status} });
slow_inserts('pm_recording_audit_marks', 0);
is_deeply([sort @got], [(206) x 8], 'eight parallel reads: all answered');
is(audit($id, 'download') - $before, 4, '... and audited once');

# ---------------------------------------------------------------------
# Who may view: PUT /recordings/{id}/access
for my $c (
    ['{"is_public": "yes"}', 422, qr/is_public/],
    ['{"allowed_viewers": "x"}', 422, qr/allowed_viewers/],
    ['{"allowed_viewers": ["not-a-uuid"]}', 422, qr/allowed_viewers\[0\]/],
    ['{"allowed_viewers": [1]}', 422, qr/allowed_viewers\[0\]/],
    ['{"allowed_viewers": [null]}', 422, qr/allowed_viewers\[0\]/],
    ['{}', 422, qr/is_public/],
    ['{"owner": "me"}', 422, qr/owner/],
    ['{"is_public": tru', 400, qr/JSON/i],
    ['[]', 422, qr/object/i],
    ['{"allowed_viewers": [' . join(',', map { "\"" . uuid() . "\"" }
        1 .. 501) . ']}', 422, qr/at most/]) {
	my ($body, $want, $re) = @$c;
	$r = api(host => PUT => "/api/recordings/$id/access", raw => $body,
	    headers => { 'Content-Type' => 'application/json' });
	is($r->{status}, $want, "access body " . substr($body, 0, 40)
	    . " -> $want");
	like($r->{json}{detail} // '', $re, '... naming the problem');
}
my $audit0 = audit($id);
is(api(viewer => GET => "/api/recordings/$id")->{status}, 403,
    'the viewer may not see it yet');
is(api(peer => PUT => "/api/recordings/$id/access",
    json => { is_public => \1 })->{status}, 403, 'a peer may not open it');
is(api(stranger => PUT => "/api/recordings/$id/access",
    json => { is_public => \1 })->{status}, 404,
    'another company does not see it');
is(api(anon => PUT => "/api/recordings/$id/access",
    json => { is_public => \1 })->{status}, 401, 'no token: 401');
is(audit($id), $audit0 + 3, 'refused requests write a refused row each '
    . '(the token-less one none: no one to name)');
is(sql("SELECT string_agg(DISTINCT action, ',') FROM "
    . "project_management.pm_recording_access_logs WHERE recording_id = "
    . "'$id' AND action <> 'view' AND user_id IN ('$viewer', '$peer')"),
    'refused',
    '... and nothing else');
$r = api(host => PUT => "/api/recordings/$id/access",
    json => { allowed_viewers => [uc $viewer, $viewer] });
is($r->{status}, 200, 'the owner lets the viewer in');
is_deeply($r->{json}{allowed_viewers}, [$viewer],
    'allowed_viewers, one UUID in lower case');
is($r->{json}{is_public}, JSON::PP::false(), 'not public');
is(audit($id, 'access'), 1, 'the change is audited');
is(api(viewer => GET => "/api/recordings/$id")->{status}, 200,
    'now the viewer sees it');
is(api(peer => GET => "/api/recordings/$id")->{status}, 403,
    'a peer still does not');
my $list = api(viewer => GET => '/api/recordings/?scope=shared')->{json};
is_deeply([map { $_->{id} } @{ $list->{recordings} }], [$id],
    'scope=shared lists what was shared with me');
is(api(viewer => GET => '/api/recordings/')->{json}{total}, 0,
    'and mine stays empty');
my $vurl = api(viewer => GET => "/api/recordings/$id")->{json}{download_url};
is(http(GET => $vurl)->{status}, 200, "the viewer's link works");
is(api(admin => PUT => "/api/recordings/$id/access",
    json => { is_public => \1 })->{status}, 200, 'an admin opens it to all');
is(api(peer => GET => "/api/recordings/$id")->{status}, 200,
    'public: the peer sees it');
is(api(stranger => GET => "/api/recordings/$id")->{status}, 404,
    'but never another company');
is(api(host => PUT => "/api/recordings/$id/access",
    json => { is_public => \0, allowed_viewers => [] })->{status}, 200,
    'the owner closes it again');
is(api(peer => GET => "/api/recordings/$id")->{status}, 403, 'peer out');
$r = http(GET => $vurl);
is($r->{status}, 403, "the viewer's earlier link stops working at once");
is($r->{json}{code}, 'forbidden', '... forbidden');
is(api(viewer => GET => '/api/recordings/?scope=shared')->{json}{total}, 0,
    'nothing shared with the viewer any more');

# ---------------------------------------------------------------------
# Share links
for my $c (
    [{ expires_in => 0 }, 422, qr/expires_in/],
    [{ expires_in => 59 }, 422, qr/expires_in/],
    [{ expires_in => 91 * 86400 }, 422, qr/expires_in/],
    [{ expires_in => '3600' }, 422, qr/expires_in/],
    [{ expires_in => 1.5 }, 422, qr/expires_in/],
    [{ password => '' }, 422, qr/password/],
    [{ password => 'x' x 257 }, 422, qr/password/],
    [{ password => 12345 }, 422, qr/password/],
    [{ url => 'x' }, 422, qr/url/]) {
	my ($body, $want, $re) = @$c;
	$r = api(host => POST => "/api/recordings/$id/shares", json => $body);
	is($r->{status}, $want, 'share ' . join(',', %$body) . " -> $want");
	like($r->{json}{detail} // '', $re, '... naming the field');
}
$audit0 = audit($id);
is(api(peer => POST => "/api/recordings/$id/shares", json => {})
    ->{status}, 403, 'a peer may not share it');
is(api(viewer => GET => "/api/recordings/$id/shares")->{status}, 403,
    'nor list its links');
is(api(stranger => POST => "/api/recordings/$id/shares", json => {})
    ->{status}, 404, 'another company: 404');
is(api(anon => POST => "/api/recordings/$id/shares", json => {})
    ->{status}, 401, 'no token: 401');
is(api(host => POST => '/api/recordings/' . uuid() . '/shares', json => {})
    ->{status}, 404, 'an unknown recording: 404');
is(api(host => POST => '/api/recordings/nope/shares', json => {})
    ->{status}, 400, 'a bad id: 400');
is(audit($id), $audit0, 'no audit row for refused requests');

$r = api(host => POST => "/api/recordings/$id/shares",
    json => { expires_in => 3600 });
is($r->{status}, 201, 'the owner makes a share link');
my $sh = $r->{json};
like($sh->{token}, qr/^[\w-]{43}$/, 'a 256-bit token');
is($sh->{url}, "$public/r/$sh->{token}", 'its public URL');
is($sh->{has_password}, JSON::PP::false(), 'no password');
is(sql("SELECT count(*) FROM project_management.pm_recording_shares "
    . "WHERE token_sha256 = '" . sha256_hex($sh->{token}) . "'"), 1,
    'stored by its SHA-256');
is(sql("SELECT count(*) FROM project_management.pm_recording_shares s "
    . "WHERE s::text LIKE '%$sh->{token}%'"), 0,
    'the token itself is stored nowhere');
is(audit($id, 'share'), 1, 'sharing is audited');

$r = http(GET => $sh->{url});
is($r->{status}, 200, 'the link works for anyone');
is($r->{json}{recording}{meeting_name}, 'Share <1> & co', 'named');
my $furl = $r->{json}{file_url};
like($furl, qr{^\Q$sh->{url}\E/file\?expires=\d+&sig=[\w-]{43}$},
    'with a signed file link');
is(http(GET => $furl)->{body}, $bytes, 'which gives the file');
$r = http(GET => $furl, { headers => { Range => 'bytes=10-19' } });
is($r->{status}, 206, 'with Range');
is($r->{body}, substr($bytes, 10, 10), 'the right bytes');
is(http(GET => $furl =~ s/sig=(.)/'sig=' . ($1 eq 'A' ? 'B' : 'A')/er)
    ->{status}, 403, 'a changed file link is refused');
is(http(GET => $furl =~ s/expires=(\d+)/'expires=' . ($1 + 60)/er)
    ->{status}, 403, 'so is a longer-lived one');
$r = http(GET => $sh->{url}, { headers => { Accept => 'text/html' } });
is($r->{status}, 200, 'a browser gets a page');
like($r->{headers}{'content-type'}, qr{^text/html}, 'in HTML');
like($r->{body}, qr{<video id="player" controls preload="metadata" src="/r/\Q$sh->{token}\E/file\?expires=\d+&amp;sig=[\w-]{43}">},
    'with a player for the file');
like($r->{body}, qr{<title>Share &lt;1&gt; &amp; co</title>},
    'the meeting name escaped');
like($r->{headers}{'content-security-policy'} // '', qr/default-src 'none'/,
    'a strict Content-Security-Policy');
is($r->{headers}{'referrer-policy'}, 'no-referrer',
    'the link is not leaked as a referrer');
is(sql("SELECT view_count FROM project_management.pm_recording_shares "
    . "WHERE id = '$sh->{share_id}'"), 1,
    'the JSON and the page for one client are one viewing: one view');
is(audit($id, 'share_view'), 1, 'one share_view audit row');
is(sql("SELECT count(*) FROM project_management.pm_recording_access_logs "
    . "WHERE share_id = '$sh->{share_id}' AND action = 'share_view' AND "
    . "user_id IS NULL AND ip_address = '127.0.0.1'"), 1,
    '... naming the link and the address');
is(sql("SELECT count(*) FROM project_management.pm_recording_access_logs "
    . "WHERE share_id = '$sh->{share_id}' AND action = 'download' AND "
    . "user_id IS NULL"), 1, 'reading its file: one download row');

for my $t ('x', 'a' x 42, 'a' x 44, ('a' x 42) . '!', b64url('z' x 32)) {
	$r = http(GET => "$public/r/$t");
	is($r->{status}, 404, "token '$t': 404");
	is($r->{json}{code}, 'share_not_found', '... share_not_found');
}

$r = api(host => GET => "/api/recordings/$id/shares");
is($r->{status}, 200, 'the owner lists the links');
is($r->{json}{shares}[0]{share_id}, $sh->{share_id}, 'this one');
is($r->{json}{shares}[0]{view_count}, 1, 'with its views');
ok(!exists $r->{json}{shares}[0]{token}, 'never the token');

is(api(host => DELETE => "/api/recordings/$id/shares/" . uuid())
    ->{status}, 404, 'revoking an unknown link: 404');
is(api(host => DELETE => "/api/recordings/$id2/shares/$sh->{share_id}")
    ->{status}, 404, 'nor through another recording');
is(api(host => DELETE => "/api/recordings/$id/shares/bad")->{status}, 400,
    'a bad share id: 400');
is(api(peer => DELETE => "/api/recordings/$id/shares/$sh->{share_id}")
    ->{status}, 403, 'a peer may not revoke');
$r = api(host => DELETE => "/api/recordings/$id/shares/$sh->{share_id}");
is($r->{status}, 200, 'the owner revokes it');
ok($r->{json}{revoked_at}, 'revoked_at set');
is(audit($id, 'share_revoke'), 1, 'revoking is audited');
$r = http(GET => $sh->{url});
is($r->{status}, 410, 'a revoked link: 410');
is($r->{json}{code}, 'share_revoked', '... share_revoked');
is(http(GET => $furl)->{status}, 410, 'its file link too');
is(http(GET => $sh->{url}, { headers => { Accept => 'text/html' } })
    ->{status}, 410, 'and the page');

$r = api(admin => POST => "/api/recordings/$id/shares",
    json => { expires_in => 60 });
is($r->{status}, 201, 'an admin may share');
my $short = $r->{json};
is(http(GET => $short->{url})->{status}, 200, 'works at first');
sql("UPDATE project_management.pm_recording_shares SET expires_at = "
    . "now() - interval '1 second' WHERE id = '$short->{share_id}'");
$r = http(GET => $short->{url});
is($r->{status}, 410, 'once expired: 410');
is($r->{json}{code}, 'share_expired', '... share_expired');

# ---------------------------------------------------------------------
# What watching through a link can write: one share_view row per viewing
# (link, client address, user agent) within audit_dedupe_seconds, and no
# more than 512 bytes of a user agent in any audit row.
$r = api(host => POST => "/api/recordings/$id/shares", json => {});
is($r->{status}, 201, 'a link to watch through');
my $w = $r->{json};
sub views {
	return sql("SELECT view_count FROM project_management."
	    . "pm_recording_shares WHERE id = '$w->{share_id}'");
}
sub wrows {
	return sql("SELECT count(*) FROM project_management."
	    . "pm_recording_access_logs WHERE share_id = '$w->{share_id}' "
	    . "AND action = '$_[0]'");
}
# About 15 KB, nginx's limit for a header; 512 bytes fall in a character.
my $chars = "Mozilla/5.0 (" . ("\x{e9}t\x{e9} \x{1f3a5} " x 1390);
my $ua = encode('UTF-8', $chars);
my $kept = '';
for my $c (split //, $chars) {
	my $b = encode('UTF-8', $c);
	last if length($kept) + length($b) > 512;
	$kept .= $b;
}
ok(length($ua) > 15000 && length($kept) < 512,
    'a ' . length($ua) . '-byte user agent, cut at ' . length($kept));
my %st;
for (1 .. 15) {
	$r = raw_get($w->{url}, $ua, '127.0.0.160');
	$st{$r->{status}}++;
}
is_deeply(\%st, { 200 => 15 }, '15 views with it from one address: 200')
    or diag($r->{body});
is(wrows('share_view'), 1, '... write one share_view row');
is(views(), 1, '... and count one view');
is(sql("SELECT encode(convert_to(user_agent, 'UTF8'), 'hex') FROM "
    . "project_management.pm_recording_access_logs WHERE share_id = "
    . "'$w->{share_id}' AND action = 'share_view'"), unpack('H*', $kept),
    '... keeping the first 512 bytes of the agent, whole characters');
$r = raw_get($w->{url}, $ua, '127.0.0.161');
is($r->{status}, 200, 'the same agent from another address')
    or diag($r->{body});
is(wrows('share_view'), 2, '... is another viewing: another row');
$r = http(GET => $w->{url}, { headers => { 'User-Agent' => 'other/1' },
    from => '127.0.0.160' });
is($r->{status}, 200, 'another agent from the first address');
is(wrows('share_view'), 3, '... is another viewing too');
is(views(), 3, 'three viewings counted');
$r = raw_get($w->{url}, "bad \xff\xfe", '127.0.0.161');
is($r->{status}, 200, 'a user agent that is not UTF-8')
    or diag($r->{body});
is(sql("SELECT user_agent FROM project_management.pm_recording_access_logs "
    . "WHERE share_id = '$w->{share_id}' AND user_agent LIKE 'bad %'"),
    'bad ??', '... is kept with its stray bytes replaced');
marks_run_out($id);
$r = raw_get($w->{url}, $ua, '127.0.0.160');
is($r->{status}, 200, 'after the window the first client again');
is(wrows('share_view'), 5, '... is a new viewing');
is(views(), 5, '... counted');
slow_inserts('pm_recording_audit_marks', 1);
@got = at_once(8, sub {
	http(GET => $w->{url}, { headers => { 'User-Agent' => 'race/1' },
	    from => '127.0.0.162' })->{status} });
is_deeply([sort @got], [(200) x 8],
    'eight parallel views from one new client: all answered');
is(wrows('share_view'), 6, '... one row');
is(views(), 6, '... one view');
my $wfile = $r->{json}{file_url};
@got = at_once(8, sub {
	http(GET => $wfile, { headers => { Range => 'bytes=5-9' },
	    from => '127.0.0.163' })->{status} });
slow_inserts('pm_recording_audit_marks', 0);
is_deeply([sort @got], [(206) x 8], 'eight parallel reads of the file');
is(wrows('download'), 1, '... one download row');
# Within the window a request finds the live mark by a read and locks no
# row: a lock (ON CONFLICT DO UPDATE ... WHERE false takes one) would set
# the mark's xmax to the request's transaction.
sub live_xmax {
	return sql("SELECT string_agg(action || ' ' || xmax::text, ',' "
	    . "ORDER BY action, viewer) FROM project_management."
	    . "pm_recording_audit_marks WHERE recording_id = '$id' "
	    . "AND until > now()");
}
my $xmax = live_xmax();
for (1 .. 3) {
	http(GET => $wfile, { headers => { Range => 'bytes=5-9' },
	    from => '127.0.0.163' });
	http(GET => $w->{url}, { headers => { 'User-Agent' => 'race/1' },
	    from => '127.0.0.162' });
}
is(live_xmax(), $xmax, '... more reads and views in the window lock no '
    . 'mark');
is(wrows('download') . ' ' . wrows('share_view'), '1 6',
    '... and write no row');
$r = http(GET => $wfile, { headers => { Range => 'bytes=1-,0-0' },
    from => '127.0.0.163' });
is($r->{status}, 416, 'a list of ranges of the shared file: 416');
is($r->{json}{code}, 'multiple_ranges', '... multiple_ranges');

# Every kind of audit row keeps 512 bytes of the agent at most.
marks_run_out($id);
my %long = (headers => { 'User-Agent' => 'L' x 15000 });
api(host => GET => "/api/recordings/$id", %long);
api(host => GET => "/api/recordings/$id/download",
    headers => { %{ $long{headers} }, Range => 'bytes=3-' });
# A change of who may view writes a row (one that changes nothing, none).
api(host => PUT => "/api/recordings/$id/access", json => { is_public => \1 },
    %long);
api(host => PUT => "/api/recordings/$id/access", json => { is_public => \0 },
    %long);
$r = api(host => POST => "/api/recordings/$id/shares", json => {}, %long);
api(host => DELETE => "/api/recordings/$id/shares/$r->{json}{share_id}",
    %long);
is(sql("SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM "
    . "project_management.pm_recording_access_logs WHERE recording_id = "
    . "'$id' AND user_agent = repeat('L', 512)"),
    'access,download,share,share_revoke,view',
    'view, download, access, share and revoke rows keep it cut too');
# No row can hold more: the schema refuses it (006_shares_audit).
like(sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
    . "conrelid = 'project_management.pm_recording_access_logs'::regclass "
    . "AND conname = 'pm_recording_access_logs_user_agent_length'"),
    qr/^CHECK \(+octet_length\(user_agent\) <= 512\)+/,
    'the audit log refuses more than 512 bytes of user agent');

# nginx slows watching through links per client address in a zone of its
# own (10 a second, a burst of 20), answering in JSON.
# What gets through: the first, the burst, and one more for every tenth
# of a second the requests took (a slow machine takes longer), and one
# for the clock's grain.
my %codes;
my $t0 = Time::HiRes::time();
for (1 .. 150) {
	$r = http(GET => "$public/r/nope", { from => '127.0.0.170' });
	$codes{$r->{status}}++;
	$codes{json} = $r if $r->{status} == 429;
}
my $let = 2 + 20 + int((Time::HiRes::time() - $t0) * 10);
ok(($codes{429} // 0) >= 150 - $let, '150 quick views from one address: '
    . ($codes{429} // 0) . ' refused by nginx, ' . ($codes{404} // 0)
    . " reached meetrec (at most $let may)");
ok(($codes{404} // 0) <= $let, '... no more than the rate lets through');
is($codes{json}{json}{code}, 'too_many_requests', '... in JSON');
ok($codes{json}{headers}{'retry-after'}, '... with Retry-After');
is(http(GET => $w->{url}, { from => '127.0.0.171' })->{status}, 200,
    'another address is not slowed');
is(http(POST => $w->{url}, { json => { password => 'x' },
    from => '127.0.0.170' })->{status}, 200,
    'a POST from that address is limited in its own zone, not this one');
is(api(host => DELETE => "/api/recordings/$id/shares/$w->{share_id}")
    ->{status}, 200, 'the link revoked');

# The reaper's purge pass deletes the marks of viewings that are over
# (every one so far, of any recording, runs out here).
sql("UPDATE project_management.pm_recording_audit_marks SET until = "
    . "now() - interval '1 second'");
my $live = http(GET => $url, { headers => { Range => 'bytes=9-' },
    from => '127.0.0.172' });
my $marks = sql("SELECT count(*) FROM project_management."
    . "pm_recording_audit_marks WHERE until <= now()");
ok($marks > 5, "$marks marks have run out");
$r = $s->reaper('--pass', 'purge');
is($r->{rc}, 0, 'the purge pass runs');
like($r->{err}, qr/action=marks_deleted count=$marks\b/, '... deleting them');
is(sql("SELECT count(*) FROM project_management.pm_recording_audit_marks"),
    1, 'the live one stays');

# Passwords
$r = api(host => POST => "/api/recordings/$id/shares",
    json => { expires_in => 3600, password => 'open sesame' });
is($r->{status}, 201, 'a link with a password');
my $pw = $r->{json};
is($pw->{has_password}, JSON::PP::true(), 'has_password');
like(sql("SELECT password_hash FROM project_management.pm_recording_shares "
    . "WHERE id = '$pw->{share_id}'"),
    qr/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[\w-]+\$[\w-]{43}$/,
    'the password kept as a scrypt hash');
$r = http(GET => $pw->{url});
is($r->{status}, 401, 'without the password: 401');
is($r->{json}{code}, 'password_required', '... password_required');
$r = http(GET => $pw->{url}, { headers => { Accept => 'text/html' } });
is($r->{status}, 401, 'a browser gets 401 too');
like($r->{body}, qr{<form method="post">.*name="password"}s,
    'with a password form');
unlike($r->{body}, qr/<video/, 'and no player');
my $n_from = 2;
sub try_pw {
	my ($pass, %o) = @_;
	my $from = $o{from} // '127.0.0.' . $n_from++;
	return http(POST => $pw->{url}, { json => { password => $pass },
	    from => $from });
}
$r = try_pw('wrong');
is($r->{status}, 401, 'a wrong password: 401');
is($r->{json}{code}, 'wrong_password', '... wrong_password');
$r = try_pw('open sesame');
is($r->{status}, 200, 'the right one: 200');
like($r->{json}{file_url} // '', qr{/file\?expires=}, 'with the file link');
is(http(GET => $r->{json}{file_url})->{body}, $bytes, 'which plays');
$r = http(POST => $pw->{url}, { body => 'password=open+sesame',
    headers => { 'Content-Type' => 'application/x-www-form-urlencoded',
    Accept => 'text/html' }, from => '127.0.0.' . $n_from++ });
is($r->{status}, 200, 'the form posts the password');
like($r->{body}, qr/<video id="player"/, 'and the page plays');
for my $b ('{"pass": "x"}', '{"password": 5}', '{"password": ""}', 'nope') {
	$r = http(POST => $pw->{url}, { raw => $b, from => '127.0.0.'
	    . $n_from++, headers => { 'Content-Type' => 'application/json' } });
	ok($r->{status} == 400 || $r->{status} == 422,
	    "a malformed password body '$b': $r->{status}");
}

# Guessing: five wrong tries, then each further try waits (doubling),
# the right password included; after the wait it works again.
sql("UPDATE project_management.pm_recording_shares SET failed_attempts = 0"
    . " WHERE id = '$pw->{share_id}'");
is(try_pw("guess$_")->{status}, 401, "guess $_ refused") for 1 .. 5;
# What the lock holds is read from the database's own clock, and made
# longer or shorter there, so a slow machine cannot change the outcome.
sub lock_s {
	return sql("SELECT coalesce(extract(epoch FROM locked_until - now()), "
	    . "-1) FROM project_management.pm_recording_shares "
	    . "WHERE id = '$pw->{share_id}'");
}
sub set_lock {
	sql("UPDATE project_management.pm_recording_shares SET locked_until "
	    . "= now() + interval '$_[0] seconds' WHERE id = '$pw->{share_id}'");
}
my $l = lock_s();
ok($l <= 1 && $l > -1, "the fifth wrong try locked the link for 1 s ($l)");
set_lock(3600);
$r = try_pw('open sesame');
is($r->{status}, 429, 'then even the right password must wait');
is($r->{json}{code}, 'share_locked', '... share_locked');
ok(($r->{headers}{'retry-after'} // 0) > 3000 &&
    $r->{headers}{'retry-after'} <= 3600, 'with Retry-After');
set_lock(-1);
is(try_pw('guess6')->{status}, 401, 'after the wait: one more try');
$l = lock_s();
ok($l <= 2 && $l > 1 - 2, "which locked it for 2 s ($l)");
is(sql("SELECT failed_attempts FROM project_management.pm_recording_shares "
    . "WHERE id = '$pw->{share_id}'"), 6, 'six tries counted');
set_lock(-1);
is(try_pw('open sesame')->{status}, 200, 'after that the password works');
is(sql("SELECT failed_attempts FROM project_management.pm_recording_shares "
    . "WHERE id = '$pw->{share_id}'"), 0, 'and the count starts again');

# However many tries a link has counted, a wrong password is refused, the
# lock is at most 15 minutes, and once it has run out the right password
# works (the wait was computed in float8 and overflowed past 1027 tries).
sub set_tries {
	sql("UPDATE project_management.pm_recording_shares SET "
	    . "failed_attempts = $_[0], locked_until = now() - interval "
	    . "'1 second' WHERE id = '$pw->{share_id}'");
}
for my $tries (1027, 1028, 5000, 2**31 - 2, 2**31 - 1) {
	set_tries($tries);
	$r = try_pw('nope');
	is($r->{status}, 401, "$tries tries counted: a wrong password is 401");
	is($r->{json}{code}, 'wrong_password', '... wrong_password');
	$r = try_pw('open sesame');
	is($r->{status}, 429, '... and locks the link');
	ok(($r->{headers}{'retry-after'} // 0) > 800 &&
	    $r->{headers}{'retry-after'} <= 900,
	    '... for at most 15 minutes (Retry-After '
	    . ($r->{headers}{'retry-after'} // 'none') . ')');
	is(sql("SELECT failed_attempts FROM project_management."
	    . "pm_recording_shares WHERE id = '$pw->{share_id}'"),
	    $tries < 2**31 - 1 ? $tries + 1 : $tries,
	    '... counting the try (up to the largest integer)');
	sql("UPDATE project_management.pm_recording_shares SET locked_until "
	    . "= now() - interval '1 second' WHERE id = '$pw->{share_id}'");
	$r = try_pw('open sesame');
	is($r->{status}, 200, '... once the lock has run out the password works');
}
is(sql("SELECT failed_attempts FROM project_management.pm_recording_shares "
    . "WHERE id = '$pw->{share_id}'"), 0, 'and the count starts again');

# nginx slows password tries per client address, before meetrec sees them.
# (The link's own lock answers 429 share_locked as well; nginx's refusals
# are the too_many_requests ones.)
%codes = ();
$t0 = Time::HiRes::time();
for (1 .. 12) {
	$r = try_pw('nope', from => '127.0.0.200');
	$codes{$r->{json}{code} // 'none'}++;
}
# 12 a minute with a burst of 5: the first, the burst, and one more for
# every 5 s the tries took (a slow machine takes longer), and one for the
# clock's grain.
$let = 2 + 5 + int((Time::HiRes::time() - $t0) / 5);
my $passed = ($codes{wrong_password} // 0) + ($codes{share_locked} // 0);
ok(($codes{too_many_requests} // 0) >= 12 - $let, "12 quick tries from one "
    . "address: " . ($codes{too_many_requests} // 0) . " refused by nginx "
    . "in JSON, $passed reached meetrec");
ok($passed <= $let, "no more than the burst reached meetrec (at most $let)");
is(http(GET => $pw->{url}, { from => '127.0.0.200' })->{status}, 401,
    'watching (GET) from that address is not limited');

# ---------------------------------------------------------------------
# At most share_max_active (5 here) links of a recording work at once,
# however many are asked for at the same time.
my $id3 = completed();
sub active {
	return sql("SELECT count(*) FROM project_management.pm_recording_shares"
	    . " WHERE recording_id = '$id3' AND revoked_at IS NULL AND "
	    . "expires_at > now()");
}
my @links;
for my $i (1 .. 5) {
	$r = api(host => POST => "/api/recordings/$id3/shares",
	    json => $i == 1 ? { password => 'pw' } : {});
	is($r->{status}, 201, "link $i of 5");
	push @links, $r->{json}{share_id};
}
for my $body ({}, { password => 'pw' }) {
	$r = api(host => POST => "/api/recordings/$id3/shares", json => $body);
	is($r->{status}, 409, 'a sixth' . (%$body ? ' with a password' : '')
	    . ': 409');
	is($r->{json}{code}, 'too_many_shares', '... too_many_shares');
	like($r->{json}{detail}, qr/\b5\b/, '... naming the cap');
}
is(api(admin => POST => "/api/recordings/$id3/shares", json => {})
    ->{status}, 409, 'for an admin too');
is(api(host => DELETE => "/api/recordings/$id3/shares/$links[0]")->{status},
    200, 'one revoked');
$r = api(host => POST => "/api/recordings/$id3/shares", json => {});
is($r->{status}, 201, '... frees a place');
push @links, $r->{json}{share_id};
sql("UPDATE project_management.pm_recording_shares SET expires_at = now() - "
    . "interval '1 second' WHERE id = '$links[1]'");
$r = api(host => POST => "/api/recordings/$id3/shares", json => {});
is($r->{status}, 201, 'so does one that expired');
push @links, $r->{json}{share_id};
is(active(), 5, 'five work');
# Parallel creations wait for each other on the recording's row; the
# slowed INSERT keeps them overlapping.
slow_inserts('pm_recording_shares', 1);
for my $free (1, 3) {
	api(host => DELETE => "/api/recordings/$id3/shares/$links[-$_]")
	    for 1 .. $free;
	splice(@links, -$free);
	is(active(), 5 - $free, "$free revoked: " . (5 - $free) . ' work');
	# Each child from an address of its own (a counter would start
	# again in every child).
	my @st = at_once(8, sub {
		api(host => POST => "/api/recordings/$id3/shares", json => {},
		    from => '127.0.2.' . ($_[0] + 10 * $free))->{status} });
	my %by;
	$by{$_}++ for @st;
	is_deeply(\%by, { 201 => $free, 409 => 8 - $free },
	    "8 at once: $free made, the others 409");
	is(active(), 5, '... five work, never more');
	@links = split /\n/, sql("SELECT id FROM project_management."
	    . "pm_recording_shares WHERE recording_id = '$id3' AND "
	    . "revoked_at IS NULL AND expires_at > now() ORDER BY created_at");
}
slow_inserts('pm_recording_shares', 0);

# nginx slows the creation of links per client address (30 a minute, a
# burst of 10), answering in JSON, before a password is hashed.
%codes = ();
$t0 = Time::HiRes::time();
for (1 .. 40) {
	$r = api(host => POST => "/api/recordings/$id3/shares",
	    json => { nope => 1 }, from => '127.0.0.180');
	$codes{$r->{status}}++;
	$codes{json} = $r if $r->{status} == 429;
}
# The first, the burst, one more for every 2 s the requests took, and
# one for the clock's grain.
$let = 2 + 10 + int((Time::HiRes::time() - $t0) / 2);
ok(($codes{429} // 0) >= 40 - $let, '40 quick creations from one address: '
    . ($codes{429} // 0) . ' refused by nginx, ' . ($codes{422} // 0)
    . " reached meetrec (at most $let may)");
ok(($codes{422} // 0) <= $let, '... no more than the rate lets through');
is($codes{json}{json}{code}, 'too_many_requests', '... in JSON');
is(api(host => GET => "/api/recordings/$id3/shares", from => '127.0.0.180')
    ->{status}, 200, 'listing the links from there is not limited');

# A deleted recording's links stop working.
$r = api(host => POST => "/api/recordings/$id2/shares", json => {});
is($r->{status}, 201, 'a link to the second recording (default expiry)');
my $sh2 = $r->{json};
ok(abs(sql("SELECT extract(epoch FROM expires_at - now())::int FROM "
    . "project_management.pm_recording_shares WHERE id = "
    . "'$sh2->{share_id}'") - 7 * 86400) < 60, 'which lasts 7 days');
is(api(host => DELETE => "/api/recordings/$id2")->{status}, 200,
    'the recording is deleted');
$r = http(GET => $sh2->{url});
is($r->{status}, 410, 'its link: 410');
is($r->{json}{code}, 'recording_deleted', '... recording_deleted');

# ---------------------------------------------------------------------
# Where the file is kept and what went wrong (spool path, storage path,
# last error, the probe's finding: hosts and paths) are for the owner and
# admins only: not for a listed viewer, the company when public, or
# whoever holds a link.
my $err = 'upload to https://dav.internal.example/remote.php failed';
my $finding = 'mdat of /var/spool/meetrec-internal cut at byte 4242';
sql("UPDATE project_management.pm_meeting_recordings SET last_error = "
    . "'$err', media_finding = '$finding' WHERE id = '$id'");
my %internal = (storage_path => $path, last_error => $err,
    media_finding => $finding,
    file_name => sql("SELECT file_name FROM project_management."
    . "pm_meeting_recordings WHERE id = '$id'"));
like($internal{file_name}, qr{/\Q$id\E\.mp4$}, 'the spool path is known');
is(api(host => PUT => "/api/recordings/$id/access", json => {
    allowed_viewers => [$viewer], is_public => \1 })->{status}, 200,
    'shared with a viewer and the company');
my $link = api(host => POST => "/api/recordings/$id/shares", json => {})
    ->{json};
sub hides {
	my ($who, $r, $obj) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($r->{status}, 200, "$who: 200") or diag($r->{body});
	for my $k (sort keys %internal) {
		ok(index($r->{body}, $internal{$k}) < 0, "$who: no $k anywhere");
		is($obj->{$k}, undef, "$who: $k is null") if $obj;
	}
}
sub shows {
	my ($who, $obj) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($obj->{$_}, $internal{$_}, "$who: $_") for sort keys %internal;
}
for my $who (qw(viewer peer)) {
	$r = api($who => GET => "/api/recordings/$id");
	hides("$who details", $r, $r->{json});
	$r = api($who => GET => '/api/recordings/?scope=shared');
	my ($it) = grep { $_->{id} eq $id } @{ $r->{json}{recordings} };
	ok($it, "$who lists it (scope=shared)");
	hides("$who list", $r, $it);
	hides("$who status", api($who => GET => "/api/recordings/$id/status"));
}
$r = http(GET => $link->{url}, { from => '127.0.0.150' });
hides('share link JSON', $r, $r->{json}{recording});
hides('share link page', http(GET => $link->{url},
    { headers => { Accept => 'text/html' }, from => '127.0.0.150' }));
shows('owner details', api(host => GET => "/api/recordings/$id")->{json});
shows('owner list', (grep { $_->{id} eq $id } @{ api(host => GET =>
    '/api/recordings/')->{json}{recordings} })[0]);
shows('admin details', api(admin => GET => "/api/recordings/$id")->{json});
shows('admin list', (grep { $_->{id} eq $id } @{ api(admin => GET =>
    '/api/recordings/?scope=company')->{json}{recordings} })[0]);
shows('admin API', (grep { $_->{id} eq $id } @{ api(admin => GET =>
    '/api/admin/recordings/')->{json}{recordings} })[0]);
is(api(host => DELETE => "/api/recordings/$id/shares/$link->{share_id}")
    ->{status}, 200, 'the link revoked');
is(api(host => PUT => "/api/recordings/$id/access", json => {
    allowed_viewers => [], is_public => \0 })->{status}, 200,
    'and the recording closed again');
sql("UPDATE project_management.pm_meeting_recordings SET last_error = NULL, "
    . "media_finding = NULL WHERE id = '$id'");

# ---------------------------------------------------------------------
# The audit trail
$r = api(host => GET => "/api/recordings/$id/access-log");
is($r->{status}, 200, 'the owner reads the access log');
my $total = $r->{json}{total};
is($total, audit($id), 'total is every row');
my %actions = map { $_->{action} => 1 } @{ $r->{json}{entries} };
ok($actions{$_}, "it holds $_ rows") for qw(view download share share_view
    share_revoke access);
is(api(admin => GET => "/api/recordings/$id/access-log")->{status}, 200,
    'an admin reads it');
is(api(viewer => GET => "/api/recordings/$id/access-log")->{status}, 403,
    'a viewer may not');
is(api(stranger => GET => "/api/recordings/$id/access-log")->{status}, 404,
    'another company: 404');
is(api(anon => GET => "/api/recordings/$id/access-log")->{status}, 401,
    'no token: 401');
# The refusals just above are rows too.
$total = audit($id);
my (@all, $cur, $pages);
do {
	$r = api(host => GET => "/api/recordings/$id/access-log?limit=7"
	    . ($cur ? "&cursor=$cur" : ''));
	is($r->{status}, 200, 'a page') if !$pages;
	push @all, @{ $r->{json}{entries} };
	$cur = $r->{json}{next_cursor};
	$pages++;
} while ($cur && $pages < 100);
is(scalar @all, $total, "paging with a cursor gives every row once ($pages pages)");
my %seen;
is(scalar(grep { !$seen{$_->{id}}++ } @all), $total, 'no row twice');
is_deeply([map { $_->{accessed_at} } @all],
    [sort { $b cmp $a } map { $_->{accessed_at} } @all], 'newest first');
for my $q ('limit=0', 'limit=201', 'limit=x', 'cursor=bad', 'foo=1') {
	$r = api(host => GET => "/api/recordings/$id/access-log?$q");
	is($r->{status}, 400, "access-log?$q: 400");
}

$s->finish;
done_testing;
