#!/usr/bin/perl
# SPDX-License-Identifier: ISC
#
# 921-review-storage.t - storage backend cases found in review: a chunked
# upload resumed with another chunk size must not keep chunks that only
# happen to have the right length (storage.md 2.3: chunk number and byte
# offset are tied to one chunk size).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA ();
use Test::More;

use Meetrec::Test::Stack;
use Meetrec::Test::Proc qw(run_cmd);
use Meetrec::Test::Util qw(random_bytes spew);
use Meetrec::Test::Nextcloud;

Meetrec::Test::Stack::require_prereqs(qw(pg binaries));
Meetrec::Test::Stack::skip_unless(
    Meetrec::Test::Nextcloud::prereqs_missing('ncserver'));

my $KiB = 1024;
my ($s, $nc) = Meetrec::Test::Nextcloud->with_stack(user => 'meetrec',
    stack => { no_pool => 1, no_nginx => 1, no_standin => 1,
    no_migrate => 1 }, conf => { nextcloud_chunk_threshold => 65536,
    nextcloud_chunk_size => 256 * $KiB });
my $d = $s->dir;
my $admin = Meetrec::Test::Stack::admin_bin();
my $env = $s->_prog_env;

sub sha_file {
	my ($path) = @_;
	return undef unless -f $path;
	return Digest::SHA->new(256)->addfile($path, 'b')->hexdigest;
}

sub put_cs {
	my ($cs, @args) = @_;
	return run_cmd([ $admin, '--config', $s->conf_path, 'store', 'put',
	    @args ], env => { %$env, MEETREC_NEXTCLOUD_CHUNK_SIZE => $cs });
}

# ---------------------------------------------------------------------
# 1280 KiB in 256 KiB chunks; the server goes away after chunk 3.  The
# operator then sets 512 KiB chunks: the new chunk 3 (the last, 256 KiB)
# has the length of the old chunk 3, which holds bytes 512-768 KiB, not
# 1024-1280 KiB.
for my $id ('meetrec-cs', undef) {
	my $what = defined $id ? 'a given upload id' : 'a derived upload id';
	my $key = 'room-cs/' . ($id // 'derived') . '.mp4';
	my $file = "$d/cs.bin";
	spew($file, random_bytes(1280 * $KiB));
	utime 1700000200, 1700000200, $file;
	my @id = defined $id ? ('--upload-id', $id) : ();
	$nc->faults({ fail_chunk_puts_after => 3 });
	my $r = put_cs(256 * $KiB, $file, $key, @id);
	is($r->{rc}, 1, "$what: the put dies after three chunks");
	$nc->faults({});
	$r = put_cs(512 * $KiB, $file, $key, @id);
	is($r->{rc}, 0, "$what: the put with 512 KiB chunks succeeds")
	    or diag $r->{err};
	is(sha_file($nc->file_path("Recordings/$key")), sha_file($file),
	    "$what: the stored file is byte-identical");
}

# ---------------------------------------------------------------------
is($nc->stop, 0, 'teardown: ncserver exited with status 0')
    or diag $nc->log_content;
$s->finish;
done_testing();
