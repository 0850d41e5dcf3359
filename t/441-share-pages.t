#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A recording's share links come in pages (limit, cursor, next_cursor,
# total) like every other list: a recording with hundreds of links, most
# of them revoked or expired, lists every one of them exactly once,
# newest first, links made in the same microsecond included.
use strict;
use warnings;
use Test::More;
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid);

Meetrec::Test::Stack::require_prereqs();
my $s = Meetrec::Test::Stack->new;
my $owner = uuid();
my $tok = $s->token(user => $owner, username => 'owner');
my $peer = $s->token(username => 'peer');
my $T = 'project_management';

sub sql { return $s->pg->psql($_[0]) }

my $room = $s->meeting('pages', host => $owner);
my $id = sql("INSERT INTO $T.pm_meeting_recordings (room_code, meeting_id, "
    . "company_id, recorded_by, status) VALUES ('pages', '$room', '"
    . $s->company . "', '$owner', 'completed') RETURNING id");
like($id, qr/^[0-9a-f-]{36}$/, 'a completed recording');

# 260 links: one a second back in time, every tenth pair made at the
# same moment, most revoked or expired, a few still working.
sql("INSERT INTO $T.pm_recording_shares (recording_id, token_sha256, "
    . "created_by, expires_at, revoked_at, created_at) SELECT '$id', "
    . "md5(g::text) || md5(g::text), '$owner', "
    . "CASE WHEN g % 3 = 0 THEN now() - interval '1 hour' "
    . "ELSE now() + interval '1 day' END, "
    . "CASE WHEN g % 5 = 0 OR g > 20 THEN now() END, "
    . "date_trunc('second', now()) - interval '1 day' + "
    . "make_interval(secs => g - g % 10 * (g % 2)) "
    . "FROM generate_series(1, 260) g");
my @want = split /\n/, sql("SELECT id FROM $T.pm_recording_shares "
    . "WHERE recording_id = '$id' ORDER BY created_at DESC, id DESC");
is(scalar @want, 260, '260 links in the table');
ok(sql("SELECT count(*) FROM (SELECT created_at FROM "
    . "$T.pm_recording_shares GROUP BY 1 HAVING count(*) > 1) d") > 0,
    'some of them made at the same moment');

# walk($limit) - every page from the first; the share ids in order.
sub walk {
	my ($limit) = @_;
	my (@ids, $cursor);
	my $pages = 0;
	while (1) {
		my $q = join '&', ($limit ? "limit=$limit" : ()),
		    ($cursor ? "cursor=$cursor" : ());
		my $r = $s->api(GET => "/recordings/$id/shares?$q",
		    token => $tok);
		is($r->{status}, 200, "page " . ($pages + 1) . ' of limit '
		    . ($limit // 'default')) or last;
		$pages++;
		is($r->{json}{total}, 260, 'total counts every link')
		    if $pages == 1;
		is($r->{json}{recording_id}, $id, 'names the recording')
		    if $pages == 1;
		push @ids, map { $_->{share_id} } @{ $r->{json}{shares} };
		$cursor = $r->{json}{next_cursor};
		last unless defined $cursor;
		last if $pages > 300;
	}
	return (\@ids, $pages);
}

my ($ids, $pages) = walk(undef);
is($pages, 6, '50 a page by default: six pages');
is_deeply($ids, \@want, 'every link once, newest first');
($ids, $pages) = walk(200);
is($pages, 2, 'limit=200: two pages');
is_deeply($ids, \@want, 'the same links');
($ids, $pages) = walk(7);
is_deeply($ids, \@want, 'limit=7 walks them all too');
my $r = $s->api(GET => "/recordings/$id/shares?limit=260", token => $tok);
is($r->{status}, 400, 'limit over 200: 400');
is($r->{json}{code}, 'invalid_query', 'invalid_query');
like($r->{json}{detail}, qr/'limit'/, 'naming limit');
$r = $s->api(GET => "/recordings/$id/shares?cursor=abc", token => $tok);
is($r->{status}, 400, 'a cursor this API did not give: 400');
is($r->{json}{code}, 'invalid_cursor', 'invalid_cursor');
$r = $s->api(GET => "/recordings/$id/shares?offset=5", token => $tok);
is($r->{status}, 400, 'an unknown parameter: 400');
$r = $s->api(GET => "/recordings/$id/shares?limit=1", token => $peer);
is($r->{status}, 403, 'only the owner or an admin lists them');
$r = $s->api(GET => "/recordings/$id/shares?limit=1", token => $tok);
my $last = $r->{json}{shares}[0];
is($last->{share_id}, $want[0], 'limit=1: the newest');
ok(!exists $last->{token}, 'never a token');

# A link made while paging shows on the first page, not in the middle.
$r = $s->api(POST => "/recordings/$id/shares", token => $tok, json => {},
    from => '127.0.1.9');
is($r->{status}, 201, 'one more link') or diag($r->{body});
my $new = $r->{json}{share_id};
$r = $s->api(GET => "/recordings/$id/shares?limit=1", token => $tok);
is($r->{json}{shares}[0]{share_id}, $new, 'it comes first');
is($r->{json}{total}, 261, 'total 261');

$s->finish;
done_testing();
