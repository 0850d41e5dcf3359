-- SPDX-License-Identifier: ISC
-- 014_ledger_audit: the participants ledger in the audit trail.  When a
-- recording ends (completed or failed), one audit row (ledger) keeps who
-- was in the room while it recorded, with their times, the user each
-- maps to, the notice each got and their last answer, and the notice
-- the room got.  The ledger's own tables go with the recording when it
-- is purged; this row stays, chained like every other.
CREATE FUNCTION project_management.meetrec_audit_ledger()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM project_management.meetrec_audit_add(NEW.company_id, NEW.id,
	    'ledger', NULL, jsonb_build_object(
	    'notice', (SELECT jsonb_build_object('status', n.status,
		'metadata', n.metadata, 'data', n.data, 'error', n.error,
		'sent_at', n.sent_at)
		FROM project_management.pm_recording_notices n
		WHERE n.recording_id = NEW.id),
	    'participants', coalesce((SELECT jsonb_agg(jsonb_build_object(
		'sid', p.sid, 'identity', p.identity, 'name', p.name,
		'user_id', p.user_id, 'joined_at', p.joined_at,
		'left_at', p.left_at, 'notice_at', p.notice_at,
		'notice_status', p.notice_status,
		'answer', c.answer, 'answered_at', c.answered_at)
		ORDER BY p.joined_at, p.sid)
		FROM project_management.pm_recording_participants p
		LEFT JOIN project_management.pm_recording_consents c
		ON c.recording_id = p.recording_id AND c.user_id = p.user_id
		WHERE p.recording_id = NEW.id), '[]'::jsonb)), NULL);
	RETURN NULL;
END;
$$;
CREATE TRIGGER meetrec_audit_ledger
	AFTER UPDATE ON project_management.pm_meeting_recordings
	FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed') AND
	    OLD.status NOT IN ('completed', 'failed'))
	EXECUTE FUNCTION project_management.meetrec_audit_ledger();
