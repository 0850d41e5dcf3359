-- SPDX-License-Identifier: ISC
-- 008_seed_compat: the seed's schema where meetrec had left it (SPEC 3:
-- every field keeps the seed's name and type).  A recording names its
-- room by meeting_id, NOT NULL, with the seed's foreign key and index;
-- duration_seconds is whole seconds again (the seed's INTEGER; its page
-- printed 4.021 as "0:4.021") and the precise value moves to a column
-- of its own; the seed's is_encrypted, watermark_applied and
-- idx_access_logs_user are added.  No recording is deleted or loses its
-- room on the way.

-- 1. meeting_id, the seed's name for the room a recording belongs to.
ALTER TABLE project_management.pm_meeting_recordings
	RENAME COLUMN room_id TO meeting_id;

-- Rows written before the room was recorded, or whose room was deleted
-- (nothing kept a room while it had recordings), are linked below by
-- their room code, the join that found their meeting_name and host until
-- now.  First the rows with no room of that code at all.  Deleting the
-- recording or failing here would lose or hold up a file someone may
-- still want, so the room comes back as a minimal row: not active (no
-- new recording can start in it), named after its code, with the company
-- and the first recorder of its recordings, and under the id the
-- recordings had kept when one had kept one (and no other room code
-- claims that id).
DO $$
DECLARE
	n	bigint;
	codes	text;
BEGIN
	WITH orphan AS (
		SELECT r.id, r.room_code, r.meeting_id, r.company_id,
		    r.recorded_by, r.created_at
		FROM project_management.pm_meeting_recordings r
		WHERE (r.meeting_id IS NULL OR NOT EXISTS (SELECT 1
		    FROM project_management.pm_meeting_rooms x
		    WHERE x.id = r.meeting_id)) AND NOT EXISTS (SELECT 1
		    FROM project_management.pm_meeting_rooms y
		    WHERE y.room_code = r.room_code)
	), own_id AS (
		SELECT meeting_id FROM orphan WHERE meeting_id IS NOT NULL
		GROUP BY meeting_id HAVING count(DISTINCT room_code) = 1
	), earliest AS (
		SELECT DISTINCT ON (room_code) room_code, company_id,
		    recorded_by
		FROM orphan ORDER BY room_code, created_at, id
	), kept AS (
		SELECT DISTINCT ON (o.room_code) o.room_code, o.meeting_id
		FROM orphan o JOIN own_id i ON i.meeting_id = o.meeting_id
		ORDER BY o.room_code, o.created_at, o.id
	), made AS (
		INSERT INTO project_management.pm_meeting_rooms
		    (id, room_code, name, created_by, company_id, status)
		SELECT coalesce(k.meeting_id, gen_random_uuid()), f.room_code,
		    f.room_code || ' (deleted room)', f.recorded_by,
		    f.company_id, 'inactive'
		FROM earliest f LEFT JOIN kept k ON k.room_code = f.room_code
		RETURNING room_code
	)
	SELECT count(*), string_agg(room_code, ', ' ORDER BY room_code)
	    INTO n, codes FROM made;
	IF n > 0 THEN
		-- A WARNING: PostgreSQL's log keeps it by default.
		RAISE WARNING 'meetrec 008: % room(s) recreated, inactive, for '
		    'recordings whose room was deleted: %', n, codes;
	END IF;
END
$$;

UPDATE project_management.pm_meeting_recordings r
	SET meeting_id = rm.id
	FROM project_management.pm_meeting_rooms rm
	WHERE rm.room_code = r.room_code AND (r.meeting_id IS NULL OR
	    NOT EXISTS (SELECT 1 FROM project_management.pm_meeting_rooms x
	    WHERE x.id = r.meeting_id));

-- The seed's constraint (its inline REFERENCES gives this name): a room
-- with recordings can no longer be deleted from under them.
ALTER TABLE project_management.pm_meeting_recordings
	ALTER COLUMN meeting_id SET NOT NULL,
	ADD CONSTRAINT pm_meeting_recordings_meeting_id_fkey
	    FOREIGN KEY (meeting_id)
	    REFERENCES project_management.pm_meeting_rooms (id);
CREATE INDEX idx_recordings_meeting
	ON project_management.pm_meeting_recordings (meeting_id);

-- 2. duration_seconds as the seed declares it, whole seconds (rounded
-- half away from zero, as the programs' llround does), and the precise
-- value in duration_ms.  A value no recording can have (NaN, infinite,
-- beyond an integer's seconds) becomes unknown rather than stopping the
-- migration.
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN duration_ms bigint CHECK (duration_ms >= 0);
UPDATE project_management.pm_meeting_recordings
	SET duration_ms = round(duration_seconds::numeric * 1000)
	WHERE duration_seconds BETWEEN 0 AND 2147483647;
ALTER TABLE project_management.pm_meeting_recordings
	ALTER COLUMN duration_seconds TYPE integer USING CASE
	    WHEN duration_seconds BETWEEN 0 AND 2147483647
	    THEN round(duration_seconds::numeric)::integer END;

-- 3. The seed's security flags: false until the features that set them
-- (encryption at rest, watermarks) exist.
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN is_encrypted boolean NOT NULL DEFAULT false,
	ADD COLUMN watermark_applied boolean NOT NULL DEFAULT false;

-- 4. The seed's index on who accessed what (the audit trail by user).
CREATE INDEX idx_access_logs_user
	ON project_management.pm_recording_access_logs (user_id);
