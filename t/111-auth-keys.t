#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Tokens signed by an ERP with a private key: RS256 against
# jwt_public_key_file, alongside HS256; and the key-confusion attack (an
# HS256 token keyed with the public key) refused.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(hmac_sha256);
use File::Temp ();
use Meetrec::Test::Stack;
use Meetrec::Test::Util qw(uuid slurp b64url json_encode jwt_hs256);

Meetrec::Test::Stack::require_prereqs();
my $keydir = File::Temp::tempdir('mrkeyXXXX', TMPDIR => 1, CLEANUP => 1);
system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
    . "-out $keydir/key.pem 2>/dev/null") == 0 or BAIL_OUT('openssl genpkey');
system("openssl pkey -in $keydir/key.pem -pubout -out $keydir/pub.pem")
    == 0 or BAIL_OUT('openssl pkey');
chmod 0644, "$keydir/pub.pem";
chmod 0755, $keydir;

my $s = Meetrec::Test::Stack->new(conf => {
    jwt_public_key_file => "$keydir/pub.pem" });
my %std = (iss => $s->config->{jwt_issuer}, aud => $s->config->{jwt_audience});

sub rs256 {
	my ($claims) = @_;
	my $in = b64url(json_encode({ alg => 'RS256', typ => 'JWT' })) . '.'
	    . b64url(json_encode($claims));
	open(my $fh, '>', "$keydir/in") or die;
	print $fh $in;
	close $fh;
	my $sig = qx{openssl dgst -sha256 -sign $keydir/key.pem $keydir/in};
	die 'openssl dgst failed' if $? != 0;
	return "$in." . b64url($sig);
}

my ($co, $user) = (uuid(), uuid());
my %c = (%std, sub => $user, company_id => $co, username => 'erp-user',
    exp => time + 600);
my $r = $s->api(GET => '/api/recordings/', token => rs256(\%c));
is($r->{status}, 200, 'an RS256 token from the ERP is accepted')
    or diag($r->{body});
$r = $s->api(GET => '/api/recordings/', token => rs256({ %c,
    exp => time - 600 }));
is($r->{status}, 401, 'an expired RS256 token is refused');
my $t = rs256(\%c);
$t =~ s/\.([\w-]+)$/'.' . reverse($1)/e;
is($s->api(GET => '/api/recordings/', token => $t)->{status}, 401,
    'a damaged RS256 signature is refused');
is($s->api(GET => '/api/recordings/', token => $s->token(user => $user,
    company => $co))->{status}, 200, 'HS256 tokens still work beside it');

# Key confusion: HS256 with the public key's PEM as the HMAC secret.
my $pem = slurp("$keydir/pub.pem");
my $hdr = b64url(json_encode({ alg => 'HS256', typ => 'JWT' }));
my $pl = b64url(json_encode(\%c));
my $forged = "$hdr.$pl." . b64url(hmac_sha256("$hdr.$pl", $pem));
$r = $s->api(GET => '/api/recordings/', token => $forged);
is($r->{status}, 401, 'an HS256 token keyed with the public key is refused');

$s->finish;
done_testing();
