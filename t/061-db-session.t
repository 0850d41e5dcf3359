#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# What meetrec's own database sessions run with: no JIT.  A list keeps
# the plan made once for any values, costed for a tenth of what its scope
# may hold; at millions of rows that passes jit_above_cost, and compiling
# it cost 20 to 30 ms a page that takes under 1 ms to read.  Here the server
# compiles every statement it may (jit_above_cost 0) and auto_explain
# writes each plan to the log: the statements of the pool's sessions,
# connected after that, show no JIT, and one from psql (the same role
# and database, the server's defaults) does, so the log would show it.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(wait_for);
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(workers => 2, no_standin => 1);
my $pg = $s->pg;
my $jit = $pg->psql('SELECT pg_jit_available()');
plan skip_all => 'this PostgreSQL has no JIT provider (llvmjit)'
    unless $jit eq 't';

$pg->psql(<<'EOF');
LOAD 'auto_explain';
ALTER SYSTEM SET jit = on;
ALTER SYSTEM SET jit_above_cost = 0;
ALTER SYSTEM SET session_preload_libraries = 'auto_explain';
ALTER SYSTEM SET auto_explain.log_min_duration = 0;
ALTER SYSTEM SET log_line_prefix = '%m [%p] %q%u@%d app=%a ';
EOF
# Every session starts again, under those settings.
$s->restart_pg(mode => 'fast');

my $co = uuid();
my $tok = $s->token(user => uuid(), company => $co, role => 'admin');
my $r;
wait_for(sub {
	$r = $s->api(GET => '/api/recordings/?scope=company', token => $tok);
	return $r->{status} == 200;
}, 30, 'the pool back on the restarted server');
for my $scope (qw(company mine)) {
	$r = $s->api(GET => "/api/recordings/?scope=$scope&limit=5",
	    token => $tok);
	is($r->{status}, 200, "scope=$scope answers");
}
$pg->psql("SELECT 'jit-control', count(*) FROM "
    . "project_management.pm_meeting_recordings");

# The log's auto_explain entries: "duration: ... plan:" and the lines
# that follow it, indented; psql's (the harness's, and ours) apart.
my (@entries, @psql, $cur);
for my $l (split /\n/, $s->log('pg')) {
	if ($l =~ /\bapp=(\S*) .*\bduration: [\d.]+ ms\s+plan:/) {
		$cur = $1 eq 'psql' ? \@psql : \@entries;
		push @$cur, '';
	} elsif ($cur && $l =~ /^\s/) {
		$cur->[-1] .= "$l\n";
	} else {
		undef $cur;
	}
}
my ($control) = grep { /jit-control/ } @psql;
ok($control, 'auto_explain logged the psql session\'s statement');
like($control // '', qr/^\s*JIT:/m,
    'which was compiled: the server would compile what it may')
    or diag($control);
my @lists = grep { /pm_meeting_recordings/ && /ORDER BY r\.created_at/ }
    @entries;
ok(@lists >= 2, scalar(@lists) . ' list statements of the pool logged');
my @compiled = grep { /^\s*JIT:/m } @entries;
is(scalar @compiled, 0, 'no statement of meetrec\'s sessions was compiled')
    or diag($compiled[0]);

$pg->psql(<<'EOF');
ALTER SYSTEM RESET ALL;
EOF
$s->finish;
done_testing();
