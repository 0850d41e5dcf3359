/* SPDX-License-Identifier: ISC */
/*
 * test-transcript.c - chapters on made-up meetings (two topics, a long
 * pause, short ones, German words, hostile times), their titles, and the
 * exact bytes of the WebVTT and plain text writers.  t/471-captions.t
 * checks the WebVTT with a real parser.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mr.h"
#include "transcript.h"
#include "tap.h"

#define NSEG	80

static const char *const topic_a[] = {
	"The budget for the next quarter needs review by finance",
	"Finance wants the spending report and budget numbers soon",
	"Our quarterly budget covers marketing spending and travel costs",
	"The spending limits in the budget were approved by finance",
	"Travel costs went over budget because of conference fees"
};
static const char *const topic_b[] = {
	"The database migration moved every table to the new cluster",
	"Replication lag on the database cluster caused slow queries",
	"We should index the queries that the migration made slower",
	"The cluster upgrade needs a maintenance window for the database",
	"Backups of the database run nightly on the replica cluster"
};

static struct mr_seg	seg[NSEG];

/*
 * NSEG segments of 4.5 s every 5 s: topic a up to segment split, topic
 * b after it (split NSEG: all a), pause ms more before segment at.
 */
static void
meeting(size_t split, size_t at, int64_t pause)
{
	int64_t	 t = 0;
	size_t	 k;

	for (k = 0; k < NSEG; k++) {
		if (k == at)
			t += pause;
		seg[k].start_ms = t;
		seg[k].end_ms = t + 4500;
		seg[k].text = k < split ? topic_a[k * 7 % 5] :
		    topic_b[k * 7 % 5];
		t += 5000;
	}
}

static int
utf8_valid(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, i;

	while (*p != '\0') {
		if (*p < 0x80)
			n = 0;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return 0;
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

/* Whether every word of title occurs in segments [from, to), any case. */
static int
title_own(const char *title, size_t from, size_t to)
{
	char	 text[8192], word[256];
	size_t	 i, len = 0, k;

	for (i = from; i < to && len < sizeof(text) - 256; i++) {
		if (seg[i].text == NULL)
			continue;
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s ",
		    seg[i].text);
	}
	for (i = 0; i < len; i++)
		text[i] = (char)tolower((unsigned char)text[i]);
	while (*title != '\0') {
		k = strcspn(title, " ");
		if (k == 0 || k >= sizeof(word))
			return 0;
		for (i = 0; i < k; i++)
			word[i] = (char)tolower((unsigned char)title[i]);
		word[k] = '\0';
		if (strstr(text, word) == NULL)
			return 0;
		title += k;
		title += strspn(title, " ");
	}
	return 1;
}

/* Checks the titles of ch against the limits and the chapters' words. */
static void
titles_ok(const struct mr_chapter *ch, size_t nch, size_t n, const char *what)
{
	size_t	 c;
	int	 good = 1;

	for (c = 0; c < nch; c++) {
		if (ch[c].title == NULL || ch[c].title[0] == '\0' ||
		    strlen(ch[c].title) > 48 || !utf8_valid(ch[c].title) ||
		    !title_own(ch[c].title, ch[c].first,
		    c + 1 < nch ? ch[c + 1].first : n)) {
			printf("# chapter %zu: '%s'\n", c,
			    ch[c].title ? ch[c].title : "(null)");
			good = 0;
		}
	}
	ok(good, "%s: titles of 1 to 48 bytes of UTF-8, from the chapter's "
	    "own words", what);
}

static void
chapters(struct mr_arena *a)
{
	struct mr_chapter	*ch, *ch2;
	size_t			 nch, nch2, c;
	int			 same, rc;

	ch = NULL;
	nch = 99;
	ok(mr_chapters(a, seg, 0, &ch, &nch) == 0 && nch == 0 && ch == NULL,
	    "n == 0: no chapter");

	/* Two topics, no pause: the boundary is where the topic changes. */
	meeting(40, NSEG, 0);
	ok(mr_chapters(a, seg, NSEG, &ch, &nch) == 0, "two topics");
	is_int((long long)nch, 2, "two topics: two chapters");
	ok(nch == 2 && ch[1].first >= 38 && ch[1].first <= 42,
	    "two topics: the second starts at the change (segment %zu)",
	    nch == 2 ? ch[1].first : 0);
	ok(nch == 2 && ch[1].start_ms == seg[ch[1].first].start_ms &&
	    ch[0].start_ms == 0 && ch[0].first == 0,
	    "two topics: starts are their first segments' starts");
	ok(nch == 2 && strstr(ch[0].title, "udget") != NULL &&
	    strstr(ch[0].title, "atabase") == NULL &&
	    strstr(ch[1].title, "atabase") != NULL &&
	    strstr(ch[1].title, "udget") == NULL,
	    "two topics: titles '%s', '%s'", nch > 0 ? ch[0].title : "",
	    nch > 1 ? ch[1].title : "");
	titles_ok(ch, nch, NSEG, "two topics");

	/* Determinism: again, in the same arena, the same answer. */
	ok(mr_chapters(a, seg, NSEG, &ch2, &nch2) == 0 && nch2 == nch,
	    "two topics again");
	same = nch2 == nch;
	for (c = 0; same && c < nch; c++)
		same = ch[c].first == ch2[c].first &&
		    ch[c].start_ms == ch2[c].start_ms &&
		    strcmp(ch[c].title, ch2[c].title) == 0;
	ok(same, "two topics again: the same chapters and titles");

	/* One topic, one sentence, a 30 s pause before segment 50. */
	meeting(NSEG, 50, 30000);
	for (c = 0; c < NSEG; c++)
		seg[c].text = topic_a[0];
	rc = mr_chapters(a, seg, NSEG, &ch, &nch);
	ok(rc == 0 && nch == 2 && ch[1].first == 50 &&
	    ch[1].start_ms == 280000,
	    "a long pause makes a boundary (chapters: %zu)", nch);
	titles_ok(ch, nch, NSEG, "long pause");

	/* A pause 25 s in leaves too short a chapter before it. */
	meeting(NSEG, 5, 30000);
	for (c = 0; c < NSEG; c++)
		seg[c].text = topic_a[0];
	rc = mr_chapters(a, seg, NSEG, &ch, &nch);
	ok(rc == 0 && nch == 1, "a pause 25 s in: one chapter (chapters: %zu)",
	    nch);

	/* 30 s of two topics and a pause: one chapter. */
	meeting(3, 3, 10000);
	seg[0].start_ms = 1200;
	ok(mr_chapters(a, seg, 6, &ch, &nch) == 0 && nch == 1 &&
	    ch[0].first == 0 && ch[0].start_ms == 1200,
	    "a 30 s transcript: one chapter, from its first segment's start");
	titles_ok(ch, nch, 6, "30 s");

	/* One long segment. */
	seg[0].start_ms = 0;
	seg[0].end_ms = 3600000;
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1 &&
	    ch[0].title != NULL, "one segment of an hour: one chapter ('%s')",
	    nch == 1 ? ch[0].title : "");
}

static void
titles(struct mr_arena *a)
{
	struct mr_chapter	*ch;
	size_t			 nch;
	int			 i, rc;

	memset(seg, 0, sizeof(seg));
	seg[0].end_ms = 4000;
	seg[0].text = "Die \xc3\x9c" "berpr\xc3\xbc" "fung der "
	    "Qualit\xc3\xa4tssicherung f\xc3\xbcr \xc3\x84nderungen";
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1,
	    "German: one chapter");
	is_str(nch == 1 ? ch[0].title : NULL, "\xc3\x9c" "berpr\xc3\xbc"
	    "fung qualit\xc3\xa4tssicherung \xc3\xa4nderungen",
	    "German: umlauts lowered and raised, stopwords left out");

	/* Words that repeat rank first, shown in the order they come. */
	seg[0].text = "Alpha beta gamma delta. Delta gamma! Delta, gamma";
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1, "tf");
	is_str(nch == 1 ? ch[0].title : NULL, "Alpha gamma delta",
	    "tf: the 3 best in the order they first occur");

	/* A word too long for a title is cut between characters. */
	seg[0].text = "Donaudampfschifffahrtsgesellschaftskapit\xc3\xa4"
	    "nsm\xc3\xbctzentr\xc3\xa4gerin "
	    "Donaudampfschifffahrtsgesellschaftskapit\xc3\xa4"
	    "nsm\xc3\xbctzentr\xc3\xa4gerin kurz";
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1, "long word");
	is_str(nch == 1 ? ch[0].title : NULL,
	    "Donaudampfschifffahrtsgesellschaftskapit\xc3\xa4" "nsm\xc3\xbct",
	    "long word: "
	    "cut to 48 bytes, not inside a character");

	/* 47 bytes of \xc3\xa4: the cut falls before the last one. */
	seg[0].text = "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4 word";
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1 &&
	    strlen(ch[0].title) <= 48 && utf8_valid(ch[0].title),
	    "umlauts: the title is at most 48 bytes of UTF-8 (%zu)",
	    nch == 1 ? strlen(ch[0].title) : 0);

	/* Three long words: those that fit. */
	seg[0].text = "Infrastructuralization Telecommunications "
	    "Internationalization Infrastructuralization";
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1, "fit");
	is_str(nch == 1 ? ch[0].title : NULL,
	    "Infrastructuralization telecommunications", "fit: two of 22 "
	    "and 18 bytes, not a third");

	/* Too few words of its own: the first 6 words. */
	seg[0].text = "  yes, okay and so we do it, then yeah\n";
	ok(mr_chapters(a, seg, 1, &ch, &nch) == 0 && nch == 1, "fallback");
	is_str(nch == 1 ? ch[0].title : NULL, "Yes, okay and so we do",
	    "fallback: the first 6 words");
	seg[0].text = "";
	seg[1].start_ms = 5000;
	seg[1].end_ms = 6000;
	seg[1].text = "\xc3\xa4h?";
	ok(mr_chapters(a, seg, 2, &ch, &nch) == 0 && nch == 1, "fallback 2");
	is_str(nch == 1 ? ch[0].title : NULL, "\xc3\x84h?",
	    "fallback: the first segment with text");
	seg[0].text = NULL;
	seg[1].text = " \t ";
	ok(mr_chapters(a, seg, 2, &ch, &nch) == 0 && nch == 1, "no text");
	is_str(nch == 1 ? ch[0].title : NULL, "Chapter 1",
	    "no text: Chapter 1");

	/* Hostile times: unsorted, negative, huge, all at once. */
	for (i = 0; i < NSEG; i++) {
		seg[i].start_ms = i % 3 == 0 ? INT64_MAX - i :
		    i % 3 == 1 ? INT64_MIN + i : (int64_t)(NSEG - i) * 9000;
		seg[i].end_ms = i % 2 ? INT64_MIN : INT64_MAX;
		seg[i].text = i % 2 ? topic_a[i % 5] : "\xff\xfe\xc3(";
	}
	rc = mr_chapters(a, seg, NSEG, &ch, &nch);
	ok(rc == 0 && nch >= 1, "hostile times: %zu chapters", nch);
	titles_ok(ch, nch, NSEG, "hostile times");
	for (i = 0; i < NSEG; i++) {
		seg[i].start_ms = 0;
		seg[i].end_ms = 3600000;
	}
	ok(mr_chapters(a, seg, NSEG, &ch, &nch) == 0 && nch == 1,
	    "all at once: one chapter");
}

static struct mr_buf	out;

static const char *
vtt(const struct mr_seg *s, size_t n)
{
	mr_buf_free(&out);
	mr_buf_init(&out, 1 << 20);
	if (mr_vtt_write(&out, s, n) == -1)
		return NULL;
	return out.data;
}

static const char *
txt(const struct mr_seg *s, size_t n)
{
	mr_buf_free(&out);
	mr_buf_init(&out, 1 << 20);
	if (mr_transcript_txt(&out, s, n) == -1)
		return NULL;
	return out.data != NULL ? out.data : "";
}

static void
captions(void)
{
	static const char	 huge[] = "WEBVTT\n\n1\n"
	    "00:00:00.000 --> 00:00:00.001\nnegative\n\n2\n";
	struct mr_seg		 s[8];
	struct mr_buf		 b;
	const char		*got;

	is_str(vtt(s, 0), "WEBVTT\n", "vtt: no segment");

	memset(s, 0, sizeof(s));
	s[0] = (struct mr_seg){ 0, 59999, "zero" };
	s[1] = (struct mr_seg){ 102000, 102001, "1:42" };
	s[2] = (struct mr_seg){ 36000000 + 3723004, 36000000 + 3723005,
	    "ten hours" };
	s[3] = (struct mr_seg){ 360000000, 360059999, "a hundred" };
	is_str(vtt(s, 4), "WEBVTT\n"
	    "\n1\n00:00:00.000 --> 00:00:59.999\nzero\n"
	    "\n2\n00:01:42.000 --> 00:01:42.001\n1:42\n"
	    "\n3\n11:02:03.004 --> 11:02:03.005\nten hours\n"
	    "\n4\n100:00:00.000 --> 100:00:59.999\na hundred\n",
	    "vtt: timestamps");

	s[0] = (struct mr_seg){ 0, 1000,
	    "a & b < c > d --> e &amp; <i>x</i>" };
	s[1] = (struct mr_seg){ 1000, 2000, "" };
	s[2] = (struct mr_seg){ 1000, 2000, NULL };
	s[3] = (struct mr_seg){ 1000, 2000, " \r\n\t\x01 \xc2\x85" };
	s[4] = (struct mr_seg){ 2000, 3000,
	    "\n line one\r\n\r\nline two\n\nWEBVTT\x7f-->\tend\x1b" };
	is_str(vtt(s, 5), "WEBVTT\n"
	    "\n1\n00:00:00.000 --> 00:00:01.000\n"
	    "a &amp; b &lt; c &gt; d --&gt; e &amp;amp; &lt;i&gt;x&lt;/i&gt;\n"
	    "\n5\n00:00:02.000 --> 00:00:03.000\n"
	    "line one line two WEBVTT --&gt; end\n",
	    "vtt: escaping, empty texts left out, line breaks and controls "
	    "as spaces");

	s[0] = (struct mr_seg){ 0, 1000,
	    "a\xff" "b \xc3 c\xe2\x82 d\xed\xa0\x80"
	    " e\xc0\x80 f\xf5 g\xf0\x9f\x98\x80 h\xf4\x90\x80\x80" };
	is_str(vtt(s, 1), "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\n"
	    "a\xef\xbf\xbd" "b \xef\xbf\xbd c\xef\xbf\xbd d\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd e\xef\xbf\xbd\xef\xbf\xbd f\xef\xbf\xbd"
	    " g\xf0\x9f\x98\x80 h\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\n", "vtt: bad UTF-8 as U+FFFD, good kept");

	s[0] = (struct mr_seg){ 5000, 5000, "equal" };
	s[1] = (struct mr_seg){ 6000, 4000, "before" };
	s[2] = (struct mr_seg){ 3000, 7000, "unsorted" };
	s[3] = (struct mr_seg){ 2000, 2500, "unsorted, ends early" };
	s[4] = (struct mr_seg){ -5, -1, "negative" };
	is_str(vtt(s, 5), "WEBVTT\n"
	    "\n1\n00:00:05.000 --> 00:00:05.001\nequal\n"
	    "\n2\n00:00:06.000 --> 00:00:06.001\nbefore\n"
	    "\n3\n00:00:06.000 --> 00:00:07.000\nunsorted\n"
	    "\n4\n00:00:06.000 --> 00:00:06.001\nunsorted, ends early\n"
	    "\n5\n00:00:06.000 --> 00:00:06.001\nnegative\n",
	    "vtt: end after start, starts never go back");
	s[0] = (struct mr_seg){ -5, -1, "negative" };
	s[1] = (struct mr_seg){ INT64_MAX, INT64_MAX, "huge" };
	got = vtt(s, 2);
	ok(got != NULL && strncmp(got, huge, strlen(huge)) == 0,
	    "vtt: negative as 0, huge without overflow");

	mr_buf_init(&b, 20);
	s[0] = (struct mr_seg){ 0, 1000, "this will not fit in twenty bytes" };
	ok(mr_vtt_write(&b, s, 1) == -1, "vtt: -1 past the buffer's cap");
	mr_buf_free(&b);

	is_str(txt(s, 0), "", "txt: no segment");
	s[0] = (struct mr_seg){ 999, 1000, " a & <b>\n c " };
	s[1] = (struct mr_seg){ 3723999, 3724000, "one two" };
	s[2] = (struct mr_seg){ 3723999, 3724000, "\n" };
	s[3] = (struct mr_seg){ -1, 0, NULL };
	s[4] = (struct mr_seg){ 36000000, 36000001, "x\xff" };
	s[5] = (struct mr_seg){ 360000000, 0, "z" };
	is_str(txt(s, 6), "[00:00:00] a & <b> c\n[01:02:03] one two\n"
	    "[10:00:00] x\xef\xbf\xbd\n[100:00:00] z\n",
	    "txt: cleaned, not escaped, empty left out, seconds cut down");
	mr_buf_init(&b, 8);
	ok(mr_transcript_txt(&b, s, 1) == -1, "txt: -1 past the buffer's cap");
	mr_buf_free(&b);
}

int
main(void)
{
	struct mr_arena	*a;

	if ((a = mr_arena_new(64 << 20)) == NULL)
		return 1;
	chapters(a);
	titles(a);
	captions();
	mr_buf_free(&out);
	mr_arena_free(a);
	return done_testing();
}
