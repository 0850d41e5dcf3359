-- SPDX-License-Identifier: ISC
-- 013_webhooks: signed events out to integrators (Standard Webhooks).
-- An event is an audit row of one of the actions below
-- (meetrec_event_type); a delivery to each endpoint of the company that
-- wants it is queued by the statement that writes the row, so no event
-- is lost or sent for a change that rolled back.  The reaper sends each
-- endpoint's deliveries one at a time in the order of the company's
-- chain (seq), which keeps every recording's events in order.

CREATE FUNCTION project_management.meetrec_event_type(action text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE action
	    WHEN 'recording' THEN 'recording.started'
	    WHEN 'stop' THEN 'recording.stopped'
	    WHEN 'complete' THEN 'recording.completed'
	    WHEN 'fail' THEN 'recording.failed'
	    WHEN 'delete' THEN 'recording.deleted'
	    WHEN 'expire' THEN 'recording.expired'
	    WHEN 'hold' THEN 'recording.held'
	    WHEN 'release' THEN 'recording.released'
	    WHEN 'share' THEN 'share.created'
	    WHEN 'share_revoke' THEN 'share.revoked'
	    WHEN 'objection' THEN 'participant.objected'
	    END
$$;

-- The events of a company in order, for GET /api/events.
CREATE INDEX pm_recording_access_logs_events
	ON project_management.pm_recording_access_logs (company_id, seq)
	WHERE action IN ('recording', 'stop', 'complete', 'fail', 'delete',
	    'expire', 'hold', 'release', 'share', 'share_revoke',
	    'objection');

-- An endpoint: where a company's events go.  secret is the whsec_ key
-- the receiver checks signatures with; while a rotation is young the
-- old one signs too (old_secret until old_secret_until).  failures
-- counts the attempts that failed in a row; next_attempt_at is when the
-- first pending delivery is tried again; a reaper sending holds the
-- lease.
CREATE TABLE project_management.pm_webhook_endpoints (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id		uuid NOT NULL,
	url			text NOT NULL CHECK (octet_length(url) <= 2048),
	description		text NOT NULL DEFAULT ''
	    CHECK (char_length(description) <= 500),
	events			text[] NOT NULL DEFAULT '{}',
	secret			text NOT NULL,
	old_secret		text,
	old_secret_until	timestamptz,
	enabled			boolean NOT NULL DEFAULT true,
	disabled_reason		text,
	disabled_at		timestamptz,
	failures		integer NOT NULL DEFAULT 0,
	next_attempt_at		timestamptz,
	lease_owner		text,
	lease_until		timestamptz,
	created_by		uuid,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pm_webhook_endpoints_company
	ON project_management.pm_webhook_endpoints (company_id, created_at);

-- One event for one endpoint.
CREATE TABLE project_management.pm_webhook_deliveries (
	id		bigserial PRIMARY KEY,
	endpoint_id	uuid NOT NULL REFERENCES
	    project_management.pm_webhook_endpoints (id) ON DELETE CASCADE,
	company_id	uuid NOT NULL,
	event_id	uuid NOT NULL,
	event_seq	bigint NOT NULL,
	event_type	varchar(40) NOT NULL,
	status		varchar(12) NOT NULL DEFAULT 'pending'
	    CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts	integer NOT NULL DEFAULT 0,
	last_status	integer,
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz,
	UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX pm_webhook_deliveries_pending
	ON project_management.pm_webhook_deliveries (endpoint_id, event_seq)
	WHERE status = 'pending';
CREATE INDEX pm_webhook_deliveries_page
	ON project_management.pm_webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX pm_webhook_deliveries_finished
	ON project_management.pm_webhook_deliveries (finished_at)
	WHERE finished_at IS NOT NULL;

-- Every attempt: what the receiver answered, how fast.
CREATE TABLE project_management.pm_webhook_attempts (
	id		bigserial PRIMARY KEY,
	delivery_id	bigint NOT NULL REFERENCES
	    project_management.pm_webhook_deliveries (id) ON DELETE CASCADE,
	at		timestamptz NOT NULL DEFAULT now(),
	status		integer,
	latency_ms	integer NOT NULL,
	response	text CHECK (octet_length(response) <= 1024),
	error		text
);
CREATE INDEX pm_webhook_attempts_delivery
	ON project_management.pm_webhook_attempts (delivery_id, id);

-- Queue the event of a new audit row for the endpoints that want it,
-- and wake the reapers when there is any.
CREATE FUNCTION project_management.meetrec_hooks_enqueue()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	t	text := project_management.meetrec_event_type(NEW.action);
BEGIN
	IF t IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO project_management.pm_webhook_deliveries
	    (endpoint_id, company_id, event_id, event_seq, event_type)
	    SELECT e.id, NEW.company_id, NEW.id, NEW.seq, t
	    FROM project_management.pm_webhook_endpoints e
	    WHERE e.company_id = NEW.company_id AND e.enabled AND
	    (e.events = '{}' OR t = ANY (e.events));
	IF FOUND THEN
		PERFORM pg_notify('meetrec_hooks', '');
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER meetrec_hooks_enqueue
	AFTER INSERT ON project_management.pm_recording_access_logs
	FOR EACH ROW EXECUTE FUNCTION project_management.meetrec_hooks_enqueue();
