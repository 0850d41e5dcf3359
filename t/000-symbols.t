#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Every symbol the objects export is mr_* (or main): static functions have
# no prefix, exported ones must have it.
use strict;
use warnings;
use Test::More;

my $build = $ENV{MEETREC_BUILDDIR} // "$ENV{PWD}";
my @objs = (glob("$build/src/*.o"), glob("$build/fcgi/*.o"));
if (!@objs) {
	BAIL_OUT("no objects in $build") if $ENV{MEETREC_TEST_REQUIRE_ALL};
	plan skip_all => "no objects in $build (build first)";
}
my @bad;
for my $o (@objs) {
	for (qx{nm -g --defined-only "$o"}) {
		my ($type, $sym) = (split ' ')[1, 2];
		next unless defined $sym;
		next if $sym =~ /^(mr_|main$|_)/;
		push @bad, "$o: $sym";
	}
}
ok(scalar @objs > 10, scalar(@objs) . ' objects checked');
is(scalar @bad, 0, 'only mr_* symbols are exported') or diag(join "\n", @bad);
done_testing();
