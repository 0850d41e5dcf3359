# SPDX-License-Identifier: ISC
#
# Meetrec::Bench::Data - the data bench/http.pl measures on, the same
# shape in meetrec's database and in the seed's: the shape of the seed
# baseline's sql/30-data.sql.
#
#	my $d = Meetrec::Bench::Data::meetrec($s->pg);	# fills meetrec's
#	Meetrec::Bench::Data::seed($s->pg, 'seed', "$base/seed-fastapi/sql");
#	my @ids = Meetrec::Bench::Data::company_recordings(1);
#
# 1,000 users in 10 companies, 100 recordings each: 100,000 recordings,
# 10,000 a company, created over the last ~347 days; 95% completed, 2%
# failed, 1% each processing, recording and pending.  The ids are the
# seed's: recording i is md5('rec'||i)::uuid, user u md5('user'||u),
# company c md5('company'||c), so one list of ids and one user serve
# every system.
#
# bench/volume.pl loads the same shape at other sizes, with options to
# meetrec() (none of them changes what bench/http.pl gets by default):
#
#	Meetrec::Bench::Data::meetrec($pg, per_user => 1000, due => 10,
#	    audit => 10, audit_page => 1000, bulk => 1);
#
# per_user: recordings a user (1,000 users always, so 1,000 x per_user
# in all), created over the same ~347 days whatever the size.
# due => N: one recording in N of each user's (the k-th, recording i = u
# + 1,000 k, with k % N = N / 2) is completed, stored in local storage
# under due_prefix/<id>.mp4 (a file that does not exist) and past its
# expires_at, by an hour to a year: the expire pass's backlog.
# audit => N: an access-log row for one recording in N of each user's
# (the k-th with (k + i) % N = 0: a slot that moves from user to user,
# so with due => 10 and audit => 10 a tenth of them are due ones);
# audit_page => M: M rows more on recording 1 (user 1's newest), so that
# its access-log page is a real page.
# bulk => 1: the INSERTs skip triggers (session_replication_role =
# replica; the caller must be a superuser) and go in without the indexes
# no constraint needs (built again after them, in the same transaction),
# then
# project_management.meetrec_recount() rebuilds what the triggers keep,
# when the schema has that function.
#
# meetrec's schema differs from the seed's: a room's company, one active
# recording a room (a partial unique index: each pending or recording
# one gets a room of its own), and a room column on the recording that
# is room_id (nullable) before the rename and meeting_id (NOT NULL, a
# foreign key to pm_meeting_rooms) after it, with duration_ms beside an
# integer duration_seconds.  The loader asks information_schema which it
# has; every recording points at a real room either way.

package Meetrec::Bench::Data;

use strict;
use warnings;

use Carp qw(croak);
use Digest::MD5 qw(md5_hex);
use Time::HiRes ();

our $USERS = 1000;
our $COMPANIES = 10;
our $PER_USER = 100;

# uuid_of($text) - md5($text)::uuid, as PostgreSQL casts it.
sub uuid_of {
	my $h = md5_hex($_[0]);
	return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4),
	    substr($h, 16, 4), substr($h, 20, 12);
}

sub user { return uuid_of("user$_[0]") }
sub company { return uuid_of("company$_[0]") }

# recording($i) - the id of recording $i (1 .. users x per_user).
sub recording { return uuid_of("rec$_[0]") }

# company_recordings($c[, $per_user]) - the ids of company $c's
# recordings (the recordings of users u with 1 + (u - 1) % 10 == c).
sub company_recordings {
	my ($c, $per_user) = @_;
	my @ids;
	my $n = $USERS * ($per_user // $PER_USER);
	for (my $i = $c; $i <= $n; $i += $COMPANIES) {
		push @ids, uuid_of("rec$i");
	}
	return @ids;
}

# user_recordings($u[, $per_user]) - the ids of user $u's recordings.
sub user_recordings {
	my ($u, $per_user) = @_;
	my @ids;
	my $n = $USERS * ($per_user // $PER_USER);
	for (my $i = $u; $i <= $n; $i += $USERS) {
		push @ids, uuid_of("rec$i");
	}
	return @ids;
}

# The columns of a table: name => { nullable, default }.
sub _columns {
	my ($pg, $table) = @_;
	my %c;
	for (split /\n/, $pg->psql("SELECT column_name || '|' || is_nullable "
	    . "|| '|' || (column_default IS NOT NULL) "
	    . "FROM information_schema.columns "
	    . "WHERE table_schema = 'project_management' "
	    . "AND table_name = '$table'")) {
		my ($n, $null, $def) = split /\|/;
		$c{$n} = { nullable => $null eq 'YES', default => $def =~ /^t/ ? 1 : 0 };
	}
	croak "Data: project_management.$table not found" unless %c;
	return \%c;
}

# Refuse to load when a NOT NULL column without a default is one the
# loader does not fill: a schema change it does not know yet.
sub _check_filled {
	my ($cols, $table, @filled) = @_;
	my %f = map { $_ => 1 } @filled;
	my @left = sort grep { !$cols->{$_}{nullable} && !$cols->{$_}{default}
	    && !$f{$_} } keys %$cols;
	croak "Data: $table has NOT NULL column(s) the benchmark's loader "
	    . "does not fill: @left (bench/lib/Meetrec/Bench/Data.pm)" if @left;
}

# meetrec($pg, %o) - load the data into meetrec's (migrated, empty of
# benchmark rows) database.  %o (see the top; all optional): per_user,
# due, due_prefix, audit, audit_page, bulk, timeout (seconds a statement
# may take, 600).  Returns { recordings, rooms, room_column, due, audit,
# load_s, recount (1 when meetrec_recount() ran), recount_s, vacuum_s }.
sub meetrec {
	my ($pg, %o) = @_;
	my $per_user = $o{per_user} // $PER_USER;
	my $due = $o{due} // 0;
	my $prefix = $o{due_prefix} // 'bench-due';
	my $audit = $o{audit} // 0;
	my $page = $o{audit_page} // 0;
	my $timeout = $o{timeout} // 600;
	croak "Data: per_user must be a whole number >= 1"
	    unless $per_user =~ /^\d+$/ && $per_user >= 1;
	croak "Data: due, audit and audit_page are whole numbers"
	    unless "$due $audit $page" =~ /^\d+ \d+ \d+$/;
	croak "Data: due_prefix '$prefix' is not a safe storage key"
	    unless $prefix =~ m{^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*$};
	my $rc = _columns($pg, 'pm_meeting_recordings');
	my $rooms = _columns($pg, 'pm_meeting_rooms');
	my $room_col = exists $rc->{meeting_id} ? 'meeting_id'
	    : exists $rc->{room_id} ? 'room_id' : undef;
	my $n = $USERS * $per_user;
	# The same ~347 days at every size: 5 minutes apart at 100 a user.
	my $step = $per_user == $PER_USER ? "interval '5 minutes'"
	    : sprintf("interval '%s seconds'", 0 + sprintf('%.6f',
	    300 * $PER_USER / $per_user));
	# Due: the user's k-th recording (i = u + 1000 k) with k % due =
	# due / 2, so every user has the same share of the backlog.
	my $due_cond = $due ? "((i - 1) / $USERS) % $due = "
	    . int($due / 2) : undef;

	# Room r (1..1000) belongs to company 1 + (r - 1) % 10, its host is
	# user r (of the same company).  A recording gets a room of its
	# company; a pending or recording one a room of its own.
	my @room_cols = qw(id room_code name created_by company_id status);
	_check_filled($rooms, 'pm_meeting_rooms', @room_cols);
	my @cols = (qw(id room_code company_id egress_id status recorded_by
	    recorded_by_name storage_type storage_path file_name
	    file_size_bytes duration_seconds started_at ended_at created_at
	    updated_at expires_at), $room_col // (),
	    exists $rc->{duration_ms} ? 'duration_ms' : ());
	_check_filled($rc, 'pm_meeting_recordings', @cols);
	my %expr = (
		id => "md5('rec' || i)::uuid",
		room_code => "CASE WHEN live THEN 'live-' || i "
		    . "ELSE 'room-' || lpad(r::text, 4, '0') END",
		company_id => "md5('company' || c)::uuid",
		egress_id => "CASE WHEN s <> 'pending' "
		    . "THEN 'EG_' || md5('eg' || i) END",
		status => 's',
		recorded_by => "md5('user' || u)::uuid",
		recorded_by_name => "'user' || u",
		storage_type => "CASE WHEN s = 'completed' THEN 'local' END",
		storage_path => "CASE "
		    . ($due ? "WHEN due THEN '$prefix/' || md5('rec' || i)::uuid "
			. "|| '.mp4' " : '')
		    . "WHEN s = 'completed' THEN '/Recordings/"
		    . "room-' || lpad(r::text, 4, '0') || '/recording_' || i "
		    . "|| '.mp4' END",
		file_name => "CASE WHEN s = 'completed' "
		    . "THEN md5('rec' || i)::uuid || '.mp4' END",
		# i * 7919 leaves integer past i = 271,000.
		file_size_bytes => "CASE WHEN s = 'completed' "
		    . "THEN 1000000 + (i${\ ($n * 7919 > 2**31 - 1 ? '::bigint' : '')} "
		    . "* 7919) % 900000000 END",
		duration_seconds => "CASE WHEN s = 'completed' THEN dur END",
		duration_ms => "CASE WHEN s = 'completed' THEN dur * 1000 "
		    . "+ i % 1000 END",
		started_at => 't',
		ended_at => "CASE WHEN s IN ('completed', 'failed', "
		    . "'processing') THEN t + interval '30 minutes' END",
		created_at => 't',
		updated_at => 't',
		# Due: an hour to a year ago, every row at its own second.
		expires_at => $due ? "CASE WHEN due THEN now() - interval "
		    . "'1 hour' - ((i::bigint * 7919) % 31536000) * interval "
		    . "'1 second' ELSE t + interval '365 days' END"
		    : "t + interval '365 days'",
		($room_col ? ($room_col => "CASE WHEN live THEN "
		    . "md5('liveroom' || i)::uuid ELSE md5('room' || r)::uuid "
		    . "END") : ()),
	);
	# The due rows' parts of the generator (nothing without them).
	my $due_col = $due ? 'due, ' : '';
	my $due_when = $due ? "WHEN $due_cond THEN 'completed'\n\t\t\t    "
	    : '';
	my $due_as = $due ? "$due_cond AS due,\n\t\t       " : '';
	my $gen = <<"EOF";
FROM (
	SELECT i, u, c, s, t, ${due_col}s IN ('pending', 'recording') AS live,
	       c + $COMPANIES * ((i / $COMPANIES) % 100) AS r,
	       60 + (i::bigint * 104729) % 7200 AS dur
	FROM (
		SELECT i, 1 + (i - 1) % $USERS AS u,
		       1 + ((i - 1) % $USERS) % $COMPANIES AS c,
		       CASE ${due_when}WHEN i % 100 < 95 THEN 'completed'
			    WHEN i % 100 < 97 THEN 'failed'
			    WHEN i % 100 = 97 THEN 'processing'
			    WHEN i % 100 = 98 THEN 'recording'
			    ELSE 'pending' END AS s,
		       ${due_as}now() - i * $step AS t
		FROM generate_series(1, $n) AS i
	) AS a
) AS g
EOF
	my $logs = '';
	if ($audit || $page) {
		my @acols = qw(recording_id user_id user_email action ip_address
		    user_agent accessed_at);
		# The audit chain (meetrec's 011): a bulk load skips the
		# trigger that chains each row, so the rows get their company
		# and a place in its chain (seq, unique in the whole load; the
		# hashes are zeros, which audit verify would refuse), and the
		# heads are set to where each chain ends.
		my $lc = _columns($pg, 'pm_recording_access_logs');
		my $chain = $o{bulk} && exists $lc->{seq};
		push @acols, qw(company_id seq prev_hash row_hash) if $chain;
		_check_filled($lc, 'pm_recording_access_logs', @acols);
		my $into = 'INSERT INTO project_management.pm_recording_access_logs'
		    . "\n\t(" . join(', ', @acols) . ")\n";
		my $zero = "repeat('0', 64), repeat('0', 64)";
		my $ac = $chain ? ",\n       md5('company' || (1 + (u - 1) % "
		    . "$COMPANIES))::uuid, i, $zero" : '';
		my $pc = $chain ? ",\n       md5('company1')::uuid, $n + j, $zero"
		    : '';
		# One row for one recording in audit of each user's (the k-th,
		# i = u + 1000 k, with (k + i) % audit = 0: its slot moves
		# from user to user, so some are due ones), by its owner, soon
		# after it was made.
		$logs .= <<"EOF" if $audit;
${into}SELECT md5('rec' || i)::uuid, md5('user' || u)::uuid,
       'user' || u || '\@example.com',
       (ARRAY['view', 'download', 'share', 'access'])[1 + (i / $audit) % 4],
       '10.0.' || (i % 250) || '.' || (1 + u % 250), 'meetrec-bench',
       t + interval '10 minutes'$ac
FROM (SELECT i, 1 + (i - 1) % $USERS AS u, now() - i * $step AS t
      FROM generate_series(1, $n) AS i
      WHERE ((i - 1) / $USERS + i) % $audit = 0) AS a;
EOF
		# Recording 1's page: views by users of its company.
		$logs .= <<"EOF" if $page;
${into}SELECT md5('rec1')::uuid, md5('user' || v)::uuid,
       'user' || v || '\@example.com', 'view',
       '10.1.' || (j % 250) || '.1', 'meetrec-bench',
       now() - j * interval '1 minute'$pc
FROM (SELECT j, 1 + $COMPANIES * (j % 100) AS v
      FROM generate_series(1, $page) AS j) AS p;
EOF
		$logs .= <<"EOF" if $chain;
INSERT INTO project_management.pm_audit_heads (company_id, seq)
SELECT company_id, max(seq) FROM project_management.pm_recording_access_logs
GROUP BY company_id
ON CONFLICT (company_id) DO UPDATE SET seq = excluded.seq;
EOF
	}
	my $bulk = $o{bulk} ? "SET LOCAL session_replication_role = replica;\n"
	    : '';
	# A bulk load also drops the indexes no constraint needs and builds
	# them again after the rows are in, in the same transaction: one
	# sort an index, not ten million insertions into each.
	my ($drop, $build) = ('', '');
	if ($o{bulk}) {
		for (split /\n/, $pg->psql("SELECT i.indexname || '|' || "
		    . 'i.indexdef FROM pg_indexes i WHERE i.schemaname = '
		    . "'project_management' AND i.tablename IN "
		    . "('pm_meeting_recordings', 'pm_recording_access_logs') "
		    . 'AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE '
		    . 'c.conname = i.indexname)')) {
			my ($name, $def) = split /\|/, $_, 2;
			$drop .= "DROP INDEX project_management.$name;\n";
			$build .= "$def;\n";
		}
		$bulk .= "SET LOCAL maintenance_work_mem = '256MB';\n$drop";
	}
	my $sql = <<"EOF";
BEGIN;
${bulk}INSERT INTO project_management.pm_meeting_rooms
	(id, room_code, name, created_by, company_id, status)
SELECT md5('room' || r)::uuid, 'room-' || lpad(r::text, 4, '0'),
       'Meeting room ' || r, md5('user' || r)::uuid,
       md5('company' || (1 + (r - 1) % $COMPANIES))::uuid, 'active'
FROM generate_series(1, $USERS) AS r;
INSERT INTO project_management.pm_meeting_rooms
	(id, room_code, name, created_by, company_id, status)
SELECT md5('liveroom' || i)::uuid, 'live-' || i, 'Live room ' || i,
       md5('user' || u)::uuid, md5('company' || c)::uuid, 'active'
$gen
WHERE live;
INSERT INTO project_management.pm_meeting_recordings (${\ join ', ', @cols})
SELECT ${\ join ",\n       ", map { $expr{$_} } @cols}
$gen;
${logs}${build}COMMIT;
EOF
	my %ret = (recordings => $n, room_column => $room_col // 'none',
	    duration_ms => exists $rc->{duration_ms} ? 1 : 0, recount => 0);
	my $t0 = Time::HiRes::time();
	$pg->psql($sql, timeout => $timeout);
	$ret{load_s} = Time::HiRes::time() - $t0;
	# What the skipped triggers would have kept: rebuilt in one go.
	if ($o{bulk} && $pg->psql('SELECT count(*) FROM pg_proc p JOIN '
	    . 'pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = '
	    . "'project_management' AND p.proname = 'meetrec_recount'") > 0) {
		$t0 = Time::HiRes::time();
		$pg->psql('SELECT project_management.meetrec_recount()',
		    timeout => $timeout);
		$ret{recount_s} = Time::HiRes::time() - $t0;
		$ret{recount} = 1;
	}
	$t0 = Time::HiRes::time();
	$pg->psql('VACUUM ANALYZE', timeout => $timeout);
	$ret{vacuum_s} = Time::HiRes::time() - $t0;
	my $got = $pg->psql('SELECT count(*) FROM '
	    . 'project_management.pm_meeting_recordings WHERE recorded_by = '
	    . "md5('user1')::uuid");
	croak "Data: user 1 has $got recordings, not $per_user"
	    unless $got == $per_user;
	if ($due) {
		$ret{due} = $pg->psql('SELECT count(*) FROM '
		    . 'project_management.pm_meeting_recordings WHERE '
		    . "storage_path LIKE '$prefix/%' AND expires_at < now()");
	}
	if ($audit || $page) {
		$ret{audit} = $pg->psql('SELECT count(*) FROM '
		    . 'project_management.pm_recording_access_logs');
	}
	return \%ret;
}

# seed($pg, $db, $sqldir) - create database $db in the cluster and load
# the seed's SQL files as its README says: 00-rooms.sql, then 10-* and
# 20-* with search_path = project_management, public, then 30-data.sql.
sub seed {
	my ($pg, $db, $dir) = @_;
	$pg->psql("CREATE DATABASE $db", db => 'postgres');
	opendir my $dh, $dir or croak "Data: $dir: $!";
	my @files = sort grep { /^\d\d-.*\.sql$/ } readdir $dh;
	closedir $dh;
	croak "Data: no NN-*.sql files in $dir" unless @files;
	for my $f (@files) {
		open my $fh, '<', "$dir/$f" or croak "Data: $dir/$f: $!";
		my $text = do { local $/; <$fh> };
		close $fh;
		$pg->psql("SET search_path = project_management, public;\n$text",
		    db => $db, timeout => 600);
	}
	my $got = $pg->psql('SELECT count(*) FROM '
	    . 'project_management.pm_meeting_recordings WHERE recorded_by = '
	    . "md5('user1')::uuid", db => $db);
	croak "Data: the seed's user 1 has $got recordings, not $PER_USER"
	    unless $got == $PER_USER;
	return { files => \@files };
}

1;
