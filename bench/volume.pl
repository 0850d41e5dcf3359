#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# meetrec at volume: how the API and the reaper's passes hold as the
# tables grow (README, "Benchmark"):
#   perl bench/volume.pl [--sizes 10k,100k,1M] [--reapers 4]
#       [--duration 10] [--connections 32] [--threads 2] [--workers 2]
#       [--nginx-workers auto] [--warmup 1] [--timeout 10]
#       [--pass-timeout 1800] [--only REGEX] [--keep] [--results FILE|-]
#
# One private stack (Meetrec::Test::Stack: PostgreSQL, the pool, nginx
# with the project's configuration, the LiveKit stand-in) under
# build/default/t/tmp_check/volume.  For each size (10k, 100k, 1M, and
# 10M when asked: it takes a while to build on two cores), smallest
# first, the tables are emptied (TRUNCATE) and loaded anew with the
# shape of Meetrec::Bench::Data: 1,000 users in 10 companies, size /
# 1,000 recordings a user, created over the same ~347 days, in one
# INSERT ... SELECT generate_series with triggers off
# (session_replication_role = replica; what they keep is then rebuilt
# by project_management.meetrec_recount() when the schema has it), then
# VACUUM ANALYZE and a CHECKPOINT.  Beside them:
#   - audit rows (pm_recording_access_logs): one for one recording in
#     10 of each user's, and 1,000 more on user 1's newest recording,
#     whose access-log page is measured;
#   - the backlog: 10% of the recordings (one in ten of each user's) are
#     completed, stored locally under volume-due/<id>.mp4 (files that do
#     not exist: store_local.c's delete takes a missing file as deleted)
#     and past their expires_at, spread over the last year.
#
# Then, at each size, with the table full:
#   1. the requests, one wrk run each (after a warm-up, once every
#      process of the bench is idle): the list (scope=mine, user 1's
#      first page of 10, all a user has at 10k; scope=company as company
#      1's admin, 50), the status of a random one of (up to 10,000 of)
#      company 1's recordings, the admin list and stats, the access-log
#      page (50 of 1,000 rows), /metrics, and the search of what was
#      said as company 1's admin, for a word in 3 of its recordings and
#      for one in all it has transcripts of (one recording in ten, six
#      segments each; loaded after the recordings); requests/s, p50, p99,
#      answers >= 400 (there must be none), CPU a request, and the
#      ratio to the same row at the smallest size.  A row whose
#      pre-flight request fails, or takes longer than --timeout, fails
#      without a wrk run;
#   2. the expire pass: --reapers meetrec-reaper --once --pass expire
#      --limit <backlog> at once, timed from the start of the first to
#      the exit of the last (wall), and from the first's "reaper
#      started" log line to the last's "pass=expire done" (the span,
#      which rows/s and us a row are taken over); then the rows in the
#      trash must be exactly the backlog, and the reapers' logs must
#      name each of them action=expired exactly once (the split between
#      reapers printed);
#   3. the purge pass: the backlog's deleted_at moved back past
#      trash_days in one UPDATE, VACUUM ANALYZE, then the same with
#      --pass purge: the backlog's rows gone, each action=purged once.
# A pass still running after --pass-timeout seconds is stopped
# (SIGTERM: each reaper finishes its row) and measured on the rows it
# did, marked partial.  The upload and stale passes are not measured:
# their cost a row is a file copy or a LiveKit call, not the table.
#
# The tables go to stdout and, with the machine, the commit, the
# settings and the acceptance checks, to the "## Volume" section of
# bench/RESULTS.md (replaced, the rest of the file kept; --results FILE
# elsewhere, --results - nowhere).  Everything started is stopped by pid
# at the end, on an error and on Ctrl-C; the cluster's data folder is
# removed then unless --keep.  Exit status 1 when a check failed (an
# answer >= 400, a row done twice or not at all, a count that is off).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../t/lib";
use File::Path qw(make_path remove_tree);
use Getopt::Long;
use POSIX qw(strftime);
use Time::Local qw(timegm);
use Time::HiRes ();
use Meetrec::Bench::About;
use Meetrec::Bench::Data;
use Meetrec::Bench::Sample;
use Meetrec::Test::Pg;
use Meetrec::Test::Proc qw(spawn);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(slurp spew src_root http);

my %o = (sizes => '10k,100k,1M', reapers => 4, duration => 10,
    connections => 32, threads => 2, workers => 2, 'nginx-workers' => 'auto',
    warmup => 1, timeout => 10, 'pass-timeout' => 1800);
sub usage {
	die "usage: bench/volume.pl [--sizes 10k,100k,1M[,10M]] [--reapers n] "
	    . "[--duration s] [--connections n] [--threads n] [--workers n] "
	    . "[--nginx-workers n|auto] [--warmup s] [--timeout s] "
	    . "[--pass-timeout s] [--only regex] [--keep] "
	    . "[--results file|-]\n";
}
GetOptions(\%o, 'sizes=s', 'reapers=i', 'duration=i', 'connections=i',
    'threads=i', 'workers=i', 'nginx-workers=s', 'warmup=i', 'timeout=i',
    'pass-timeout=i', 'only=s', 'keep', 'results=s')
    && !@ARGV or usage();
$o{duration} > 0 && $o{connections} > 0 && $o{workers} > 0
    && $o{reapers} > 0 && $o{'pass-timeout'} > 0 or usage();
$| = 1;
my $SRC = src_root();
$ENV{MEETREC_BUILDDIR} //= "$SRC/build/default";
my $LUA = "$FindBin::Bin/paths.lua";
my $HZ = Meetrec::Bench::Sample::hz();
my $USERS = $Meetrec::Bench::Data::USERS;
my $DUE_PREFIX = 'volume-due';
my $DUE_EVERY = 10;		# the backlog: one recording in 10
my $AUDIT_EVERY = 10;		# an audit row for one recording in 10
my $AUDIT_PAGE = 1000;		# and this many on recording 1
my $TRASH_DAYS = 30;		# written to meetrec.conf
my $STATUS_IDS = 10_000;	# status paths: up to this many ids
my $LIMIT_MAX = 1_000_000;	# meetrec-reaper's --limit at most
sub note { print STDERR "volume: @_\n" }

# --sizes: 10k, 100k, 1M, 10M (any multiple of 10,000: each user's
# recordings, and the tenth of them that is due, are whole numbers).
my @SIZES;
{
	my %seen;
	for my $w (split /,/, $o{sizes}) {
		my ($v, $u) = $w =~ /^\s*(\d+)\s*([kKmM]?)\s*$/ or usage();
		my $n = $v * ($u =~ /k/i ? 1e3 : $u =~ /m/i ? 1e6 : 1);
		die "volume: size $w: a multiple of 10,000 is needed\n"
		    if $n < 10_000 || $n % 10_000;
		push @SIZES, $n unless $seen{$n}++;
	}
	@SIZES = sort { $a <=> $b } @SIZES;
	@SIZES or usage();
}
sub label {
	my ($n) = @_;
	return $n % 1e6 == 0 ? ($n / 1e6) . 'M' : $n % 1e3 == 0
	    ? ($n / 1e3) . 'k' : $n;
}
sub commas { my $n = reverse int($_[0]); $n =~ s/(\d{3})(?=\d)/$1,/g;
    return scalar reverse $n }
my $only = defined $o{only} ? (eval { qr/$o{only}/ } or usage()) : undef;

my @miss = Meetrec::Test::Stack::prereqs_missing();
push @miss, 'wrk not found (Debian package wrk)'
    unless system('command -v wrk >/dev/null 2>&1') == 0;
push @miss, 'meetrec-reaper not built (' . Meetrec::Test::Stack::reaper_bin()
    . ')' unless -x Meetrec::Test::Stack::reaper_bin();
die "volume: cannot run: @miss\n" if @miss;

# ---------------------------------------------------------------------
# Bring-up

my $t_start = time;
my $load_before = (split ' ', slurp('/proc/loadavg'))[0];
note('sizes: ' . join(', ', map { label($_) } @SIZES) . "; starting the "
    . "stack ($o{workers} workers)");
my $MAXREQ = 1_000_000_000;
my $s = Meetrec::Test::Stack->new(name => 'volume', workers => $o{workers},
    max_requests => $MAXREQ, nginx_workers => $o{'nginx-workers'},
    conf => { log_level => 'warn', trash_days => $TRASH_DAYS });
my $pg = $s->pg;
my $dir = $s->dir . '/volume';
make_path($dir);
# Data.pm's psql runs as the cluster's bootstrap role, a superuser: the
# bulk load may turn triggers off.
die "volume: role $Meetrec::Test::Pg::ROLE is not a superuser\n"
    unless $pg->psql('SELECT rolsuper FROM pg_roles WHERE rolname = '
    . "current_user") eq 't';
my $has_recount = $pg->psql('SELECT count(*) FROM pg_proc p JOIN '
    . 'pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = '
    . "'project_management' AND p.proname = 'meetrec_recount'") > 0;
note('project_management.meetrec_recount() '
    . ($has_recount ? 'exists: run after each load' : 'does not exist'));

my $ttl = 7 * 86400;
my $c1 = Meetrec::Bench::Data::company(1);
my $u1 = Meetrec::Bench::Data::user(1);
my $rec1 = Meetrec::Bench::Data::recording(1);
my $admin_tok = $s->token(user => Meetrec::Bench::Data::uuid_of('admin1'),
    company => $c1, username => 'admin1', role => 'admin', ttl => $ttl);
my $user_tok = $s->token(user => $u1, company => $c1, username => 'user1',
    ttl => $ttl);
my $auth_admin = "Authorization: Bearer $admin_tok";
my $auth_user = "Authorization: Bearer $user_tok";

# The request rows, the same at every size.  paths: a file of paths
# (one picked at random a request), made for each size.  Every row's
# page is full at every size: user 1's list asks for 10 rows, what a
# user has at 10k (the others' default of 50 come from 1,000 rows and
# more), so that a size's figures differ by the table, not the answer.
my @REQ = (
	{ key => 'mine', name => 'GET /api/recordings/?scope=mine&limit=10 '
	  . '(user 1)', path => '/api/recordings/?scope=mine&limit=10',
	  headers => [$auth_user], goal => 1 },
	{ key => 'company', name => 'GET /api/recordings/?scope=company '
	  . '(admin)', path => '/api/recordings/?scope=company',
	  headers => [$auth_admin], goal => 1 },
	{ key => 'status', name => 'GET /api/recordings/{id}/status '
	  . '(company 1, random)', path => '/', status_paths => 1,
	  headers => [$auth_admin], goal => 1 },
	{ key => 'admin', name => 'GET /api/admin/recordings',
	  path => '/api/admin/recordings', headers => [$auth_admin] },
	{ key => 'stats', name => 'GET /api/admin/stats',
	  path => '/api/admin/stats', headers => [$auth_admin] },
	{ key => 'log', name => 'GET /api/recordings/{id}/access-log '
	  . "(${\ commas($AUDIT_PAGE)} rows)",
	  path => "/api/recordings/$rec1/access-log", headers => [$auth_user] },
	{ key => 'metrics', name => 'GET /metrics', path => '/metrics',
	  goal => 1 },
	{ key => 'search_rare', name => 'GET /api/recordings/?q=giraffe '
	  . '(admin; said in 3 of the company\'s recordings)',
	  path => '/api/recordings/?q=giraffe', headers => [$auth_admin] },
	{ key => 'search_common', name => 'GET /api/recordings/?q=budget '
	  . '(admin; said in every transcribed recording)',
	  path => '/api/recordings/?q=budget', headers => [$auth_admin] },
);
my @PASSES = (
	{ key => 'expire', name => 'expire pass', action => 'expired' },
	{ key => 'purge', name => 'purge pass', action => 'purged' },
);
if ($only) {
	@REQ = grep { $_->{name} =~ $only } @REQ;
	@PASSES = grep { $_->{name} =~ $only } @PASSES;
	die "volume: nothing's name matches '$o{only}'\n"
	    unless @REQ || @PASSES;
}

# ---------------------------------------------------------------------
# Measuring

my $pg_pid = $pg->pid;
sub sum { my $n = 0; $n += $_ // 0 for @_; return $n }
sub groups {
	return (app => { tree => [ $s->pool_pid ] },
	    pg => { tree => [$pg_pid] },
	    nginx => { tree => [ $s->nginx->pid ] });
}

# settle($max) - wait, up to $max seconds (20), until the pool, nginx
# and PostgreSQL together used at most 2 clock ticks in 250 ms (as
# bench/http.pl).  Returns the seconds waited, negative when they never
# settled.
sub settle {
	my ($max) = @_;
	$max //= 20;
	my %g = groups();
	my $cpu = sub {
		my ($snap) = @_;
		return sum(map { Meetrec::Bench::Sample::cpu($snap, %$_) }
		    values %g);
	};
	my $t0 = Time::HiRes::time();
	my $prev = $cpu->(Meetrec::Bench::Sample::snapshot());
	for (;;) {
		Time::HiRes::sleep(0.25);
		my $cur = $cpu->(Meetrec::Bench::Sample::snapshot());
		my $waited = Time::HiRes::time() - $t0;
		return $waited if $cur - $prev <= 2;
		return -$waited if $waited > $max;
		$prev = $cur;
	}
}

sub run_wrk {
	my ($r, $d) = @_;
	return Meetrec::Bench::Sample::wrk(url => $r->{url},
	    connections => $o{connections}, threads => $o{threads},
	    duration => $d, timeout => $o{timeout}, headers => $r->{headers},
	    paths => $r->{paths}, script => $LUA);
}

my @failures;		# what makes the exit status 1
sub fail { my ($m) = @_; push @failures, $m; note("FAILED: $m") }

# measure($row) - the pre-flight request, the warm-up, then one wrk run
# with the CPU of the pool, PostgreSQL and nginx around it.  A pre-flight
# that is not a 2xx, or that took longer than wrk's --timeout, fails the
# row and skips its wrk run: wrk would count nothing but errors, and
# the pool would be busy with what it queued long after.
my $slow_before = 0;	# the last row left work queued
sub measure {
	my ($r) = @_;
	my $first = $r->{url};
	if ($r->{paths}) {
		my ($p) = split /\n/, slurp($r->{paths}), 2;
		($first = $r->{url}) =~ s{/\z}{};
		$first .= $p;
	}
	my %h = map { /^([^:]+):\s*(.*)$/ ? ($1 => $2) : () }
	    @{ $r->{headers} // [] };
	# What an earlier row left queued is not this one's.
	$r->{settle} = settle($slow_before ? 150 : 20);
	$slow_before = 0;
	my $t0 = Time::HiRes::time();
	my $pf = http(GET => $first, { headers => \%h, timeout => 600 });
	$r->{first_ms} = 1000 * (Time::HiRes::time() - $t0);
	if ($pf->{status} !~ /^2/) {
		$r->{skipped} = "pre-flight answered $pf->{status}";
		fail("$r->{size_label}: $r->{name}: the pre-flight request "
		    . "answered $pf->{status} "
		    . substr($pf->{body} // '', 0, 300) . ' (no wrk run)');
		return $r;
	}
	if ($r->{first_ms} > 1000 * $o{timeout}) {
		$r->{skipped} = sprintf 'one request took %.2f s',
		    $r->{first_ms} / 1000;
		fail(sprintf '%s: %s: one request took %.2f s, over wrk\'s '
		    . '--timeout of %d s (no wrk run)', $r->{size_label},
		    $r->{name}, $r->{first_ms} / 1000, $o{timeout});
		return $r;
	}
	my $t = settle();
	$r->{settle} = $t if $t < 0;
	if ($o{warmup}) {
		run_wrk($r, $o{warmup});
		my $t = settle();
		$r->{settle} = $t if $t < 0;
	}
	my %g = groups();
	my $s0 = Meetrec::Bench::Sample::snapshot();
	my $w = run_wrk($r, $o{duration});
	my $s1 = Meetrec::Bench::Sample::snapshot();
	for my $k (keys %g) {
		my $t = Meetrec::Bench::Sample::cpu($s1, %{ $g{$k} })
		    - Meetrec::Bench::Sample::cpu($s0, %{ $g{$k} });
		$r->{cpu}{$k} = $w->{requests} ? $t / $HZ * 1e6 / $w->{requests}
		    : undef;
	}
	$r->{w} = $w;
	$r->{sockerr} = sum(values %{ $w->{errors} });
	$slow_before = 1 if $r->{sockerr} || $w->{p99} > 1000 * $o{timeout} / 2;
	fail("$r->{size_label}: $r->{name}: $w->{status} answers >= 400")
	    if $w->{status};
	fail("$r->{size_label}: $r->{name}: $r->{sockerr} socket errors "
	    . '(timeouts included)') if $r->{sockerr};
	return $r;
}

# The environment of meetrec-* as the stack runs them (its sanitizer
# options, no MEETREC_* of the caller's shell), with the reaper's log
# at info: one line a row, which the checks read.
my %REAPER_ENV = (%{ $s->_prog_env }, MEETREC_LOG_LEVEL => 'info');

# reap($size, $pass, $backlog) - the pass by --reapers reapers at once.
# Returns { secs, partial, reapers => [ { pid, log, exit, items, done
# (rows with the pass's action), other (other actions) } ], ids => {
# id => times done }, cpu_reapers, cpu_pg } (CPU in seconds).
sub reap {
	my ($size, $p, $backlog) = @_;
	my $limit = $backlog < $LIMIT_MAX ? $backlog : $LIMIT_MAX;
	$limit = 1 if $limit < 1;
	my @t0 = times;
	my $pg0 = Meetrec::Bench::Sample::cpu(
	    Meetrec::Bench::Sample::snapshot(), tree => [$pg_pid]);
	my $t0 = Time::HiRes::time();
	my @procs;
	for my $k (1 .. $o{reapers}) {
		my $log = "$dir/" . label($size) . "-$p->{key}-$k.log";
		unlink $log;
		push @procs, spawn("reaper-$p->{key}-$k", [
		    Meetrec::Test::Stack::reaper_bin(), '--config',
		    $s->conf_path, '--once', '--pass', $p->{key}, '--limit',
		    $limit ], \%REAPER_ENV, $s->dir, cwd => $s->dir,
		    log => $log);
	}
	my $partial = 0;
	while (grep { $_->alive } @procs) {
		if (!$partial
		    && Time::HiRes::time() - $t0 > $o{'pass-timeout'}) {
			note("$p->{name} still running after "
			    . "$o{'pass-timeout'} s: stopping the reapers");
			$partial = 1;
			$_->signal('TERM') for @procs;
		}
		Time::HiRes::sleep(0.01);
	}
	my $secs = Time::HiRes::time() - $t0;
	my @t1 = times;
	my $pg1 = Meetrec::Bench::Sample::cpu(
	    Meetrec::Bench::Sample::snapshot(), tree => [$pg_pid]);
	my (%ids, @rp);
	for my $k (0 .. $#procs) {
		my $pr = $procs[$k];
		my %r = (pid => $pr->pid, log => $pr->log_path,
		    exit => $pr->describe, done => 0, other => {});
		open my $fh, '<', $pr->log_path
		    or die "volume: $pr->{log}: $!\n";
		while (my $l = <$fh>) {
			if ($l =~ /\bpass=$p->{key} rec=(\S+) action=(\S+)/) {
				if ($2 eq $p->{action}) {
					$ids{$1}++;
					$r{done}++;
				} else {
					$r{other}{$2}++;
				}
			} elsif ($l =~
			    /\bpass=$p->{key} done items=(-?\d+) dur_ms=(\d+)/) {
				$r{items} = $1;
				$r{dur_ms} = $2;
				$r{t_done} = logtime($l);
			} elsif ($l =~ /\breaper started /) {
				$r{t_start} = logtime($l);
			}
		}
		close $fh;
		push @rp, \%r;
	}
	return { secs => $secs, partial => $partial, reapers => \@rp,
	    ids => \%ids, cpu_reapers => ($t1[2] - $t0[2]) + ($t1[3] - $t0[3]),
	    cpu_pg => ($pg1 - $pg0) / $HZ };
}

# logtime($line) - the time a log line starts with (2026-12-06T04:17:57.715Z)
# in seconds, or undef.
sub logtime {
	my ($l) = @_;
	my ($y, $mo, $d, $h, $mi, $sec) = $l =~
	    /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)Z/ or return undef;
	return timegm(0, $mi, $h, $d, $mo - 1, $y) + $sec;
}

my $RT = 'project_management.pm_meeting_recordings';
my $LT = 'project_management.pm_recording_access_logs';
my $TT = 'project_management.pm_recording_transcripts';
my $ST = 'project_management.pm_transcript_segments';
my $DUE = "storage_path LIKE '$DUE_PREFIX/%'";

# check_pass($size, $pass, $res, $backlog, $db_done) - the pass did every
# row of the backlog once: the ids the logs name match the rows the
# database shows done ($db_done, an id => 1 hash), none twice.
sub check_pass {
	my ($size, $p, $res, $backlog, $db_done) = @_;
	my $L = label($size) . ": $p->{name}";
	my $ids = $res->{ids};
	my @twice = grep { $ids->{$_} > 1 } keys %$ids;
	my @not_db = grep { !$db_done->{$_} } keys %$ids;
	my @not_log = grep { !$ids->{$_} } keys %$db_done;
	$res->{rows} = scalar keys %$ids;
	$res->{twice} = scalar @twice;
	$res->{db_rows} = scalar keys %$db_done;
	fail("$L: " . scalar(@twice) . " rows done twice or more, e.g. "
	    . "$twice[0]") if @twice;
	fail("$L: " . scalar(@not_db) . " rows logged $p->{action} but not "
	    . "so in the table, e.g. $not_db[0]") if @not_db;
	fail("$L: " . scalar(@not_log) . " rows $p->{action} in the table "
	    . "that no reaper logged, e.g. $not_log[0]") if @not_log;
	if (!$res->{partial} && $res->{db_rows} != $backlog) {
		fail("$L: $res->{db_rows} rows $p->{action}, the backlog is "
		    . "$backlog");
	}
	for my $r (@{ $res->{reapers} }) {
		fail("$L: reaper pid $r->{pid} ended with $r->{exit} (log "
		    . "$r->{log})") unless $r->{exit} eq 'exit 0'
		    || ($res->{partial} && $r->{exit} =~ /^exit [01]$/);
		fail("$L: reaper pid $r->{pid} logged "
		    . join(', ', map { "$r->{other}{$_} action=$_" }
		    sort keys %{ $r->{other} })) if %{ $r->{other} };
		fail("$L: reaper pid $r->{pid} says items=$r->{items}, its "
		    . "log names $r->{done} rows") if defined $r->{items}
		    && $r->{items} != $r->{done};
	}
	my $n = $res->{rows} || 1;
	# The span: from the first reaper's "reaper started" line to the
	# last one's "pass=... done" line, so without exec and connecting
	# (a share of the wall time at a small backlog); the wall time when
	# a log lacks them.
	my @st = grep { defined } map { $_->{t_start} } @{ $res->{reapers} };
	my @dn = grep { defined } map { $_->{t_done} } @{ $res->{reapers} };
	my ($t0) = sort { $a <=> $b } @st;
	my ($t1) = sort { $b <=> $a } @dn;
	$res->{span} = @st == @{ $res->{reapers} } && @dn == @st
	    && $t1 > $t0 ? $t1 - $t0 : $res->{secs};
	$res->{rps} = $res->{rows} / $res->{span};
	$res->{us_row} = $res->{span} * 1e6 / $n;
	$res->{wall_us_row} = $res->{secs} * 1e6 / $n;
	$res->{cpu_us_row} = ($res->{cpu_reapers} + $res->{cpu_pg}) * 1e6 / $n;
	$res->{split} = join('/', map { $_->{done} } @{ $res->{reapers} });
	return $res;
}

# ids($where) - { id => 1 } of the recordings matching $where.
sub ids {
	my ($where) = @_;
	my %h = map { $_ => 1 } grep { length }
	    split /\n/, $pg->psql("SELECT id FROM $RT WHERE $where",
	    timeout => 3600);
	return \%h;
}

# ---------------------------------------------------------------------
# The sizes

my (@builds, @rows, @passes);
for my $size (@SIZES) {
	my $L = label($size);
	my $per_user = $size / $USERS;
	my $t_size = Time::HiRes::time();

	# A fresh table: everything that points at a recording or a room
	# goes with them (CASCADE), the webhook events too, and the audit
	# trail, which outlives its recordings and refuses a TRUNCATE but
	# for a superuser with triggers off; once the requests the last
	# size's wrk left behind are answered (their locks would deadlock
	# with the TRUNCATE).
	settle(150);
	note("$L: emptying the tables");
	$pg->psql("SET session_replication_role = replica; "
	    . "TRUNCATE project_management.pm_meeting_rooms, $RT, $LT, "
	    . 'project_management.pm_audit_heads, '
	    . 'project_management.pm_livekit_webhook_events CASCADE');
	note("$L: loading " . commas($size) . ' recordings ('
	    . commas($per_user) . ' a user), the backlog and the audit rows');
	my $t0 = Time::HiRes::time();
	my $d = Meetrec::Bench::Data::meetrec($pg, per_user => $per_user,
	    due => $DUE_EVERY, due_prefix => $DUE_PREFIX, audit => $AUDIT_EVERY,
	    audit_page => $AUDIT_PAGE, bulk => 1, timeout => 6 * 3600);
	my $t1 = Time::HiRes::time();
	$pg->psql('CHECKPOINT', timeout => 3600);
	my $bld = { size => $size, label => $L, %$d,
	    checkpoint_s => Time::HiRes::time() - $t1,
	    build_s => Time::HiRes::time() - $t0 };
	$bld->{due} == $size / $DUE_EVERY or die "volume: $L: the backlog is "
	    . "$bld->{due} rows, not " . $size / $DUE_EVERY . "\n";
	my ($heap, $total, $lt_total) = split /\|/, $pg->psql(
	    "SELECT pg_relation_size('$RT'), pg_total_relation_size('$RT'), "
	    . "pg_total_relation_size('$LT')");
	@$bld{qw(heap_b total_b logs_b)} = ($heap, $total, $lt_total);
	push @builds, $bld;
	note(sprintf '%s: built in %.1f s (insert %.1f s, recount %s, vacuum '
	    . 'analyze %.1f s, checkpoint %.1f s); recordings %.0f MiB with '
	    . 'indexes, audit rows %.0f MiB', $L, $bld->{build_s}, $bld->{load_s},
	    $bld->{recount} ? sprintf('%.1f s', $bld->{recount_s}) : 'none',
	    $bld->{vacuum_s}, $bld->{checkpoint_s}, $total / 2**20,
	    $lt_total / 2**20);

	# The transcripts searched: one recording in ten (by its id) has six
	# segments, each with "budget" in it; three of each company's say
	# "giraffe" too.  Loaded after the recordings, with the index.
	if (grep { $_->{key} =~ /^search/ } @REQ) {
		my $t = Time::HiRes::time();
		$pg->psql(<<"EOF2", timeout => 6 * 3600);
INSERT INTO $TT (recording_id, company_id, status, ts_config, language,
    segments, seconds, done_at)
SELECT id, company_id, 'done', 'english', 'en', 6, 60, now() FROM $RT
WHERE get_byte(uuid_send(id), 15) % 10 = 3;
INSERT INTO $ST (recording_id, seq, company_id, start_ms, end_ms, text,
    ts_config)
SELECT t.recording_id, k, t.company_id, k * 10000, k * 10000 + 8000,
    'We looked at the budget for item ' || (k + 1)
    || CASE WHEN k = 0 AND t.n <= 3 THEN ' and the giraffe project'
	ELSE '' END || '.', 'english'
FROM (SELECT recording_id, company_id, row_number() OVER (PARTITION BY
    company_id ORDER BY recording_id) AS n FROM $TT) t,
    generate_series(0, 5) AS k;
VACUUM ANALYZE $TT;
VACUUM ANALYZE $ST;
EOF2
		my $n = $pg->psql("SELECT count(*) FROM $ST");
		note(sprintf '%s: %s transcript segments in %.1f s', $L,
		    commas($n), Time::HiRes::time() - $t);
		$bld->{segments} = $n;
	}

	# 1. The requests, on the full table.
	my $cids = $size / 10;		# company 1 has a tenth
	my $paths = "$dir/status-$L.paths";
	{
		# Up to $STATUS_IDS of company 1's recordings (i = 1 + 10 k),
		# drawn at random over the whole table, the same every run.
		srand(1);
		my %pick;
		my $want = $cids < $STATUS_IDS ? $cids : $STATUS_IDS;
		while (keys(%pick) < $want) {
			$pick{ int(rand($cids)) } = 1;
		}
		spew($paths, join('', map { '/api/recordings/'
		    . Meetrec::Bench::Data::recording(1 + 10 * $_) . "/status\n" }
		    sort { $a <=> $b } keys %pick));
	}
	for my $q (@REQ) {
		my $r = { %$q, size => $size, size_label => $L,
		    url => $s->url($q->{path}),
		    $q->{status_paths} ? (paths => $paths) : () };
		note(sprintf '%s: %s', $L, $r->{name});
		measure($r);
		note(sprintf '%s:     %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d >= '
		    . '400, %d socket errors', $L, $r->{w}{rps}, $r->{w}{p50},
		    $r->{w}{p99}, $r->{w}{status}, $r->{sockerr}) if $r->{w};
		push @rows, $r;
	}

	# 2. and 3. The passes.
	my $backlog = $bld->{due};
	for my $p (@PASSES) {
		my $res = { size => $size, size_label => $L, key => $p->{key},
		    name => $p->{name}, backlog => $backlog };
		if ($p->{key} eq 'purge') {
			# The backlog in the trash for longer than trash_days
			# (whether the expire pass ran or not), leases off.
			my $t = Time::HiRes::time();
			$pg->psql("UPDATE $RT SET deleted_at = now() - "
			    . "make_interval(days => $TRASH_DAYS + 1) - "
			    . '(hashtext(id::text) & 1048575) * interval '
			    . "'1 second', trash_reason = 'expired', "
			    . 'lease_owner = NULL, lease_until = NULL WHERE '
			    . $DUE, timeout => 6 * 3600);
			$pg->psql("VACUUM ANALYZE $RT", timeout => 6 * 3600);
			$res->{prep_s} = Time::HiRes::time() - $t;
			$res->{logs_before} =
			    $pg->psql("SELECT count(*) FROM $LT");
		}
		note("$L: $p->{name} over a backlog of " . commas($backlog)
		    . " rows, $o{reapers} reapers");
		my $db_before = $p->{key} eq 'purge' ? ids($DUE) : undef;
		my $r = reap($size, $p, $backlog);
		%$res = (%$res, %$r);
		my $done;
		if ($p->{key} eq 'expire') {
			$done = ids("deleted_at IS NOT NULL AND "
			    . "trash_reason = 'expired'");
			my $stray = $pg->psql("SELECT count(*) FROM $RT WHERE "
			    . "deleted_at IS NOT NULL AND NOT coalesce($DUE, "
			    . 'false)');
			fail("$L: the expire pass trashed $stray rows outside "
			    . 'the backlog') if $stray;
		} else {
			# Done: the backlog's rows that are gone.
			my $left = ids($DUE);
			$done = { map { $_ => 1 }
			    grep { !$left->{$_} } keys %$db_before };
			my $total_left = $pg->psql("SELECT count(*) FROM $RT");
			fail("$L: $total_left recordings left after the purge, "
			    . 'not ' . ($size - keys(%$done)))
			    if $total_left != $size - keys %$done;
			$res->{logs_after} =
			    $pg->psql("SELECT count(*) FROM $LT");
		}
		check_pass($size, $p, $res, $backlog, $done);
		note(sprintf '%s:     %s rows in %.2f s (%.2f s from the first '
		    . 'start to the last done)%s: %.0f rows/s, %.1f us a row '
		    . '(CPU %.1f us), split %s, %d done twice', $L,
		    commas($res->{rows}), $res->{secs}, $res->{span},
		    $res->{partial}
		    ? ' (PARTIAL: stopped at --pass-timeout)' : '',
		    $res->{rps}, $res->{us_row}, $res->{cpu_us_row},
		    $res->{split}, $res->{twice});
		push @passes, $res;
	}
	$bld->{size_s} = Time::HiRes::time() - $t_size;
}

# ---------------------------------------------------------------------
# Stop everything, then report

my $load_after = (split ' ', slurp('/proc/loadavg'))[0];
my $pool_log = $s->log('pool');
my @crashes = grep { /respawn|exited on signal/ } split /\n/, $pool_log;
fail("the pool log shows a worker respawn: $crashes[0]") if @crashes;
note('stopping everything');
$s->shutdown;
my $pgdir = $s->dir . '/pg';
if (!$o{keep} && -d $pgdir) {
	# A 10M cluster is gigabytes: gone, the logs kept.
	remove_tree($pgdir);
}

# Ratios to the smallest size of this run.
my $S0 = $SIZES[0];
my (%row0, %pass0);
for (@rows) { $row0{ $_->{key} } = $_ if $_->{size} == $S0 }
for (@passes) { $pass0{ $_->{key} } = $_ if $_->{size} == $S0 }
for my $r (@rows) {
	my $z = $row0{ $r->{key} };
	$r->{vs} = $z && $z->{w}{rps} ? $r->{w}{rps} / $z->{w}{rps} : undef;
}
for my $p (@passes) {
	my $z = $pass0{ $p->{key} };
	$p->{vs} = $z && $z->{us_row} ? $p->{us_row} / $z->{us_row} : undef;
	$p->{vs_wall} = $z && $z->{wall_us_row}
	    ? $p->{wall_us_row} / $z->{wall_us_row} : undef;
	$p->{vs_cpu} = $z && $z->{cpu_us_row}
	    ? $p->{cpu_us_row} / $z->{cpu_us_row} : undef;
}

sub fmt {
	my ($f, $v) = @_;
	return defined $v ? sprintf($f, $v) : '-';
}

my @BCOLS = ('size', 'recordings', 'audit rows', 'build s', 'insert s',
    'recount s', 'vacuum s', 'checkpoint s', 'heap MiB',
    'with indexes MiB', 'audit MiB', 'size total s');
my @bcells = map { my $bd = $_; [ $bd->{label}, commas($bd->{recordings}),
    commas($bd->{audit}), fmt('%.1f', $bd->{build_s}),
    fmt('%.1f', $bd->{load_s}), $bd->{recount} ? fmt('%.1f', $bd->{recount_s})
    : 'none', fmt('%.1f', $bd->{vacuum_s}), fmt('%.1f', $bd->{checkpoint_s}),
    fmt('%.0f', $bd->{heap_b} / 2**20), fmt('%.0f', $bd->{total_b} / 2**20),
    fmt('%.0f', $bd->{logs_b} / 2**20), fmt('%.0f', $bd->{size_s}) ] }
    @builds;
my @RCOLS = ('size', 'row', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx',
    'sock err', 'vs ' . label($S0), 'first ms', 'app us/req', 'pg us/req',
    'nginx us/req');
my @rcells = map { my $r = $_; [ $r->{size_label}, $r->{name}
    . ($r->{skipped} ? " (not run: $r->{skipped})" : ''),
    fmt('%.0f', $r->{w}{rps}), fmt('%.2f', $r->{w}{p50}),
    fmt('%.2f', $r->{w}{p99}), fmt('%d', $r->{w}{status}),
    fmt('%d', $r->{sockerr}),
    fmt('%.2fx', $r->{vs}), fmt('%.1f', $r->{first_ms}),
    fmt('%.0f', $r->{cpu}{app}), fmt('%.0f', $r->{cpu}{pg}),
    fmt('%.0f', $r->{cpu}{nginx}) ] } @rows;
my @PCOLS = ('size', 'pass', 'backlog', 'rows done', 'wall s', 'span s',
    'rows/s', 'us/row', 'vs ' . label($S0), 'wall us/row', 'CPU us/row',
    'CPU vs ' . label($S0), 'split (rows a reaper)', 'done twice',
    'audit rows gone', 'prep s');
my @pcells = map { my $p = $_; [ $p->{size_label}, $p->{name}
    . ($p->{partial} ? ' (PARTIAL)' : ''), commas($p->{backlog}),
    commas($p->{rows}), fmt('%.2f', $p->{secs}), fmt('%.2f', $p->{span}),
    fmt('%.0f', $p->{rps}), fmt('%.1f', $p->{us_row}),
    fmt('%.2fx', $p->{vs}), fmt('%.1f', $p->{wall_us_row}),
    fmt('%.1f', $p->{cpu_us_row}), fmt('%.2fx', $p->{vs_cpu}),
    $p->{split}, $p->{twice},
    defined $p->{logs_after} ? commas($p->{logs_before} - $p->{logs_after})
    : '-', fmt('%.1f', $p->{prep_s}) ] } @passes;

sub plain {
	my ($cols, $cells) = @_;
	my @w = map { length } @$cols;
	for my $c (@$cells) {
		for my $i (0 .. $#$c) {
			$w[$i] = length $c->[$i] if length $c->[$i] > $w[$i];
		}
	}
	my $f = join(' ', "%-$w[0]s", "%-$w[1]s",
	    map { "%${_}s" } @w[2 .. $#w]) . "\n";
	return join '', map { sprintf $f, @$_ } $cols, @$cells;
}

sub md {
	my ($cols, $cells, $left) = @_;
	return '| ' . join(' | ', @$cols) . " |\n"
	    . '|' . join('|', map { $_ < $left ? '---' : '---:' } 0 .. $#$cols)
	    . "|\n" . join('', map { '| ' . join(' | ', @$_) . " |\n" } @$cells);
}

# The acceptance checks.  Passes: the per-row cost at the largest
# backlog of the run against the smallest, judged when that backlog is
# 1,000,000 rows or more (the 10M size).  Requests: req/s at the largest
# size against the smallest, judged when those are 10M and 10k.
my @goals;
my $SN = $SIZES[-1];
for my $p (@PASSES) {
	my ($a) = grep { $_->{key} eq $p->{key} && $_->{size} == $S0 } @passes;
	my ($z) = grep { $_->{key} eq $p->{key} && $_->{size} == $SN } @passes;
	next unless $a && $z;
	my $judged = $z->{backlog} >= 1_000_000;
	my $ok = defined $z->{vs} && $z->{vs} <= 2 && !$z->{partial};
	push @goals, sprintf '%s per-row cost at a backlog of %s rows (size '
	    . '%s) vs %s rows (size %s): %.2fx (%.1f vs %.1f us a row over '
	    . 'the span; wall time %.2fx, CPU %.2fx), goal <= 2x with a '
	    . 'backlog >= 1,000,000 rows: %s',
	    $p->{key}, commas($z->{backlog}), $z->{size_label},
	    commas($a->{backlog}), $a->{size_label}, $z->{vs} // 0,
	    $z->{us_row}, $a->{us_row}, $z->{vs_wall} // 0, $z->{vs_cpu} // 0,
	    $judged
	    ? ($ok ? 'met' : 'NOT MET') . ($z->{partial} ? ' (the pass was '
		. 'stopped at --pass-timeout)' : '')
	    : 'not judged, this run\'s largest backlog is '
		. commas($z->{backlog}) . ' rows (add --sizes ...,10M)';
	my @bad = grep { $_->{key} eq $p->{key} && $_->{twice} } @passes;
	push @goals, sprintf '%s with %d reapers in parallel: %s; rows a '
	    . 'reaper: %s', $p->{key}, $o{reapers}, @bad ? 'a row done twice '
	    . 'at ' . join(', ', map { $_->{size_label} } @bad)
	    : 'no row done twice at any size',
	    join('; ', map { "$_->{size_label} $_->{split}" }
	    grep { $_->{key} eq $p->{key} } @passes);
}
for my $q (grep { $_->{goal} } @REQ) {
	my ($a) = grep { $_->{key} eq $q->{key} && $_->{size} == $S0 } @rows;
	my ($z) = grep { $_->{key} eq $q->{key} && $_->{size} == $SN } @rows;
	next unless $a && $z && $S0 != $SN;
	my $judged = $SN >= 10_000_000 && $S0 <= 10_000;
	push @goals, sprintf '%s: %s req/s at %s vs %s at %s, %s '
	    . '(p99 %s vs %s ms); goal >= 0.5x at 10M vs 10k: %s',
	    $q->{name}, fmt('%.0f', $z->{w}{rps}), $z->{size_label},
	    fmt('%.0f', $a->{w}{rps}), $a->{size_label}, fmt('%.2fx', $z->{vs}),
	    fmt('%.2f', $z->{w}{p99}), fmt('%.2f', $a->{w}{p99}),
	    $judged ? (($z->{vs} // 0) >= 0.5 ? 'met' : 'NOT MET')
	    : 'not judged, this run goes from ' . $a->{size_label} . ' to '
		. $z->{size_label};
}
push @goals, 'checks: ' . (@failures ? scalar(@failures) . ' FAILED: '
    . join('; ', @failures) : 'all passed (every answer 2xx, every '
    . 'backlog row done once, the counts right)');

print "\nbuilds:\n", plain(\@BCOLS, \@bcells);
print "\nrequests (before the passes, the table full):\n",
    plain(\@RCOLS, \@rcells) if @rcells;
print "\nreaper passes ($o{reapers} reapers at once):\n",
    plain(\@PCOLS, \@pcells) if @pcells;
print "\nacceptance:\n", map { "  $_\n" } @goals;
my @unsettled = grep { ($_->{settle} // 0) < 0 } @rows;
my $NOTE_SETTLE = 'rows started before the work an earlier one left '
    . 'queued was done (20 s of waiting, 150 s after a row that timed out): '
    . (@unsettled ? join(', ', map { "$_->{size_label} $_->{name}" }
    @unsettled) : 'none');
my $NOTE_PASSES = 'the upload and stale passes: not measured.  Their '
    . 'cost a row is a file copied to storage or a LiveKit call, not the '
    . 'size of the table, and a backlog of 10% of the table of them is not '
    . 'a state meetrec can be in';
print "\nnotes:\n  $NOTE_PASSES\n  $NOTE_SETTLE\n";

# ---------------------------------------------------------------------
# bench/RESULTS.md: the "## Volume" section

sub cmd1 { return Meetrec::Bench::About::cmd1(@_) }

sub section {
	my $pgv = cmd1(Meetrec::Test::Pg::bindir() . '/postgres --version');
	my $md = "## Volume\n\n"
	    . "Written by `perl bench/volume.pl`; run it again rather than "
	    . "edit this section.  The ratios\nwithin one run are what "
	    . "count: on a shared machine absolute figures move from run to "
	    . "run.\n\n";
	$md .= "- command: `perl bench/volume.pl --sizes "
	    . join(',', map { label($_) } @SIZES) . " --reapers $o{reapers} "
	    . "--duration $o{duration} --connections $o{connections}"
	    . (defined $o{only} ? " --only '$o{only}'" : '') . "`\n";
	$md .= Meetrec::Bench::About::commit_line($SRC);
	$md .= '- build: `' . Meetrec::Test::Stack::fcgi_bin() . '`, `'
	    . Meetrec::Test::Stack::reaper_bin() . "`\n";
	$md .= '- date: ' . strftime('%Y-%m-%d %H:%M UTC', gmtime $t_start)
	    . sprintf(", %.0f s in all\n", time - $t_start);
	$md .= Meetrec::Bench::About::machine_line($load_before, $load_after);
	$md .= "- versions: "
	    . ($pgv =~ s/^postgres \(PostgreSQL\) /PostgreSQL /r)
	    . ', ' . (cmd1(Meetrec::Test::Nginx::binary() . ' -v')
	    =~ s/^nginx version: //r) . ', '
	    . (cmd1('wrk -v') =~ s/^(wrk \S+).*/$1/r) . "\n";
	$md .= "- stack: the pool with $o{workers} workers (static, "
	    . "log_level warn), nginx with the project's configuration "
	    . "(worker_processes $o{'nginx-workers'}), PostgreSQL as the "
	    . "tests run it (t/lib/Meetrec/Test/Pg.pm: shared_buffers 32MB, "
	    . "fsync off); trash_days $TRASH_DAYS\n";
	$md .= "- wrk: -t$o{threads} -c$o{connections} -d$o{duration}s "
	    . "--timeout $o{timeout}s, a $o{warmup} s warm-up before each row, "
	    . "bench/paths.lua; status: a random one of up to "
	    . commas($STATUS_IDS) . " of company 1's recordings a request; "
	    . "every page full at every size (user 1's list: limit 10, what "
	    . "a user has at 10k; the others: 50 rows of 1,000 or more)\n";
	$md .= "- data at each size: 1,000 users in 10 companies, size / "
	    . "1,000 recordings a user over ~347 days (Meetrec::Bench::Data); "
	    . "an audit row for one recording in $AUDIT_EVERY of each user's, "
	    . "and " . commas($AUDIT_PAGE) . " on user 1's newest (the "
	    . "access-log row); loaded with triggers off, then "
	    . ($has_recount ? '`project_management.meetrec_recount()`, '
		: '(no `meetrec_recount()` in this schema) ')
	    . "VACUUM ANALYZE and CHECKPOINT\n";
	$md .= "- backlog: one recording in $DUE_EVERY (10% of each user's) "
	    . "completed, past its expires_at, stored locally at a path "
	    . "whose file does not exist; the expire pass trashes them, the "
	    . "purge pass deletes them after one UPDATE put them "
	    . ($TRASH_DAYS + 1) . " days or more in the trash; each pass by "
	    . "$o{reapers} `meetrec-reaper --once --pass P --limit <backlog>` "
	    . "started at once (wall and span: below), "
	    . "--pass-timeout $o{'pass-timeout'} s\n";
	$md .= "- $NOTE_PASSES.\n- $NOTE_SETTLE.\n\n";
	$md .= "### Builds\n\n" . md(\@BCOLS, \@bcells, 1);
	$md .= "\n### Requests\n\nBefore the passes, on the full table.  "
	    . "vs " . label($S0) . ": req/s over the same row's at "
	    . label($S0) . "; first ms: the pre-flight request, the first "
	    . "of its kind at that size.\n\n" . md(\@RCOLS, \@rcells, 2)
	    if @rcells;
	$md .= "\n### Reaper passes\n\nwall s: from starting the first "
	    . "reaper to the last one's exit; span s: from the first one's "
	    . "`reaper started` log line to the last one's `pass=... done` "
	    . "line (without exec and connecting, a share of the wall time "
	    . "at a small backlog); rows/s and us/row: over the span, as the "
	    . "acceptance checks take them; "
	    . "CPU us/row: the reapers' and PostgreSQL's CPU "
	    . "time over the rows done; vs " . label($S0) . ": the same "
	    . "over that of " . label($S0) . " (above 1 is slower a row).  "
	    . "audit rows gone: the purged recordings' access-log rows, "
	    . "deleted with them (ON DELETE CASCADE).  "
	    . "prep s: the UPDATE and VACUUM that put the backlog in the "
	    . "trash for the purge, not timed.\n\n" . md(\@PCOLS, \@pcells, 2)
	    if @pcells;
	$md .= "\n### Acceptance\n\n" . join('', map { "- $_\n" } @goals);
	return $md;
}

my $results = $o{results} // "$SRC/bench/RESULTS.md";
if ($results ne '-') {
	my $old = -e $results ? slurp($results) : '';
	my $sec = section();
	# The section runs from its heading to the next "## " heading.
	if ($old =~ /^## Volume\n/m) {
		$old =~ s/^## Volume\n.*?(?=^## |\z)/$sec\n/ms;
		$old =~ s/\n+\z/\n/;
	} else {
		$old .= ($old eq '' ? '' : "\n") . $sec;
	}
	spew($results, $old);
	print "\nwritten: $results (section \"## Volume\")\n";
}
print "logs: $dir, ", $s->dir, "/log\n";
exit(@failures ? 1 : 0);
