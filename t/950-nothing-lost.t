#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Nothing a user records is lost.  Hundreds of recordings, audio and
# video, into local storage, Nextcloud and S3, through their whole life
# while faults are injected at random points chosen by a seed (printed;
# MEETREC_FAULT_SEED=<seed> repeats the choices):
#   a worker SIGKILLed mid-request; PostgreSQL restarted (fast and
#   immediate), also while uploads run; database connections cut, and
#   answers lost after the commit; storage down, slow, full; LiveKit
#   refusing, timing out, resetting, forgetting egresses, failing them;
#   webhooks duplicated, reordered or missing; the reaper SIGKILLed
#   mid-pass; the spool disk full; a file cut short in the spool.
# Then, with the faults over and the reapers left to repair: every
# recording is either completed, with stored bytes whose SHA-256 and size
# are what the egress wrote and a duration read from them, or failed with
# a last_error and its spool file kept as it was; none is stuck on the
# way; no stored file belongs to no recording, none is stored twice.
#
# MEETREC_FAULT_RECORDINGS (per backend, default 70) and
# MEETREC_FAULT_BACKENDS (default local,nextcloud,s3) size the run.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use File::Find ();
use File::Path qw(make_path remove_tree);
use POSIX ();
use Time::HiRes qw(sleep time);
use Meetrec::Test::Stack;
use Meetrec::Test::Nextcloud;
use Meetrec::Test::S3;
use Meetrec::Test::SmallFs;
use Meetrec::Test::Proc qw(wait_for timeout_factor);
use Meetrec::Test::Util qw(uuid slurp spew);

Meetrec::Test::Stack::require_prereqs();
my @BACKENDS = split /,/, ($ENV{MEETREC_FAULT_BACKENDS}
    // 'local,nextcloud,s3');
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'))
    if grep { $_ eq 'nextcloud' } @BACKENDS;
Meetrec::Test::S3::require_prereqs() if grep { $_ eq 's3' } @BACKENDS;

my $SEED = $ENV{MEETREC_FAULT_SEED} // (int(time * 1000) ^ $$) % 2**31;
srand($SEED);
diag("fault seed $SEED (MEETREC_FAULT_SEED=$SEED repeats these choices)");
my $PER = $ENV{MEETREC_FAULT_RECORDINGS} // 70;
my $T = 'project_management.pm_meeting_recordings';

my (%fault, %outcome, %by_backend, %problems);
my ($verified, $disk_kind) = (0, undef);

# The stack of the backend being run, and what belongs to it.
my ($s, $backend, $nc, $s3, $spool_fs, $store_fs, $tok, $watch, @rooms);
my %truncated;		# recording id => sha256 of what we left

sub fault { $fault{ $_[0] }++; return }

# draw(\%mode, [ p, fault, key => value ... ] ...) - one of the cases,
# each with its probability, or none: its settings go into %mode and its
# fault is counted.  Returns the fault drawn, '' for none.
sub draw {
	my ($m, @cases) = @_;
	my $x = rand;
	for my $c (@cases) {
		my ($p, $name, %set) = @$c;
		if ($x < $p) {
			@$m{ keys %set } = values %set;
			fault($name);
			return $name;
		}
		$x -= $p;
	}
	return '';
}
sub chance { return rand() < $_[0] }
sub pick { return $_[ int rand @_ ] }

# ---------------------------------------------------------------------
# Talking to the stack, whatever state it is in

# SQL through psql, straight to PostgreSQL; waits out a restart.
sub sql {
	my ($q) = @_;
	my $out;
	wait_for(sub {
		my $r = $s->pg->psql($q, allow_fail => 1);
		return 0 if $r->{rc} != 0;
		($out = $r->{out}) =~ s/\A\s+|\s+\z//g;
		return 1;
	}, 60, 'PostgreSQL to answer');
	return $out;
}

sub rows {
	my ($where) = @_;
	my $out = sql("SELECT concat_ws('|', id, status, audio_only::int, "
	    . "coalesce(egress_id, ''), coalesce(storage_path, ''), "
	    . "coalesce(file_size_bytes::text, ''), "
	    . "coalesce(duration_seconds::text, ''), "
	    . "coalesce(checksum_sha256, ''), "
	    . "coalesce(regexp_replace(last_error, E'[|\\n]', '/', 'g'), ''), "
	    . "room_code) "
	    . "FROM $T WHERE deleted_at IS NULL"
	    . ($where ? " AND $where" : '') . ' ORDER BY created_at');
	my @r;
	for my $l (split /\n/, $out) {
		my %h;
		@h{qw(id status audio egress path size duration sha error room)}
		    = split /\|/, $l, -1;
		push @r, \%h;
	}
	return @r;
}

# An API call that waits out what a client would wait out: the pool or
# the database unavailable for a moment (503).  A start is retried too:
# a second start of a room that the first one took answers 409.
sub api {
	my ($m, $p, %a) = @_;
	my $r;
	for my $try (1 .. 60) {
		$r = $s->api($m => $p, token => $tok, timeout => 30, %a);
		my $code = $r->{json} ? $r->{json}{code} // '' : '';
		return $r unless $r->{status} == 599 || ($r->{status} == 503
		    && $code =~ /^(?:unavailable|db_unavailable)$/);
		sleep 0.1 + 0.05 * $try;
	}
	return $r;
}

sub standin {
	my ($m, $p, $j) = @_;
	my $r = $s->standin($m, $p, $j);
	die "stand-in $m $p: $r->{status} $r->{body}\n"
	    unless $r->{status} == 200;
	return $r->{json};
}

sub mode { return standin(POST => 'mode', {@_}) }

# The egress that writes recording $id's file, or undef.
sub egress_of {
	my ($id) = @_;
	for my $e (@{ standin(GET => 'egresses')->{egresses} }) {
		my $j = JSON::PP->new->canonical->encode($e);
		return $e->{egressId} if index($j, $id) >= 0;
	}
	return undef;
}

# ---------------------------------------------------------------------
# Faults

# SIGKILL a worker a little later, from a child process, so that it dies
# while the requests sent meanwhile are being served.
sub kill_worker_soon {
	my ($delay) = @_;
	my @w = $s->worker_pids or return;
	my $victim = pick(@w);
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		sleep $delay;
		kill 'KILL', $victim;
		POSIX::_exit(0);
	}
	fault('worker SIGKILL mid-request');
	return $pid;
}

sub restart_pg {
	my $mode = pick(qw(fast immediate));
	fault("PostgreSQL restart ($mode)");
	$s->restart_pg(mode => $mode);
	return;
}

# The database connections of every program: cut at once, or one answer
# lost after its commit.
sub db_fault {
	if (chance(0.5)) {
		$s->pgproxy->cut;
		fault('database connections cut');
	} else {
		# Only a committed statement's answer is lost: one in a
		# transaction block waits for its COMMIT (PgProxy).
		$s->pgproxy->arm(pick(qr/^INSERT/, qr/^UPDATE 1$/, qr/^SELECT/,
		    qr/^COMMIT$/));
		fault('database answer lost after the commit');
	}
	return;
}

sub start_watch {
	$watch = $s->start_reaper(name => 'watch-' . int(rand 1e9));
	return;
}

sub kill_watch {
	return unless $watch && $watch->alive;
	$watch->signal('KILL');
	$watch->wait_exit(timeout => 10);
	$s->forget_reaper($watch);
	undef $watch;
	fault('reaper SIGKILL mid-pass');
	return;
}

# A cron run of the reaper, sometimes SIGKILLed half-way.
sub cron_reaper {
	if (chance(0.25)) {
		my $p = $s->start_reaper(name => 'cron-' . int(rand 1e9),
		    args => [ '--once' ]);
		sleep rand 0.3;
		if ($p->alive) {
			$p->signal('KILL');
			fault('reaper SIGKILL mid-pass');
		}
		$p->wait_exit(timeout => 30);
		$s->forget_reaper($p);
		return;
	}
	$s->reaper;
	return;
}

my %down;	# storage fault in force => how to end it
sub storage_fault {
	return if %down;
	if ($backend eq 'local') {
		$store_fs->fill;
		$down{full} = 1;
		fault('local storage disk full');
	} elsif ($backend eq 'nextcloud') {
		if (chance(0.5)) {
			$nc->faults({ down_for_ms => 1500 + int rand 2500 });
			fault('Nextcloud down');
		} else {
			$nc->faults({ chunk_delay_ms => 150, move_delay_ms => 400 });
			$down{slow} = 1;
			fault('Nextcloud slow');
		}
	} else {
		if (chance(0.5)) {
			$s3->stop;
			$down{stopped} = 1;
			fault('S3 down');
		} else {
			$s3->fail_part(pick(1, 2), pick(500, 503));
			$down{parts} = 1;
			fault('S3 failing parts');
		}
	}
	return;
}

sub storage_back {
	$store_fs->free if $down{full};
	$nc->faults({}) if $down{slow};
	$s3->start if $down{stopped};
	$s3->fail_part(0) if $down{parts};
	%down = ();
	return;
}

# ---------------------------------------------------------------------
# One batch: a few rooms record at once, under the faults drawn for it.

sub batch {
	my (@r) = @_;
	my %m = (webhooks => 'normal', start => 'ok', stop => 'ok',
	    end_status => 'EGRESS_COMPLETE',
	    mdat_bytes => pick(4096, 30000, 90000, 200000),
	    mp4_layout => pick(qw(moov_first moov_last)));
	draw(\%m, [ 0.15, 'webhooks duplicated', webhooks => 'duplicate' ],
	    [ 0.15, 'webhooks reordered', webhooks => 'reverse' ],
	    [ 0.15, 'webhooks missing', webhooks => 'drop' ]);
	my $start = draw(\%m,
	    [ 0.06, 'LiveKit refuses Start', start => 'refuse',
		refuse_code => 'invalid_argument', refuse_msg => 'bad request' ],
	    [ 0.06, 'LiveKit unavailable at Start', start => 'refuse',
		refuse_code => 'unavailable',
		refuse_msg => 'no response from servers' ],
	    [ 0.08, 'LiveKit Start timeout', start => 'slow',
		start_delay_ms => 2500 ],
	    [ 0.04, 'LiveKit Start connection reset', start => 'reset' ],
	    [ 0.04, 'proxy error page at Start', start => 'proxy_error',
		proxy_status => pick(502, 503, 504) ]);
	# Each slow Start holds the test for the whole timeout.
	@r = @r[0 .. ($#r < 1 ? $#r : 1)] if $start eq 'LiveKit Start timeout';
	draw(\%m, [ 0.07, 'egress failed', end_status => 'EGRESS_FAILED' ],
	    [ 0.05, 'egress limit reached',
		end_status => 'EGRESS_LIMIT_REACHED' ]);
	draw(\%m, [ 0.1, 'LiveKit Stop timeout', stop => 'slow',
	    stop_delay_ms => 2500 ]);
	mode(%m);

	# Start, maybe with a worker killed under the requests.
	my $killer = chance(0.15) ? kill_worker_soon(rand 0.05) : undef;
	db_fault() if chance(0.08);
	for my $room (@r) {
		my $audio = chance(0.3) ? JSON::PP::true() : JSON::PP::false();
		api(POST => '/recordings/start',
		    json => { room_code => $room, audio_only => $audio });
	}
	waitpid($killer, 0) if $killer;
	restart_pg() if chance(0.06);
	sleep 0.2 + rand 0.4;
	$s->standin_idle;

	# The spool fills up before the egress writes its file.
	my $spool_full = 0;
	if (chance(0.05)) {
		if ($spool_fs->kind eq 'tmpfs') {
			$spool_fs->fill;
			$spool_full = 1;
			fault('spool disk full');
		} else {
			fault('spool disk full: not injected (needs a tmpfs)');
		}
	}
	# A file cut short: nobody uploads while it is cut.
	my $cut = chance(0.07) && !$spool_full;
	kill_watch() if $cut;

	# Stop: by the API, or the room closes by itself.
	$killer = chance(0.15) ? kill_worker_soon(rand 0.05) : undef;
	my @active = rows("room_code IN (" . join(',', map { "'$_'" } @r)
	    . ") AND status IN ('pending', 'recording')");
	for my $row (@active) {
		next unless $row->{status} eq 'recording';
		if (chance(0.2) && (my $eg = egress_of($row->{id}))) {
			$s->standin(POST => 'end', { egress_id => $eg });
			fault('room closed by itself');
		} else {
			api(POST => "/recordings/$row->{id}/stop");
		}
	}
	waitpid($killer, 0) if $killer;
	$s->standin_idle;
	if ($spool_full) {
		$spool_fs->free;
	}
	if ($cut) {
		my @done = rows("room_code IN (" . join(',', map { "'$_'" } @r)
		    . ") AND status = 'processing'");
		if (my $v = $done[0]) {
			my $f = $s->config->{spool_dir} . "/$v->{id}."
			    . ($v->{audio} ? 'ogg' : 'mp4');
			if (-s $f && !$truncated{ $v->{id} }) {
				my $b = slurp($f);
				my $keep = pick(5000, int(length($b) / 2),
				    length($b) - 1);
				$keep = length($b) - 1 if $keep >= length $b;
				spew($f, substr($b, 0, $keep));
				$truncated{ $v->{id} } = sha256_hex(
				    substr($b, 0, $keep));
				fault('spool file cut short');
			}
		}
		start_watch();
	}
	# An egress LiveKit forgets after it ended, its webhooks lost.
	if ($m{webhooks} eq 'drop' && chance(0.5)) {
		for my $row (@active) {
			my $eg = egress_of($row->{id}) or next;
			my $e = (grep { $_->{egressId} eq $eg }
			    @{ standin(GET => 'egresses')->{egresses} })[0];
			next unless $e && ($e->{status} // '') =~
			    /COMPLETE|LIMIT_REACHED/;
			standin(POST => 'forget', { egress_id => $eg });
			fault('egress forgotten by LiveKit');
			last;
		}
	}
	standin(POST => 'reset');

	# Meanwhile, the uploads run into trouble.
	storage_fault() if chance(0.2);
	if ($down{slow} && chance(0.5)) {
		# Slow storage: uploads are under way right now.
		sleep 0.2;
		fault('PostgreSQL restart during uploads');
		$s->restart_pg(mode => pick(qw(fast immediate)));
	}
	restart_pg() if chance(0.08);
	db_fault() if chance(0.1);
	if (chance(0.12)) {
		sleep rand 0.3;
		kill_watch();
	}
	cron_reaper() if chance(0.3);
	storage_back() if %down && chance(0.5);
	start_watch() unless $watch && $watch->alive;
	return;
}

# ---------------------------------------------------------------------
# With the faults over, the reapers finish the job.

sub converge {
	storage_back();
	$spool_fs->free;
	unlink $s->pgproxy->dir . '/arm';
	standin(POST => 'reset');
	start_watch() unless $watch && $watch->alive;
	my $deadline = time + 300 * timeout_factor();
	my @open;
	while (time < $deadline) {
		@open = rows("status IN ('pending', 'recording', "
		    . "'processing')");
		last unless @open;
		for my $row (grep { $_->{status} eq 'recording' } @open) {
			api(POST => "/recordings/$row->{id}/stop");
		}
		$s->standin_idle;
		$s->reaper;
		sleep 0.5;
	}
	# A last cron run tidies the spool (orphans pass).
	$s->reaper;
	return @open;
}

# ---------------------------------------------------------------------
# The promise

sub stored_files {
	my @f;
	my $root = $backend eq 'local' ? $s->config->{storage_local_dir}
	    : $backend eq 'nextcloud' ? $nc->root
	    : $s3->{dir} . '/data/' . $s3->bucket;
	File::Find::find({ no_chdir => 1, wanted => sub {
		return unless -f $_;
		return if m{/\.ballast\z};
		push @f, $_;
	} }, $root);
	return @f;
}

sub stored_path {
	my ($key) = @_;
	return $s->config->{storage_local_dir} . "/$key"
	    if $backend eq 'local';
	return $nc->file_path("Recordings/$key") if $backend eq 'nextcloud';
	return $s3->object_file($key);
}

sub check {
	my @problems;
	my $files = standin(GET => 'files')->{files};
	my %eg;
	for my $f (@$files) {
		my ($rid) = $f->{path} =~ /([0-9a-f-]{36})\.(?:mp4|ogg)\z/
		    or next;
		push @{ $eg{$rid} }, $f;
	}
	my @all = rows();
	my %stored;
	my $spool = $s->config->{spool_dir};
	for my $r (@all) {
		my $id = $r->{id};
		my @e = @{ $eg{$id} // [] };
		push @problems, "$id: written by " . scalar(@e) . ' egresses'
		    if @e > 1;
		my $e = $e[0];
		my $sf = "$spool/$id." . ($r->{audio} ? 'ogg' : 'mp4');
		my $want;
		if ($truncated{$id}) {
			$want = 'failed';
		} elsif (!$e || $e->{status} =~ /FAILED|ABORTED/) {
			$want = 'failed';
		} else {
			$want = 'completed';
		}
		my $how = $truncated{$id} ? 'cut short'
		    : !$e ? 'never started' : $e->{status};
		$outcome{"$r->{status} ($how)"}++;
		$by_backend{$backend}{ $r->{audio} ? 'audio' : 'video' }++;
		if ($r->{status} ne $want) {
			push @problems, "$id ($how): $r->{status}, expected "
			    . "$want; last_error: $r->{error}";
			next;
		}
		if ($want eq 'failed') {
			push @problems, "$id: failed without a last_error"
			    unless length $r->{error};
			# A file cut short names its damage, unless the
			# egress itself failed (its webhook lost, the row
			# still processing when the file was cut): then
			# its reason is the egress's.
			push @problems, "$id: failed ($how), last_error "
			    . "does not name the damage: $r->{error}"
			    if $truncated{$id}
			    && !($e && $e->{status} =~ /FAILED|ABORTED/)
			    && $r->{error} !~ /damag|truncat|unreadable|cut/i;
			my $keep = $truncated{$id}
			    // ($e && $e->{size} > 0 ? $e->{sha256} : undef);
			if (defined $keep) {
				if (!-f $sf) {
					push @problems, "$id: failed and its "
					    . "spool file is gone";
				} elsif (sha256_hex(slurp($sf)) ne $keep) {
					push @problems, "$id: the spool file "
					    . "kept is not what was written";
				} else {
					$verified += -s $sf;
				}
			}
			push @problems, "$id: failed, yet stored at "
			    . $r->{path} if length $r->{path};
			next;
		}
		# completed
		my $p = stored_path($r->{path});
		$stored{$p}++;
		if (!-f $p) {
			push @problems, "$id: completed, no stored file $p";
			next;
		}
		my $b = slurp($p);
		push @problems, "$id: stored bytes are not the egress's"
		    unless sha256_hex($b) eq $e->{sha256};
		push @problems, "$id: stored size " . length($b)
		    . " != egress size $e->{size} or row size $r->{size}"
		    unless length($b) == $e->{size} && $r->{size} == $e->{size};
		push @problems, "$id: checksum_sha256 is not the file's"
		    unless $r->{sha} eq $e->{sha256};
		push @problems, "$id: no duration read from the file"
		    unless length $r->{duration} && $r->{duration} > 0;
		push @problems, "$id: completed, spool file left behind"
		    if -e $sf;
		$verified += length $b;
	}
	for my $f (stored_files()) {
		next if $stored{$f};
		# s3rver keeps metadata beside each object.
		next if $backend eq 's3'
		    && $f =~ /\._S3rver_(?:metadata\.json|object\.md5)\z/
		    && $stored{ $f =~ s/_(?:metadata\.json|object\.md5)\z/_object/r };
		push @problems, "stored file of no recording: $f";
	}
	push @problems, "stored twice: $_" for grep { $stored{$_} > 1 }
	    keys %stored;
	opendir(my $dh, $spool) or die "$spool: $!";
	for my $f (grep { !/^\./ } readdir $dh) {
		my ($rid) = $f =~ /^([0-9a-f-]{36})\./;
		my ($row) = grep { $_->{id} eq ($rid // '') } @all;
		push @problems, "spool file of no failed recording: $f"
		    unless $row && $row->{status} eq 'failed';
	}
	closedir $dh;
	return (scalar @all, @problems);
}

# ---------------------------------------------------------------------

sub phase {
	($backend) = @_;
	my $name = "950-nothing-lost-$backend";
	my $fsroot = Meetrec::Test::Stack::_check_root() . "/$name-fs";
	remove_tree($fsroot) if -d $fsroot;
	# Who writes there, for the RLIMIT_FSIZE fallback: the reaper into
	# local storage.  (The stand-in that writes into the spool keeps its
	# log in a file, which such a limit would stop too: without a tmpfs
	# the spool is not filled.)
	$spool_fs = Meetrec::Test::SmallFs->new(path => "$fsroot/spool",
	    size => 24 << 20);
	$store_fs = Meetrec::Test::SmallFs->new(path => "$fsroot/storage",
	    size => 96 << 20, writers => sub { $watch ? $watch->pid : () });
	$disk_kind //= $spool_fs->kind eq 'tmpfs'
	    ? 'a tmpfs of its own with a size limit'
	    : 'RLIMIT_FSIZE of the writing process (no tmpfs: '
	    . $spool_fs->why . ')';
	%truncated = ();
	my %conf = (
		spool_dir              => $spool_fs->path,
		stale_pending_seconds  => 5,
		reaper_lease_seconds   => 5,
		upload_backoff_seconds => 1,
		upload_max_attempts    => 100,
		livekit_timeout_ms     => 1500,
		upload_timeout_ms      => 5000,
		spool_quiet_seconds    => 1,
		# An egress LiveKit lost with no file yet is waited for until
		# the recording could have run its longest (the reaper's
		# forgotten()): the least there is, so a recording that never
		# started fails within the suite's repair time.
		recording_max_seconds  => 60,
	);
	# A crash of PostgreSQL loses no commit (synchronous_commit on, as
	# on a production server).
	my %stack = (name => $name, workers => 3, pg_proxy => 1,
	    pg_durable => 1);
	if ($backend eq 'local') {
		$s = Meetrec::Test::Stack->new(%stack, conf => { %conf,
		    storage_local_dir => $store_fs->path });
	} elsif ($backend eq 'nextcloud') {
		($s, $nc) = Meetrec::Test::Nextcloud->with_stack(stack => \%stack,
		    conf => { %conf, nextcloud_chunk_threshold => 65536,
		    nextcloud_chunk_size => 65536, nextcloud_share => 0 });
	} else {
		$s3 = Meetrec::Test::S3->new(dir => $store_fs->path . '/s3');
		$s = Meetrec::Test::Stack->new(%stack, conf => { %conf,
		    storage_type => 's3', %{ $s3->conf },
		    s3_multipart_threshold => 65536, s3_part_size => 65536 });
	}
	my $host = uuid();
	$tok = $s->token(user => $host, company => $s->company,
	    username => 'host');
	@rooms = map { "lost-$backend-$_" } 1 .. 8;
	$s->room(code => $_, host => $host) for @rooms;
	start_watch();

	my ($made, $tstart) = (0, time);
	while (($made = sql("SELECT count(*) FROM $T")) < $PER) {
		my $k = 1 + int rand 5;
		$k = $PER - $made if $k > $PER - $made;
		my @r = (List::Util::shuffle(@rooms))[0 .. $k - 1];
		batch(@r);
	}
	my $t0 = time;
	my @stuck = converge();
	diag(sprintf "%s: %d recordings in %.0f s, repaired in %.0f s",
	    $backend, $made, $t0 - $tstart, time - $t0);
	ok(!@stuck, "$backend: no recording is stuck on the way")
	    or diag(join "\n", map { "$_->{id} $_->{status}" } @stuck);
	my ($n, @problems) = check();
	cmp_ok($n, '>=', $PER, "$backend: $n recordings went through");
	is(scalar @problems, 0, "$backend: every recording completed with "
	    . "its bytes or failed with its spool file kept")
	    or diag(join "\n", @problems[0 .. ($#problems > 40 ? 40 : $#problems)]);
	$problems{$backend} = [ @problems ] if @problems;
	kill_watch() if $watch;
	# The small filesystems go with their mounts: keep a copy of what
	# they held beside the other artefacts of a failed phase.
	system('cp', '-a', $fsroot, $s->dir . '/fs')
	    unless Test::More->builder->is_passing;
	$s->finish(respawns => undef);
	$s3->stop if $s3;
	$nc->stop if $nc;
	undef $s3;
	undef $nc;
	$spool_fs->release;
	$store_fs->release;
	remove_tree($fsroot) if Test::More->builder->is_passing;
	return;
}

use List::Util ();
for my $b (@BACKENDS) {
	# A phase that hangs fails, with its artefacts kept, instead of
	# holding the suite.
	my $limit = int(600 * timeout_factor());
	local $SIG{ALRM} = sub { die "$b: the phase did not end within "
	    . "$limit s\n" };
	alarm $limit;
	phase($b);
	alarm 0;
}

# The table.
my $w = 44;
my $t = "\nfaults injected (seed $SEED; disk full on $disk_kind):\n";
$t .= sprintf "  %-${w}s %6d\n", $_, $fault{$_} for sort keys %fault;
$t .= "recordings by outcome:\n";
$t .= sprintf "  %-${w}s %6d\n", $_, $outcome{$_} for sort keys %outcome;
$t .= "recordings by backend:\n";
for my $b (sort keys %by_backend) {
	$t .= sprintf "  %-${w}s %6d\n", "$b $_", $by_backend{$b}{$_}
	    for sort keys %{ $by_backend{$b} };
}
$t .= sprintf "bytes verified by SHA-256: %d\n", $verified;
# Again at the end, where a log cut to its last lines still shows them.
for my $b (sort keys %problems) {
	my @p = @{ $problems{$b} };
	$t .= "$b: what went wrong:\n";
	$t .= "  $_\n" for @p[0 .. ($#p > 20 ? 20 : $#p)];
}
diag($t);
cmp_ok($verified, '>', 0, 'bytes were verified');
done_testing();
