#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A spool file that changes while the reaper stores it: the bytes written
# after the probe, the hash and the upload read it are in none of them,
# so the attempt fails (spool_changed, retried as usual) and the spool
# file stays; the next attempt stores all of it.  Completing the first
# one would have removed the spool file, and those bytes with it.
#
# Nextcloud's assembly is made slow (move_delay_ms), and the file grows
# while its MOVE is under way.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use Meetrec::Test::Stack;
use Meetrec::Test::Nextcloud;
use Meetrec::Test::Proc qw(wait_for);
use Meetrec::Test::Util qw(uuid slurp);

Meetrec::Test::Stack::require_prereqs();
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));
my ($s, $nc) = Meetrec::Test::Nextcloud->with_stack(
    conf => { upload_backoff_seconds => 60 }, sharees => ['host']);
my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
my $T = 'project_management.pm_meeting_recordings';
$s->room(code => 'grow', name => 'Grow', host => $host, company => $co);

sub col { $s->pg->psql("SELECT $_[1] FROM $T WHERE id = '$_[0]'") }

my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'grow' });
my $id = $r->{json}{recording_id};
$s->standin_idle;
$s->api(POST => "/api/recordings/$id/stop", token => $tok);
$s->standin_idle;
is(col($id, 'status'), 'processing', 'the egress ended with a file');
my $spool = $s->config('spool_dir') . "/$id.mp4";
my $first = slurp($spool);
ok(length($first) > 2048, 'over the chunk threshold: a chunked upload');

# The upload runs; while Nextcloud assembles the chunks, the file grows
# (a top-level 'free' box, so it is still a whole MP4).
$nc->faults({ move_delay_ms => 3000 });
my $n = $nc->log_count;
my $p = $s->start_reaper(name => 'reaper-grow',
    args => [ '--once', '--pass', 'upload' ]);
wait_for(sub { grep { $_->{method} eq 'MOVE' }
    @{ $nc->log_entries(since => $n) } }, 30, 'the MOVE to start');
my $more = pack('N', 16) . 'free' . ('z' x 8);
open(my $fh, '>>', $spool) or die "$spool: $!";
print $fh $more or die "$spool: $!";
close $fh or die "$spool: $!";
ok($p->wait_exit(timeout => 60), 'the reaper run ends');
is($p->exit_code, 1, 'reporting a failure');
my $log = $p->log_content;
my $changed = 'the spool file changed while it was stored';
like($log, qr/rec=\Q$id\E action=retry_later attempt=1 error="\Q$changed\E/,
    'the attempt fails: the file changed while it was stored');
unlike($log, qr/rec=\Q$id\E action=uploaded/, 'not completed');
is(col($id, "status || '|' || upload_attempts"), 'processing|1',
    'still processing, one attempt counted');
like(col($id, 'last_error'), qr/spool file changed/, 'last_error says so');
ok(-f $spool && slurp($spool) eq $first . $more,
    'the spool file is kept, with the bytes written meanwhile');

# The next attempt stores all of it.
$nc->faults({});
$s->pg->psql("UPDATE $T SET next_attempt_at = now() WHERE id = '$id'");
$r = $s->reaper('--pass', 'upload');
is($r->{rc}, 0, 'the retry succeeds') or diag($r->{err});
is(col($id, 'status'), 'completed', 'completed');
is(col($id, 'file_size_bytes'), length($first . $more), 'every byte');
is(col($id, 'checksum_sha256'), sha256_hex($first . $more),
    'the checksum of the whole file');
my $disk = $nc->file_path('Recordings/' . col($id, 'storage_path'));
ok(-f $disk && sha256_hex(slurp($disk)) eq sha256_hex($first . $more),
    'stored byte for byte');
ok(!-e $spool, 'then the spool file is removed');

$s->finish;
$nc->stop;
done_testing();
