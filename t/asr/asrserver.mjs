// SPDX-License-Identifier: ISC
//
// asrserver.mjs - a stand-in for an OpenAI-compatible speech-to-text
// server, for meetrec's tests.  It speaks POST /v1/audio/transcriptions as
// OpenAI, whisper.cpp's server, faster-whisper servers, LocalAI and vLLM
// do (doc/asr.md): multipart/form-data with a file and fields, answers in
// verbose_json, json or text (also srt and vtt), errors in OpenAI's shape.
// No HTTP framework, no multipart library: the parser below is strict.
//
//   node asrserver.mjs [--port 0] [--port-file F] [--host 127.0.0.1]
//       [--log F] [--max-bytes 26214400] [--api-key K] [--wav-only]
//       [--path /v1/audio/transcriptions] [--rate N]
//
// It "recognises" speech by its timing: a test registers a script of
// sentences, each with a reference WAV (espeak-ng's), and every voiced
// burst of an uploaded piece is matched to the sentence whose voiced
// duration is nearest.  Control endpoints under /_asr/ (JSON) set the
// script, faults, the down mode, and read the request log; README.md
// says how.  SIGTERM or SIGINT closes it with exit status 0.

import fs from 'node:fs';
import http from 'node:http';

const opt = {
  port: 0, host: '127.0.0.1', 'max-bytes': 26214400,
  path: '/v1/audio/transcriptions', rate: 0, 'wav-only': false,
};

function usage(msg) {
  process.stderr.write(`asrserver: ${msg}\nusage: node asrserver.mjs ` +
    '[--port N] [--port-file F] [--host H] [--log F] [--max-bytes N] ' +
    '[--api-key K] [--wav-only] [--path P] [--rate N]\n');
  process.exit(2);
}

for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--wav-only') { opt['wav-only'] = true; continue; }
  const m = /^--(port|port-file|host|log|max-bytes|api-key|path|rate)$/.exec(a);
  if (!m || i + 1 >= process.argv.length) usage(`bad argument '${a}'`);
  opt[m[1]] = process.argv[++i];
}
for (const k of ['port', 'max-bytes', 'rate']) {
  if (!/^\d+$/.test(String(opt[k]))) usage(`--${k} wants a number`);
  opt[k] = Number(opt[k]);
}
if (!opt.path.startsWith('/')) usage('--path must start with /');

// ---- state -----------------------------------------------------------

let script = [];          // { text, wav, voiced }
let faults = [];          // { next, status?, retry_after?, mode?, delay_ms? }
let log = [];             // one entry per transcription request
let down = false;
const sockets = new Set();
let recent = [];          // times of requests, for --rate

function logLine(obj) {
  if (!opt.log) return;
  try {
    fs.appendFileSync(opt.log, JSON.stringify(obj) + '\n');
  } catch { /* the log is a convenience */ }
}

// ---- answers ---------------------------------------------------------

function send(res, status, body, headers = {}) {
  if (res.destroyed || res.writableEnded) return;
  const isText = typeof body === 'string';
  const data = isText ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': headers['Content-Type'] ??
      (isText ? 'text/plain; charset=utf-8' : 'application/json'),
    'Content-Length': Buffer.byteLength(data),
    ...Object.fromEntries(Object.entries(headers)
      .filter(([k]) => k !== 'Content-Type')),
  });
  res.end(data);
}

// OpenAI's error shape.
function oaiError(message, type = 'invalid_request_error', param = null,
  code = null) {
  return { error: { message, type, param, code } };
}

// ---- WAV -------------------------------------------------------------

// Parse a RIFF WAVE file: { rate, channels, bits, format, samples
// (Float32Array, mono, -1..1), seconds } or throws with a reason.
export function parseWav(buf) {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' ||
      buf.toString('latin1', 8, 12) !== 'WAVE')
    throw new Error('not a RIFF WAVE file');
  let off = 12, fmt = null, data = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    // espeak-ng writing to a pipe leaves the sizes at their maximum.
    if (size > buf.length - body) {
      if (id !== 'data') throw new Error(`chunk '${id}' runs past the end`);
      size = buf.length - body;
    }
    if (id === 'fmt ') {
      if (size < 16) throw new Error('fmt chunk too short');
      let format = buf.readUInt16LE(body);
      if (format === 0xfffe && size >= 40)
        format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        blockAlign: buf.readUInt16LE(body + 12),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      data = buf.subarray(body, body + size);
      if (fmt) break;
    }
    off = body + size + (size & 1);
  }
  if (!fmt) throw new Error('no fmt chunk');
  if (!data) throw new Error('no data chunk');
  if (fmt.format !== 1) throw new Error(`format ${fmt.format} is not PCM`);
  if (![8, 16, 24, 32].includes(fmt.bits))
    throw new Error(`${fmt.bits} bits per sample`);
  if (fmt.channels < 1 || fmt.rate < 1000 || fmt.rate > 384000)
    throw new Error('implausible channels or rate');
  const bps = fmt.bits / 8;
  const frame = bps * fmt.channels;
  const n = Math.floor(data.length / frame);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < fmt.channels; c++) {
      const p = i * frame + c * bps;
      let v;
      if (bps === 1) v = (data[p] - 128) / 128;
      else if (bps === 2) v = data.readInt16LE(p) / 32768;
      else if (bps === 3) v = data.readIntLE(p, 3) / 8388608;
      else v = data.readInt32LE(p) / 2147483648;
      sum += v;
    }
    samples[i] = sum / fmt.channels;
  }
  return { ...fmt, samples, seconds: n / fmt.rate };
}

// ---- voice activity ----------------------------------------------------

const FRAME_S = 0.02;          // 20 ms frames
const THRESHOLD = 10 ** (-40 / 20);  // -40 dBFS (RMS, full scale 1.0)
const MERGE_GAP_S = 0.6;
const MIN_BURST_S = 0.15;

function voicedFrames(w) {
  const len = Math.max(1, Math.round(w.rate * FRAME_S));
  const out = [];
  for (let f = 0; f * len < w.samples.length; f++) {
    const end = Math.min(w.samples.length, (f + 1) * len);
    let sum = 0;
    for (let i = f * len; i < end; i++) sum += w.samples[i] * w.samples[i];
    out.push(Math.sqrt(sum / (end - f * len)) > THRESHOLD);
  }
  return { frames: out, frameS: len / w.rate };
}

// A reference's voiced duration: first to last frame above the threshold.
export function voicedDuration(w) {
  const { frames, frameS } = voicedFrames(w);
  const first = frames.indexOf(true);
  if (first < 0) return 0;
  const last = frames.lastIndexOf(true);
  return (last - first + 1) * frameS;
}

// Voiced bursts of a piece: [{ start, end }] in seconds.
export function bursts(w) {
  const { frames, frameS } = voicedFrames(w);
  const raw = [];
  let s = -1;
  for (let f = 0; f <= frames.length; f++) {
    if (f < frames.length && frames[f]) {
      if (s < 0) s = f;
    } else if (s >= 0) {
      raw.push({ start: s * frameS, end: f * frameS });
      s = -1;
    }
  }
  const merged = [];
  for (const b of raw) {
    const prev = merged[merged.length - 1];
    if (prev && b.start - prev.end < MERGE_GAP_S) prev.end = b.end;
    else merged.push({ ...b });
  }
  const end = w.samples.length / w.rate;
  return merged.filter((b) => b.end - b.start >= MIN_BURST_S)
    .map((b) => ({ start: b.start, end: Math.min(b.end, end) }));
}

function recognise(w) {
  return bursts(w).map((b) => {
    const d = b.end - b.start;
    let best = null;
    for (const s of script) {
      const diff = Math.abs(d - s.voiced);
      if (diff <= Math.max(0.25 * s.voiced, 0.3) &&
          (!best || diff < best.diff))
        best = { diff, text: s.text };
    }
    return { ...b, text: best ? best.text : '[unintelligible]' };
  });
}

// ---- multipart/form-data (RFC 7578) ------------------------------------

class BadForm extends Error {
  constructor(msg, param = null) { super(msg); this.param = param; }
}

function boundaryOf(ct) {
  const m = /^multipart\/form-data\s*;(.*)$/i.exec(ct ?? '');
  if (!m) throw new BadForm('Content-Type must be multipart/form-data');
  let b = null;
  for (const p of m[1].split(';')) {
    const kv = /^\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^\s";]+))\s*$/.exec(p);
    if (!kv) {
      if (p.trim() === '') continue;
      throw new BadForm('malformed Content-Type parameter');
    }
    if (kv[1].toLowerCase() === 'boundary') {
      if (b !== null) throw new BadForm('two boundary parameters');
      b = kv[2] ?? kv[3];
    }
  }
  // RFC 2046 section 5.1.1: 1 to 70 characters, no space at the end.
  const bchars = /^[0-9A-Za-z'()+_,./:=? -]*[0-9A-Za-z'()+_,./:=?-]$/;
  if (!b || b.length > 70 || !bchars.test(b))
    throw new BadForm('multipart boundary missing or invalid');
  return b;
}

// The parameters of a Content-Disposition value: { type, params }.
function disposition(v) {
  const m = /^\s*([A-Za-z-]+)\s*(.*)$/.exec(v);
  if (!m) throw new BadForm('malformed Content-Disposition');
  const params = {};
  let rest = m[2];
  while (rest.length) {
    const p = new RegExp('^;\\s*([A-Za-z*-]+)\\s*=\\s*' +
      '(?:"((?:[^"\\\\\\r\\n]|\\\\.)*)"|([^\\s";]+))\\s*').exec(rest);
    if (!p) throw new BadForm('malformed Content-Disposition parameter');
    const k = p[1].toLowerCase();
    if (k in params) throw new BadForm(`Content-Disposition repeats ${k}`);
    params[k] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    rest = rest.slice(p[0].length);
  }
  return { type: m[1].toLowerCase(), params };
}

export function parseMultipart(body, ct) {
  const b = boundaryOf(ct);
  const delim = Buffer.from(`\r\n--${b}`);
  const first = Buffer.from(`--${b}\r\n`);
  if (body.length < first.length ||
      !body.subarray(0, first.length).equals(first))
    throw new BadForm('the body does not start with the boundary');
  const parts = [];
  let pos = first.length;
  for (;;) {
    const hend = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (hend < 0) throw new BadForm('a part has no end of headers');
    const headers = {};
    const head = body.toString('latin1', pos, hend);
    for (const line of head.split('\r\n')) {
      const h = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!h) throw new BadForm('malformed part header');
      const k = h[1].toLowerCase();
      if (k !== 'content-disposition' && k !== 'content-type')
        throw new BadForm(`unexpected part header ${h[1]}`);
      if (k in headers) throw new BadForm(`part header ${h[1]} repeated`);
      headers[k] = Buffer.from(h[2], 'latin1').toString('utf8');
    }
    if (!headers['content-disposition'])
      throw new BadForm('a part has no Content-Disposition');
    const d = disposition(headers['content-disposition']);
    if (d.type !== 'form-data' || !d.params.name)
      throw new BadForm('a part is not form-data with a name');
    const cstart = hend + 4;
    const cend = body.indexOf(delim, cstart);
    if (cend < 0) throw new BadForm('a part has no closing boundary');
    parts.push({
      name: d.params.name,
      filename: d.params.filename,
      type: headers['content-type'],
      data: body.subarray(cstart, cend),
    });
    pos = cend + delim.length;
    const tail = body.toString('latin1', pos, pos + 2);
    if (tail === '--') {
      const rest = body.toString('latin1', pos + 2);
      if (rest !== '' && rest !== '\r\n')
        throw new BadForm('bytes after the closing boundary');
      return parts;
    }
    if (tail !== '\r\n') throw new BadForm('malformed boundary line');
    pos += 2;
  }
}

// ---- the transcription request ------------------------------------------

const FIELDS = new Set(['file', 'model', 'language', 'prompt',
  'response_format', 'temperature', 'timestamp_granularities[]', 'stream',
  'include[]', 'chunking_strategy']);
const REPEATABLE = new Set(['timestamp_granularities[]', 'include[]']);
const FORMATS = new Set(['json', 'text', 'verbose_json', 'srt', 'vtt']);

function readForm(parts) {
  const fields = {};
  let file = null;
  for (const p of parts) {
    if (!FIELDS.has(p.name))
      throw new BadForm(`Unrecognized request argument supplied: ${p.name}`,
        p.name);
    if (p.name === 'file') {
      if (file) throw new BadForm('Duplicate parameter: file', 'file');
      if (p.filename === undefined || p.filename === '')
        throw new BadForm('The file part has no filename.', 'file');
      if (!p.type) throw new BadForm('The file part has no Content-Type.',
        'file');
      file = p;
      continue;
    }
    if (p.filename !== undefined)
      throw new BadForm(`${p.name} must be a field, not a file`, p.name);
    const v = p.data.toString('utf8');
    if (REPEATABLE.has(p.name)) {
      (fields[p.name] ??= []).push(v);
      continue;
    }
    if (p.name in fields)
      throw new BadForm(`Duplicate parameter: ${p.name}`, p.name);
    fields[p.name] = v;
  }
  if (!file) throw new BadForm("Missing required parameter: 'file'.", 'file');
  if (!fields.model)
    throw new BadForm('you must provide a model parameter', 'model');
  const rf = fields.response_format ?? 'json';
  if (!FORMATS.has(rf))
    throw new BadForm(`Invalid value for 'response_format': '${rf}'.`,
      'response_format');
  if (fields.temperature !== undefined &&
      (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(fields.temperature) ||
      Number(fields.temperature) > 1))
    throw new BadForm("Invalid value for 'temperature'.", 'temperature');
  if (fields.language !== undefined && !/^[a-z]{2,3}$/.test(fields.language))
    throw new BadForm(`Invalid language '${fields.language}'. Language ` +
      'parameter must be specified in ISO-639-1 format.', 'language');
  for (const g of fields['timestamp_granularities[]'] ?? [])
    if (g !== 'segment' && g !== 'word')
      throw new BadForm(`Invalid value for 'timestamp_granularities': '${g}'.`,
        'timestamp_granularities');
  if (fields.stream !== undefined && fields.stream !== 'false')
    throw new BadForm('Streaming is not supported here.', 'stream');
  return { fields, file, format: rf };
}

const r2 = (x) => Math.round(x * 100) / 100;

function stamp(t, sep) {
  const ms = Math.round(t * 1000);
  const h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60;
  const s = Math.floor(ms / 1000) % 60, f = ms % 1000;
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(h)}:${p(m)}:${p(s)}${sep}${p(f, 3)}`;
}

function answer(res, form, w) {
  const segs = recognise(w);
  const text = segs.map((s) => s.text).join(' ');
  const words = (form.fields['timestamp_granularities[]'] ?? [])
    .includes('word');
  switch (form.format) {
  case 'text':
    return send(res, 200, text + '\n');
  case 'srt':
    return send(res, 200, segs.map((s, i) => `${i + 1}\n` +
      `${stamp(s.start, ',')} --> ${stamp(s.end, ',')}\n${s.text}\n`)
      .join('\n'));
  case 'vtt':
    return send(res, 200, 'WEBVTT\n\n' + segs.map((s) =>
      `${stamp(s.start, '.')} --> ${stamp(s.end, '.')}\n${s.text}\n`)
      .join('\n'), { 'Content-Type': 'text/vtt; charset=utf-8' });
  case 'json':
    return send(res, 200, { text, usage: { type: 'duration',
      seconds: Math.ceil(w.seconds) } });
  default: {
    const out = {
      task: 'transcribe',
      language: form.fields.language ?? 'english',
      duration: r2(w.seconds),
      text,
      segments: segs.map((s, i) => ({
        id: i, seek: 0, start: r2(s.start), end: r2(s.end),
        text: ' ' + s.text,
        tokens: Array.from(s.text, (c) => 50364 + c.charCodeAt(0) % 1000),
        temperature: Number(form.fields.temperature ?? 0),
        avg_logprob: -0.25, compression_ratio: 1.2, no_speech_prob: 0.01,
      })),
      usage: { type: 'duration', seconds: Math.ceil(w.seconds) },
    };
    if (words) {
      out.words = segs.flatMap((s) => {
        const ws = s.text.split(/\s+/).filter(Boolean);
        const step = (s.end - s.start) / Math.max(1, ws.length);
        return ws.map((word, j) => ({ word, start: r2(s.start + j * step),
          end: r2(s.start + (j + 1) * step) }));
      });
    }
    return send(res, 200, out);
  }
  }
}

function transcription(req, res) {
  const entry = {
    time: new Date().toISOString(), bytes: 0, body_bytes: 0,
    fields: {}, wav: null, status: 0,
  };
  const finish = (status, body, headers) => {
    entry.status = status;
    log.push(entry);
    logLine(entry);
    send(res, status, body, headers);
  };
  // Which fault, if any, this request meets.
  let fault = null;
  const f = faults.find((x) => x.next > 0);
  if (f) {
    f.next--;
    fault = f;
  }
  let chunks = [], total = 0, over = false;
  req.on('data', (c) => {
    total += c.length;
    if (total > opt['max-bytes']) {
      over = true;
      chunks = [];
    } else if (!over) {
      chunks.push(c);
    }
  });
  req.on('error', () => {});
  req.on('end', () => {
    entry.body_bytes = total;
    if (fault?.mode === 'reset') {
      entry.status = 'reset';
      log.push(entry);
      logLine(entry);
      req.socket.destroy();
      return;
    }
    const go = () => handle(req, res, Buffer.concat(chunks), over, total,
      fault, entry, finish);
    if (fault?.delay_ms) {
      const t = setTimeout(go, fault.delay_ms);
      res.on('close', () => clearTimeout(t));
    } else {
      go();
    }
  });
}

function handle(req, res, body, over, total, fault, entry, finish) {
  if (res.destroyed) {
    entry.status = 'gone';
    log.push(entry);
    logLine(entry);
    return;
  }
  if (opt['api-key']) {
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${opt['api-key']}`) {
      const given = auth.replace(/^Bearer\s+/i, '');
      return finish(401, oaiError(given
        ? `Incorrect API key provided: ${given.slice(0, 3)}***. You can ` +
          'find your API key at https://platform.openai.com/account/api-keys.'
        : "You didn't provide an API key.", 'invalid_request_error', null,
        given ? 'invalid_api_key' : null));
    }
  }
  if (over)
    return finish(413, oaiError(`Maximum content size limit ` +
      `(${opt['max-bytes']}) exceeded (${total} bytes read)`,
      'server_error'));
  if (opt.rate > 0) {
    const now = Date.now();
    recent = recent.filter((t) => now - t < 1000);
    if (recent.length >= opt.rate)
      return finish(429, oaiError('Rate limit reached for requests: ' +
        `Limit ${opt.rate} per second. Please try again in 1s.`,
        'requests', null, 'rate_limit_exceeded'), { 'Retry-After': '1' });
    recent.push(now);
  }
  let form;
  try {
    form = readForm(parseMultipart(body, req.headers['content-type']));
  } catch (e) {
    if (!(e instanceof BadForm)) throw e;
    return finish(400, oaiError(e.message, 'invalid_request_error',
      e.param));
  }
  entry.bytes = form.file.data.length;
  entry.filename = form.file.filename;
  entry.content_type = form.file.type;
  entry.fields = {
    model: form.fields.model,
    language: form.fields.language ?? null,
    response_format: form.fields.response_format ?? null,
    temperature: form.fields.temperature ?? null,
    timestamp_granularities: form.fields['timestamp_granularities[]'] ?? null,
  };
  let w;
  try {
    w = parseWav(form.file.data);
    entry.wav = { rate: w.rate, channels: w.channels, bits: w.bits,
      seconds: Math.round(w.seconds * 1000) / 1000 };
  } catch (e) {
    entry.wav_error = e.message;
  }
  if (opt['wav-only'] && (!w || w.rate !== 16000 || w.channels !== 1 ||
      w.bits !== 16))
    // whisper.cpp's server without --convert, in its own shape.
    return finish(400, { error: 'failed to read audio data' });
  if (!w)
    return finish(400, oaiError('Invalid file format. Supported formats: ' +
      "['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', " +
      "'webm']", 'invalid_request_error', 'file'));
  if (fault?.mode === 'garbage')
    return finish(200, '<html><body>Welcome to nginx!</body></html>',
      { 'Content-Type': 'application/json' });
  if (fault?.status) {
    const h = {};
    if (fault.retry_after !== undefined)
      h['Retry-After'] = fault.retry_after_date
        ? new Date(Date.now() + fault.retry_after * 1000).toUTCString()
        : String(fault.retry_after);
    const msg = {
      400: ['Invalid file format.', 'invalid_request_error'],
      413: [`Maximum content size limit (${opt['max-bytes']}) exceeded ` +
        `(${total} bytes read)`, 'server_error'],
      429: ['Rate limit reached for requests. Please try again later.',
        'requests'],
      503: ['The engine is currently overloaded, please try again later',
        'server_error'],
    }[fault.status] ?? ['The server had an error while processing your ' +
      'request. Sorry about that!', 'server_error'];
    return finish(fault.status, oaiError(msg[0], msg[1], null,
      fault.status === 429 ? 'rate_limit_exceeded' : null), h);
  }
  entry.status = 200;
  log.push(entry);
  logLine(entry);
  answer(res, form, w);
}

// ---- control ----------------------------------------------------------

function readJson(req, cb) {
  const chunks = [];
  let n = 0;
  req.on('data', (c) => {
    n += c.length;
    if (n <= 1 << 20) chunks.push(c);
  });
  req.on('end', () => {
    if (n > 1 << 20) return cb(new Error('body too large'));
    const s = Buffer.concat(chunks).toString('utf8');
    if (s === '') return cb(null, {});
    try {
      cb(null, JSON.parse(s));
    } catch (e) {
      cb(e);
    }
  });
}

function control(req, res, path) {
  if (req.method === 'GET' && path === '/_asr/requests')
    return send(res, 200, log);
  if (req.method === 'GET' && path === '/_asr/health')
    return send(res, 200, { ok: true, sentences: script.length, down });
  if (req.method !== 'POST') return send(res, 405, { error: 'method' });
  readJson(req, (err, j) => {
    if (err || typeof j !== 'object' || j === null || Array.isArray(j))
      return send(res, 400, { error: `bad JSON: ${err?.message ?? 'type'}` });
    try {
      switch (path) {
      case '/_asr/script': {
        if (!Array.isArray(j.sentences)) throw new Error('sentences[]');
        const s = j.sentences.map((x) => {
          if (typeof x?.text !== 'string' || typeof x?.wav !== 'string')
            throw new Error('each sentence wants text and wav');
          const w = parseWav(fs.readFileSync(x.wav));
          return { text: x.text, wav: x.wav, voiced: voicedDuration(w) };
        });
        script = s;
        return send(res, 200, { sentences: script });
      }
      case '/_asr/fault': {
        const n = j.next ?? 1;
        if (!Number.isInteger(n) || n < 1) throw new Error('next');
        if (j.status !== undefined && !(Number.isInteger(j.status) &&
            j.status >= 400 && j.status <= 599)) throw new Error('status');
        if (j.mode !== undefined && !['reset', 'garbage'].includes(j.mode))
          throw new Error('mode');
        if (j.status === undefined && j.mode === undefined &&
            j.delay_ms === undefined) throw new Error('no fault given');
        faults.push({ next: n, status: j.status, mode: j.mode,
          retry_after: j.retry_after, retry_after_date: !!j.retry_after_date,
          delay_ms: j.delay_ms });
        return send(res, 200, { faults });
      }
      case '/_asr/down':
        down = !!j.down;
        if (down) {
          for (const s of sockets) if (s.asrWork) s.destroy();
        }
        return send(res, 200, { down });
      case '/_asr/reset':
        faults = [];
        log = [];
        down = false;
        recent = [];
        return send(res, 200, { reset: true });
      default:
        return send(res, 404, { error: 'no such control endpoint' });
      }
    } catch (e) {
      return send(res, 400, { error: e.message });
    }
  });
}

// ---- the server ---------------------------------------------------------

const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.startsWith('/_asr/')) return control(req, res, path);
  if (path === opt.path || path === '/v1/audio/transcriptions') {
    req.socket.asrWork = true;
    if (down) return req.socket.destroy();
    if (req.method !== 'POST')
      return send(res, 405, oaiError(`Method ${req.method} not allowed`));
    return transcription(req, res);
  }
  req.resume();
  return send(res, 404, oaiError(`Invalid URL (${req.method} ${path})`));
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
server.on('clientError', (err, s) => {
  if (s.writable)
    s.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
});

server.listen(opt.port, opt.host, () => {
  const port = server.address().port;
  if (opt['port-file']) {
    const tmp = `${opt['port-file']}.tmp`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, opt['port-file']);
  }
  process.stdout.write(`asrserver: listening on ${opt.host}:${port}` +
    `${opt.path}\n`);
});

function stop(sig) {
  process.stdout.write(`asrserver: ${sig}, exiting\n`);
  server.close(() => process.exit(0));
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
