-- SPDX-License-Identifier: ISC
-- 005_trash_reason: why a recording is in the trash, so an admin restore
-- can tell a recording its owner deleted (the file is kept until the
-- purge: restorable) from one that expired (the reaper deleted the
-- stored file before trashing the row: nothing to restore).
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN trash_reason text
	CONSTRAINT pm_meeting_recordings_trash_reason_check
	CHECK (trash_reason IN ('deleted', 'expired'));

-- Rows trashed before this migration: the expire pass only trashes rows
-- whose expires_at had passed, so such a row was expired; any other was
-- deleted by a user.
UPDATE project_management.pm_meeting_recordings
	SET trash_reason = CASE WHEN expires_at IS NOT NULL AND
	    expires_at <= deleted_at THEN 'expired' ELSE 'deleted' END
	WHERE deleted_at IS NOT NULL;
