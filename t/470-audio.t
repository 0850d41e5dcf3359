#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 470-audio.t - the speech of a recording in pieces (src/audio.c), on
# meetings made for the test: espeak-ng speaks six sentences of clearly
# different lengths, mkspeech (t/unit/mkspeech.c) places them at known
# times on three minutes of a quiet room and encodes an MP4 (AAC and a
# small H.264 video) and an Ogg (Opus).  audio-pieces
# (t/unit/audio-pieces.c) cuts each into pieces of at most MAX_BYTES and
# keeps them: the pieces are small enough, follow each other, add up to
# the meeting, every cut falls between sentences, and each sentence is
# heard in the piece that covers its time, at its time (its onset in the
# piece against its onset in espeak-ng's WAV).  The same for an MP4 whose
# audio track begins 7 s after its video: the pieces begin there on the
# recording's timeline.  Then a meeting of three hours and one of ten
# minutes, with a sentence every three minutes: the peak resident size
# of audio-pieces must not grow with the length.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path remove_tree);
use POSIX qw(ceil);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(build_root json_decode slurp);

my $b = build_root();
my $mkspeech = "$b/t/unit/mkspeech";
my $pieces = "$b/t/unit/audio-pieces";
my ($espeak) = grep { -x $_ && !-d $_ } map { "$_/espeak-ng" }
    split /:/, $ENV{PATH} // '';
Meetrec::Test::Stack::skip_unless(
    (-x $mkspeech && -x $pieces ? () :
	"the test tools are not built ($mkspeech, $pieces: make check "
	. "builds them)"),
    ($espeak ? () : 'espeak-ng is not installed'));

my $dir = ($ENV{MEETREC_TEST_TMPDIR} // "$b/t/tmp_check") . '/470-audio';
remove_tree($dir) if -e $dir;
make_path("$dir/tmp");

# ASan keeps freed memory in quarantine (256 MiB by default), which a
# long run fills: a small quarantine lets the peak resident size show
# what the code holds.  Nothing changes in a build without ASan.
my %env = (ASAN_OPTIONS => join ':', grep { length }
    ($ENV{ASAN_OPTIONS} // ''), 'quarantine_size_mb=1');

my $RATE = 16000;

# run(@argv) - a tool's JSON lines, or a failure with its output.
sub run_json {
	my (@argv) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $r = run_cmd(\@argv, env => \%env, timeout => 600);
	unless ($r->{rc} == 0) {
		fail("@argv[0 .. 2] ...: exit $r->{rc}");
		diag($r->{out}, $r->{err});
		return ();
	}
	return map { json_decode($_) } grep { /^\{/ } split /\n/, $r->{out};
}

# wav($path) - [rate, samples as a list of integers] of a PCM s16 WAV.
sub wav {
	my ($path) = @_;
	my $d = slurp($path);
	die "$path: not a WAV\n" unless substr($d, 0, 4) eq 'RIFF'
	    && substr($d, 8, 4) eq 'WAVE';
	my ($rate, $chans, $data, $off) = (0, 1, undef, 12);
	while ($off + 8 <= length $d) {
		my ($id, $len) = unpack 'a4 V', substr($d, $off, 8);
		$len = length($d) - $off - 8 if $len > length($d) - $off - 8;
		if ($id eq 'fmt ') {
			($chans, $rate) = unpack 'x2 v V',
			    substr($d, $off + 8, 8);
		} elsif ($id eq 'data') {
			$data = substr($d, $off + 8, $len);
		}
		$off += 8 + $len + ($len & 1);
	}
	my @s = unpack 's<*', $data // '';
	@s = @s[grep { $_ % $chans == 0 } 0 .. $#s] if $chans > 1;
	return [$rate, \@s];
}

# rms($samples, $from, $n) - root mean square of n samples from from.
sub rms {
	my ($s, $from, $n) = @_;
	$from = 0 if $from < 0;
	my $to = $from + $n;
	$to = @$s if $to > @$s;
	return 0 if $to <= $from;
	my $e = 0;
	$e += $_ * $_ for @$s[$from .. $to - 1];
	return sqrt($e / ($to - $from));
}

# onset($samples, $rate, $from) - seconds from sample from to the first
# 20 ms frame louder than RMS 1000, or undef.
sub onset {
	my ($s, $rate, $from) = @_;
	my $f = int($rate / 50);
	for (my $i = $from < 0 ? 0 : $from; $i + $f <= @$s; $i += $f) {
		return ($i - $from) / $rate if rms($s, $i, $f) > 1000;
	}
	return undef;
}

# The sentences, and where each goes (one at 1:42).
my @text = (
	'Good morning.',
	'Let us start with the budget for the next quarter.',
	'The second item is the hiring plan, which has been delayed by '
	    . 'two weeks because the candidates were not available.',
	'Thank you.',
	'Before we close, please send your notes to the secretary by '
	    . 'Friday, and remember that the next meeting will be held in '
	    . 'the large room on the third floor.',
	'Goodbye, everyone.',
);
my @at = (4, 31, 63, 102, 128, 166);
my $duration = 180;
my (@wav, @onset);
for my $i (0 .. $#text) {
	my $w = "$dir/s$i.wav";
	my $r = run_cmd([ $espeak, '-v', 'en', '-s', '160', '-w', $w,
	    $text[$i] ]);
	is($r->{rc}, 0, "espeak-ng says sentence $i") or diag($r->{err});
	push @wav, $w;
	my $x = wav($w);
	push @onset, onset($x->[1], $x->[0], 0) // 0;
}

# The MP4 and the Ogg, and an MP4 whose audio begins 7 s after its video
# (and so after the first sentence): the pieces are on the recording's
# timeline.  The AAC encoder's priming (1,024 samples, 64 ms at 16 kHz)
# comes before the late audio's first sample.
my @cases = (
	{ kind => 'mp4', ext => 'mp4', video => 1, start => 0 },
	{ kind => 'ogg', ext => 'ogg', video => 0, start => 0 },
	{ kind => 'late mp4', ext => 'mp4', video => 1, start => 7 },
);
for my $case (@cases) {
	my $kind = $case->{kind};
	my $tag = $kind =~ s/ /-/r;
	my $file = "$dir/meeting-$tag.$case->{ext}";
	my @k = grep { $at[$_] > $case->{start} } 0 .. $#at;
	my ($made) = run_json($mkspeech, '--out', $file, '--duration',
	    $duration, '--noise', 20, ($case->{video} ? ('--video') : ()),
	    ($case->{start} ? ('--audio-start', $case->{start}) : ()),
	    map { ('--at', $at[$_], $wav[$_]) } @k);
	next unless $made;
	is(scalar @{ $made->{streams} }, $case->{video} ? 2 : 1,
	    "$kind: mkspeech wrote "
	    . join(', ', map { "$_->{type} $_->{codec}" } @{ $made->{streams} })
	    . ", $made->{bytes} bytes");
	my @span = map { [ $at[$k[$_]], $at[$k[$_]]
	    + $made->{placed}[$_]{length} ] } 0 .. $#k;
	my @son = @onset[@k];
	my $tol = $case->{start} ? 0.1 : 0.05;
	note("$kind: sentences at "
	    . join(', ', map { sprintf '%.2f-%.2f', @$_ } @span));

	# Pieces of 40 s at most: five of them.
	my $max = 44 + 2 * $RATE * 40;
	my $keep = "$dir/keep-$tag";
	make_path($keep);
	my @out = run_json($pieces, '--keep', $keep, $file, $max,
	    "$dir/tmp");
	next unless @out;
	my $sum = pop @out;
	my @p = @out;
	note("$kind: pieces " . join(', ', map {
	    sprintf '%.3f+%.3f', $_->{start}, $_->{duration} } @p));
	cmp_ok(scalar @p, '>=', 4, "$kind: several pieces (" . @p . ')');
	is($sum->{pieces}, scalar @p, "$kind: the summary counts them");
	my $want = $duration - $case->{start};
	ok(abs($sum->{seconds} - $want) < $tol,
	    "$kind: $sum->{seconds} s of audio (want $want)");
	my $total = 0;
	$total += $_->{duration} for @p;
	ok(abs($total - $want) < $tol, "$kind: pieces add up to $total s");
	ok(abs($p[0]{start} + $total - $duration) < 0.05,
	    "$kind: the last piece ends with the recording");
	ok(!(grep { $_->{bytes} > $max } @p), "$kind: none over $max bytes");
	ok(!(grep { -s "$keep/piece-$_->{index}.wav" != $_->{bytes} } @p),
	    "$kind: each kept file has the size reported");
	is_deeply([ map { $_->{index} } @p ], [ 0 .. $#p ],
	    "$kind: indexes in order");
	ok(abs($p[0]{start} - $case->{start}) < $tol,
	    "$kind: the first starts at $p[0]{start} (want $case->{start})");
	my @gaps = grep { abs($p[$_]{start} - $p[$_ - 1]{start}
	    - $p[$_ - 1]{duration}) > 1 / $RATE + 1e-6 } 1 .. $#p;
	ok(!@gaps, "$kind: each piece starts where the one before ended");
	is_deeply([ glob("$dir/tmp/*") ], [], "$kind: no piece left behind");

	# Cuts between sentences.
	for my $i (0 .. $#p - 1) {
		my $cut = $p[$i]{start} + $p[$i]{duration};
		my @in = grep { $cut > $_->[0] && $cut < $_->[1] } @span;
		ok(!@in, sprintf "$kind: cut %d at %.3f s falls in silence",
		    $i, $cut);
	}

	# Each sentence where it was placed, in the piece that covers it.
	for my $k (0 .. $#span) {
		my ($a, $z) = @{ $span[$k] };
		my ($pc) = grep { $_->{start} <= $a
		    && $_->{start} + $_->{duration} >= $z } @p;
		next unless ok($pc, "$kind: sentence at $a s lies in one piece");
		my $w = wav("$keep/piece-$pc->{index}.wav");
		is($w->[0], $RATE, "$kind: piece $pc->{index} is 16 kHz");
		my $s = $w->[1];
		my $off = int(($a - $pc->{start}) * $RATE);
		my $len = int(($z - $a) * $RATE);
		my $loud = rms($s, $off, $len);
		# The second before the sentence (after the piece's start).
		my $from = $off - $RATE;
		$from = 0 if $from < 0;
		my $quiet = rms($s, $from, $off - $from);
		cmp_ok($loud, '>', 500, sprintf("$kind: sentence at %d s "
		    . "heard (RMS %.0f) in piece %d", $a, $loud, $pc->{index}));
		cmp_ok($quiet, '<', $loud / 10, sprintf("$kind: quiet "
		    . "(RMS %.0f) in the second before it", $quiet))
		    if $off - $from > $RATE / 10;
		my $on = onset($s, $RATE, $from);
		my $got = defined $on ? $pc->{start} + $from / $RATE + $on : -1;
		my $want = $a + $son[$k];
		ok(abs($got - $want) < 0.1, sprintf("$kind: the sentence "
		    . "begins at %.3f s on the pieces' timeline (placed: %.3f)",
		    $got, $want));
	}
}

# Refused: no audio track, an MP4 cut in half, bytes that are no media.
{
	run_json($mkspeech, '--out', "$dir/video.mp4",
	    '--duration', 10, '--video', '--no-audio');
	my $mp4 = slurp("$dir/meeting-mp4.mp4");
	open my $fh, '>:raw', "$dir/half.mp4" or die "half.mp4: $!";
	print {$fh} substr($mp4, 0, length($mp4) / 2);
	close $fh;
	open $fh, '>:raw', "$dir/noise.bin" or die "noise.bin: $!";
	print {$fh} pack('N*', map { int rand 2**32 } 1 .. 4096);
	close $fh;
	for (['video only', 'video.mp4', qr/no audio track/],
	    ['cut in half', 'half.mp4', qr/./],
	    ['random bytes', 'noise.bin', qr/neither MP4 nor Ogg/]) {
		my ($what, $f, $detail) = @$_;
		my $r = run_cmd([ $pieces, "$dir/$f", 1000000, "$dir/tmp" ],
		    env => \%env);
		my ($e) = map { json_decode($_) } grep { /^\{/ }
		    split /\n/, $r->{out};
		is($r->{rc}, 1, "$what: audio-pieces fails");
		is_deeply([ @{ $e->{error} // {} }{qw(status code)} ],
		    [ 422, 'unreadable_media' ], "$what: 422 unreadable_media");
		like($e->{error}{detail} // '', $detail,
		    "$what: " . ($e->{error}{detail} // ''));
	}
	is_deeply([ glob("$dir/tmp/*") ], [], 'no piece left behind');
}

# Flat memory: three hours against ten minutes, a sentence every three
# minutes and silence between, 750 s to a piece.
my %long;
for my $len (600, 10800) {
	my $file = "$dir/long-$len.ogg";
	my @places;
	my $i = 0;
	for (my $t = 60; $t + 20 < $len; $t += 180) {
		push @places, '--at', $t, $wav[$i++ % @wav];
	}
	my ($made) = run_json($mkspeech, '--out', $file, '--duration', $len,
	    @places);
	next unless $made;
	note(sprintf "mkspeech: %d s of Opus, %d bytes, in %.1f s",
	    $len, $made->{bytes}, $made->{seconds_taken});
	my $max = 24000000;
	my @out = run_json($pieces, $file, $max, "$dir/tmp");
	next unless @out;
	my $sum = pop @out;
	$long{$len} = $sum;
	diag(sprintf "%5d s: %d pieces, %.3f s decoded, %d bytes read, "
	    . "peak RSS %d KiB (mkspeech %.1f s)", $len, $sum->{pieces},
	    $sum->{seconds}, $sum->{bytes_read}, $sum->{peak_rss_kb},
	    $made->{seconds_taken});
	ok(abs($sum->{seconds} - $len) < 0.05, "$len s: $sum->{seconds} s "
	    . 'decoded');
	# A cut comes in the last 30 s before a piece's limit.
	my $cap = ($max - 44) / 2 / $RATE;
	my ($lo, $hi) = (ceil($len / $cap), ceil($len / ($cap - 30)));
	ok($sum->{pieces} >= $lo && $sum->{pieces} <= $hi,
	    "$len s: $sum->{pieces} pieces (between $lo and $hi)");
	ok(!(grep { $_->{bytes} > $max } @out), "$len s: none over $max bytes");
	cmp_ok($sum->{bytes_read}, '>=', $made->{bytes},
	    "$len s: the whole file was read");
}
if ($long{600} && $long{10800}) {
	my ($s, $l) = map { $long{$_}{peak_rss_kb} } 600, 10800;
	cmp_ok($l, '<', 64 * 1024, "3 hours: peak RSS $l KiB, under 64 MiB");
	cmp_ok($l - $s, '<=', 16 * 1024, "3 hours: at most 16 MiB more than "
	    . "10 minutes ($s KiB)");
}

remove_tree($dir) if Test::More->builder->is_passing
    && !$ENV{MEETREC_TEST_LEAVE};
done_testing();
