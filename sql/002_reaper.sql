-- SPDX-License-Identifier: ISC
-- 002_reaper: what the reaper's passes look rows up by.

-- When LiveKit last told us about the egress (a webhook, the Start reply
-- or a reaper check); a recording not heard of for a while is reconciled.
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN egress_seen_at timestamptz;

-- Uploads due and stale rows are found by status and time.
CREATE INDEX pm_meeting_recordings_due
	ON project_management.pm_meeting_recordings (next_attempt_at)
	WHERE status IN ('pending', 'recording', 'processing')
	AND deleted_at IS NULL;
-- Trash older than the window.
CREATE INDEX pm_meeting_recordings_trash
	ON project_management.pm_meeting_recordings (deleted_at)
	WHERE deleted_at IS NOT NULL;
