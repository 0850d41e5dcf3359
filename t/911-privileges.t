#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Started as root with fcgi_user set, the pool binds its socket, gives it
# to that user, drops root for good and serves as that user.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp);

plan skip_all => 'needs root to start the pool as root' if $> != 0;
my $nobody = getpwnam('nobody');
plan skip_all => 'no user nobody' unless defined $nobody;
Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(conf => { fcgi_user => 'nobody' });

my ($co, $host) = (uuid(), uuid());
my $tok = $s->token(user => $host, company => $co, username => 'host');
$s->room(code => 'priv', name => 'priv', host => $host, company => $co);

sub uids {
	my ($pid) = @_;
	my ($line) = slurp("/proc/$pid/status") =~ /^Uid:\s+(.*)$/m;
	return [split ' ', $line];
}
my $nuid = getpwnam('nobody');
is_deeply(uids($s->pool_pid), [($nuid) x 4],
    'the master runs as nobody (real, effective, saved, fs)');
is_deeply(uids($_), [($nuid) x 4], "worker $_ runs as nobody")
    for $s->worker_pids;
is((stat $s->config->{fcgi_socket})[4], $nuid, 'the socket is nobody\'s');
like($s->log('pool'), qr/running as nobody/, 'it says so');
my $r = $s->api(POST => '/api/recordings/start', token => $tok,
    json => { room_code => 'priv' });
is($r->{status}, 201, 'and serves: a recording starts') or diag($r->{body});

$s->finish;
done_testing();
