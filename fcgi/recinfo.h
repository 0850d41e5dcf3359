/* SPDX-License-Identifier: ISC */
/*
 * recinfo.h - what the recording lists share: RecordingInfo as JSON,
 * keyset cursors and timestamp query parameters.
 */
#ifndef MR_RECINFO_H
#define MR_RECINFO_H

#include <json-c/json.h>

#include "fcgi.h"
#include "model.h"

/* recinfo.c */
struct json_object *mr_recinfo_json(struct mr_ctx *,
		    const struct mr_recording *);
void		 mr_recinfo_file_fields(struct json_object *,
		    const struct mr_recording *);
int		 mr_recinfo_time(struct mr_ctx *, const char *name,
		    const char *s, int end_of_day, const char **out);
int		 mr_recinfo_cursor_parse(struct mr_ctx *, const char *c,
		    const char **ts, const char **id);
int		 mr_recinfo_cursor_next(struct mr_ctx *, const char *ts,
		    const char *id, const char **out);
struct json_object *mr_recinfo_page(struct mr_ctx *, const char *key,
		    struct json_object *items, int64_t total, const char *ts,
		    const char *id);

#endif /* MR_RECINFO_H */
