-- SPDX-License-Identifier: ISC
-- 001_init: the recordings schema.  Applied once, in a transaction, by
-- "meetrec-admin migrate", which records it in
-- project_management.meetrec_migrations.

CREATE SCHEMA IF NOT EXISTS project_management;

-- The host ERP owns the rooms table; create a minimal one only when the
-- ERP has not.
CREATE TABLE IF NOT EXISTS project_management.pm_meeting_rooms (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	room_code	varchar(50) NOT NULL UNIQUE,
	name		varchar(255) NOT NULL,
	created_by	uuid NOT NULL,
	company_id	uuid NOT NULL,
	status		varchar(20) NOT NULL DEFAULT 'active',
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_management.pm_meeting_recordings (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	room_code		varchar(50) NOT NULL,
	room_id			uuid,
	company_id		uuid NOT NULL,
	egress_id		varchar(64),
	egress_status		varchar(32),
	status			varchar(20) NOT NULL DEFAULT 'pending'
	    CHECK (status IN ('pending', 'recording', 'processing',
	        'completed', 'failed')),
	recorded_by		uuid NOT NULL,
	recorded_by_name	varchar(255),
	recorded_by_email	varchar(255),
	layout			varchar(32) NOT NULL DEFAULT 'grid',
	audio_only		boolean NOT NULL DEFAULT false,
	file_name		text,
	storage_type		varchar(20),
	storage_path		text,
	file_size_bytes		bigint CHECK (file_size_bytes >= 0),
	duration_seconds	double precision
	    CHECK (duration_seconds >= 0),
	checksum_sha256		char(64),
	is_public		boolean NOT NULL DEFAULT false,
	allowed_viewers		uuid[] NOT NULL DEFAULT '{}',
	started_at		timestamptz,
	ended_at		timestamptz,
	expires_at		timestamptz,
	upload_attempts		integer NOT NULL DEFAULT 0,
	next_attempt_at		timestamptz,
	last_error		text,
	lease_owner		text,
	lease_until		timestamptz,
	egress_updated_ns	bigint NOT NULL DEFAULT 0,
	deleted_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);

-- One active recording per room, enforced by the database rather than by
-- a SELECT-then-INSERT race.
CREATE UNIQUE INDEX pm_meeting_recordings_one_active
	ON project_management.pm_meeting_recordings (room_code)
	WHERE status IN ('pending', 'recording');
CREATE UNIQUE INDEX pm_meeting_recordings_egress
	ON project_management.pm_meeting_recordings (egress_id)
	WHERE egress_id IS NOT NULL;
CREATE INDEX pm_meeting_recordings_room
	ON project_management.pm_meeting_recordings (room_code, created_at DESC);
CREATE INDEX pm_meeting_recordings_recorded_by
	ON project_management.pm_meeting_recordings
	(recorded_by, created_at DESC);
CREATE INDEX pm_meeting_recordings_company
	ON project_management.pm_meeting_recordings
	(company_id, created_at DESC, id DESC);
CREATE INDEX pm_meeting_recordings_expires
	ON project_management.pm_meeting_recordings (expires_at)
	WHERE expires_at IS NOT NULL;
CREATE INDEX pm_meeting_recordings_status
	ON project_management.pm_meeting_recordings (status, next_attempt_at);

CREATE FUNCTION project_management.meetrec_touch_updated_at()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END;
$$;

CREATE TRIGGER pm_meeting_recordings_updated_at
	BEFORE UPDATE ON project_management.pm_meeting_recordings
	FOR EACH ROW EXECUTE FUNCTION project_management.meetrec_touch_updated_at();

CREATE TABLE project_management.pm_recording_access_logs (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	user_id		uuid,
	user_email	varchar(255),
	action		varchar(20) NOT NULL
	    CHECK (action IN ('view', 'download', 'share', 'share_view',
	        'delete', 'restore', 'access')),
	ip_address	varchar(64),
	user_agent	text,
	accessed_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pm_recording_access_logs_recording
	ON project_management.pm_recording_access_logs
	(recording_id, accessed_at DESC);

-- Every accepted LiveKit webhook, keyed by its event id: a replay hits the
-- primary key and changes nothing.
CREATE TABLE project_management.pm_livekit_webhook_events (
	event_id	varchar(64) PRIMARY KEY,
	event		varchar(64) NOT NULL,
	egress_id	varchar(64),
	egress_status	varchar(32),
	recording_id	uuid,
	created_at_lk	bigint,
	received_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pm_livekit_webhook_events_egress
	ON project_management.pm_livekit_webhook_events (egress_id);

CREATE TABLE project_management.pm_recording_shares (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	token_sha256	char(64) NOT NULL UNIQUE,
	password_hash	text,
	created_by	uuid NOT NULL,
	expires_at	timestamptz NOT NULL,
	revoked_at	timestamptz,
	view_count	integer NOT NULL DEFAULT 0,
	failed_attempts	integer NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pm_recording_shares_recording
	ON project_management.pm_recording_shares (recording_id);
