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

# company_recordings($c) - the ids of company $c's recordings (the
# recordings of users u with 1 + (u - 1) % 10 == c).
sub company_recordings {
	my ($c) = @_;
	my @ids;
	for (my $i = $c; $i <= $USERS * $PER_USER; $i += $COMPANIES) {
		push @ids, uuid_of("rec$i");
	}
	return @ids;
}

# user_recordings($u) - the ids of user $u's recordings.
sub user_recordings {
	my ($u) = @_;
	my @ids;
	for (my $i = $u; $i <= $USERS * $PER_USER; $i += $USERS) {
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

# meetrec($pg) - load the data into meetrec's (migrated, empty of
# benchmark rows) database.  Returns { recordings, rooms, room_column }.
sub meetrec {
	my ($pg) = @_;
	my $rc = _columns($pg, 'pm_meeting_recordings');
	my $rooms = _columns($pg, 'pm_meeting_rooms');
	my $room_col = exists $rc->{meeting_id} ? 'meeting_id'
	    : exists $rc->{room_id} ? 'room_id' : undef;
	my $n = $USERS * $PER_USER;

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
		storage_path => "CASE WHEN s = 'completed' THEN '/Recordings/"
		    . "room-' || lpad(r::text, 4, '0') || '/recording_' || i "
		    . "|| '.mp4' END",
		file_name => "CASE WHEN s = 'completed' "
		    . "THEN md5('rec' || i)::uuid || '.mp4' END",
		file_size_bytes => "CASE WHEN s = 'completed' "
		    . "THEN 1000000 + (i * 7919) % 900000000 END",
		duration_seconds => "CASE WHEN s = 'completed' THEN dur END",
		duration_ms => "CASE WHEN s = 'completed' THEN dur * 1000 "
		    . "+ i % 1000 END",
		started_at => 't',
		ended_at => "CASE WHEN s IN ('completed', 'failed', "
		    . "'processing') THEN t + interval '30 minutes' END",
		created_at => 't',
		updated_at => 't',
		expires_at => "t + interval '365 days'",
		($room_col ? ($room_col => "CASE WHEN live THEN "
		    . "md5('liveroom' || i)::uuid ELSE md5('room' || r)::uuid "
		    . "END") : ()),
	);
	my $gen = <<"EOF";
FROM (
	SELECT i, u, c, s, t, s IN ('pending', 'recording') AS live,
	       c + $COMPANIES * ((i / $COMPANIES) % 100) AS r,
	       60 + (i::bigint * 104729) % 7200 AS dur
	FROM (
		SELECT i, 1 + (i - 1) % $USERS AS u,
		       1 + ((i - 1) % $USERS) % $COMPANIES AS c,
		       CASE WHEN i % 100 < 95 THEN 'completed'
			    WHEN i % 100 < 97 THEN 'failed'
			    WHEN i % 100 = 97 THEN 'processing'
			    WHEN i % 100 = 98 THEN 'recording'
			    ELSE 'pending' END AS s,
		       now() - i * interval '5 minutes' AS t
		FROM generate_series(1, $n) AS i
	) AS a
) AS g
EOF
	my $sql = <<"EOF";
BEGIN;
INSERT INTO project_management.pm_meeting_rooms
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
COMMIT;
EOF
	$pg->psql($sql, timeout => 600);
	$pg->psql('VACUUM ANALYZE', timeout => 600);
	my $got = $pg->psql('SELECT count(*) FROM '
	    . 'project_management.pm_meeting_recordings WHERE recorded_by = '
	    . "md5('user1')::uuid");
	croak "Data: user 1 has $got recordings, not $PER_USER"
	    unless $got == $PER_USER;
	return { recordings => $n, room_column => $room_col // 'none',
	    duration_ms => exists $rc->{duration_ms} ? 1 : 0 };
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
