-- SPDX-License-Identifier: ISC
-- 015_transcripts: what was said in a recording.  A completed recording
-- that a reaper with a speech-to-text server (asr_url) stored gets a
-- transcript row, pending; the reaper's transcribe pass claims it with a
-- lease as uploads are claimed, and leaves it done (with its segments
-- and chapters) or failed (with the reason).  No row: none was asked
-- for.  Everything goes with the recording's file when it expires, and
-- with the recording when it is purged.

-- The text search configuration for a language as a speech-to-text
-- server names it: an ISO 639-1 code ("en") or a name ("english",
-- "English").  'simple' (no stemming, no stop words) for the others.
CREATE FUNCTION project_management.meetrec_ts_config(lang text)
RETURNS regconfig LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (CASE lower(coalesce(lang, ''))
	    WHEN 'ar' THEN 'arabic' WHEN 'arabic' THEN 'arabic'
	    WHEN 'ca' THEN 'catalan' WHEN 'catalan' THEN 'catalan'
	    WHEN 'da' THEN 'danish' WHEN 'danish' THEN 'danish'
	    WHEN 'nl' THEN 'dutch' WHEN 'dutch' THEN 'dutch'
	    WHEN 'en' THEN 'english' WHEN 'english' THEN 'english'
	    WHEN 'fi' THEN 'finnish' WHEN 'finnish' THEN 'finnish'
	    WHEN 'fr' THEN 'french' WHEN 'french' THEN 'french'
	    WHEN 'de' THEN 'german' WHEN 'german' THEN 'german'
	    WHEN 'el' THEN 'greek' WHEN 'greek' THEN 'greek'
	    WHEN 'hu' THEN 'hungarian' WHEN 'hungarian' THEN 'hungarian'
	    WHEN 'id' THEN 'indonesian' WHEN 'indonesian' THEN 'indonesian'
	    WHEN 'ga' THEN 'irish' WHEN 'irish' THEN 'irish'
	    WHEN 'it' THEN 'italian' WHEN 'italian' THEN 'italian'
	    WHEN 'lt' THEN 'lithuanian' WHEN 'lithuanian' THEN 'lithuanian'
	    WHEN 'ne' THEN 'nepali' WHEN 'nepali' THEN 'nepali'
	    WHEN 'no' THEN 'norwegian' WHEN 'nb' THEN 'norwegian'
	    WHEN 'nn' THEN 'norwegian' WHEN 'norwegian' THEN 'norwegian'
	    WHEN 'pt' THEN 'portuguese' WHEN 'portuguese' THEN 'portuguese'
	    WHEN 'ro' THEN 'romanian' WHEN 'romanian' THEN 'romanian'
	    WHEN 'ru' THEN 'russian' WHEN 'russian' THEN 'russian'
	    WHEN 'sr' THEN 'serbian' WHEN 'serbian' THEN 'serbian'
	    WHEN 'es' THEN 'spanish' WHEN 'spanish' THEN 'spanish'
	    WHEN 'sv' THEN 'swedish' WHEN 'swedish' THEN 'swedish'
	    WHEN 'ta' THEN 'tamil' WHEN 'tamil' THEN 'tamil'
	    WHEN 'tr' THEN 'turkish' WHEN 'turkish' THEN 'turkish'
	    WHEN 'yi' THEN 'yiddish' WHEN 'yiddish' THEN 'yiddish'
	    ELSE 'simple' END)::regconfig
$$;

-- A company's own lexeme, in the tsvector of each of its segments: a
-- search asks for it with its words, so the GIN index finds only the
-- company's segments (and never reads another company's matches).  The
-- text search parser never makes a lexeme with a space, so no word said
-- can be it.  It plays no part in a rank: ts_rank counts what the query
-- asks for, and the rank's query is the words alone.
CREATE FUNCTION project_management.meetrec_company_tsv(company uuid)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT array_to_tsvector(ARRAY['company ' || company::text])
$$;
CREATE FUNCTION project_management.meetrec_company_tsq(company uuid)
RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT ('''company ' || company::text || '''')::tsquery
$$;

CREATE TABLE project_management.pm_recording_transcripts (
	recording_id	uuid PRIMARY KEY REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	company_id	uuid NOT NULL,
	status		text NOT NULL DEFAULT 'pending'
	    CHECK (status IN ('pending', 'done', 'failed')),
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz,
	lease_owner	text,
	lease_until	timestamptz,
	last_error	text,
	language	text,
	ts_config	regconfig NOT NULL DEFAULT 'simple',
	segments	integer NOT NULL DEFAULT 0,
	seconds		double precision,
	requested_at	timestamptz NOT NULL DEFAULT now(),
	requested_by	uuid,
	done_at		timestamptz
);
-- The transcribe pass's claim reads only the rows still to do, in order.
CREATE INDEX pm_recording_transcripts_todo
    ON project_management.pm_recording_transcripts
    (coalesce(next_attempt_at, '-infinity'::timestamptz), requested_at)
    WHERE status = 'pending';

-- Segments on the recording's timeline, in milliseconds.  tsv is the
-- text's lexemes in the transcript's configuration, and the company's,
-- for search.
CREATE TABLE project_management.pm_transcript_segments (
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_recording_transcripts (recording_id)
	    ON DELETE CASCADE,
	seq		integer NOT NULL,
	company_id	uuid NOT NULL,
	start_ms	bigint NOT NULL CHECK (start_ms >= 0),
	end_ms		bigint NOT NULL CHECK (end_ms >= start_ms),
	text		text NOT NULL,
	ts_config	regconfig NOT NULL,
	tsv		tsvector GENERATED ALWAYS AS
	    (to_tsvector(ts_config, text) ||
	    project_management.meetrec_company_tsv(company_id)) STORED,
	PRIMARY KEY (recording_id, seq)
);
CREATE INDEX pm_transcript_segments_tsv
    ON project_management.pm_transcript_segments USING gin (tsv);

CREATE TABLE project_management.pm_transcript_chapters (
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_recording_transcripts (recording_id)
	    ON DELETE CASCADE,
	seq		integer NOT NULL,
	start_ms	bigint NOT NULL CHECK (start_ms >= 0),
	title		text NOT NULL,
	PRIMARY KEY (recording_id, seq)
);

-- A transcription that ends, done or failed for good, is an audit row of
-- its recording ('transcribe', 'transcribe_fail'), written by the
-- statement that ends it, and so an event for the webhooks.
CREATE FUNCTION project_management.meetrec_audit_transcript()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'done' THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.recording_id, 'transcribe', NULL, jsonb_build_object(
		    'language', NEW.language, 'segments', NEW.segments,
		    'seconds', NEW.seconds, 'attempts', NEW.attempts), NULL);
	ELSE
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.recording_id, 'transcribe_fail', NULL,
		    jsonb_build_object('error', NEW.last_error,
		    'attempts', NEW.attempts), NULL);
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER meetrec_audit_transcript
	AFTER UPDATE ON project_management.pm_recording_transcripts
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND
	    NEW.status IN ('done', 'failed'))
	EXECUTE FUNCTION project_management.meetrec_audit_transcript();

CREATE OR REPLACE FUNCTION project_management.meetrec_event_type(action text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE action
	    WHEN 'recording' THEN 'recording.started'
	    WHEN 'stop' THEN 'recording.stopped'
	    WHEN 'complete' THEN 'recording.completed'
	    WHEN 'fail' THEN 'recording.failed'
	    WHEN 'delete' THEN 'recording.deleted'
	    WHEN 'expire' THEN 'recording.expired'
	    WHEN 'hold' THEN 'recording.held'
	    WHEN 'release' THEN 'recording.released'
	    WHEN 'share' THEN 'share.created'
	    WHEN 'share_revoke' THEN 'share.revoked'
	    WHEN 'objection' THEN 'participant.objected'
	    WHEN 'transcribe' THEN 'recording.transcribed'
	    WHEN 'transcribe_fail' THEN 'recording.transcription_failed'
	    END
$$;

-- The events index, with the two new actions (src/events.h), under a
-- new name: one built beforehand (CREATE INDEX CONCURRENTLY, the same
-- definition) is kept, so a long audit trail need not wait for it here.
CREATE INDEX IF NOT EXISTS pm_recording_access_logs_event_rows
	ON project_management.pm_recording_access_logs (company_id, seq)
	WHERE action IN ('recording', 'stop', 'complete', 'fail', 'delete',
	    'expire', 'hold', 'release', 'share', 'share_revoke',
	    'objection', 'transcribe', 'transcribe_fail');
DROP INDEX project_management.pm_recording_access_logs_events;
