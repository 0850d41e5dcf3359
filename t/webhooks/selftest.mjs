#!/usr/bin/env node
// Self-test of the webhook receiver: `node t/webhooks/selftest.mjs` prints TAP
// and exits 0 only if every check holds.
//
// It starts receiver.mjs as a child process on a free port and sends it
// deliveries signed two ways: with the standardwebhooks library's own sign(),
// and by hand with node:crypto (HMAC-SHA256 over `${id}.${ts}.${body}`, the key
// being the base64-decoded part of the secret after "whsec_").  Both must
// verify; tampered, stale, future, unsigned and wrongly keyed ones must not.
// The known-answer vectors of the library tests are checked with both
// signers, and the modes (ok, status, down, delay) are exercised.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-receiver-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- TAP ----------------------------------------------------------------------
let n = 0;
let failed = 0;
function ok(cond, name, diag) {
  n++;
  if (cond) console.log(`ok ${n} - ${name}`);
  else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    if (diag !== undefined) console.log(`  # ${JSON.stringify(diag)?.slice(0, 2000)}`);
  }
  return cond;
}
const is = (got, want, name) => ok(got === want, name, { got, want });

// ---- signing ------------------------------------------------------------------------
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

// The specification's scheme written out, without the library.
function handSign(secret, id, ts, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key);
  mac.update(`${id}.${ts}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

const libSign = (secret, id, ts, body) => new Webhook(secret).sign(id, new Date(ts * 1000), body);

// ---- known answers ------------------------------------------------------------------
// From the library tests in github:standard-webhooks/standard-webhooks
// (libraries/javascript/src/webhook.test.ts "sign function works", the same
// vector in the Go, Python, Ruby, PHP, Java and C# tests; and
// libraries/rust/src/lib.rs test_sign), and one of ours.
const VECTORS = [
  { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    ts: 1614265330, body: '{"test": 2432232314}',
    sig: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
  { secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
    ts: 1649367553, body: '{"email":"test@example.com","username":"test_user"}',
    sig: 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=' },
  // Ours (doc/standard-webhooks.md section 8): the longest key the spec
  // allows, 64 bytes, whose base64 ends in "==".
  { secret: `whsec_${Buffer.from([...Array(64).keys()]).toString('base64')}`, id: 'msg_meetrec_vector64',
    ts: 1796000000, body: '{"type":"recording.completed","timestamp":"2026-12-01T10:00:00.000Z",' +
      '"data":{"recording_id":"0b7e3c5a-6f4e-4c1e-9a53-2f1d8b6c7e90"}}',
    sig: 'v1,v1WCaFSflgc7GZAa6h3fS4Kj9rR1onv142y/4hqjkfs=' },
];
for (const [i, v] of VECTORS.entries()) {
  is(libSign(v.secret, v.id, v.ts, v.body), v.sig, `vector ${i + 1}: the library's sign() gives the known answer`);
  is(handSign(v.secret, v.id, v.ts, v.body), v.sig, `vector ${i + 1}: node:crypto gives the known answer`);
  // The vectors are years old: verify them with the clock set to their time.
  const realNow = Date.now;
  Date.now = () => v.ts * 1000 + 30000;
  let parsed;
  let err;
  try {
    parsed = new Webhook(v.secret).verify(v.body, {
      'webhook-id': v.id, 'webhook-timestamp': String(v.ts), 'webhook-signature': v.sig,
    });
  } catch (e) {
    err = e.message;
  } finally {
    Date.now = realNow;
  }
  ok(err === undefined && JSON.stringify(parsed) === JSON.stringify(JSON.parse(v.body)),
    `vector ${i + 1}: the library verifies it at its own time`, err);
}

// ---- the receiver ----------------------------------------------------------------------
const portFile = path.join(TMP, 'port');
const child = spawn(process.execPath, [path.join(HERE, 'receiver.mjs'), '--port', '0',
  '--port-file', portFile, '--log', path.join(TMP, 'receiver.log')], { stdio: ['ignore', 'inherit', 'inherit'] });
const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
let port = 0;
for (let i = 0; i < 200 && !port; i++) {
  await sleep(50);
  try { port = Number(fs.readFileSync(portFile, 'utf8').trim()); } catch { /* not yet */ }
}
if (!ok(port > 0, 'the receiver wrote its port file')) {
  child.kill('SIGKILL');
  console.log(`1..${n}`);
  process.exit(1);
}
const base = `http://127.0.0.1:${port}`;

async function call(method, p, body) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, text, json };
}

// post(name, body, headers, {timeoutMs}) - a delivery; { status, text,
// headers } or { error } when no answer came.
async function post(name, body, headers, o = {}) {
  try {
    const r = await fetch(`${base}/hooks/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'selftest/1', ...headers },
      body,
      signal: o.timeoutMs ? AbortSignal.timeout(o.timeoutMs) : undefined,
    });
    return { status: r.status, text: await r.text(), headers: r.headers };
  } catch (err) {
    return { error: err.cause?.code || err.name || String(err) };
  }
}

const deliveries = async (q) => (await call('GET', `/_receiver/deliveries?${q}`)).json;
const last = async (name) => (await deliveries(`name=${name}`)).at(-1);

let msgNo = 0;
// A fresh event: id, timestamp (now + skew seconds) and a minified JSON body.
function event(skew = 0) {
  const id = `msg_selftest_${++msgNo}`;
  const ts = Math.floor(Date.now() / 1000) + skew;
  const body = JSON.stringify({ type: 'recording.completed', timestamp: new Date().toISOString(),
    data: { recording_id: `r${msgNo}`, note: 'héllo ✓' } });
  return { id, ts, body };
}
const hdrs = (e, sig) => ({ 'webhook-id': e.id, 'webhook-timestamp': String(e.ts), 'webhook-signature': sig });

const secretA = newSecret();
let r = await call('POST', '/_receiver/endpoints', { name: 'a', secret: secretA });
is(r.status, 201, 'endpoint a created');
ok(r.json?.path === '/hooks/a' && r.json?.secrets === 1 && r.json?.mode?.mode === 'ok', 'its description', r.json);

// Signed by the library.
let e = event();
r = await post('a', e.body, hdrs(e, libSign(secretA, e.id, e.ts, e.body)));
is(r.status, 204, 'a delivery signed by the library: 204');
let d = await last('a');
ok(d.verified && d.accepted && d.error === null && d.secret_index === 0, 'recorded verified and accepted', d);
ok(d.id === e.id && d.timestamp === String(e.ts) && d.body === e.body &&
   d.content_type === 'application/json' && d.user_agent === 'selftest/1' &&
   d.json?.data?.note === 'héllo ✓' && Buffer.from(d.body_base64, 'base64').equals(Buffer.from(e.body)),
   'the headers, exact body and parsed JSON are recorded', d);
ok(d.outcome === 'answered' && d.answered === 204 && d.mode === 'ok', 'outcome answered 204', d);

// Signed by hand, same bytes as the library would sign.
e = event();
const hand = handSign(secretA, e.id, e.ts, e.body);
is(hand, libSign(secretA, e.id, e.ts, e.body), 'the hand signature equals the library one (non-ASCII body)');
r = await post('a', e.body, hdrs(e, hand));
is(r.status, 204, 'a delivery signed by hand: 204');
ok((await last('a')).accepted, 'recorded accepted');

// What must fail.
async function refused(label, body, headers, errRe) {
  const res = await post('a', body, headers);
  const rec = await last('a');
  ok(res.status === 400 && rec.verified === false && rec.accepted === false && errRe.test(rec.error) &&
     rec.answered === 400, `${label}: 400, recorded unverified (${rec.error})`, { status: res.status, rec });
}
e = event();
const good = handSign(secretA, e.id, e.ts, e.body);
await refused('tampered body', e.body.replace('r', 'R'), hdrs(e, good), /No matching signature/);
await refused('body with a trailing newline', `${e.body}\n`, hdrs(e, good), /No matching signature/);
await refused('another webhook-id', e.body, { ...hdrs(e, good), 'webhook-id': `${e.id}x` }, /No matching signature/);
await refused('wrong secret', e.body, hdrs(e, handSign(newSecret(), e.id, e.ts, e.body)), /No matching signature/);
let old = event(-600);
await refused('timestamp 10 minutes old', old.body, hdrs(old, handSign(secretA, old.id, old.ts, old.body)), /too old/);
old = event(600);
await refused('timestamp 10 minutes ahead', old.body, hdrs(old, handSign(secretA, old.id, old.ts, old.body)), /too new/);
for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
  const hh = hdrs(e, good);
  delete hh[h];
  await refused(`no ${h}`, e.body, hh, /Missing required headers/);
}
await refused('signature without padding', e.body, hdrs(e, good.replace(/=+$/, '')), /No matching signature/);
await refused('signature without "v1,"', e.body, hdrs(e, good.slice(3)), /No matching signature/);
await refused('only a v1a signature', e.body, hdrs(e, `v1a${good.slice(2)}`), /No matching signature/);
await refused('timestamp not a number', e.body, { ...hdrs(e, good), 'webhook-timestamp': 'soon' }, /Invalid Signature Headers/);

// Several signatures in one header: one good one is enough.
r = await post('a', e.body, hdrs(e, `v1,${Buffer.alloc(32).toString('base64')} ${good} v1a,xyz`));
is(r.status, 204, 'a header with a bad, the good and a v1a signature: 204');

// A rotation window: two secrets on the receiving side.
const oldSecret = newSecret();
const newSecret2 = newSecret();
r = await call('POST', '/_receiver/endpoints', { name: 'rot', secrets: [oldSecret, newSecret2] });
ok(r.status === 201 && r.json.secrets === 2, 'endpoint rot with two secrets', r);
e = event();
r = await post('rot', e.body, hdrs(e, handSign(oldSecret, e.id, e.ts, e.body)));
d = await last('rot');
ok(r.status === 204 && d.verified && d.secret_index === 0, 'signed with the old secret: accepted by secret 0', d);
r = await post('rot', e.body, hdrs(e, handSign(newSecret2, e.id, e.ts, e.body)));
d = await last('rot');
ok(r.status === 204 && d.verified && d.secret_index === 1, 'signed with the new one: accepted by secret 1', d);
r = await post('rot', e.body, hdrs(e, handSign(newSecret(), e.id, e.ts, e.body)));
is(r.status, 400, 'signed with a third: 400');

// Filters.
const all = await deliveries('name=a');
const acc = await deliveries('name=a&verified=1&accepted=1');
const unv = await deliveries('name=a&verified=0');
ok(acc.length === 3 && acc.every((x) => x.verified && x.accepted), '3 accepted on a', acc.length);
ok(unv.length === all.length - 3 && unv.length === 13, `${unv.length} unverified on a`, unv.length);
ok((await deliveries(`id=${e.id}`)).length === 3, 'filter by webhook-id');
ok(all.every((x, i) => i === 0 || x.seq > all[i - 1].seq), 'in the order received');

// Modes.
r = await call('POST', '/_receiver/endpoints/a/mode', { mode: 'status', status: 503, body: 'busy', headers: { 'Retry-After': '7' } });
is(r.status, 200, 'mode status 503');
e = event();
r = await post('a', e.body, hdrs(e, handSign(secretA, e.id, e.ts, e.body)));
ok(r.status === 503 && r.text === 'busy' && r.headers.get('retry-after') === '7', 'answered 503, its body and Retry-After', r.status);
d = await last('a');
ok(d.verified && !d.accepted && d.answered === 503 && d.mode === 'status', 'recorded verified, not accepted, answered 503', d);

r = await call('POST', '/_receiver/endpoints/a/mode', { mode: 'down' });
e = event();
r = await post('a', e.body, hdrs(e, handSign(secretA, e.id, e.ts, e.body)));
ok(r.error !== undefined, `mode down: no answer (${r.error})`, r);
d = await last('a');
ok(d.verified && !d.accepted && d.outcome === 'dropped' && d.answered === null, 'recorded verified, dropped', d);

r = await call('POST', '/_receiver/endpoints/a/mode', { mode: 'ok', delay_ms: 1500 });
e = event();
r = await post('a', e.body, hdrs(e, handSign(secretA, e.id, e.ts, e.body)), { timeoutMs: 300 });
ok(r.error !== undefined, 'delay_ms 1500, client gives up at 300 ms: no answer', r);
for (let i = 0; i < 100 && (d = await last('a')).outcome === 'pending'; i++) await sleep(50);
ok(d.outcome === 'aborted' && d.answered === null && !d.accepted, 'recorded aborted', d);
await sleep(1500);
is((await last('a')).outcome, 'aborted', 'and still aborted after the delay ran out');

r = await call('POST', '/_receiver/endpoints/a/mode', { mode: 'ok', delay_ms: 300, body: 'thanks' });
e = event();
const t0 = Date.now();
r = await post('a', e.body, hdrs(e, handSign(secretA, e.id, e.ts, e.body)), { timeoutMs: 5000 });
const took = Date.now() - t0;
ok(r.status === 200 && r.text === 'thanks' && took >= 290, `delay_ms 300 with a body: 200 after ${took} ms`, r);
d = await last('a');
ok(d.accepted && d.answered_ms - d.received_ms >= 290, 'recorded accepted, answered late', d);

r = await call('POST', '/_receiver/endpoints/a/mode', { mode: 'ok', status: 202 });
e = event();
r = await post('a', e.body, hdrs(e, handSign(secretA, e.id, e.ts, e.body)));
is(r.status, 202, 'mode ok with status 202');

r = await call('POST', '/_receiver/endpoints/a/mode', { mode: 'status', status: 410 });
e = event();
r = await post('a', e.body, hdrs(e, 'v1,bad'));
d = await last('a');
ok(r.status === 410 && !d.verified && d.answered === 410, 'mode status answers its status even to a bad signature', d);
await call('POST', '/_receiver/endpoints/a/mode', {});
is((await call('GET', '/_receiver/endpoints/a/mode')).json.mode.mode, 'ok', 'an empty mode body is back to ok');

// Bad control calls.
is((await call('POST', '/_receiver/endpoints/a/mode', { mode: 'sideways' })).status, 400, 'unknown mode: 400');
is((await call('POST', '/_receiver/endpoints/a/mode', { mode: 'status' })).status, 400, 'status mode without a status: 400');
is((await call('POST', '/_receiver/endpoints/a/mode', { mode: 'ok', status: 500 })).status, 400, 'ok mode with a 500: 400');
is((await call('POST', '/_receiver/endpoints/a/mode', { delay: 5 })).status, 400, 'unknown key: 400');
is((await call('POST', '/_receiver/endpoints/zz/mode', {})).status, 404, 'mode of an unknown endpoint: 404');
is((await call('POST', '/_receiver/endpoints', { name: 'b', secret: 'whsec_' })).status, 400, 'empty secret: 400');
is((await call('POST', '/_receiver/endpoints', { name: 'b', secret: 'whsec_%%%' })).status, 400, 'secret not base64: 400');
is((await call('POST', '/_receiver/endpoints', { name: 'b/c', secret: secretA })).status, 400, 'bad name: 400');
is((await call('POST', '/_receiver/endpoints', { name: 'a', secret: secretA })).status, 200, 'replacing an endpoint: 200');

// An unknown endpoint is recorded too.
e = event();
r = await post('nobody', e.body, hdrs(e, handSign(secretA, e.id, e.ts, e.body)));
d = await last('nobody');
ok(r.status === 404 && d && !d.verified && /no endpoint/.test(d.error), 'delivery to an unknown endpoint: 404, recorded', d);

// Clearing.
r = await call('DELETE', '/_receiver/deliveries?name=rot');
is(r.json.cleared, 3, 'DELETE ?name=rot clears its 3');
r = await call('DELETE', '/_receiver/deliveries');
ok(r.json.cleared > 0 && (await deliveries('')).length === 0, 'DELETE clears the rest');

child.kill('SIGTERM');
const x = await exited;
ok(x.code === 0, 'SIGTERM: the receiver exits 0', x);

fs.rmSync(TMP, { recursive: true, force: true });
console.log(`1..${n}`);
if (failed) console.log(`# ${failed} of ${n} failed`);
process.exit(failed ? 1 : 0);
