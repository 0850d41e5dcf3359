#!/usr/bin/env node
// Self-test of the LiveKit stand-in: `node t/livekit/selftest.mjs`, prints TAP, exits 0
// only if every check holds.
//
// It starts standin.mjs as a child process on a free port, with a webhook receiver of its
// own built on the SDK's WebhookReceiver (every webhook must verify there), and drives the
// Twirp API with raw fetch calls (tokens minted by the SDK's AccessToken) and with the
// SDK's own EgressClient. Output files are checked by parsers written here, independent of
// the stand-in's writers.

import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  AccessToken, WebhookReceiver, EgressClient, EncodedFileOutput, EncodedFileType, EgressStatus,
  RoomServiceClient,
} from 'livekit-server-sdk';
import { DataPacket_Kind, DisconnectReason, ParticipantInfo_Kind, ParticipantInfo_State } from '@livekit/protocol';
import { s3Location } from './standin.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const KEY = 'selftest-key';
const SECRET = 'selftest-secret-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-standin-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- TAP ------------------------------------------------------------------------
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

// ---- webhook receiver (SDK WebhookReceiver) ----------------------------------------
const receiver = new WebhookReceiver(KEY, SECRET);
const received = []; // { event, id, egressId, status, body, auth, headers, ok, error }
let failNext = 0; // answer 503 to this many upcoming webhooks (to exercise retries)
const hookServer = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const rec = { body, auth: req.headers.authorization, headers: req.headers, ok: false };
    received.push(rec);
    if (failNext > 0) {
      failNext--;
      rec.error = 'told to fail';
      res.writeHead(503).end('try later');
      return;
    }
    try {
      const ev = await receiver.receive(body, req.headers.authorization);
      Object.assign(rec, {
        ok: true, event: ev.event, id: ev.id, egressId: ev.egressInfo?.egressId,
        roomName: ev.room?.name, identity: ev.participant?.identity,
        status: ev.egressInfo ? EgressStatus[ev.egressInfo.status] : undefined, ev,
      });
      res.writeHead(200).end('ok');
    } catch (e) {
      rec.error = e.message;
      res.writeHead(401).end(e.message);
    }
  });
});

// ---- stand-in process and HTTP helpers ---------------------------------------------------
let child;
let base;

async function startStandin(hookUrl) {
  const portFile = path.join(TMP, 'port');
  child = spawn(process.execPath, [
    path.join(HERE, 'standin.mjs'), '--port', '0', '--port-file', portFile,
    '--api-key', KEY, '--api-secret', SECRET, '--webhook-url', hookUrl,
    '--log', path.join(TMP, 'standin.log'),
  ], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) await sleep(25);
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  base = `http://127.0.0.1:${port}`;
  return port;
}

async function token(grant = { roomRecord: true }, { key = KEY, secret = SECRET } = {}) {
  const at = new AccessToken(key, secret, { ttl: '10m' });
  at.addGrant(grant);
  return at.toJwt();
}

// Raw Twirp call; returns { status, ctype, text, json }.
async function twirp(method, body, { auth, ctype = 'application/json', service = 'Egress' } = {}) {
  if (auth === undefined) auth = `Bearer ${await token()}`;
  const headers = { 'Content-Type': ctype };
  if (auth !== null) headers.Authorization = auth;
  const r = await fetch(`${base}/twirp/livekit.${service}/${method}`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* plain text */ }
  return { status: r.status, ctype: r.headers.get('content-type'), text, json };
}

async function ctl(name, body, method) {
  const r = await fetch(`${base}/_standin/${name}`, body === undefined ? { method: method ?? 'GET' } : {
    method: method ?? 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}
const waitIdle = () => ctl('wait', { idle: true });
const webhooksOf = async (egressId) => (await ctl('webhooks')).json.webhooks.filter((w) => w.egress_id === egressId);
const receivedFor = (egressId) => received.filter((r) => r.egressId === egressId);
// Room and participant events of room `name` (not its egress events), as "event:identity".
const roomEvents = (name) => received.filter((r) => r.roomName === name && !r.egressId)
  .map((r) => (r.identity ? `${r.event}:${r.identity}` : r.event));
// A RoomService call (raw fetch) with a roomAdmin token for `room` unless `auth` is given.
async function roomCall(method, body, opts = {}) {
  const auth = 'auth' in opts ? opts.auth : `Bearer ${await token({ roomAdmin: true, room: opts.room ?? body.room })}`;
  return twirp(method, body, { ...opts, auth, service: 'RoomService' });
}

function startBody(room, file, extra = {}) {
  return { roomName: room, layout: 'grid', fileOutputs: [{ fileType: file.endsWith('.ogg') ? 'OGG' : 'MP4', filepath: file }], ...extra };
}

// ---- file parsers (independent of the stand-in's writers) -------------------------------------
function parseMp4(buf) {
  const boxes = (b, start, end) => {
    const out = [];
    for (let o = start; o + 8 <= end;) {
      let size = b.readUInt32BE(o);
      const type = b.toString('latin1', o + 4, o + 8);
      if (size === 1) size = Number(b.readBigUInt64BE(o + 8));
      if (size === 0) size = end - o;
      if (size < 8 || o + size > end) throw new Error(`bad box ${type} at ${o}`);
      out.push({ type, start: o, size });
      o += size;
    }
    return out;
  };
  const top = boxes(buf, 0, buf.length);
  const moov = top.find((x) => x.type === 'moov');
  if (!moov) return { top: top.map((x) => x.type) };
  const mvhd = boxes(buf, moov.start + 8, moov.start + moov.size).find((x) => x.type === 'mvhd');
  const o = mvhd.start + 8;
  const version = buf[o];
  const timescale = version === 1 ? buf.readUInt32BE(o + 20) : buf.readUInt32BE(o + 12);
  const duration = version === 1 ? Number(buf.readBigUInt64BE(o + 24)) : buf.readUInt32BE(o + 16);
  return { top: top.map((x) => x.type), version, timescale, duration };
}

// Ogg CRC, written out bit by bit (no table) to cross-check the stand-in's.
function crcSlow(buf) {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 24;
    for (let i = 0; i < 8; i++) crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

function parseOgg(buf) {
  const pages = [];
  for (let o = 0; o < buf.length;) {
    if (buf.toString('latin1', o, o + 4) !== 'OggS') throw new Error(`no capture pattern at ${o}`);
    const nseg = buf[o + 26];
    const lacing = buf.subarray(o + 27, o + 27 + nseg);
    const dataLen = lacing.reduce((a, b) => a + b, 0);
    const len = 27 + nseg + dataLen;
    const page = Buffer.from(buf.subarray(o, o + len));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    pages.push({
      flags: page[5], granule: page.readBigInt64LE(6), seq: page.readUInt32LE(18),
      crcOk: crc === crcSlow(page), data: page.subarray(27 + nseg),
      packets: [...lacing].filter((v) => v < 255).length, // packets that end on this page
    });
    o += len;
  }
  return pages;
}

// ---- the checks --------------------------------------------------------------------------
async function main() {
  await new Promise((r) => hookServer.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${hookServer.address().port}/hook`;
  await startStandin(hookUrl);
  ok(Number.isInteger(Number(new URL(base).port)) && Number(new URL(base).port) > 0, 'stand-in wrote its port file');
  const fast = { retry_delays_ms: [50, 50, 50, 50] };

  // Start, raw fetch, snake_case reply.
  const mp4 = path.join(TMP, 'out', 'a', 'rec1.mp4');
  let r = await twirp('StartRoomCompositeEgress', startBody('room1', mp4));
  const eg1 = r.json?.egress_id;
  ok(r.status === 200 && /^EG_[2-9A-HJ-NP-Za-km-z]{12}$/.test(eg1 || ''), 'Start answers 200 with a snake_case egress_id', r.text);
  ok(r.ctype === 'application/json' && r.json.status === 'EGRESS_STARTING' && r.json.started_at !== '0' &&
     r.json.ended_at === '0' && Array.isArray(r.json.stream_results) && r.json.file_results[0].filename === mp4 &&
     r.json.room_composite.file_outputs[0].file_type === 'MP4', 'Start reply has every field, OSS style', r.json);

  // Strict parsing, auth, routing.
  r = await twirp('StartRoomCompositeEgress', { roomName: 'room1', bogus: 1, fileOutputs: [{ filepath: mp4 }] });
  ok(r.status === 400 && r.json?.code === 'malformed' && /bogus/.test(r.json.msg) && r.ctype === 'application/json',
    'unknown field is rejected: 400 malformed', r);
  r = await twirp('StartRoomCompositeEgress', '{"roomName":', {});
  ok(r.status === 400 && r.json?.code === 'malformed', 'invalid JSON: 400 malformed', r);
  r = await twirp('ListEgress', {}, { auth: `Bearer ${await token({ roomRecord: true }, { secret: 'wrong-secret' })}` });
  ok(r.status === 401, 'token signed with the wrong secret: 401', r);
  r = await twirp('ListEgress', {}, { auth: `Token ${await token()}` });
  ok(r.status === 401 && r.json === null && /Bearer/.test(r.text), 'header without "Bearer ": 401 plain text', r);
  r = await twirp('ListEgress', {}, { auth: `Bearer ${await token({ roomAdmin: true })}` });
  ok(r.status === 401 && r.json?.code === 'unauthenticated' && r.json.msg === 'permissions denied',
    'token without roomRecord: 401 unauthenticated "permissions denied"', r);
  r = await twirp('ListEgress', {}, { auth: null });
  ok(r.status === 401 && r.json?.code === 'unauthenticated', 'no Authorization at all: 401 unauthenticated', r);
  r = await twirp('ListEgress', {}, { ctype: 'text/plain' });
  ok(r.status === 404 && r.json?.code === 'bad_route', 'wrong Content-Type: 404 bad_route', r);
  r = await twirp('ListEgress', {}, { ctype: 'application/json; charset=UTF-8' });
  ok(r.status === 200, 'Content-Type with a charset parameter is accepted', r);
  r = await twirp('UpdateLayout', { egressId: eg1, layout: 'speaker' });
  ok(r.status === 404 && r.json?.code === 'bad_route', 'other method: 404 bad_route', r);
  r = await twirp('constructor', {});
  ok(r.status === 404 && r.json?.code === 'bad_route', 'method named like an Object property: 404 bad_route', r);
  r = await twirp('StartRoomCompositeEgress', startBody('room1', path.join(TMP, 'x.mp4'), { audioOnly: true }));
  ok(r.status === 400 && r.json?.code === 'invalid_argument', 'audio-only MP4: 400 invalid_argument', r);
  r = await twirp('StartRoomCompositeEgress', startBody('room1', path.join(TMP, 'x.ogg')));
  ok(r.status === 400 && r.json?.code === 'invalid_argument', 'video OGG: 400 invalid_argument', r);
  r = await twirp('StartRoomCompositeEgress', { roomName: 'room1' });
  ok(r.status === 400 && r.json?.code === 'invalid_argument', 'no output: 400 invalid_argument', r);

  // Webhooks after Start: started (no status key), updated (ACTIVE).
  await waitIdle();
  let hooks = receivedFor(eg1);
  ok(hooks.length === 2 && hooks[0].event === 'egress_started' && hooks[1].event === 'egress_updated' &&
     hooks[1].status === 'EGRESS_ACTIVE', 'egress_started then egress_updated(ACTIVE) arrive', hooks.map((h) => [h.event, h.status]));
  const started = JSON.parse(hooks[0]?.body || '{}');
  ok(started.egressInfo && !('status' in started.egressInfo) && /^EV_/.test(started.id) && /^\d+$/.test(started.createdAt) &&
     started.room?.name === 'room1', 'egress_started body: camelCase, no status key, id, createdAt in seconds', started);
  ok(hooks[0]?.headers['content-type'] === 'application/webhook+json' && hooks[0]?.headers['user-agent'] === 'LiveKit' &&
     !/^Bearer /.test(hooks[0]?.auth), 'webhook headers as LiveKit sends them (no Bearer)', hooks[0]?.headers);
  const claims = JSON.parse(Buffer.from((hooks[0]?.auth || '..').split('.')[1], 'base64url').toString() || '{}');
  ok(claims.sha256 === createHash('sha256').update(hooks[0]?.body || '').digest('base64') && claims.iss === KEY &&
     claims.exp - claims.nbf === 300, 'webhook token: iss, 5 min, sha256 = padded std base64 of the body', claims);

  // ListEgress.
  r = await twirp('ListEgress', { roomName: 'room1', active: true });
  ok(r.status === 200 && r.json.items.length === 1 && r.json.items[0].egress_id === eg1 && r.json.items[0].status === 'EGRESS_ACTIVE',
    'ListEgress {roomName, active} finds the active egress', r.json);
  r = await twirp('ListEgress', { egressId: 'EG_doesnotexist' });
  ok(r.status === 404 && r.json?.code === 'not_found', 'ListEgress unknown egressId: 404 not_found', r);
  r = await twirp('ListEgress', { roomName: 'nosuchroom' });
  ok(r.status === 200 && r.text === '{"items":[]}', 'ListEgress unknown room: empty list', r.text);

  // Stop, then the MP4.
  await sleep(1300);
  r = await twirp('StopEgress', { egressId: eg1 });
  ok(r.status === 200 && r.json.status === 'EGRESS_ENDING' && r.json.details === 'End reason: StopEgress API', 'Stop answers ENDING', r.json);
  await waitIdle();
  hooks = receivedFor(eg1);
  const ended = hooks.find((h) => h.event === 'egress_ended')?.ev?.egressInfo;
  ok(hooks.length === 4 && hooks[2].status === 'EGRESS_ENDING' && hooks[3].event === 'egress_ended' && ended?.status === EgressStatus.EGRESS_COMPLETE,
    'egress_updated(ENDING) then egress_ended(COMPLETE)', hooks.map((h) => [h.event, h.status]));
  const fi = ended?.fileResults?.[0];
  const size = fs.existsSync(mp4) ? fs.statSync(mp4).size : -1;
  ok(fi && Number(fi.size) === size && fi.location === mp4 && fi.duration === fi.endedAt - fi.startedAt && fi.duration > 1_000_000_000n &&
     ended.result?.case === 'file' && ended.result.value.filename === mp4, 'fileResults and legacy file: size = bytes on disk, absolute location, duration = ended - started (ns)', fi && ended.toJson());
  const mp = size > 0 ? parseMp4(fs.readFileSync(mp4)) : {};
  ok(mp.timescale === 1000 && mp.duration === Math.max(1000, Number(fi.duration / 1_000_000n)) && mp.top.join(',') === 'ftyp,moov,mdat',
    'MP4: ftyp, moov/mvhd (timescale 1000, duration = recording ms), mdat', mp);
  r = await twirp('StopEgress', { egressId: eg1 });
  ok(r.status === 412 && r.json?.code === 'failed_precondition' && r.json.msg === 'egress with status EGRESS_COMPLETE cannot be stopped',
    'Stop of an ended egress: 412 failed_precondition', r);
  r = await twirp('StopEgress', { egressId: 'EG_nothere12345' });
  ok(r.status === 404 && r.json?.code === 'not_found' && r.json.msg === 'egress does not exist', 'Stop unknown: 404 not_found', r);
  r = await twirp('ListEgress', { egressId: eg1 });
  ok(r.status === 200 && r.json.items[0].status === 'EGRESS_COMPLETE' && r.json.items[0].file_results[0].size === String(size),
    'ListEgress {egressId} shows the final record', r.json);

  // Audio-only Ogg Opus.
  const ogg = path.join(TMP, 'out', 'b', 'rec2.ogg');
  r = await twirp('StartRoomCompositeEgress', startBody('room2', ogg, { audioOnly: true }));
  const eg2 = r.json?.egress_id;
  ok(r.status === 200, 'audio-only OGG Start accepted', r.text);
  await sleep(1600);
  await twirp('StopEgress', { egressId: eg2 });
  await waitIdle();
  const fi2 = receivedFor(eg2).find((h) => h.event === 'egress_ended')?.ev?.egressInfo?.fileResults?.[0];
  let pages = [];
  try { pages = parseOgg(fs.readFileSync(ogg)); } catch (e) { ok(false, 'Ogg parses', e.message); }
  const last = pages[pages.length - 1];
  const durMs = Math.max(1000, Number((fi2?.duration ?? 0n) / 1_000_000n));
  ok(pages.length >= 3 && pages.every((p) => p.crcOk), 'Ogg: every page has a correct CRC32', pages.map((p) => p.crcOk));
  ok(pages[0]?.flags === 0x02 && pages[0].data.toString('latin1', 0, 8) === 'OpusHead' && pages[0].data.readUInt16LE(10) === 312 &&
     pages[1]?.data.toString('latin1', 0, 8) === 'OpusTags', 'Ogg: OpusHead (BOS, pre-skip 312), then OpusTags');
  ok(last?.flags === 0x04 && last.granule === BigInt(Math.round(durMs * 48) + 312) && Number(fi2?.size) === fs.statSync(ogg).size,
    'Ogg: last page EOS, granule = 48000 * seconds + 312', { granule: String(last?.granule), durMs });
  // Granules count decoded samples including pre-skip: 960 per 20 ms packet up to each page,
  // the last page trimming at most one packet's surplus.
  let cum = 0;
  const granOk = pages.slice(2).every((p, i, a) => {
    cum += p.packets * 960;
    return i === a.length - 1 ? p.granule <= BigInt(cum) && p.granule > BigInt(cum - 960) : p.granule === BigInt(cum);
  });
  ok(pages.length > 3 && granOk, 'Ogg: granule positions count decoded samples (pre-skip included)', pages.map((p) => String(p.granule)));

  // Failure modes for Start.
  await ctl('mode', { missing_rooms: ['ghost'] });
  r = await twirp('StartRoomCompositeEgress', startBody('ghost', path.join(TMP, 'g.mp4')));
  ok(r.status === 404 && r.json?.code === 'not_found' && r.json.msg === 'requested room does not exist', 'missing room: 404 not_found', r);
  await ctl('mode', { start: 'refuse' });
  r = await twirp('StartRoomCompositeEgress', startBody('room3', path.join(TMP, 'g.mp4')));
  ok(r.status === 503 && r.json?.code === 'unavailable', 'start refuse: 503 unavailable', r);
  await ctl('mode', { start: 'slow', start_delay_ms: 300 });
  const t0 = Date.now();
  r = await twirp('StartRoomCompositeEgress', startBody('room3', path.join(TMP, 'slow.mp4')));
  ok(r.status === 200 && Date.now() - t0 >= 300, 'start slow: answers after the delay and creates the egress', Date.now() - t0);
  await ctl('mode', { start: 'ok', stop: 'refuse' });
  const egSlow = r.json?.egress_id;
  r = await twirp('StopEgress', { egressId: egSlow });
  ok(r.status === 503 && r.json?.code === 'unavailable', 'stop refuse: Twirp error', r);

  // Start modes in which the egress runs but its answer never arrives.
  const egressIn = async (room) => (await ctl('egresses')).json.egresses.filter((e) => e.roomName === room);
  await ctl('mode', { start: 'reset' });
  let lost = null;
  try {
    await twirp('StartRoomCompositeEgress', startBody('room-reset', path.join(TMP, 'reset.mp4')));
  } catch (e) {
    lost = e;
  }
  ok(lost !== null, 'start reset: no answer, the connection is reset', String(lost?.cause ?? lost));
  ok((await egressIn('room-reset')).length === 1, 'start reset: the egress was created all the same');
  for (const status of [502, 503, 504]) {
    await ctl('mode', { start: 'proxy_error', proxy_status: status });
    const room = `room-proxy-${status}`;
    r = await twirp('StartRoomCompositeEgress', startBody(room, path.join(TMP, `${room}.mp4`)));
    ok(r.status === status && r.ctype?.startsWith('text/html') && r.json === null && r.text.includes(`<title>${status} `) &&
      r.text.includes('<center>nginx</center>'), `start proxy_error: ${status} with nginx's HTML page`, r);
    ok((await egressIn(room)).length === 1, `start proxy_error ${status}: the egress was created all the same`);
  }
  const pm = await ctl('mode', { proxy_status: 500 });
  ok(pm.status === 400, 'proxy_status must be 502, 503 or 504', pm.json);
  await ctl('mode', { start: 'ok', stop: 'refuse' });
  let m = await ctl('mode', { nonsense: 1 });
  ok(m.status === 400, 'unknown setting is refused by /_standin/mode', m.json);
  m = await ctl('reset', {});
  ok(m.json.start === 'ok' && m.json.stop === 'ok' && m.json.missing_rooms.length === 0, '/_standin/reset restores defaults', m.json);

  // /_standin/end: the room closes by itself.
  r = await ctl('end', { egress_id: egSlow });
  ok(r.status === 200 && r.json.status === 200 && r.json.egress.details === 'End reason: Source closed' && fs.existsSync(path.join(TMP, 'slow.mp4')),
    '/_standin/end ends the egress, writes the file and reports meetrec\'s status', r.json);

  // duplicate mode: every webhook twice, same bytes and token.
  await ctl('mode', { webhooks: 'duplicate', ...fast });
  r = await twirp('StartRoomCompositeEgress', startBody('room4', path.join(TMP, 'dup.mp4')));
  const eg4 = r.json?.egress_id;
  await waitIdle();
  await twirp('StopEgress', { egressId: eg4 });
  await waitIdle();
  let wh = await webhooksOf(eg4);
  const pairsOk = wh.length === 8 && [0, 2, 4, 6].every((i) => wh[i].id === wh[i + 1].id && wh[i].body === wh[i + 1].body &&
    wh[i].authorization === wh[i + 1].authorization && wh[i + 1].duplicate);
  ok(pairsOk && receivedFor(eg4).length === 8 && receivedFor(eg4).every((h) => h.ok), 'duplicate mode: each webhook sent twice, identical', wh.map((w) => w.event));

  // reverse mode: ended before the held updates.
  await ctl('mode', { webhooks: 'reverse' });
  r = await twirp('StartRoomCompositeEgress', startBody('room5', path.join(TMP, 'rev.mp4')));
  const eg5 = r.json?.egress_id;
  await waitIdle();
  await twirp('StopEgress', { egressId: eg5 });
  await waitIdle();
  const order = receivedFor(eg5).map((h) => `${h.event}:${h.status}`);
  ok(order.join(',') === 'egress_started:EGRESS_STARTING,egress_ended:EGRESS_COMPLETE,egress_updated:EGRESS_ACTIVE,egress_updated:EGRESS_ENDING',
    'reverse mode: egress_ended arrives before the egress_updated events', order);

  // drop mode, then a late delivery through resend.
  await ctl('mode', { webhooks: 'drop' });
  r = await twirp('StartRoomCompositeEgress', startBody('room6', path.join(TMP, 'drop.mp4')));
  const eg6 = r.json?.egress_id;
  await waitIdle();
  await twirp('StopEgress', { egressId: eg6 });
  await waitIdle();
  wh = await webhooksOf(eg6);
  ok(wh.length === 4 && wh.every((w) => w.dropped === 'drop mode' && w.response_status === null) && receivedFor(eg6).length === 0,
    'drop mode: webhooks recorded, none sent', wh.map((w) => [w.event, w.dropped]));
  const endedIdx = wh.find((w) => w.event === 'egress_ended')?.index;
  r = await ctl('resend', { index: endedIdx });
  ok(r.json.status === 200 && receivedFor(eg6).length === 1 && receivedFor(eg6)[0].event === 'egress_ended' && receivedFor(eg6)[0].ok,
    'resend delivers a dropped webhook byte-for-byte and it verifies', r.json);
  r = await ctl('resend', { index: endedIdx });
  const twoSame = receivedFor(eg6).length === 2 && receivedFor(eg6)[0].body === receivedFor(eg6)[1].body &&
    receivedFor(eg6)[0].auth === receivedFor(eg6)[1].auth;
  ok(r.json.status === 200 && twoSame, 'resend again replays the same bytes and token', r.json);

  // Retries: 503 is retried, with the same token.
  await ctl('reset', {});
  await ctl('mode', fast);
  failNext = 2;
  r = await twirp('StartRoomCompositeEgress', startBody('room7', path.join(TMP, 'retry.mp4')));
  const eg7 = r.json?.egress_id;
  await waitIdle();
  wh = await webhooksOf(eg7);
  const st = wh.find((w) => w.event === 'egress_started');
  ok(st?.attempts.length === 3 && st.attempts.map((a) => a.status).join(',') === '503,503,200' && st.response_status === 200,
    'webhook answered 503 is retried until 200', st?.attempts);

  // Final statuses: FAILED (partial file, error), ABORTED (no file), LIMIT_REACHED.
  const finals = {};
  for (const status of ['EGRESS_FAILED', 'EGRESS_ABORTED', 'EGRESS_LIMIT_REACHED']) {
    const f = path.join(TMP, `${status}.mp4`);
    await ctl('mode', { end_status: status });
    r = await twirp('StartRoomCompositeEgress', startBody('room8', f));
    await waitIdle();
    await twirp('StopEgress', { egressId: r.json.egress_id });
    await waitIdle();
    finals[status] = { info: receivedFor(r.json.egress_id).find((h) => h.event === 'egress_ended')?.ev?.egressInfo, exists: fs.existsSync(f), f };
  }
  const fl = finals.EGRESS_FAILED;
  ok(fl.info?.status === EgressStatus.EGRESS_FAILED && fl.info.error === 'pipeline frozen' && fl.info.errorCode === 500 && fl.exists &&
     parseMp4(fs.readFileSync(fl.f)).top.join(',') === 'ftyp,mdat', 'end_status FAILED: error "pipeline frozen", partial file (no moov)', fl.info?.toJson());
  const ab = finals.EGRESS_ABORTED;
  ok(ab.info?.status === EgressStatus.EGRESS_ABORTED && !ab.exists && ab.info.fileResults[0].size === 0n, 'end_status ABORTED: no file', ab.info?.toJson());
  const lr = finals.EGRESS_LIMIT_REACHED;
  ok(lr.info?.status === EgressStatus.EGRESS_LIMIT_REACHED && lr.exists && Number(lr.info.fileResults[0].size) === fs.statSync(lr.f).size,
    'end_status LIMIT_REACHED: file written and reported', lr.info?.toJson());
  await ctl('reset', {});

  // moov after mdat (as a muxer without faststart writes it), with a bigger mdat.
  await ctl('mode', { mp4_layout: 'moov_last', mdat_bytes: 3 << 20 });
  const last4 = path.join(TMP, 'moovlast.mp4');
  r = await twirp('StartRoomCompositeEgress', startBody('room8', last4));
  r = await ctl('end', { egress_id: r.json.egress_id });
  const ml = fs.existsSync(last4) ? parseMp4(fs.readFileSync(last4)) : {};
  ok(ml.top?.join(',') === 'ftyp,mdat,moov' && ml.duration === 1000 && fs.statSync(last4).size > 3 << 20 &&
     r.json.egress.fileResults[0].size === String(fs.statSync(last4).size), 'mp4_layout moov_last and mdat_bytes', ml);
  await ctl('reset', {});

  // An output path that cannot be written: FAILED with an upload error, egress_ended still sent.
  fs.writeFileSync(path.join(TMP, 'notadir'), 'x');
  r = await twirp('StartRoomCompositeEgress', startBody('room8', path.join(TMP, 'notadir', 'x.mp4')));
  r = await ctl('end', { egress_id: r.json.egress_id });
  ok(r.json.status === 200 && r.json.egress.status === 'EGRESS_FAILED' && /upload failed/.test(r.json.egress.error) &&
     !r.json.egress.fileResults[0].location, 'unwritable output path: FAILED "Local upload failed", egress_ended sent', r.json);

  // reverse mode on a room that closes by itself, after a wait longer than the queue max age.
  await ctl('mode', { webhooks: 'reverse', queue_max_age_ms: 200 });
  r = await twirp('StartRoomCompositeEgress', startBody('room8', path.join(TMP, 'rev2.mp4')));
  const egRev = r.json.egress_id;
  await waitIdle();
  await sleep(400);
  await ctl('end', { egress_id: egRev });
  await waitIdle();
  ok(receivedFor(egRev).map((h) => h.event).join(',') === 'egress_started,egress_ended,egress_updated,egress_updated',
    'reverse mode: held updates are not dropped as stale when released', (await webhooksOf(egRev)).map((w) => [w.event, w.dropped]));
  await ctl('reset', {});

  // S3 targets, without an S3 server (t/216-standin-s3-upload.t has one). The location
  // as livekit/storage builds it (its location_test.go cases), then as egress 1.12 did.
  const loc = [
    [{ bucket: 'mybucket' }, 'foo.mp4', 'https://mybucket.s3.amazonaws.com/foo.mp4'],
    [{ bucket: 'mybucket', endpoint: 's3.example.com' }, 'foo.mp4', 'https://mybucket.s3.example.com/foo.mp4'],
    [{ bucket: 'mybucket', endpoint: 'https://s3.example.com' }, 'foo.mp4', 'https://mybucket.s3.example.com/foo.mp4'],
    [{ bucket: 'mybucket', endpoint: 'http://s3.example.com' }, 'foo.mp4', 'https://mybucket.s3.example.com/foo.mp4'],
    [{ bucket: 'mybucket' }, 'a/b/c.mp4', 'https://mybucket.s3.amazonaws.com/a/b/c.mp4'],
    [{ bucket: 'mybucket' }, '/foo.mp4', 'https://mybucket.s3.amazonaws.com/foo.mp4'],
    [{ bucket: 'mybucket' }, 'folder/my file.mp4', 'https://mybucket.s3.amazonaws.com/folder/my%20file.mp4'],
    [{ bucket: 'mybucket' }, 'café/résumé.mp4', 'https://mybucket.s3.amazonaws.com/caf%C3%A9/r%C3%A9sum%C3%A9.mp4'],
    [{ bucket: 'mybucket', forcePathStyle: true }, 'foo.mp4', 'https://s3.amazonaws.com/mybucket/foo.mp4'],
    [{ bucket: 'mybucket', endpoint: 'https://minio.example.com', forcePathStyle: true }, 'foo.mp4', 'https://minio.example.com/mybucket/foo.mp4'],
    [{ bucket: 'mybucket', forcePathStyle: true }, 'a/b/c.mp4', 'https://s3.amazonaws.com/mybucket/a/b/c.mp4'],
    [{ bucket: 'mybucket', forcePathStyle: true }, '/foo.mp4', 'https://s3.amazonaws.com/mybucket/foo.mp4'],
    [{ bucket: 'b', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true }, 'rec/x.mp4', 'https://127.0.0.1:9000/b/rec/x.mp4'],
  ];
  const badLoc = loc.filter(([c, k, want]) => s3Location(c, k) !== want).map(([c, k, want]) => [c, k, want, s3Location(c, k)]);
  ok(badLoc.length === 0, 's3Location: https, scheme dropped, path or virtual-host style, escaped (livekit/storage cases)', badLoc);
  const old = [
    [{ bucket: 'b', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true }, 'rec/x.mp4', 'http://127.0.0.1:9000/b/rec/x.mp4'],
    [{ bucket: 'b', endpoint: 'minio:9000', forcePathStyle: true }, 'rec/x.mp4', 'https://minio:9000/b/rec/x.mp4'],
    [{ bucket: 'b' }, 'rec/x.mp4', 'https://b.s3.amazonaws.com/rec/x.mp4'],
  ];
  const badOld = old.filter(([c, k, want]) => s3Location(c, k, 'as_endpoint') !== want).map(([c, k, want]) => [want, s3Location(c, k, 'as_endpoint')]);
  ok(badOld.length === 0, 's3Location as_endpoint: the endpoint as given (egress 1.12)', badOld);

  // Start: the secrets are redacted in the echo; no endpoint is refused.
  const down = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
  const s3t = { accessKey: 'AKSELF', secret: 'self/secret+1', sessionToken: 'tok', region: 'us-east-1', endpoint: `http://127.0.0.1:${down}`, bucket: 'b', forcePathStyle: true };
  const s3Body = (room, s3) => ({ roomName: room, fileOutputs: [{ fileType: 'MP4', filepath: 'rec/s3.mp4', disableManifest: true, s3 }] });
  r = await twirp('StartRoomCompositeEgress', s3Body('room10', { ...s3t, endpoint: '' }));
  ok(r.status === 400 && r.json?.code === 'invalid_argument' && /s3\.endpoint/.test(r.json.msg), 's3 without an endpoint: 400 invalid_argument', r);
  r = await twirp('StartRoomCompositeEgress', s3Body('room10', s3t));
  const egS3 = r.json?.egress_id;
  const echo = r.json?.room_composite?.file_outputs?.[0]?.s3;
  ok(r.status === 200 && echo?.access_key === '{access_key}' && echo.secret === '{secret}' && echo.session_token === '{session_token}' &&
     echo.endpoint === s3t.endpoint && !r.text.includes('self/secret') && r.json.file_results[0].filename === 'rec/s3.mp4',
    's3 target: Start echoes the request with its secrets redacted', r.json);
  r = await ctl('s3_next', { fail: 'nope' });
  ok(r.status === 400, 's3_next: an unknown fault is refused', r);
  await waitIdle();
  await twirp('StopEgress', { egressId: egS3 });
  await waitIdle();
  const s3Ended = receivedFor(egS3).find((h) => h.event === 'egress_ended')?.ev?.egressInfo;
  ok(s3Ended?.status === EgressStatus.EGRESS_FAILED && s3Ended.errorCode === 400 &&
     /^S3 upload failed: operation error S3: PutObject, exceeded maximum number of attempts, 5, .*request send failed, .*ECONNREFUSED/.test(s3Ended.error) &&
     !s3Ended.fileResults[0].location && s3Ended.fileResults[0].size === 0n, 'S3 endpoint down: FAILED "S3 upload failed: ...", 400, no location', s3Ended?.error);
  const up = (await ctl('uploads')).json.uploads.find((u) => u.egress_id === egS3);
  ok(up?.status === 'failed' && up.key === 'rec/s3.mp4' && up.size > 0 && up.sent_bytes === 0 &&
     !fs.readdirSync(os.tmpdir()).some((f) => f.startsWith(`standin-${egS3}-`)), '/_standin/uploads records it; the temp file is gone', up);

  // The SDK's own EgressClient reads the snake_case replies.
  const client = new EgressClient(base, KEY, SECRET);
  const sdkFile = path.join(TMP, 'sdk.mp4');
  const info = await client.startRoomCompositeEgress('room9', new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: sdkFile }), { layout: 'speaker' });
  ok(/^EG_/.test(info.egressId) && info.status === EgressStatus.EGRESS_STARTING && info.fileResults[0].filename === sdkFile,
    'SDK EgressClient: Start (legacy file + fileOutputs) parses the reply');
  const list = await client.listEgress({ roomName: 'room9' });
  const stopped = await client.stopEgress(info.egressId);
  ok(list.length === 1 && stopped.status === EgressStatus.EGRESS_ENDING, 'SDK EgressClient: List and Stop');
  await waitIdle();

  // ---- Rooms: participants, room webhooks, RoomService -----------------------------------
  await ctl('reset', {});
  await ctl('mode', fast);
  const join = (room, body) => ctl(`rooms/${encodeURIComponent(room)}/join`, body);
  const leave = (room, body) => ctl(`rooms/${encodeURIComponent(room)}/leave`, body);
  const finish = (room, body = {}) => ctl(`rooms/${encodeURIComponent(room)}/finish`, body);
  r = await join('meet1', { identity: 'alice', name: 'Alice', metadata: '{"role":"host"}', attributes: { team: 'a' } });
  ok(r.status === 200 && /^PA_[2-9A-HJ-NP-Za-km-z]{12}$/.test(r.json.sid) && r.json.identity === 'alice' && r.json.state === 'ACTIVE' &&
     /^\d+$/.test(r.json.joinedAt) && r.json.joinedAtMs.startsWith(r.json.joinedAt) && r.json.permission?.canPublish === true &&
     !('kind' in r.json), 'join: the participant, camelCase, ACTIVE, PA_ sid, joinedAt s and ms', r.json);
  const aliceSid = r.json.sid;
  await join('meet1', { identity: 'bob' });
  await join('meet1', { identity: 'carol', kind: 'sip' });
  r = await join('meet1', { identity: 'dave', bogus: 1 });
  ok(r.status === 400, 'join: an unknown key is refused', r.json);
  r = await join('meet1', { identity: 'dave', kind: 'ROBOT' });
  ok(r.status === 400, 'join: an unknown kind is refused', r.json);
  await waitIdle();
  ok(roomEvents('meet1').join(',') === 'room_started,participant_joined:alice,participant_joined:bob,participant_joined:carol',
    'room_started first, then participant_joined in join order', roomEvents('meet1'));
  const joinedEv = received.find((h) => h.event === 'participant_joined' && h.identity === 'alice')?.ev;
  ok(joinedEv?.participant?.sid === aliceSid && joinedEv.participant.name === 'Alice' && joinedEv.participant.metadata === '{"role":"host"}' &&
     joinedEv.participant.state === ParticipantInfo_State.ACTIVE && joinedEv.participant.attributes.team === 'a' &&
     /^RM_/.test(joinedEv.room?.sid) && joinedEv.room.name === 'meet1' && joinedEv.room.emptyTimeout === 300 && /^EV_/.test(joinedEv.id),
  'participant_joined: the participant and the full room, verified by the SDK', joinedEv?.toJson());
  const startedBody = JSON.parse(received.find((h) => h.event === 'room_started' && h.roomName === 'meet1')?.body || '{}');
  ok(!('participant' in startedBody) && !('egressInfo' in startedBody) && startedBody.room?.sid === joinedEv?.room?.sid &&
     /^\d+$/.test(startedBody.room.creationTime) && Array.isArray(startedBody.room.enabledCodecs) && /^\d+$/.test(startedBody.createdAt),
  'room_started: room only (sid, creationTime, codecs), id and createdAt', startedBody);

  // The egress of a played room joins it as a hidden EGRESS participant.
  r = await twirp('StartRoomCompositeEgress', startBody('meet1', path.join(TMP, 'meet1.mp4')));
  const egMeet = r.json?.egress_id;
  await waitIdle();
  const egJoined = received.find((h) => h.event === 'participant_joined' && h.identity === egMeet)?.ev;
  ok(egJoined?.participant?.kind === ParticipantInfo_Kind.EGRESS && egJoined.participant.permission?.hidden === true &&
     egJoined.participant.permission.recorder === true && egJoined.participant.permission.canPublish === false &&
     egJoined.room.activeRecording === true && egJoined.room.numParticipants === 3,
  'egress Start: participant_joined with identity = egress id, kind EGRESS, hidden recorder; room activeRecording', egJoined?.toJson());

  // RoomService through the SDK's own client.
  const rsc = new RoomServiceClient(base, KEY, SECRET);
  const plist = await rsc.listParticipants('meet1');
  ok(plist.map((p) => p.identity).join(',') === `alice,bob,carol,${egMeet}` && plist[2].kind === ParticipantInfo_Kind.SIP,
    'SDK listParticipants: everyone in the room, the egress too', plist.map((p) => p.identity));
  const upd = await rsc.updateRoomMetadata('meet1', '{"recording":true}');
  ok(upd.metadata === '{"recording":true}' && upd.name === 'meet1' && upd.numParticipants === 3, 'SDK updateRoomMetadata: the Room with its new metadata', upd.toJson());
  await rsc.sendData('meet1', new TextEncoder().encode('rec on'), DataPacket_Kind.RELIABLE, { destinationIdentities: ['bob'], topic: 'meetrec' });
  await rsc.sendData('meet1', new TextEncoder().encode('to all'), DataPacket_Kind.LOSSY);
  let room = (await ctl('rooms/meet1')).json;
  ok(room.data.length === 2 && room.data[0].text === 'rec on' && room.data[0].topic === 'meetrec' && room.data[0].kind === 'RELIABLE' &&
     room.data[0].recipients.join(',') === 'bob' && room.data[0].nonce?.length === 24 && room.data[1].kind === 'LOSSY' &&
     room.data[1].topic === null && room.data[1].recipients.length === 4 && room.metadata === '{"recording":true}',
  'SDK sendData: recorded with topic, kind, nonce and who receives it', room.data);
  await waitIdle();
  ok(!received.some((h) => h.roomName === 'meet1' && !['room_started', 'participant_joined', 'egress_started', 'egress_updated'].includes(h.event)),
    'UpdateRoomMetadata and SendData send no webhook');

  // Raw calls: the reply as open-source LiveKit writes it, auth, strict parsing, errors.
  r = await roomCall('UpdateRoomMetadata', { room: 'meet1', metadata: 'v2' });
  ok(r.status === 200 && r.json.metadata === 'v2' && r.json.version === null && r.json.num_participants === 3 &&
     r.json.active_recording === true && r.json.departure_timeout === 20 && Array.isArray(r.json.enabled_codecs),
  'UpdateRoomMetadata raw: snake_case Room, every field, version null', r.json);
  r = await roomCall('ListParticipants', { room: 'meet1' });
  ok(r.status === 200 && r.json.participants[0].joined_at_ms && r.json.participants[0].permission.can_publish === true &&
     r.json.participants[3].kind === 'EGRESS' && r.json.participants[0].state === 'ACTIVE', 'ListParticipants raw: snake_case ParticipantInfo', r.json);
  r = await roomCall('SendData', { room: 'meet1', data: 'aGk', destination_identities: ['alice', 'nobody'] });
  room = (await ctl('rooms/meet1')).json;
  ok(r.status === 200 && r.text === '{}' && room.data[2].text === 'hi' && room.data[2].recipients.join(',') === 'alice',
    'SendData raw: snake_case keys and unpadded base64 accepted, reply {}', [r, room.data[2]]);
  const nonce = Buffer.alloc(16, 7).toString('base64');
  await roomCall('SendData', { room: 'meet1', data: 'aGk=', nonce });
  await roomCall('SendData', { room: 'meet1', data: 'aGk=', nonce });
  room = (await ctl('rooms/meet1')).json;
  ok(room.data[3].duplicate === false && room.data[4].duplicate === true && room.data[4].recipients.length === 0,
    'SendData: a repeated nonce is dropped (200, nobody receives it)', room.data.slice(3));
  r = await roomCall('SendData', { room: 'meet1', data: 'aGk=', nonce: 'AAEC' });
  ok(r.status === 400 && r.json?.code === 'invalid_argument' && r.json.msg === 'nonce should be 16-bytes or not present, got: 3 bytes',
    'SendData: a nonce of 3 bytes: 400 invalid_argument', r);
  r = await roomCall('SendData', { room: 'meet1', data: '***' });
  ok(r.status === 400 && r.json?.code === 'malformed', 'SendData: data that is not base64: 400 malformed', r);
  r = await roomCall('UpdateRoomMetadata', { room: 'meet1', metadata: 'x', extra: 1 });
  ok(r.status === 400 && r.json?.code === 'malformed' && /extra/.test(r.json.msg), 'RoomService: an unknown key: 400 malformed', r);
  r = await roomCall('UpdateRoomMetadata', { room: 'meet1', metadata: 'x' }, { auth: `Bearer ${await token({ roomAdmin: true, room: 'other' })}` });
  ok(r.status === 401 && r.json?.code === 'unauthenticated' && r.json.msg === 'permissions denied', 'token for another room: 401 unauthenticated', r);
  r = await roomCall('ListParticipants', { room: 'meet1' }, { auth: `Bearer ${await token({ roomRecord: true, room: 'meet1' })}` });
  ok(r.status === 401 && r.json?.code === 'unauthenticated', 'token without roomAdmin: 401 unauthenticated', r);
  r = await roomCall('ListParticipants', { room: 'meet1' }, { auth: `Bearer ${await token({ roomAdmin: true, room: 'meet1' }, { secret: 'forged' })}` });
  ok(r.status === 401 && r.json === null && /invalid authorization token/.test(r.text), 'forged token: 401 plain text', r);
  r = await roomCall('ListParticipants', { room: 'meet1' }, { auth: null });
  ok(r.status === 401 && r.json?.code === 'unauthenticated', 'no token: 401 unauthenticated', r);
  await ctl('mode', { max_metadata_size: 8 });
  r = await roomCall('UpdateRoomMetadata', { room: 'meet1', metadata: '123456789' }, { auth: null });
  ok(r.status === 400 && r.json?.code === 'invalid_argument' && r.json.msg === 'metadata size exceeds limits 8' &&
     r.json.meta?.argument === 'metadata size exceeds limits', 'metadata over the limit: 400 invalid_argument, checked before auth', r);
  await ctl('mode', { max_metadata_size: 512 * 1024 });
  r = await roomCall('UpdateRoomMetadata', { room: 'nosuch', metadata: 'x' });
  ok(r.status === 404 && r.json?.code === 'not_found' && r.json.msg === 'requested room does not exist', 'UpdateRoomMetadata unknown room: 404', r);
  r = await roomCall('ListParticipants', { room: 'nosuch' });
  ok(r.status === 200 && r.text === '{"participants":[]}', 'ListParticipants unknown room: empty list', r.text);
  r = await roomCall('SendData', { room: 'nosuch', data: 'aGk=' });
  ok(r.status === 503 && r.json?.code === 'unavailable' && r.json.msg === 'no response from servers', 'SendData unknown room: 503 unavailable', r);
  r = await roomCall('RemoveParticipant', { room: 'meet1', identity: 'bob' });
  ok(r.status === 404 && r.json?.code === 'bad_route', 'RoomService method not played: 404 bad_route', r);
  const calls = (await ctl('room_calls')).json.room_calls;
  const c0 = calls.find((c) => c.method === 'UpdateRoomMetadata' && c.status === 200);
  ok(calls.length >= 17 && c0?.video?.roomAdmin === true && c0.room === 'meet1' && c0.request.metadata && c0.auth_ok === true &&
     c0.answer?.name === 'meet1' && calls.some((c) => c.status === 401 && c.auth_ok === false),
  '/_standin/room_calls records method, request, grants, status and answer', calls.slice(0, 2));
  r = await ctl('room_calls', undefined, 'DELETE');
  ok(r.status === 200 && (await ctl('room_calls')).json.room_calls.length === 0, 'DELETE /_standin/room_calls clears them');

  // Leave, a duplicate identity, a connection that never became active.
  r = await leave('meet1', { identity: 'bob' });
  ok(r.status === 200 && r.json.state === 'DISCONNECTED' && r.json.disconnectReason === 'CLIENT_INITIATED', 'leave: DISCONNECTED, CLIENT_INITIATED', r.json);
  r = await leave('meet1', { identity: 'bob' });
  ok(r.status === 404, 'leave: someone not in the room: 404', r.json);
  await join('meet1', { identity: 'alice', name: 'Alice again' });
  await join('meet1', { identity: 'erin', connect: false });
  await leave('meet1', { identity: 'erin' });
  await waitIdle();
  ok(roomEvents('meet1').slice(5).join(',') === 'participant_left:bob,participant_left:alice,participant_joined:alice,participant_connection_aborted:erin',
    'leave; the same identity again (DUPLICATE_IDENTITY); a connection that never got ACTIVE', roomEvents('meet1'));
  const dup = received.find((h) => h.event === 'participant_left' && h.identity === 'alice')?.ev?.participant;
  ok(dup?.disconnectReason === DisconnectReason.DUPLICATE_IDENTITY && dup.sid === aliceSid, 'the replaced participant left with DUPLICATE_IDENTITY', dup?.toJson());

  // finish: everyone still there leaves (ROOM_CLOSED), then room_finished; the egress ends.
  r = await finish('meet1');
  ok(r.status === 200 && r.json.left.map((p) => p.identity).join(',') === `carol,${egMeet},alice` && r.json.ended_egresses[0] === egMeet &&
     r.json.left.every((p) => p.disconnectReason === 'ROOM_CLOSED') && r.json.room.finished === true, 'finish: who left, and the egress ended', r.json);
  await waitIdle();
  ok(roomEvents('meet1').slice(9).join(',') === `participant_left:carol,participant_left:${egMeet},participant_left:alice,room_finished`,
    'finish: participant_left for each (ROOM_CLOSED), then room_finished', roomEvents('meet1'));
  const fin = received.find((h) => h.event === 'room_finished' && h.roomName === 'meet1')?.ev;
  ok(fin?.room?.sid === joinedEv?.room?.sid && fin.room.numParticipants === 0 && fin.room.metadata === 'v2', 'room_finished: the room, emptied', fin?.toJson());
  const egEnd = receivedFor(egMeet).find((h) => h.event === 'egress_ended')?.ev?.egressInfo;
  ok(egEnd?.status === EgressStatus.EGRESS_COMPLETE && egEnd.details === 'End reason: Source closed', 'the egress ended: Source closed', egEnd?.toJson());
  r = await finish('meet1');
  ok(r.status === 404, 'finish: a room that is not open: 404', r.json);
  r = await roomCall('SendData', { room: 'meet1', data: 'aGk=' });
  ok(r.status === 503, 'SendData after the room finished: 503', r);

  // A room made by an egress Start stays silent until someone joins; then room_started
  // (a new sid), the egress, then the participant.
  r = await twirp('StartRoomCompositeEgress', startBody('meet2', path.join(TMP, 'meet2.mp4')));
  const egMeet2 = r.json?.egress_id;
  await waitIdle();
  ok(roomEvents('meet2').length === 0, 'egress Start in a room nobody opened: no room webhooks');
  await join('meet2', { identity: 'frank' });
  await waitIdle();
  ok(roomEvents('meet2').join(',') === `room_started,participant_joined:${egMeet2},participant_joined:frank`,
    'the first join: room_started, the egress, the participant', roomEvents('meet2'));
  await twirp('StopEgress', { egressId: egMeet2 });
  await waitIdle();
  ok(roomEvents('meet2').slice(3).join(',') === `participant_left:${egMeet2}`, 'StopEgress: the egress leaves the room', roomEvents('meet2'));

  // departure_timeout_ms: the room finishes by itself after the last one left.
  await ctl('mode', { departure_timeout_ms: 50 });
  await leave('meet2', { identity: 'frank' });
  await sleep(300);
  await waitIdle();
  ok(roomEvents('meet2').slice(4).join(',') === 'participant_left:frank,room_finished', 'departure_timeout_ms: room_finished by itself', roomEvents('meet2'));
  r = await ctl('mode', { egress_participant: 'yes' });
  ok(r.status === 400, 'egress_participant must be a boolean', r.json);
  await ctl('mode', { strict_rooms: true });
  r = await twirp('StartRoomCompositeEgress', startBody('meet3', path.join(TMP, 'meet3.mp4')));
  ok(r.status === 404 && r.json?.code === 'not_found', 'strict_rooms: Start in a room nobody opened: 404', r);
  await ctl('reset', {});
  const rooms = (await ctl('rooms')).json.rooms;
  ok(rooms.filter((x) => x.name === 'meet1').length === 1 && rooms.find((x) => x.name === 'meet2')?.finished === true,
    '/_standin/rooms lists every room, finished ones too', rooms.map((x) => [x.name, x.finished]));

  // Logs of requests and webhooks.
  const reqs = (await ctl('requests')).json.requests;
  const startReq = reqs.find((q) => q.method === 'StartRoomCompositeEgress' && q.status === 200);
  ok(startReq?.auth_ok === true && startReq.claims?.video?.roomRecord === true && startReq.parsed?.roomName === 'room1' &&
     typeof startReq.body === 'string', '/_standin/requests records method, claims, raw body, parsed message, status', startReq);
  const egs = (await ctl('egresses')).json.egresses;
  ok(egs.length >= 9 && egs.every((e) => /^EG_/.test(e.egressId)), '/_standin/egresses lists camelCase EgressInfo', egs.length);
  ok(received.length > 0 && received.every((h) => h.ok || h.error === 'told to fail'), 'every webhook verified in the SDK WebhookReceiver',
    received.filter((h) => !h.ok).map((h) => h.error));

  // Clean exit on SIGTERM.
  const code = await new Promise((resolve) => {
    child.once('exit', (c, sig) => resolve(c ?? sig));
    child.kill('SIGTERM');
  });
  child = null;
  ok(code === 0, 'SIGTERM: exits 0', code);
}

try {
  await main();
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e}`);
} finally {
  if (child) child.kill('SIGTERM');
  hookServer.close();
  hookServer.closeAllConnections();
}
console.log(`1..${n}`);
if (failed) console.log(`# ${failed} of ${n} failed; stand-in log: ${path.join(TMP, 'standin.log')}`);
else fs.rmSync(TMP, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
