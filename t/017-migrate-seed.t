#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# sql/008 on a database that has lived under 001..007: the seed's
# meeting_id, NOT NULL with its foreign key and index, takes over from
# room_id without losing a recording or its room (a NULL room_id is
# found by room code, a room deleted from under its recordings comes
# back, not active); duration_seconds becomes whole seconds (4.5 -> 5,
# 4.021 -> 4) with the precise value in duration_ms; the seed's flags
# and idx_access_logs_user appear.  Both runs are the real
# "meetrec-admin migrate": first over a folder with 001..007 only, then
# with every migration.
use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use File::Temp ();
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid src_root slurp);

Meetrec::Test::Stack::require_prereqs(qw(pg binaries));
# The migrations the first run sees; the second sees them all.
my $sqldir = File::Temp::tempdir('meetrec-sql-XXXXXX', TMPDIR => 1,
    CLEANUP => 1);
my $s = Meetrec::Test::Stack->new(no_migrate => 1, no_pool => 1,
    no_nginx => 1, no_standin => 1, env => { MEETREC_SQLDIR => $sqldir });
my $P = 'project_management';
my $T = "$P.pm_meeting_recordings";
sub sql { return $s->pg->psql($_[0]) }

# 1. The schema of 001..007, as a database that has not had 008 has it.
my @all = sort glob(src_root() . '/sql/[0-9][0-9][0-9]_*.sql');
for my $f (grep { m{/00[1-7]_[^/]*\z} } @all) {
	copy($f, $sqldir) or die "copy $f: $!";
}
like($s->admin('migrate'), qr/applied 007_damaged_files\.sql\z/,
    'migrate with 001..007 only');
is(sql("SELECT string_agg(version, ',' ORDER BY version) FROM "
    . "$P.meetrec_migrations"), '001,002,003,004,005,006,007', 'at 007');
is(sql("SELECT data_type FROM information_schema.columns WHERE "
    . "table_schema = '$P' AND table_name = 'pm_meeting_recordings' AND "
    . "column_name = 'duration_seconds'"), 'double precision',
    'duration_seconds is a double there');

# 2. Recordings as meetrec wrote them before 008.
my ($co, $co2, $host, $first, $later) = map { uuid() } 1 .. 5;
sub room {
	my ($code, $name, $company) = @_;
	return sql("INSERT INTO $P.pm_meeting_rooms (room_code, name, "
	    . "created_by, company_id) VALUES ('$code', '$name', '$host', "
	    . "'$company') RETURNING id");
}
sub rec {
	my (%c) = @_;
	my %row = (company_id => $co, recorded_by => $host,
	    status => 'completed', %c);
	my @k = sort keys %row;
	return sql("INSERT INTO $T (" . join(', ', @k) . ') VALUES ('
	    . join(', ', map { defined $row{$_} ? "'$row{$_}'" : 'NULL' } @k)
	    . ') RETURNING id');
}
my $alpha = room('alpha', 'Alpha', $co);
my $beta = room('beta', 'Beta', $co);
my $dangling = uuid();		# a room deleted from under its recordings
my %id = (
	# room_id set, as every start since 001 writes it
	linked => rec(room_code => 'alpha', room_id => $alpha,
	    duration_seconds => 4.5),
	# room_id NULL, a room of its code exists
	by_code => rec(room_code => 'beta', room_id => undef,
	    duration_seconds => 4.021),
	# room_id names a deleted room, a room of its code exists
	moved => rec(room_code => 'alpha', room_id => uuid(),
	    duration_seconds => 0.4999),
	# no room of the code at all: one without room_id, the first
	# recorded; one that kept the deleted room's id, in the trash
	lost => rec(room_code => 'gone', room_id => undef,
	    recorded_by => $first, created_at => '2026-01-01T10:00:00Z',
	    duration_seconds => undef),
	lost_kept => rec(room_code => 'gone', room_id => $dangling,
	    recorded_by => $later, created_at => '2026-01-02T10:00:00Z',
	    deleted_at => '2026-02-01T00:00:00Z', status => 'failed',
	    duration_seconds => 'NaN'),
	# another company's, no room either
	lost2 => rec(room_code => 'gone2', room_id => undef,
	    company_id => $co2, recorded_by => $later,
	    duration_seconds => 3725),
);
my $count = sql("SELECT count(*) FROM $T");
is($count, 6, 'six recordings before 008');
sql("INSERT INTO $P.pm_recording_access_logs (recording_id, user_id, "
    . "action) VALUES ('$id{linked}', '$host', 'view')");

# 3. The real migrate, with every migration there is.
for my $f (@all) {
	copy($f, $sqldir) or die "copy $f: $!";
}
my $r = $s->admin_run('migrate');
is($r->{rc}, 0, 'migrate succeeds') or diag($r->{err});
like($r->{out}, qr/^applied 008_seed_compat\.sql$/m, 'it applies 008');
is(sql("SELECT count(*) FROM $P.meetrec_migrations WHERE version = '008'"),
    1, 'recorded as applied');

# Nothing lost.
is(sql("SELECT count(*) FROM $T"), $count, 'no recording lost');
is(sql("SELECT count(*) FROM $T WHERE id IN ("
    . join(', ', map { "'$_'" } values %id) . ')'), 6, 'every one of them');
is(sql("SELECT count(*) FROM $T WHERE meeting_id IS NULL"), 0,
    'every recording has a meeting_id');

# Each in the right room.
sub meeting_of { return sql("SELECT meeting_id FROM $T WHERE id = '$_[0]'") }
is(meeting_of($id{linked}), $alpha, 'room_id kept as meeting_id');
is(meeting_of($id{by_code}), $beta, 'a NULL room_id found by room code');
is(meeting_of($id{moved}), $alpha,
    "a deleted room's id: the room of its code now");
my $gone = sql("SELECT id || '|' || name || '|' || status || '|' || "
    . "company_id || '|' || created_by FROM $P.pm_meeting_rooms WHERE "
    . "room_code = 'gone'");
is($gone, "$dangling|gone (deleted room)|inactive|$co|$first",
    'a room with no row at all comes back: under the id its recordings '
    . 'kept, named so, not active, of their company, by the first recorder');
is(meeting_of($id{lost}), $dangling, 'the recording without room_id is in it');
is(meeting_of($id{lost_kept}), $dangling, 'and the one that kept the id');
like(sql("SELECT id || '|' || status || '|' || company_id FROM "
    . "$P.pm_meeting_rooms WHERE room_code = 'gone2'"),
    qr/^[0-9a-f-]{36}\|inactive\|\Q$co2\E$/,
    "another company's lost room: a new id, its company");
is(meeting_of($id{lost2}), sql("SELECT id FROM $P.pm_meeting_rooms WHERE "
    . "room_code = 'gone2'"), 'its recording is in it');
is(sql("SELECT deleted_at IS NOT NULL FROM $T WHERE id = '$id{lost_kept}'"),
    't', 'the trashed one is still in the trash');
like(slurp($s->pg->log_path), qr/WARNING:  meetrec 008: 2 room\(s\) recreated, inactive, for recordings whose room was deleted: gone, gone2/,
    "PostgreSQL's log names the rooms that came back");

# Durations: whole seconds, half away from zero; milliseconds beside.
sub dur { return sql("SELECT coalesce(duration_seconds::text, 'null') || "
    . "'/' || coalesce(duration_ms::text, 'null') FROM $T WHERE "
    . "id = '$_[0]'") }
is(dur($id{linked}), '5/4500', '4.5 s: 5 s, 4500 ms');
is(dur($id{by_code}), '4/4021', '4.021 s: 4 s, 4021 ms');
is(dur($id{moved}), '0/500', '0.4999 s: 0 s, 500 ms');
is(dur($id{lost2}), '3725/3725000', '3725 s stays 3725 s');
is(dur($id{lost}), 'null/null', 'unknown stays unknown');
is(dur($id{lost_kept}), 'null/null', 'NaN (no duration) becomes unknown');

# The schema, from the catalogue.
sub column {
	my ($col, $table) = @_;
	return sql("SELECT data_type || '|' || is_nullable || '|' || "
	    . "coalesce(column_default, '') FROM information_schema.columns "
	    . "WHERE table_schema = '$P' AND table_name = '"
	    . ($table // 'pm_meeting_recordings') . "' AND column_name = "
	    . "'$col'");
}
is(column('meeting_id'), 'uuid|NO|', 'meeting_id uuid NOT NULL');
is(column('room_id'), '', 'room_id is gone');
is(column('duration_seconds'), 'integer|YES|', 'duration_seconds integer');
is(column('duration_ms'), 'bigint|YES|', 'duration_ms bigint');
is(column('is_encrypted'), 'boolean|NO|false',
    'is_encrypted boolean NOT NULL DEFAULT false');
is(column('watermark_applied'), 'boolean|NO|false',
    'watermark_applied boolean NOT NULL DEFAULT false');
is(sql("SELECT count(*) FROM $T WHERE is_encrypted OR watermark_applied"), 0,
    'both false on every recording');
is(sql("SELECT c.conname || '|' || c.confrelid::regclass || '|' || "
    . "(SELECT string_agg(a.attname, ',') FROM pg_attribute a WHERE "
    . "a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) || '|' || "
    . "(SELECT string_agg(a.attname, ',') FROM pg_attribute a WHERE "
    . "a.attrelid = c.confrelid AND a.attnum = ANY (c.confkey)) "
    . "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = "
    . "'$T'::regclass AND c.confrelid = '$P.pm_meeting_rooms'::regclass"),
    "pm_meeting_recordings_meeting_id_fkey|$P.pm_meeting_rooms|meeting_id|id",
    "the seed's foreign key: meeting_id REFERENCES pm_meeting_rooms (id)");
for my $ix (['idx_recordings_meeting', 'pm_meeting_recordings', 'meeting_id'],
    ['idx_access_logs_user', 'pm_recording_access_logs', 'user_id']) {
	my ($name, $table, $col) = @$ix;
	like(sql("SELECT tablename || '|' || indexdef FROM pg_indexes WHERE "
	    . "schemaname = '$P' AND indexname = '$name'"),
	    qr/^\Q$table\E\|CREATE INDEX \Q$name\E ON \Q$P.$table\E USING btree \(\Q$col\E\)$/,
	    "the seed's $name on $table ($col), in the schema");
}

# What the constraint now refuses.
$r = $s->pg->psql("INSERT INTO $T (room_code, company_id, recorded_by) "
    . "VALUES ('beta', '$co', '$host')", allow_fail => 1);
like($r->{err}, qr/null value in column "meeting_id"/,
    'a recording without a room is refused');
$r = $s->pg->psql("DELETE FROM $P.pm_meeting_rooms WHERE room_code = "
    . "'beta'", allow_fail => 1);
like($r->{err}, qr/violates foreign key constraint "pm_meeting_recordings_meeting_id_fkey"/,
    'a room with recordings cannot be deleted');

# The programs read the new columns: meetrec-admin shows the moved
# recordings with their room and both durations.
my $j = Meetrec::Test::Util::json_decode($s->admin('recordings', 'show',
    $id{by_code}, '--json'));
is($j->{meeting_name}, 'Beta', 'meetrec-admin: the room by meeting_id');
is($j->{duration_seconds}, 4, 'duration_seconds 4');
is($j->{duration_ms}, 4021, 'duration_ms 4021');
$j = Meetrec::Test::Util::json_decode($s->admin('recordings', 'show',
    $id{lost}, '--json'));
is($j->{meeting_name}, 'gone (deleted room)', 'the room that came back');

# Applied once: a second run does nothing.
$r = $s->admin_run('migrate');
is("$r->{rc} $r->{out}", '0 ', 'a second migrate applies nothing');

$s->finish;
done_testing();
