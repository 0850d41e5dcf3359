#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Twenty hosts press "record" on one room at once: exactly one start
# wins (the partial unique index decides, not a SELECT-then-INSERT), the
# others get 409, and LiveKit is asked exactly once.
use strict;
use warnings;
use Test::More;
use POSIX qw(_exit);
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid http);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 8);

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'busy', name => 'Busy', host => $host, company => $co);

# Twenty children wait for one go signal, then start at once.
my $n = 20;
pipe(my $go_r, my $go_w) or die "pipe: $!";
my @kids;
my $dir = $s->dir;
for my $i (1 .. $n) {
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		close $go_w;
		sysread($go_r, my $x, 1);
		my $r = $s->api(POST => '/api/recordings/start', token => $tok,
		    json => { room_code => 'busy' });
		open(my $fh, '>', "$dir/start.$i") or _exit(1);
		print $fh "$r->{status} " . ($r->{json}{code} // '') . "\n";
		close $fh;
		_exit(0);
	}
	push @kids, $pid;
}
close $go_r;
close $go_w;	# EOF wakes every child at once
waitpid($_, 0) for @kids;

my %by;
for my $i (1 .. $n) {
	open(my $fh, '<', "$dir/start.$i") or next;
	my $line = <$fh>;
	chomp $line;
	$by{$line}++;
}
is($by{'201 '} // 0, 1, 'exactly one start answered 201')
    or diag(explain \%by);
is($by{'409 already_recording'} // 0, $n - 1,
    'the others answered 409 already_recording');
is($s->pg->psql("SELECT count(*) FROM project_management."
    . "pm_meeting_recordings WHERE room_code = 'busy'"), 1,
    'one row exists');
my $reqs = $s->standin(GET => '/_standin/requests')->{json};
my @starts = grep { $_->{method} eq 'StartRoomCompositeEgress' }
    @{ ref $reqs eq 'HASH' ? $reqs->{requests} : $reqs };
is(scalar @starts, 1, 'LiveKit was asked once');

$s->finish;
done_testing();
