-- SPDX-License-Identifier: ISC
-- 006_shares_audit: bounding what watching can write to the audit log.

-- One mark per viewing: recording, action (share_view, download) and who
-- is watching (the SHA-256, in hex, of the user, or for a share link of
-- the link, the client address and the user agent).  The first request
-- of a viewing sets the mark and writes the audit row; requests with a
-- live mark (until still ahead) write none.  The primary key decides
-- between parallel requests on any number of API hosts: INSERT ... ON
-- CONFLICT DO UPDATE ... WHERE until <= now() takes the mark for one of
-- them only.  The reaper's purge pass deletes marks that have run out.
CREATE TABLE project_management.pm_recording_audit_marks (
	recording_id	uuid NOT NULL REFERENCES
	    project_management.pm_meeting_recordings (id) ON DELETE CASCADE,
	action		varchar(20) NOT NULL,
	viewer		char(64) NOT NULL,
	until		timestamptz NOT NULL,
	PRIMARY KEY (recording_id, action, viewer)
);
CREATE INDEX pm_recording_audit_marks_until
	ON project_management.pm_recording_audit_marks (until);

-- meetrec stores at most 512 bytes of a user agent (cut between UTF-8
-- characters).  Rows written before keep what they hold: the audit
-- trail is not rewritten.
ALTER TABLE project_management.pm_recording_access_logs
	ADD CONSTRAINT pm_recording_access_logs_user_agent_length
	CHECK (octet_length(user_agent) <= 512) NOT VALID;
