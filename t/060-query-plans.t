#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The plans of the statements whose cost must not grow with the table
# (sql/010_volume.sql): every reaper claim, every list page and its
# total, the admin list and statistics, the access log, the status and
# /metrics.  The statements are meetrec's own (t/unit/sql-stmts prints
# them), prepared in a psql session as libpq prepares them, on a table
# of 170,000 recordings most of which are finished, and run under
# EXPLAIN (ANALYZE, BUFFERS) with the plan PostgreSQL keeps after five
# runs and with the plan made for the values: a worker of the pool runs
# the first five of each statement with the second, then the first.  Each
# must read the index meant for it and touch only the rows it answers
# with: a bound on the rows each scan of the table looks at and on the
# buffers the whole statement touches, both far below what a walk over
# the finished rows costs.  Plans' shapes and counts, never times.
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(uuid build_root);

Meetrec::Test::Stack::require_prereqs(qw(pg binaries));
my $s = Meetrec::Test::Stack->new(no_pool => 1, no_nginx => 1,
    no_standin => 1);
my $P = 'project_management';
my $T = "$P.pm_meeting_recordings";
sub sql { return $s->pg->psql($_[0], timeout => 300) }

my ($co, $other, $u, $v, $w, $x) = map { uuid() } 1 .. 6;
my ($room, $roomr) = map { uuid() } 1 .. 2;

# ---------------------------------------------------------------------
# The table: company $co, user $u with 60,000 recordings (40 in room-r,
# the others in 2,000 rooms),
# eight more users with 80,000 (half of them expired and in the trash,
# as the expire pass leaves them), 30 shared with $v and 20 public;
# company $other 30,000, half of them public.  To do: 30 expired, 30 trash past its window, 5
# uploads, 5 stale recordings.  Loaded as a bulk load is (no triggers),
# then counted (meetrec_recount).

my $rows = <<"EOF";
SET session_replication_role = replica;
INSERT INTO $P.pm_meeting_rooms (id, room_code, name, created_by, company_id)
VALUES ('$room', 'room-big', 'Big', '$u', '$co'),
       ('$roomr', 'room-r', 'R', '$u', '$co');
INSERT INTO $T (id, room_code, meeting_id, company_id, recorded_by, status,
    egress_id, egress_status, storage_type, storage_path, file_size_bytes,
    created_at, updated_at, expires_at, deleted_at, trash_reason,
    allowed_viewers, is_public, egress_seen_at, next_attempt_at)
SELECT gen_random_uuid(), CASE WHEN kind = 'room' THEN 'room-r'
	WHEN kind = 'stale' THEN 'live-' || i
	ELSE 'room-' || i % 2000 END, CASE WHEN kind = 'room' THEN '$roomr'::uuid
	ELSE '$room'::uuid END, c, who,
    CASE WHEN kind IN ('upload', 'stale') THEN
	CASE WHEN kind = 'upload' THEN 'processing' ELSE 'recording' END
	ELSE 'completed' END,
    'EG_' || i, CASE kind WHEN 'stale' THEN 'EGRESS_ACTIVE'
	ELSE 'EGRESS_COMPLETE' END,
    'local', '/r/' || i, 1000 + i,
    t, t,
    CASE WHEN kind IN ('expired', 'done') THEN now() - i * interval '1 s'
	ELSE now() + interval '300 days' END,
    CASE WHEN kind = 'done' THEN now() - interval '1 day'
	WHEN kind = 'purge' THEN now() - interval '40 days' END,
    CASE WHEN kind = 'done' THEN 'expired'
	WHEN kind = 'purge' THEN 'deleted' END,
    CASE WHEN kind = 'shared' THEN ARRAY['$v'::uuid] ELSE '{}' END,
    kind = 'public' OR (c = '$other' AND i % 2 = 0),
    CASE WHEN kind = 'stale' THEN now() - interval '2 hours' ELSE t END,
    NULL
FROM (
	SELECT i, now() - i * interval '1 minute' AS t,
	    CASE WHEN i <= 30000 THEN '$other'::uuid ELSE '$co'::uuid END
		AS c,
	    CASE WHEN i <= 30000 THEN md5('o' || i % 10)::uuid
		WHEN i <= 90000 THEN '$u'::uuid
		ELSE md5('w' || i % 8)::uuid END AS who,
	    CASE WHEN i BETWEEN 30001 AND 30040 THEN 'room'
		WHEN i > 90000 AND i <= 170000 AND i % 2 = 0 THEN 'done'
		WHEN i BETWEEN 170001 AND 170030 THEN 'expired'
		WHEN i BETWEEN 170031 AND 170060 THEN 'purge'
		WHEN i BETWEEN 170061 AND 170065 THEN 'upload'
		WHEN i BETWEEN 170066 AND 170070 THEN 'stale'
		WHEN i BETWEEN 170071 AND 170100 THEN 'shared'
		WHEN i BETWEEN 170101 AND 170120 THEN 'public'
		ELSE 'plain' END AS kind
	FROM generate_series(1, 170120) AS i
) AS g;
INSERT INTO $P.pm_recording_access_logs (recording_id, user_id, action,
    company_id, seq, prev_hash, row_hash)
SELECT r.id, '$u', 'view', r.company_id, row_number() OVER
    (PARTITION BY r.company_id), repeat('0', 64), repeat('0', 64)
FROM $T r, generate_series(1, 3)
WHERE r.recorded_by = '$u';
INSERT INTO $P.pm_audit_heads (company_id, seq)
SELECT company_id, max(seq) FROM $P.pm_recording_access_logs
GROUP BY company_id;
RESET session_replication_role;
SELECT $P.meetrec_recount();
EOF
sql($rows);
sql("VACUUM ANALYZE $T; VACUUM ANALYZE $P.pm_recording_access_logs; "
    . "VACUUM ANALYZE $P.meetrec_user_counts; "
    . "VACUUM ANALYZE $P.meetrec_company_counts");
is(sql("SELECT count(*) FROM $T"), 170120, 'the table is loaded');
is(sql("SELECT sum(recordings) FROM $P.meetrec_user_counts "
    . "WHERE recorded_by = '$u' AND NOT trashed"), 60000,
    'the counts are rebuilt from it');

# ---------------------------------------------------------------------
# The statements, as the pool and the reapers prepare them.

my %stmt;
{
	my $r = run_cmd([ build_root() . '/t/unit/sql-stmts' ]);
	is($r->{rc}, 0, 't/unit/sql-stmts prints the statements');
	for (split /\n/, $r->{out}) {
		my $o = JSON::PP::decode_json($_);
		$stmt{$o->{name}} = $o;
	}
}
ok(keys %stmt > 50, scalar(keys %stmt) . ' statements');

sub lit {
	my ($v) = @_;
	return 'NULL' unless defined $v;
	(my $q = $v) =~ s/'/''/g;
	return "'$q'";
}

# plan_of($name, \@params, $mode) - the plan of one run, rolled back.
# Mode "kept" is the plan PostgreSQL runs after five runs (auto: the plan
# made once, unless it looks dearer than those made for the values), as
# in a worker of the pool; "values" the plan made for the values.
sub plan_of {
	my ($name, $params, $mode) = @_;
	my $st = $stmt{$name} or die "no statement $name";
	die "$name takes $st->{nparams} parameters, given " . @$params
	    unless @$params == $st->{nparams};
	my $args = @$params ? '(' . join(', ', map { lit($_) } @$params) . ')'
	    : '';
	my $warm = $mode eq 'kept' ? "\\o /dev/null\n"
	    . "SAVEPOINT w; EXECUTE s$args; ROLLBACK TO w;\n" x 5 . "\\o\n" : '';
	my $out = sql('SET plan_cache_mode = '
	    . ($mode eq 'kept' ? 'auto' : 'force_custom_plan') . ";\n"
	    . "PREPARE s AS $st->{sql};\nBEGIN;\n$warm"
	    . "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE s$args;\n"
	    . "ROLLBACK;\n");
	return JSON::PP::decode_json($out)->[0]{Plan};
}

# Every node of a plan, with the path of node types above it.
sub nodes {
	my ($n, @up) = @_;
	return ([ $n, @up ], map { nodes($_, $n, @up) } @{ $n->{Plans} // [] });
}

my $TABLE = 'pm_meeting_recordings';
# The most rows a scan of the recordings (or the audit log) may look at,
# and the most buffers the scans may touch.  A walk over the finished
# rows looks at tens of thousands and touches thousands of pages.  (A
# claim's UPDATE touches more: each row it leases gets a new version in
# every index.  That is the same for each row whatever the table holds,
# and is not counted.)
my ($ROWS_MAX, $BUF_MAX) = (150, 200);

# scan_buffers($plan, $rel) - the buffers the scans of rel touched.
sub scan_buffers {
	my ($plan, $rel) = @_;
	my $buf = 0;
	for (nodes($plan)) {
		my ($n) = @$_;
		next unless ($n->{'Relation Name'} // '') eq $rel
		    && $n->{'Node Type'} ne 'ModifyTable';
		$buf += ($n->{'Shared Hit Blocks'} // 0)
		    + ($n->{'Shared Read Blocks'} // 0);
	}
	return $buf;
}

# check($label, $name, \@params, %want) - in both plan modes: the scans
# of table (default the recordings) read only the indexes in
# want{indexes} (none: the table is not read at all; its primary key
# always may be), no sequential scan, each looks at no more than
# ROWS_MAX rows, together they touch no more than BUF_MAX buffers, and
# want{rows} rows come out when given.
sub check {
	my ($label, $name, $params, %want) = @_;
	my $rel = $want{table} // $TABLE;
	for my $mode (qw(kept values)) {
		my $plan = plan_of($name, $params, $mode);
		diag(JSON::PP->new->canonical->pretty->encode($plan))
		    if ($ENV{PLANS} // '') eq $label;
		my (@bad, %used);
		for (nodes($plan)) {
			my ($n) = @$_;
			next unless ($n->{'Relation Name'} // '') eq $rel;
			my $how = $n->{'Node Type'};
			next if $how eq 'ModifyTable';
			my $ix = $n->{'Index Name'};
			my $seen = ($n->{'Actual Rows'} // 0)
			    * ($n->{'Actual Loops'} // 1)
			    + ($n->{'Rows Removed by Filter'} // 0)
			    + ($n->{'Rows Removed by Index Recheck'} // 0);
			push @bad, "$how on $rel" if $how eq 'Seq Scan';
			push @bad, "$how looks at $seen rows" if $seen > $ROWS_MAX;
			if ($how eq 'Bitmap Heap Scan') {
				$used{$_->[0]{'Index Name'}} = 1 for grep {
				    $_->[0]{'Node Type'} eq 'Bitmap Index Scan'
				    } nodes($n);
			} elsif (defined $ix) {
				$used{$ix} = 1;
			}
		}
		my %ok = map { $_ => 1 } @{ $want{indexes} // [] };
		push @bad, "reads $_" for grep { !$ok{$_} && $_ ne "${rel}_pkey" }
		    sort keys %used;
		push @bad, 'reads none of ' . join(', ', sort keys %ok)
		    if %ok && !grep { $ok{$_} } keys %used;
		my $buf = scan_buffers($plan, $rel);
		push @bad, "touches $buf buffers" if $buf > $BUF_MAX;
		# The plan made once shows $1 where a plan made for the
		# values shows the company itself.
		push @bad, 'planned again for the values'
		    if $mode eq 'kept' && $name =~ /^rec_(list|count)_/
		    && JSON::PP->new->canonical->encode($plan) =~ /\Q$params->[0]\E/;
		push @bad, "answers $plan->{'Actual Rows'} rows, not $want{rows}"
		    if defined $want{rows} && $plan->{'Actual Rows'} != $want{rows};
		ok(!@bad, "$label ($mode): " . (@bad ? join('; ', @bad)
		    : join(', ', sort keys %used) || "no $rel scan")
		    . ", $buf buffers");
	}
}

my $owner = 'plans:1';

# ---------------------------------------------------------------------
# The reaper's claims: a batch of 10 (5 for the smaller sets), each from
# the index of its own rows.

check('claim upload', 'rp_claim_upload', [ $owner, 60, 0, 10 ],
    indexes => [ 'pm_meeting_recordings_uploads',
	'pm_meeting_recordings_unfinished', 'pm_meeting_recordings_due' ],
    rows => 5);
check('claim stale', 'rp_claim_stale', [ $owner, 60, 300, 10 ],
    indexes => [ map { "pm_meeting_recordings_$_" }
	qw(unfinished due one_active) ], rows => 5);
check('claim expired', 'rp_claim_expired', [ $owner, 60, 0, 10, undef ],
    indexes => [ 'pm_meeting_recordings_expiring_free' ], rows => 10);
check('claim purge', 'rp_claim_purge', [ $owner, 60, 30 * 86400, 10,
    undef ], indexes => [ 'pm_meeting_recordings_trash_free' ], rows => 10);

# ---------------------------------------------------------------------
# Lists: a page of 10 and its total.  (A room filter reads the room's
# index: the company has 2,000 rooms.)

my @page = (undef, undef, 10, 0);
check('list mine', 'rec_list_mine', [ $co, undef, undef, @page, $u ],
    indexes => [ 'pm_meeting_recordings_mine' ], rows => 10);
check('list mine, completed', 'rec_list_mine_status',
    [ $co, undef, 'completed', @page, $u ],
    indexes => [ 'pm_meeting_recordings_mine' ], rows => 10);
check('list mine, a room', 'rec_list_mine_room',
    [ $co, 'room-r', undef, @page, $u ],
    indexes => [ 'pm_meeting_recordings_room_live' ], rows => 10);
check('list company', 'rec_list_company', [ $co, undef, undef, @page ],
    indexes => [ 'pm_meeting_recordings_live' ], rows => 10);
check('list company, completed', 'rec_list_company_status',
    [ $co, undef, 'completed', @page ],
    indexes => [ 'pm_meeting_recordings_live' ], rows => 10);
check('list company, a room', 'rec_list_company_room',
    [ $co, 'room-r', undef, @page ],
    indexes => [ 'pm_meeting_recordings_room_live' ], rows => 10);
check('list shared', 'rec_list_shared', [ $co, undef, undef, @page, $v ],
    indexes => [ 'pm_meeting_recordings_viewers',
	'pm_meeting_recordings_public' ], rows => 10);
check('list shared, completed', 'rec_list_shared_status',
    [ $co, undef, 'completed', @page, $v ],
    indexes => [ 'pm_meeting_recordings_viewers',
	'pm_meeting_recordings_public' ], rows => 10);
# A company whose recordings are mostly public: the page reads the
# newest of them, not all 15,000.
check('list shared, 15,000 public', 'rec_list_shared',
    [ $other, undef, undef, @page, $x ],
    indexes => [ 'pm_meeting_recordings_viewers',
	'pm_meeting_recordings_public' ], rows => 10);
# Past the last page: the total alone.
check('count mine', 'rec_count_mine', [ $co, undef, undef, $u ], rows => 1);
check('count mine, completed', 'rec_count_mine_status',
    [ $co, undef, 'completed', $u ], rows => 1);
check('count company', 'rec_count_company', [ $co, undef, undef ],
    rows => 1);
check('count company, a room', 'rec_count_company_room',
    [ $co, 'room-r', undef ],
    indexes => [ 'pm_meeting_recordings_room_live' ], rows => 1);
check('count shared', 'rec_count_shared', [ $co, undef, undef, $v ],
    indexes => [ 'pm_meeting_recordings_viewers',
	'pm_meeting_recordings_public' ], rows => 1);

# The totals are the counts of the rows.
my $tot = sub {
	my ($name, @p) = @_;
	my $args = join ', ', map { lit($_) } @p;
	return sql("PREPARE s AS $stmt{$name}{sql}; EXECUTE s($args)")
	    =~ s/\|.*//sr;
};
is($tot->('rec_count_mine', $co, undef, undef, $u), 60000,
    'mine: 60000 in all');
is($tot->('rec_count_company', $co, undef, undef),
    sql("SELECT count(*) FROM $T WHERE company_id = '$co' "
    . "AND deleted_at IS NULL"), 'company: as counted');
is($tot->('rec_count_company_room', $co, 'room-r', undef), 40,
    'a room: 40');
is($tot->('rec_count_shared', $co, undef, undef, $v), 50,
    'shared: 30 given and 20 public');
is($tot->('rec_count_shared', $other, undef, undef, $x), 15000,
    'shared, 15,000 public: as kept');

# ---------------------------------------------------------------------
# What else answers requests.

my ($one) = sql("SELECT id FROM $T WHERE recorded_by = '$u' LIMIT 1");
check('status', 'rec_status', [ $one ],
    indexes => [ 'pm_meeting_recordings_pkey' ], rows => 1);
check('metrics', 'metrics_recordings', [], rows =>
    sql("SELECT count(DISTINCT (status, trashed)) "
    . "FROM $P.meetrec_company_counts"));
my @company = map { "pm_meeting_recordings_$_" } qw(company live);
check('admin list', 'adm_list', [ $co, undef, undef, undef, undef, undef,
    'exclude', undef, undef, 10 ], indexes => \@company, rows => 10);
check('admin list, completed', 'adm_list', [ $co, 'completed', undef,
    undef, undef, undef, 'exclude', undef, undef, 10 ],
    indexes => \@company, rows => 10);
check('admin list, the trash too', 'adm_list', [ $co, undef, undef,
    undef, undef, undef, 'include', undef, undef, 10 ],
    indexes => \@company, rows => 10);
check('admin list, a week', 'adm_list', [ $co, undef, undef, undef,
    '2026-01-01', '2026-01-08', 'include', undef, undef, 10 ],
    indexes => \@company);
check('admin count', 'adm_count_kept', [ $co, undef, 'include' ],
    rows => 1);
check('admin stats', 'adm_stats', [ $co ],
    indexes => [ map { "pm_meeting_recordings_$_" }
	qw(uploads upload_failed unfinished due) ], rows => 1);
check('access log', 'rec_access_log', [ $one, undef, undef, 10 ],
    table => 'pm_recording_access_logs',
    indexes => [ 'pm_recording_access_logs_page' ], rows => 3);
check('access log count', 'rec_access_log_count', [ $one ],
    table => 'pm_recording_access_logs',
    indexes => [ 'pm_recording_access_logs_page' ], rows => 1);
# GET /api/events: 30 events among the company's 180,000 views, read
# from the events' own index (its list of actions is the statement's).
sql("SET session_replication_role = replica; "
    . "INSERT INTO $P.pm_recording_access_logs (recording_id, action, "
    . "company_id, seq, prev_hash, row_hash) SELECT '$one', CASE WHEN "
    . "i % 2 = 0 THEN 'transcribe' ELSE 'complete' END, '$co', "
    . "(SELECT max(seq) FROM $P.pm_recording_access_logs WHERE "
    . "company_id = '$co') + i, repeat('0', 64), repeat('0', 64) "
    . "FROM generate_series(1, 30) AS i; "
    . "UPDATE $P.pm_audit_heads SET seq = seq + 30 "
    . "WHERE company_id = '$co'; "
    . "VACUUM ANALYZE $P.pm_recording_access_logs");
check('events', 'hk_events', [ $co, 0, 10 ],
    table => 'pm_recording_access_logs',
    indexes => [ 'pm_recording_access_logs_event_rows' ], rows => 10);

# ---------------------------------------------------------------------
# Search of what was said: company $other's 30,000 recordings have four
# segments each with the word searched for, $co's 40 (in 40 of $u's)
# and 2,000 without.  A search in $co reads $co's 40 matches, never
# $other's 120,000.

my $TR = "$P.pm_recording_transcripts";
my $SEG = "$P.pm_transcript_segments";
sql(<<"EOF2");
SET session_replication_role = replica;
CREATE TEMP TABLE said AS
SELECT id, company_id, row_number() OVER (PARTITION BY company_id
    ORDER BY id) AS n FROM $T
WHERE company_id = '$other'
   OR (recorded_by = '$u' AND deleted_at IS NULL);
DELETE FROM said WHERE company_id = '$co' AND n > 2040;
INSERT INTO $TR (recording_id, company_id, status, ts_config, segments,
    done_at)
SELECT id, company_id, 'done', 'english', 4, now() FROM said;
INSERT INTO $SEG (recording_id, seq, company_id, start_ms, end_ms, text,
    ts_config)
SELECT id, k, company_id, k * 5000, k * 5000 + 4000,
    CASE WHEN company_id = '$other' OR n <= 40
	THEN 'We went over the budget for the coming quarter ' || n
	ELSE 'Nothing of note was said here ' || n END, 'english'
FROM said, generate_series(0, CASE WHEN company_id = '$other' THEN 3
    ELSE 0 END) AS k;
RESET session_replication_role;
EOF2
sql("VACUUM ANALYZE $TR; VACUUM ANALYZE $SEG");
is(sql("SELECT count(*) FROM $SEG WHERE tsv @@ 'budget'"), 120040,
    'segments to search: 120,040 with the word');
for my $who ([ 'the owner', $u, 0 ], [ 'an admin', $w, 1 ]) {
	my ($label, $user, $admin) = @$who;
	check("search, as $label", 'tr_search',
	    [ $co, $user, $admin, 'budgets', 'en', 21, 0 ],
	    table => 'pm_transcript_segments',
	    indexes => [ 'pm_transcript_segments_tsv' ], rows => 21);
	check("search, as $label: the recordings", 'tr_search',
	    [ $co, $user, $admin, 'budgets', 'en', 21, 0 ], rows => 21);
}
check('search, words that find nothing by themselves', 'tr_search',
    [ $co, $u, 1, '-budget', 'en', 21, 0 ],
    table => 'pm_transcript_segments',
    indexes => [ 'pm_transcript_segments_tsv' ], rows => 0);
{
	# The word alone, with the company as a filter, reads them all.
	my $out = sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count(*) "
	    . "FROM $SEG WHERE tsv @@ 'budget' AND company_id = '$co'");
	my $buf = scan_buffers(JSON::PP::decode_json($out)->[0]{Plan},
	    'pm_transcript_segments');
	cmp_ok($buf, '>', $BUF_MAX, "the word alone touches $buf buffers: "
	    . 'the bound tells the two apart');
}

# ---------------------------------------------------------------------
# An expire pass under way: 20,000 rows expired and trashed since the
# last vacuum, the oldest of the table.  Their entries are still in the
# expiry index; a claim that goes on from where the last batch ended
# does not walk them.

sql("ALTER TABLE $T SET (autovacuum_enabled = false)");
sql("INSERT INTO $T (room_code, meeting_id, company_id, recorded_by, "
    . "status, expires_at, created_at) SELECT 'room-big', '$room', '$co', "
    . "'$w', 'completed', now() - interval '1000 days' + i * interval "
    . "'1 ms', "
    . "now() - interval '2 days' FROM generate_series(1, 20010) AS i");
sql("VACUUM ANALYZE $T");
my $last = sql("WITH d AS (UPDATE $T SET deleted_at = now(), "
    . "trash_reason = 'expired' WHERE id IN (SELECT id FROM $T "
    . "WHERE recorded_by = '$w' AND deleted_at IS NULL "
    . "ORDER BY expires_at LIMIT 20000) RETURNING expires_at) "
    . "SELECT max(expires_at)::text FROM d");
check('claim expired, going on', 'rp_claim_expired',
    [ $owner, 60, 0, 10, $last ],
    indexes => [ 'pm_meeting_recordings_expiring_free' ], rows => 10);
{
	# From the start instead, it passes the 20,000 it has done.
	my $plan = plan_of('rp_claim_expired', [ $owner, 60, 0, 10, undef ],
	    'values');
	my $buf = scan_buffers($plan, $TABLE);
	diag(JSON::PP->new->pretty->canonical->encode($plan)) if $ENV{PLANS};
	cmp_ok($buf, '>', $BUF_MAX, "from the start it touches $buf buffers: "
	    . 'the bound tells the two apart');
}

$s->finish;
done_testing();
