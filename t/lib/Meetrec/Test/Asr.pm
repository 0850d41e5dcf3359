# SPDX-License-Identifier: ISC
#
# Meetrec::Test::Asr - a speech-to-text server for one test: the stand-in
# t/asr/asrserver.mjs on 127.0.0.1, which speaks OpenAI's POST
# /v1/audio/transcriptions (multipart/form-data, verbose_json) and
# "recognises" the sentences of a script by the voiced durations of their
# reference WAVs.  It needs node and the npm packages of t/asr (the
# official openai SDK, used by t/asr/selftest.mjs), nothing of meetrec's
# build and no database.  See doc/asr.md and t/asr/README.md.
#
#	use Meetrec::Test::Asr;
#	Meetrec::Test::Asr::require_prereqs();	# or prereqs_missing()
#	my $asr = Meetrec::Test::Asr->new(dir => "$d/asr",
#	    max_bytes => 26214400, api_key => 'sk-...', wav_only => 1);
#	$ENV{MEETREC_ASR_URL} = $asr->url;	# the full endpoint URL
#	$asr->script([ { text => 'Hello there.', wav => "$d/s1.wav" }, ... ]);
#	$asr->fault(next => 1, status => 429, retry_after => 7);
#	$asr->fault(next => 1, mode => 'reset');	# or 'garbage'
#	$asr->fault(next => 1, delay_ms => 8000);
#	$asr->down(1); ... $asr->down(0);
#	my $reqs = $asr->requests;	# [ { time, bytes, fields, ... } ]
#	$asr->reset;			# faults and the log forgotten
#	$asr->stop;
#
# new() options: dir (required), port (0: a free one, kept across
# stop()/start()), host, max_bytes (413 past it), api_key (401 without
# "Authorization: Bearer <key>"), wav_only (only 16 kHz mono s16 WAV, as
# whisper.cpp's server without --convert), path (another endpoint path,
# served besides /v1/audio/transcriptions), rate (requests per second
# before 429).  The script, faults and the log live in the stand-in's
# memory and are gone after a restart.  Files under dir: port, asr.log
# (one JSON line per transcription request) and log/asr.log (its stdout
# and stderr).

package Meetrec::Test::Asr;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);

use Meetrec::Test::Stack ();
use Meetrec::Test::Proc qw(spawn wait_for);
use Meetrec::Test::Util qw(http slurp);

my $OWNER = $$;

# prereqs_missing() - why the stand-in cannot run; empty when it can.
sub prereqs_missing {
	return Meetrec::Test::Stack::node_missing('t/asr/asrserver.mjs',
	    't/asr', 'openai');
}

# require_prereqs() - skip_all (or BAIL_OUT with MEETREC_TEST_REQUIRE_ALL)
# when the stand-in cannot run.
sub require_prereqs {
	return Meetrec::Test::Stack::skip_unless(prereqs_missing());
}

sub new {
	my ($class, %o) = @_;
	croak 'Asr: dir is required' unless $o{dir};
	my $self = bless {
		dir       => $o{dir},
		port      => $o{port} // 0,
		host      => $o{host} // '127.0.0.1',
		max_bytes => $o{max_bytes},
		api_key   => $o{api_key},
		wav_only  => $o{wav_only},
		path      => $o{path} // '/v1/audio/transcriptions',
		rate      => $o{rate},
		owner     => $$,
	}, $class;
	make_path("$self->{dir}/log");
	$self->start;
	return $self;
}

sub start {
	my ($self) = @_;
	croak 'Asr: already running' if $self->{proc} && $self->{proc}->alive;
	my $d = $self->{dir};
	my $pf = "$d/port";
	unlink $pf;
	my $node = Meetrec::Test::Stack::_node()
	    or croak 'Asr: node not found';
	my @args = ('--port', $self->{port}, '--port-file', $pf,
	    '--host', $self->{host}, '--log', "$d/asr.log",
	    '--path', $self->{path});
	push @args, '--max-bytes', $self->{max_bytes}
	    if defined $self->{max_bytes};
	push @args, '--api-key', $self->{api_key} if defined $self->{api_key};
	push @args, '--rate', $self->{rate} if defined $self->{rate};
	push @args, '--wav-only' if $self->{wav_only};
	my $p = spawn('asr', [ $node,
	    Meetrec::Test::Stack::node_script('t/asr/asrserver.mjs', 't/asr'),
	    @args ], {}, $d, cwd => $d);
	$self->{proc} = $p;
	$self->{port} = wait_for(sub {
		die 'Asr: it exited (' . $p->describe . "):\n"
		    . $p->log_content . "\n" unless $p->alive;
		return 0 unless -s $pf;
		my $n = slurp($pf) =~ s/\s+//gr;
		return $n =~ /^\d+$/ ? $n : 0;
	}, 30, "the ASR stand-in's port file $pf");
	return $self;
}

# stop(sig => 'TERM') - returns "exit N" / "signal N" as Proc describes.
sub stop {
	my ($self, %o) = @_;
	return undef unless $self->{proc};
	$self->{proc}->stop(sig => $o{sig} // 'TERM', timeout => 10);
	return $self->{proc}->describe;
}

# What we started goes with us (Proc's END guard catches the rest).
sub DESTROY {
	my ($self) = @_;
	return if $$ != $OWNER || ($self->{owner} // 0) != $$;
	local ($?, $!, $@);
	eval { $self->{proc}->stop(timeout => 5)
	    if $self->{proc} && $self->{proc}->alive };
}

sub proc { return $_[0]{proc} }
sub port { return $_[0]{port} }
sub dir  { return $_[0]{dir} }
sub base { return "http://$_[0]{host}:$_[0]{port}" }

# url() - the transcriptions endpoint, the value asr_url wants.
sub url { return $_[0]->base . $_[0]{path} }

sub log { return -e "$_[0]{dir}/asr.log" ? slurp("$_[0]{dir}/asr.log") : '' }

sub _ctl {
	my ($self, $method, $path, $json) = @_;
	my $r = http($method, $self->base . $path,
	    defined $json ? { json => $json } : {});
	croak "Asr: $method $path: $r->{status} $r->{body}"
	    unless $r->{status} == 200;
	return $r->{json};
}

# script(\@sentences) - each { text => ..., wav => '/abs/path.wav' }: a
# voiced burst of an uploaded piece as long as a reference's voiced part
# (within max(25%, 0.3 s)) is answered as its text.  Returns the
# sentences with their measured voiced durations ({ text, wav, voiced }).
sub script {
	my ($self, $sentences) = @_;
	return $self->_ctl(POST => '/_asr/script',
	    { sentences => $sentences })->{sentences};
}

# fault(next => N, status => 429|500|503|413|..., retry_after => S,
# retry_after_date => 1, mode => 'reset'|'garbage', delay_ms => M) - the
# next N transcription requests meet this fault (faults queue up).
# status answers with OpenAI's error shape (and Retry-After when
# retry_after is given, as an HTTP-date with retry_after_date); reset
# destroys the connection once the body is read; garbage answers 200
# with a body that is not JSON; delay_ms waits before answering.
sub fault {
	my ($self, %o) = @_;
	$o{next} //= 1;
	return $self->_ctl(POST => '/_asr/fault', \%o);
}

# down(1|0) - while on, every transcription request's connection is
# closed at once (and those under way are cut).
sub down {
	my ($self, $on) = @_;
	return $self->_ctl(POST => '/_asr/down', { down => $on ? \1 : \0 });
}

# requests() - the transcription requests received, oldest first: an
# array ref of { time, bytes (the file's), body_bytes, filename,
# content_type, fields => { model, language, response_format,
# temperature, timestamp_granularities }, wav => { rate, channels, bits,
# seconds } or undef, status (a number, or "reset"/"gone") }.
sub requests {
	my ($self) = @_;
	return $self->_ctl(GET => '/_asr/requests');
}

# reset() - forget faults and the request log; down is off again.
sub reset {
	my ($self) = @_;
	return $self->_ctl(POST => '/_asr/reset', {});
}

1;
