#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Meetrec::Test::PgProxy drops a connection only after a commit: a
# statement that matches its pattern inside a transaction block is not
# committed yet (its ReadyForQuery says 'T'), so its answer goes through
# and the proxy stays armed; the same statement outside one, or the
# COMMIT of a block, is dropped.  t/922 and t/950 count on that when
# they say "lost after the commit".
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new(pg_proxy => 1, no_nginx => 1,
    no_pool => 1, no_standin => 1);
my ($pg, $px) = ($s->pg, $s->pgproxy);

# psql through the proxy; from its standard input it sends one statement
# at a time, each answered with its own ReadyForQuery.
sub via_proxy {
	my ($sql) = @_;
	my ($host, $port) = $px->conninfo('x', 'y') =~ /host=(\S+) port=(\d+)/;
	return run_cmd([ $pg->_client('psql'), '-X', '-A', '-t', '-q',
	    '-v', 'ON_ERROR_STOP=1', '-h', $host, '-p', $port,
	    '-U', $Meetrec::Test::Pg::ROLE, '-d', $pg->dbname ],
	    stdin => $sql, timeout => 30);
}
sub rows { return $pg->psql('SELECT count(*) FROM px_t') }

$pg->psql('CREATE TABLE px_t (x int)');
$px->arm(qr/^INSERT/);
my $r = via_proxy("BEGIN;\nINSERT INTO px_t VALUES (1);\nCOMMIT;\n"
    . "SELECT 'answered';\n");
is($r->{rc}, 0, 'an INSERT in a transaction block: not dropped')
    or diag($r->{err});
like($r->{out}, qr/answered/, 'every answer came');
is($px->fired, 0, 'nothing counted as fired');
ok($px->armed, 'still armed');

$r = via_proxy("INSERT INTO px_t VALUES (2);\nSELECT 'answered';\n");
isnt($r->{rc}, 0, 'the next INSERT, committed on its own: dropped');
unlike($r->{out}, qr/answered/, 'no answer after it');
is($px->fired, 1, 'fired once');
ok(!$px->armed, 'and disarmed');
is(rows(), 2, 'both INSERTs committed');

$px->arm(qr/^COMMIT$/);
$r = via_proxy("BEGIN;\nINSERT INTO px_t VALUES (3);\nCOMMIT;\n"
    . "SELECT 'answered';\n");
isnt($r->{rc}, 0, 'the COMMIT of a block: dropped');
is($px->fired, 2, 'fired');
is(rows(), 3, 'and committed');

$s->finish;
done_testing();
