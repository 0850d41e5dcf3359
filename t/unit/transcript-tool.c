/* SPDX-License-Identifier: ISC */
/*
 * transcript-tool.c - transcript.c for the Perl tests: reads segments as
 * JSON on stdin,
 *
 *	{"segments":[{"start":1.5,"end":2.25,"text":"..."}, ...]}
 *
 * times in seconds (or "start_ms"/"end_ms", integers, when given; a
 * "text" of null is a NULL text), and prints by its argument:
 *
 *	vtt		mr_vtt_write()'s WebVTT
 *	txt		mr_transcript_txt()'s text
 *	chapters	one JSON object a line: {"start_ms","first","title"}
 *
 * A text is a C string for transcript.c, so one with "\u0000" ends
 * there.  Exits 1 on a usage or input error, 2 when out of memory.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "mr.h"
#include "transcript.h"

#define INPUT_MAX	(64 << 20)

static int
seg_time(struct json_object *o, const char *ms, const char *s,
    int64_t *out)
{
	struct json_object	*v;
	double			 d;

	if (json_object_object_get_ex(o, ms, &v)) {
		if (!json_object_is_type(v, json_type_int))
			return -1;
		*out = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_object_get_ex(o, s, &v) ||
	    (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)))
		return -1;
	d = json_object_get_double(v) * 1000;
	*out = (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct mr_arena		*a;
	struct mr_buf		 in, out;
	struct mr_seg		*seg;
	struct mr_chapter	*ch;
	struct json_tokener	*tok;
	struct json_object	*root = NULL, *arr, *o, *v, *line;
	char			 chunk[65536];
	size_t			 n, i, nch, got;
	int			 rc = 1;

	if (argc != 2 || (strcmp(argv[1], "vtt") != 0 &&
	    strcmp(argv[1], "txt") != 0 && strcmp(argv[1], "chapters") != 0)) {
		fprintf(stderr, "usage: transcript-tool vtt|txt|chapters "
		    "< segments.json\n");
		return 1;
	}
	if ((a = mr_arena_new(1 << 30)) == NULL)
		return 2;
	mr_buf_init(&in, INPUT_MAX);
	mr_buf_init(&out, 1 << 30);
	while ((got = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (mr_buf_add(&in, chunk, got) == -1) {
			fprintf(stderr, "transcript-tool: input too large\n");
			goto done;
		}
	tok = json_tokener_new();
	root = in.len > 0 ? json_tokener_parse_ex(tok, in.data, in.len) : NULL;
	json_tokener_free(tok);
	if (root == NULL ||
	    !json_object_object_get_ex(root, "segments", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "transcript-tool: want {\"segments\":[...]}\n");
		goto done;
	}
	n = json_object_array_length(arr);
	if ((seg = mr_calloc(a, n + 1, sizeof(*seg))) == NULL) {
		rc = 2;
		goto done;
	}
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(o, json_type_object) ||
		    seg_time(o, "start_ms", "start", &seg[i].start_ms) == -1 ||
		    seg_time(o, "end_ms", "end", &seg[i].end_ms) == -1) {
			fprintf(stderr, "transcript-tool: segment %zu: want "
			    "start and end\n", i);
			goto done;
		}
		if (json_object_object_get_ex(o, "text", &v) &&
		    json_object_is_type(v, json_type_string))
			seg[i].text = json_object_get_string(v);
	}
	if (strcmp(argv[1], "vtt") == 0 || strcmp(argv[1], "txt") == 0) {
		if ((argv[1][0] == 'v' ? mr_vtt_write(&out, seg, n) :
		    mr_transcript_txt(&out, seg, n)) == -1) {
			rc = 2;
			goto done;
		}
		fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
		rc = 0;
		goto done;
	}
	if (mr_chapters(a, seg, n, &ch, &nch) == -1) {
		rc = 2;
		goto done;
	}
	for (i = 0; i < nch; i++) {
		line = json_object_new_object();
		json_object_object_add(line, "start_ms",
		    json_object_new_int64(ch[i].start_ms));
		json_object_object_add(line, "first",
		    json_object_new_int64((int64_t)ch[i].first));
		json_object_object_add(line, "title",
		    json_object_new_string(ch[i].title));
		printf("%s\n", json_object_to_json_string_ext(line,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(line);
	}
	rc = 0;
done:
	if (root != NULL)
		json_object_put(root);
	mr_buf_free(&in);
	mr_buf_free(&out);
	mr_arena_free(a);
	return rc;
}
