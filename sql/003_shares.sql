-- SPDX-License-Identifier: ISC
-- 003_shares: what share links and the audit log need beyond 001.

-- Wrong passwords lock a share link for a while (doubling each time).
ALTER TABLE project_management.pm_recording_shares
	ADD COLUMN locked_until timestamptz,
	ADD COLUMN last_viewed_at timestamptz;

-- Which share link a share_view came through; revocations are audited.
ALTER TABLE project_management.pm_recording_access_logs
	ADD COLUMN share_id uuid,
	DROP CONSTRAINT pm_recording_access_logs_action_check,
	ADD CONSTRAINT pm_recording_access_logs_action_check
	    CHECK (action IN ('view', 'download', 'share', 'share_view',
	        'share_revoke', 'delete', 'restore', 'access'));
CREATE INDEX pm_recording_access_logs_page
	ON project_management.pm_recording_access_logs
	(recording_id, accessed_at DESC, id DESC);
DROP INDEX project_management.pm_recording_access_logs_recording;
