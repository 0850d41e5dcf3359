#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The source checks of scripts/checksrc.sh pass.
use strict;
use warnings;
use FindBin;
use Test::More;

my $out = qx{sh "$FindBin::Bin/../scripts/checksrc.sh" 2>&1};
is($?, 0, 'checksrc finds nothing') or diag($out);
done_testing();
