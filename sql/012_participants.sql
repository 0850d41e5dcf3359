-- SPDX-License-Identifier: ISC
-- 012_participants: who was in a room while it was recorded (the
-- consent ledger), what they were told and what they answered, and a
-- company's auto_share = participants.  The wire facts the rows come
-- from are in doc/livekit-rooms.md; meetrec(7), PARTICIPANTS, tells the
-- whole story.

-- 1. Who is in a LiveKit room now, from its room webhooks: one row per
-- participant session (LiveKit's sid; a rejoin is a new sid).  Only the
-- rooms of pm_meeting_rooms, never the egress's own participant.  A
-- room's rows go when its room_finished comes, or when the next room of
-- that name starts (a lost room_finished); the ledgers keep their own
-- copies.
CREATE TABLE project_management.pm_livekit_presences (
	sid		varchar(64) PRIMARY KEY,
	room_name	varchar(50) NOT NULL,
	room_sid	varchar(64),
	identity	varchar(255) NOT NULL,
	name		varchar(255),
	kind		varchar(16) NOT NULL,
	user_id		uuid,
	joined_at	timestamptz NOT NULL,
	left_at		timestamptz,
	left_reason	varchar(64)
);
CREATE INDEX pm_livekit_presences_room
	ON project_management.pm_livekit_presences (room_name, joined_at);

-- 2. The ledger: each participant session that overlapped a recording
-- of its room, with the user its identity maps to (meetrec.conf's
-- livekit_user_identity), and the notice it got.  source: how meetrec
-- learnt of it, a webhook or ListParticipants when the recording began.
CREATE TABLE project_management.pm_recording_participants (
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	sid		varchar(64) NOT NULL,
	identity	varchar(255) NOT NULL,
	name		varchar(255),
	kind		varchar(16) NOT NULL,
	user_id		uuid,
	joined_at	timestamptz NOT NULL,
	left_at		timestamptz,
	left_reason	varchar(64),
	source		varchar(16) NOT NULL
	    CHECK (source IN ('webhook', 'list')),
	notice_at	timestamptz,
	notice_status	varchar(16)
	    CHECK (notice_status IN ('sent', 'failed')),
	notice_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (recording_id, sid),
	CONSTRAINT pm_recording_participants_notice_whole CHECK
	    ((notice_at IS NULL) = (notice_status IS NULL))
);
CREATE INDEX pm_recording_participants_sid
	ON project_management.pm_recording_participants (sid);
CREATE INDEX pm_recording_participants_user
	ON project_management.pm_recording_participants (recording_id, user_id)
	WHERE user_id IS NOT NULL;
-- The notices still to send: rows that have none yet.
CREATE INDEX pm_recording_participants_unnoticed
	ON project_management.pm_recording_participants (recording_id)
	WHERE notice_at IS NULL AND left_at IS NULL;

-- 3. What the room was told when the recording began: the room's
-- metadata (updated, skipped when it is not a JSON object meetrec may
-- add a key to, failed) and a data message to everyone in it (sent,
-- failed, skipped when LiveKit had no such room).  status: sent (the
-- message went), partial (the message went, the metadata failed) or
-- failed (no message).  Written once, not retried: see meetrec(7).
CREATE TABLE project_management.pm_recording_notices (
	recording_id	uuid PRIMARY KEY REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	status		varchar(16) NOT NULL
	    CHECK (status IN ('sent', 'partial', 'failed')),
	metadata	varchar(16) NOT NULL
	    CHECK (metadata IN ('updated', 'skipped', 'failed')),
	data		varchar(16) NOT NULL
	    CHECK (data IN ('sent', 'skipped', 'failed')),
	error		text,
	sent_at		timestamptz NOT NULL DEFAULT now()
);

-- 4. The answers: one per user and recording, the last one given (each
-- one is an audit row, consent or objection).
CREATE TABLE project_management.pm_recording_consents (
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	user_id		uuid NOT NULL,
	answer		varchar(16) NOT NULL
	    CHECK (answer IN ('acknowledge', 'object')),
	comment		text CHECK (char_length(comment) <= 1000),
	answered_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (recording_id, user_id)
);

-- 5. auto_share = participants: when a recording becomes completed, the
-- users its participants map to become its viewers.  The trigger sorts
-- after meetrec_audit_recording_update (triggers fire in name order),
-- so it writes the access row itself, in 011's shape plus the reason
-- and who was added; the owner is never added.
CREATE FUNCTION project_management.meetrec_share_participants()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	add	uuid[];
BEGIN
	IF NOT EXISTS (SELECT 1 FROM project_management.pm_company_policies p
	    WHERE p.company_id = NEW.company_id AND
	    p.auto_share = 'participants') THEN
		RETURN NEW;
	END IF;
	SELECT array_agg(DISTINCT l.user_id ORDER BY l.user_id) INTO add
	    FROM project_management.pm_recording_participants l
	    WHERE l.recording_id = NEW.id AND l.user_id IS NOT NULL AND
	    l.user_id <> NEW.recorded_by AND
	    NOT (l.user_id = ANY (NEW.allowed_viewers));
	IF add IS NULL THEN
		RETURN NEW;
	END IF;
	PERFORM project_management.meetrec_audit_add(NEW.company_id, NEW.id,
	    'access', NULL, jsonb_build_object('is_public', NEW.is_public,
	    'allowed_viewers', to_jsonb(NEW.allowed_viewers || add), 'was',
	    jsonb_build_object('is_public', NEW.is_public, 'allowed_viewers',
	    to_jsonb(NEW.allowed_viewers)), 'reason', 'auto_share', 'added',
	    to_jsonb(add)), NULL);
	NEW.allowed_viewers := NEW.allowed_viewers || add;
	RETURN NEW;
END;
$$;
CREATE TRIGGER meetrec_share_participants
	BEFORE UPDATE ON project_management.pm_meeting_recordings
	FOR EACH ROW WHEN (NEW.status = 'completed' AND
	    OLD.status IS DISTINCT FROM 'completed')
	EXECUTE FUNCTION project_management.meetrec_share_participants();
