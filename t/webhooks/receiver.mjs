#!/usr/bin/env node
// A Standard Webhooks receiver for meetrec's tests: every delivery is checked
// with the specification's own JavaScript library (npm `standardwebhooks`,
// pinned in package.json), independent of meetrec's C signer, and recorded so
// that a test can read back what arrived and what was accepted.
//
// Endpoints are made by the test, each with the secret(s) meetrec showed:
//
//   POST   /_receiver/endpoints              {"name","secret"} or {"name","secrets":[…]}
//   GET    /_receiver/endpoints
//   POST   /_receiver/endpoints/<name>/mode  {"mode":"ok"|"status"|"down", "status",
//                                             "delay_ms", "body", "headers"}
//   GET    /_receiver/endpoints/<name>/mode
//   GET    /_receiver/deliveries[?name=N&verified=0|1&accepted=0|1&id=ID]
//   DELETE /_receiver/deliveries[?name=N]
//   POST   /hooks/<name>                      a delivery
//
// README.md beside this file describes the shapes.  A delivery that fails
// verification gets 400, as a receiver using the library answers; "status"
// and "down" play an endpoint that is broken whatever it is sent.
//
// Usage:
//   node receiver.mjs --port-file F [--port 0] [--host 127.0.0.1] [--log F]
//
// The port file is written atomically (tmp file, then rename) once the server
// listens.  With --log, one line per request.  SIGTERM or SIGINT closes the
// server and exits 0.

import fs from 'node:fs';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

function usage(msg) {
  process.stderr.write(`receiver: ${msg}\nusage: node receiver.mjs --port-file F ` +
    '[--port 0] [--host 127.0.0.1] [--log F]\n');
  process.exit(2);
}

const opt = { port: '0', host: '127.0.0.1' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^--(port|port-file|host|log)$/.exec(argv[i]);
  if (!m || i + 1 >= argv.length) usage(`bad argument '${argv[i]}'`);
  opt[m[1]] = argv[++i];
}
if (!opt['port-file']) usage('--port-file is required');
if (!/^\d+$/.test(opt.port)) usage('--port must be a number');

let logFd = null;
if (opt.log) logFd = fs.openSync(opt.log, 'a');
function log(line) {
  const s = `${new Date().toISOString()} ${line}\n`;
  if (logFd !== null) fs.writeSync(logFd, s);
  else process.stderr.write(s);
}

// A delivery body larger than this is answered 413 (the specification asks
// senders to stay well under 20 kB).
const MAX_BODY = 8 * 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

const endpoints = new Map();	// name => { name, secrets, hooks, mode }
let deliveries = [];		// records, in the order received
let seq = 0;

const defaultMode = () => ({ mode: 'ok', status: null, delay_ms: 0, body: null, headers: {} });

// ---- helpers ------------------------------------------------------------------

function sendJson(res, status, obj) {
  const body = `${JSON.stringify(obj)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  return status;
}

// readBody(req, max) - the body's bytes, or { tooLarge: true } after max bytes
// (the rest is read and thrown away so that the answer can still be sent).
function readBody(req, max) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    let tooLarge = false;
    req.on('data', (c) => {
      n += c.length;
      if (n > max) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? { tooLarge: true, length: n } : { buf: Buffer.concat(chunks) }));
    req.on('error', reject);
  });
}

function parseControl(buf) {
  if (buf.length === 0) return {};
  const v = JSON.parse(buf.toString('utf8'));
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('the body must be a JSON object');
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function describeEndpoint(ep) {
  return { name: ep.name, path: `/hooks/${ep.name}`, secrets: ep.secrets.length, mode: ep.mode };
}

// checkMode(o) - a whole mode from a control body; throws on a bad value.
function checkMode(o) {
  const m = defaultMode();
  for (const k of Object.keys(o)) {
    if (!(k in m)) throw new Error(`unknown key '${k}'`);
  }
  if (o.mode !== undefined) {
    if (!['ok', 'status', 'down'].includes(o.mode)) throw new Error("mode must be 'ok', 'status' or 'down'");
    m.mode = o.mode;
  }
  if (o.status !== undefined && o.status !== null) {
    if (!Number.isInteger(o.status) || o.status < 200 || o.status > 599) {
      throw new Error('status must be an integer from 200 to 599');
    }
    m.status = o.status;
  }
  if (o.delay_ms !== undefined) {
    if (!Number.isInteger(o.delay_ms) || o.delay_ms < 0 || o.delay_ms > 600000) {
      throw new Error('delay_ms must be an integer from 0 to 600000');
    }
    m.delay_ms = o.delay_ms;
  }
  if (o.body !== undefined && o.body !== null) {
    if (typeof o.body !== 'string') throw new Error('body must be a string');
    m.body = o.body;
  }
  if (o.headers !== undefined) {
    if (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers) ||
        Object.values(o.headers).some((v) => typeof v !== 'string')) {
      throw new Error('headers must be an object of strings');
    }
    m.headers = { ...o.headers };
  }
  if (m.mode === 'status' && m.status === null) throw new Error("mode 'status' needs a status");
  if (m.mode === 'ok' && m.status !== null && m.status > 299) throw new Error("mode 'ok' takes a 2xx status");
  return m;
}

// ---- control API ------------------------------------------------------------------

async function control(req, res, url) {
  const { buf } = await readBody(req, 1024 * 1024);
  if (buf === undefined) return sendJson(res, 413, { error: 'control body too large' });
  let body;
  try {
    body = parseControl(buf);
  } catch (err) {
    return sendJson(res, 400, { error: `bad JSON: ${err.message}` });
  }
  const p = url.pathname;
  let m;
  if (p === '/_receiver/endpoints' && req.method === 'POST') {
    const { name } = body;
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      return sendJson(res, 400, { error: 'name must be 1 to 64 of A-Z a-z 0-9 . _ -' });
    }
    for (const k of Object.keys(body)) {
      if (!['name', 'secret', 'secrets'].includes(k)) return sendJson(res, 400, { error: `unknown key '${k}'` });
    }
    let secrets;
    if (body.secret !== undefined && body.secrets !== undefined) {
      return sendJson(res, 400, { error: 'give secret or secrets, not both' });
    } else if (typeof body.secret === 'string') {
      secrets = [body.secret];
    } else if (Array.isArray(body.secrets) && body.secrets.length > 0 &&
               body.secrets.every((s) => typeof s === 'string')) {
      secrets = body.secrets;
    } else {
      return sendJson(res, 400, { error: 'secret (a string) or secrets (a non-empty array of strings) is required' });
    }
    const hooks = [];
    for (const s of secrets) {
      try {
        hooks.push(new Webhook(s));
      } catch (err) {
        return sendJson(res, 400, { error: `the library refuses the secret: ${err.message}` });
      }
    }
    const old = endpoints.get(name);
    const ep = { name, secrets, hooks, mode: old ? old.mode : defaultMode() };
    endpoints.set(name, ep);
    log(`endpoint ${name}: ${secrets.length} secret(s)`);
    return sendJson(res, old ? 200 : 201, describeEndpoint(ep));
  }
  if (p === '/_receiver/endpoints' && req.method === 'GET') {
    return sendJson(res, 200, [...endpoints.values()].map(describeEndpoint));
  }
  if ((m = /^\/_receiver\/endpoints\/([^/]+)\/mode$/.exec(p))) {
    const ep = endpoints.get(m[1]);
    if (!ep) return sendJson(res, 404, { error: `no endpoint '${m[1]}'` });
    if (req.method === 'GET') return sendJson(res, 200, describeEndpoint(ep));
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'GET or POST' });
    try {
      ep.mode = checkMode(body);
    } catch (err) {
      return sendJson(res, 400, { error: err.message });
    }
    log(`endpoint ${ep.name}: mode ${JSON.stringify(ep.mode)}`);
    return sendJson(res, 200, describeEndpoint(ep));
  }
  if (p === '/_receiver/deliveries' && req.method === 'GET') {
    const q = url.searchParams;
    const flag = (k) => (q.has(k) ? !['0', 'false', ''].includes(q.get(k)) : undefined);
    const verified = flag('verified');
    const accepted = flag('accepted');
    const out = deliveries.filter((d) => (!q.has('name') || d.name === q.get('name')) &&
      (!q.has('id') || d.id === q.get('id')) &&
      (verified === undefined || d.verified === verified) &&
      (accepted === undefined || d.accepted === accepted));
    return sendJson(res, 200, out);
  }
  if (p === '/_receiver/deliveries' && req.method === 'DELETE') {
    const q = url.searchParams;
    const before = deliveries.length;
    deliveries = q.has('name') ? deliveries.filter((d) => d.name !== q.get('name')) : [];
    return sendJson(res, 200, { cleared: before - deliveries.length });
  }
  return sendJson(res, 404, { error: 'no such control call' });
}

// ---- deliveries -----------------------------------------------------------------

// verify(ep, bytes, headers) - the library's verdict with each of the
// endpoint's secrets in turn (a rotation window has several).
function verify(ep, bytes, headers) {
  const errors = [];
  for (let i = 0; i < ep.hooks.length; i++) {
    try {
      // The exact bytes received; JSON is parsed separately below, so that
      // "verified" is about the signature alone.
      ep.hooks[i].verify(bytes, headers, { jsonParse: false });
      return { verified: true, error: null, secret_index: i };
    } catch (err) {
      if (!errors.includes(err.message)) errors.push(err.message);
    }
  }
  return { verified: false, error: errors.join('; '), secret_index: null };
}

const header = (req, k) => (req.headers[k] === undefined ? null : req.headers[k]);

async function deliver(req, res, url, name) {
  const t0 = Date.now();
  const ep = endpoints.get(name);
  const rec = {
    seq: ++seq,
    name,
    method: req.method,
    path: req.url,
    received_at: new Date(t0).toISOString(),
    received_ms: t0,
    id: header(req, 'webhook-id'),
    timestamp: header(req, 'webhook-timestamp'),
    signature: header(req, 'webhook-signature'),
    content_type: header(req, 'content-type'),
    user_agent: header(req, 'user-agent'),
    headers: { ...req.headers },
    body: null,
    body_base64: null,
    body_length: 0,
    json: null,
    json_error: null,
    verified: false,
    error: null,
    secret_index: null,
    mode: ep ? ep.mode.mode : null,
    outcome: 'pending',	// then answered, dropped or aborted
    answered: null,		// the status sent, when one was
    answered_ms: null,
    accepted: false,
  };
  deliveries.push(rec);
  const got = await readBody(req, MAX_BODY);
  if (got.buf) {
    rec.body = got.buf.toString('utf8');
    rec.body_base64 = got.buf.toString('base64');
    rec.body_length = got.buf.length;
  } else {
    rec.body_length = got.length;
  }

  if (!ep) rec.error = `no endpoint '${name}'`;
  else if (req.method !== 'POST') rec.error = `method ${req.method}`;
  else if (got.tooLarge) rec.error = `body over ${MAX_BODY} bytes`;
  else Object.assign(rec, verify(ep, got.buf, req.headers));
  if (got.buf) {
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(got.buf);
      rec.json = JSON.parse(text);
    } catch (err) {
      rec.json_error = got.buf.length === 0 ? 'empty body' : err.message;
    }
  }

  // Mode, status and delay are read when the delivery arrives.
  const mode = ep ? ep.mode : defaultMode();
  let done = false;
  res.on('close', () => {
    if (!done && !res.writableFinished) {
      done = true;
      rec.outcome = 'aborted';
      log(`${req.method} ${req.url} aborted by the client ${Date.now() - t0}ms`);
    }
  });
  if (mode.delay_ms > 0) await sleep(mode.delay_ms);
  if (done) return;
  done = true;

  if (mode.mode === 'down') {
    rec.outcome = 'dropped';
    // A TCP reset, no answer at all.
    if (typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
    else req.socket.destroy();
    log(`${req.method} ${req.url} dropped verified=${rec.verified} ${Date.now() - t0}ms`);
    return;
  }

  let status;
  let body;
  let ctype = 'text/plain; charset=utf-8';
  const extra = { ...(ep ? mode.headers : {}) };
  if (ep && mode.mode === 'status') {
    status = mode.status;
    body = mode.body ?? `status ${status} from the test receiver\n`;
  } else if (!ep) {
    status = 404;
    body = `${rec.error}\n`;
  } else if (req.method !== 'POST') {
    status = 405;
    body = 'POST only\n';
    extra.Allow = 'POST';
  } else if (got.tooLarge) {
    status = 413;
    body = `${rec.error}\n`;
  } else if (!rec.verified) {
    status = 400;
    ctype = 'application/json';
    body = `${JSON.stringify({ error: rec.error })}\n`;
  } else if (rec.json_error !== null) {
    status = 400;
    ctype = 'application/json';
    body = `${JSON.stringify({ error: `body is not JSON: ${rec.json_error}` })}\n`;
  } else {
    body = mode.body ?? '';
    status = mode.status ?? (body === '' ? 204 : 200);
  }
  if (status === 204 || status === 304) body = '';
  res.writeHead(status, {
    'Content-Type': ctype,
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
  rec.outcome = 'answered';
  rec.answered = status;
  rec.answered_ms = Date.now();
  rec.accepted = rec.verified && rec.json_error === null && status >= 200 && status <= 299;
  log(`${req.method} ${req.url} ${status} verified=${rec.verified} ` +
      `id=${rec.id ?? '-'}${rec.error ? ` (${rec.error})` : ''} ${Date.now() - t0}ms`);
}

// ---- server -----------------------------------------------------------------------

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://receiver');
  const m = /^\/hooks\/([^/]+)$/.exec(url.pathname);
  const handler = m ? deliver(req, res, url, m[1])
    : url.pathname.startsWith('/_receiver/') ? control(req, res, url)
      : Promise.resolve(sendJson(res, 404, { error: 'deliveries go to /hooks/<name>' }));
  handler.catch((err) => {
    log(`${req.method} ${req.url} failed: ${err.stack || err}`);
    if (!res.headersSent) sendJson(res, 500, { error: String(err) });
    else res.destroy();
  });
});

server.listen(Number(opt.port), opt.host, () => {
  const { port } = server.address();
  const tmp = `${opt['port-file']}.tmp`;
  fs.writeFileSync(tmp, `${port}\n`);
  fs.renameSync(tmp, opt['port-file']);
  log(`listening on ${opt.host}:${port}`);
});

let closing = false;
function stop(sig) {
  if (closing) return;
  closing = true;
  log(`${sig}: closing`);
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
