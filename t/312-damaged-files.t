#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A recording whose file the probe cannot read to its end - cut short,
# damaged - is never stored as if it were whole.  Whether the reaper took
# the file from the spool because LiveKit forgot the egress (once the file
# has stopped changing for spool_quiet_seconds) or because egress_ended
# said it was complete, the recording ends failed at once with the
# damage named, and the spool file stays as it was.  An admin retry with
# {"accept_as_is": true} then stores it deliberately: completed, no
# duration, the probe's finding kept; a plain retry is refused the same
# way; bad retry bodies are 4xx JSON.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp spew src_root json_encode);

Meetrec::Test::Stack::require_prereqs();
# spool_quiet_seconds stays at its default (300 s): the test moves file
# times back rather than waiting.
my $s = Meetrec::Test::Stack->new(conf => { stale_pending_seconds => 5 });
my ($co, $host, $boss, $colleague) = (uuid(), uuid(), uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $adm = $s->token(user => $boss, company => $co, username => 'boss',
    role => 'admin');
my $ctok = $s->token(user => $colleague, company => $co,
    username => 'colleague');
my $T = 'project_management.pm_meeting_recordings';
my $spool = $s->config('spool_dir');
my $store = $s->config('storage_local_dir');
my $fx = src_root() . '/t/fixtures';

sub q1 { $s->pg->psql($_[0]) }
sub col { my ($id, $c) = @_; q1("SELECT $c FROM $T WHERE id = '$id'") }
sub st { col($_[0], "status || '|' || coalesce(egress_status, '')") }
# Make a row look old enough for the stale pass.
sub age { q1("UPDATE $T SET created_at = created_at - interval '1 hour', "
    . "egress_seen_at = now() - interval '1 hour', next_attempt_at = NULL "
    . "WHERE id = '$_[0]'") }
# As if nothing had written the file for ten minutes.
sub settle { my $t = time - 600; utime($t, $t, $_[0]) or die "$_[0]: $!" }
my $n = 0;
sub room { my $c = 'dmg' . ++$n; $s->room(code => $c, name => $c,
    host => $host, company => $co); $c }
sub start {
	my ($audio) = @_;
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => room(), $audio ? (audio_only => \1) : () });
	is($r->{status}, 201, 'recording started') or diag($r->{body});
	$s->standin_idle;
	return ($r->{json}{recording_id}, $r->{json}{egress_id});
}
sub retry {
	my ($id, %a) = @_;
	return $s->api(POST => "/api/admin/recordings/$id/retry",
	    token => $adm, %a);
}
# The admin list's entry for id, with ?status=...
sub listed {
	my ($id, $status) = @_;
	my $r = $s->api(GET => "/api/admin/recordings/?status=$status"
	    . '&limit=200', token => $adm);
	my ($it) = grep { $_->{id} eq $id } @{ $r->{json}{recordings} // [] };
	return $it;
}

# What must hold of a recording failed for its damaged file.
sub failed_as_damaged {
	my ($id, $file, $bytes, $finding, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is(st($id), 'failed|EGRESS_COMPLETE', "$name: failed, not completed");
	my $le = col($id, 'last_error');
	like($le, qr/\bdamaged\b/, "$name: last_error says it is damaged");
	like($le, $finding, "$name: last_error names the damage");
	like($le, qr/kept in the spool/, "$name: and that the file is kept");
	like($le, qr/"accept_as_is": true/, "$name: and how to store it");
	is(col($id, "coalesce(duration_seconds::text, 'null')"), 'null',
	    "$name: no duration");
	ok(-e $file && sha256_hex(slurp($file)) eq sha256_hex($bytes),
	    "$name: the spool file is still there, byte for byte");
	is(col($id, "coalesce(storage_path, 'none')"), 'none',
	    "$name: nothing stored");
	my $it = listed($id, 'failed');
	ok($it, "$name: in the admin list with status=failed");
	like($it->{last_error} // '', $finding, "$name: listed with its error");
	like($it->{media_finding} // '', $finding,
	    "$name: listed with the probe's finding");
}

# What must hold once an admin had it stored as it is.
sub stored_as_is {
	my ($id, $file, $bytes, $finding, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is(st($id), 'completed|EGRESS_COMPLETE', "$name: completed");
	is(col($id, "coalesce(duration_seconds::text, 'null')"), 'null',
	    "$name: duration unknown (null)");
	ok(!-e $file, "$name: the spool file is removed");
	my $path = col($id, 'storage_path');
	ok(-f "$store/$path" && sha256_hex(slurp("$store/$path")) eq
	    sha256_hex($bytes), "$name: the stored copy is the file, byte for "
	    . 'byte');
	is(col($id, 'checksum_sha256'), sha256_hex($bytes),
	    "$name: its checksum recorded");
	my $r = $s->api(GET => "/api/recordings/$id", token => $tok);
	is($r->{status}, 200, "$name: details for the owner");
	like($r->{json}{media_finding} // '', $finding,
	    "$name: the details show the finding");
	ok(exists $r->{json}{duration_seconds} &&
	    !defined $r->{json}{duration_seconds},
	    "$name: duration_seconds null in the details");
	my $it = listed($id, 'completed');
	like($it->{media_finding} // '', $finding,
	    "$name: the admin list shows the finding");
}

# 1. The reported case: a recording runs, the first 5,000 bytes of an MP4
# are in the spool under its name, and LiveKit forgets the egress.
my ($id, $eg) = start();
my $file = "$spool/$id.mp4";
my $mp4 = substr(slurp("$fx/play.mp4"), 0, 5000);
spew($file, $mp4);
is($s->standin(POST => '/_standin/forget', { egress_id => $eg })->{status},
    200, 'LiveKit forgot the egress');
age($id);
my $r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$id\E action=wait reason=spool_changing/,
    'a file changed within the quiet period is not taken');
like(st($id), qr/^recording\|/, 'the row is left as it was');
# It is still being written: it grows, and is still not taken.
spew($file, $mp4 . 'x');
age($id);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$id\E action=wait/, 'a growing file: still waiting');
like(st($id), qr/^recording\|/, 'still not taken');
spew($file, $mp4);
settle($file);
age($id);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$id\E action=process_spool/,
    'quiet long enough: the spool file is taken');
like($r->{err}, qr/rec=\Q$id\E action=failed reason=damaged/,
    'the upload fails it at once');
unlike($r->{err}, qr/rec=\Q$id\E action=retry_later/, 'no retry is planned');
my $cut = qr/Box 'mdat' at offset 2620 \(12593 bytes\) overruns the file, which ends at 5000/;
failed_as_damaged($id, $file, $mp4, $cut, 'MP4 cut at 5,000 bytes');
$r = $s->reaper('--pass', 'stale,upload');
is(st($id), 'failed|EGRESS_COMPLETE', 'another run changes nothing');

# A plain retry would fail the same way: refused, the row as it was.
$r = retry($id);
is($r->{status}, 409, 'plain retry of a damaged file: 409') or diag($r->{body});
is($r->{json}{code}, 'damaged_media', 'code damaged_media');
like($r->{json}{detail} // '', $cut, 'the detail names the damage');
like($r->{json}{detail} // '', qr/accept_as_is/, 'and the way out');
is(st($id), 'failed|EGRESS_COMPLETE', 'the recording stays failed');

# Hostile bodies: 4xx JSON naming the problem, nothing changed.
for my $bad (
    [ json => { accept_as_is => 'yes' }, 422, 'invalid_field',
      qr/'accept_as_is'/ ],
    [ json => { accept_as_is => 1 }, 422, 'invalid_field',
      qr/'accept_as_is'/ ],
    [ json => { accept_as_is => [\1] }, 422, 'invalid_field',
      qr/'accept_as_is'/ ],
    [ json => { accept_as_is => { yes => \1 } }, 422, 'invalid_field',
      qr/'accept_as_is'/ ],
    [ json => { accept_as_is => \1, force => \1 }, 422, 'unknown_field',
      qr/'force'/ ],
    [ json => { accept_as_is => undef }, 409, 'damaged_media', $cut ],
    [ raw => '[true]', 422, 'invalid_body', qr/object/ ],
    [ raw => 'accept_as_is=true', 400, 'invalid_json', qr/./ ],
    [ raw => '{"accept_as_is": tru', 400, 'invalid_json', qr/./ ],
    [ raw => '{"accept_as_is": true} {}', 400, 'invalid_json', qr/./ ],
    [ raw => '"' . ('a' x 70000) . '"', 413, undef, qr/./ ],
) {
	my ($how, $body, $status, $code, $detail) = @$bad;
	my $what = $how eq 'json' ? json_encode($body)
	    : $body;
	$what = substr($what, 0, 40);
	$r = retry($id, $how => $body,
	    $how eq 'raw' ? (headers => { 'Content-Type' =>
	    'application/json' }) : ());
	if (defined $status) {
		is($r->{status}, $status, "retry $what: $status")
		    or diag($r->{body});
	} else {
		ok($r->{status} >= 400 && $r->{status} < 500,
		    "retry $what: 4xx ($r->{status})");
	}
	is($r->{json}{code}, $code, "retry $what: code $code") if defined $code;
	like($r->{json}{detail} // '', $detail, "retry $what: a detail");
}
is(st($id), 'failed|EGRESS_COMPLETE', 'no refused body changed the row');
ok(-e $file, 'nor touched the file');

# Stored deliberately.
$r = retry($id, json => { accept_as_is => \1 });
is($r->{status}, 202, 'retry with accept_as_is: 202') or diag($r->{body});
is($r->{json}{status}, 'processing', 'queued again');
ok($r->{json}{accept_as_is}, 'as it is');
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the upload pass succeeds') or diag($r->{err});
like($r->{err}, qr/rec=\Q$id\E action=uploaded .* as_is=1/,
    'stored as it is');
stored_as_is($id, $file, $mp4, $cut, 'MP4 stored as it is');
# The finding is for the owner and admins, not every viewer.
$r = $s->api(PUT => "/api/recordings/$id/access", token => $tok,
    json => { is_public => \1, allowed_viewers => [] });
is($r->{status}, 200, 'made visible to the company') or diag($r->{body});
$r = $s->api(GET => "/api/recordings/$id", token => $ctok);
is($r->{status}, 200, 'a colleague may view it');
is($r->{json}{media_finding}, undef, 'without the finding (null)');

# 2. Audio only: an Ogg cut at a page boundary (a prefix the probe used
# to measure by what it held), LiveKit forgot the egress.
($id, $eg) = start(1);
$file = "$spool/$id.ogg";
my $ogg = substr(slurp("$fx/opus.ogg"), 0, 1673);
spew($file, $ogg);
$s->standin(POST => '/_standin/forget', { egress_id => $eg });
settle($file);
age($id);
$r = $s->reaper('--pass', 'stale,upload');
like($r->{err}, qr/rec=\Q$id\E action=failed reason=damaged/,
    'a cut Ogg fails at once');
my $eos = qr/stops without its end-of-stream page: the file was cut short/;
failed_as_damaged($id, $file, $ogg, $eos, 'Ogg cut at a page boundary');
$r = retry($id);
is($r->{json}{code}, 'damaged_media', 'plain retry refused: damaged_media');
$r = retry($id, json => { accept_as_is => \1 });
is($r->{status}, 202, 'retry with accept_as_is') or diag($r->{body});
$s->reaper('--pass', 'upload');
stored_as_is($id, $file, $ogg, $eos, 'Ogg stored as it is');

# 3. egress_ended says EGRESS_COMPLETE, but the file in the spool is cut
# short before the reaper gets to it.
($id) = start();
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
is($r->{status}, 202, 'stopped');
$s->standin_idle;
is(st($id), 'processing|EGRESS_COMPLETE', 'LiveKit reported a complete file');
$file = "$spool/$id.mp4";
my $whole = slurp($file);
my $half = substr($whole, 0, length($whole) - 1000);
spew($file, $half);
# An earlier attempt, killed after its put and before it wrote the row,
# left the whole file at the recording's key (store.h's mr_store_key).
my $key = q1("SELECT room_code || '/recording_' || to_char(to_timestamp("
    . 'round(extract(epoch FROM coalesce(started_at, created_at)))) AT TIME '
    . "ZONE 'UTC', 'YYYYMMDD_HH24MISS') || '_' || left(id::text, 8) || "
    . "'.mp4' FROM $T WHERE id = '$id'");
make_path(dirname("$store/$key"));
spew("$store/$key", $whole);
# And another, killed in the middle of its put, its part file.
(my $part = "$store/$key") =~ s{([^/]+)\z}{.$1.part};
spew($part, substr($whole, 0, 4096));
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 1, 'the upload pass reports a failure');
like($r->{err}, qr/rec=\Q$id\E action=failed reason=damaged/,
    'failed at once, not retried later');
my $overrun = qr/Box 'mdat' at offset \d+ \(\d+ bytes\) overruns the file/;
failed_as_damaged($id, $file, $half, $overrun, 'MP4 cut after egress_ended');
ok(!-e "$store/$key", 'what an earlier attempt stored at its key is removed '
    . '(the spool file stays, and a retry stores it)');
ok(!-e $part, 'and the part file of an attempt killed in its put');
is(col($id, 'upload_attempts'), 0, 'no upload was attempted');
$r = retry($id);
is($r->{status}, 409, 'plain retry: 409');
is($r->{json}{code}, 'damaged_media', 'damaged_media');
$r = retry($id, json => { accept_as_is => \1 });
is($r->{status}, 202, 'retry with accept_as_is') or diag($r->{body});
$s->reaper('--pass', 'upload');
stored_as_is($id, $file, $half, $overrun, 'MP4 stored after egress_ended');
is(col($id, 'storage_path'), $key, 'stored at the key the leftover had');

# 4. accept_as_is on a whole file stores it as usual, with its duration.
($id) = start();
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin_idle;
q1("UPDATE $T SET status = 'failed', last_error = 'upload failed' "
    . "WHERE id = '$id'");
$r = retry($id, json => { accept_as_is => \1 });
is($r->{status}, 202, 'accept_as_is on a whole file') or diag($r->{body});
$s->reaper('--pass', 'upload');
is(st($id), 'completed|EGRESS_COMPLETE', 'completed');
ok(col($id, 'duration_seconds') > 0, 'with its duration');
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
ok(exists $r->{json}{media_finding} && !defined $r->{json}{media_finding},
    'and no finding');

# 5. LiveKit wrote the file under another name inside the spool (its
# FileInfo names it, file_name), so {id}.mp4 is not there.  The reaper
# takes that file; an admin retry looks at the same file: a plain retry
# is refused for the damage (not "no longer in the spool"), accept_as_is
# stores it.
($id) = start();
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin_idle;
$whole = slurp("$spool/$id.mp4");
unlink "$spool/$id.mp4" or die "$spool/$id.mp4: $!";
$file = "$spool/egress-renamed-$id.mp4";
$half = substr($whole, 0, length($whole) - 1000);
spew($file, $half);
q1("UPDATE $T SET file_name = '$file' WHERE id = '$id'");
$r = $s->reaper('--pass', 'upload');
like($r->{err}, qr/rec=\Q$id\E action=failed reason=damaged/,
    'the file under LiveKit\'s name is probed: damaged');
failed_as_damaged($id, $file, $half, $overrun, 'MP4 under another name');
$r = retry($id);
is($r->{status}, 409, 'plain retry: 409') or diag($r->{body});
is($r->{json}{code}, 'damaged_media',
    'refused for the damage of the file the reaper would take');
$r = retry($id, json => { accept_as_is => \1 });
is($r->{status}, 202, 'retry with accept_as_is') or diag($r->{body});
$s->reaper('--pass', 'upload');
stored_as_is($id, $file, $half, $overrun, 'MP4 under another name stored');

$s->finish;
done_testing();
