#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 471-captions.t - meetrec's WebVTT captions judged by a WebVTT parser it
# shares no code with: t/vtt/validate.mjs, on npm webvtt-parser (the
# parser of W3C's validator, strict mode).  Ordinary and hostile segment
# sets (markup, character references, fake cues and blank lines inside
# texts, control characters, NULs, bad UTF-8, empty texts, times that
# are negative, unsorted, equal, past 10 and 100 hours) go through
# t/unit/transcript-tool's "vtt" mode; each file must parse without a
# single error, with one cue a segment that has text, the cue times
# equal the segments' (or as transcript.c's rules move them), and the
# cue texts, the parser's character references decoded, equal the
# cleaned segment texts.  The rules are written out again here in Perl.
# The validator itself must catch a broken file.  The "txt" mode and
# the chapters of a made-up two-topic meeting are checked too.  No
# database, no stack: node and the build's tool only.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP ();
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Stack ();
use Meetrec::Test::Util qw(build_root);

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $TOOL = build_root() . '/t/unit/transcript-tool';
Meetrec::Test::Stack::skip_unless(
    (-x $TOOL ? () : "$TOOL is not built"),
    Meetrec::Test::Stack::node_missing('t/vtt/validate.mjs', 't/vtt',
    'webvtt-parser'));
my $NODE = Meetrec::Test::Stack::_node();
my $VALIDATE = Meetrec::Test::Stack::node_script('t/vtt/validate.mjs',
    't/vtt');

# Texts travel as bytes: latin1 writes each byte as itself, so bytes
# that are not UTF-8 reach the tool as they are.
my $TO_TOOL = JSON::PP->new->latin1->canonical;
my $JSON = JSON::PP->new->utf8->canonical;

# tool($mode, \@segments) - the tool's output (bytes); each segment is
# { start, end } in seconds or { start_ms, end_ms }, and text: bytes,
# or undef for null.
sub tool {
	my ($mode, $segs) = @_;
	my $r = run_cmd([ $TOOL, $mode ],
	    stdin => $TO_TOOL->encode({ segments => $segs }));
	is($r->{rc}, 0, "transcript-tool $mode exits 0")
	    or diag($r->{err});
	return $r->{out};
}

# validate($vtt) - validate.mjs's answer and its exit code.
sub validate {
	my ($vtt) = @_;
	my $r = run_cmd([ $NODE, $VALIDATE ], stdin => $vtt);
	my $j = eval { $JSON->decode($r->{out}) };
	return ($j, $r->{rc}, $r->{err});
}

# The maximal ill-formed parts of UTF-8 as U+FFFD (WHATWG's decoder).
sub decode_utf8_lossy {
	my ($bytes) = @_;
	my @b = unpack 'C*', $bytes;
	my $s = '';
	my $i = 0;
	while ($i < @b) {
		my $c = $b[$i];
		my ($need, $v, $lo, $hi) = (0, $c, 0x80, 0xbf);
		if ($c < 0x80) { $s .= chr $c; $i++; next }
		elsif ($c >= 0xc2 && $c <= 0xdf) {
			($need, $v) = (1, $c & 0x1f);
		}
		elsif ($c >= 0xe0 && $c <= 0xef) {
			($need, $v) = (2, $c & 0x0f);
			$lo = 0xa0 if $c == 0xe0;
			$hi = 0x9f if $c == 0xed;
		} elsif ($c >= 0xf0 && $c <= 0xf4) {
			($need, $v) = (3, $c & 0x07);
			$lo = 0x90 if $c == 0xf0;
			$hi = 0x8f if $c == 0xf4;
		} else { $s .= "\x{fffd}"; $i++; next }
		my $k = 1;
		for (; $k <= $need; $k++) {
			my $d = $b[$i + $k];
			last if !defined $d || $d < $lo || $d > $hi;
			$v = ($v << 6) | ($d & 0x3f);
			($lo, $hi) = (0x80, 0xbf);
		}
		if ($k <= $need) { $s .= "\x{fffd}"; $i += $k; next }
		$s .= chr $v;
		$i += $need + 1;
	}
	return $s;
}

# A segment's text as transcript.c cleans it (characters): up to a NUL,
# decoded, controls and line separators as spaces, runs of them one,
# none at the ends.
sub clean {
	my ($bytes) = @_;
	return '' unless defined $bytes;
	$bytes =~ s/\x00.*//s;
	my $s = decode_utf8_lossy($bytes);
	$s =~ s/[\x00-\x20\x7f-\x9f\x{2028}\x{2029}]+/ /g;
	$s =~ s/^ | $//g;
	return $s;
}

sub ms {
	my ($seg, $k) = @_;
	return $seg->{"${k}_ms"} if defined $seg->{"${k}_ms"};
	my $v = $seg->{$k} * 1000;
	return int($v < 0 ? $v - 0.5 : $v + 0.5);
}

# The cues transcript.c should write for @segs: [id, start, end, text].
sub want_cues {
	my ($segs) = @_;
	my @cues;
	my $prev = 0;
	for my $i (0 .. $#$segs) {
		my $t = clean($segs->[$i]{text});
		next if $t eq '';
		my $start = ms($segs->[$i], 'start');
		my $end = ms($segs->[$i], 'end');
		$start = 0 if $start < 0;
		$end = 0 if $end < 0;
		$start = $prev if $start < $prev;
		$prev = $start;
		$end = $start + 1 if $end <= $start;
		push @cues, [ $i + 1, $start, $end, $t ];
	}
	return \@cues;
}

sub check_vtt {
	my ($name, $segs) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $vtt = tool('vtt', $segs);
	like($vtt, qr/\AWEBVTT\n(?:\n|\z)/, "$name: starts with WEBVTT and a "
	    . 'blank line');
	my @lines = split /\n/, $vtt, -1;
	my @arrows = grep { /-->/ } @lines;
	my $ts = qr/\d{2,}:[0-5]\d:[0-5]\d\.\d{3}/;
	ok(!grep({ !/\A$ts --> $ts\z/ } @arrows),
	    "$name: \"-->\" only on timing lines")
	    or diag(join "\n", @arrows);
	ok($vtt !~ /[\x00\r]/, "$name: no NUL and no CR");
	my ($j, $rc, $err) = validate($vtt);
	ok($j, "$name: validate.mjs answers") or diag($err);
	$j //= { errors => [ 'no answer' ], cues => [] };
	is_deeply($j->{errors}, [], "$name: the parser finds no error")
	    or diag($vtt);
	is($rc, 0, "$name: validate.mjs exits 0");
	my $want = want_cues($segs);
	# The parser orders cues by start, then by end, longest first; the
	# file's order is checked by its rule that starts never go back.
	my @got = sort { $a->[0] <=> $b->[0] }
	    map { [ $_->{id}, $_->{start_ms}, $_->{end_ms}, $_->{text} ] }
	    @{ $j->{cues} };
	is(scalar @got, scalar @$want, "$name: one cue a segment with text");
	is_deeply(\@got, $want, "$name: ids, times (ms) and decoded texts")
	    or diag(explain(\@got), explain($want));
	return $vtt;
}

# ---- the validator catches what it should -----------------------------------
{
	my ($j, $rc) = validate("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\n"
	    . "a & b <x>\n00:00:03.000 --> 00:00:04.000\nc\n");
	is($rc, 1, 'validator: a broken file exits 1');
	my %msg = map { $_->{message} => 1 } @{ $j->{errors} // [] };
	ok($msg{'End timestamp is not greater than start timestamp.'}
	    && $msg{'Incorrect escape.'} && $msg{'Incorrect start tag.'}
	    && $msg{'Blank line missing before cue.'},
	    'validator: end before start, a bare &, an unknown tag and a '
	    . 'missing blank line are errors') or diag(explain($j));
	($j, $rc) = validate("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\n"
	    . "\xff\n");
	is($rc, 1, 'validator: bytes that are not UTF-8 are an error');
	($j, $rc) = validate("WEBVTT\n\n1\n00:00:01.500 --> 00:00:02.000\n"
	    . "a &amp; b &lt;c&gt;\n");
	is($rc, 0, 'validator: a good file exits 0');
	is_deeply($j->{cues}, [ { id => '1', start => 1.5, end => 2,
	    start_ms => 1500, end_ms => 2000, text => 'a & b <c>',
	    raw => 'a &amp; b &lt;c&gt;' } ], 'validator: its cue');
}

# ---- ordinary segments ------------------------------------------------------
my @talk = (
	'Good morning everyone, shall we start?',
	'First item: the release is planned for the 14th.',
	'QA found two blockers; both are fixed in 2.3.1.',
	"Anna: I'd like the notes by Friday, please.",
	'Ça va? Très bien. Grüße aus Köln!',
	'Численность участников: 12',
	'会议记录将在明天发送。',
	'مرحبا بالجميع',
	"Emoji \x{1f600} and combining e\x{301} stay as they are.",
);
my @ordinary;
my $t = 0.25;
for my $k (0 .. $#talk) {
	my $text = $talk[$k];
	utf8::encode($text);
	push @ordinary, { start => $t, end => $t + 3.125, text => $text };
	$t += 3.5 + $k * 0.001;
}
check_vtt('ordinary', \@ordinary);

# ---- times ------------------------------------------------------------------
check_vtt('times', [
	{ start_ms => 0, end_ms => 59_999, text => 'zero to 59.999 s' },
	{ start_ms => 102_000, end_ms => 102_500, text => 'at 1:42' },
	{ start_ms => 3_599_999, end_ms => 3_600_000, text => 'an hour' },
	{ start_ms => 37_230_004, end_ms => 37_230_999, text => '10 h+' },
	{ start_ms => 360_000_000, end_ms => 360_003_000, text => '100 h' },
	{ start_ms => 1_234_567_890, end_ms => 1_234_567_891,
	  text => 'more than 342 h' },
]);
check_vtt('hostile times', [
	{ start_ms => -5000, end_ms => -1, text => 'negative' },
	{ start_ms => 5000, end_ms => 5000, text => 'end equal to start' },
	{ start_ms => 6000, end_ms => 4000, text => 'end before start' },
	{ start_ms => 3000, end_ms => 9000, text => 'starts too early' },
	{ start_ms => 2000, end_ms => 2500, text => 'and ends too early' },
	{ start_ms => 9000, end_ms => 12000, text => 'same start' },
	{ start_ms => 9000, end_ms => 10000, text => 'same start, shorter' },
	{ start => 12.0004, end => 12.0006, text => 'sub-millisecond' },
]);

# ---- hostile texts ----------------------------------------------------------
my @hostile = (
	'a & b < c > d',
	'<b>bold</b> <i>it</i> <v Roger>voice</v> <c.yellow>class</c>',
	'<00:00:01.000> a timestamp tag',
	'&amp; &lt; &gt; &nbsp; &#65; &#x41; &lrm; &;',
	'-->',
	'00:00:01.000 --> 00:00:02.000',
	"line one\n\nWEBVTT\n\n00:00:00.000 --> 00:00:09.000\nfake cue",
	"a\r\rb\r\n\r\nc\n\n\nd",
	"NOTE this is not a comment",
	"STYLE\n::cue { color: red }",
	'1',
	"\ttabs\tand\x0cform feeds\x0b",
	"\x01\x02\x1b[31mred\x1b[0m\x7f",
	"C1: \xc2\x85 and \xc2\x9f",
	"separators: \xe2\x80\xa8 and \xe2\x80\xa9",
	"\xef\xbb\xbfa BOM first",
	"bad: \xff \xfe \xc0\x80 \xed\xa0\x80 \xe2\x82 \xf4\x90\x80\x80 \xf5",
	"cut short at the end \xf0\x9f\x98",
	"truncated at a NUL\x00 after it",
	"\x00",
	'',
	undef,
	"   \n\t\r  ",
	"\xef\xbf\xbd a real U+FFFD",
	'x' x 10_000,
	join(' ', ('word&<>') x 500),
);
my @segs;
for my $k (0 .. $#hostile) {
	push @segs, { start_ms => $k * 1000, end_ms => $k * 1000 + 900,
	    text => $hostile[$k] };
}
my $vtt = check_vtt('hostile texts', \@segs);
ok($vtt !~ /\n\n\n/, 'hostile texts: no stray blank lines');

# ---- txt --------------------------------------------------------------------
{
	my $got = tool('txt', \@segs);
	my $want = '';
	for my $s (@segs) {
		my $c = clean($s->{text});
		next if $c eq '';
		my $sec = int($s->{start_ms} / 1000);
		$want .= sprintf "[%02d:%02d:%02d] %s\n", int($sec / 3600),
		    int($sec / 60) % 60, $sec % 60, $c;
	}
	utf8::encode($want);
	is($got, $want, 'txt: "[hh:mm:ss] text" lines, cleaned, not escaped');
}

# ---- chapters of a two-topic meeting ---------------------------------------
# About 9 minutes: the launch of a mobile app, then moving the office.
my @launch = (
	'Let us start with the app launch and the marketing campaign',
	'The beta testers reported crashes on older Android phones',
	'Marketing needs screenshots of the app for the store listing',
	'The launch date depends on the Android crash fixes',
	'Store review for the iPhone app usually takes two days',
	'The campaign budget covers ads and an influencer video',
	'Beta feedback says onboarding screens are too long',
	'We could shorten onboarding before the launch',
);
my @office = (
	'Now the office move to the new building in March',
	'The movers need the furniture list and the desk plan',
	'Facilities will rewire the network in the new building',
	'Parking permits for the new office are still pending',
	'Each team packs its boxes on the Friday before the move',
	'The kitchen in the new building is bigger than ours',
	'The lease of the old office ends at the end of March',
	'Please label every box with your desk number for the movers',
);
my @meeting;
$t = 3;
for my $k (0 .. 79) {
	my $text = $k < 40 ? $launch[$k * 3 % 8] : $office[$k * 5 % 8];
	push @meeting, { start => $t, end => $t + 5.5, text => $text };
	$t += 6.5 + ($k % 3) * 0.5;
}
my $change = $meeting[40]{start} * 1000;
my $first = tool('chapters', \@meeting);
is(tool('chapters', \@meeting), $first,
    'chapters: the same input, the same chapters');
my @ch = map { $JSON->decode($_) } split /\n/, $first;
ok(@ch >= 2 && @ch <= 3, 'chapters: 2 or 3 of a 9-minute meeting ('
    . scalar(@ch) . ')') or diag(explain(\@ch));
is($ch[0]{first}, 0, 'chapters: the first starts at the first segment');
is($ch[0]{start_ms}, 3000, 'chapters: at its start, 3 s');
ok(scalar(grep { abs($_->{start_ms} - $change) <= 20_000 } @ch) == 1,
    'chapters: one starts within 20 s of the change of topic at '
    . "$change ms") or diag(explain(\@ch));
my $end = $meeting[-1]{end} * 1000;
my $ok_len = 1;
for my $i (0 .. $#ch) {
	my $next = $i < $#ch ? $ch[$i + 1]{start_ms} : $end;
	$ok_len = 0 if $next - $ch[$i]{start_ms} < 60_000;
	$ok_len = 0 if $ch[$i]{start_ms} != ms($meeting[$ch[$i]{first}],
	    'start');
}
ok($ok_len, 'chapters: each at least 60 s, starting at its first segment');
for my $i (0 .. $#ch) {
	my $c = $ch[$i];
	my $to = $i < $#ch ? $ch[$i + 1]{first} : scalar @meeting;
	my $own = lc join ' ',
	    map { $_->{text} } @meeting[$c->{first} .. $to - 1];
	my @w = split / /, lc $c->{title};
	ok(length($c->{title}) <= 48 && @w >= 2 && @w <= 3
	    && !grep({ index($own, $_) < 0 } @w),
	    "chapters: title '$c->{title}' of its own words");
}
my ($t1) = map { $_->{title} } grep { $_->{start_ms} < $change } @ch;
my ($t2) = map { $_->{title} } grep { $_->{start_ms} >= $change - 20_000 }
    @ch;
like($t1 // '', qr/app|launch|android|beta|marketing|campaign|onboarding/i,
    'chapters: the first title is about the launch');
like($t2 // '', qr/office|building|movers|move|march|desk/i,
    'chapters: the later title is about the move');

done_testing();
