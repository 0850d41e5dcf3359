/* SPDX-License-Identifier: ISC */
/*
 * asr-client.c - a test tool: sends one WAV file to the speech-to-text
 * server with mr_asr_transcribe() and prints what came back as JSON.
 *
 *   usage: asr-client file.wav
 *
 * The settings come from the environment as for the programs
 * (MEETREC_ASR_URL, MEETREC_ASR_MODEL, MEETREC_ASR_API_KEY,
 * MEETREC_ASR_LANGUAGE, MEETREC_ASR_MAX_BYTES,
 * MEETREC_ASR_TIMEOUT_SECONDS); the keys every program needs but this
 * one does not use get stand-in values when unset.  Prints
 *   {"language":..,"duration":..,"segments":[{"start","end","text"}]}
 * and exits 0, or
 *   {"error":{"status","code","detail"},"retry_after":N}
 * and exits 1 (2 for usage or configuration errors).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "mr.h"
#include "conf.h"
#include "httpc.h"
#include "asr.h"

static const char *const dummies[][2] = {
	{ "MEETREC_DATABASE_URL", "postgresql:///unused" },
	{ "MEETREC_LIVEKIT_URL", "http://127.0.0.1:1" },
	{ "MEETREC_LIVEKIT_API_KEY", "unused" },
	{ "MEETREC_LIVEKIT_API_SECRET", "unused-unused-unused-unused-unused" },
	{ "MEETREC_JWT_SECRET", "unused-unused-unused-unused-unused-unused" },
	{ "MEETREC_STORAGE_LOCAL_DIR", "/nonexistent" },
	{ "MEETREC_SPOOL_DIR", "/nonexistent" },
};

int
main(int argc, char *argv[])
{
	struct mr_conf		*cf;
	struct mr_arena		*a;
	struct mr_asr_result	 res;
	struct mr_err		 err;
	struct json_object	*o, *segs, *seg, *e;
	char			 ebuf[512];
	int			 retry_after = 0, rc;
	size_t			 i;

	if (argc != 2) {
		fprintf(stderr, "usage: asr-client file.wav\n");
		return 2;
	}
	for (i = 0; i < MR_NELEM(dummies); i++)
		if (getenv(dummies[i][0]) == NULL)
			setenv(dummies[i][0], dummies[i][1], 1);
	if ((cf = mr_conf_load(NULL, ebuf, sizeof(ebuf))) == NULL) {
		fprintf(stderr, "asr-client: %s\n", ebuf);
		return 2;
	}
	if (mr_httpc_global_init() == -1 ||
	    (a = mr_arena_new(256 << 20)) == NULL) {
		fprintf(stderr, "asr-client: cannot initialise\n");
		return 2;
	}
	mr_err_clear(&err);
	rc = mr_asr_transcribe(a, cf, argv[1], &res, &retry_after, &err);
	o = json_object_new_object();
	if (rc == 0) {
		json_object_object_add(o, "language", res.language ?
		    json_object_new_string(res.language) : NULL);
		json_object_object_add(o, "duration",
		    json_object_new_double(res.duration));
		segs = json_object_new_array();
		for (i = 0; i < res.nsegs; i++) {
			seg = json_object_new_object();
			json_object_object_add(seg, "start",
			    json_object_new_double(res.segs[i].start));
			json_object_object_add(seg, "end",
			    json_object_new_double(res.segs[i].end));
			json_object_object_add(seg, "text",
			    json_object_new_string(res.segs[i].text));
			json_object_array_add(segs, seg);
		}
		json_object_object_add(o, "segments", segs);
	} else {
		e = json_object_new_object();
		json_object_object_add(e, "status",
		    json_object_new_int(err.status));
		json_object_object_add(e, "code",
		    json_object_new_string(err.code ? err.code : ""));
		json_object_object_add(e, "detail",
		    json_object_new_string(err.detail));
		json_object_object_add(e, "cause",
		    json_object_new_string(err.cause));
		json_object_object_add(o, "error", e);
		json_object_object_add(o, "retry_after",
		    json_object_new_int(retry_after));
	}
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	mr_arena_free(a);
	mr_conf_free(cf);
	mr_httpc_global_cleanup();
	return rc == 0 ? 0 : 1;
}
