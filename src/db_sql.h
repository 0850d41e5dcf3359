/* SPDX-License-Identifier: ISC */
/*
 * db_sql.h - SQL text shared by the db_*.c files: the recording columns
 * every query returns (read by mr_db_rec_fill) and the table join.
 */
#ifndef MR_DB_SQL_H
#define MR_DB_SQL_H

/* A timestamp as ISO 8601 UTC text with microseconds. */
#define TS(c)	"to_char(r." c " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS " c
/*
 * The same as seconds since the epoch with six decimals, exact, for
 * mr_db_time() to write as that text: cheaper than to_char, and the
 * recordings' six timestamps are in every row of every list.
 */
#define EPOCH(c) "extract(epoch FROM r." c ") AS " c

/*
 * What is known of a recording's file: in RecordingInfo and in the
 * status endpoint's answer, whose statement (rec_status) reads little
 * more than these.
 */
#define FILE_COLUMNS \
	"r.file_size_bytes, r.duration_seconds, r.duration_ms "

#define COLUMNS \
	"r.id, r.room_code, r.company_id, r.egress_id, r.egress_status, " \
	"r.status, r.recorded_by, r.recorded_by_name, r.recorded_by_email, " \
	"r.layout, r.audio_only, r.file_name, r.storage_type, " \
	"r.storage_path, " FILE_COLUMNS ", " \
	"r.checksum_sha256, r.is_public, r.allowed_viewers, " \
	"r.last_error, r.upload_attempts, r.media_finding, r.store_as_is, " \
	EPOCH("started_at") ", " EPOCH("ended_at") ", " \
	EPOCH("expires_at") ", " EPOCH("created_at") ", " \
	EPOCH("updated_at") ", " EPOCH("deleted_at") ", " \
	"rm.name AS meeting_name, rm.created_by AS room_host, " \
	"r.meeting_id, r.is_encrypted, r.watermark_applied, " \
	"r.legal_hold_reason, r.legal_hold_by, " EPOCH("legal_hold_at") " "

/*
 * COLUMNS for a list of recordings: what no list item shows (RecordingInfo
 * lacks it, and who may see the item was decided by the query) is NULL,
 * in its place, so mr_db_rec_fill reads the row as it reads any other.
 */
#define LIST_COLUMNS \
	"r.id, r.room_code, r.company_id, r.egress_id, r.egress_status, " \
	"r.status, r.recorded_by, r.recorded_by_name, " \
	"NULL AS recorded_by_email, " \
	"r.layout, r.audio_only, r.file_name, r.storage_type, " \
	"r.storage_path, " FILE_COLUMNS ", " \
	"NULL AS checksum_sha256, r.is_public, NULL AS allowed_viewers, " \
	"r.last_error, NULL AS upload_attempts, r.media_finding, " \
	"NULL AS store_as_is, " \
	EPOCH("started_at") ", " EPOCH("ended_at") ", " \
	EPOCH("expires_at") ", " EPOCH("created_at") ", " \
	EPOCH("updated_at") ", NULL AS deleted_at, " \
	"rm.name AS meeting_name, NULL AS room_host, " \
	"NULL AS meeting_id, r.is_encrypted, r.watermark_applied "

/* The room by the recording's own link to it, as the seed joins. */
#define FROM \
	"FROM project_management.pm_meeting_recordings r " \
	"LEFT JOIN project_management.pm_meeting_rooms rm " \
	"ON rm.id = r.meeting_id "

/*
 * The chapters of the transcript of recording id (an SQL expression) as
 * JSON, [[start_ms, title], ...] in order; NULL when there are none.
 */
#define CHAPTERS_JSON(id) \
	"(SELECT json_agg(json_build_array(c.start_ms, c.title) " \
	"ORDER BY c.seq) FROM project_management.pm_transcript_chapters c " \
	"WHERE c.recording_id = " id ")"

#endif /* MR_DB_SQL_H */
