-- SPDX-License-Identifier: ISC
-- 011_governance: an audit trail that outlives its recordings and cannot
-- be rewritten unnoticed, legal holds, and each company's retention
-- bounds.

-- 1. Each company's policy.  retention_default_days NULL takes
-- meetrec.conf's retention_days; retention_max_days NULL or 0: no bound.
CREATE TABLE project_management.pm_company_policies (
	company_id		uuid PRIMARY KEY,
	retention_default_days	integer
	    CHECK (retention_default_days BETWEEN 0 AND 36500),
	retention_max_days	integer
	    CHECK (retention_max_days BETWEEN 0 AND 36500),
	auto_share		varchar(20) NOT NULL DEFAULT 'none'
	    CHECK (auto_share IN ('none', 'participants')),
	updated_at		timestamptz NOT NULL DEFAULT now()
);

-- The days a new (or revived) recording of company c is kept, d being
-- meetrec.conf's retention_days; 0 for ever.  Never past the company's
-- bound.
CREATE FUNCTION project_management.meetrec_retention_days(c uuid, d int)
RETURNS int LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p.retention_max_days > 0 AND
	    (coalesce(p.retention_default_days, d) = 0 OR
	    coalesce(p.retention_default_days, d) > p.retention_max_days)
	    THEN p.retention_max_days
	    ELSE coalesce(p.retention_default_days, d) END
	FROM (SELECT NULL::int AS z) z LEFT JOIN
	    project_management.pm_company_policies p ON p.company_id = c
$$;

-- 2. Legal hold: while legal_hold_at is set the recording cannot be
-- deleted, expire or be purged.  audit_ctx says who changes a row (a
-- JSON object: user_id, email, ip, agent) for the audit row the change
-- writes; the trigger below reads it and clears it, so it is NULL at
-- rest and a change that does not set it is the system's.
ALTER TABLE project_management.pm_meeting_recordings
	ADD COLUMN legal_hold_reason text
	    CHECK (char_length(legal_hold_reason) BETWEEN 1 AND 1000),
	ADD COLUMN legal_hold_by uuid,
	ADD COLUMN legal_hold_at timestamptz,
	ADD COLUMN audit_ctx jsonb,
	ADD CONSTRAINT pm_meeting_recordings_hold_whole CHECK
	    ((legal_hold_at IS NULL) = (legal_hold_reason IS NULL));
CREATE INDEX pm_meeting_recordings_held
	ON project_management.pm_meeting_recordings
	(company_id, legal_hold_at DESC, id DESC)
	WHERE legal_hold_at IS NOT NULL;

-- The expire and purge passes' rows leave out the held ones.
CREATE INDEX pm_meeting_recordings_expiring_free
	ON project_management.pm_meeting_recordings (expires_at)
	WHERE deleted_at IS NULL AND status IN ('completed', 'failed')
	AND expires_at IS NOT NULL AND legal_hold_at IS NULL;
DROP INDEX project_management.pm_meeting_recordings_expiring;
CREATE INDEX pm_meeting_recordings_trash_free
	ON project_management.pm_meeting_recordings (deleted_at)
	WHERE deleted_at IS NOT NULL AND legal_hold_at IS NULL;
DROP INDEX project_management.pm_meeting_recordings_trash;

ALTER TABLE project_management.pm_recording_shares
	ADD COLUMN audit_ctx jsonb;

-- 3. The audit trail.  Rows outlive their recording; every row belongs
-- to a company's chain: seq counts the company's rows from 1, prev_hash
-- is the row_hash of the one before (64 zeros for the first), and
-- row_hash the SHA-256 of the row's content (meetrec_audit_hash).  A
-- changed row no longer matches its hash; a removed one leaves a gap in
-- seq, or, the last one, a chain shorter than its head.
DO $$
DECLARE
	k	name;
BEGIN
	FOR k IN SELECT conname FROM pg_constraint WHERE conrelid =
	    'project_management.pm_recording_access_logs'::regclass AND
	    contype = 'f' LOOP
		EXECUTE format('ALTER TABLE '
		    'project_management.pm_recording_access_logs '
		    'DROP CONSTRAINT %I', k);
	END LOOP;
END;
$$;
ALTER TABLE project_management.pm_recording_access_logs
	ALTER COLUMN recording_id DROP NOT NULL,
	ALTER COLUMN action TYPE varchar(32),
	DROP CONSTRAINT IF EXISTS pm_recording_access_logs_action_check,
	ADD COLUMN company_id uuid,
	ADD COLUMN detail jsonb,
	ADD COLUMN seq bigint,
	ADD COLUMN prev_hash char(64),
	ADD COLUMN row_hash char(64),
	ADD CONSTRAINT pm_recording_access_logs_action_check
	    CHECK (action ~ '^[a-z_]{1,32}$');

-- Each company's chain: how long, and the hash of its last row.
CREATE TABLE project_management.pm_audit_heads (
	company_id	uuid PRIMARY KEY,
	seq		bigint NOT NULL DEFAULT 0,
	last_hash	char(64) NOT NULL DEFAULT repeat('0', 64)
);

CREATE FUNCTION project_management.meetrec_audit_field(v text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '-'
	    ELSE octet_length(convert_to(v, 'UTF8')) || ':' || v || ',' END
$$;

-- The content a row's hash covers: a version line, then each field as
-- a netstring (length in bytes of its UTF-8, ':', the text, ','), NULL
-- as '-'.  doc/meetrec-admin.8 describes it for auditors' own tools.
CREATE FUNCTION project_management.meetrec_audit_hash(seq bigint,
    company uuid, recording uuid, user_id uuid, email text, action text,
    ip text, agent text, share uuid, at timestamptz, detail jsonb,
    prev text)
RETURNS char(64) LANGUAGE sql STABLE AS $$
	SELECT encode(sha256(convert_to('meetrec-audit-1' || chr(10) ||
	    project_management.meetrec_audit_field(seq::text) ||
	    project_management.meetrec_audit_field(company::text) ||
	    project_management.meetrec_audit_field(recording::text) ||
	    project_management.meetrec_audit_field(user_id::text) ||
	    project_management.meetrec_audit_field(email) ||
	    project_management.meetrec_audit_field(action) ||
	    project_management.meetrec_audit_field(ip) ||
	    project_management.meetrec_audit_field(agent) ||
	    project_management.meetrec_audit_field(share::text) ||
	    project_management.meetrec_audit_field(to_char(at AT TIME ZONE
	        'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ||
	    project_management.meetrec_audit_field(detail::text) ||
	    project_management.meetrec_audit_field(prev), 'UTF8')), 'hex')
$$;

-- The rows there are, chained company by company in the order they were
-- written.  Rows of recordings purged before this migration cannot be:
-- the cascade took them with their recording.
UPDATE project_management.pm_recording_access_logs l
	SET company_id = r.company_id
	FROM project_management.pm_meeting_recordings r
	WHERE r.id = l.recording_id;
DO $$
DECLARE
	l	record;
	c	uuid;
	n	bigint;
	h	text;
BEGIN
	FOR l IN SELECT * FROM project_management.pm_recording_access_logs
	    ORDER BY company_id, accessed_at, id LOOP
		IF c IS DISTINCT FROM l.company_id THEN
			IF c IS NOT NULL THEN
				INSERT INTO project_management.pm_audit_heads
				    VALUES (c, n, h);
			END IF;
			c := l.company_id;
			n := 0;
			h := repeat('0', 64);
		END IF;
		n := n + 1;
		UPDATE project_management.pm_recording_access_logs SET
		    seq = n, prev_hash = h,
		    row_hash = project_management.meetrec_audit_hash(n,
		        l.company_id, l.recording_id, l.user_id, l.user_email,
		        l.action, l.ip_address, l.user_agent, l.share_id,
		        l.accessed_at, l.detail, h)
		    WHERE id = l.id
		    RETURNING row_hash INTO h;
	END LOOP;
	IF c IS NOT NULL THEN
		INSERT INTO project_management.pm_audit_heads VALUES (c, n, h);
	END IF;
END;
$$;

ALTER TABLE project_management.pm_recording_access_logs
	ALTER COLUMN company_id SET NOT NULL,
	ALTER COLUMN seq SET NOT NULL,
	ALTER COLUMN prev_hash SET NOT NULL,
	ALTER COLUMN row_hash SET NOT NULL;
CREATE UNIQUE INDEX pm_recording_access_logs_chain
	ON project_management.pm_recording_access_logs (company_id, seq);
CREATE INDEX pm_recording_access_logs_action
	ON project_management.pm_recording_access_logs
	(company_id, action, seq);

-- A new row joins its company's chain.  The head's row lock orders the
-- writers of one company until they commit, so seq follows the order
-- the rows become visible in: a reader going on from a seq it has seen
-- misses none.  A row without company_id takes its recording's.
CREATE FUNCTION project_management.meetrec_audit_chain()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	n	bigint;
	h	text;
BEGIN
	IF NEW.company_id IS NULL THEN
		SELECT r.company_id INTO NEW.company_id
		    FROM project_management.pm_meeting_recordings r
		    WHERE r.id = NEW.recording_id;
		IF NEW.company_id IS NULL THEN
			RAISE EXCEPTION 'meetrec: an audit row needs a company'
			    USING ERRCODE = 'not_null_violation';
		END IF;
	END IF;
	SELECT seq + 1, last_hash INTO n, h
	    FROM project_management.pm_audit_heads
	    WHERE company_id = NEW.company_id FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO project_management.pm_audit_heads (company_id)
		    VALUES (NEW.company_id) ON CONFLICT DO NOTHING;
		SELECT seq + 1, last_hash INTO n, h
		    FROM project_management.pm_audit_heads
		    WHERE company_id = NEW.company_id FOR UPDATE;
	END IF;
	NEW.accessed_at := now();
	NEW.seq := n;
	NEW.prev_hash := h;
	NEW.row_hash := project_management.meetrec_audit_hash(n,
	    NEW.company_id, NEW.recording_id, NEW.user_id, NEW.user_email,
	    NEW.action, NEW.ip_address, NEW.user_agent, NEW.share_id,
	    NEW.accessed_at, NEW.detail, h);
	UPDATE project_management.pm_audit_heads SET seq = n,
	    last_hash = NEW.row_hash WHERE company_id = NEW.company_id;
	RETURN NEW;
END;
$$;
CREATE TRIGGER meetrec_audit_chain
	BEFORE INSERT ON project_management.pm_recording_access_logs
	FOR EACH ROW EXECUTE FUNCTION project_management.meetrec_audit_chain();

-- Append-only: no row is changed or removed, and a head moves on one
-- row at a time.
CREATE FUNCTION project_management.meetrec_audit_refuse()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'pm_audit_heads' AND
	    NEW.company_id = OLD.company_id AND NEW.seq = OLD.seq + 1 THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'meetrec: the audit log is append-only (% on %)',
	    TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER meetrec_audit_append_only
	BEFORE UPDATE OR DELETE ON project_management.pm_recording_access_logs
	FOR EACH ROW EXECUTE FUNCTION project_management.meetrec_audit_refuse();
CREATE TRIGGER meetrec_audit_no_truncate
	BEFORE TRUNCATE ON project_management.pm_recording_access_logs
	FOR EACH STATEMENT EXECUTE FUNCTION
	project_management.meetrec_audit_refuse();
CREATE TRIGGER meetrec_audit_heads_grow
	BEFORE UPDATE OR DELETE ON project_management.pm_audit_heads
	FOR EACH ROW EXECUTE FUNCTION project_management.meetrec_audit_refuse();
CREATE TRIGGER meetrec_audit_heads_no_truncate
	BEFORE TRUNCATE ON project_management.pm_audit_heads
	FOR EACH STATEMENT EXECUTE FUNCTION
	project_management.meetrec_audit_refuse();

-- 4. Every change of a recording's life is an audit row, written by the
-- statement that makes it.
CREATE FUNCTION project_management.meetrec_audit_add(c uuid, rec uuid,
    act text, ctx jsonb, det jsonb, share uuid)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO project_management.pm_recording_access_logs
	    (company_id, recording_id, user_id, user_email, action,
	    ip_address, user_agent, share_id, detail)
	VALUES (c, rec, (ctx->>'user_id')::uuid, ctx->>'email', act,
	    ctx->>'ip', ctx->>'agent', share, det)
$$;

CREATE FUNCTION project_management.meetrec_audit_recording()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	ctx	jsonb;
	act	text;
	det	jsonb;
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM project_management.meetrec_audit_add(OLD.company_id,
		    OLD.id, 'purge', NULL, jsonb_build_object('trash_reason',
		    OLD.trash_reason, 'storage_type', OLD.storage_type,
		    'storage_path', OLD.storage_path), NULL);
		RETURN OLD;
	END IF;
	ctx := NEW.audit_ctx;
	NEW.audit_ctx := NULL;
	IF TG_OP = 'INSERT' THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, 'start', coalesce(ctx, jsonb_build_object(
		    'user_id', NEW.recorded_by, 'email', NEW.recorded_by_email)),
		    jsonb_build_object('room_code', NEW.room_code,
		    'audio_only', NEW.audio_only, 'layout', NEW.layout,
		    'expires_at', NEW.expires_at), NULL);
		RETURN NEW;
	END IF;
	IF OLD.status IS DISTINCT FROM NEW.status THEN
		act := CASE
		    WHEN NEW.status = 'recording' AND OLD.status = 'pending'
			THEN 'recording'
		    WHEN NEW.status = 'recording' THEN 'resume'
		    WHEN NEW.status = 'processing' AND OLD.status = 'failed'
			THEN 'retry'
		    WHEN NEW.status = 'processing' THEN 'stop'
		    WHEN NEW.status = 'completed' THEN 'complete'
		    WHEN NEW.status = 'failed' THEN 'fail'
		    ELSE 'status' END;
		det := jsonb_build_object('from', OLD.status, 'to', NEW.status,
		    'egress_id', NEW.egress_id);
		IF NEW.status = 'failed' THEN
			det := det || jsonb_build_object('error', NEW.last_error);
		ELSIF NEW.status = 'completed' THEN
			det := det || jsonb_build_object('duration_ms',
			    NEW.duration_ms, 'file_size_bytes',
			    NEW.file_size_bytes, 'checksum_sha256',
			    NEW.checksum_sha256);
		END IF;
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, act, ctx, det, NULL);
	END IF;
	IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, CASE WHEN NEW.trash_reason = 'expired'
		    THEN 'expire' ELSE 'delete' END, ctx,
		    jsonb_build_object('expires_at', OLD.expires_at), NULL);
	ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, 'restore', ctx, jsonb_build_object('trash_reason',
		    OLD.trash_reason), NULL);
	END IF;
	IF OLD.is_public IS DISTINCT FROM NEW.is_public OR
	    OLD.allowed_viewers IS DISTINCT FROM NEW.allowed_viewers THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, 'access', ctx, jsonb_build_object(
		    'is_public', NEW.is_public, 'allowed_viewers',
		    to_jsonb(NEW.allowed_viewers), 'was', jsonb_build_object(
		    'is_public', OLD.is_public, 'allowed_viewers',
		    to_jsonb(OLD.allowed_viewers))), NULL);
	END IF;
	IF OLD.legal_hold_at IS NULL AND NEW.legal_hold_at IS NOT NULL THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, 'hold', ctx, jsonb_build_object('reason',
		    NEW.legal_hold_reason), NULL);
	ELSIF OLD.legal_hold_at IS NOT NULL AND NEW.legal_hold_at IS NULL
	    THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, 'release', ctx, jsonb_build_object('reason',
		    OLD.legal_hold_reason, 'held_at', OLD.legal_hold_at), NULL);
	END IF;
	IF OLD.expires_at IS DISTINCT FROM NEW.expires_at THEN
		PERFORM project_management.meetrec_audit_add(NEW.company_id,
		    NEW.id, 'retention', ctx, jsonb_build_object('expires_at',
		    NEW.expires_at, 'was', OLD.expires_at), NULL);
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER meetrec_audit_recording_insert
	BEFORE INSERT ON project_management.pm_meeting_recordings
	FOR EACH ROW EXECUTE FUNCTION
	project_management.meetrec_audit_recording();
CREATE TRIGGER meetrec_audit_recording_update
	BEFORE UPDATE ON project_management.pm_meeting_recordings
	FOR EACH ROW WHEN (NEW.audit_ctx IS NOT NULL OR
	    OLD.status IS DISTINCT FROM NEW.status OR
	    OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR
	    OLD.is_public IS DISTINCT FROM NEW.is_public OR
	    OLD.allowed_viewers IS DISTINCT FROM NEW.allowed_viewers OR
	    OLD.legal_hold_at IS DISTINCT FROM NEW.legal_hold_at OR
	    OLD.expires_at IS DISTINCT FROM NEW.expires_at)
	EXECUTE FUNCTION project_management.meetrec_audit_recording();
CREATE TRIGGER meetrec_audit_recording_delete
	AFTER DELETE ON project_management.pm_meeting_recordings
	FOR EACH ROW EXECUTE FUNCTION
	project_management.meetrec_audit_recording();

-- Share links: made and revoked.
CREATE FUNCTION project_management.meetrec_audit_share()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	ctx	jsonb := NEW.audit_ctx;
BEGIN
	NEW.audit_ctx := NULL;
	IF TG_OP = 'INSERT' THEN
		PERFORM project_management.meetrec_audit_add(NULL,
		    NEW.recording_id, 'share', coalesce(ctx,
		    jsonb_build_object('user_id', NEW.created_by)),
		    jsonb_build_object('expires_at', NEW.expires_at,
		    'password', NEW.password_hash IS NOT NULL), NEW.id);
	ELSIF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
		PERFORM project_management.meetrec_audit_add(NULL,
		    NEW.recording_id, 'share_revoke', ctx, NULL, NEW.id);
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER meetrec_audit_share_insert
	BEFORE INSERT ON project_management.pm_recording_shares
	FOR EACH ROW EXECUTE FUNCTION project_management.meetrec_audit_share();
CREATE TRIGGER meetrec_audit_share_update
	BEFORE UPDATE ON project_management.pm_recording_shares
	FOR EACH ROW WHEN (NEW.audit_ctx IS NOT NULL OR
	    (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL))
	EXECUTE FUNCTION project_management.meetrec_audit_share();
