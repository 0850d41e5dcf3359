#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# PgBouncer in transaction mode in front of PostgreSQL (Debian's
# pgbouncer, with one server connection for every client, so the
# transactions of the pool's workers and the reapers take turns on it):
# with database_prepared_statements = 0 the whole flow works through it,
# the pool and the reapers alike; the watching reaper hears of uploads on
# database_listen_url, a direct connection, and polls without it;
# check-config --connect tells a pooler from PostgreSQL itself and says
# which setting is missing; and a pool left with prepared statements
# meets the pooler and goes on with unnamed statements instead of failing.
use strict;
use warnings;
use Test::More;
use Digest::SHA;
use Time::HiRes qw(sleep);
use Meetrec::Test::Stack;
use Meetrec::Test::PgBouncer;
use Meetrec::Test::Proc qw(run_cmd wait_for);
use Meetrec::Test::Util qw(uuid slurp);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::Stack::skip_unless(Meetrec::Test::PgBouncer::binary()
    ? () : 'PgBouncer (Debian package pgbouncer) not found');
my $s = Meetrec::Test::Stack->new(pgbouncer => 1, workers => 3,
    conf => { database_prepared_statements => 0 });
my $pg = $s->pg;
my $pb = $s->pgbouncer;
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $spool = $s->config->{spool_dir};

sub status {
	my ($id) = @_;
	return $pg->psql('SELECT status FROM '
	    . "project_management.pm_meeting_recordings WHERE id = '$id'");
}

my $n = 0;
sub record {
	my $code = 'pb' . ++$n;
	$s->room(code => $code, name => "Pooled $n", host => $host,
	    company => $co);
	my $r = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code });
	is($r->{status}, 201, "start $code through PgBouncer")
	    or diag($r->{body});
	my $id = $r->{json}{recording_id};
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	sleep 1.2;
	$r = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($r->{status}, 202, "stop $code");
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	return $id;
}

sub wait_status {
	my ($id, $want) = @_;
	return eval { wait_for(sub { status($id) eq $want }, 60,
	    "recording $id to be $want"); 1 };
}

# The migrations ran through PgBouncer when the stack came up.
like($pg->psql('SELECT count(*) FROM project_management.'
    . 'meetrec_migrations'), qr/^[1-9]\d*$/,
    'meetrec-admin migrate ran through PgBouncer');

# 1. No database_listen_url: the watching reaper polls.
my $id1 = record();
is(status($id1), 'processing', 'the webhook went through PgBouncer');
my $w = $s->start_reaper(name => 'reaper-poll');
$s->wait_log('reaper-poll', qr/polling for uploads every \d+ s/);
ok(wait_status($id1, 'completed'), 'the polling reaper completed it');
my $id2 = record();
ok(wait_status($id2, 'completed'),
    'and a recording stopped while it polls, too');
$w->stop(sig => 'TERM', timeout => 30);
is($w->exit_code, 0, 'the polling reaper exits 0');
$s->forget_reaper($w);

# Transactions of several clients took turns on one server connection:
# the condition under which named prepared statements break.
my $clients = grep { $_->{database} eq $pg->dbname }
    @{ $pb->show('CLIENTS') };
my $servers = grep { $_->{database} eq $pg->dbname }
    @{ $pb->show('SERVERS') };
cmp_ok($clients, '>=', 3, "PgBouncer serves $clients clients of meetrec");
cmp_ok($servers, '<=', 1, "on $servers server connection");

# 2. The recordings flow through it: list, details, download, share,
# delete.
my $r = $s->api(GET => '/api/recordings', token => $tok);
is($r->{status}, 200, 'list');
is(scalar(grep { $_->{id} eq $id1 || $_->{id} eq $id2 }
    @{ $r->{json}{recordings} // $r->{json}{items} // [] }), 2,
    'it lists both') or diag($r->{body});
$r = $s->api(GET => "/api/recordings/$id1", token => $tok);
is($r->{status}, 200, 'details');
is($r->{json}{status}, 'completed', '... completed');
my $sha = $pg->psql('SELECT checksum_sha256 FROM project_management.'
    . "pm_meeting_recordings WHERE id = '$id1'");
$r = $s->api(GET => "/api/recordings/$id1/download", token => $tok);
is($r->{status}, 200, 'download');
is(Digest::SHA::sha256_hex($r->{body}), $sha,
    '... the bytes stored, by their SHA-256');
$r = $s->api(POST => "/api/recordings/$id1/shares", token => $tok,
    json => {});
is($r->{status}, 201, 'share') or diag($r->{body});
$r = $s->api(DELETE => "/api/recordings/$id2", token => $tok);
is($r->{status}, 200, 'delete') or diag($r->{body});
my $audit = $pg->psql('SELECT count(*) FROM project_management.'
    . "pm_recording_access_logs WHERE recording_id = '$id1'");
cmp_ok($audit, '>=', 2, "the views, download and share are audited "
    . "($audit rows)");

# 3. The other passes, once, through PgBouncer.
$r = $s->reaper;
is($r->{rc}, 0, 'reaper --once: every pass through PgBouncer')
    or diag($r->{err});
unlike($r->{err}, qr/prepared statement|postgres: 26000|42P05/,
    '... with no prepared statement in sight');

# 4. database_listen_url: a direct connection hears the NOTIFY.
$s->reconfigure(database_listen_url => $pg->conninfo);
$w = $s->start_reaper(name => 'reaper-listen');
$s->wait_log('reaper-listen', qr/listening for uploads on database_listen_url/);
$s->wait_log('reaper-listen', qr/pass=orphans done/, 30);
my $id3 = record();
ok(wait_status($id3, 'completed'), 'the listening reaper completed it');
my $log = $s->log('reaper-listen');
my ($after) = $log =~ /pass=orphans done[^\n]*\n(.*)\z/s;
like($after // '', qr/woken by a notification.*?pass=upload rec=\Q$id3\E action=uploaded/s,
    'it was woken by the NOTIFY, and uploaded at once');
unlike($after // '', qr/pass=stale/, '... not by a later sweep');
$w->stop(sig => 'TERM', timeout => 30);
is($w->exit_code, 0, 'the listening reaper exits 0');
$s->forget_reaper($w);

# 4b. A database_listen_url that does not answer: the reaper says so
# and polls, and the upload does not wait for the next full sweep.
$s->reconfigure(database_listen_url => 'host=' . $s->dir
    . '/no-such-socket dbname=meetrec user=meetrec');
$w = $s->start_reaper(name => 'reaper-deaf');
$s->wait_log('reaper-deaf', qr/could not listen for uploads/);
$s->wait_log('reaper-deaf', qr/pass=orphans done/, 30);
my $id5 = record();
ok(wait_status($id5, 'completed'), 'the deaf reaper completed it too');
$log = $s->log('reaper-deaf');
($after) = $log =~ /pass=orphans done[^\n]*\n(.*)\z/s;
like($after // '', qr/not listening: the upload pass, polled.*?pass=upload rec=\Q$id5\E action=uploaded/s,
    'by polling');
unlike($after // '', qr/pass=stale/, '... not by a later sweep');
$w->stop(sig => 'TERM', timeout => 30);
is($w->exit_code, 0, 'the deaf reaper exits 0');
$s->forget_reaper($w);
$s->reconfigure(database_listen_url => $pg->conninfo);

# 5. check-config --connect.
sub check_with {
	my (%kv) = @_;
	my $c = Meetrec::Test::Stack::parse_conf($s->conf_path);
	for my $k (keys %kv) {
		if (defined $kv{$k}) { $c->{$k} = $kv{$k} } else { delete $c->{$k} }
	}
	my $path = $s->dir . '/check.conf';
	open(my $fh, '>', $path) or die "$path: $!";
	chmod 0600, $path;
	print {$fh} map { "$_ = $c->{$_}\n" } sort keys %$c;
	close $fh;
	return run_cmd([ Meetrec::Test::Stack::admin_bin(), '--config', $path,
	    'check-config', '--connect' ], timeout => 60);
}
$r = check_with();
is($r->{rc}, 0, 'check-config --connect passes as configured')
    or diag("$r->{out}$r->{err}");
like("$r->{out}$r->{err}", qr/through a pooler in transaction mode, and database_prepared_statements = 0/,
    '... and says it found the pooler');
$r = check_with(database_prepared_statements => 1);
isnt($r->{rc}, 0, 'with prepared statements it fails');
like("$r->{out}$r->{err}", qr/database_prepared_statements.*set database_prepared_statements = 0/s,
    '... naming the setting') or diag("$r->{out}$r->{err}");
$r = check_with(database_listen_url => undef);
like("$r->{out}$r->{err}", qr/database_listen_url.*polls for uploads/s,
    'without database_listen_url it warns that the reaper polls');
$r = check_with(database_listen_url => $pb->conninfo);
isnt($r->{rc}, 0, 'a database_listen_url through PgBouncer fails');
like("$r->{out}$r->{err}", qr/database_listen_url.*drops what a LISTEN hears/s,
    '... saying why');
$r = check_with(database_url => $pg->conninfo,
    database_prepared_statements => 1, database_listen_url => undef);
is($r->{rc}, 0, 'PostgreSQL itself passes') or diag("$r->{out}$r->{err}");
# What it says, without the listing of the settings.
my $said = join "\n", grep { !/^\w+ =/ } split /\n/, "$r->{out}$r->{err}";
unlike($said, qr/pooler|database_listen_url/,
    '... and is not taken for a pooler');

# 6. Left with prepared statements, the pool meets the pooler: the one
# server connection already holds statements of the names meetrec uses
# (prepared here through PgBouncer, as another client's would be), so its
# first PREPARE is refused; it goes on with unnamed statements.
my $st = run_cmd([ Meetrec::Test::Util::build_root() . '/t/unit/sql-stmts' ]);
my @names = map { Meetrec::Test::Util::json_decode($_)->{name} }
    split /\n/, $st->{out};
ok(@names > 20, scalar(@names) . ' statement names');
# PREPARE outside a transaction block: each is a transaction of its own,
# and the server connection keeps what it prepared after psql is gone.
my $prep = join '', map { "PREPARE $_ AS SELECT 1;\n" } @names;
$r = run_cmd([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
    '-h', $pb->dir, '-p', 6432, '-U', $Meetrec::Test::Pg::ROLE,
    '-d', $pg->dbname ], stdin => $prep, timeout => 60);
is($r->{rc}, 0, 'the names are taken on the one server connection')
    or diag($r->{err});
$r = run_cmd([ 'psql', '-X', '-A', '-t', '-h', $pb->dir, '-p', 6432,
    '-U', $Meetrec::Test::Pg::ROLE, '-d', $pg->dbname, '-c',
    'SELECT count(*) FROM pg_prepared_statements' ], timeout => 60);
cmp_ok($r->{out} =~ s/\s+//gr, '>=', scalar @names,
    '... where the next client of PgBouncer finds them');
$s->reconfigure(database_prepared_statements => 1);
$s->reload_pool;
# Every worker meets it.
my @codes;
for (1 .. 12) {
	push @codes, $s->api(GET => '/api/recordings', token => $tok)->{status};
}
is_deeply(\@codes, [ (200) x 12 ], 'every request answered 200')
    or diag("@codes");
like($s->log('pool'), qr/through a pooler in transaction mode; this connection sends unnamed statements/,
    'the pool says it met a pooler, and what to set');
my $id4 = record();
$r = $s->reaper;
is($r->{rc}, 0, 'a reaper with prepared statements completes too')
    or diag($r->{err});
is(status($id4), 'completed', '... the recording');

$s->finish;
done_testing();
