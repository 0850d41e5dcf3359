#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 476-transcribe-long.t - a three-hour meeting transcribed by the reaper
# with flat memory.  mkspeech makes an audio-only recording (Ogg/Opus) of
# three hours with a sentence every three minutes, and one of ten
# minutes; each goes the whole way (stored by the upload pass, then the
# transcribe pass reads it back from storage, cuts it into pieces of
# asr_max_bytes and sends them to the speech-to-text stand-in).  The
# peak resident size of the process that transcribed three hours
# (meetrec-transcribe, which the reaper runs for that pass) is compared
# with that of the one that transcribed ten minutes, and every
# sentence of the three hours must come back at the time it was said:
# the offsets of fifteen pieces add up.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path remove_tree);
use Meetrec::Test::Stack;
use Meetrec::Test::Asr;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(build_root uuid);

my $bld = build_root();
my $mkspeech = "$bld/t/unit/mkspeech";
my ($espeak) = grep { -x $_ && !-d $_ } map { "$_/espeak-ng" }
    split /:/, $ENV{PATH} // '';
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Stack::prereqs_missing(),
    Meetrec::Test::Asr::prereqs_missing(),
    (-x $mkspeech ? () : "$mkspeech is not built (make check builds it)"),
    ($espeak ? () : 'espeak-ng is not installed'));

my $dir = ($ENV{MEETREC_TEST_TMPDIR} // "$bld/t/tmp_check")
    . '/476-transcribe-long-media';
remove_tree($dir) if -e $dir;
make_path($dir);

# Four sentences of clearly different lengths, said in turn.
my @texts = (
	'The first topic is the budget.',
	'Next we look at the hiring plan for the spring and the summer.',
	'Questions please.',
	'Then the office move, which the facilities team has planned for '
	    . 'the last week of the month.',
);
my @script;
for my $i (0 .. $#texts) {
	my $wav = "$dir/s$i.wav";
	my $r = run_cmd([ $espeak, '-v', 'en', '-w', $wav, $texts[$i] ],
	    timeout => 60);
	BAIL_OUT("espeak-ng: $r->{err}") unless $r->{rc} == 0 && -s $wav;
	push @script, { text => $texts[$i], wav => $wav };
}

# A meeting of $secs seconds, a sentence every 180 s from 30 s on.
sub meeting {
	my ($out, $secs) = @_;
	my (@at, @said);
	for (my ($t, $i) = (30, 0); $t + 10 < $secs; $t += 180, $i++) {
		my $k = $i % @script;
		push @at, '--at', $t, $script[$k]{wav};
		push @said, [ $t, $texts[$k] ];
	}
	my $r = run_cmd([ $mkspeech, '--out', $out, '--duration', $secs,
	    @at ], timeout => 900);
	BAIL_OUT("mkspeech $out: $r->{err}") unless $r->{rc} == 0 && -s $out;
	return \@said;
}
my %said = (short => meeting("$dir/short.ogg", 600),
    long => meeting("$dir/long.ogg", 3 * 3600));

my $asr = Meetrec::Test::Asr->new(dir => "$dir/asr");
$asr->script(\@script);
my $s = Meetrec::Test::Stack->new(conf => {
	asr_url => $asr->url,
	asr_language => 'en',
	asr_timeout_seconds => 600,
	reaper_lease_seconds => 600,
});
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');

# ASan keeps freed memory in quarantine: a small one lets the peak show
# what the reaper holds.  Nothing changes in a build without ASan.
my %env = (ASAN_OPTIONS => join ':', grep { length }
    ($ENV{ASAN_OPTIONS} // ''), 'quarantine_size_mb=1');

my (%peak, %own);
for my $name (qw(short long)) {
	$s->standin(POST => 'output_file', { path => "$dir/$name.ogg" });
	my $code = "long-$name";
	$s->room(code => $code, host => $host, company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code, audio_only => JSON::PP::true() });
	is($r->{status}, 201, "$name: started") or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin_idle;
	$s->api(POST => "/api/recordings/$id/stop", token => $tok);
	$s->standin_idle;
	$s->reaper('--pass', 'upload');
	$r = $s->reaper(\%env, '--pass', 'transcribe');
	is($r->{rc}, 0, "$name: transcribed") or diag($r->{err});
	my ($pieces) = $r->{err} =~ /action=done .*pieces=(\d+)/;
	# The pass runs in meetrec-transcribe, which logs its own peak.
	($peak{$name}) = $r->{err} =~
	    /meetrec-transcribe\[\d+\] \w+: reaper stopped .*peak_rss_kb=(\d+)/;
	my ($own) = $r->{err} =~
	    /meetrec-reaper\[\d+\] \w+: reaper stopped .*peak_rss_kb=(\d+)/;
	$own{$name} = $own;
	cmp_ok($own // 1e9, '<', 32 * 1024, "$name: the reaper itself stays "
	    . 'under 32 MiB (' . ($own // '?') . ' KiB): FFmpeg is '
	    . 'meetrec-transcribe\'s');
	my ($bytes) = $r->{err} =~ /action=done .*bytes_read=(\d+)/;
	note("$name: " . ($pieces // '?') . ' pieces, '
	    . ($bytes // '?') . ' bytes read from storage, peak RSS '
	    . ($peak{$name} // '?') . ' KiB');
	$r = $s->api(GET => "/api/recordings/$id/transcript", token => $tok);
	my $segs = $r->{json}{segments} // [];
	my $want = $said{$name};
	is(scalar @$segs, scalar @$want, "$name: a segment a sentence ("
	    . scalar(@$want) . ')');
	my $bad = 0;
	for my $w (@$want) {
		my ($seg) = grep { abs($_->{start} - $w->[0]) <= 0.6 } @$segs;
		$bad++ unless $seg && $seg->{text} eq $w->[1];
	}
	is($bad, 0, "$name: every sentence at the time it was said");
	if ($name eq 'long') {
		cmp_ok($pieces // 0, '>=', 14, 'long: sent in pieces of '
		    . 'asr_max_bytes (24 MB, 12.5 minutes)');
	}
}
ok(defined $peak{short} && defined $peak{long}, 'both peaks logged');
cmp_ok(($own{long} // 1e9) - ($own{short} // 0), '<', 2 * 1024,
    'the reaper that waited three hours for its transcription holds no more '
    . 'than the one that waited ten minutes');
cmp_ok($peak{long} // 1e9, '<', 96 * 1024,
    'three hours: the reaper stays under 96 MiB');
cmp_ok(($peak{long} // 1e9) - ($peak{short} // 0), '<', 16 * 1024,
    'three hours take no more than 16 MiB over ten minutes');
diag(sprintf 'reaper peak RSS: ten minutes %d KiB, three hours %d KiB',
    $peak{short} // -1, $peak{long} // -1);

$s->finish;
$asr->stop;
done_testing();
