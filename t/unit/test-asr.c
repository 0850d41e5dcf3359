/* SPDX-License-Identifier: ISC */
/*
 * test-asr.c - mr_asr_parse on the answers the servers give: OpenAI's
 * verbose_json, whisper.cpp's, vLLM's nulls, a text-only answer, and
 * what must be refused (wrong types, bad times, garbage, too much).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr.h"
#include "asr.h"
#include "tap.h"

static struct mr_arena	*a;

static int
parse(const char *s, struct mr_asr_result *r, struct mr_err *e)
{
	mr_err_clear(e);
	return mr_asr_parse(a, s, strlen(s), r, e);
}

/* The answer s is refused as asr_bad_answer, with a detail. */
static void
refused(const char *s, const char *name)
{
	struct mr_asr_result	r;
	struct mr_err		e;
	int			rc;

	rc = parse(s, &r, &e);
	ok(rc == -1 && e.status == 502 && e.code != NULL &&
	    strcmp(e.code, "asr_bad_answer") == 0 && e.detail[0] != '\0' &&
	    r.nsegs == 0 && r.segs == NULL, "refused: %s", name);
	if (rc != -1)
		printf("#   accepted\n");
	else if (e.code == NULL || strcmp(e.code, "asr_bad_answer") != 0)
		printf("#   %d %s\n", e.status, e.code ? e.code : "(null)");
}

static int
near(double got, double want)
{
	return fabs(got - want) < 1e-6;
}

/* From OpenAI's API reference (createTranscription, verbose_json). */
static const char openai[] =
    "{\"task\":\"transcribe\",\"language\":\"english\","
    "\"duration\":8.470000267028809,"
    "\"text\":\"The beach was a popular spot on a hot summer day. People "
    "were swimming in the ocean, building sandcastles, and playing beach "
    "volleyball.\","
    "\"segments\":[{\"id\":0,\"seek\":0,\"start\":0.0,"
    "\"end\":3.319999933242798,\"text\":\" The beach was a popular spot on "
    "a hot summer day.\",\"tokens\":[50364,440,7534,390,257,3743,4008,322,"
    "257,2368,4266,786,13,50530],\"temperature\":0.0,"
    "\"avg_logprob\":-0.2860786020755768,"
    "\"compression_ratio\":1.2363636493682861,"
    "\"no_speech_prob\":0.00985979475080967},"
    "{\"id\":1,\"seek\":0,\"start\":3.32,\"end\":8.47,\"text\":\" People "
    "were swimming in the ocean, building sandcastles, and playing beach "
    "volleyball.\",\"tokens\":[50530],\"temperature\":0.0,"
    "\"avg_logprob\":-0.28,\"compression_ratio\":1.23,"
    "\"no_speech_prob\":0.0098}],"
    "\"usage\":{\"type\":\"duration\",\"seconds\":9}}";

/* whisper.cpp's server (examples/server/server.cpp): ints, words. */
static const char whispercpp[] =
    "{\"task\":\"transcribe\",\"language\":\"english\",\"duration\":11,"
    "\"text\":\" And so my fellow Americans\\n ask not.\\n\","
    "\"segments\":[{\"id\":0,\"text\":\" And so my fellow Americans\","
    "\"start\":0,\"end\":4.5,\"tokens\":[400,370],\"words\":[{\"word\":"
    "\" And\",\"start\":0,\"end\":0.3,\"t_dtw\":-1,\"probability\":0.9}],"
    "\"temperature\":0,\"avg_logprob\":-0.1,\"no_speech_prob\":0.01},"
    "{\"id\":1,\"text\":\"\\n\",\"start\":4.5,\"end\":5},"
    "{\"id\":2,\"text\":\" ask not.\",\"start\":5,\"end\":11}],"
    "\"detected_language\":\"english\","
    "\"detected_language_probability\":0.97,"
    "\"language_probabilities\":{\"en\":0.97}}";

/* vLLM: no_speech_prob null, seek a float. */
static const char vllm[] =
    "{\"duration\":2.0,\"language\":\"en\",\"text\":\"Hello.\","
    "\"segments\":[{\"id\":0,\"seek\":0.0,\"start\":0.0,\"end\":1.5,"
    "\"text\":\"Hello.\",\"tokens\":[1],\"temperature\":0.0,"
    "\"avg_logprob\":-0.5,\"compression_ratio\":0.8,"
    "\"no_speech_prob\":null}],\"words\":null,\"usage\":null}";

int
main(void)
{
	struct mr_asr_result	 r;
	struct mr_err		 e;
	char			*big, *s;
	size_t			 n, i;
	int			 rc;

	if ((a = mr_arena_new(256 << 20)) == NULL)
		return 1;

	/* OpenAI's sample. */
	rc = parse(openai, &r, &e);
	is_int(rc, 0, "OpenAI's verbose_json: accepted");
	is_int((long long)r.nsegs, 2, "two segments");
	is_str(r.language, "english", "language english");
	ok(near(r.duration, 8.470000267028809), "duration 8.47");
	ok(rc == 0 && near(r.segs[0].start, 0) &&
	    near(r.segs[0].end, 3.319999933242798), "segment 0: 0 to 3.32");
	is_str(rc == 0 ? r.segs[0].text : NULL,
	    "The beach was a popular spot on a hot summer day.",
	    "segment 0's text, trimmed");
	ok(rc == 0 && near(r.segs[1].start, 3.32) && near(r.segs[1].end, 8.47),
	    "segment 1: 3.32 to 8.47");
	mr_arena_reset(a);

	/* whisper.cpp's. */
	rc = parse(whispercpp, &r, &e);
	is_int(rc, 0, "whisper.cpp's verbose_json: accepted");
	is_int((long long)r.nsegs, 2, "the empty segment is dropped");
	ok(rc == 0 && near(r.duration, 11), "an integer duration");
	is_str(rc == 0 ? r.segs[0].text : NULL, "And so my fellow Americans",
	    "its first text");
	ok(rc == 0 && near(r.segs[1].start, 5) && near(r.segs[1].end, 11),
	    "integer times");
	is_str(rc == 0 ? r.segs[1].text : NULL, "ask not.", "its second text");
	mr_arena_reset(a);

	/* vLLM's nulls in the fields we do not read. */
	rc = parse(vllm, &r, &e);
	ok(rc == 0 && r.nsegs == 1 && strcmp(r.segs[0].text, "Hello.") == 0,
	    "vLLM's verbose_json with nulls: accepted");
	is_str(r.language, "en", "language en");
	mr_arena_reset(a);

	/* A server that answered json, not verbose_json. */
	rc = parse("{\"text\":\"  Just the text. \"}", &r, &e);
	ok(rc == 0 && r.nsegs == 1 && r.segs[0].start == 0 &&
	    r.segs[0].end == 0 && strcmp(r.segs[0].text, "Just the text.") == 0,
	    "text only: one segment [0, 0]");
	ok(r.language == NULL && r.duration == 0, "no language, no duration");
	rc = parse("{\"text\":\"Some text.\",\"duration\":\"4.25\","
	    "\"segments\":null}", &r, &e);
	ok(rc == 0 && r.nsegs == 1 && near(r.segs[0].end, 4.25),
	    "text and a duration as a string: [0, 4.25]");
	rc = parse("{\"text\":\" \\n\\t \"}", &r, &e);
	ok(rc == 0 && r.nsegs == 0 && r.segs == NULL,
	    "text only, all white space: no segments");
	rc = parse("{\"text\":\"\",\"segments\":[]}", &r, &e);
	ok(rc == 0 && r.nsegs == 0, "no segments at all: accepted, none");
	rc = parse("{\"segments\":[{\"start\":1,\"end\":2,\"text\":\"  \"}],"
	    "\"language\":\"  \"}", &r, &e);
	ok(rc == 0 && r.nsegs == 0 && r.language == NULL,
	    "only an empty segment: none; a blank language is NULL");
	rc = parse("{\"segments\":[{\"start\":2,\"end\":2,\"text\":\"x\"}]}",
	    &r, &e);
	ok(rc == 0 && r.nsegs == 1, "start == end is a segment");
	rc = parse("{\"segments\":[{\"start\":0,\"end\":1,\"text\":"
	    "\"caf\\u00e9 \\u65e5\\u672c \\ud83d\\ude00\"}]}", &r, &e);
	is_str(rc == 0 ? r.segs[0].text : NULL,
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	    "escaped UTF-8 and a surrogate pair");
	mr_arena_reset(a);

	/* Not an answer. */
	refused("", "empty");
	refused("Internal Server Error", "plain text");
	refused("<html><body>502 Bad Gateway</body></html>", "HTML");
	refused("[]", "a list");
	refused("\"text\"", "a string");
	refused("null", "null");
	refused("{}", "an empty object");
	refused("{\"text\":\"a\"} x", "trailing bytes");
	refused("{\"text\":\"a\"", "cut short");
	refused("{\"text\":'a'}", "single quotes");
	refused("{\"text\":5}", "text a number");
	refused("{\"text\":\"a\",\"duration\":NaN}", "duration NaN");
	refused("{\"text\":\"a\",\"duration\":-1}", "duration negative");
	refused("{\"text\":\"a\",\"duration\":\"abc\"}", "duration a word");
	refused("{\"text\":\"a\",\"duration\":\" 1\"}",
	    "duration with a space");
	refused("{\"text\":\"a\",\"duration\":[1]}", "duration a list");
	refused("{\"text\":\"a\",\"language\":5}", "language a number");
	refused("{\"segments\":{}}", "segments an object");
	refused("{\"segments\":\"a\"}", "segments a string");
	refused("{\"segments\":[1]}", "a segment a number");
	refused("{\"segments\":[null]}", "a segment null");
	refused("{\"segments\":[{\"end\":1,\"text\":\"a\"}]}", "no start");
	refused("{\"segments\":[{\"start\":0,\"text\":\"a\"}]}", "no end");
	refused("{\"segments\":[{\"start\":0,\"end\":1}]}", "no text");
	refused("{\"segments\":[{\"start\":0,\"end\":1,\"text\":null}]}",
	    "text null");
	refused("{\"segments\":[{\"start\":0,\"end\":1,\"text\":[\"a\"]}]}",
	    "text a list");
	refused("{\"segments\":[{\"start\":\"0\",\"end\":1,\"text\":\"a\"}]}",
	    "start a string");
	refused("{\"segments\":[{\"start\":true,\"end\":1,\"text\":\"a\"}]}",
	    "start a boolean");
	refused("{\"segments\":[{\"start\":-0.5,\"end\":1,\"text\":\"a\"}]}",
	    "start negative");
	refused("{\"segments\":[{\"start\":0,\"end\":-1,\"text\":\"a\"}]}",
	    "end negative");
	refused("{\"segments\":[{\"start\":2,\"end\":1,\"text\":\"a\"}]}",
	    "start after end");
	refused("{\"segments\":[{\"start\":0,\"end\":1e400,\"text\":\"a\"}]}",
	    "end overflows to infinity");
	refused("{\"segments\":[{\"start\":0,\"end\":1e12,\"text\":\"a\"}]}",
	    "end huge");
	refused("{\"segments\":[{\"start\":NaN,\"end\":1,\"text\":\"a\"}]}",
	    "start NaN");
	refused("{\"segments\":[{\"start\":0,\"end\":Infinity,"
	    "\"text\":\"a\"}]}",
	    "end Infinity");
	refused("{\"segments\":[{\"start\":0,\"end\":1,\"text\":\"ok\"},"
	    "{\"start\":1,\"end\":0.5,\"text\":\"b\"}]}",
	    "one bad segment spoils the answer");
	refused("{\"segments\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]}", "nested too deep");
	refused("{\"text\":\"a\xff\"}", "text not UTF-8");
	refused("{\"text\":\"\xc3\x28\"}", "an invalid UTF-8 sequence");
	refused("{\"segments\":[{\"start\":0,\"end\":1,\"text\":\"\xed\xa0\x80"
	    "\"}]}", "a UTF-8 surrogate");

	/* Nested garbage where we do not look is no harm. */
	rc = parse("{\"segments\":[{\"start\":0,\"end\":1,\"text\":\"a\","
	    "\"x\":{\"y\":[{\"z\":[1,2,{\"w\":null}]}]}}],\"extra\":[[1]]}", &r,
	    &e);
	ok(rc == 0 && r.nsegs == 1, "nested extras are ignored");
	mr_arena_reset(a);

	/* Huge texts. */
	n = 70 * 1024;
	big = malloc(n + 128);
	if (big == NULL)
		return 1;
	s = big + snprintf(big, 128, "{\"segments\":[{\"start\":0,\"end\":1,"
	    "\"text\":\"");
	for (i = 0; i < n; i++)
		*s++ = 'a';
	strcpy(s, "\"}]}");
	refused(big, "a segment's text of 70 KiB");
	s = big + snprintf(big, 128, "{\"segments\":[{\"start\":0,\"end\":1,"
	    "\"text\":\"");
	for (i = 0; i < 60 * 1024; i++)
		*s++ = 'a';
	strcpy(s, "\"}]}");
	rc = parse(big, &r, &e);
	ok(rc == 0 && r.nsegs == 1 && strlen(r.segs[0].text) == 60 * 1024,
	    "a segment's text of 60 KiB is kept whole");
	free(big);
	mr_arena_reset(a);

	/* Many segments. */
	n = 20000;
	big = malloc(n * 48 + 64);
	if (big == NULL)
		return 1;
	s = big + sprintf(big, "{\"segments\":[");
	for (i = 0; i < n; i++)
		s += sprintf(s, "%s{\"start\":%zu,\"end\":%zu.5,"
		    "\"text\":\"w\"}", i ? "," : "", i, i);
	strcpy(s, "]}");
	rc = parse(big, &r, &e);
	ok(rc == 0 && r.nsegs == n && near(r.segs[n - 1].end, n - 1 + 0.5),
	    "20,000 segments");
	free(big);
	mr_arena_reset(a);

	/* An answer over the cap is refused before json-c sees it. */
	mr_err_clear(&e);
	rc = mr_asr_parse(a, "{}", (size_t)17 << 20, &r, &e);
	ok(rc == -1 && e.code != NULL && strcmp(e.code, "asr_bad_answer") == 0,
	    "an answer of 17 MiB is refused");

	mr_arena_free(a);
	return done_testing();
}
