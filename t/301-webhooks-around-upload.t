#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Webhooks repeated, late or out of order around the upload change
# nothing: a recording waiting for the reaper stays queued, and a
# completed one stays completed with the file it has.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_base64);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid jwt_hs256 json_encode);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $T = 'project_management.pm_meeting_recordings';

sub snapshot {
	return $s->pg->psql("SELECT concat_ws('|', status, egress_status, "
	    . "file_size_bytes, duration_seconds, storage_path, "
	    . "checksum_sha256, upload_attempts) FROM $T WHERE id = '$_[0]'");
}

# A webhook LiveKit could send: signed the way LiveKit signs.
my $nev = 0;
sub hook {
	my ($info, $event) = @_;
	my $body = json_encode({ event => $event, id => 'EV_late' . ++$nev,
	    createdAt => time . '', egressInfo => $info });
	my $jwt = jwt_hs256($s->lk_secret, { iss => $s->lk_key,
	    nbf => time - 1, exp => time + 300,
	    sha256 => sha256_base64($body) . '=' });
	return $s->api(POST => '/api/livekit/webhook', raw => $body,
	    headers => { Authorization => $jwt,
	    'Content-Type' => 'application/webhook+json' })->{status};
}

$s->room(code => 'around', name => 'around', host => $host, company => $co);
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'around' });
my ($id, $eg) = @{ $r->{json} }{qw(recording_id egress_id)};
$s->standin(POST => '/_standin/wait', { idle => \1 });
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin(POST => '/_standin/wait', { idle => \1 });
my $queued = snapshot($id);
like($queued, qr/^processing\|EGRESS_COMPLETE\|\d+/, 'queued for upload');

# While it waits: every webhook replayed, and late updates.
my @h = @{ $s->standin(GET => '/_standin/webhooks')->{json}{webhooks} };
my $replays = 0;
for my $w (@h) {
	my $x = $s->standin(POST => '/_standin/resend',
	    { index => $w->{index} })->{json};
	$replays++ if $x->{status} == 200;
}
is($replays, scalar @h, 'every replay answered 200');
is(hook({ egressId => $eg, status => 'EGRESS_ACTIVE',
    updatedAt => '1' }, 'egress_updated'), 200, 'a late ACTIVE update: 200');
is(hook({ egressId => $eg, status => 'EGRESS_ENDING' }, 'egress_updated'),
    200, 'a late ENDING update: 200');
is(snapshot($id), $queued, 'the queued recording did not move');

# Uploaded; then the same again, plus a second "ended" with other data.
is($s->reaper('--pass', 'upload')->{rc}, 0, 'uploaded');
my $done = snapshot($id);
like($done, qr/^completed\|/, 'completed');
for my $w (@h) {
	$s->standin(POST => '/_standin/resend', { index => $w->{index} });
}
is(hook({ egressId => $eg, status => 'EGRESS_FAILED', error => 'late' },
    'egress_ended'), 200, 'a late FAILED with a new id: 200');
is(hook({ egressId => $eg, status => 'EGRESS_COMPLETE', fileResults =>
    [{ filename => "/elsewhere/$id.mp4", size => '1', location =>
    "/elsewhere/$id.mp4" }] }, 'egress_ended'), 200,
    'a second COMPLETE naming another file: 200');
is(snapshot($id), $done, 'the completed recording did not change');
is($s->reaper('--pass', 'upload')->{err} =~ /done items=0/ ? 1 : 0, 1,
    'and nothing was queued again');

$s->finish;
done_testing();
