#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# meetrec-admin as an operator uses it: migrate (idempotent), check-config
# (secrets masked, clear refusals), token (only the token, and it works),
# room add and list, stats.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(uuid slurp spew);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;
my $admin = Meetrec::Test::Stack::admin_bin();
my $env = $s->_prog_env;

# migrate: the stack already migrated; again applies nothing.
my $r = $s->admin_run('migrate');
is($r->{rc}, 0, 'migrate again succeeds');
unlike($r->{out}, qr/applied/, 'and applies nothing');
my @files = map { m{/(\d{3})_[^/]+\.sql$} ? $1 : () }
    sort glob(Meetrec::Test::Util::src_root() . '/sql/*.sql');
is($s->pg->psql("SELECT string_agg(version, ',' ORDER BY version) FROM "
    . "project_management.meetrec_migrations"), join(',', @files),
    'each migration recorded once: ' . join(',', @files));
$r = $s->admin_run('migrate', '--dry-run');
is($r->{rc}, 0, 'migrate --dry-run succeeds');

# check-config: effective values, secrets masked.
$r = $s->admin_run('check-config');
is($r->{rc}, 0, 'check-config succeeds');
my $conf = $s->config;
like($r->{out}, qr/^jwt_secret = \*+$/m, 'jwt_secret masked');
like($r->{out}, qr/^livekit_api_secret = \*+$/m, 'livekit secret masked');
unlike($r->{out}, qr/\Q$conf->{jwt_secret}\E/, 'the JWT secret never shows');
unlike($r->{out}, qr/\Q$conf->{livekit_api_secret}\E/,
    'the LiveKit secret never shows');
like($r->{out}, qr/^livekit_api_key = \Q$conf->{livekit_api_key}\E$/m,
    'other values shown');
like($r->{out}, qr/^fcgi_workers = 2$/m, 'integers shown');

# Environment overrides win over the file.
$r = run_cmd([$admin, '--config', $s->conf_path, 'check-config'],
    env => { %$env, MEETREC_FCGI_WORKERS => 9 });
like($r->{out}, qr/^fcgi_workers = 9$/m, 'MEETREC_FCGI_WORKERS overrides');
$r = run_cmd([$admin, 'check-config'],
    env => { %$env, MEETREC_CONFIG => $s->conf_path });
is($r->{rc}, 0, 'MEETREC_CONFIG names the file');

# Refusals: a secret file others can read, a missing key, an unknown key.
my $text = slurp($s->conf_path);
my $d = $s->dir;
spew("$d/open.conf", $text);
chmod 0644, "$d/open.conf";
$r = run_cmd([$admin, '--config', "$d/open.conf", 'check-config'],
    env => $env);
is($r->{rc}, 2, 'a world-readable secret file is refused');
like($r->{err}, qr/group or others may read it.*chmod 600/,
    'saying why and what to do');
(my $missing = $text) =~ s/^livekit_url\s*=.*$//m;
spew("$d/missing.conf", $missing);
chmod 0600, "$d/missing.conf";
$r = run_cmd([$admin, '--config', "$d/missing.conf", 'check-config'],
    env => $env);
is($r->{rc}, 2, 'a missing required key is refused');
like($r->{err}, qr/'livekit_url' is not set.*MEETREC_LIVEKIT_URL/,
    'naming the key and its variable');
spew("$d/typo.conf", $text . "jwt_secrett = x\n");
chmod 0600, "$d/typo.conf";
$r = run_cmd([$admin, '--config', "$d/typo.conf", 'check-config'],
    env => $env);
like($r->{err}, qr/unknown key 'jwt_secrett'/, 'a typo is caught');

# token: one line, a JWT, that the API accepts with the claims given.
my ($co, $user) = (uuid(), uuid());
$r = $s->admin_run('token', '--user', $user, '--username', 'alice',
    '--company', $co, '--email', 'alice@example.com', '--role', 'admin',
    '--ttl', 600);
is($r->{rc}, 0, 'token succeeds');
like($r->{out}, qr/\A[\w-]+\.[\w-]+\.[\w-]+\n\z/,
    'token prints only the token');
chomp(my $tok = $r->{out});
my $api = $s->api(GET => '/api/recordings/?scope=company', token => $tok);
is($api->{status}, 200, 'the API accepts it, as an admin');
$r = $s->admin_run('token', '--user', 'nope', '--username', 'x',
    '--company', $co);
isnt($r->{rc}, 0, 'token with a bad user id fails');
$r = $s->admin_run('token', '--username', 'x');
is($r->{rc}, 2, 'token without --user is a usage error');
like($r->{err}, qr/usage/, 'and prints usage');

# room add / list.
my $host = uuid();
$r = $s->admin_run('room', 'add', '--code', 'weekly', '--name', 'Weekly',
    '--host', $host, '--company', $co);
is($r->{rc}, 0, 'room add succeeds');
like($r->{out}, qr/\A[0-9a-f-]{36}\n\z/, 'and prints the room id');
$r = $s->admin_run('room', 'add', '--code', 'weekly', '--name', 'Again',
    '--host', $host, '--company', $co);
is($r->{rc}, 1, 'a second room with the code fails');
like($r->{err}, qr/already exists/, 'saying it exists');
$r = $s->admin_run('room', 'add', '--code', 'bad code', '--name', 'x',
    '--host', $host, '--company', $co);
isnt($r->{rc}, 0, 'a bad room code is refused');
$r = $s->admin_run('room', 'list');
like($r->{out}, qr/^[0-9a-f-]{36}\tweekly\tactive\t\Q$host\E\t\Q$co\E\tWeekly$/m,
    'room list shows it');
$r = $s->admin_run('frobnicate');
is($r->{rc}, 2, 'an unknown command is a usage error');

# stats: the counts of GET /api/admin/stats, for all companies or one.
my $T = 'project_management.pm_meeting_recordings';
my ($weekly, $elsewhere) = ($s->meeting('weekly'), uuid());
my $other = $s->meeting('other', company => $elsewhere);
$s->pg->psql("INSERT INTO $T (room_code, meeting_id, company_id, "
    . "recorded_by, status, file_size_bytes, deleted_at) VALUES "
    . "('weekly', '$weekly', '$co', '$host', 'completed', 100, NULL), "
    . "('weekly', '$weekly', '$co', '$host', 'completed', 50, now()), "
    . "('other', '$other', '$elsewhere', '$host', 'failed', NULL, NULL)");
$r = $s->admin_run('stats');
is($r->{rc}, 0, 'stats succeeds') or diag($r->{err});
my %kv = $r->{out} =~ /^(\S+) = (\S+)$/mg;
is_deeply(\%kv, { company => 'all', 'by_status.pending' => 0,
    'by_status.recording' => 0, 'by_status.processing' => 0,
    'by_status.completed' => 1, 'by_status.failed' => 1, trashed => 1,
    bytes_stored => 100, uploads_pending => 0, uploads_failed => 0,
    oldest_pending_upload_at => '-', oldest_pending_upload_seconds => '-' },
    'stats of all companies, one "key = value" a line');
$r = $s->admin_run('stats', '--company', $co);
%kv = $r->{out} =~ /^(\S+) = (\S+)$/mg;
is($kv{company}, $co, 'stats --company names it');
is($kv{'by_status.failed'}, 0, "and counts only that company's");
is($kv{trashed}, 1, 'its trash');
$r = $s->admin_run('stats', '--company', 'acme');
is($r->{rc}, 1, 'stats with a bad --company fails');
like($r->{err}, qr/--company must be a UUID/, 'saying why');
is($s->admin_run('stats', 'now')->{rc}, 2, 'stats with extra arguments: '
    . 'usage');

$s->finish;
done_testing();
