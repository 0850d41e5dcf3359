-- SPDX-License-Identifier: ISC
-- 004_metrics: the reaper's figures for GET /metrics.  Reapers run on any
-- number of hosts, so what they count lives here, not in a process:
-- each one adds with "value = value + $1" (INSERT ... ON CONFLICT DO
-- UPDATE), which is safe with many writers.  The pool reads both tables
-- at scrape time.

-- Monotonic counters: upload_bytes, uploads, upload_failures.
CREATE TABLE project_management.meetrec_counters (
	name		text PRIMARY KEY,
	value		double precision NOT NULL DEFAULT 0,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- One row per reaper pass: how many runs, their total duration, the last.
CREATE TABLE project_management.meetrec_reaper_passes (
	pass		text PRIMARY KEY,
	runs		bigint NOT NULL DEFAULT 0,
	seconds_sum	double precision NOT NULL DEFAULT 0,
	last_seconds	double precision,
	last_at		timestamptz
);

-- The series exist from the start, at zero.
INSERT INTO project_management.meetrec_counters (name) VALUES
	('upload_bytes'), ('uploads'), ('upload_failures');
INSERT INTO project_management.meetrec_reaper_passes (pass) VALUES
	('upload'), ('stale'), ('expire'), ('purge'), ('orphans');
