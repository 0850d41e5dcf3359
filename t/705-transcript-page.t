#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 705-transcript-page.t - the recordings page's captions, transcript and
# search in a real browser (Debian's headless Chromium through
# playwright-core, t/browser/transcript-page.mjs).  Set up as
# t/475-transcripts.t: espeak-ng speaks known sentences, mkspeech places
# them at known times in a meeting (MP4: H.264 and AAC, which Debian's
# Chromium plays), the LiveKit stand-in writes it as the egress output,
# the reaper stores it and its transcribe pass sends it to the
# speech-to-text stand-in (t/asr).  Then the page: the player's
# <track> and its cues, the transcript panel (a line a sentence, the
# 1:42 line seeks to 1:42, the line said is marked), the chapters, the
# search (one hit at 1:42, the word in <mark>, which opens the player
# there), "Transcribe again", and a user who may not view the recording
# finds nothing.  Each step of the script is one test here.
use strict;
use warnings;
use File::Path qw(make_path remove_tree);
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Asr;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(build_root uuid);

my $bld = build_root();
my $mkspeech = "$bld/t/unit/mkspeech";
my ($espeak) = grep { -x $_ && !-d $_ } map { "$_/espeak-ng" }
    split /:/, $ENV{PATH} // '';
my $chromium = $ENV{MEETREC_CHROMIUM} // '/usr/bin/chromium';
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Stack::prereqs_missing(),
    Meetrec::Test::Asr::prereqs_missing(),
    (-x $chromium ? () : "$chromium not found (apt-get install chromium)"),
    Meetrec::Test::Stack::node_missing('t/browser/transcript-page.mjs',
	't/browser', 'playwright-core'),
    (-x $mkspeech ? () : "$mkspeech is not built (make check builds it)"),
    ($espeak ? () : 'espeak-ng is not installed'));

my $dir = ($ENV{MEETREC_TEST_TMPDIR} // "$bld/t/tmp_check")
    . '/705-transcript-page-media';
remove_tree($dir) if -e $dir;
make_path($dir);

# When each sentence is said (seconds), and what: lengths that differ,
# so the stand-in tells them apart; "giraffe" only at 1:42.
my @said = (
	[ 4, 'Good morning everyone and welcome to the quarterly planning '
	    . 'meeting of the whole team.' ],
	[ 31, 'The marketing budget grows next year.' ],
	[ 58, 'Please send me the revised figures before Friday afternoon so '
	    . 'that finance can check them.' ],
	[ 102.2, 'The giraffe project ships in March.' ],
	[ 128, 'Thank you all for coming today, and see you next week at the '
	    . 'same time in this room.' ],
);
my $LENGTH = 150;

my (@script, @at);
my $i = 0;
for my $s (@said) {
	my $wav = "$dir/s" . ++$i . '.wav';
	my $r = run_cmd([ $espeak, '-v', 'en', '-w', $wav, $s->[1] ],
	    timeout => 60);
	BAIL_OUT("espeak-ng: $r->{err}") unless $r->{rc} == 0 && -s $wav;
	push @script, { text => $s->[1], wav => $wav };
	push @at, '--at', $s->[0], $wav;
}
my $mp4 = "$dir/meeting.mp4";
my $r = run_cmd([ $mkspeech, '--out', $mp4, '--duration', $LENGTH,
    '--video', @at ], timeout => 300);
BAIL_OUT("mkspeech: $r->{err}") unless $r->{rc} == 0 && -s $mp4;
note("mkspeech: $r->{out}");

my $asr = Meetrec::Test::Asr->new(dir => "$dir/asr");
$asr->script(\@script);
my $s = Meetrec::Test::Stack->new(conf => {
	asr_url => $asr->url,
	asr_language => 'en',
});
my $d = $s->dir;
my ($co, $host, $stranger) = (uuid(), uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'page-host');
my $stok = $s->token(user => $stranger, company => $co,
    username => 'stranger');

# Record, stop, store, transcribe: the way t/475 does.
$s->standin(POST => 'output_file', { path => $mp4 });
my $code = 'tr-page';
$s->room(code => $code, name => 'Planning', host => $host, company => $co);
$r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => $code });
is($r->{status}, 201, "start in $code") or diag($r->{body});
my $id = $r->{json}{recording_id};
$s->standin_idle;
$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
ok($r->{status} >= 200 && $r->{status} < 300, "stop ($r->{status})")
    or diag($r->{body});
$s->standin_idle;
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the upload pass ran') or diag($r->{err});
$r = $s->reaper('--pass', 'transcribe');
is($r->{rc}, 0, 'the transcribe pass ran') or diag($r->{err});
$r = $s->api(GET => "/api/recordings/$id/transcript", token => $tok);
is($r->{json}{transcript_status}, 'done', 'the transcript is done')
    or diag($r->{body});
my $segs = $r->{json}{segments} // [];
is(scalar @$segs, scalar @said, 'a segment a sentence');
my ($giraffe) = grep { $_->{text} =~ /giraffe/ } @$segs;
note(sprintf 'the giraffe segment starts at %s s',
    $giraffe ? $giraffe->{start} : 'none');

my $node = Meetrec::Test::Stack::_node();
my $page = Meetrec::Test::Stack::node_script(
    't/browser/transcript-page.mjs', 't/browser');
$r = run_cmd([ $node, $page,
    '--base', $s->url('/'), '--token', $tok, '--stranger', $stok,
    '--id', $id, '--sentences', scalar(@said), '--word', 'giraffe',
    '--word-at', $said[3][0], '--other-word', 'elephant',
    '--outdir', "$d/log", '--chromium', $chromium ],
    cwd => Meetrec::Test::Stack::npm_dir('t/browser'), timeout => 300,
    env => { MEETREC_CHROMIUM => undef },
    log => "$d/log/browser.log");

# The script's TAP, one test here per step; "# TODO" as TAP means it.
my ($plan, $steps) = (undef, 0);
for my $line (split /\n/, $r->{out}) {
	if ($line =~ /^(not )?ok \d+ - (.*?)(?:\s+# TODO\s*(.*))?$/) {
		$steps++;
		my ($bad, $name, $todo) = ($1, $2, $3);
		TODO: {
			local $TODO = $todo if defined $todo;
			ok(!$bad, "page: $name");
		}
	} elsif ($line =~ /^1\.\.(\d+)$/) {
		$plan = $1;
	} elsif ($line =~ /^#/) {
		note($line =~ s/^#\s?//r);
	}
}
is($r->{rc}, 0, 'the browser script exited 0')
    or diag("stderr:\n$r->{err}\nstdout:\n$r->{out}");
ok(defined $plan && $plan == $steps && $steps > 0,
    "the browser script ran all its steps ($steps)");

# "Transcribe again" on the page asked for it: the API agrees.
$r = $s->api(GET => "/api/recordings/$id", token => $tok);
is($r->{json}{transcript_status}, 'pending',
    'the page asked for the transcript again');

$s->finish;
$asr->stop;
done_testing();
