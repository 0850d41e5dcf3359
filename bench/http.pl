#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The benchmark, and its judge: meetrec side by side with its two
# baselines, in one run, on one machine, on the same data, with the same
# wrk settings (README, "Benchmark"):
#   perl bench/http.pl [--duration 10] [--threads 2] [--connections 32]
#       [--high 64] [--workers 2] [--nginx-workers auto] [--warmup 1]
#       [--timeout 10] [--soak N] [--baselines DIR] [--no-seed]
#       [--no-floor] [--no-install] [--only REGEX] [--results FILE]
#       [--pgbouncer N] [--unprepared]
#
# One private stack (Meetrec::Test::Stack: PostgreSQL, the pool, nginx
# with the project's configuration, the LiveKit stand-in) under
# build/default/t/tmp_check/bench, and next to it, from the baselines
# folder (--baselines, MEETREC_BENCH_BASELINES, else ../shared/baselines
# beside the checkout, or beside the main checkout of a git worktree):
#   the seed (seed-fastapi/, FastAPI on uvicorn), on a database of its
#     own in the same cluster, twice: the library's default pool and
#     DB_POOL_SIZE=15 DB_MAX_OVERFLOW=0; meetrec is compared with the
#     better of the two.  Its Debian packages are installed with apt-get
#     when missing (as root; --no-install never does);
#   the C floor (c-floor/), built with gcc -O2 into the scratch folder,
#     its processes behind nginx as its nginx.conf.in shows, on
#     meetrec's database.
# A baseline whose folder is absent is skipped, with a message.
#
# Each row is one wrk run, after a warm-up: requests/s, p50, p99, the
# answers of 400 or more, socket errors, the ratio to the floor and to
# the seed, the CPU each request cost the application, nginx, PostgreSQL
# and wrk (from /proc and wrk's rusage), and the application's memory.
# --soak N then drives N requests through the status endpoint and
# follows the workers' RSS.  The table goes to stdout and, with the
# machine, the versions, the settings and the goals check, to
# bench/RESULTS.md (--results FILE elsewhere, --results - nowhere).
# --pgbouncer N puts Debian's PgBouncer in transaction mode, with N
# server connections, between meetrec and PostgreSQL
# (database_prepared_statements = 0, as meetrec.conf(5) says for it);
# --unprepared sets that alone, straight to PostgreSQL, to tell the cost
# of planning every statement from the cost of the pooler.
# Everything started is stopped by pid at the end, on an error and on
# Ctrl-C.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../t/lib";
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Getopt::Long;
use POSIX qw(strftime);
use Time::HiRes ();
use Meetrec::Bench::About;
use Meetrec::Bench::Data;
use Meetrec::Bench::Floor;
use Meetrec::Bench::Sample;
use Meetrec::Bench::Seed;
use Meetrec::Test::Pg;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp spew random_hex src_root http);

my %o = (duration => 10, threads => 2, connections => 32, high => 64,
    workers => 2, 'nginx-workers' => 'auto', warmup => 1, timeout => 10,
    soak => 0);
sub usage {
	die "usage: bench/http.pl [--duration s] [--threads n] "
	    . "[--connections n] [--high n] [--workers n] [--nginx-workers "
	    . "n|auto] [--warmup s] [--timeout s] [--soak requests] "
	    . "[--baselines dir] [--no-seed] [--no-floor] [--no-install] "
	    . "[--only regex] [--results file|-]\n";
}
GetOptions(\%o, 'duration=i', 'threads=i', 'connections=i', 'high=i',
    'workers=i', 'nginx-workers=s', 'warmup=i', 'timeout=i', 'soak=i',
    'baselines=s', 'no-seed', 'no-floor', 'no-install', 'only=s',
    'results=s', 'pgbouncer=i', 'unprepared')
    && !@ARGV or usage();
$o{duration} > 0 && $o{connections} > 0 && $o{workers} > 0 or usage();
$| = 1;
my $SRC = src_root();
$ENV{MEETREC_BUILDDIR} //= "$SRC/build/default";
my $LUA = "$FindBin::Bin/paths.lua";
my $HZ = Meetrec::Bench::Sample::hz();
sub note { print STDERR "bench: @_\n" }

# ---------------------------------------------------------------------
# What can run

my $BASE = baselines();
sub baselines {
	return abs_path($o{baselines}) // $o{baselines}
	    if defined $o{baselines};
	return abs_path($ENV{MEETREC_BENCH_BASELINES})
	    // $ENV{MEETREC_BENCH_BASELINES} if $ENV{MEETREC_BENCH_BASELINES};
	my @c = ("$SRC/../shared/baselines");
	# A git worktree: beside the main checkout too.
	my $common = `git -C '$SRC' rev-parse --path-format=absolute \\
	    --git-common-dir 2>/dev/null` // '';
	chomp $common;
	push @c, dirname($common) . '/../shared/baselines' if $common;
	for (@c) { return abs_path($_) if -d $_ }
	return $c[0];
}

my @miss = Meetrec::Test::Stack::prereqs_missing();
push @miss, 'wrk not found (Debian package wrk)'
    unless system('command -v wrk >/dev/null 2>&1') == 0;
die "bench: cannot run: @miss\n" if @miss;
my %skip;
if ($o{'no-floor'}) {
	$skip{floor} = 'skipped (--no-floor)';
} elsif (!-d "$BASE/c-floor") {
	$skip{floor} = "skipped: $BASE/c-floor not found (--baselines DIR "
	    . 'or MEETREC_BENCH_BASELINES names the baselines folder)';
} elsif (my @w = Meetrec::Bench::Floor::missing("$BASE/c-floor")) {
	$skip{floor} = "skipped: @w";
}
if ($o{'no-seed'}) {
	$skip{seed} = 'skipped (--no-seed)';
} elsif (!-d "$BASE/seed-fastapi/backend") {
	$skip{seed} = "skipped: $BASE/seed-fastapi not found (--baselines "
	    . 'DIR or MEETREC_BENCH_BASELINES names the baselines folder)';
} elsif (my @w = Meetrec::Bench::Seed::ensure_packages(
    install => !$o{'no-install'}, say => \&note,
    log => "$ENV{MEETREC_BUILDDIR}/bench-apt.log")) {
	$skip{seed} = "skipped: @w";
}
note("the floor baseline is $skip{floor}") if $skip{floor};
note("the seed baseline is $skip{seed}") if $skip{seed};

# ---------------------------------------------------------------------
# Bring-up

my $t_start = time;
my $load_before = (split ' ', slurp('/proc/loadavg'))[0];
note("starting meetrec's stack ($o{workers} workers)");
# No worker may be recycled during the run: fcgi_max_requests far above
# what the rows and the soak send.
my $MAXREQ = 1_000_000_000 + 2 * $o{soak};
my $s = Meetrec::Test::Stack->new(name => 'bench', workers => $o{workers},
    max_requests => $MAXREQ, nginx_workers => $o{'nginx-workers'},
    $o{pgbouncer} ? (pgbouncer => $o{pgbouncer}) : (),
    conf => { log_level => 'warn', download_url_ttl => 86400,
	$o{pgbouncer} || $o{unprepared} ?
	(database_prepared_statements => 0) : () });
my $dir = $s->dir . '/judge';
make_path($dir);

note('loading the data into meetrec\'s database');
my $data = Meetrec::Bench::Data::meetrec($s->pg);
my $c1 = Meetrec::Bench::Data::company(1);
my $u1 = Meetrec::Bench::Data::user(1);
my @ids = Meetrec::Bench::Data::company_recordings(1);
spew("$dir/status-meetrec.paths",
    join('', map { "/api/recordings/$_/status\n" } @ids));
spew("$dir/status.paths", join('', map { "/recordings/$_/status\n" } @ids));
my $ttl = 7 * 86400;
# The status rows read the 10,000 recordings of company 1: as its admin
# (a viewer of them all); the list rows are user 1's, who has 100.
my $admin_tok = $s->token(user => Meetrec::Bench::Data::uuid_of('admin1'),
    company => $c1, username => 'admin1', role => 'admin', ttl => $ttl);
my $user_tok = $s->token(user => $u1, company => $c1, username => 'user1',
    ttl => $ttl);

# One recording through the whole flow (start, stop, the stand-in's
# webhooks, the reaper), completed and shared, for the watching rows; in
# a company of its own, so user 1 keeps 100.
my ($fco, $fhost) = (uuid(), uuid());
my $flow_tok = $s->token(user => $fhost, company => $fco, username => 'flow',
    ttl => $ttl);
$s->room(code => 'bench-flow', name => 'Bench flow', host => $fhost,
    company => $fco);
my $id = $s->api(POST => '/api/recordings/start', token => $flow_tok,
    json => { room_code => 'bench-flow' })->{json}{recording_id}
    // die "bench: could not start a recording\n";
$s->api(POST => "/api/recordings/$id/stop", token => $flow_tok);
$s->standin_idle;
$s->reaper;
my $rec = $s->api(GET => "/api/recordings/$id", token => $flow_tok)->{json};
die "bench: the recording did not complete\n"
    unless ($rec->{status} // '') eq 'completed';
(my $dl = $rec->{download_url}) =~ s{^https?://[^/]+}{};
my $share = $s->api(POST => "/api/recordings/$id/shares", token => $flow_tok,
    json => { expires_in => 86400 })->{json};
(my $shared = $share->{url} // die "bench: no share link\n")
    =~ s{^https?://[^/]+}{};

my ($floor, %seed, $seed_tok);
unless ($skip{floor}) {
	note('building and starting the C floor');
	$floor = Meetrec::Bench::Floor->new(src => "$BASE/c-floor",
	    dir => "$dir/floor", conninfo => $s->pg->conninfo,
	    procs => $o{workers}, nginx_workers => $o{'nginx-workers'});
	$floor->start;
}
unless ($skip{seed}) {
	note('loading the seed\'s database');
	Meetrec::Bench::Data::seed($s->pg, 'seed', "$BASE/seed-fastapi/sql");
	my $url = 'postgresql+asyncpg://' . $Meetrec::Test::Pg::ROLE
	    . '@/seed?host=' . $s->pg->sockdir;
	my $secret = random_hex(32);
	for my $v ([ 'default', 'seed (default pool)', {} ],
	    [ 'tuned', 'seed (pool 15+0)', { DB_POOL_SIZE => 15,
	    DB_MAX_OVERFLOW => 0 } ]) {
		my ($k, $label, $env) = @$v;
		note("starting the seed, $label");
		$seed{$k} = Meetrec::Bench::Seed->new(name => "seed-$k",
		    label => $label, backend => "$BASE/seed-fastapi/backend",
		    dir => "$dir/seed-$k", workers => $o{workers},
		    database_url => $url, secret => $secret, env => $env);
		$seed{$k}->start;
	}
	$seed_tok = $seed{default}->token($u1, 'user1', $c1);
}

# ---------------------------------------------------------------------
# The rows

my $pg_pid = $s->pg->pid;
my %SYS = (
	meetrec => {
		label => 'meetrec',
		app => sub { (tree => [ $s->pool_pid ]) },
		nginx => sub { $s->nginx->pid },
		procs => sub { $s->worker_pids },
	},
);
# The same pool, set up as meetrec.conf's defaults set it up.
$SYS{'meetrec-default'} = { %{ $SYS{meetrec} },
    label => 'meetrec (default pool)' };
if ($floor) {
	for my $pool (qw(pq_ka pq_nk hello_ka)) {
		$SYS{"floor-$pool"} = {
			label => 'floor',
			app => sub { (pids => [ $floor->pool_pids($pool) ]) },
			nginx => sub { $floor->nginx_pid },
			procs => sub { $floor->pool_pids($pool) },
		};
	}
}
for my $k (sort keys %seed) {
	my $sd = $seed{$k};
	$SYS{"seed-$k"} = {
		label => $sd->label,
		app => sub { (tree => [ $sd->pid ]) },
		nginx => undef,
		procs => sub { seed_workers($sd->pid) },
	};
}

# uvicorn's worker processes: the children of its main process that
# multiprocessing spawned (not its resource tracker).
sub seed_workers {
	my ($main) = @_;
	my $snap = Meetrec::Bench::Sample::snapshot();
	my @kids = grep { $snap->{$_}[0] == $main } keys %$snap;
	my @w = grep {
		my $c = eval { slurp("/proc/$_/cmdline") } // '';
		$c =~ /spawn_main/;
	} @kids;
	return sort { $a <=> $b } @w ? @w : @kids;
}

my $auth_admin = "Authorization: Bearer $admin_tok";
my $auth_user = "Authorization: Bearer $user_tok";
my $auth_flow = "Authorization: Bearer $flow_tok";
my $auth_seed = $seed_tok ? "Authorization: Bearer $seed_tok" : undef;
my $ST = '/recordings/{id}/status';
my $LI = '/recordings/?limit=50';
my @rows;
sub row {
	my (%r) = @_;
	push @rows, { c => $o{connections}, headers => [], %r };
}
my @passes = ($o{connections}, $o{high} ? $o{high} : ());
for my $c (@passes) {
	if ($floor) {
		row(sys => 'floor-pq_ka', kind => 'status', c => $c,
		    name => 'floor: status, FastCGI keep-alive',
		    url => $floor->url('ka', '/'), paths => "$dir/status.paths");
		row(sys => 'floor-pq_nk', kind => 'status', c => $c,
		    name => 'floor: status, a connection a request',
		    url => $floor->url('nk', '/'), paths => "$dir/status.paths");
	}
	row(sys => 'meetrec', kind => 'status', c => $c,
	    name => "meetrec: GET /api$ST", url => $s->url('/'),
	    paths => "$dir/status-meetrec.paths", headers => [$auth_admin]);
	for my $k (sort keys %seed) {
		row(sys => "seed-$k", kind => 'status', c => $c,
		    name => $seed{$k}->label . ": GET $ST",
		    url => $seed{$k}->url('/'),
		    paths => "$dir/status.paths", headers => [$auth_seed]);
	}
	row(sys => 'meetrec', kind => 'list', c => $c,
	    name => "meetrec: GET /api$LI",
	    url => $s->url('/api/recordings/?limit=50'),
	    headers => [$auth_user]);
	row(sys => 'meetrec-default', kind => 'status', c => $c,
	    name => "meetrec, default pool: GET /api$ST", url => $s->url('/'),
	    paths => "$dir/status-meetrec.paths", headers => [$auth_admin]);
	row(sys => 'meetrec-default', kind => 'list', c => $c,
	    name => "meetrec, default pool: GET /api$LI",
	    url => $s->url('/api/recordings/?limit=50'),
	    headers => [$auth_user]);
	for my $k (sort keys %seed) {
		row(sys => "seed-$k", kind => 'list', c => $c,
		    name => $seed{$k}->label . ": GET $LI",
		    url => $seed{$k}->url('/recordings/?limit=50'),
		    headers => [$auth_seed]);
	}
}
row(sys => 'floor-hello_ka', kind => 'hello', name => 'floor: hello, '
    . 'FastCGI keep-alive, no query', url => $floor->url('ka', '/hello'))
    if $floor;
row(sys => 'meetrec', kind => 'other', name => 'meetrec: GET /api/healthz',
    url => $s->url('/api/healthz'));
row(sys => 'meetrec', kind => 'other',
    name => 'meetrec: GET /api/recordings/{id} (audited)',
    url => $s->url("/api/recordings/$id"), headers => [$auth_flow]);
row(sys => 'meetrec', kind => 'other',
    name => 'meetrec: signed download (X-Accel, '
    . int((($rec->{file_size_bytes} // 0) + 512) / 1024) . ' KiB)',
    url => $s->url($dl));
# One address: past nginx's 10 a second and its burst, 429s.
row(sys => 'meetrec', kind => 'other',
    name => 'meetrec: GET /r/{token} (nginx-limited, 10/s)',
    url => $s->url($shared), limited => 1);
row(sys => 'meetrec', kind => 'other',
    name => 'meetrec\'s nginx: a static file, no FastCGI',
    url => $s->url('/'));
row(sys => 'meetrec', kind => 'other', name => 'meetrec: GET /metrics',
    url => $s->url('/metrics'));

# --only: the rows whose name matches (the goals then judge what ran).
if (defined $o{only}) {
	my $re = eval { qr/$o{only}/ } or usage();
	@rows = grep { $_->{name} =~ $re } @rows;
	die "bench: no row's name matches '$o{only}'\n" unless @rows;
}

# The first path a row sends, for the pre-flight request.
sub first_path {
	my ($r) = @_;
	return $r->{url} unless $r->{paths};
	my ($p) = split /\n/, slurp($r->{paths}), 2;
	(my $u = $r->{url}) =~ s{/\z}{};
	return $u . $p;
}

sub run_wrk {
	my ($r, $d) = @_;
	return Meetrec::Bench::Sample::wrk(url => $r->{url},
	    connections => $r->{c}, threads => $o{threads}, duration => $d,
	    timeout => $o{timeout}, headers => $r->{headers},
	    paths => $r->{paths}, script => $LUA);
}

sub mem_of {
	my (@pids) = @_;
	my %m;
	for my $p (@pids) {
		my $v = Meetrec::Bench::Sample::mem($p) or next;
		$m{$p} = $v;
	}
	return \%m;
}

sub sum { my $n = 0; $n += $_ for @_; return $n }

# settle() - wait, up to 20 s, until no process of ours works any more:
# a row's requests still queued when wrk stopped (uvicorn finishes a
# request whose client left; so does a pool that had a backlog) must
# not bleed into the next row.  Idle: all the applications, nginx and
# PostgreSQL together used at most 2 clock ticks in 250 ms.  Returns the
# seconds waited, negative when they never settled.
sub settle {
	my @g = ({ tree => [$pg_pid] });
	for my $sys (values %SYS) {
		push @g, { $sys->{app}->() };
		push @g, { tree => [ $sys->{nginx}->() ] } if $sys->{nginx};
	}
	my $cpu = sub {
		my ($snap) = @_;
		return sum(map { Meetrec::Bench::Sample::cpu($snap, %$_) } @g);
	};
	my $t0 = Time::HiRes::time();
	my $prev = $cpu->(Meetrec::Bench::Sample::snapshot());
	for (;;) {
		Time::HiRes::sleep(0.25);
		my $cur = $cpu->(Meetrec::Bench::Sample::snapshot());
		my $waited = Time::HiRes::time() - $t0;
		return $waited if $cur - $prev <= 2;
		return -$waited if $waited > 20;
		$prev = $cur;
	}
}

sub measure {
	my ($r) = @_;
	my $sys = $SYS{ $r->{sys} };
	$r->{settle} = settle();
	my %h = map { /^([^:]+):\s*(.*)$/ ? ($1 => $2) : () } @{ $r->{headers} };
	my $pf = http(GET => first_path($r), { headers => \%h, timeout => 30 });
	$r->{preflight} = $pf->{status};
	if ($pf->{status} !~ /^2/ && !$r->{limited}) {
		note("pre-flight of '$r->{name}': $pf->{status} "
		    . substr($pf->{body} // '', 0, 200));
	}
	if ($o{warmup}) {
		run_wrk($r, $o{warmup});
		# What the warm-up left queued (a slow endpoint) is not the
		# row's.
		my $t = settle();
		$r->{settle} = $t if $t < 0;
	}
	my @p0 = $sys->{procs}->();
	my $m0 = mem_of(@p0);
	my $s0 = Meetrec::Bench::Sample::snapshot();
	my $w = run_wrk($r, $o{duration});
	my $s1 = Meetrec::Bench::Sample::snapshot();
	my @p1 = $sys->{procs}->();
	my $m1 = mem_of(@p1);
	my %cpu;
	my %grp = (app => { $sys->{app}->() }, pg => { tree => [$pg_pid] },
	    $sys->{nginx} ? (nginx => { tree => [ $sys->{nginx}->() ] }) : ());
	for my $g (keys %grp) {
		my $t = Meetrec::Bench::Sample::cpu($s1, %{ $grp{$g} })
		    - Meetrec::Bench::Sample::cpu($s0, %{ $grp{$g} });
		$cpu{$g} = $w->{requests} ? $t / $HZ * 1e6 / $w->{requests}
		    : undef;
	}
	$cpu{wrk} = $w->{requests} ? $w->{cpu} * 1e6 / $w->{requests} : undef;
	$r->{w} = $w;
	$r->{cpu} = \%cpu;
	my $hwm = 0;
	for (values %$m1) { $hwm = $_->{hwm} if $_->{hwm} > $hwm }
	$r->{hwm} = $hwm;
	$r->{rss0} = sum(map { $_->{rss} } values %$m0);
	$r->{rss1} = sum(map { $_->{rss} } values %$m1);
	$r->{procs0} = scalar @p0;
	$r->{procs} = scalar @p1;
	$r->{replaced} = join(' ', @p0) ne join(' ', @p1);
	$r->{sockerr} = sum(values %{ $w->{errors} });
	return $r;
}

# pool($default) - meetrec's pool as the rows want it: the benchmark's
# (static, --workers, no recycling) or meetrec.conf's defaults (dynamic:
# fcgi_workers to start, fcgi_workers_min to fcgi_workers_max), read back
# from /metrics once the master has reloaded.
my $pool_default = 0;
sub pool {
	my ($want) = @_;
	return if $want == $pool_default;
	my @keys = qw(fcgi_pm fcgi_workers fcgi_workers_min fcgi_workers_max
	    fcgi_spare_min fcgi_spare_max fcgi_idle_timeout);
	$s->reconfigure($want ? (map { $_ => undef } @keys)
	    : (fcgi_pm => 'static', fcgi_workers => $o{workers},
	    map { $_ => undef } @keys[2 .. $#keys]));
	# A static pool's bounds are its size; the defaults' are 2 and 16.
	my $t0 = time;
	for (;;) {
		my $m = http(GET => $s->url('/metrics'))->{body} // '';
		my ($lo) = $m =~ /^meetrec_pool_workers_min (\d+)$/m;
		my ($hi) = $m =~ /^meetrec_pool_workers_max (\d+)$/m;
		last if defined $hi && ($want ? $lo != $hi
		    : $lo == $o{workers} && $hi == $o{workers});
		die "bench: the pool did not take its new settings\n"
		    if time - $t0 > 30;
		Time::HiRes::sleep(0.2);
	}
	$s->wait_workers($o{workers}) unless $want;
	$pool_default = $want;
	return;
}

my $n = 0;
for my $r (@rows) {
	$n++;
	pool($r->{sys} eq 'meetrec-default' ? 1 : 0) if $r->{sys} =~ /^meetrec/;
	note(sprintf '%2d/%d %s, %d connections', $n, scalar @rows, $r->{name},
	    $r->{c});
	measure($r);
	note(sprintf '      %.0f req/s, p99 %.2f ms, %d >= 400, %d socket '
	    . 'errors', $r->{w}{rps}, $r->{w}{p99}, $r->{w}{status},
	    $r->{sockerr});
}

# ---------------------------------------------------------------------
# The soak

my $soak;
my ($soak_row) = grep { $_->{sys} eq 'meetrec' && $_->{kind} eq 'status' }
    @rows;
if ($o{soak} > 0 && !$soak_row) {
	note('no soak: --only left out meetrec\'s status row, which it runs');
} elsif ($o{soak} > 0) {
	pool(0);
	$soak = soak({ %$soak_row, c => $o{connections} }, $o{soak});
}

# soak($row, $n) - drive $n requests through $row in about ten wrk runs
# (at the rate the row measured) and take the workers' VmRSS before,
# between and after.
sub soak {
	my ($r, $want) = @_;
	settle();
	my @w0 = $s->worker_pids;
	my @samples = ([0, 0, mem_of(@w0)]);
	my $rate = $r->{w}{rps} || 1000;
	my $chunk = int($want / 10 / $rate + 0.5);
	$chunk = 1 if $chunk < 1;
	note("soak: $want requests through '$r->{name}', in runs of "
	    . "$chunk s");
	my ($done, $bad, $err, $maxp99) = (0, 0, 0, 0);
	my $t0 = Time::HiRes::time();
	my %seen = map { $_ => 1 } @w0;
	my $runs = 0;
	while ($done < $want && $runs++ < 10_000) {
		my $left = ($want - $done) / $rate;
		my $d = $left < $chunk ? int($left + 0.999) : $chunk;
		$d = 1 if $d < 1;
		my $w = run_wrk($r, $d);
		$done += $w->{requests};
		$rate = $w->{rps} || $rate;
		$bad += $w->{status};
		$err += sum(values %{ $w->{errors} });
		$maxp99 = $w->{p99} if $w->{p99} > $maxp99;
		$seen{$_} = 1 for $s->worker_pids;
		push @samples, [$done, Time::HiRes::time() - $t0, mem_of(@w0)];
		note(sprintf 'soak: %d requests, %.0f req/s, worker VmRSS %s KiB',
		    $done, $w->{rps}, join(' ', map {
			$samples[-1][2]{$_} ? $samples[-1][2]{$_}{rss} : 'gone'
		    } @w0));
	}
	my @w1 = $s->worker_pids;
	return { want => $want, done => $done, workers => \@w0, end => \@w1,
	    samples => \@samples, non2xx => $bad, sockerr => $err,
	    maxp99 => $maxp99, secs => Time::HiRes::time() - $t0,
	    replaced => join(' ', @w0) ne join(' ', @w1)
		|| keys(%seen) != @w0,
	    master => $s->pool_pid,
	    master_mem => Meetrec::Bench::Sample::mem($s->pool_pid) };
}

# ---------------------------------------------------------------------
# Stop everything, then report

# Workers replaced during the rows of the benchmark's static pool (the
# default pool's rows start and retire workers as it sizes itself).
my $recycled = grep { $_->{sys} eq 'meetrec' && $_->{replaced} } @rows;
my $pool_log = $s->log('pool');
my @crashes = grep { /respawn|exited on signal/ } split /\n/, $pool_log;
my $load_after = (split ' ', slurp('/proc/loadavg'))[0];
note('stopping everything');
$_->stop for values %seed;
$floor->stop if $floor;
$s->shutdown;

# The references: the floor's faster status row and the seed's faster
# variant, at each number of connections.
my (%floor_ref, %seed_ref);
for my $r (@rows) {
	my $k = "$r->{kind}/$r->{c}";
	if ($r->{sys} =~ /^floor-pq/ && $r->{kind} eq 'status') {
		$floor_ref{$r->{c}} = $r if !$floor_ref{$r->{c}}
		    || $r->{w}{rps} > $floor_ref{$r->{c}}{w}{rps};
	}
	if ($r->{sys} =~ /^seed-/) {
		$seed_ref{$k} = $r if !$seed_ref{$k}
		    || $r->{w}{rps} > $seed_ref{$k}{w}{rps};
	}
}
for my $r (@rows) {
	my $f = $floor_ref{ $r->{c} };
	if ($r->{kind} eq 'status' && $f && $f->{w}{rps} > 0) {
		$r->{vs_floor} = $r->{w}{rps} / $f->{w}{rps};
	}
	my $sd = $seed_ref{"$r->{kind}/$r->{c}"};
	if ($sd && $r->{sys} !~ /^seed-/ && $sd->{w}{rps} > 0) {
		$r->{vs_seed} = $r->{w}{rps} / $sd->{w}{rps};
	}
}

my @COLS = (
	[ 'row', '%s', sub { $_[0]{name} } ],
	[ 'conns', '%d', sub { $_[0]{c} } ],
	[ 'req/s', '%.0f', sub { $_[0]{w}{rps} } ],
	[ 'p50 ms', '%.2f', sub { $_[0]{w}{p50} } ],
	[ 'p99 ms', '%.2f', sub { $_[0]{w}{p99} } ],
	[ 'non-2xx', '%d', sub { $_[0]{w}{status} } ],
	[ 'sock err', '%d', sub { $_[0]{sockerr} } ],
	[ 'vs floor', '%.0f%%', sub { defined $_[0]{vs_floor}
	    ? 100 * $_[0]{vs_floor} : undef } ],
	[ 'vs seed', '%.1fx', sub { $_[0]{vs_seed} } ],
	[ 'app us/req', '%.1f', sub { $_[0]{cpu}{app} } ],
	[ 'nginx us/req', '%.1f', sub { $_[0]{cpu}{nginx} } ],
	[ 'pg us/req', '%.1f', sub { $_[0]{cpu}{pg} } ],
	[ 'wrk us/req', '%.1f', sub { $_[0]{cpu}{wrk} } ],
	[ 'peak RSS MiB', '%.1f', sub { $_[0]{hwm} / 1024 } ],
	[ 'RSS growth KiB', '%+d', sub { $_[0]{rss1} - $_[0]{rss0} } ],
);

sub cell {
	my ($col, $r) = @_;
	my $v = $col->[2]->($r);
	return '-' unless defined $v;
	my $s = sprintf $col->[1], $v;
	$s .= $r->{sys} eq 'meetrec-default' ? " ($r->{procs0} to "
	    . "$r->{procs} workers)" : ' (recycled)'
	    if $col->[0] eq 'RSS growth KiB' && $r->{replaced};
	return $s;
}

# The plain table for stdout.
my @w = map { length $_->[0] } @COLS;
my @cells = map { my $r = $_; [ map { cell($_, $r) } @COLS ] } @rows;
for my $c (@cells) {
	for my $i (0 .. $#$c) { $w[$i] = length $c->[$i] if length $c->[$i] > $w[$i] }
}
my $fmt = join(' ', "%-$w[0]s", map { "%${_}s" } @w[1 .. $#w]) . "\n";
print "\n";
printf $fmt, map { $_->[0] } @COLS;
printf $fmt, @$_ for @cells;

# The goals, at the first pass (--connections, 32 by default).
my $C = $o{connections};
my ($ms) = grep { $_->{sys} eq 'meetrec' && $_->{kind} eq 'status'
    && $_->{c} == $C } @rows;
my ($ml) = grep { $_->{sys} eq 'meetrec' && $_->{kind} eq 'list'
    && $_->{c} == $C } @rows;
my @goals;
if (my $f = $floor_ref{$C}) {
	my $ok = $ms->{w}{rps} >= 0.85 * $f->{w}{rps} && $ms->{w}{p99} <= 10;
	push @goals, sprintf 'status: %s. meetrec %.0f req/s = %.0f%% of the '
	    . "floor's %.0f req/s (%s; needs >= 85%%), p99 %.2f ms (needs "
	    . '<= 10 ms), at %d connections', $ok ? 'met' : 'not met',
	    $ms->{w}{rps}, 100 * $ms->{w}{rps} / $f->{w}{rps}, $f->{w}{rps},
	    ($f->{name} =~ s/^floor: status, //r) . ', the faster',
	    $ms->{w}{p99}, $C;
	# The other way of the floor, for the record.
	for my $r (grep { $_ != $f && $_->{sys} =~ /^floor-pq/
	    && $_->{c} == $C } @rows) {
		$goals[-1] .= sprintf "; %.0f%% of the floor's %.0f req/s "
		    . 'with %s (p99 %.2f ms)', 100 * $ms->{w}{rps}
		    / ($r->{w}{rps} || 1), $r->{w}{rps},
		    $r->{name} =~ s/^floor: status, //r, $r->{w}{p99};
	}
} else {
	push @goals, 'status: cannot be judged, the floor is '
	    . ($skip{floor} // 'not among the rows run (--only)');
}
if (my $sd = $seed_ref{"list/$C"}) {
	my $ok = $ml->{w}{rps} >= 10 * $sd->{w}{rps} && $ml->{w}{p99} <= 20;
	push @goals, sprintf 'list (limit 50): %s. meetrec %.0f req/s = '
	    . '%.1fx the seed\'s %.0f req/s (%s, the better; needs >= 10x), '
	    . 'p99 %.2f ms (needs <= 20 ms), at %d connections',
	    $ok ? 'met' : 'not met', $ml->{w}{rps},
	    $ml->{w}{rps} / $sd->{w}{rps}, $sd->{w}{rps},
	    $sd->{name} =~ s/:.*//r, $ml->{w}{p99}, $C;
} else {
	push @goals, "list (limit 50): cannot be judged, the seed is "
	    . ($skip{seed} // 'not among the rows run (--only)');
}
# A goal not met: what the row's CPU allows, and what it would need.
# All the processes share the machine's cores, so n cores serve at most
# n s of CPU a second: requests/s <= cores / CPU a request.
my $CORES = cmd1('nproc') || 1;
sub budget {
	my ($r, $want) = @_;
	my %c = %{ $r->{cpu} };
	my $all = sum(map { $c{$_} // 0 } qw(app nginx pg wrk));
	return '' unless $all > 0 && $want > 0;
	my $need = $CORES * 1e6 / $want;
	my $fixed = ($c{nginx} // 0) + ($c{wrk} // 0);
	return sprintf '. Why: %.0f us of CPU a request (app %.0f, nginx %.0f, '
	    . 'PostgreSQL %.0f, wrk %.0f) on %d cores allow at most %.0f '
	    . 'req/s (%.0f%% of that reached); %.0f req/s allows %.0f us in '
	    . 'all, so with nginx and wrk as they are, meetrec and PostgreSQL '
	    . 'would have %.0f us between them (now %.0f).', $all, $c{app},
	    $c{nginx} // 0, $c{pg}, $c{wrk}, $CORES, $CORES * 1e6 / $all,
	    100 * $r->{w}{rps} / ($CORES * 1e6 / $all), $want, $need,
	    $need - $fixed, $c{app} + $c{pg};
}
if ((my $f = $floor_ref{$C}) && $goals[0] =~ /^status: not met/) {
	$goals[0] .= budget($ms, 0.85 * $f->{w}{rps});
}
if ((my $sd = $seed_ref{"list/$C"}) && $goals[-1] =~ /^list.*: not met/) {
	$goals[-1] .= budget($ml, 10 * $sd->{w}{rps});
}
print "\ngoals:\n", map { "  $_\n" } @goals;

my @soak_lines = $soak ? soak_lines($soak) : ();
sub soak_lines {
	my ($k) = @_;
	my @l;
	push @l, sprintf 'soak: %d requests (asked %d) through %s at %d '
	    . 'connections in %.0f s; %d answers >= 400, %d socket errors, '
	    . 'worst p99 of a run %.2f ms', $k->{done}, $k->{want},
	    "GET /api$ST",
	    $o{connections}, $k->{secs}, $k->{non2xx}, $k->{sockerr},
	    $k->{maxp99};
	push @l, sprintf 'workers recycled or replaced during the soak: %s '
	    . '(fcgi_max_requests %d; worker pids %s at the start, %s at the '
	    . 'end)', $k->{replaced} ? 'YES' : 'none', $MAXREQ,
	    join(' ', @{ $k->{workers} }), join(' ', @{ $k->{end} });
	return @l;
}

sub soak_table {
	my ($k) = @_;
	my @pids = @{ $k->{workers} };
	my @head = ('requests', 'seconds', map { "worker $_ VmRSS KiB" } @pids);
	my @t;
	for my $smp (@{ $k->{samples} }) {
		push @t, [ $smp->[0], sprintf('%.0f', $smp->[1]), map {
		    $smp->[2]{$_} ? $smp->[2]{$_}{rss} : 'gone' } @pids ];
	}
	my @first = @{ $t[0] }[2 .. $#{ $t[0] }];
	my @last = @{ $t[-1] }[2 .. $#{ $t[-1] }];
	my $growth = join ' ', map {
	    ($first[$_] =~ /^\d+$/ && $last[$_] =~ /^\d+$/)
	    ? sprintf('%+d', $last[$_] - $first[$_]) : '?' } 0 .. $#first;
	return (\@head, \@t, $growth);
}

if ($soak) {
	my ($head, $t, $growth) = soak_table($soak);
	print "\n", map { "$_\n" } @soak_lines;
	print join("\t", @$head), "\n";
	print join("\t", @$_), "\n" for @$t;
	print "worker VmRSS growth start to end (KiB): $growth\n";
}

# ---------------------------------------------------------------------
# bench/RESULTS.md

my $results = $o{results} // "$SRC/bench/RESULTS.md";
if ($results ne '-') {
	# bench/volume.pl's section is its own: kept as it is.
	my $old = -e $results ? slurp($results) : '';
	my ($volume) = $old =~ /^(## Volume\n.*?)(?=^## |\z)/ms;
	my $md = results_md();
	$md =~ s/\n*\z/\n\n$volume/ if defined $volume;
	$md =~ s/\n+\z/\n/;
	spew($results, $md);
	print "\nwritten: $results\n";
}
print "logs: ", $s->dir, "\n";

sub cmd1 { return Meetrec::Bench::About::cmd1(@_) }

sub results_md {
	my $pgv = cmd1(Meetrec::Test::Pg::bindir() . '/postgres --version');
	my @pyv = $skip{seed} ? () : Meetrec::Bench::Seed::versions();
	my $fbin = Meetrec::Test::Stack::fcgi_bin();
	my $stale = stale_build($fbin);
	my $md = "# meetrec against its baselines\n\n"
	    . "Written by `perl bench/http.pl`; run it again rather than edit "
	    . "this file.  On a shared or\nsmall machine absolute figures move "
	    . "from run to run; the ratios within one run are what\ncount.\n\n";
	$md .= Meetrec::Bench::About::commit_line($SRC);
	$md .= "- build: `$fbin`" . ($stale ? " ($stale)" : '') . "\n";
	$md .= '- date: ' . strftime('%Y-%m-%d %H:%M UTC', gmtime $t_start)
	    . sprintf(", %.0f s in all\n", time - $t_start);
	$md .= Meetrec::Bench::About::machine_line($load_before, $load_after);
	$md .= '- versions: ' . join(', ', cmd1(Meetrec::Test::Nginx::binary() . ' -v')
	    =~ s/^nginx version: //r,
	    $pgv =~ s/^postgres \(PostgreSQL\) /PostgreSQL /r,
	    @pyv ? @pyv : 'python3/uvicorn: not run', cmd1('wrk -v') =~ s/^(wrk \S+).*/$1/r,
	    cmd1('gcc --version')) . "\n";
	$md .= sprintf "- wrk: -t%d -c%d%s -d%ds --timeout %ds, a %d s "
	    . "warm-up before each row, bench/paths.lua for every row (status "
	    . "rows: a random one of %d recordings a request)\n", $o{threads},
	    $o{connections}, $o{high} ? " (and -c$o{high} for status and list)"
	    : '', $o{duration}, $o{timeout}, $o{warmup}, scalar @ids;
	$md .= "- meetrec: $o{workers} workers (static pool, "
	    . "fcgi_max_requests $MAXREQ), log_level warn, nginx with the "
	    . "project's configuration (nginx/*.in), worker_processes "
	    . "$o{'nginx-workers'}; the rows \"meetrec, default pool\" with "
	    . "meetrec.conf's pool defaults instead (fcgi_pm dynamic, 4 "
	    . "workers to start, fcgi_workers_min 2 to fcgi_workers_max 16, "
	    . "started while requests wait; RSS growth then names the number "
	    . "of workers at the row's start and end)\n";
	$md .= "- floor: " . ($floor ? "c-floor/fcgi_pq_status.c and "
	    . "fcgi_hello.c, gcc -O2, $o{workers} processes each, nginx from "
	    . "its nginx.conf.in, worker_processes $o{'nginx-workers'}, on "
	    . "meetrec's database" : $skip{floor}) . "\n";
	$md .= "- seed: " . (%seed ? "seed-fastapi, uvicorn --workers "
	    . "$o{workers} --loop uvloop --http httptools, on a database of "
	    . "its own in the same cluster (Unix socket), run twice: the "
	    . "library's default pool, and DB_POOL_SIZE=15 DB_MAX_OVERFLOW=0; "
	    . "each comparison takes the better" : $skip{seed}) . "\n";
	$md .= "- data, in each database: 100,000 recordings, 1,000 users in "
	    . "10 companies, 100 a user, 10,000 a company (the seed's "
	    . "sql/30-data.sql shape and ids); meetrec's recordings point at "
	    . "real rooms through `$data->{room_column}`; the status rows read "
	    . "company 1's 10,000 (meetrec: as its admin), the list rows are "
	    . "user 1's\n";
	$md .= "- baselines: `$BASE`\n\n";
	$md .= "## Results\n\n";
	$md .= '| ' . join(' | ', map { $_->[0] } @COLS) . " |\n";
	$md .= '|' . join('|', map { $_ == 0 ? '---' : '---:' } 0 .. $#COLS)
	    . "|\n";
	$md .= '| ' . join(' | ', @$_) . " |\n" for @cells;
	$md .= "\n## Goals\n\n" . join('', map { "- $_\n" } @goals);
	if ($soak) {
		my ($head, $t, $growth) = soak_table($soak);
		$md .= "\n## Soak\n\n" . join('', map { "$_\n\n" } @soak_lines);
		$md .= '| ' . join(' | ', @$head) . " |\n";
		$md .= '|' . join('|', map { '---:' } @$head) . "|\n";
		$md .= '| ' . join(' | ', @$_) . " |\n" for @$t;
		$md .= "\nWorker VmRSS growth from start to end (KiB): "
		    . "$growth.\n";
	}
	$md .= "\n## Notes\n\n";
	$md .= "- vs floor: a status row's requests/s over the floor's faster "
	    . "status row at the same number of connections; vs seed: a row's "
	    . "requests/s over the better of the seed's two pools on the same "
	    . "endpoint and connections.\n";
	$md .= "- Rows of the static pool during which a worker was "
	    . "recycled or replaced: " . ($recycled ? "$recycled" : 'none')
	    . "; pool log lines about a "
	    . 'respawn: ' . (@crashes ? join('; ', @crashes) : 'none') . ".\n";
	$md .= "- non-2xx: wrk's count of answers with a status of 400 or "
	    . "more (3xx are not counted; a pre-flight request checks that "
	    . "each row answers 2xx: "
	    . (join(', ', map { "$_->{name} $_->{preflight}" }
		grep { ($_->{preflight} // 0) !~ /^2/ } @rows) || 'all did')
	    . "). The share page is limited by nginx to 10 requests a second "
	    . "from one address: its row measures nginx's 429s.\n";
	$md .= "- CPU per request: the user + system time of a process tree "
	    . "(from /proc/PID/stat, its reaped children included: a worker "
	    . "or a backend that exited during the row still counts) between "
	    . "the start and the end of the row, over the requests wrk "
	    . "completed. app: meetrec's pool (master, workers, the busy "
	    . "responder), the seed's uvicorn (main and workers), the "
	    . "floor's processes for that row; nginx: master and workers "
	    . "(the seed has none); pg: the whole cluster (postmaster, every "
	    . "backend, the background processes); wrk: its own rusage.\n";
	$md .= "- peak RSS: the largest VmHWM of one application process "
	    . "(meetrec's workers, the seed's uvicorn workers, the floor's "
	    . "processes) at the end of the row; RSS growth: the sum of their "
	    . "VmRSS at the end minus at the start.\n";
	$md .= "- The floor's nginx (its template) has access_log off and "
	    . "keepalive_requests 100000; meetrec's logs every request and "
	    . "keeps nginx's default keepalive_requests, and talks to its "
	    . "pool with a connection a request (fastcgi_keep_conn off, SPEC "
	    . "section 6). The ratios use the floor's faster status row. "
	    . "With keep-alive, libfcgi serves one connection at a time and "
	    . "nginx keeps idle ones open (keepalive 8 a worker), so a "
	    . "request nginx sends on a new connection can wait for "
	    . "fastcgi_read_timeout (5 s, then 504): see the p99 of those "
	    . "rows.\n";
	my @unsettled = grep { ($_->{settle} // 0) < 0 } @rows;
	$md .= '- Rows started before the previous one\'s work was done '
	    . '(20 s of waiting for all processes to idle): '
	    . (@unsettled ? join(', ', map { "$_->{name} ($_->{c})" }
		@unsettled) : 'none') . ".\n";
	$md .= "- The seed talks to PostgreSQL over the cluster's Unix socket, "
	    . "like meetrec and the floor (the cluster listens on no TCP "
	    . "port).\n";
	return $md;
}

# stale_build($bin) - a warning when a C source is newer than the binary.
sub stale_build {
	my ($bin) = @_;
	my $bt = (stat $bin)[9] // return 'not built';
	for my $f (glob("$SRC/src/*.[ch]"), glob("$SRC/fcgi/*.[ch]"),
	    glob("$SRC/fcgi/*.def")) {
		return "older than $f: run make in the build folder"
		    if ((stat $f)[9] // 0) > $bt;
	}
	return '';
}
