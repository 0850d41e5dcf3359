// SPDX-License-Identifier: ISC
//
// selftest.mjs - the stand-in (asrserver.mjs) against the official
// OpenAI SDK (npm openai): what the real client sends, the stand-in
// accepts, and what it answers, the client parses; its errors surface as
// the SDK's APIError classes with the right status.  Prints TAP.
//
//   node selftest.mjs          (starts its own stand-ins; TMPDIR for files)

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import OpenAI, { toFile } from 'openai';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(),
  'asr-selftest-'));
let n = 0, failed = 0;
const children = [];

function ok(cond, name, diag) {
  n++;
  if (!cond) failed++;
  process.stdout.write(`${cond ? '' : 'not '}ok ${n} - ${name}\n`);
  if (!cond && diag !== undefined)
    process.stdout.write(`# ${JSON.stringify(diag)}\n`);
  return cond;
}

// A PCM s16 WAV of the given rate with tone bursts [{ at, len }] (s).
function wav(rate, seconds, bursts, channels = 1) {
  const frames = Math.round(rate * seconds);
  const b = Buffer.alloc(44 + frames * 2 * channels);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + frames * 2 * channels, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2 * channels, 28);
  b.writeUInt16LE(2 * channels, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(frames * 2 * channels, 40);
  for (const { at, len } of bursts) {
    for (let i = Math.round(at * rate); i < Math.round((at + len) * rate) &&
        i < frames; i++) {
      const v = Math.round(8000 * Math.sin(2 * Math.PI * 220 * i / rate));
      for (let c = 0; c < channels; c++)
        b.writeInt16LE(v, 44 + (i * channels + c) * 2);
    }
  }
  return b;
}

async function start(name, args) {
  const pf = path.join(tmp, `${name}.port`);
  const c = spawn(process.execPath, [path.join(here, 'asrserver.mjs'),
    '--port', '0', '--port-file', pf, ...args],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  for (let i = 0; i < 300; i++) {
    if (fs.existsSync(pf)) {
      const port = Number(fs.readFileSync(pf, 'utf8').trim());
      if (port) return `http://127.0.0.1:${port}`;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} did not start`);
}

async function ctl(base, p, body) {
  const r = await fetch(base + p, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return r.json();
}

async function fails(p) {
  try {
    await p;
    return null;
  } catch (e) {
    return e;
  }
}

const near = (a, b, eps = 0.1) => Math.abs(a - b) <= eps;

try {
  const key = 'sk-test-0123456789';
  const base = await start('main', ['--wav-only', '--api-key', key]);
  const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`,
    maxRetries: 0, timeout: 20000 });

  // The script: three "sentences" of 0.8, 1.6 and 3 s of tone at 22050 Hz.
  const lens = [0.8, 1.6, 3.0];
  const texts = ['Short one.', 'A sentence of middling length.',
    'And this one goes on for quite a while longer than the others.'];
  const sentences = lens.map((len, i) => {
    const f = path.join(tmp, `ref${i}.wav`);
    fs.writeFileSync(f, wav(22050, len + 0.5, [{ at: 0.25, len }]));
    return { text: texts[i], wav: f };
  });
  const sc = await ctl(base, '/_asr/script', { sentences });
  ok(sc.sentences?.length === 3 && near(sc.sentences[2].voiced, 3.0, 0.05),
    'script registered, voiced durations measured', sc);

  // A piece: the sentences at 1.0, 4.0 and 8.0 s, plus a 5 s burst
  // that matches nothing.
  const at = [{ at: 8.0, len: 3.0 }, { at: 1.0, len: 0.8 },
    { at: 4.0, len: 1.6 }, { at: 13.0, len: 5.0 }];
  const piece = wav(16000, 19, at);
  const r = await client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1', response_format: 'verbose_json',
    timestamp_granularities: ['segment'], language: 'en', temperature: 0,
  });
  ok(Array.isArray(r.segments) && r.segments.length === 4,
    'verbose_json: four segments', r);
  const want = [[1.0, 1.8, texts[0]], [4.0, 5.6, texts[1]],
    [8.0, 11.0, texts[2]], [13.0, 18.0, '[unintelligible]']];
  want.forEach(([s, e, t], i) => {
    const g = r.segments?.[i] ?? {};
    ok(near(g.start, s) && near(g.end, e) && g.text?.trim() === t,
      `segment ${i}: ${s}-${e} "${t}"`, g);
  });
  ok(r.language === 'en' && near(r.duration, 19, 0.01) &&
    r.task === 'transcribe', 'language, duration and task', r);
  ok(r.text === texts.join(' ') + ' [unintelligible]', 'the whole text',
    r.text);
  const g0 = r.segments?.[0] ?? {};
  ok(['id', 'seek', 'tokens', 'temperature', 'avg_logprob',
    'compression_ratio', 'no_speech_prob'].every((k) => k in g0),
  "segments carry OpenAI's fields");

  const log = await ctl(base, '/_asr/requests');
  const e = log[log.length - 1] ?? {};
  ok(e.status === 200 && e.fields?.model === 'whisper-1' &&
    e.fields?.response_format === 'verbose_json' &&
    e.fields?.language === 'en' && e.wav?.rate === 16000 &&
    e.wav?.channels === 1 && e.wav?.bits === 16 && near(e.wav?.seconds, 19),
  'the request log has what the SDK sent', e);
  ok(e.filename === 'audio.wav' && /^audio\/wav/.test(e.content_type),
    'the file part: filename and Content-Type', e);

  // json and text.
  const j = await client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1',
  });
  ok(j.text === r.text && j.segments === undefined, 'json: text only', j);
  const t = await client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1', response_format: 'text',
  });
  ok(typeof t === 'string' && t.trim() === r.text, 'text: a string', t);
  const wd = await client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1', response_format: 'verbose_json',
    timestamp_granularities: ['word', 'segment'],
  });
  ok(Array.isArray(wd.words) && wd.words.length > 10 &&
    wd.language === 'english', 'word timestamps; language defaults to '
    + 'english', wd.language);

  // Errors as the SDK sees them.
  const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${base}/v1`,
    maxRetries: 0 });
  let err = await fails(bad.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1' }));
  ok(err instanceof OpenAI.AuthenticationError && err.status === 401 &&
    err.code === 'invalid_api_key', '401: AuthenticationError', err?.message);

  err = await fails(client.audio.transcriptions.create({
    file: await toFile(wav(22050, 2, [{ at: 0.5, len: 1 }]), 'audio.wav',
      { type: 'audio/wav' }), model: 'whisper-1' }));
  ok(err instanceof OpenAI.BadRequestError && err.status === 400 &&
    /failed to read audio data/.test(err.message),
  '--wav-only: 22050 Hz refused as whisper.cpp does', err?.message);

  err = await fails(client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1', response_format: 'xml' }));
  ok(err instanceof OpenAI.BadRequestError && err.param === 'response_format',
    '400: a bad response_format names the param', err?.message);

  await ctl(base, '/_asr/fault', { next: 1, status: 429, retry_after: 7 });
  err = await fails(client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1' }));
  ok(err instanceof OpenAI.RateLimitError && err.status === 429 &&
    err.headers?.get?.('retry-after') === '7',
  '429: RateLimitError with Retry-After 7', err?.message);

  await ctl(base, '/_asr/fault', { next: 1, status: 500 });
  err = await fails(client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1' }));
  ok(err instanceof OpenAI.InternalServerError && err.status === 500,
    '500: InternalServerError', err?.message);

  await ctl(base, '/_asr/fault', { next: 1, mode: 'reset' });
  err = await fails(client.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1' }));
  ok(err instanceof OpenAI.APIConnectionError, 'reset: APIConnectionError',
    err?.message);

  // The size limit, on an instance of its own.
  const small = await start('small', ['--max-bytes', '200000']);
  const sc2 = new OpenAI({ apiKey: 'x', baseURL: `${small}/v1`,
    maxRetries: 0 });
  err = await fails(sc2.audio.transcriptions.create({
    file: await toFile(piece, 'audio.wav', { type: 'audio/wav' }),
    model: 'whisper-1' }));
  ok(err instanceof OpenAI.APIError && err.status === 413 &&
    /Maximum content size limit \(200000\) exceeded/.test(err.message),
  '413: APIError with status 413 and OpenAI\'s message', err?.message);
  const okSmall = await sc2.audio.transcriptions.create({
    file: await toFile(wav(16000, 3, [{ at: 1, len: 1 }]), 'audio.wav',
      { type: 'audio/wav' }), model: 'whisper-1',
    response_format: 'verbose_json' });
  ok(okSmall.segments?.length === 1 &&
    okSmall.segments[0].text.trim() === '[unintelligible]',
  'under the limit: answered (no script: unintelligible)', okSmall);

  const rs = await ctl(base, '/_asr/reset', {});
  const l2 = await ctl(base, '/_asr/requests');
  ok(rs.reset === true && l2.length === 0, 'reset clears the log');
} catch (e) {
  ok(false, `no exception: ${e?.stack ?? e}`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(`1..${n}\n`);
process.exitCode = failed ? 1 : 0;
