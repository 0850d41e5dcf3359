-- SPDX-License-Identifier: ISC
-- 009_list_speed: what GET /api/recordings reads, by scope.  A page is
-- the newest rows of the scope that are not in the trash, newest first
-- (created_at DESC, id DESC, the keyset cursor's order); its total is
-- the count of the same rows.

-- scope=mine: the user's recordings in the company.  A page reads the
-- first rows of the user's range in order, a count reads the range
-- alone (room_code and status, the list's filters, are in the index):
-- an index-only scan where the visibility map marks the heap pages all
-- visible, which autovacuum keeps up below.
CREATE INDEX IF NOT EXISTS pm_meeting_recordings_mine
	ON project_management.pm_meeting_recordings
	(company_id, recorded_by, created_at DESC, id DESC)
	INCLUDE (room_code, status)
	WHERE deleted_at IS NULL;

-- scope=company (admins), and scope=shared, which looks at every row of
-- the company for those the user may view.
CREATE INDEX IF NOT EXISTS pm_meeting_recordings_live
	ON project_management.pm_meeting_recordings
	(company_id, created_at DESC, id DESC)
	INCLUDE (room_code, status)
	WHERE deleted_at IS NULL;

-- A recording's row changes a few times while it is young (status,
-- egress, the reaper's lease), and each change takes its heap page out
-- of the visibility map until vacuum runs again.  By default autovacuum
-- waits for a fifth of the table to change; at a twentieth the young
-- rows' pages are all visible again soon, and the old pages, untouched,
-- cost that vacuum nothing.
ALTER TABLE project_management.pm_meeting_recordings SET (
	autovacuum_vacuum_scale_factor = 0.05,
	autovacuum_vacuum_insert_scale_factor = 0.05
);
