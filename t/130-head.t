#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# HEAD works wherever GET does (RFC 9110 section 9.3.2): every GET route
# answers HEAD with the status and headers GET gets, Content-Length
# included, and no body.  A HEAD fetches nothing, so it writes no audit
# row and counts no view of a share link.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid http);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { audit_dedupe_seconds => 300 });
my ($host, $admin) = (uuid(), uuid());
my $tok = $s->token(user => $host, username => 'host');
my $atok = $s->token(user => $admin, username => 'adm', role => 'admin');
my $public = $s->config('public_url');

sub sql { return $s->pg->psql($_[0]) }

sub audit {
	my ($id, $action) = @_;
	return sql("SELECT count(*) FROM project_management."
	    . "pm_recording_access_logs WHERE recording_id = '$id' "
	    . "AND action = '$action'");
}

# A completed recording, stored by the reaper in local storage.
$s->room(code => 'headroom', host => $host);
my $r = $s->api(POST => '/recordings/start', token => $tok,
    json => { room_code => 'headroom' });
is($r->{status}, 201, 'a recording starts') or diag($r->{body});
my $id = $r->{json}{recording_id};
$s->standin_idle;
sleep 1.2;
is($s->api(POST => "/recordings/$id/stop", token => $tok)->{status}, 202,
    'and stops');
$s->standin_idle;
is($s->reaper->{rc}, 0, 'the reaper stores it');

# Headers that may differ between two answers to the same request.
my %varies = map { $_ => 1 } qw(date last-modified etag);

# same($what, $get, $head) - HEAD answered as GET, without the body.
sub same {
	my ($what, $get, $head, %o) = @_;
	is($head->{status}, $get->{status}, "$what: HEAD answers "
	    . "$get->{status} as GET does");
	is($head->{body}, '', "$what: HEAD has no body");
	my %g = %{ $get->{headers} };
	my %h = %{ $head->{headers} };
	delete @g{keys %varies, @{ $o{ignore} // [] }};
	delete @h{keys %varies, @{ $o{ignore} // [] }};
	is_deeply(\%h, \%g, "$what: HEAD has GET's headers");
	is($head->{headers}{'content-length'}, length $get->{body},
	    "$what: HEAD's Content-Length is the length of GET's body")
	    unless $o{ignore} && grep { $_ eq 'content-length' }
	    @{ $o{ignore} };
}

sub both {
	my ($what, $path, %a) = @_;
	my $get = $s->api(GET => $path, %a);
	my $head = $s->api(HEAD => $path, %a);
	return ($get, $head);
}

# Every GET route of fcgi/routes.def, and the document nginx serves.
my %a = (token => $tok);
same('healthz', both(healthz => '/healthz'));
same('recordings list', both(list => '/recordings/?limit=5', %a));
my ($get, $head) = both(recording => "/recordings/$id", %a);
# The signed download_url holds the second it was made in: the length
# of the body stays, its bytes may not.
same('recording', $get, $head);
same('recording status', both(status => "/recordings/$id/status", %a));
same('access log', both(log => "/recordings/$id/access-log", %a));
same('share links', both(shares => "/recordings/$id/shares", %a));
same('admin list', both(admin => '/admin/recordings/', token => $atok));
same('admin stats', both(stats => '/admin/stats', token => $atok));
($get, $head) = both(metrics => '/metrics');
# The counters move between two scrapes; the length with them.
same('metrics', $get, $head, ignore => ['content-length']);
ok($head->{headers}{'content-length'} > 0, 'metrics: HEAD says how long '
    . 'the text is');
same('openapi.json', both(openapi => '/openapi.json'));

# Errors too: the same status and headers, no body.
same('a 404', both(missing => '/recordings/' . uuid(), %a));
same('a 401', both(no_token => '/recordings/'));
same('a 400', both(bad_id => '/recordings/nope', %a));
same("nginx's 404", both(nowhere => '/nowhere'));

# 405 names HEAD with GET.
$r = $s->api(PUT => '/healthz');
is($r->{status}, 405, 'PUT on healthz: 405');
is($r->{headers}{allow}, 'GET, HEAD', 'Allow: GET, HEAD');
$r = $s->api(PUT => "/recordings/$id", %a);
is($r->{headers}{allow}, 'GET, HEAD, DELETE', 'Allow on a recording: GET, '
    . 'HEAD, DELETE');
$r = $s->api(HEAD => '/recordings/start', %a);
is($r->{status}, 405, 'HEAD where there is no GET: 405');
is($r->{headers}{allow}, 'POST', 'Allow: POST');

# The file, by token and by signed link: nginx serves HEAD of the
# internal location with the file's length, and nothing is audited.
my $views = audit($id, 'view');
my $dl = audit($id, 'download');
is($views, 1, 'the GET of the recording above wrote one view');
$head = $s->api(HEAD => "/recordings/$id", %a);
is(audit($id, 'view'), $views, 'HEAD of the recording writes no view');
$head = $s->api(HEAD => "/recordings/$id/download", %a);
is($head->{status}, 200, 'HEAD of the download: 200');
my $size = sql("SELECT file_size_bytes FROM project_management."
    . "pm_meeting_recordings WHERE id = '$id'");
is($head->{headers}{'content-length'}, $size, 'with the file size');
is($head->{headers}{'content-type'}, 'video/mp4', 'and its type');
is($head->{body}, '', 'and no body');
is(audit($id, 'download'), $dl, 'HEAD of the download writes no audit row');
my $url = $s->api(GET => "/recordings/$id", %a)->{json}{download_url};
$head = http(HEAD => $url);
is($head->{status}, 200, 'HEAD of a signed download link: 200');
is($head->{headers}{'content-length'}, $size, 'with the file size');
is(audit($id, 'download'), $dl, 'and no audit row');
$head = http(HEAD => $url, { headers => { Range => 'bytes=10-19' } });
is($head->{status}, 206, 'HEAD with a Range: 206');
is($head->{headers}{'content-length'}, 10, 'of the range');
$get = http(GET => $url);
is($get->{status}, 200, 'GET of the signed link: 200');
is(length $get->{body}, $size, 'the whole file');
is(audit($id, 'download'), $dl + 1, 'GET writes the download row');

# A share link: HEAD neither counts a view nor writes share_view.
$r = $s->api(POST => "/recordings/$id/shares", %a, json => {},
    from => '127.0.1.1');
is($r->{status}, 201, 'a share link') or diag($r->{body});
my ($sid, $surl) = @{ $r->{json} }{qw(share_id url)};
sub viewcount {
	return sql("SELECT view_count FROM project_management."
	    . "pm_recording_shares WHERE id = '$sid'");
}
my $sv = audit($id, 'share_view');
$head = http(HEAD => $surl);
is($head->{status}, 200, 'HEAD of the share link: 200');
is($head->{body}, '', 'no body');
is(viewcount(), 0, 'no view counted');
is(audit($id, 'share_view'), $sv, 'no share_view row');
$head = http(HEAD => $surl, { headers => { Accept => 'text/html' } });
is($head->{status}, 200, 'HEAD of the player page: 200');
like($head->{headers}{'content-type'}, qr{^text/html}, 'HTML');
is(viewcount(), 0, 'still no view counted');
$get = http(GET => $surl);
is($get->{status}, 200, 'GET of the share link: 200');
is(viewcount(), 1, 'counts the view');
$head = http(HEAD => $surl);
same('share link', $get, $head);
my $furl = $get->{json}{file_url};
$dl = audit($id, 'download');
same('share file', http(GET => $furl), http(HEAD => $furl));
is(audit($id, 'download'), $dl + 1, 'only the GET of the shared file is '
    . 'audited');
sql("UPDATE project_management.pm_recording_audit_marks SET until = "
    . "now() - interval '1 second' WHERE recording_id = '$id'");
http(HEAD => $furl);
is(audit($id, 'download'), $dl + 1, 'a HEAD after the viewing ran out '
    . 'writes none either');

# HEAD is counted under its own method.
my $m = $s->api(GET => '/metrics')->{body};
like($m, qr/meetrec_http_requests_total\{route="healthz",method="HEAD",status="200"\} [1-9]/,
    'metrics count HEAD requests as HEAD');

$s->finish;
done_testing();
