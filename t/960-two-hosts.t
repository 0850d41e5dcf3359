#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Two API hosts behind a balancer, four reapers, one PostgreSQL.  Each
# host is its own nginx (the project's configuration) and pool; an nginx
# balancer (Meetrec::Test::Balancer, configured as doc/deploy.md says)
# sends requests and LiveKit's webhooks to either.  Hundreds of
# recordings are started and stopped through the balancer by parallel
# clients while host A is SIGKILLed (its nginx and its pool, every
# process) and brought back, and one reaper is SIGKILLed.  Then: every
# recording ends once (completed, its file stored once, or failed with a
# reason), none is uploaded twice; the clients saw at most the requests
# in flight on host A fail; signed download links and share links made on
# one host work on the other; /metrics?scope=database says the same
# through either host.
#
# MEETREC_HOSTS_RECORDINGS (default 500) and MEETREC_HOSTS_CLIENTS
# (default 8) size the run.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Find ();
use POSIX ();
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Balancer;
use Meetrec::Test::Proc qw(wait_for);
use Meetrec::Test::Util qw(uuid slurp http free_port json_decode
    json_encode);

Meetrec::Test::Stack::require_prereqs();
my $N = $ENV{MEETREC_HOSTS_RECORDINGS} // 500;
my $CLIENTS = $ENV{MEETREC_HOSTS_CLIENTS} // 8;
my $T = 'project_management.pm_meeting_recordings';

my $bport = free_port();
my $a = Meetrec::Test::Stack->new(workers => 3,
    webhook_url => "http://127.0.0.1:$bport/api/livekit/webhook",
    conf => { public_url => "http://127.0.0.1:$bport",
	reaper_lease_seconds => 10, upload_backoff_seconds => 2,
	stale_pending_seconds => 10 });
my $b = Meetrec::Test::Stack->new(share_with => $a, workers => 3);
my $bal = Meetrec::Test::Balancer->new(prefix => $a->dir . '/balancer',
    port => $bport, hosts => [ $a->port, $b->port ]);
$bal->start;
my $pg = $a->pg;
my ($co, $host) = (uuid(), uuid());
my $tok = $a->token(user => $host, company => $co, username => 'host');
my @reapers = map { $a->start_reaper(name => "reaper$_") } 1 .. 4;

# Through the balancer.
sub call {
	my ($method, $path, %o) = @_;
	return http($method, $bal->url($path), {
	    headers => { Authorization => "Bearer $tok" },
	    (exists $o{json} ? (json => $o{json}) : ()), timeout => 60 });
}

$pg->psql("INSERT INTO project_management.pm_meeting_rooms "
    . "(room_code, name, created_by, company_id) SELECT 'h' || g, "
    . "'Host room ' || g, '$host', '$co' FROM generate_series(1, $N) g");
is(call(GET => '/api/healthz')->{status}, 200, 'the balancer answers');

# 1. The clients: client k takes rooms k, k + CLIENTS, ...  Each writes
# one line per room: the room, the recording, and every answer that was
# not what it asked for.
my $out = $a->dir . '/clients';
mkdir $out;
my @kids;
for my $k (1 .. $CLIENTS) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(my $fh, '>', "$out/$k") or POSIX::_exit(1);
		$fh->autoflush(1);
		for (my $i = $k; $i <= $N; $i += $CLIENTS) {
			my %line = (room => "h$i", failed => []);
			my $r = call(POST => '/api/recordings/start',
			    json => { room_code => "h$i" });
			if ($r->{status} != 201) {
				push @{ $line{failed} }, "start $r->{status}";
				print {$fh} json_encode(\%line), "\n";
				next;
			}
			my $id = $line{id} = $r->{json}{recording_id};
			my $st = '';
			for (1 .. 600) {
				$r = call(GET => "/api/recordings/$id/status");
				push @{ $line{failed} }, "status $r->{status}"
				    if $r->{status} != 200;
				$st = $r->{json}{status} // '';
				last if $st ne 'pending' && $r->{status} == 200;
				sleep 0.05;
			}
			# A host gone mid-request: press stop again.
			for (1 .. 20) {
				$r = call(POST => "/api/recordings/$id/stop");
				last if $r->{status} == 202 || $r->{status} == 409;
				push @{ $line{failed} }, "stop $r->{status}";
				sleep 0.5;
			}
			$line{stop} = $r->{status};
			print {$fh} json_encode(\%line), "\n";
		}
		close $fh;
		POSIX::_exit(0);
	}
	push @kids, $pid;
}

sub done_rooms {
	my $n = 0;
	for my $f (glob "$out/*") {
		$n += () = slurp($f) =~ /\n/g;
	}
	return $n;
}

# 2. The faults: host A down at a third, back at a half; a reaper killed
# at two thirds.
wait_for(sub { done_rooms() >= $N / 3 }, 600, 'a third of the rooms');
my $apids = join ' ', $a->pool_pid, $a->nginx->pid;
kill 'KILL', -$a->nginx->pid;
kill 'KILL', -$a->pool_pid;
$a->nginx->proc->wait_exit(timeout => 10);
$a->pool->wait_exit(timeout => 10);
note("host A SIGKILLed (process groups $apids) at " . done_rooms());
wait_for(sub { done_rooms() >= $N / 2 }, 600, 'half of the rooms');
$a->start_pool;
$a->nginx->start;
note('host A back at ' . done_rooms());
wait_for(sub { done_rooms() >= 2 * $N / 3 }, 600, 'two thirds');
kill 'KILL', $reapers[1]->pid;
$reapers[1]->wait_exit(timeout => 10);
$a->forget_reaper($reapers[1]);
note('reaper2 SIGKILLed at ' . done_rooms());
for my $pid (@kids) {
	waitpid($pid, 0);
	is($?, 0, "client $pid finished");
}

my @lines;
for my $f (glob "$out/*") {
	push @lines, map { json_decode($_) } split /\n/, slurp($f);
}
is(scalar @lines, $N, "every room was tried ($N)");
my @failed = grep { @{ $_->{failed} } } @lines;
my $nfail = map { @{ $_->{failed} } } @lines;
cmp_ok($nfail, '<=', $CLIENTS, "the clients saw $nfail request(s) fail, "
    . "no more than the $CLIENTS that can be in flight on host A")
    or diag(join "\n", map { "$_->{room}: @{ $_->{failed} }" } @failed);
diag("failed: $_->{room}: @{ $_->{failed} }") for @failed;
my @started = grep { $_->{id} } @lines;
cmp_ok(scalar @started, '>=', $N - $CLIENTS,
    scalar(@started) . ' recordings started');

# A start whose answer was lost with host A may have made a recording
# the client never heard of: the host sees it recording and stops it.
$a->standin_idle(timeout_ms => 60000);
my @orphans = grep { length } split /\n/, $pg->psql("SELECT id FROM $T "
    . "WHERE company_id = '$co' AND status IN ('pending', 'recording')");
my %known = map { $_->{id} => 1 } @started;
for my $id (@orphans) {
	next if $known{$id};
	my $r = call(POST => "/api/recordings/$id/stop");
	note("stopped a recording no client heard of: $id, $r->{status}");
}
$a->standin_idle(timeout_ms => 60000);

# 3. Every recording ends, once.
my $total = $pg->psql("SELECT count(*) FROM $T WHERE company_id = '$co'");
wait_for(sub {
	$pg->psql("SELECT count(*) FROM $T WHERE company_id = '$co' AND "
	    . "status IN ('completed', 'failed')") == $total
}, 600, "all $total recordings to end");
my %st;
for (split /\n/, $pg->psql("SELECT status || '|' || coalesce(last_error, '') "
    . "FROM $T WHERE company_id = '$co'")) {
	my ($s, $e) = split /\|/, $_, 2;
	$st{$s}++;
	$st{'failed without a reason'}++ if $s eq 'failed' && $e eq '';
}
note(join ', ', map { "$_ $st{$_}" } sort keys %st);
is($st{'failed without a reason'} // 0, 0, 'every failure has a reason');
cmp_ok($st{completed} // 0, '>=', scalar(@started) - $nfail,
    "$st{completed} completed");

my %up;
for my $n (1 .. 4) {
	$up{$_}++ for $a->log("reaper$n") =~ /pass=upload rec=(\S+) action=uploaded/g;
}
my @twice = grep { $up{$_} > 1 } keys %up;
is(scalar @twice, 0, 'no recording was uploaded twice')
    or diag("@twice");
# The reaper logs "uploaded" after its commit: the one SIGKILLed may
# have died between the two, leaving a completed recording (its file
# stored, its spool file for the orphans pass) and no line.
my %done = map { $_ => 1 } grep { length } split /\n/, $pg->psql(
    "SELECT id FROM $T WHERE company_id = '$co' AND status = 'completed'");
my @unlogged = grep { !$up{$_} } keys %done;
cmp_ok(scalar @unlogged, '<=', 1,
    'every completed recording was uploaded, as the logs say (but one the '
    . 'killed reaper may have stored without a word)')
    or diag("completed, not logged: @unlogged");
note("completed as reaper2 died: $_") for @unlogged;
is(scalar(grep { !$done{$_} } keys %up), 0,
    'every recording logged as uploaded is completed');
my @files;
File::Find::find({ no_chdir => 1, wanted => sub {
	push @files, $File::Find::name if -f $_ } },
    $a->config->{storage_local_dir});
is(scalar @files, $st{completed} // 0,
    'one stored file per completed recording');
my %path = map { $_ => 1 } grep { length } split /\n/, $pg->psql(
    "SELECT storage_path FROM $T WHERE company_id = '$co' AND status = "
    . "'completed'");
my $root = $a->config->{storage_local_dir};
is(scalar(grep { !$path{ substr($_, length($root) + 1) } } @files), 0,
    'each of them is a recording\'s');

# 4. Links made on one host, used on the other.
my ($one) = grep { $up{$_} } map { $_->{id} } @started;
my $det = http(GET => "http://127.0.0.1:" . $a->port . "/api/recordings/$one",
    { headers => { Authorization => "Bearer $tok" } });
is($det->{status}, 200, 'details from host A');
my $sha = $pg->psql("SELECT checksum_sha256 FROM $T WHERE id = '$one'");
my $dl = $det->{json}{download_url} // '';
like($dl, qr{^http://127\.0\.0\.1:$bport/}, 'a signed link on the balancer');
(my $onb = $dl) =~ s{^http://[^/]+}{"http://127.0.0.1:" . $b->port}e;
my $r = http(GET => $onb);
is($r->{status}, 200, 'the signed link works on host B');
is(sha256_hex($r->{body} // ''), $sha, '... the stored bytes');
$r = http(POST => "http://127.0.0.1:" . $b->port . "/api/recordings/$one/shares",
    { headers => { Authorization => "Bearer $tok" }, json => {} });
is($r->{status}, 201, 'a share link from host B') or diag($r->{body});
my $share = $r->{json}{url} // $r->{json}{share_url} // '';
(my $sha_a = $share) =~ s{^http://[^/]+}{"http://127.0.0.1:" . $a->port}e;
$r = http(GET => $sha_a);
is($r->{status}, 200, 'opens on host A') or diag("$share: $r->{status}");

# 5. The database's figures, once, whichever host: the same.
my %db;
for my $s ($a, $b) {
	my $m = http(GET => "http://127.0.0.1:" . $s->port
	    . '/metrics?scope=database')->{body} // '';
	($db{ $s->port }) = $m =~ /^meetrec_recordings\{status="completed"\} (\d+)/m;
}
is($db{ $a->port }, $db{ $b->port },
    'scope=database: both hosts say the same');
is($db{ $a->port }, $pg->psql("SELECT count(*) FROM $T WHERE status = "
    . "'completed' AND deleted_at IS NULL"), '... what the table holds');
my $hb = http(GET => "http://127.0.0.1:" . $b->port . '/metrics?scope=host')
    ->{body} // '';
my $bn = 0;
$bn += $1 while $hb =~ /^meetrec_http_requests_total\{[^}]*route="recordings_start"[^}]*\} (\d+)/mg;
cmp_ok($bn, '>', 0, "host B counted its own starts ($bn)");
cmp_ok($bn, '<', $N, '... not every host\'s');

$bal->stop;
$b->finish;
$a->finish;
done_testing();
