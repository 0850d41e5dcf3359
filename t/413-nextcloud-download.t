#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 413-nextcloud-download.t - downloads from Nextcloud storage, the whole
# stack: record, stop, the reaper uploads to t/nextcloud/ncserver.mjs,
# then GET /api/recordings/{id}/download answers 302 to a direct link
# (/remote.php/direct/<token>, Nextcloud's direct download API, made with
# a PROPFIND for oc:fileid and an OCS call).  The link needs no
# credentials and serves exactly the stored bytes, Range included.  A
# non-viewer gets no link; a failing direct API gives a 502-class JSON
# error, not a 500; a file gone from storage a 404; only the successful
# download is written to the access log.

use strict;
use warnings;

use Digest::SHA ();
use Test::More;

use Meetrec::Test::Stack;
use Meetrec::Test::Nextcloud;
use Meetrec::Test::Util qw(uuid http slurp);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));

my ($s, $nc) = Meetrec::Test::Nextcloud->with_stack(sharees => ['alice']);
my $USER = $nc->user;
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'alice');
my $T = 'project_management.pm_meeting_recordings';
my $L = 'project_management.pm_recording_access_logs';
my $DIRECT = '/ocs/v2.php/apps/dav/api/v1/direct';
$s->room(code => 'dl-room', name => 'Download room', host => $host,
    company => $co);

sub downloads {
	return $s->pg->psql("SELECT count(*) FROM $L WHERE recording_id = "
	    . "'$_[0]' AND action = 'download'");
}

sub hdr {
	my ($r, $name) = @_;
	my $v = $r->{headers}{$name};
	return ref $v eq 'ARRAY' ? $v->[0] : $v;
}

# Record, stop, and let the reaper store it in Nextcloud.
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'dl-room' });
is($r->{status}, 201, 'recording started') or diag explain $r;
my $id = $r->{json}{recording_id};
$s->standin(POST => '/_standin/wait', { idle => \1 });
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin(POST => '/_standin/wait', { idle => \1 });
my $spool = $s->config->{spool_dir} . "/$id.mp4";
ok(-s $spool, 'the egress wrote a spool file');
my $spool_sha = Digest::SHA->new(256)->addfile($spool, 'b')->hexdigest;
my $size = -s $spool;
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the reaper uploads to Nextcloud') or diag $r->{err};
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
is($r->{json}{status}, 'completed', 'completed');
is($r->{json}{storage_type}, 'nextcloud', 'in Nextcloud')
    if exists $r->{json}{storage_type};
my $sha = $r->{json}{checksum_sha256};
is($sha, $spool_sha, 'checksum_sha256 is the spool file\'s');
my $path = $r->{json}{storage_path};
my $stored = $nc->file_path("Recordings/$path");
ok(-f $stored, 'the file is in the Recordings folder');
is(downloads($id), 0, 'no download logged yet');

# 1. The owner: 302 to a direct link on the Nextcloud server.
my $n = $nc->log_count;
$r = $s->api(GET => "/api/recordings/$id/download", token => $tok);
is($r->{status}, 302, 'download answers 302') or diag explain $r;
my $loc = hdr($r, 'location') // '';
like($loc, qr{^\Q${\ $nc->url }\E/remote\.php/direct/[A-Za-z0-9]{60}$},
    'to a direct link on the Nextcloud server');
my @log = @{ $nc->log_entries(since => $n) };
is_deeply([ map { "$_->{method} $_->{path}" } @log ],
    [ "PROPFIND /remote.php/dav/files/$USER/Recordings/$path",
    "POST $DIRECT" ], 'made with a PROPFIND and one direct API call');
my ($d) = @{ $nc->state->{directs} };
ok($d && $d->{ttl} >= 1 && $d->{ttl} <= 86400,
    'with an expirationTime the API accepts (' . ($d->{ttl} // '?') . ')');
is(downloads($id), 1, 'the download is logged');

# The link: no credentials, the exact bytes, Range.
$r = http(GET => $loc);
is($r->{status}, 200, 'the link answers 200 without credentials');
is(hdr($r, 'content-type'), 'video/mp4', 'as video/mp4');
is(hdr($r, 'content-length'), $size, 'with the file\'s length');
is(Digest::SHA::sha256_hex($r->{body}), $sha,
    'exactly the recorded bytes (SHA-256 as checksum_sha256)');
$r = http(GET => $loc, { headers => { Range => 'bytes=8-107' } });
is($r->{status}, 206, 'a Range request to it gets 206');
is(hdr($r, 'content-range'), "bytes 8-107/$size",
    'with Content-Range');
is($r->{body}, substr(slurp($stored), 8, 100), 'and the right slice');
$r = http(GET => $loc, { headers => { Range => "bytes=$size-" } });
is($r->{status}, 416, 'a Range past the end gets 416');

# 2. Others get no link, and nothing is logged for them.
$n = $nc->log_count;
my $peer = $s->token(user => uuid(), company => $co, username => 'peer');
$r = $s->api(GET => "/api/recordings/$id/download", token => $peer);
like($r->{status}, qr/^40[34]$/, "a non-viewer gets $r->{status}");
ok(!defined hdr($r, 'location'), 'and no Location');
my $outsider = $s->token(user => uuid(), company => uuid(),
    username => 'out');
$r = $s->api(GET => "/api/recordings/$id/download", token => $outsider);
like($r->{status}, qr/^40[34]$/, "another company's user gets "
    . $r->{status});
ok(!defined hdr($r, 'location'), 'and no Location');
is($s->api(GET => "/api/recordings/$id/download")->{status}, 401,
    'no token: 401');
is(scalar @{ $nc->log_entries(since => $n) }, 0,
    'Nextcloud was not asked for a link for them');

# 3. The direct API fails: a 502-class JSON error that says so.
$nc->faults({ direct_status => 503 });
$r = $s->api(GET => "/api/recordings/$id/download", token => $tok);
like($r->{status}, qr/^50[234]$/, "a failing direct API gives "
    . "$r->{status}, not 500");
is($r->{json}{code}, 'storage_error', 'code storage_error')
    or diag explain $r->{json};
like($r->{json}{detail} // '', qr/HTTP 503 while creating a download link/,
    'the detail names the problem');
ok(!defined hdr($r, 'location'), 'no Location');
$nc->faults({ direct_bad_url => 'javascript:alert(1)' });
$r = $s->api(GET => "/api/recordings/$id/download", token => $tok);
like($r->{status}, qr/^50[234]$/, 'a link that is not http(s) is refused '
    . "($r->{status})");
ok(!defined hdr($r, 'location'), 'and never sent as Location');
$nc->faults({});

# 4. The file is gone from Nextcloud: a clear 404, not a 500.
rename $stored, "$stored.away" or die "rename: $!";
$r = $s->api(GET => "/api/recordings/$id/download", token => $tok);
is($r->{status}, 404, 'a file missing from storage gives 404');
is($r->{json}{code}, 'file_missing', 'code file_missing');
like($r->{json}{detail} // '', qr/missing from the storage server/,
    'saying so');
rename "$stored.away", $stored or die "rename: $!";

is(downloads($id), 1, 'only the successful download was logged');

is($nc->stop, 0, 'teardown: ncserver exited with status 0')
    or diag $nc->log_content;
$s->finish;
done_testing();
