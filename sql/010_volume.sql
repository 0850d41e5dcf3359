-- SPDX-License-Identifier: ISC
-- 010_volume: the same cost for each row at ten thousand recordings and
-- at ten million.  Every reaper claim reads an index that holds only the
-- rows still to do, and the counts a list, the admin statistics and
-- /metrics answer are kept as the rows change, not counted at each
-- request.

-- The expire pass's rows: live, finished, with an expiry.  A row leaves
-- it when it goes to the trash; the index of every expiry it replaces
-- kept the trash too, and each claim walked past all of it.
CREATE INDEX pm_meeting_recordings_expiring
	ON project_management.pm_meeting_recordings (expires_at)
	WHERE deleted_at IS NULL AND status IN ('completed', 'failed')
	AND expires_at IS NOT NULL;
DROP INDEX project_management.pm_meeting_recordings_expires;

-- The upload pass's rows: egress ended with a file, not yet stored.
CREATE INDEX pm_meeting_recordings_uploads
	ON project_management.pm_meeting_recordings
	(next_attempt_at NULLS FIRST, created_at)
	WHERE status = 'processing' AND deleted_at IS NULL
	AND egress_status IN ('EGRESS_COMPLETE', 'EGRESS_LIMIT_REACHED');

-- The stale pass's rows, in the order it takes them: those not yet
-- finished (pm_meeting_recordings_due holds the same rows by retry time).
-- They replace the index of every row by status, which the passes read
-- before and nothing else needs.
CREATE INDEX pm_meeting_recordings_unfinished
	ON project_management.pm_meeting_recordings
	((coalesce(egress_seen_at, created_at)))
	WHERE status IN ('pending', 'recording', 'processing')
	AND deleted_at IS NULL;
DROP INDEX project_management.pm_meeting_recordings_status;

-- A room's recordings, newest first, without the trash: the list with a
-- room_code reads the room, not its scope.
CREATE INDEX pm_meeting_recordings_room_live
	ON project_management.pm_meeting_recordings
	(room_code, created_at DESC, id DESC)
	WHERE deleted_at IS NULL;

-- scope=shared: the recordings a user was given, and the public ones,
-- newest first (with what the list filters and counts by, so a count
-- reads the index alone).
CREATE INDEX pm_meeting_recordings_viewers
	ON project_management.pm_meeting_recordings USING gin (allowed_viewers)
	WHERE deleted_at IS NULL;
CREATE INDEX pm_meeting_recordings_public
	ON project_management.pm_meeting_recordings
	(company_id, created_at DESC, id DESC)
	INCLUDE (recorded_by, room_code, status)
	WHERE deleted_at IS NULL AND is_public;

-- What the upload queue holds for the admin statistics: uploads that
-- gave up, kept for a retry.
CREATE INDEX pm_meeting_recordings_upload_failed
	ON project_management.pm_meeting_recordings (company_id)
	WHERE status = 'failed' AND deleted_at IS NULL
	AND egress_status IN ('EGRESS_COMPLETE', 'EGRESS_LIMIT_REACHED');

-- The counts: how many recordings a company, and each of its users, has
-- in each status, public or not, in the trash or not, and the company's
-- bytes.  A trigger changes them in the transaction that changes the
-- recording, so a list's total read with its page is exact in the
-- page's snapshot.  One row a (company, status, public, trash) and a
-- (company, user, status, public, trash): concurrent changes wait on a
-- row only when they touch the same company's or user's count of the
-- same kind, for the length of one statement.
CREATE TABLE project_management.meetrec_company_counts (
	company_id	uuid NOT NULL,
	status		text NOT NULL,
	public		boolean NOT NULL,
	trashed		boolean NOT NULL,
	recordings	bigint NOT NULL DEFAULT 0,
	bytes		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (company_id, status, public, trashed)
);
CREATE TABLE project_management.meetrec_user_counts (
	company_id	uuid NOT NULL,
	recorded_by	uuid NOT NULL,
	status		text NOT NULL,
	public		boolean NOT NULL,
	trashed		boolean NOT NULL,
	recordings	bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (company_id, recorded_by, status, public, trashed)
);

-- Add n recordings of b bytes to the counts of one key: the company's
-- (users false) or the user's.
CREATE FUNCTION project_management.meetrec_count_add(c uuid, u uuid,
    s text, p boolean, t boolean, n bigint, b bigint, users boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF users THEN
		INSERT INTO project_management.meetrec_user_counts AS k
		    (company_id, recorded_by, status, public, trashed,
		    recordings)
		VALUES (c, u, s, p, t, n)
		ON CONFLICT (company_id, recorded_by, status, public, trashed)
		DO UPDATE SET recordings = k.recordings + n;
	ELSE
		INSERT INTO project_management.meetrec_company_counts AS k
		    (company_id, status, public, trashed, recordings, bytes)
		VALUES (c, s, p, t, n, b)
		ON CONFLICT (company_id, status, public, trashed)
		DO UPDATE SET recordings = k.recordings + n,
		    bytes = k.bytes + b;
	END IF;
END $$;

-- A row's old key loses it, its new key gains it.  The rows of the
-- counts are taken in one order, the companies' before the users', each
-- by key, so two changes never wait on each other in a circle.
CREATE FUNCTION project_management.meetrec_count_recording()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	oc uuid; ou uuid; os text; op boolean; ot boolean; ob bigint := 0;
	nc uuid; nu uuid; ns text; np boolean; nt boolean; nb bigint := 0;
	lvl boolean;
	ok text; nk text;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		oc := OLD.company_id; ou := OLD.recorded_by;
		os := OLD.status; op := OLD.is_public;
		ot := OLD.deleted_at IS NOT NULL;
		ob := coalesce(OLD.file_size_bytes, 0);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		nc := NEW.company_id; nu := NEW.recorded_by;
		ns := NEW.status; np := NEW.is_public;
		nt := NEW.deleted_at IS NOT NULL;
		nb := coalesce(NEW.file_size_bytes, 0);
	END IF;
	FOREACH lvl IN ARRAY ARRAY[false, true] LOOP
		-- The key of the level as text, in the counts' order.
		ok := concat_ws('/', oc, CASE WHEN lvl THEN ou END, os, op, ot);
		nk := concat_ws('/', nc, CASE WHEN lvl THEN nu END, ns, np, nt);
		IF TG_OP = 'INSERT' THEN
			PERFORM project_management.meetrec_count_add(
			    nc, nu, ns, np, nt, 1, nb, lvl);
		ELSIF TG_OP = 'DELETE' THEN
			PERFORM project_management.meetrec_count_add(
			    oc, ou, os, op, ot, -1, -ob, lvl);
		ELSIF ok = nk THEN
			IF NOT lvl AND ob <> nb THEN
				PERFORM project_management.meetrec_count_add(
				    nc, nu, ns, np, nt, 0, nb - ob, false);
			END IF;
		ELSIF ok < nk THEN
			PERFORM project_management.meetrec_count_add(
			    oc, ou, os, op, ot, -1, -ob, lvl);
			PERFORM project_management.meetrec_count_add(
			    nc, nu, ns, np, nt, 1, nb, lvl);
		ELSE
			PERFORM project_management.meetrec_count_add(
			    nc, nu, ns, np, nt, 1, nb, lvl);
			PERFORM project_management.meetrec_count_add(
			    oc, ou, os, op, ot, -1, -ob, lvl);
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

CREATE TRIGGER meetrec_count_insert
	AFTER INSERT ON project_management.pm_meeting_recordings
	FOR EACH ROW EXECUTE FUNCTION
	project_management.meetrec_count_recording();
CREATE TRIGGER meetrec_count_delete
	AFTER DELETE ON project_management.pm_meeting_recordings
	FOR EACH ROW EXECUTE FUNCTION
	project_management.meetrec_count_recording();
-- Only a change of what is counted runs the function: leases, egress
-- news and the rest cost nothing here.
CREATE TRIGGER meetrec_count_update
	AFTER UPDATE ON project_management.pm_meeting_recordings
	FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id OR
	    OLD.recorded_by IS DISTINCT FROM NEW.recorded_by OR
	    OLD.status IS DISTINCT FROM NEW.status OR
	    OLD.is_public IS DISTINCT FROM NEW.is_public OR
	    (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR
	    OLD.file_size_bytes IS DISTINCT FROM NEW.file_size_bytes)
	EXECUTE FUNCTION project_management.meetrec_count_recording();

-- The counts again from the recordings, writes held off meanwhile: after
-- a load that bypassed the triggers (session_replication_role =
-- replica), or to check them.  Returns how many counts it changed.
CREATE FUNCTION project_management.meetrec_recount()
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	changed bigint;
	more bigint;
BEGIN
	LOCK TABLE project_management.pm_meeting_recordings IN SHARE MODE;
	WITH want AS (
		SELECT company_id, status, is_public AS public,
		    deleted_at IS NOT NULL AS trashed, count(*) AS recordings,
		    coalesce(sum(file_size_bytes), 0)::bigint AS bytes
		FROM project_management.pm_meeting_recordings
		GROUP BY 1, 2, 3, 4),
	gone AS (
		DELETE FROM project_management.meetrec_company_counts k
		WHERE NOT EXISTS (SELECT 1 FROM want w
		    WHERE (w.company_id, w.status, w.public, w.trashed) =
		    (k.company_id, k.status, k.public, k.trashed))
		AND (k.recordings <> 0 OR k.bytes <> 0) RETURNING 1),
	put AS (
		INSERT INTO project_management.meetrec_company_counts AS k
		    (company_id, status, public, trashed, recordings, bytes)
		SELECT * FROM want
		ON CONFLICT (company_id, status, public, trashed) DO UPDATE
		SET recordings = EXCLUDED.recordings, bytes = EXCLUDED.bytes
		WHERE (k.recordings, k.bytes) IS DISTINCT FROM
		    (EXCLUDED.recordings, EXCLUDED.bytes) RETURNING 1)
	SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM put)
	INTO changed;
	WITH want AS (
		SELECT company_id, recorded_by, status, is_public AS public,
		    deleted_at IS NOT NULL AS trashed, count(*) AS recordings
		FROM project_management.pm_meeting_recordings
		GROUP BY 1, 2, 3, 4, 5),
	gone AS (
		DELETE FROM project_management.meetrec_user_counts k
		WHERE NOT EXISTS (SELECT 1 FROM want w
		    WHERE (w.company_id, w.recorded_by, w.status, w.public,
		    w.trashed) = (k.company_id, k.recorded_by, k.status,
		    k.public, k.trashed))
		AND k.recordings <> 0 RETURNING 1),
	put AS (
		INSERT INTO project_management.meetrec_user_counts AS k
		    (company_id, recorded_by, status, public, trashed,
		    recordings)
		SELECT * FROM want
		ON CONFLICT (company_id, recorded_by, status, public, trashed)
		DO UPDATE SET recordings = EXCLUDED.recordings
		WHERE k.recordings <> EXCLUDED.recordings RETURNING 1)
	SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM put)
	INTO more;
	RETURN changed + more;
END $$;

-- TRUNCATE runs no row trigger: the counts go with the rows.
CREATE FUNCTION project_management.meetrec_count_truncate()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM project_management.meetrec_company_counts;
	DELETE FROM project_management.meetrec_user_counts;
	RETURN NULL;
END $$;
CREATE TRIGGER meetrec_count_truncate
	AFTER TRUNCATE ON project_management.pm_meeting_recordings
	FOR EACH STATEMENT EXECUTE FUNCTION
	project_management.meetrec_count_truncate();

SELECT project_management.meetrec_recount();

ANALYZE project_management.pm_meeting_recordings;
