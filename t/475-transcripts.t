#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 475-transcripts.t - record, stop, completed, transcribed, searched, the
# whole way with real parts: espeak-ng speaks known sentences, mkspeech
# places them at known times in a meeting (MP4 with video, and an
# audio-only Ogg/Opus), the LiveKit stand-in writes that file as the
# egress output, the reaper stores it and its transcribe pass reads it
# back from storage, cuts it into pieces and sends them to the
# speech-to-text stand-in (t/asr), which "hears" each sentence by its
# audio and answers verbose_json with times inside the piece.  So every
# time the API answers went through the cutting and the offsets.
#
# Then: the transcript (JSON and text), the captions checked by a real
# WebVTT parser (t/vtt, W3C's), the chapters, search (a word said at
# 1:42 found at 1:42, and only by those who may view the recording), the
# share link's captions, asking again, and a server that fails: 500 and
# 429 retried within the pass, down (the attempt ends and backs off), a
# 413 (failed for good with the reason), and a slow server holding up
# nothing else of a watching reaper.  Integrators are told: a transcript
# made and a transcription failed for good are signed webhook events
# (checked by t/webhooks, the specification's library), and the same
# events in GET /api/events.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Asr;
use Meetrec::Test::Receiver;
use Meetrec::Test::Proc qw(run_cmd wait_for);
use Meetrec::Test::Util qw(build_root json_decode uuid http slurp);

my $bld = build_root();
my $mkspeech = "$bld/t/unit/mkspeech";
my ($espeak) = grep { -x $_ && !-d $_ } map { "$_/espeak-ng" }
    split /:/, $ENV{PATH} // '';
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Stack::prereqs_missing(),
    Meetrec::Test::Asr::prereqs_missing(),
    Meetrec::Test::Receiver::prereqs_missing(),
    Meetrec::Test::Stack::node_missing('t/vtt/validate.mjs', 't/vtt',
	'webvtt-parser'),
    (-x $mkspeech ? () : "$mkspeech is not built (make check builds it)"),
    ($espeak ? () : 'espeak-ng is not installed'));

my $dir = ($ENV{MEETREC_TEST_TMPDIR} // "$bld/t/tmp_check")
    . '/475-transcripts-media';
remove_tree($dir) if -e $dir;
make_path($dir);

# The meeting: when each sentence is said (seconds), and what.  The
# lengths differ, so the stand-in tells them apart by their sound.
my @said = (
	[ 4, 'Good morning everyone and welcome to the quarterly planning '
	    . 'meeting of the whole team.' ],
	[ 31, 'The marketing budget grows next year.' ],
	[ 58, 'Please send me the revised figures before Friday afternoon so '
	    . 'that finance can check them.' ],
	[ 102, 'The giraffe project ships in March.' ],
	[ 128, 'Thank you all for coming today, and see you next week at the '
	    . 'same time in this room.' ],
);
my $LENGTH = 150;
my $TOL = 0.6;			# seconds between said and found

my @script;
my $i = 0;
for my $s (@said) {
	my $wav = "$dir/s" . ++$i . '.wav';
	my $r = run_cmd([ $espeak, '-v', 'en', '-w', $wav, $s->[1] ],
	    timeout => 60);
	BAIL_OUT("espeak-ng: $r->{err}") unless $r->{rc} == 0 && -s $wav;
	push @script, { text => $s->[1], wav => $wav };
}

sub meeting_file {
	my ($out, @extra) = @_;
	my $r = run_cmd([ $mkspeech, '--out', $out, '--duration', $LENGTH,
	    @extra, map { ('--at', $said[$_][0], $script[$_]{wav}) }
	    0 .. $#said ], timeout => 300);
	BAIL_OUT("mkspeech $out: $r->{err}") unless $r->{rc} == 0 && -s $out;
	return $out;
}
my $mp4 = meeting_file("$dir/meeting.mp4", '--video');
my $ogg = meeting_file("$dir/meeting.ogg");

my $asr = Meetrec::Test::Asr->new(dir => "$dir/asr");
$asr->script(\@script);
# About 31 s of audio a piece: a meeting of 150 s is cut four times.
my $s = Meetrec::Test::Stack->new(conf => {
	asr_url => $asr->url,
	asr_language => 'en',
	asr_max_bytes => 1_000_000,
	asr_backoff_seconds => 1,
	asr_max_attempts => 3,
	asr_timeout_seconds => 5,
	webhook_allow_private => 1,
});
my $rx = Meetrec::Test::Receiver->new(dir => "$dir/receiver");
my ($co, $host, $viewer, $stranger) = (uuid(), uuid(), uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $vtok = $s->token(user => $viewer, company => $co, username => 'viewer');
my $stok = $s->token(user => $stranger, company => $co,
    username => 'stranger');
my $atok = $s->token(user => uuid(), company => $co, role => 'admin');
my $hook = $s->api(POST => '/api/admin/webhooks', token => $atok,
    json => { url => $rx->url('tr'), events => [ 'recording.transcribed',
    'recording.transcription_failed' ] });
is($hook->{status}, 201, 'an endpoint for the transcripts\' events')
    or diag($hook->{body});
$rx->add_endpoint('tr', $hook->{json}{secret} // '');
my $otok = $s->token(user => uuid(), company => uuid(), role => 'admin');

sub tr_row {
	my ($id) = @_;
	my $line = $s->pg->psql("SELECT concat_ws('|', status, attempts, "
	    . "coalesce(last_error, ''), next_attempt_at > now()) FROM "
	    . 'project_management.pm_recording_transcripts '
	    . "WHERE recording_id = '$id'");
	my %r;
	@r{qw(status attempts error later)} = split /\|/, $line, 4;
	return \%r;
}

sub record {
	my ($file, %o) = @_;
	$s->standin(POST => 'output_file', { path => $file });
	my $code = 'tr-' . int(rand(1e9));
	$s->room(code => $code, name => $o{name} // 'Planning', host => $host,
	    company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code,
	    ($o{audio_only} ? (audio_only => JSON::PP::true()) : ()) });
	is($r->{status}, 201, "start in $code") or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin_idle;
	$s->api(POST => "/api/recordings/$id/stop", token => $tok);
	$s->standin_idle;
	return $id;
}

sub transcribe_pass {
	my $r = $s->reaper('--pass', 'transcribe');
	return $r;
}

# The segment said at $t (seconds) in $segs, or undef.
sub near {
	my ($segs, $t) = @_;
	my ($best) = sort { abs($a->{start} - $t) <=> abs($b->{start} - $t) }
	    @$segs;
	return $best && abs($best->{start} - $t) <= $TOL ? $best : undef;
}

# ---- 1. the whole way, MP4 -------------------------------------------
my $id = record($mp4);
$s->reaper('--pass', 'upload');
my $r = $s->api(GET => "/api/recordings/$id/status", token => $tok);
is($r->{json}{status}, 'completed', 'the recording completed');
is($r->{json}{transcript_status}, 'pending',
    'completing it asked for its transcript');
is(tr_row($id)->{status}, 'pending', 'a pending transcript row');

$r = $s->api(GET => "/api/recordings/$id/captions.vtt", token => $tok);
is($r->{status}, 404, 'no captions before the transcript');
is($r->{json}{code}, 'transcript_not_found', '... transcript_not_found');

$r = transcribe_pass();
is($r->{rc}, 0, 'the transcribe pass ran') or diag($r->{err});
like($r->{err}, qr/pass=transcribe rec=$id action=done .*pieces=([5-9])/,
    'it sent the meeting in several pieces');
my @reqs = @{ $asr->requests };
ok(@reqs >= 5, scalar(@reqs) . ' requests reached the server');
ok(!(grep { $_->{bytes} > 1_000_000 + 4096 } @reqs),
    'none larger than asr_max_bytes and its form');
is_deeply([ sort { $a cmp $b } keys %{ { map { (($_->{wav}{rate} // 0)
    . '/' . ($_->{wav}{channels} // 0)) => 1 } @reqs } } ], [ '16000/1' ],
    'every piece 16 kHz mono WAV');
is($reqs[0]{fields}{response_format}, 'verbose_json', 'verbose_json');
is($reqs[0]{fields}{language}, 'en', 'asr_language sent');

$r = $s->api(GET => "/api/recordings/$id/status", token => $tok);
is($r->{json}{transcript_status}, 'done', 'status: done');

$r = $s->api(GET => "/api/recordings/$id/transcript", token => $tok);
is($r->{status}, 200, 'the transcript') or diag($r->{body});
my $tr = $r->{json};
is($tr->{transcript_status}, 'done', 'its status');
my $segs = $tr->{segments};
is(scalar(@$segs), scalar(@said), 'one segment a sentence')
    or diag(explain($segs));
for my $x (@said) {
	my $seg = near($segs, $x->[0]);
	ok($seg, "a segment at $x->[0] s") or next;
	is($seg->{text}, $x->[1], "... saying what was said at $x->[0] s");
	ok($seg->{end} > $seg->{start}, '... ending after it starts');
}
ok(!(grep { $_->{text} eq '[unintelligible]' } @$segs),
    'no sentence cut in two');
ok(ref $tr->{chapters} eq 'ARRAY' && @{ $tr->{chapters} } >= 1,
    'chapters');
ok(abs($tr->{chapters}[0]{start} - $said[0][0]) <= $TOL,
    'the first chapter starts with the first words');
ok(length $tr->{chapters}[0]{title}, 'a title: ' .
    ($tr->{chapters}[0]{title} // ''));

$r = $s->api(GET => "/api/recordings/$id", token => $tok);
is($r->{json}{transcript_status}, 'done', 'details: done');

is_deeply($r->{json}{chapters}, $tr->{chapters}, 'details: the chapters');
$r = $s->reaper('--pass', 'webhooks');
my $ev = eval { $rx->wait_deliveries('tr', count => 1, accepted => 1) }
    // [];
is_deeply([ map { $_->{json}{type} } @$ev ], [ 'recording.transcribed' ],
    'the endpoint was told: recording.transcribed, and only that');
ok(@$ev && $ev->[0]{verified}, '... signed (the standardwebhooks '
    . 'library verified it)');
my $evd = @$ev ? $ev->[0]{json}{data} : {};
is_deeply([ @$evd{qw(recording_id language segments)} ],
    [ $id, 'en', scalar @said ], '... naming the recording, its language '
    . 'and segments');
is($evd->{actor}, undef, '... made by the system');
$r = $s->api(GET => '/api/events', token => $atok);
my ($pulled) = grep { $_->{type} eq 'recording.transcribed' }
    @{ $r->{json}{events} // [] };
is($pulled && $pulled->{webhook_id}, @$ev ? $ev->[0]{id} : 'none',
    '... the same event in GET /api/events');
$rx->clear('tr');

$r = $s->api(GET => "/api/recordings/$id/transcript?format=txt",
    token => $tok);
is($r->{status}, 200, 'the text');
like($r->{headers}{'content-type'}, qr{^text/plain}, '... text/plain');
like($r->{body}, qr/^\[00:01:4[12]\] The giraffe project ships in March\.$/m,
    '... one timed line a segment');

# Captions, checked by W3C's WebVTT parser.
$r = $s->api(GET => "/api/recordings/$id/captions.vtt", token => $vtok);
is($r->{status}, 403, 'captions: not for who may not view it');
$r = $s->api(GET => "/api/recordings/$id/captions.vtt", token => $tok);
is($r->{status}, 200, 'captions');
like($r->{headers}{'content-type'}, qr{^text/vtt}, '... text/vtt');
my $vtt = "$dir/captions.vtt";
open(my $fh, '>', $vtt) or die "$vtt: $!";
print $fh $r->{body};
close $fh;
my $v = run_cmd([ Meetrec::Test::Stack::_node(),
    Meetrec::Test::Stack::node_script('t/vtt/validate.mjs', 't/vtt'), $vtt ],
    timeout => 60);
my $parsed = eval { json_decode($v->{out}) } // {};
is($v->{rc}, 0, 'the WebVTT parser finds no error') or diag($v->{out},
    $v->{err});
is(scalar @{ $parsed->{cues} // [] }, scalar(@said), 'a cue a sentence');
for my $x (@said) {
	my ($cue) = grep { abs($_->{start} - $x->[0]) <= $TOL }
	    @{ $parsed->{cues} // [] };
	is($cue && $cue->{text}, $x->[1], "the cue at $x->[0] s");
}

# ---- 2. search ----------------------------------------------------------
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $tok);
is($r->{status}, 200, 'search') or diag($r->{body});
my $hits = $r->{json}{hits} // [];
is(scalar @$hits, 1, 'one hit for a word said once');
is($hits->[0]{recording_id}, $id, '... in that recording');
ok(abs(($hits->[0]{start} // -9) - 102) <= $TOL, '... at 1:42 ('
    . ($hits->[0]{start} // 'none') . ' s)');
is_deeply([ map { $_->{text} } grep { $_->{match} }
    @{ $hits->[0]{highlight} // [] } ], ['giraffe'], '... the word marked');
is(join('', map { $_->{text} } @{ $hits->[0]{highlight} // [] }),
    $said[3][1], '... the marked pieces make the segment');
$r = $s->api(GET => '/api/recordings/?q=budgets', token => $tok);
is(scalar @{ $r->{json}{hits} // [] }, 1, 'English stemming: budgets finds '
    . 'budget');
$r = $s->api(GET => '/api/recordings/?q=%22revised+figures%22', token => $tok);
is(scalar @{ $r->{json}{hits} // [] }, 1, 'a phrase');
$r = $s->api(GET => '/api/recordings/?q=elephant', token => $tok);
is_deeply($r->{json}{hits}, [], 'a word never said: no hit');
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $stok);
is_deeply($r->{json}{hits}, [], 'a user who may not view it finds nothing');
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $otok);
is_deeply($r->{json}{hits}, [], "another company's admin finds nothing");
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $atok);
is(scalar @{ $r->{json}{hits} // [] }, 1, "the company's admin finds it");
$r = $s->api(PUT => "/api/recordings/$id/access", token => $tok,
    json => { allowed_viewers => [ $viewer ] });
is($r->{status}, 200, 'the owner gives it to a viewer') or diag($r->{body});
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $vtok);
is(scalar @{ $r->{json}{hits} // [] }, 1, 'the viewer now finds it');
$s->api(GET => '/api/recordings/?q=giraffe+project', token => $vtok);
$r = $s->api(GET => "/api/recordings/$id/access-log", token => $tok);
my @srch = grep { $_->{action} eq 'search' } @{ $r->{json}{entries} // [] };
my %per;
$per{ $_->{user_id} // 'none' }++ for @srch;
is_deeply([ @per{ $viewer, $host } ], [ 1, 1 ], 'a search that shows its '
    . 'words is in the recording\'s audit trail, once per viewing (the '
    . 'viewer searched twice, the owner four times)');
is(scalar(grep { $_ != 1 } values %per), 0, '... once for each who found '
    . 'it (' . scalar(keys %per) . ')');
is($s->pg->psql("SELECT string_agg(detail->>'q', ',') FROM "
    . "project_management.pm_recording_access_logs WHERE action = 'search' "
    . "AND recording_id = '$id' AND user_id = '$viewer'"), 'giraffe',
    '... with the words searched for');
ok(!(grep { $_->{user_id} eq $stranger } @srch),
    '... and not for a search that did not show it');
$r = $s->api(GET => "/api/recordings/$id/captions.vtt", token => $vtok);
is($r->{status}, 200, '... and reads its captions');
for my $bad ('q=', 'q=%20%20', 'q=' . ('a' x 257), 'q=%ff', 'q=a%01b',
    'q=x&scope=mine', 'q=x&limit=0', 'q=x&limit=101', 'q=x&offset=1001',
    'q=x&offset=-1') {
	$r = $s->api(GET => "/api/recordings/?$bad", token => $tok);
	is($r->{status}, 400, "search ?$bad: 400");
	is($r->{json}{code}, 'invalid_query', '... invalid_query');
}
$r = $s->api(GET => "/api/recordings/?q=giraffe'%3B--+%26%26+!(", token => $tok);
is($r->{status}, 200, 'words full of query syntax are words');
for my $none ('-giraffe', 'the+-giraffe', '%21%21%21') {
	$r = $s->api(GET => "/api/recordings/?q=$none", token => $tok);
	is_deeply([ $r->{status}, $r->{json}{hits} ], [ 200, [] ],
	    "?q=$none finds nothing, not every segment");
}

# ---- 3. the share link ----------------------------------------------
$r = $s->api(POST => "/api/recordings/$id/shares", token => $tok,
    json => { expires_in => 3600 });
is($r->{status}, 201, 'a share link') or diag($r->{body});
my $token = $r->{json}{token} // '';
$r = http(GET => $s->url("/r/$token"));
is($r->{status}, 200, 'the share link') or diag($r->{body});
my $curl = $r->{json}{captions_url};
like($curl // '', qr{/r/\Q$token\E/captions\.vtt\?expires=\d+&sig=},
    'it names its captions');
is_deeply($r->{json}{chapters}, $tr->{chapters}, '... and the chapters');
(my $path = $curl // '') =~ s{^https?://[^/]+}{};
$r = http(GET => $s->url($path));
is($r->{status}, 200, 'the captions by the share link');
like($r->{body}, qr/\AWEBVTT/, '... WebVTT');
$r = http(GET => $s->url($path =~
    s/sig=(.)/'sig=' . ($1 eq 'A' ? 'B' : 'A')/er));
is($r->{status}, 403, 'a changed signature: 403');
$r = http(GET => $s->url("/r/$token"), { headers => { Accept => 'text/html' } });
like($r->{body}, qr{<track kind="captions"[^>]* src="/r/\Q$token\E/captions\.vtt\?},
    "the share page's player has the captions track");

# ---- 4. asked again; a server that fails ---------------------------
$r = $s->api(POST => "/api/recordings/$id/transcribe", token => $stok);
is($r->{status}, 403, 'only the owner or an admin asks again');
$r = $s->api(POST => "/api/recordings/$id/transcribe", token => $tok,
    json => { x => 1 });
is($r->{status}, 422, 'transcribe takes no fields');
$r = $s->api(POST => '/api/recordings/not-a-uuid/transcribe', token => $tok);
is($r->{status}, 400, 'a bad id: 400');
$r = $s->api(POST => '/api/recordings/' . uuid() . '/transcribe',
    token => $tok);
is($r->{status}, 404, 'no such recording: 404');

$asr->reset;
$asr->script(\@script);
$asr->fault(next => 1, status => 500);
$asr->fault(next => 1, status => 429, retry_after => 1);
$r = $s->api(POST => "/api/recordings/$id/transcribe", token => $tok);
is($r->{status}, 202, 'asked again') or diag($r->{body});
is($r->{json}{transcript_status}, 'pending', '... pending');
$r = $s->api(GET => "/api/recordings/$id/transcript", token => $tok);
is(scalar @{ $r->{json}{segments} // [] }, scalar(@said),
    'the last transcript stays readable meanwhile');
$r = transcribe_pass();
like($r->{err}, qr/action=retry/, 'a 500 and a 429 were tried again');
like($r->{err}, qr/rec=$id action=done/, '... and the transcript made');
my @st = map { $_->{status} } @{ $asr->requests };
ok((grep { $_ == 500 } @st) && (grep { $_ == 429 } @st),
    'the server answered 500 and 429 first');

# Down: the attempt ends, the transcription waits and is tried again.
$asr->down(1);
$s->api(POST => "/api/recordings/$id/transcribe", token => $tok);
$r = transcribe_pass();
my $row = tr_row($id);
is($row->{status}, 'pending', 'a server that is down: still pending');
is($row->{attempts}, 1, '... one attempt counted');
is($row->{later}, 't', '... tried again later');
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
like($r->{json}{transcript_error} // '', qr/./,
    'details say why: ' . ($r->{json}{transcript_error} // ''));
$asr->down(0);
$s->pg->psql('UPDATE project_management.pm_recording_transcripts SET '
    . "next_attempt_at = now() WHERE recording_id = '$id'");
$r = transcribe_pass();
is(tr_row($id)->{status}, 'done', 'back up: done');

# 413: failed for good, with the reason.
$asr->fault(next => 1, status => 413);
$s->api(POST => "/api/recordings/$id/transcribe", token => $tok);
transcribe_pass();
$row = tr_row($id);
is($row->{status}, 'failed', 'a piece refused as too large: failed at once');
like($row->{error}, qr/asr_max_bytes/, '... naming asr_max_bytes');
is($row->{attempts}, 1, '... after one attempt');
$s->reaper('--pass', 'webhooks');
$ev = eval { $rx->wait_deliveries('tr', count => 1, accepted => 1,
    timeout => 10) } // [];
is_deeply([ map { $_->{json}{type} } @{ $rx->deliveries('tr') } ],
    [ 'recording.transcribed', 'recording.transcribed',
    'recording.transcription_failed' ], 'the endpoint was told of each '
    . 'transcript made and the one that failed, not of the waits');
my ($fail) = grep { $_->{json}{type} eq 'recording.transcription_failed' }
    @{ $rx->deliveries('tr') };
like($fail ? $fail->{json}{data}{error} // '' : '', qr/asr_max_bytes/,
    '... with the reason');
$rx->clear('tr');

# ---- 5. Ogg/Opus, audio only -------------------------------------------
$asr->reset;
$asr->script(\@script);
my $oid = record($ogg, audio_only => 1, name => 'Audio');
$s->reaper('--pass', 'upload');
$r = transcribe_pass();
$r = $s->api(GET => "/api/recordings/$oid/transcript", token => $tok);
is($r->{json}{transcript_status}, 'done', 'an Ogg/Opus recording: done');
my $giraffe = near($r->{json}{segments} // [], 102);
is($giraffe && $giraffe->{text}, $said[3][1], '... the sentence at 1:42');
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $tok);
is(scalar @{ $r->{json}{hits} // [] }, 2, 'search finds both recordings');

# ---- 6. two reapers at once: each transcription made once -----------
$asr->reset;
$asr->script(\@script);
my @ids = map { record($mp4, name => "Many $_") } 1 .. 3;
$s->reaper('--pass', 'upload');
my @rp = map { $s->start_reaper(name => "reaper-tr$_",
    args => [ '--once', '--pass', 'transcribe' ]) } 1 .. 2;
$_->wait_exit(timeout => 300) for @rp;
is_deeply([ map { tr_row($_)->{status} } @ids ], [ ('done') x 3 ],
    'two reapers at once: all three transcribed');
my %by;
my $both = join('', map { $s->log("reaper-tr$_") } 1 .. 2);
$by{$1}++ while $both =~ /pass=transcribe rec=(\S+) action=done/g;
is_deeply([ map { $by{$_} // 0 } @ids ], [ 1, 1, 1 ],
    '... each by one of them');
is(scalar @{ $asr->requests }, 3 * scalar(@reqs),
    '... each piece sent once (' . scalar(@{ $asr->requests }) . ')');

# ---- 7. a reaper told to stop gives its transcription back ----------
$asr->reset;
$asr->script(\@script);
$asr->fault(next => 1, delay_ms => 3000);
$s->api(POST => "/api/recordings/$ids[0]/transcribe", token => $tok);
my $stopped = $s->start_reaper(name => 'reaper-stop',
    args => [ '--once', '--pass', 'transcribe' ]);
ok(eval { $s->wait_log('reaper-stop',
    qr/pass=transcribe rec=$ids[0] action=start/, 30); 1 },
    'a transcription under way');
sleep 1;
$stopped->stop(sig => 'TERM', timeout => 60);
is($stopped->exit_code, 0, 'the reaper told to stop exits 0');
like($s->log('reaper-stop'), qr/rec=$ids[0] action=given_back/,
    '... giving the transcription back');
$row = tr_row($ids[0]);
is_deeply([ @$row{qw(status attempts)} ], [ 'pending', 0 ],
    '... pending, no attempt counted');
is($s->pg->psql('SELECT lease_owner IS NULL FROM '
    . 'project_management.pm_recording_transcripts '
    . "WHERE recording_id = '$ids[0]'"), 't', '... no lease left');
transcribe_pass();
is(tr_row($ids[0])->{status}, 'done', 'the next pass makes it');

# ---- 8. a slow server holds up nothing else ------------------------
# A watching reaper transcribes in a process of its own: while the
# server sits on a piece, another recording is uploaded.
$asr->reset;
$asr->script(\@script);
$asr->fault(next => 1, delay_ms => 4000);
$s->api(POST => "/api/recordings/$oid/transcribe", token => $tok);
my $w = $s->start_reaper(name => 'reaper-watch');
ok(eval { $s->wait_log('reaper-watch',
    qr/pass=transcribe process=\d+ started/, 30) }, 'the watch started a '
    . 'transcribe process');
my $t0 = time;
my $bid = record($mp4, name => 'Other');
ok(eval { wait_for(sub { $s->pg->psql('SELECT status FROM '
    . 'project_management.pm_meeting_recordings '
    . "WHERE id = '$bid'") eq 'completed' }, 60, 'the upload'); 1 },
    'another recording was uploaded meanwhile');
is(tr_row($oid)->{status}, 'pending', '... while the transcription was '
    . 'still waiting on the server');
ok(eval { wait_for(sub { tr_row($oid)->{status} eq 'done' &&
    tr_row($bid)->{status} eq 'done' }, 120, 'the transcripts'); 1 },
    'then both transcripts were made');
diag(sprintf 'uploaded %.1f s after the slow piece was sent', time - $t0);
$w->stop(sig => 'TERM', timeout => 60);

# ---- 9. an expired recording's words go with its file --------------
sub tr_rows {
	my ($id) = @_;
	return $s->pg->psql('SELECT (SELECT count(*) FROM '
	    . 'project_management.pm_recording_transcripts '
	    . "WHERE recording_id = '$id') + (SELECT count(*) FROM "
	    . 'project_management.pm_transcript_segments '
	    . "WHERE recording_id = '$id') + (SELECT count(*) FROM "
	    . 'project_management.pm_transcript_chapters '
	    . "WHERE recording_id = '$id')");
}
ok(tr_rows($bid) > 1 && tr_rows($oid) > 1, 'two transcripts stored');
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $tok);
ok(grep({ $_->{recording_id} eq $bid } @{ $r->{json}{hits} // [] }),
    'search finds the one to expire');
$s->pg->psql('UPDATE project_management.pm_meeting_recordings SET '
    . "expires_at = now() - interval '1 minute' WHERE id = '$bid'");
$r = $s->reaper('--pass', 'expire');
like($r->{err}, qr/rec=$bid action=expired/, 'a transcribed recording '
    . 'expired');
is(tr_rows($bid), 0, '... its transcript, segments and chapters are gone');
ok(tr_rows($oid) > 1, '... another recording\'s are not');
$r = $s->api(GET => '/api/recordings/?q=giraffe', token => $tok);
ok(!grep({ $_->{recording_id} eq $bid } @{ $r->{json}{hits} // [] }),
    '... and search no longer finds it');

$s->finish;
$rx->stop;
$asr->stop;
done_testing();
