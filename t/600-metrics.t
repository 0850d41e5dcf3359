#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# GET /metrics as an operator reads it: well-formed Prometheus text; the
# request counters add up exactly across workers, recycling, a SIGKILLed
# worker and a reload; errors are counted under their status; the
# duration histogram agrees with the counters; the recordings gauge
# matches the table; the reaper's upload figures and pass durations; and
# nginx lets only the allowed addresses read it.
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(wait_for);
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 3, max_requests => 15);
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $store = $s->config->{storage_local_dir};

# wait_until($what, $cond) - a failed test, not a death, on a timeout.
sub wait_until {
	my ($what, $cond) = @_;
	return 1 if eval { wait_for($cond, 20, $what) };
	fail("timed out waiting for $what");
	return 0;
}

# Parse the exposition text strictly: every line is "# HELP name text",
# "# TYPE name type" or "name{labels} value"; every sample belongs to a
# family with HELP and TYPE.  Returns { 'name{k="v",...}' => value } with
# the labels sorted, plus the families' types under '#type'.
my $strict_ok = 1;
sub parse {
	my ($text) = @_;
	my (%m, %type, %help, @bad);
	my $num = qr/[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|NaN|Inf)/;
	my $name_re = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
	for my $line (split /\n/, $text) {
		if ($line =~ /^# HELP ($name_re) \S/) {
			$help{$1} = 1;
		} elsif ($line =~ /^# TYPE ($name_re) (counter|gauge|histogram|summary|untyped)$/) {
			push @bad, "TYPE twice: $line" if $type{$1};
			$type{$1} = $2;
		} elsif ($line =~ /^($name_re)(?:\{(.*)\})? ($num)$/) {
			my ($n, $l, $v) = ($1, $2 // '', $3);
			my @lab;
			while ($l =~ /\G($name_re)="((?:[^"\\]|\\.)*)",?/gc) {
				push @lab, "$1=\"$2\"";
			}
			push @bad, "bad labels: $line"
			    if (pos($l) // 0) != length $l;
			(my $fam = $n) =~ s/_(?:bucket|sum|count)$//
			    unless $type{$n};
			$fam //= $n;
			push @bad, "no TYPE before: $line"
			    unless $type{$fam} || $type{$n};
			push @bad, "no HELP for: $line"
			    unless $help{$fam} || $help{$n};
			my $k = $n . (@lab ? '{' . join(',', sort @lab) . '}' : '');
			push @bad, "duplicate sample: $line" if exists $m{$k};
			$m{$k} = $v;
		} else {
			push @bad, "not exposition format: $line";
		}
	}
	$m{'#type'} = \%type;
	if (@bad) {
		$strict_ok = 0;
		diag("exposition: $_") for @bad;
	}
	return \%m;
}

my $nscrape = 0;
sub scrape {
	my ($path) = @_;
	my $r = $s->api(GET => $path // '/api/metrics');
	$nscrape++;
	die "scrape: $r->{status} $r->{body}\n" unless $r->{status} == 200;
	return parse($r->{body});
}

sub req_key {
	my ($route, $method, $status) = @_;
	return "meetrec_http_requests_total{method=\"$method\","
	    . "route=\"$route\",status=\"$status\"}";
}
sub req { return $_[0]{req_key(@_[1 .. 3])} // 0 }

# Sum of the request counters of a route, over methods and statuses.
sub route_total {
	my ($m, $route) = @_;
	my $t = 0;
	for my $k (keys %$m) {
		$t += $m->{$k} if $k =~ /^meetrec_http_requests_total\{.*route="\Q$route\E"/;
	}
	return $t;
}

# 1. The format.
my $r = $s->api(GET => '/api/metrics');
is($r->{status}, 200, 'GET /api/metrics answers 200');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
    'with the Prometheus text content type');
my $m0 = parse($r->{body});
ok($strict_ok, 'every line is a comment or a sample, every family typed');
is($s->api(GET => '/metrics')->{status}, 200, '/metrics without /api too');
my $types = $m0->{'#type'};
is($types->{meetrec_http_requests_total}, 'counter', 'requests: counter');
is($types->{meetrec_http_request_duration_seconds}, 'histogram',
    'durations: histogram');
is($types->{meetrec_recordings}, 'gauge', 'recordings: gauge');
is($types->{meetrec_reaper_pass_duration_seconds}, 'summary',
    'pass durations: summary');
is($m0->{meetrec_pool_workers}, 3, 'meetrec_pool_workers is the configured 3');
is($m0->{meetrec_database_up}, 1, 'meetrec_database_up 1');
is($m0->{"meetrec_recordings{status=\"$_\"}"}, 0, "recordings $_ at 0")
    for qw(pending recording processing completed failed);
is($m0->{meetrec_recordings_trashed}, 0, 'trashed at 0');
is($m0->{$_}, 0, "$_ at 0") for qw(meetrec_upload_bytes_total
    meetrec_uploads_total meetrec_upload_failures_total);

# Several API hosts on one database: each host's own figures, and the
# database's once.
my $hostm = parse($s->api(GET => '/metrics?scope=host')->{body});
ok(exists $hostm->{meetrec_pool_workers}, 'scope=host: the pool figures');
ok(req($hostm, 'metrics', 'GET', 200) > 0, '... and request counters');
is(scalar(grep { /^meetrec_(?:recordings|database_up|reaper_|upload)/ }
    keys %$hostm), 0, '... and nothing read from PostgreSQL');
my $db = parse($s->api(GET => '/metrics?scope=database')->{body});
is($db->{meetrec_database_up}, 1, 'scope=database: database_up');
ok(exists $db->{meetrec_recordings_trashed}, '... the recordings');
is(scalar(grep { /^meetrec_(?:http_|pool_)/ } keys %$db), 0,
    '... and no figure of this host');
my %whole = map { s/\{.*//r => 1 } grep { !/^#/ }
    keys %{ parse($s->api(GET => '/metrics')->{body}) };
my %parts = map { s/\{.*//r => 1 } grep { !/^#/ } keys(%$hostm), keys(%$db);
is_deeply([ sort keys %parts ], [ sort keys %whole ],
    'the two together hold every family of the whole');
for my $q ('scope=all', 'scope=', 'scope=host&scope=host') {
	my $x = $s->api(GET => "/metrics?$q");
	is($x->{status}, 400, "?$q: 400");
	is($x->{json}{code}, 'invalid_query', '... invalid_query');
}
ok($strict_ok, 'the scoped scrapes are well formed');

# 2. Many requests through three workers that recycle every 15 requests:
# not one is lost.
my $p0 = scrape();
my %pids = map { $_ => 1 } $s->worker_pids;
my $ok = 0;
$ok += $s->api(GET => '/api/healthz')->{status} == 200 for 1 .. 60;
is($ok, 60, '60 health checks answered');
my $p1 = scrape();
is(req($p1, 'healthz', 'GET', 200) - req($p0, 'healthz', 'GET', 200), 60,
    'healthz 200 rose by exactly 60');
is(req($p1, 'metrics', 'GET', 200) - req($p0, 'metrics', 'GET', 200), 1,
    'the previous scrape is counted (a scrape counts after answering)');
wait_until('the workers to be recycled', sub {
	!grep { $pids{$_} } $s->worker_pids });
ok(!grep({ $pids{$_} } $s->worker_pids),
    'every worker was recycled meanwhile (max_requests 15)');
# Counted when the master reaps them, which may come a moment after the
# last of them left the list of its children.
my $recycled = 0;
wait_until('the three recyclings to be counted', sub {
	$recycled = scrape()->{'meetrec_pool_worker_restarts_total'
	    . '{reason="recycled"}'} // 0;
	$recycled >= 3 });
ok($recycled >= 3, "recycled workers counted: $recycled");

# The histogram agrees with the counters and is cumulative.
sub check_hist {
	my ($m, $route) = @_;
	my $h = 'meetrec_http_request_duration_seconds';
	my %le;
	for my $k (keys %$m) {
		$le{$1} = $m->{$k}
		    if $k =~ /^${h}_bucket\{le="([^"]+)",route="\Q$route\E"\}$/;
	}
	my @bounds = sort { $a <=> $b } grep { $_ ne '+Inf' } keys %le;
	is(scalar @bounds, 12, "$route: 12 finite buckets");
	is("@bounds", '0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5',
	    "$route: the bucket bounds");
	push @bounds, '+Inf';
	ok(exists $le{'+Inf'}, "$route: a +Inf bucket");
	my $mono = 1;
	for my $i (1 .. $#bounds) {
		$mono = 0 if ($le{$bounds[$i]} // -1) < $le{$bounds[$i - 1]};
	}
	ok($mono, "$route: buckets are cumulative and never decrease");
	my $count = $m->{"${h}_count{route=\"$route\"}"};
	is($count, $le{'+Inf'}, "$route: _count equals the +Inf bucket");
	is($count, route_total($m, $route),
	    "$route: _count equals the requests counted ($count)");
	my $sum = $m->{"${h}_sum{route=\"$route\"}"};
	ok(defined $sum && $sum > 0 && $sum < $count * 5,
	    "$route: a plausible _sum ($sum s)");
}
check_hist($p1, 'healthz');

# 3. Errors count under their status.
$p0 = scrape();
my $missing = uuid();
is($s->api(GET => "/api/recordings/$missing", token => $tok)->{status}, 404,
    'an unknown recording: 404') for 1 .. 3;
is($s->api(GET => '/api/recordings/?limit=0', token => $tok)->{status}, 400,
    'limit=0: 400') for 1 .. 2;
is($s->api(GET => '/api/recordings/')->{status}, 401, 'no token: 401');
is($s->api(PUT => '/api/recordings/start', token => $tok)->{status}, 405,
    'PUT on start: 405');
$p1 = scrape();
is(req($p1, 'recording', 'GET', 404) - req($p0, 'recording', 'GET', 404), 3,
    'three 404s under route=recording status=404');
is(req($p1, 'recordings_list', 'GET', 400)
    - req($p0, 'recordings_list', 'GET', 400), 2, 'two 400s');
is(req($p1, 'recordings_list', 'GET', 401)
    - req($p0, 'recordings_list', 'GET', 401), 1, 'one 401');
is(req($p1, 'recordings_start', 'PUT', 405)
    - req($p0, 'recordings_start', 'PUT', 405), 1,
    'a 405 under its method PUT');
check_hist($p1, 'recording');

# 4. A worker SIGKILLed: what it counted stays; the respawn is counted.
# A worker may be exiting on its own (max_requests) just as the signal
# comes: the pool log says which it was, so try again in that case.
$p0 = scrape();
my $killed;
for my $try (1 .. 5) {
	my @w = $s->worker_pids;
	kill 'KILL', $w[0];
	my $sig = qr/worker pid=$w[0] exited on signal 9/;
	wait_until("worker $w[0] to be reaped", sub {
		$s->log('pool') =~ /$sig|worker pid=$w[0] recycled/ });
	if ($s->log('pool') =~ $sig) {
		$killed = $w[0];
		last;
	}
}
ok($killed, 'a worker was SIGKILLed');
wait_until('a replacement worker', sub {
	my @now = $s->worker_pids;
	@now == 3 && !grep { $_ == ($killed // 0) } @now;
});
$p1 = scrape();
is(req($p1, 'healthz', 'GET', 200), req($p0, 'healthz', 'GET', 200),
    'nothing lost when a worker is killed');
is($p1->{'meetrec_pool_worker_restarts_total{reason="died"}'}
    - ($p0->{'meetrec_pool_worker_restarts_total{reason="died"}'} // 0), 1,
    'the killed worker counted as died');
my $died = () = $s->log('pool') =~ /exited (?:on signal|with status)/g;
is($p1->{'meetrec_pool_worker_restarts_total{reason="died"}'}, $died,
    'as many deaths counted as the pool logged');
$ok = 0;
$ok += $s->api(GET => '/api/healthz')->{status} == 200 for 1 .. 10;
my $c = scrape();
is(req($c, 'healthz', 'GET', 200) - req($p1, 'healthz', 'GET', 200), 10,
    'and counting goes on: +10');

# 5. A reload (SIGHUP) keeps the table.
%pids = map { $_ => 1 } $s->worker_pids;
$s->reload_pool;
wait_until('reloaded workers', sub {
	my @now = $s->worker_pids;
	@now == 3 && !grep { $pids{$_} } @now;
});
my $d = scrape();
is(req($d, 'healthz', 'GET', 200), req($c, 'healthz', 'GET', 200),
    'the counts survive a reload');
is(req($d, 'metrics', 'GET', 200) - req($c, 'metrics', 'GET', 200), 1,
    'and the scrape before it is there');

# 6. The recordings gauge matches the rows.
my $n = 0;
sub start {
	my $code = 'mx' . ++$n;
	$s->room(code => $code, name => "Metrics $n", host => $host,
	    company => $co);
	my $x = $s->api(POST => '/api/recordings/start', token => $tok,
	    json => { room_code => $code });
	is($x->{status}, 201, "start $code") or diag($x->{body});
	$s->standin(POST => '/_standin/wait', { idle => \1 });
	return $x->{json}{recording_id};
}
sub stop {
	my ($id) = @_;
	my $x = $s->api(POST => "/api/recordings/$id/stop", token => $tok);
	is($x->{status}, 202, "stop $id");
	$s->standin(POST => '/_standin/wait', { idle => \1 });
}
my @rec = map { start() } 1 .. 3;
sleep 1.5;
stop($rec[0]);
$s->pg->psql("UPDATE project_management.pm_meeting_recordings SET "
    . "deleted_at = now() WHERE id = '$rec[2]'");
my $g = scrape();
is($g->{'meetrec_recordings{status="recording"}'}, 1,
    'one recording in progress (one stopped, one trashed)');
is($g->{'meetrec_recordings{status="processing"}'}, 1, 'one processing');
is($g->{meetrec_recordings_trashed}, 1, 'one in the trash, counted apart');
for my $st (qw(pending recording processing completed failed)) {
	is($g->{"meetrec_recordings{status=\"$st\"}"},
	    $s->pg->psql("SELECT count(*) FROM project_management."
	    . "pm_meeting_recordings WHERE status = '$st' AND "
	    . "deleted_at IS NULL"), "gauge $st matches the table");
}

# 7. The reaper's figures: an upload adds its bytes, a failure counts.
my $spoolfile = $s->config->{spool_dir} . "/$rec[0].mp4";
my $size = -s $spoolfile;
ok($size, "the spool file has $size bytes");
$p0 = scrape();
my $t0 = time;
$r = $s->reaper;
is($r->{rc}, 0, 'the reaper uploads') or diag($r->{err});
$p1 = scrape();
is($p1->{meetrec_upload_bytes_total} - $p0->{meetrec_upload_bytes_total},
    $size, 'upload bytes grew by the file size');
is($p1->{meetrec_uploads_total} - $p0->{meetrec_uploads_total}, 1,
    'uploads_total +1');
is($p1->{meetrec_upload_failures_total}, $p0->{meetrec_upload_failures_total},
    'no failure counted');
is($p1->{'meetrec_recordings{status="completed"}'}, 1,
    'the gauge shows it completed');
for my $p (qw(upload stale expire purge orphans)) {
	is($p1->{"meetrec_reaper_pass_duration_seconds_count{pass=\"$p\"}"}
	    - $p0->{"meetrec_reaper_pass_duration_seconds_count{pass=\"$p\"}"},
	    1, "pass $p: _count +1");
	ok(defined $p1->{"meetrec_reaper_pass_duration_seconds_sum{pass=\"$p\"}"},
	    "pass $p: _sum present");
	my $ts = $p1->{"meetrec_reaper_last_pass_timestamp_seconds{pass=\"$p\"}"};
	ok(defined $ts && abs($ts - $t0) < 120, "pass $p: last run at "
	    . ($ts // 'undef'));
}
ok(!defined $p0->{'meetrec_reaper_last_pass_timestamp_seconds{pass="stale"}'},
    'no timestamp for a pass that never ran');

# A failing upload: the room's folder cannot be created.
stop($rec[1]);
my $room = $s->pg->psql("SELECT room_code FROM project_management."
    . "pm_meeting_recordings WHERE id = '$rec[1]'");
open(my $fh, '>', "$store/$room") or die "$store/$room: $!";
close $fh;
$p0 = scrape();
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 1, 'the upload fails');
$p1 = scrape();
is($p1->{meetrec_upload_failures_total}
    - $p0->{meetrec_upload_failures_total}, 1, 'upload_failures_total +1');
is($p1->{meetrec_uploads_total}, $p0->{meetrec_uploads_total},
    'uploads_total unchanged');
is($p1->{'meetrec_reaper_pass_duration_seconds_count{pass="upload"}'}
    - $p0->{'meetrec_reaper_pass_duration_seconds_count{pass="upload"}'}, 1,
    'the upload pass counted once more');
is($p1->{'meetrec_reaper_pass_duration_seconds_count{pass="stale"}'},
    $p0->{'meetrec_reaper_pass_duration_seconds_count{pass="stale"}'},
    'the passes that did not run did not move');
unlink "$store/$room";

# 8. Who may read it: 127.0.0.1 may (above), 127.0.0.2 may not.
my $ua = HTTP::Tiny->new(local_address => '127.0.0.2', timeout => 10,
    keep_alive => 0);
for my $path ('/api/metrics', '/metrics') {
	my $x = $ua->get($s->url($path));
	is($x->{status}, 403, "$path from 127.0.0.2: 403");
	like($x->{headers}{'content-type'} // '', qr{^application/json},
	    'as JSON');
	like($x->{content} // '', qr/"code":"forbidden"/, 'code forbidden');
	unlike($x->{content} // '', qr/meetrec_/, 'no figures leak');
}
my $fr = $ua->get($s->url('/api/healthz'));
is($fr->{status}, 200, 'while 127.0.0.2 may use the rest of the API');

# The database down: the pool's figures still come, database_up says 0.
$s->pg->stop;
$r = $s->api(GET => '/api/metrics');
is($r->{status}, 200, 'with PostgreSQL down the scrape still answers');
my $z = parse($r->{body});
is($z->{meetrec_database_up}, 0, 'meetrec_database_up 0');
ok(req($z, 'healthz', 'GET', 200) > 0, 'the request counters are there');
ok(!exists $z->{meetrec_recordings_trashed}, 'and no stale database figures');
$s->pg->start;
$r = $s->api(GET => '/api/metrics');
is(parse($r->{body})->{meetrec_database_up}, 1,
    'back to 1 once PostgreSQL is back');

ok($strict_ok, "all $nscrape scrapes were well formed");
$s->finish;
done_testing();
