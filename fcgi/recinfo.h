/* SPDX-License-Identifier: ISC */
/*
 * recinfo.h - what the recording lists share: RecordingInfo as JSON,
 * keyset cursors and timestamp query parameters.
 */
#ifndef MR_RECINFO_H
#define MR_RECINFO_H

#include "fcgi.h"
#include "model.h"

/* recinfo.c */
void		 mr_recinfo_write(struct mr_ctx *, struct mr_jw *,
		    const struct mr_recording *);
void		 mr_recinfo_file_fields(struct mr_jw *,
		    const struct mr_recording *);
int		 mr_recinfo_time(struct mr_ctx *, const char *name,
		    const char *s, int end_of_day, const char **out);
int		 mr_recinfo_cursor_parse(struct mr_ctx *, const char *c,
		    const char **ts, const char **id);
int		 mr_recinfo_cursor_next(struct mr_ctx *, const char *ts,
		    const char *id, const char **out);
struct mr_jw	*mr_recinfo_page(struct mr_ctx *, const char *key);
int		 mr_recinfo_page_end(struct mr_ctx *, struct mr_jw *,
		    int64_t total, int exact, const char *ts,
		    const char *id, const char *recording_id);

#endif /* MR_RECINFO_H */
