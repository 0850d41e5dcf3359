-- SPDX-License-Identifier: ISC
-- 007_damaged_files: a recording whose file the duration probe cannot
-- read to its end (cut short, damaged) is not stored as if it were whole.
-- The upload fails at once and keeps the spool file; an admin may then
-- store it as it is, deliberately.

-- What the probe found wrong with the file, in its words: set when the
-- upload fails for it, and kept on a file stored as it is (its duration
-- then stays NULL).  NULL for a file the probe read to its end.
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN media_finding text;

-- An admin retry asked to store the file even if the probe refuses it
-- (POST /admin/recordings/{id}/retry {"accept_as_is": true}).
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN store_as_is boolean NOT NULL DEFAULT false;
