#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 219-asr-standin.t - the speech-to-text stand-in (t/asr/asrserver.mjs,
# Meetrec::Test::Asr) and meetrec's client of it (src/asr.c, through the
# test tool t/unit/asr-client).  First the stand-in's own self-test with
# the official openai SDK; then three sentences spoken by espeak-ng are
# placed at known offsets in a 16 kHz mono WAV (resampled here, in Perl),
# and the client must get each back with its times; then each way a
# server fails (413, 429 with Retry-After, 500, 503, a reset, a slow
# answer, a wrong key, an answer that is not JSON, a server that is down
# or gone) must come out as the error asr.h promises.  Last, the stand-in
# refuses malformed multipart bodies with OpenAI's 400.  No database and
# no stack are needed.  See doc/asr.md.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Path qw(make_path remove_tree);
use Time::HiRes ();
use Meetrec::Test::Asr;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Stack ();
use Meetrec::Test::Util qw(build_root http json_decode);

my $client = build_root() . '/t/unit/asr-client';
my @miss = Meetrec::Test::Asr::prereqs_missing();
push @miss, 'espeak-ng not found'
    unless grep { -x "$_/espeak-ng" } split /:/, $ENV{PATH} // '';
push @miss, "$client is not built" unless -x $client;
Meetrec::Test::Stack::skip_unless(@miss);

my $root = $ENV{MEETREC_TEST_TMPDIR} || build_root() . '/t/tmp_check';
my $dir = "$root/219-asr-standin";
remove_tree($dir) if -e $dir;
make_path($dir);

# ---- the self-test with the official SDK ---------------------------------
my $st = run_cmd([ Meetrec::Test::Stack::_node(),
    Meetrec::Test::Stack::node_script('t/asr/selftest.mjs', 't/asr') ],
    timeout => 120, env => { TMPDIR => $dir });
my @bad = grep { /^not ok/ } split /\n/, $st->{out};
ok($st->{rc} == 0 && !@bad && $st->{out} =~ /^1\.\.(\d+)$/m && $1 >= 20,
    't/asr/selftest.mjs passes with the openai SDK'
    . ($st->{out} =~ /^1\.\.(\d+)$/m ? " ($1 checks)" : ''))
    or diag("$st->{out}$st->{err}");

# ---- WAV in Perl ---------------------------------------------------------

# read_wav($path) - { rate, samples => [ -1..1 ] } of a PCM s16 WAV, mono
# (channels averaged).  espeak-ng writes RIFF, PCM s16, mono, 22050 Hz.
sub read_wav {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "$path: $!";
	local $/;
	my $b = <$fh>;
	close $fh;
	die "$path: not RIFF WAVE" unless substr($b, 0, 4) eq 'RIFF'
	    && substr($b, 8, 4) eq 'WAVE';
	my ($off, $fmt, $data) = (12);
	while ($off + 8 <= length $b) {
		my ($id, $size) = unpack 'a4 V', substr($b, $off, 8);
		$size = length($b) - $off - 8 if $size > length($b) - $off - 8;
		if ($id eq 'fmt ') {
			my ($tag, $ch, $rate, undef, undef, $bits) =
			    unpack 'v v V V v v', substr($b, $off + 8, 16);
			$fmt = { tag => $tag, ch => $ch, rate => $rate,
			    bits => $bits };
		} elsif ($id eq 'data') {
			$data = substr($b, $off + 8, $size);
		}
		$off += 8 + $size + ($size & 1);
	}
	die "$path: not PCM s16" unless $fmt && $fmt->{tag} == 1
	    && $fmt->{bits} == 16 && defined $data;
	my @s = unpack 's<*', $data;
	my @m;
	for (my $i = 0; $i + $fmt->{ch} <= @s; $i += $fmt->{ch}) {
		my $sum = 0;
		$sum += $s[$i + $_] for 0 .. $fmt->{ch} - 1;
		push @m, $sum / $fmt->{ch} / 32768;
	}
	return { rate => $fmt->{rate}, samples => \@m };
}

# resample($w, $rate) - linear interpolation to $rate.
sub resample {
	my ($w, $rate) = @_;
	my $in = $w->{samples};
	my $n = int(@$in * $rate / $w->{rate});
	my @out;
	for my $i (0 .. $n - 1) {
		my $x = $i * $w->{rate} / $rate;
		my $j = int $x;
		my $f = $x - $j;
		my $a = $in->[$j] // 0;
		my $b = $in->[$j + 1] // $a;
		push @out, $a + ($b - $a) * $f;
	}
	return \@out;
}

# trim(\@samples) - without the silence (under -40 dBFS) at either end.
sub trim {
	my ($s) = @_;
	my ($i, $j) = (0, $#$s);
	$i++ while $i < $j && abs($s->[$i]) < 0.01;
	$j-- while $j > $i && abs($s->[$j]) < 0.01;
	return [ @$s[$i .. $j] ];
}

sub write_wav {
	my ($path, $rate, $s) = @_;
	my $data = pack 's<*', map {
		my $v = int($_ * 32767 + ($_ < 0 ? -0.5 : 0.5));
		$v > 32767 ? 32767 : $v < -32768 ? -32768 : $v
	} @$s;
	open my $fh, '>:raw', $path or die "$path: $!";
	print {$fh} 'RIFF', pack('V', 36 + length $data), 'WAVE',
	    'fmt ', pack('V v v V V v v', 16, 1, 1, $rate, $rate * 2, 2, 16),
	    'data', pack('V', length $data), $data;
	close $fh or die "$path: $!";
}

# ---- three sentences at known offsets ------------------------------------
my @text = (
	'Good morning everyone.',
	'Today we will talk about the budget for next year.',
	'After that, each team will present what they have done since the '
	    . 'last meeting, and what comes next.',
);
my (@sentences, @placed, @piece);
my $at = 1.5;
for my $i (0 .. $#text) {
	my $ref = "$dir/sentence$i.wav";
	my $r = run_cmd([ 'espeak-ng', '-w', $ref, $text[$i] ], timeout => 60);
	die "espeak-ng: $r->{err}" unless $r->{rc} == 0 && -s $ref;
	push @sentences, { text => $text[$i], wav => $ref };
	my $s = trim(resample(read_wav($ref), 16000));
	my $start = int($at * 16000);
	push @piece, (0) x ($start - @piece);
	push @piece, @$s;
	push @placed, [ $start / 16000, ($start + @$s) / 16000 ];
	$at = @piece / 16000 + 2.5;
}
push @piece, (0) x 32000;
my $wav = "$dir/piece.wav";
write_wav($wav, 16000, \@piece);
my $seconds = @piece / 16000;

my $key = 'sk-meetrec-test-0123456789abcdef';
my $asr = Meetrec::Test::Asr->new(dir => "$dir/asr", api_key => $key,
    wav_only => 1);
my $voiced = $asr->script(\@sentences);
is(scalar @$voiced, 3, 'the script: three sentences');
my @v = map { $_->{voiced} } @$voiced;
ok($v[0] > 0.5 && $v[1] > $v[0] * 1.5 && $v[2] > $v[1] * 1.5,
    sprintf('their voiced durations differ: %.2f, %.2f, %.2f s', @v));

my %env = (
	MEETREC_ASR_URL => $asr->url,
	MEETREC_ASR_API_KEY => $key,
	MEETREC_ASR_LANGUAGE => 'en',
	MEETREC_ASR_TIMEOUT_SECONDS => 30,
	MEETREC_LOG_LEVEL => 'warn',
);

# asr($wav, %env) - run asr-client; { rc, json, out, err, secs }.  What
# the sanitizers report on its stderr is kept for the last check.
my @sanitizer;
sub asr {
	my ($file, %e) = @_;
	my $t0 = Time::HiRes::time();
	my $r = run_cmd([ $client, $file ], timeout => 60,
	    env => { %env, %e });
	$r->{secs} = Time::HiRes::time() - $t0;
	$r->{json} = eval { json_decode($r->{out}) };
	diag("asr-client: $r->{out}$r->{err}") unless $r->{json};
	push @sanitizer, $r->{err}
	    if $r->{err} =~ /Sanitizer|runtime error:/;
	return $r;
}

# is_err($r, $status, $code, $name) - asr-client failed as expected.
sub is_err {
	my ($r, $status, $code, $name) = @_;
	my $e = $r->{json} && $r->{json}{error} || {};
	ok($r->{rc} == 1 && ($e->{status} // 0) == $status
	    && ($e->{code} // '') eq $code, "$name: $status $code")
	    or diag(explain($r->{json}) . $r->{err});
	return $e;
}

my $r = asr($wav);
is($r->{rc}, 0, 'asr-client: transcribed') or diag($r->{out} . $r->{err});
my $segs = $r->{json} && $r->{json}{segments} || [];
is(scalar @$segs, 3, 'three segments');
for my $i (0 .. 2) {
	my $g = $segs->[$i] // {};
	is($g->{text}, $text[$i], "segment $i: its sentence");
	ok(defined $g->{start} && abs($g->{start} - $placed[$i][0]) <= 0.25
	    && abs($g->{end} - $placed[$i][1]) <= 0.25,
	    sprintf('segment %d: %.2f-%.2f s, placed at %.2f-%.2f s', $i,
	    $g->{start} // -1, $g->{end} // -1, @{ $placed[$i] }));
}
is($r->{json}{language}, 'en', 'the language asked for');
ok(abs(($r->{json}{duration} // 0) - $seconds) < 0.02,
    sprintf('duration %.2f s', $seconds));

my $reqs = $asr->requests;
my $q = $reqs->[-1] // {};
is_deeply([ @{ $q->{fields} // {} }{qw(model language response_format
    temperature)}, $q->{fields}{timestamp_granularities} ],
    [ 'whisper-1', 'en', 'verbose_json', '0', [ 'segment' ] ],
    'the fields sent: model, language, verbose_json, temperature 0, '
    . 'segment timestamps');
is_deeply($q->{wav}, { rate => 16000, channels => 1, bits => 16,
    seconds => 0 + sprintf('%.3f', $seconds) }, 'the WAV as sent');
is($q->{bytes}, -s $wav, 'the whole file, byte for byte in size');
is($q->{filename}, 'audio.wav', 'the file part is named audio.wav');
like($q->{content_type} // '', qr{^audio/wav\b}, 'of type audio/wav');

# No language: the server's guess.
$r = asr($wav, MEETREC_ASR_LANGUAGE => '', MEETREC_ASR_MODEL => 'large-v3');
is($r->{json}{language}, 'english', 'no language: the server names it');
is_deeply([ @{ $asr->requests->[-1]{fields} }{qw(model language)} ],
    [ 'large-v3', undef ], 'no language field sent; asr_model sent');

# ---- failures ------------------------------------------------------------
$r = asr($wav, MEETREC_ASR_API_KEY => 'sk-wrong');
my $e = is_err($r, 401, 'asr_refused', 'a wrong key');
like($e->{detail} // '', qr/Incorrect API key/, "with the server's message");
$r = asr($wav, MEETREC_ASR_API_KEY => '');
is_err($r, 401, 'asr_refused', 'no key');

$asr->fault(next => 1, status => 429, retry_after => 7);
$r = asr($wav);
is_err($r, 429, 'asr_rate_limited', '429');
is($r->{json}{retry_after}, 7, 'retry_after 7, from Retry-After');

$asr->fault(next => 1, status => 429, retry_after => 30,
    retry_after_date => 1);
$r = asr($wav);
is_err($r, 429, 'asr_rate_limited', '429 with an HTTP-date');
ok(($r->{json}{retry_after} // 0) >= 27 && $r->{json}{retry_after} <= 30,
    "Retry-After as an HTTP-date: $r->{json}{retry_after} s");

$asr->fault(next => 1, status => 429);
$r = asr($wav);
is_err($r, 429, 'asr_rate_limited', '429 without Retry-After');
is($r->{json}{retry_after}, 0, 'retry_after 0');

$asr->fault(next => 1, status => 500);
$e = is_err(asr($wav), 502, 'asr_unavailable', '500');
like($e->{detail} // '', qr/HTTP 500.*server had an error/,
    "the status and the server's message in detail");

$asr->fault(next => 1, status => 503, retry_after => 3);
is_err(asr($wav), 502, 'asr_unavailable', '503');

$asr->fault(next => 1, status => 413);
is_err(asr($wav), 413, 'asr_too_large', '413 (a fault)');

$asr->fault(next => 1, mode => 'reset');
is_err(asr($wav), 502, 'asr_unavailable', 'a reset connection');

$asr->fault(next => 1, mode => 'garbage');
is_err(asr($wav), 502, 'asr_bad_answer', 'an answer that is not JSON');

$asr->fault(next => 1, delay_ms => 8000);
$r = asr($wav, MEETREC_ASR_TIMEOUT_SECONDS => 5);
$e = is_err($r, 502, 'asr_unavailable', 'a slow answer past the timeout');
like($e->{detail} // '', qr/timeout/, 'the detail says timeout');
ok($r->{secs} >= 4.5 && $r->{secs} < 7.5,
    sprintf('given up after %.1f s (asr_timeout_seconds 5)', $r->{secs}));

$asr->down(1);
is_err(asr($wav), 502, 'asr_unavailable', 'the server down');
$asr->down(0);
is(asr($wav)->{rc}, 0, 'up again: transcribed');

# The server's size limit, on an instance of its own, and ours.
my $small = Meetrec::Test::Asr->new(dir => "$dir/small",
    max_bytes => int((-s $wav) / 2));
$e = is_err(asr($wav, MEETREC_ASR_URL => $small->url), 413, 'asr_too_large',
    "past the server's size limit");
like($e->{detail} // '', qr/Maximum content size limit/,
    "with OpenAI's message");
my $n = @{ $asr->requests };
$e = is_err(asr($wav, MEETREC_ASR_MAX_BYTES => 65536), 413, 'asr_too_large',
    'past asr_max_bytes');
is(scalar @{ $asr->requests }, $n, 'which is not sent at all');
is($small->stop, 'exit 0', 'the second stand-in stops on SIGTERM');
is_err(asr($wav, MEETREC_ASR_URL => $small->url), 502, 'asr_unavailable',
    'a server that is gone');

is_err(asr("$dir/nonexistent.wav"), 500, 'io_error', 'a file that is not');

# A path of one's own (whisper.cpp's /inference).
my $wcpp = Meetrec::Test::Asr->new(dir => "$dir/inference",
    path => '/inference', wav_only => 1);
$wcpp->script(\@sentences);
$r = asr($wav, MEETREC_ASR_URL => $wcpp->url, MEETREC_ASR_API_KEY => '');
ok($r->{rc} == 0 && @{ $r->{json}{segments} // [] } == 3,
    'the stand-in on /inference, as whisper.cpp: transcribed');
# whisper.cpp's server without --convert refuses what is not 16 kHz WAV.
$e = is_err(asr($sentences[0]{wav}, MEETREC_ASR_URL => $wcpp->url),
    400, 'asr_refused', 'a 22050 Hz WAV to a --wav-only server');
like($e->{detail} // '', qr/failed to read audio data/,
    "whisper.cpp's error shape read");
$wcpp->stop;

# ---- malformed multipart -------------------------------------------------
my $b = 'XyZzY0123';
sub part {
	my ($name, $value, %o) = @_;
	return "--$b\r\nContent-Disposition: form-data; name=\"$name\""
	    . (defined $o{filename} ? "; filename=\"$o{filename}\"" : '')
	    . "\r\n" . (defined $o{type} ? "Content-Type: $o{type}\r\n" : '')
	    . "\r\n$value\r\n";
}
my $audio = do { open my $fh, '<:raw', $wav or die; local $/; <$fh> };
my $file = part('file', $audio, filename => 'audio.wav', type => 'audio/wav');
my %bodies = (
	'no file' => part('model', 'whisper-1') . "--$b--\r\n",
	'no model' => $file . "--$b--\r\n",
	'an unknown field' => $file . part('model', 'whisper-1')
	    . part('colour', 'blue') . "--$b--\r\n",
	'a field twice' => $file . part('model', 'whisper-1')
	    . part('model', 'whisper-2') . "--$b--\r\n",
	'no closing boundary' => $file . part('model', 'whisper-1'),
	'LF instead of CRLF' => ($file . part('model', 'whisper-1')
	    . "--$b--\r\n") =~ s/\r\n/\n/gr,
	'a file part without a filename' => part('file', $audio,
	    type => 'audio/wav') . part('model', 'whisper-1') . "--$b--\r\n",
	'a part without Content-Disposition' => "--$b\r\n"
	    . "Content-Type: text/plain\r\n\r\nx\r\n" . $file
	    . part('model', 'whisper-1') . "--$b--\r\n",
);
for my $name (sort keys %bodies) {
	my $res = http(POST => $asr->url, { body => $bodies{$name},
	    headers => { 'Content-Type' => "multipart/form-data; boundary=$b",
	    Authorization => "Bearer $key" } });
	ok($res->{status} == 400 && $res->{json}
	    && ref $res->{json}{error} eq 'HASH'
	    && length($res->{json}{error}{message} // '')
	    && ($res->{json}{error}{type} // '') eq 'invalid_request_error',
	    "malformed multipart, $name: 400 with OpenAI's error")
	    or diag("$res->{status} $res->{body}");
}
my $res = http(POST => $asr->url, { body => $bodies{'no model'},
    headers => { 'Content-Type' => 'multipart/form-data',
    Authorization => "Bearer $key" } });
is($res->{status}, 400, 'no boundary in Content-Type: 400');
$res = http(POST => $asr->url, { body => '{"model":"whisper-1"}',
    headers => { 'Content-Type' => 'application/json',
    Authorization => "Bearer $key" } });
is($res->{status}, 400, 'JSON instead of multipart: 400');

is($asr->stop, 'exit 0', 'the stand-in stops on SIGTERM');
ok(!@sanitizer, 'asr-client: no sanitizer reports') or diag(@sanitizer);

if (Test::More->builder->is_passing && !$ENV{MEETREC_TEST_LEAVE}) {
	remove_tree($dir);
} else {
	diag("artefacts kept in $dir");
}
done_testing();
