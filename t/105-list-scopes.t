#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# GET /api/recordings over many rows of several users and two companies:
# each scope (mine, shared, company) with and without the room and
# status filters lists exactly the rows SQL finds, newest first (ties by
# id), page by page through the keyset cursor and by offset, with the
# total of the whole list on every page.  What a list item says of a
# recording is what GET /api/recordings/{id} says, timestamps written as
# PostgreSQL's to_char wrote them (microseconds, the end of 9999 and
# before 1970 included); the status endpoint agrees with both, and keeps
# its access rules.
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;
my $T = 'project_management';
sub sql { return $s->pg->psql($_[0]) }

my ($co, $other) = (uuid(), uuid());
my ($me, $peer, $third, $adm) = map { uuid() } 1 .. 4;
my %tok = (
	me => $s->token(user => $me, company => $co, username => 'me'),
	peer => $s->token(user => $peer, company => $co, username => 'peer'),
	adm => $s->token(user => $adm, company => $co, username => 'adm',
	    role => 'admin'),
	# The same user in another company sees none of this one's rows.
	me_other => $s->token(user => $me, company => $other,
	    username => 'me'),
);
for my $i (0 .. 4) {
	$s->room(code => "r$i", name => "Room $i", host => $peer,
	    company => $co);
}

# Rows, newest first as g grows, microseconds in every timestamp.  $me:
# 130, of which rows 45 to 56 share one created_at (ties across the
# first page's end) and every 26th is in the trash.  $peer: 90, some
# listing $me as a viewer, some public, some of those in the trash.
# $third: 40, a few public.  In the other company, 20 rows of the same
# $me, some public.  Every row points at its room (meeting_id).
sub rows {
	my ($n, $company, $user, %c) = @_;
	my $public = $c{public} // 'false';
	my $viewers = $c{viewers} // "'{}'::uuid[]";
	my $trash = $c{trash} // 'false';
	my $t = $c{t} // "timestamptz '2026-11-30 12:00:00.654321+00' - "
	    . 'make_interval(secs => g * 3607.000013)';
	sql(<<"SQL");
INSERT INTO $T.pm_meeting_recordings (room_code, meeting_id, company_id,
    egress_id,
    egress_status, status, recorded_by, recorded_by_name, layout,
    file_name, storage_type, storage_path, file_size_bytes,
    duration_seconds, is_public, allowed_viewers, started_at, ended_at,
    expires_at, deleted_at, created_at, updated_at, last_error)
SELECT 'r' || (g % 5), (SELECT id FROM $T.pm_meeting_rooms
    WHERE room_code = 'r' || (g % 5)), '$company', 'EG_' || left('$company', 8) || '_$user' || g,
    CASE WHEN g % 3 = 0 THEN 'EGRESS_FAILED' ELSE 'EGRESS_COMPLETE' END,
    CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'completed' END,
    '$user', 'User ' || g, 'grid', '/spool/' || g || '.mp4', 'local',
    'r/' || g || '.mp4', 1000 + g, CASE WHEN g % 7 <> 0 THEN 60 + g END,
    $public, $viewers, t + interval '1.5 s', t + interval '1 h 0.000001 s',
    t + interval '365 days', CASE WHEN $trash THEN t + interval '2 h' END,
    t, t + interval '3 h 0.1 s',
    CASE WHEN g % 3 = 0 THEN 'egress failed' END
FROM generate_series(1, $n) g, LATERAL (SELECT $t AS t) x
SQL
}
rows(130, $co, $me, trash => 'g % 26 = 0', t => 'CASE WHEN g BETWEEN 45 '
    . "AND 56 THEN timestamptz '2026-09-01 00:00:00.000007+00' ELSE "
    . "timestamptz '2026-11-30 12:00:00.654321+00' - make_interval(secs "
    . '=> g * 3607.000013) END');
rows(90, $co, $peer, viewers => "CASE WHEN g % 9 = 0 THEN ARRAY['$me', "
    . "'$third']::uuid[] ELSE '{}' END", public => 'g % 13 = 1',
    trash => 'g % 27 = 0');
rows(40, $co, $third, public => 'g % 10 = 5');
rows(20, $other, $me, public => 'g % 4 = 0');
# Edges of the calendar: the end of 9999 (RFC 3339 has no later year),
# before 1970, to the microsecond.
my $edge_egress = 'EG_' . substr($co, 0, 8) . "_${me}2";
sql("UPDATE $T.pm_meeting_recordings SET expires_at = "
    . "'9999-12-31 23:59:59.999999+00', started_at = "
    . "'1969-12-31 23:59:59.999999+00' WHERE recorded_by = '$me' AND "
    . "company_id = '$co' AND egress_id = '$edge_egress'");
sql("VACUUM ANALYZE $T.pm_meeting_recordings");

my %scope = (
	mine => "recorded_by = '$me'",
	shared => "recorded_by <> '$me' AND ('$me' = ANY (allowed_viewers) "
	    . 'OR is_public)',
	company => 'true',
);
sub expected {
	my ($scope, $room, $status) = @_;
	my $w = "company_id = '$co' AND deleted_at IS NULL AND $scope{$scope}";
	$w .= " AND room_code = '$room'" if defined $room;
	$w .= " AND status = '$status'" if defined $status;
	return [ split /\n/, sql("SELECT id FROM $T.pm_meeting_recordings "
	    . "WHERE $w ORDER BY created_at DESC, id DESC") ];
}
sub list {
	my ($who, $q) = @_;
	my $r = $s->api(GET => "/api/recordings/?$q", token => $tok{$who});
	is($r->{status}, 200, "$who ?$q answers") or diag($r->{body});
	return $r->{json} // {};
}
sub ids { return [ map { $_->{id} } @{ $_[0]{recordings} // [] } ] }

for my $case ([ 'mine', 'me' ], [ 'shared', 'me' ], [ 'company', 'adm' ]) {
	my ($sc, $who) = @$case;
	for my $f ([], [ 'r2' ], [ undef, 'failed' ], [ 'r1', 'completed' ],
	    [ 'r0' ]) {
		my ($room, $status) = @$f;
		my $want = expected($sc, $room, $status);
		my $q = "scope=$sc" . (defined $room ? "&room_code=$room" : '')
		    . (defined $status ? "&status=$status" : '');
		my $n = @$want;
		ok($n > 0, "$q: SQL finds $n rows");

		# Through the cursor, 50 a page.
		my (@got, $cursor, $pages);
		do {
			my $j = list($who, "$q&limit=50"
			    . ($cursor ? "&cursor=$cursor" : ''));
			push @got, @{ ids($j) };
			is($j->{total}, $n, "$q: page total is the list's");
			$cursor = $j->{next_cursor};
			$pages++;
		} while ($cursor && $pages < 10);
		# A last page that is exactly full gives a cursor to an
		# empty one.
		is_deeply(\@got, $want, "$q: the cursor walk lists them all, "
		    . 'in order');

		# By offset.
		my $j = list($who, "$q&limit=7&offset=3");
		is_deeply(ids($j), [ @$want[3 .. ($n < 10 ? $n : 10) - 1] ],
		    "$q: offset 3, limit 7");
		is($j->{total}, $n, "$q: total with an offset");
		$j = list($who, "$q&offset=" . ($n + 5));
		is_deeply(ids($j), [], "$q: past the end, nothing");
		is($j->{total}, $n, "$q: and still the total");
		$j = list($who, "$q&limit=200");
		is($j->{total}, $n, "$q: one page of all, its own count");
		is($j->{next_cursor}, undef, "$q: no cursor when not full")
		    if $n < 200;
	}
}

# scope=mine is the default; the other company sees its own rows only.
is_deeply(ids(list('me', 'limit=200')), expected('mine'),
    'no scope is mine');
my $j = list('me_other', 'limit=200');
is($j->{total}, 20, "the same user in the other company: its 20");
ok(!(grep { my $id = $_; grep { $_ eq $id } @{ expected('company') } }
    @{ ids($j) }), 'none of them from this company');
is($s->api(GET => '/api/recordings/?scope=company',
    token => $tok{me})->{status}, 403, 'scope=company needs an admin');

# What a list says of each recording is what GET says, and the times
# are to_char's to the byte.
my %char;
for (split /\n/, sql("SELECT id, " . join(', ', map {
    "coalesce(to_char($_ AT TIME ZONE 'UTC', "
    . "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '-')" }
    qw(started_at ended_at expires_at created_at updated_at))
    . " FROM $T.pm_meeting_recordings")) {
	my ($id, @t) = split /\|/;
	$char{$id} = \@t;
}
my $same = 0;
for my $case ([ 'mine', 'me' ], [ 'shared', 'me' ], [ 'company', 'adm' ]) {
	my ($sc, $who) = @$case;
	my $items = list($who, "scope=$sc&limit=200")->{recordings} // [];
	my ($times, $asked) = (0, 0);
	for my $it (@$items) {
		my @t = map { $_ // '-' } @$it{qw(started_at ended_at expires_at
		    created_at updated_at)};
		$times++ if join(' ', @t) eq join(' ', @{ $char{$it->{id}} });
		next if $asked++ >= 15;
		my $g = $s->api(GET => "/api/recordings/$it->{id}",
		    token => $tok{$who})->{json};
		# A signed link's expiry and signature follow the clock.
		my %norm = map { my $v = $_->{download_url};
		    $v =~ s/\b(expires|sig)=[^&]*/$1=/g if defined $v;
		    ($_ => $v) } $g, $it;
		my @diff = grep { !exists $g->{$_} || ($_ eq 'download_url' ?
		    ($norm{$g} // "\0") ne ($norm{$it} // "\0") :
		    ($g->{$_} // "\0") ne ($it->{$_} // "\0")) } keys %$it;
		$same++ unless @diff;
		diag("$sc $it->{id} differs in @diff") if @diff;
	}
	is($times, scalar @$items, "$sc: every timestamp as to_char wrote "
	    . 'it');
}
is($same, 45, 'fifteen items of each scope are what GET says');
my ($edge) = grep { ($_->{egress_id} // '') eq $edge_egress }
    @{ list('me', 'limit=200')->{recordings} };
is($edge->{expires_at}, '9999-12-31T23:59:59.999999Z', 'the last of 9999');
is($edge->{started_at}, '1969-12-31T23:59:59.999999Z', 'a time before 1970');
ok(!exists $edge->{deleted_at} && !exists $edge->{allowed_viewers},
    'a list item has no fields RecordingInfo does not');

# The status endpoint: what GET says, and only to whom GET answers.
my $pub = sql("SELECT id FROM $T.pm_meeting_recordings WHERE recorded_by "
    . "= '$peer' AND is_public AND deleted_at IS NULL LIMIT 1");
my $listed = sql("SELECT id FROM $T.pm_meeting_recordings WHERE "
    . "recorded_by = '$peer' AND NOT is_public AND '$me' = ANY "
    . '(allowed_viewers) AND deleted_at IS NULL LIMIT 1');
my $private = sql("SELECT id FROM $T.pm_meeting_recordings WHERE "
    . "recorded_by = '$third' AND NOT is_public LIMIT 1");
my $theirs_pub = sql("SELECT id FROM $T.pm_meeting_recordings WHERE "
    . "company_id = '$other' AND is_public LIMIT 1");
my $trashed = sql("SELECT id FROM $T.pm_meeting_recordings WHERE "
    . "recorded_by = '$me' AND deleted_at IS NOT NULL LIMIT 1");
my @mine = @{ expected('mine') }[0 .. 2];
my $nodur = sql("SELECT id FROM $T.pm_meeting_recordings WHERE "
    . "recorded_by = '$me' AND company_id = '$co' AND duration_seconds "
    . 'IS NULL AND deleted_at IS NULL LIMIT 1');
for my $c ((map { [ 'me', $_, 'own' ] } @mine, $nodur),
    [ 'me', $pub, 'public in the company' ],
    [ 'me', $listed, 'listed as a viewer' ],
    [ 'adm', $private, "an admin, another's private one" ]) {
	my ($who, $id, $what) = @$c;
	my $st = $s->api(GET => "/api/recordings/$id/status",
	    token => $tok{$who});
	my $g = $s->api(GET => "/api/recordings/$id", token => $tok{$who});
	is($st->{status}, 200, "status: $what");
	my @diff = grep { ($st->{json}{$_} // "\0") ne
	    ($_ eq 'recording_id' ? $g->{json}{id} : $g->{json}{$_} // "\0") }
	    keys %{ $st->{json} // {} };
	is("@diff", '', "status: $what, the fields GET has");
}
for my $c ([ 'me', $private, 403, 'private of another user' ],
    [ 'me', $theirs_pub, 404, "public in another company" ],
    [ 'me', $trashed, 404, 'in the trash' ],
    [ 'me_other', $mine[0], 404, 'the same user from the other company' ],
    [ 'peer', $mine[0], 403, 'a user of the company, not a viewer' ]) {
	my ($who, $id, $code, $what) = @$c;
	is($s->api(GET => "/api/recordings/$id/status",
	    token => $tok{$who})->{status}, $code, "status: $what: $code");
}

# Past 10,000.  A room's list is counted, up to 10,000: then its total is
# 10,000 and not exact, and its pages go on.  The company's is kept with
# the rows, exact at any size, as is its count by status.
$s->room(code => 'big', name => 'Big', host => $third, company => $co);
sql("INSERT INTO $T.pm_meeting_recordings (room_code, meeting_id, "
    . "company_id, recorded_by, status, created_at) SELECT 'big', (SELECT "
    . "id FROM $T.pm_meeting_rooms WHERE room_code = 'big'), '$co', "
    . "'$third', CASE WHEN g % 2 = 0 THEN 'completed' ELSE 'failed' END, "
    . "timestamptz '2025-01-01 00:00:00+00' + g * interval '1 s' "
    . 'FROM generate_series(1, 10005) g');
my $all = sql("SELECT count(*) FROM $T.pm_meeting_recordings WHERE "
    . "company_id = '$co' AND deleted_at IS NULL");
$j = list('adm', 'scope=company&room_code=big&limit=200');
is($j->{total}, 10000, 'a room of 10,005: total 10,000');
ok(JSON::PP::is_bool($j->{total_exact}) && !$j->{total_exact},
    '... with total_exact false');
is(scalar @{ ids($j) }, 200, '... and a full page');
ok($j->{next_cursor}, '... and a next page');
$j = list('adm', "scope=company&room_code=big&limit=200&offset=9900");
is(scalar @{ ids($j) }, 105, 'the last page past the bound has the last '
    . '105 rows');
is($j->{total}, 10000, '... and says at least 10,000');
$j = list('adm', 'scope=company&limit=1');
is($j->{total}, $all, "the company's $all: exact");
ok(JSON::PP::is_bool($j->{total_exact}) && $j->{total_exact},
    '... with total_exact true');
is(list('adm', 'scope=company&status=failed&limit=1')->{total},
    sql("SELECT count(*) FROM $T.pm_meeting_recordings WHERE "
    . "company_id = '$co' AND deleted_at IS NULL AND status = 'failed'"),
    'failed ones of the company: exact');
ok(list('me', 'scope=mine&limit=1')->{total_exact},
    'mine, exact (total_exact true)');

$s->finish;
done_testing();
