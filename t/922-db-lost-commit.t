#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A database connection that dies after the server committed a statement
# and before its answer came back: the statement must not be applied a
# second time by a blind re-send after reconnecting (src/db.c).  The
# programs reach PostgreSQL through Meetrec::Test::PgProxy, which drops
# the connection right after the commit of a chosen statement.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
# One worker: every request uses the same connection.
my $s = Meetrec::Test::Stack->new(workers => 1, pg_proxy => 1);
my $px = $s->pgproxy;
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'lost', host => $host, company => $co);

sub sql { return $s->pg->psql($_[0]) }
sub api { my ($m, $p, %a) = @_; return $s->api($m => $p, token => $tok, %a) }

my $r = api(POST => '/recordings/start', json => { room_code => 'lost' });
is($r->{status}, 201, 'a recording starts through the proxy')
    or diag($r->{body});
my $id = $r->{json}{recording_id};
$s->standin_idle;
sleep 1.1;
is(api(POST => "/recordings/$id/stop")->{status}, 202, 'and stops');
$s->standin_idle;

# 1. rp_done, an UPDATE made idempotent by its WHERE clause: sent again
# after the lost answer, it must still say "done", so the reaper removes
# the spool file instead of thinking its lease was taken over.
my $spool = $s->config->{spool_dir} . "/$id.mp4";
ok(-s $spool, 'the egress wrote its file into the spool');
$px->arm(qr/^UPDATE 1$/);
my $rp = $s->reaper('--pass', 'upload');
is($rp->{rc}, 0, 'the upload pass ends well');
is($px->fired, 1, 'the proxy dropped the connection after the commit');
is(sql("SELECT status FROM project_management.pm_meeting_recordings "
    . "WHERE id = '$id'"), 'completed', 'the recording is completed');
ok(!-e $spool, 'and its spool file removed (the repeated completion '
    . 'was recognised)') or diag($rp->{err});
unlike($rp->{err}, qr/lease_lost/, 'no "lease lost" confusion');
like($rp->{err}, qr/connection lost/, 'the reaper saw the connection die');

# 2. An audit row (INSERT, MR_DB_ONCE): a view whose answer was lost
# after the commit is written once, not twice.
sub views {
	return sql("SELECT count(*) FROM project_management."
	    . "pm_recording_access_logs WHERE recording_id = '$id' "
	    . "AND action = 'view'");
}
is(views(), 0, 'no view yet');
$px->arm(qr/^INSERT 0 1$/);
$r = api(GET => "/recordings/$id");
is($px->fired, 2, 'the audit INSERT lost its answer after the commit');
ok($r->{status} == 200 || $r->{status} == 503,
    "the view answers 200 or 503 JSON ($r->{status})")
    and ok(defined $r->{json}, 'as JSON');
is(views(), 1, 'exactly one view row: the INSERT was not sent again');
like($s->log('pool'), qr/statement audit_once is not sent again/,
    'the pool says why it did not repeat it');
is(api(GET => "/recordings/$id")->{status}, 200,
    'the next request reconnects and works');
is(views(), 1, 'and is the same viewing: no second row');
my $admin = $s->token(user => uuid(), company => $co, username => 'boss',
    role => 'admin');
is($s->api(GET => "/api/recordings/$id", token => $admin)->{status}, 200,
    'another viewer');
is(views(), 2, '... is audited once');

# 3. A counted password try (share_try adds to failed_attempts).
$r = api(POST => "/recordings/$id/shares",
    json => { expires_in => 3600, password => 'right horse' });
is($r->{status}, 201, 'a share link with a password') or diag($r->{body});
my ($token, $share) = @{ $r->{json} }{qw(token share_id)};
$px->arm(qr/^UPDATE 1$/);
$r = $s->api(POST => "/r/$token", body => 'password=wrong',
    headers => { 'Content-Type' => 'application/x-www-form-urlencoded',
    Accept => 'application/json' });
is($px->fired, 3, 'the counted try lost its answer after the commit');
ok($r->{status} == 401 || $r->{status} == 503,
    "the try answers 401 or 503 ($r->{status})");
is(sql("SELECT failed_attempts FROM project_management."
    . "pm_recording_shares WHERE id = '$share'"), 1,
    'the try was counted once, not twice');

$s->finish;
done_testing();
