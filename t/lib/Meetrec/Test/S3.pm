# SPDX-License-Identifier: ISC
#
# Meetrec::Test::S3 - a local S3 server for one test: t/s3/s3server.mjs
# (npm @20minutes/s3rver, which checks SigV4 signatures as S3 does) on
# 127.0.0.1, with its own key pair and bucket, storing objects under a
# folder of the test.
#
#	use Meetrec::Test::S3;
#	Meetrec::Test::S3::require_prereqs();
#	my $s3 = Meetrec::Test::S3->new(dir => "$d/s3");
#	my $s = Meetrec::Test::Stack->new(conf => { storage_type => 's3',
#	    %{ $s3->conf } });
#	...
#	$s3->stop;
#
# The port is picked at the first start and kept across stop()/start(),
# so a config naming it stays valid when a test restarts the server.
# Files under dir: data/ (s3rver's store), port, s3server.log (one line
# per request) and log/s3server.log (its stdout and stderr).

package Meetrec::Test::S3;

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex sha256_hex);
use Fcntl qw(:flock);
use File::Path qw(make_path);
use POSIX qw(strftime);

use Meetrec::Test::Stack ();
use Meetrec::Test::Proc qw(spawn wait_for run_cmd);
use Meetrec::Test::Util qw(src_root build_root http random_hex slurp);

# The stack's own helpers: where node is, where test folders go, npm ci.
sub _node { return Meetrec::Test::Stack::_node() }

# prereqs_missing() - why the S3 server cannot run; empty when it can.
sub prereqs_missing {
	return Meetrec::Test::Stack::node_missing('t/s3/s3server.mjs', 't/s3',
	    '@20minutes/s3rver');
}

# require_prereqs() - skip_all (or BAIL_OUT with MEETREC_TEST_REQUIRE_ALL)
# when the server cannot run.
sub require_prereqs {
	return Meetrec::Test::Stack::skip_unless(prereqs_missing());
}

# new(dir => DIR, bucket => 'meetrec', access_key => random,
# secret_key => random, region => 'us-east-1', port => N) - start it and
# wait for its port file.
sub new {
	my ($class, %o) = @_;
	croak 'S3: dir is required' unless $o{dir};
	my $self = bless {
		dir        => $o{dir},
		bucket     => $o{bucket} // 'meetrec',
		access_key => $o{access_key} // ('AK' . uc random_hex(8)),
		# '/' and '+' as in real secrets: they must survive signing.
		secret_key => $o{secret_key} // (random_hex(12) . '/x+'
		    . random_hex(6)),
		region     => $o{region} // 'us-east-1',
		port       => $o{port} // 0,
	}, $class;
	make_path("$self->{dir}/data", "$self->{dir}/log");
	$self->start;
	return $self;
}

sub start {
	my ($self) = @_;
	croak 'S3: already running' if $self->{proc} && $self->{proc}->alive;
	my $d = $self->{dir};
	my $pf = "$d/port";
	unlink $pf;
	my $node = _node() or croak 'S3: node not found';
	my $p = spawn('s3server', [ $node,
	    Meetrec::Test::Stack::node_script('t/s3/s3server.mjs', 't/s3'),
	    '--port', $self->{port}, '--port-file', $pf, '--dir', "$d/data",
	    '--bucket', $self->{bucket}, '--access-key', $self->{access_key},
	    '--secret-key', $self->{secret_key}, '--log', "$d/s3server.log" ],
	    {}, $d, cwd => $d);
	$self->{proc} = $p;
	$self->{port} = wait_for(sub {
		die 'S3: the server exited (' . $p->describe . "):\n"
		    . $p->log_content . "\n" unless $p->alive;
		return 0 unless -s $pf;
		my $n = slurp($pf) =~ s/\s+//gr;
		return $n =~ /^\d+$/ ? $n : 0;
	}, 30, "the S3 server's port file $pf");
	return $self;
}

# stop(sig => 'TERM') - returns "exit N" / "signal N" as Proc describes.
sub stop {
	my ($self, %o) = @_;
	return undef unless $self->{proc};
	$self->{proc}->stop(sig => $o{sig} // 'TERM', timeout => 10);
	return $self->{proc}->describe;
}

sub proc       { return $_[0]{proc} }
sub port       { return $_[0]{port} }
sub bucket     { return $_[0]{bucket} }
sub access_key { return $_[0]{access_key} }
sub secret_key { return $_[0]{secret_key} }
sub endpoint   { return "http://127.0.0.1:$_[0]{port}" }

# conf() - the meetrec.conf keys that point at this server.
sub conf {
	my ($self) = @_;
	return {
		s3_endpoint   => $self->endpoint,
		s3_region     => $self->{region},
		s3_bucket     => $self->{bucket},
		s3_access_key => $self->{access_key},
		s3_secret_key => $self->{secret_key},
	};
}

# object_file($key) - where s3rver keeps the bytes of bucket/$key.
sub object_file {
	my ($self, $key) = @_;
	my @seg = split m{/}, $key, -1;
	my $last = pop @seg;
	return join '/', "$self->{dir}/data/$self->{bucket}", @seg,
	    "${last}._S3rver_object";
}

# uploads() - ids of multipart uploads started and neither completed nor
# aborted, read from s3rver's folder.
sub uploads {
	my ($self) = @_;
	my $u = "$self->{dir}/data/$self->{bucket}/._S3rver_uploads";
	opendir(my $dh, $u) or return ();
	my @ids = sort grep { !/^\./ } readdir $dh;
	closedir $dh;
	return @ids;
}

# requests() - the request log: [ method, url, status ] per line.
sub requests {
	my ($self) = @_;
	my $f = "$self->{dir}/s3server.log";
	return () unless -e $f;
	return map { [ (split ' ')[1, 2, 3] ] }
	    grep { /^\S+ [A-Z]+ \S+ \d+ / } split /\n/, slurp($f);
}

# fail_part($n, $status) - every UploadPart of part $n answers $status
# (500); fail_part(0) stops that.
sub fail_part {
	my ($self, $n, $status) = @_;
	my $r = http(POST => $self->endpoint . "/_ctl/fail-part?n=$n"
	    . '&status=' . ($status // 500));
	croak "S3: fail-part: $r->{status} $r->{body}"
	    unless $r->{status} == 200;
	return;
}

# stall_part($n) - every UploadPart of part $n is left unanswered (a hung
# server); stall_part(0) stops that for new requests.
sub stall_part {
	my ($self, $n) = @_;
	my $r = http(POST => $self->endpoint . "/_ctl/stall-part?n=$n");
	croak "S3: stall-part: $r->{status} $r->{body}"
	    unless $r->{status} == 200;
	return;
}

sub log { return slurp("$_[0]{dir}/s3server.log") }

# get_object($key, method => 'GET') - bucket/$key read through the
# server's S3 API, path style, signed with SigV4 in headers as a client
# signs it; returns what Meetrec::Test::Util::http returns (status,
# headers, body).  method => 'HEAD' for the headers alone.
sub get_object {
	my ($self, $key, %o) = @_;
	my $method = $o{method} // 'GET';
	utf8::encode($key) if utf8::is_utf8($key);
	# Each segment escaped as SigV4 wants (RFC 3986 unreserved kept).
	my $path = join '/', '', $self->{bucket}, map {
		s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ger
	} split m{/}, $key, -1;
	my @t = gmtime;
	my ($date, $stamp) = (strftime('%Y%m%d', @t),
	    strftime('%Y%m%dT%H%M%SZ', @t));
	my $host = "127.0.0.1:$self->{port}";
	my $payload = sha256_hex('');
	my $signed = 'host;x-amz-content-sha256;x-amz-date';
	my $creq = join "\n", $method, $path, '', "host:$host",
	    "x-amz-content-sha256:$payload", "x-amz-date:$stamp", '',
	    $signed, $payload;
	my $scope = "$date/$self->{region}/s3/aws4_request";
	my $sts = join "\n", 'AWS4-HMAC-SHA256', $stamp, $scope,
	    sha256_hex($creq);
	my $k = hmac_sha256($date, "AWS4$self->{secret_key}");
	$k = hmac_sha256($_, $k) for $self->{region}, 's3', 'aws4_request';
	return http($method, $self->endpoint . $path, { headers => {
		Authorization => "AWS4-HMAC-SHA256 Credential="
		    . "$self->{access_key}/$scope, SignedHeaders=$signed, "
		    . 'Signature=' . hmac_sha256_hex($sts, $k),
		'x-amz-content-sha256' => $payload,
		'x-amz-date' => $stamp,
	} });
}

1;
