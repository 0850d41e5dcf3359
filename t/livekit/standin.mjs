#!/usr/bin/env node
// LiveKit stand-in for meetrec's tests and local run.
//
// It speaks the part of LiveKit that meetrec uses:
//   * the Egress Twirp API (StartRoomCompositeEgress, StopEgress, ListEgress) over
//     HTTP/JSON, with request bodies parsed STRICTLY by LiveKit's own message classes
//     from @livekit/protocol (an unknown key is a `malformed` error here, where the real
//     server would silently drop it), and replies written as open-source LiveKit writes
//     them (snake_case, every field present);
//   * egress webhooks, built with @livekit/protocol's WebhookEvent and signed exactly as
//     the LiveKit server signs them (AccessToken with a `sha256` claim, no "Bearer"),
//     delivered through one FIFO queue per egress with LiveKit's retry policy;
//   * the output file: a small structurally valid MP4 (ftyp/moov/mvhd/mdat) or Ogg Opus
//     stream whose encoded duration equals the egress's recorded length, written to the
//     file path, or, for an output with an `s3` target, uploaded once at the end with the
//     AWS SDK (one PutObject up to 5 MiB, a multipart upload above), reported as egress
//     reports it.
//   * rooms played by the tests (/_standin/rooms/<room>/join, /leave, /finish): room_started,
//     participant_joined, participant_left (participant_connection_aborted), room_finished,
//     on one queue per room, signed like the egress webhooks; the recorder of a room
//     composite egress joins a played room as a hidden participant of kind EGRESS;
//   * the RoomService Twirp methods meetrec uses (UpdateRoomMetadata, SendData,
//     ListParticipants, ListRooms), parsed as strictly, checked for roomAdmin on the
//     request's room (roomList for ListRooms) where LiveKit checks it, and answered as
//     open-source LiveKit answers.
// Plus a control API under /_standin/ so tests can inject failures and inspect traffic.
//
// Facts it follows are in shared/protocols/livekit.md (§1 API, §2 errors, §4 webhooks,
// §5 SDK, §6 files, §6a S3 upload) and doc/livekit-rooms.md (rooms, participants,
// RoomService). See README.md next to this file for the CLI and the control API.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomInt, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import {
  Codec,
  DataPacket_Kind,
  DisconnectReason,
  EgressInfo,
  EgressStatus,
  EgressSourceType,
  EncodedFileType,
  FileInfo,
  ListEgressRequest,
  ListEgressResponse,
  ListParticipantsRequest,
  ListParticipantsResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  ParticipantInfo,
  ParticipantInfo_Kind,
  ParticipantInfo_State,
  ParticipantPermission,
  Room,
  RoomCompositeEgressRequest,
  SendDataRequest,
  SendDataResponse,
  StopEgressRequest,
  UpdateRoomMetadataRequest,
  WebhookEvent, // the protocol class: the SDK's subclass loses `event` (livekit.md §5a)
} from '@livekit/protocol';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  S3Client,
  PutObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

// shortuuid's base-57 alphabet, as LiveKit's guid package uses (livekit.md §1.7).
const BASE57 = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export function newId(prefix) {
  let s = prefix;
  for (let i = 0; i < 12; i++) s += BASE57[randomInt(BASE57.length)];
  return s;
}

// Unix time in nanoseconds as a BigInt, strictly increasing within this process.
let lastNs = 0n;
function nowNs() {
  let t = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (t <= lastNs) t = lastNs + 1n;
  lastNs = t;
  return t;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const statusName = (s) => EgressStatus[s] ?? String(s);

// Twirp error code -> HTTP status (twitchtv/twirp v8.1.3, livekit.md §2).
const TWIRP_HTTP = {
  canceled: 408, unknown: 500, invalid_argument: 400, malformed: 400,
  deadline_exceeded: 408, not_found: 404, bad_route: 404, already_exists: 409,
  permission_denied: 403, unauthenticated: 401, resource_exhausted: 429,
  failed_precondition: 412, aborted: 409, out_of_range: 400, unimplemented: 501,
  internal: 500, data_loss: 500, unavailable: 503,
};

class TwirpError extends Error {
  constructor(code, msg, meta) {
    super(msg);
    this.code = code;
    this.meta = meta;
  }
}

// ---------------------------------------------------------------------------
// Output files
// ---------------------------------------------------------------------------

// ISO-BMFF box: 32-bit size, 4-char type, payload.
function box(type, ...payloads) {
  const body = Buffer.concat(payloads);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

// ftyp: major brand isom, like GStreamer's mp4mux writes.
function ftypBox() {
  const b = Buffer.alloc(8 + 16);
  b.write('isom', 0, 'latin1');
  b.writeUInt32BE(0x200, 4);
  ['isom', 'iso2', 'avc1', 'mp41'].forEach((brand, i) => b.write(brand, 8 + 4 * i, 'latin1'));
  return box('ftyp', b.subarray(0, 24));
}

// mvhd (version 0, or 1 if the duration does not fit 32 bits), timescale 1000.
function mvhdBox(durationMs) {
  const macTime = Math.floor(Date.now() / 1000) + 2082844800; // seconds since 1904
  const v1 = durationMs > 0xffffffff;
  const b = Buffer.alloc(v1 ? 112 : 100);
  let o = 0;
  b.writeUInt32BE(v1 ? 0x01000000 : 0, o); o += 4; // version + flags
  if (v1) {
    b.writeBigUInt64BE(BigInt(macTime), o); o += 8;
    b.writeBigUInt64BE(BigInt(macTime), o); o += 8;
    b.writeUInt32BE(1000, o); o += 4;
    b.writeBigUInt64BE(BigInt(durationMs), o); o += 8;
  } else {
    b.writeUInt32BE(macTime, o); o += 4;
    b.writeUInt32BE(macTime, o); o += 4;
    b.writeUInt32BE(1000, o); o += 4; // timescale
    b.writeUInt32BE(durationMs, o); o += 4; // duration in timescale units (ms)
  }
  b.writeUInt32BE(0x00010000, o); o += 4; // rate 1.0
  b.writeUInt16BE(0x0100, o); o += 2; // volume 1.0
  o += 10; // reserved
  for (const m of [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000]) { b.writeUInt32BE(m, o); o += 4; }
  o += 24; // pre_defined
  b.writeUInt32BE(1, o); // next_track_ID
  return box('mvhd', b);
}

// Writes the first `len` bytes of `buf` (all of it by default) whole. write(2) may
// write less than asked on a filling disk without an error (the error comes with
// the next write): go on until all is written, so a full disk fails the egress,
// as it fails a real one, instead of leaving a short file reported complete.
async function writeAll(fh, buf, len = buf.length) {
  for (let off = 0; off < len;) {
    const { bytesWritten } = await fh.write(buf, off, len - off);
    if (bytesWritten <= 0) throw new Error(`wrote nothing of ${len - off} bytes`);
    off += bytesWritten;
  }
}

// Writes `n` filler bytes to an open file handle in 1 MiB chunks (never all in memory).
async function writeFiller(fh, n) {
  const chunk = randomBytes(Math.min(n, 1 << 20));
  while (n > 0) {
    const len = Math.min(n, chunk.length);
    await writeAll(fh, chunk, len);
    n -= len;
  }
}

// MP4: ftyp + moov{mvhd} + mdat (or mdat before moov with layout "moov_last").
// `partial` leaves out the moov, which is what an interrupted muxer leaves behind.
async function writeMp4(file, durationMs, { mdatBytes, layout, partial }) {
  const fh = await fsp.open(file, 'w');
  try {
    const moov = box('moov', mvhdBox(durationMs));
    const mdatHead = Buffer.alloc(8);
    mdatHead.writeUInt32BE(8 + mdatBytes, 0);
    mdatHead.write('mdat', 4, 'latin1');
    await writeAll(fh, ftypBox());
    if (!partial && layout === 'moov_first') await writeAll(fh, moov);
    await writeAll(fh, mdatHead);
    await writeFiller(fh, mdatBytes);
    if (!partial && layout === 'moov_last') await writeAll(fh, moov);
  } finally {
    await fh.close();
  }
}

// Ogg CRC32: polynomial 0x04c11db7, initial value 0, no reflection, no final xor.
const OGG_CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();
export function oggCrc(buf) {
  let crc = 0;
  for (let i = 0; i < buf.length; i++) crc = ((crc << 8) ^ OGG_CRC_TABLE[((crc >>> 24) ^ buf[i]) & 0xff]) >>> 0;
  return crc;
}

// One Ogg page holding whole packets (each packet gets its lacing values).
function oggPage({ headerType, granule, serial, seq, packets }) {
  const lacing = [];
  for (const p of packets) {
    let n = p.length;
    while (n >= 255) { lacing.push(255); n -= 255; }
    lacing.push(n);
  }
  if (lacing.length > 255) throw new Error('too many segments for one Ogg page');
  const head = Buffer.alloc(27);
  head.write('OggS', 0, 'latin1');
  head[4] = 0; // stream structure version
  head[5] = headerType; // 0x02 BOS, 0x04 EOS
  head.writeBigInt64LE(BigInt(granule), 6);
  head.writeUInt32LE(serial, 14);
  head.writeUInt32LE(seq, 18);
  head.writeUInt32LE(0, 22); // CRC, filled below
  head[26] = lacing.length;
  const page = Buffer.concat([head, Buffer.from(lacing), ...packets]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

const OPUS_PRE_SKIP = 312;
// An Opus packet: TOC 0xF8 (CELT fullband, 20 ms, mono, one frame) + a silent frame.
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const OPUS_SAMPLES_PER_PACKET = 960; // 20 ms at 48 kHz

// Ogg Opus: OpusHead page (BOS), OpusTags page, then audio pages of one second each.
// The last page has EOS and granule = 48000 * seconds + pre-skip.
// `partial` leaves out the EOS flag (a stream cut off mid-way).
async function writeOgg(file, durationMs, { partial }) {
  const serial = randomInt(0x7fffffff);
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 2; // channels
  head.writeUInt16LE(OPUS_PRE_SKIP, 10);
  head.writeUInt32LE(48000, 12); // input sample rate
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // channel mapping family
  const vendor = Buffer.from('meetrec livekit stand-in');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length); // no user comments

  // Granule positions count decoded samples, pre-skip included (RFC 7845 §4): the
  // stream decodes pre-skip + 48 * ms samples, the first 312 of which a player drops.
  const finalGranule = OPUS_PRE_SKIP + Math.round(durationMs * 48);
  const nPackets = Math.ceil(finalGranule / OPUS_SAMPLES_PER_PACKET);
  const perPage = 50; // one second of 20 ms packets per page
  const fh = await fsp.open(file, 'w');
  try {
    let seq = 0;
    await writeAll(fh, oggPage({ headerType: 0x02, granule: 0, serial, seq: seq++, packets: [head] }));
    await writeAll(fh, oggPage({ headerType: 0x00, granule: 0, serial, seq: seq++, packets: [tags] }));
    for (let done = 0; done < nPackets;) {
      const n = Math.min(perPage, nPackets - done);
      done += n;
      const last = done === nPackets;
      // the last page's granule trims the final packet's surplus samples (end trimming)
      const granule = last ? finalGranule : done * OPUS_SAMPLES_PER_PACKET;
      const packets = new Array(n).fill(OPUS_SILENCE);
      await writeAll(fh, oggPage({ headerType: last && !partial ? 0x04 : 0x00, granule, serial, seq: seq++, packets }));
    }
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// S3 upload, as egress's uploader does it (livekit.md §6a)
// ---------------------------------------------------------------------------

// The AWS SDK for Go's upload manager, which livekit/storage uses: a file of up to one
// part goes up in one PutObject, a larger one in 5 MiB parts, five at a time, and a
// failed multipart upload is aborted. Egress allows each request 5 attempts.
const S3_PART_SIZE = 5 * 1024 * 1024;
const S3_CONCURRENCY = 5;
const S3_MAX_ATTEMPTS = 5;

// The Content-Type egress uploads with: the output type's MIME type.
const S3_CONTENT_TYPE = { [EncodedFileType.MP4]: 'video/mp4', [EncodedFileType.OGG]: 'audio/ogg' };

// The SDK warns once per process, on stderr, that later releases will need a newer Node;
// the pinned release works, and the notice would only clutter every test's log.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Go's url.URL path escaping: letters, digits, "-_.~" and "$&+,/:;=@" stay as they
// are, every other byte of the UTF-8 text becomes %XX.
function goEscapePath(p) {
  let out = '';
  for (const b of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// The `location` egress reports for an object uploaded to bucket/key (livekit/storage
// s3.go). "https" (egress 1.14 on): always https, the endpoint's scheme dropped, path
// style https://<endpoint>/<bucket>/<key> or virtual host https://<bucket>.<endpoint>/<key>,
// the path cleaned and escaped. "as_endpoint" (egress 1.12 and before): path style is
// <endpoint as given>/<bucket>/<key> (https:// added only when it has no scheme),
// virtual host https://<bucket>.<endpoint as given>/<key>, nothing escaped.
export function s3Location({ endpoint, bucket, forcePathStyle }, key, style = 'https') {
  let ep = endpoint || 's3.amazonaws.com';
  if (style === 'as_endpoint') {
    if (!forcePathStyle) return `https://${bucket}.${ep}/${key}`;
    if (!ep.startsWith('http')) ep = `https://${ep}`;
    return `${ep}/${bucket}/${key}`;
  }
  if (ep.startsWith('https://')) ep = ep.slice('https://'.length);
  if (ep.startsWith('http://')) ep = ep.slice('http://'.length);
  let host = `${bucket}.${ep}`;
  let p = key;
  if (forcePathStyle) {
    host = ep;
    p = path.posix.join(bucket, key).replace(/(.)\/+$/, '$1');
  }
  p = goEscapePath(p);
  if (p !== '' && !p.startsWith('/')) p = `/${p}`;
  return `https://${host}${p}`;
}

// A failed upload: `message` is what the Go SDK's error would say, `status` the HTTP
// status S3 answered (0: none, e.g. the connection failed).
class S3UploadError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// The Go SDK's text for operation `op` failing with the JS SDK's error `e`: the
// operation, the attempts when retries ran out, the HTTP status, S3's error code and
// message, or the connection error when nothing answered.
function s3OpError(op, e) {
  const md = e?.$metadata;
  if (!md) return new S3UploadError(String(e?.message ?? e), 0);
  const status = md.httpStatusCode ?? 0;
  const tries = md.attempts > 1 ? `exceeded maximum number of attempts, ${md.attempts}, ` : '';
  const head = `operation error S3: ${op}, ${tries}https response error StatusCode: ${status}, ` +
    `RequestID: ${status ? md.requestId ?? '' : ''}, HostID: ${status ? md.extendedRequestId ?? '' : ''}, `;
  if (status) return new S3UploadError(`${head}api error ${e.name}: ${e.message}`, status);
  return new S3UploadError(`${head}request send failed, ${e.message}`, 0);
}

// A client for the request's target, configured as livekit/storage configures the Go
// SDK: the request's region (us-east-1 when empty), endpoint and path style, its static
// keys, 5 attempts, checksums only where S3 requires them (for S3-compatible servers).
// The default credential chain is never used: a request without keys fails to upload.
function s3Client(conf, { endpoint = conf.endpoint, secret = conf.secret } = {}) {
  return new S3Client({
    region: conf.region || 'us-east-1',
    endpoint,
    forcePathStyle: conf.forcePathStyle,
    credentials: async () => {
      if (!conf.accessKey || !secret) throw new Error('no access key and secret in the request (this stand-in never looks for others)');
      return { accessKeyId: conf.accessKey, secretAccessKey: secret, sessionToken: conf.sessionToken || undefined };
    },
    maxAttempts: S3_MAX_ATTEMPTS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

// Reads `len` bytes at `off` from an open file.
async function readAt(fh, off, len) {
  const b = Buffer.alloc(len);
  for (let got = 0; got < len;) {
    const { bytesRead } = await fh.read(b, got, len - got, off + got);
    if (bytesRead <= 0) throw new Error(`unexpected end of file at byte ${off + got}`);
    got += bytesRead;
  }
  return b;
}

// Uploads the first `bytes` bytes of `file` as the Go upload manager does, with the
// PutObject fields in `input` (Bucket, Key, ContentType, ...). Notes what happened in
// `rec` (multipart, upload_id, parts, sent_bytes, aborted). Throws S3UploadError.
async function s3UploadFile(client, input, file, bytes, rec) {
  const fh = await fsp.open(file, 'r');
  try {
    if (bytes <= S3_PART_SIZE) {
      const body = await readAt(fh, 0, bytes);
      try {
        await client.send(new PutObjectCommand({ ...input, Body: body }));
      } catch (e) {
        throw s3OpError('PutObject', e);
      }
      rec.parts = 1;
      rec.sent_bytes = bytes;
      return;
    }
    rec.multipart = true;
    let created;
    try {
      created = await client.send(new CreateMultipartUploadCommand(input));
    } catch (e) {
      throw s3OpError('CreateMultipartUpload', e);
    }
    const { Bucket, Key } = input;
    const UploadId = created.UploadId;
    rec.upload_id = UploadId;
    const nParts = Math.ceil(bytes / S3_PART_SIZE);
    const done = [];
    let failure = null;
    let next = 1;
    const worker = async () => {
      while (!failure && next <= nParts) {
        const PartNumber = next++;
        const off = (PartNumber - 1) * S3_PART_SIZE;
        const len = Math.min(S3_PART_SIZE, bytes - off);
        try {
          const Body = await readAt(fh, off, len);
          const r = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body }));
          done.push({ ETag: r.ETag, PartNumber });
          rec.sent_bytes += len;
        } catch (e) {
          failure ??= s3OpError('UploadPart', e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(S3_CONCURRENCY, nParts) }, worker));
    if (!failure) {
      done.sort((a, b) => a.PartNumber - b.PartNumber);
      try {
        await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
      } catch (e) {
        failure = s3OpError('CompleteMultipartUpload', e);
      }
    }
    rec.parts = done.length;
    if (failure) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
        rec.aborted = true;
      } catch {
        // the manager ignores a failed abort too
      }
      throw new S3UploadError(`upload multipart failed, upload id: ${UploadId}, cause: ${failure.message}`, failure.status);
    }
  } finally {
    await fh.close();
  }
}

// A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago).
async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function sha256File(file) {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

// ---------------------------------------------------------------------------
// Settings ("mode") that tests change through /_standin/mode
// ---------------------------------------------------------------------------

const FINAL_STATUSES = ['EGRESS_COMPLETE', 'EGRESS_FAILED', 'EGRESS_LIMIT_REACHED', 'EGRESS_ABORTED'];

function defaultMode() {
  return {
    start: 'ok', // ok | refuse | slow | reset | proxy_error
    stop: 'ok', // ok | refuse | slow
    webhooks: 'normal', // normal | duplicate | reverse | drop
    end_status: 'EGRESS_COMPLETE',
    auto_active_ms: 100, // STARTING -> ACTIVE after this long (null: never by itself)
    missing_rooms: [],
    refuse_code: 'unavailable',
    refuse_msg: 'no response from servers',
    refuse_delay_ms: 0, // how long a refused Start takes before it answers
    stop_refuse_code: null, // null: same as refuse_code
    stop_refuse_msg: null, // null: same as refuse_msg
    start_delay_ms: 5000, // start: "slow"
    proxy_status: 502, // start: "proxy_error": 502, 503 or 504 from a proxy in front
    stop_delay_ms: 5000, // stop: "slow"
    end_delay_ms: 50, // time between ENDING and the final status
    retry_delays_ms: [1000, 2000, 4000, 8000], // LiveKit: 4 retries, 1 2 4 8 s
    queue_max_age_ms: 30000, // LiveKit drops an event that waited longer in its queue
    webhook_before_reply: false, // deliver egress_started before answering Start
    webhook_url: null, // null: the --webhook-url given on the command line
    mp4_layout: 'moov_first', // moov_first | moov_last
    mdat_bytes: 4096, // size of the generated MP4's mdat payload
    s3_location: 'https', // https | as_endpoint: how an S3 upload's location is written (s3Location)
    // Rooms (livekit-rooms.md):
    egress_participant: true, // an egress in a played room joins it as a participant of kind EGRESS
    strict_rooms: false, // true: Start in a room nobody opened is 404, as LiveKit; false: the room is made silently
    max_metadata_size: 512 * 1024, // LiveKit's limit.max_metadata_size (0: no limit)
    room_rpc_missing_delay_ms: 0, // SendData to a room no node hosts: LiveKit answers 503 after ~15 s
    departure_timeout_ms: null, // after the last participant left, the room finishes by itself (null: never)
    rooms_unknown: false, // RoomService answers as for rooms it does not have (their node gone, or closed meanwhile)
  };
}

// Type checks for each settable key; returns an error string or null.
function checkModeValue(key, v) {
  const isInt = (x) => Number.isInteger(x) && x >= 0;
  const oneOf = (...xs) => (xs.includes(v) ? null : `${key} must be one of ${xs.join(', ')}`);
  switch (key) {
    case 'start': return oneOf('ok', 'refuse', 'slow', 'reset', 'proxy_error');
    case 'proxy_status': return [502, 503, 504].includes(v) ? null : `${key} must be 502, 503 or 504`;
    case 'stop': return oneOf('ok', 'refuse', 'slow');
    case 'webhooks': return oneOf('normal', 'duplicate', 'reverse', 'drop');
    case 'end_status': return oneOf(...FINAL_STATUSES);
    case 'mp4_layout': return oneOf('moov_first', 'moov_last');
    case 's3_location': return oneOf('https', 'as_endpoint');
    case 'refuse_code': return Object.hasOwn(TWIRP_HTTP, v) ? null : `${key} must be a Twirp error code`;
    case 'stop_refuse_code': return v === null || Object.hasOwn(TWIRP_HTTP, v) ? null : `${key} must be a Twirp error code or null`;
    case 'refuse_msg': return typeof v === 'string' ? null : `${key} must be a string`;
    case 'stop_refuse_msg': return v === null || typeof v === 'string' ? null : `${key} must be a string or null`;
    case 'webhook_url': return v === null || typeof v === 'string' ? null : `${key} must be a string or null`;
    case 'auto_active_ms': return v === null || isInt(v) ? null : `${key} must be a non-negative integer or null`;
    case 'refuse_delay_ms': case 'start_delay_ms': case 'stop_delay_ms': case 'end_delay_ms': case 'queue_max_age_ms':
      return isInt(v) ? null : `${key} must be a non-negative integer`;
    case 'mdat_bytes': return isInt(v) && v <= 0xffffffff - 8 ? null : `${key} must be an integer in 0..2^32-9`;
    case 'retry_delays_ms': return Array.isArray(v) && v.every(isInt) ? null : `${key} must be an array of non-negative integers`;
    case 'missing_rooms': return Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : `${key} must be an array of strings`;
    case 'webhook_before_reply': case 'egress_participant': case 'strict_rooms': case 'rooms_unknown':
      return typeof v === 'boolean' ? null : `${key} must be a boolean`;
    case 'max_metadata_size': case 'room_rpc_missing_delay_ms':
      return isInt(v) ? null : `${key} must be a non-negative integer`;
    case 'departure_timeout_ms': return v === null || isInt(v) ? null : `${key} must be a non-negative integer or null`;
    default: return `unknown setting "${key}"`;
  }
}

// ---------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------

export class StandIn {
  constructor({ apiKey, apiSecret, webhookUrl, fixtureMp4, log }) {
    this.apiKey = apiKey;
    this.apiSecret = apiSecret;
    this.webhookUrl = webhookUrl || null;
    this.fixtureMp4 = fixtureMp4 || null;
    this.log = log;
    this.verifier = new TokenVerifier(apiKey, apiSecret);
    this.mode = defaultMode();
    this.egresses = new Map(); // egressId -> record (see createEgress)
    // What each egress wrote: egressId -> { egress_id, path, size, sha256, status, partial },
    // kept when the egress is forgotten, so a test can check stored bytes against it.
    this.files = new Map();
    this.uploads = []; // every S3 upload (see uploadOutput)
    this.s3Next = null; // a fault armed for the next S3 upload: {fail} or {truncate}
    this.outputFile = null; // a file every egress writes as its output, until cleared
    this.rooms = new Map(); // room name -> the open room (see openRoom)
    this.roomHistory = []; // every room ever opened, finished ones too, in order
    this.roomCalls = []; // every RoomService call (GET /_standin/room_calls)
    this.requests = []; // every Twirp request
    this.webhooks = []; // every webhook send (one entry per delivery, retries inside)
    this.queues = new Map(); // egress id, or room:<name> -> { jobs: [], running: bool }
    this.held = new Map(); // egressId -> held egress_updated jobs ("reverse" mode)
    this.timers = new Set(); // pending internal timers (count as "busy" for /wait)
    this.roomTimers = new Set(); // rooms waiting out departure_timeout_ms (not "busy" for /wait)
    this.busy = 0; // in-progress background tasks (ending an egress, ...)
  }

  // ---- timers and idleness -------------------------------------------------

  // setTimeout that /_standin/wait knows about and shutdown can cancel.
  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }
  cancel(t) {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
  }
  // Runs an async background task, counted as busy until it settles.
  background(fn) {
    this.busy++;
    return Promise.resolve()
      .then(fn)
      .catch((e) => this.log(`error background task: ${e.stack || e}`))
      .finally(() => { this.busy--; });
  }
  // A deliberate delay inside a request (a slow Start or Stop): /wait
  // counts it as busy, so a test waiting for idleness sees its outcome.
  async busySleep(ms) {
    this.busy++;
    try {
      await sleep(ms);
    } finally {
      this.busy--;
    }
  }
  pendingCount() {
    let n = this.timers.size + this.busy;
    for (const q of this.queues.values()) n += q.jobs.length + (q.running ? 1 : 0);
    return n;
  }
  shutdown() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const room of [...this.roomTimers]) this.cancelDeparture(room);
  }

  // ---- Twirp ---------------------------------------------------------------

  // Handles POST /twirp/...; returns {status, headers, body}. `rec` is the request-log entry;
  // a handler may register callbacks with after(fn), run right after the reply is sent.
  async twirp(req, bodyText, rec, after) {
    // 1. LiveKit's API-key middleware runs first (livekit.md §1.1, §2): a header that is not
    //    "Bearer ..." or a token that fails to verify is a plain-text 401, not Twirp JSON.
    const authz = req.headers.authorization;
    let claims = null;
    if (authz !== undefined) {
      if (!authz.startsWith('Bearer ')) {
        return textReply(401, 'invalid authorization header. Must start with Bearer ');
      }
      const token = authz.slice('Bearer '.length);
      try {
        const hdr = decodeProtectedHeader(token);
        if (hdr.alg !== 'HS256') throw new Error(`unexpected signing method: ${hdr.alg}`);
        const unverified = decodeJwt(token);
        if (unverified.iss !== this.apiKey) return textReply(401, `invalid API key: ${unverified.iss ?? ''}`);
        claims = await this.verifier.verify(token, 60); // the server's 60 s leeway
      } catch (e) {
        return textReply(401, `invalid authorization token: ${e.message}`);
      }
    }
    rec.claims = claims;

    // 2. Twirp routing: POST only, /twirp/livekit.<Service>/<Method>, JSON content type.
    const url = new URL(req.url, 'http://x');
    const route = `${req.method} ${url.pathname}`;
    if (req.method !== 'POST') {
      throw new TwirpError('bad_route', `unsupported method "${req.method}" (only POST is allowed)`, { twirp_invalid_route: route });
    }
    const m = /^\/twirp\/livekit\.(Egress|RoomService)\/([A-Za-z]+)$/.exec(url.pathname);
    const services = {
      Egress: {
        StartRoomCompositeEgress: [RoomCompositeEgressRequest, (msg, after) => this.startRoomComposite(msg, after)],
        StopEgress: [StopEgressRequest, (msg, after) => this.stopEgress(msg, after)],
        ListEgress: [ListEgressRequest, (msg) => this.listEgress(msg)],
      },
      RoomService: {
        UpdateRoomMetadata: [UpdateRoomMetadataRequest, (msg) => this.updateRoomMetadata(msg, claims)],
        SendData: [SendDataRequest, (msg) => this.sendData(msg, claims)],
        ListParticipants: [ListParticipantsRequest, (msg) => this.listParticipants(msg, claims)],
        ListRooms: [ListRoomsRequest, (msg) => this.listRooms(msg, claims)],
      },
    };
    const handlers = m ? services[m[1]] : null;
    if (!m || !Object.hasOwn(handlers, m[2])) {
      throw new TwirpError('bad_route', `no handler for path "${url.pathname}"`, { twirp_invalid_route: route });
    }
    const ctype = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (ctype !== 'application/json') {
      throw new TwirpError('bad_route', `unexpected Content-Type: "${req.headers['content-type'] || ''}"`, { twirp_invalid_route: route });
    }

    // 3. Strict decoding with LiveKit's own message class.
    const [Msg, handle] = handlers[m[2]];
    let msg;
    try {
      msg = Msg.fromJsonString(bodyText);
    } catch (e) {
      throw new TwirpError('malformed', `the json request could not be decoded: ${e.message}`);
    }
    rec.parsed = msg.toJson();

    if (m[1] === 'Egress') {
      // 4. Every Egress method needs the roomRecord grant (EnsureRecordPermission).
      rec.auth_ok = claims?.video?.roomRecord === true;
      if (!rec.auth_ok) throw new TwirpError('unauthenticated', 'permissions denied');
    } else {
      // 4. RoomService methods check roomAdmin for the request's room themselves
      //    (EnsureAdminPermission), each at its own point (livekit-rooms.md §3);
      //    ListRooms checks roomList (EnsureListPermission).
      rec.auth_ok = m[2] === 'ListRooms' ? claims?.video?.roomList === true : hasRoomAdmin(claims, msg.room);
    }

    const reply = await handle(msg, after);
    if (reply.lost === 'reset') return { reset: true };
    if (reply.lost === 'proxy') return proxyReply(reply.status);
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: reply };
  }

  // ---- StartRoomCompositeEgress ------------------------------------------------

  async startRoomComposite(req, after) {
    const mode = this.mode;
    // The server loads the room before anything else.
    if (!req.roomName || mode.missing_rooms.includes(req.roomName) || (mode.strict_rooms && !this.rooms.has(req.roomName))) {
      throw new TwirpError('not_found', 'requested room does not exist');
    }
    if (mode.start === 'refuse') {
      if (mode.refuse_delay_ms) await sleep(mode.refuse_delay_ms);
      throw new TwirpError(mode.refuse_code, mode.refuse_msg);
    }

    // Validation, as the egress worker does it (livekit.md §1.3).
    if (req.audioOnly && req.videoOnly) throw new TwirpError('invalid_argument', 'request has missing or invalid field: audio_only and video_only');
    if (req.streamOutputs.length || req.segmentOutputs.length || req.imageOutputs.length ||
        req.output.case === 'stream' || req.output.case === 'segments') {
      throw new TwirpError('invalid_argument', 'request has missing or invalid field: output (this stand-in supports exactly one file output)');
    }
    if (req.fileOutputs.length > 1) throw new TwirpError('invalid_argument', 'multiple file outputs');
    // fileOutputs wins; the legacy `file` is used only when fileOutputs is empty.
    const out = req.fileOutputs[0] ?? (req.output.case === 'file' ? req.output.value : null);
    if (!out) throw new TwirpError('invalid_argument', 'request has missing or invalid field: output');
    if (!out.filepath) throw new TwirpError('invalid_argument', 'request has missing or invalid field: filepath');
    // An upload target: s3 only. Egress checks nothing about it at Start (no request to
    // the bucket while an endpoint or region is given): a wrong key, secret or bucket
    // shows only when the file is uploaded at the end (livekit.md §6a).
    if (out.output.case && out.output.case !== 's3') {
      throw new TwirpError('invalid_argument', `request has missing or invalid field: ${out.output.case} (this stand-in uploads to s3 only)`);
    }
    if (out.output.case === 's3') {
      const s3 = out.output.value;
      if (!s3.endpoint) {
        throw new TwirpError('invalid_argument', 'request has missing or invalid field: s3.endpoint (this stand-in never uploads to AWS itself)');
      }
      if (s3.assumeRoleArn || s3.proxy) {
        throw new TwirpError('invalid_argument', `request has missing or invalid field: s3.${s3.assumeRoleArn ? 'assume_role_arn' : 'proxy'} (not supported by this stand-in)`);
      }
    }
    let fileType = out.fileType;
    if (fileType === EncodedFileType.DEFAULT_FILETYPE) fileType = req.audioOnly ? EncodedFileType.OGG : EncodedFileType.MP4;
    if (fileType === EncodedFileType.MP3) {
      throw new TwirpError('invalid_argument', 'request has missing or invalid field: file_type (this stand-in writes MP4 and OGG only)');
    }
    if (req.audioOnly && fileType === EncodedFileType.MP4) {
      throw new TwirpError('invalid_argument', 'request has missing or invalid field: file_type (MP4 with audio_only; use OGG)');
    }
    if (!req.audioOnly && fileType === EncodedFileType.OGG) {
      throw new TwirpError('invalid_argument', 'format ogg incompatible with codec h264');
    }

    // A slow Start: LiveKit can take tens of seconds, then it does create the egress.
    if (mode.start === 'slow') await this.busySleep(mode.start_delay_ms);

    const eg = this.createEgress(req, out, fileType);
    this.log(`egress created id=${eg.info.egressId} room=${req.roomName} file=${eg.filename}`);
    if (mode.webhook_before_reply) {
      await Promise.all(this.enqueueWebhook(eg, 'egress_started').map((j) => j.done));
      this.egressJoins(eg);
    } else {
      after(() => { // once the reply is sent
        this.enqueueWebhook(eg, 'egress_started');
        this.egressJoins(eg);
      });
    }
    this.scheduleActive(eg);
    // The egress runs, but meetrec never gets LiveKit's answer: the
    // connection is reset, or a proxy in front answers with its own page.
    if (mode.start === 'reset') return { lost: 'reset' };
    if (mode.start === 'proxy_error') return { lost: 'proxy', status: mode.proxy_status };
    return snake(eg.info);
  }

  // STARTING -> ACTIVE after auto_active_ms, with its egress_updated.
  scheduleActive(eg) {
    const mode = this.mode;
    if (mode.auto_active_ms !== null) {
      eg.activeTimer = this.later(mode.auto_active_ms, () => {
        eg.activeTimer = null;
        if (eg.info.status !== EgressStatus.EGRESS_STARTING) return;
        eg.info.status = EgressStatus.EGRESS_ACTIVE;
        eg.activeAt = nowNs();
        eg.info.updatedAt = eg.activeAt;
        eg.file.startedAt = eg.activeAt;
        this.enqueueWebhook(eg, 'egress_updated');
      });
    }
  }

  // Builds and stores the egress record.
  createEgress(req, out, fileType) {
    // A room nobody opened is made silently (no room webhooks): the egress-only tests.
    const room = this.rooms.get(req.roomName) ?? this.openRoom(req.roomName, { implicit: true });
    const roomId = room.sid;
    const ext = fileType === EncodedFileType.OGG ? '.ogg' : '.mp4';
    const filename = templateFilepath(out.filepath, req.roomName, roomId, ext);
    const now = nowNs();
    const file = new FileInfo({ filename });
    // The echo of the request has its secrets replaced, as egress does (RedactEncodedOutputs).
    const echo = req.clone();
    for (const o of [...(echo.fileOutputs.length === 1 ? echo.fileOutputs : []), echo.output.case === 'file' ? echo.output.value : null]) {
      const s3 = o?.output.case === 's3' ? o.output.value : null;
      if (!s3) continue;
      if (s3.accessKey) s3.accessKey = '{access_key}';
      if (s3.secret) s3.secret = '{secret}';
      if (s3.assumeRoleExternalId) s3.assumeRoleExternalId = '{external_id}';
      if (s3.sessionToken) s3.sessionToken = '{session_token}';
    }
    const info = new EgressInfo({
      egressId: newId('EG_'),
      roomId,
      roomName: req.roomName,
      sourceType: EgressSourceType.EGRESS_SOURCE_TYPE_WEB,
      status: EgressStatus.EGRESS_STARTING,
      startedAt: now,
      updatedAt: now,
      request: { case: 'roomComposite', value: echo },
      fileResults: [file],
      // egress still fills the legacy `file` result when the only output is a file
      result: { case: 'file', value: file },
    });
    const s3 = out.output.case === 's3' ? out.output.value : null; // the upload target, secrets and all
    const eg = { info, file, filename, fileType, s3, activeAt: null, activeTimer: null, ending: false, room, participant: null };
    this.egresses.set(info.egressId, eg);
    return eg;
  }

  // ---- StopEgress ---------------------------------------------------------------

  async stopEgress(req, after) {
    const mode = this.mode;
    const eg = this.egresses.get(req.egressId);
    if (!eg) throw new TwirpError('not_found', 'egress does not exist');
    const st = eg.info.status;
    if (st !== EgressStatus.EGRESS_STARTING && st !== EgressStatus.EGRESS_ACTIVE) {
      throw new TwirpError('failed_precondition', `egress with status ${statusName(st)} cannot be stopped`);
    }
    if (mode.stop === 'refuse') {
      throw new TwirpError(mode.stop_refuse_code ?? mode.refuse_code, mode.stop_refuse_msg ?? mode.refuse_msg);
    }
    if (mode.stop === 'slow') await this.busySleep(mode.stop_delay_ms);
    if (eg.ending) { // stopped or ended meanwhile (during a slow stop)
      throw new TwirpError('failed_precondition', `egress with status ${statusName(eg.info.status)} cannot be stopped`);
    }
    const go = this.endEgress(eg, { details: 'End reason: StopEgress API', status: mode.end_status });
    after(go); // the ENDING webhook and the rest go out once the reply is sent
    return snake(eg.info);
  }

  // Moves an egress to ENDING now. Returns `go`: calling it sends egress_updated (ENDING)
  // and then, in the background, writes the file, sets the final status and sends
  // egress_ended; go() resolves with the egress_ended jobs.
  endEgress(eg, { details, status }) {
    eg.ending = true;
    this.cancel(eg.activeTimer);
    eg.activeTimer = null;
    eg.info.status = EgressStatus.EGRESS_ENDING;
    eg.info.details = details;
    eg.info.updatedAt = nowNs();
    const endDelay = this.mode.end_delay_ms;
    return () => {
      this.enqueueWebhook(eg, 'egress_updated');
      return this.background(async () => {
        if (endDelay) await sleep(endDelay);
        return this.finalize(eg, status);
      });
    };
  }

  async finalize(eg, statusStr) {
    this.egressLeaves(eg); // the recorder leaves the room as its pipeline stops
    const info = eg.info;
    const file = eg.file;
    const endedAt = nowNs();
    let final = EgressStatus[statusStr];
    // FileInfo.startedAt is when the pipeline started playing (ACTIVE); if it never did,
    // use the egress start. duration = endedAt - startedAt, the wall-clock length.
    const fileStart = eg.activeAt ?? info.startedAt;
    file.endedAt = endedAt;
    if (final === EgressStatus.EGRESS_ABORTED) {
      // Never started: egress sets startedAt = endedAt (duration 0) and writes no file.
      file.startedAt = endedAt;
      file.duration = 0n;
      info.error = 'Stop called before pipeline could start';
      info.errorCode = 412;
    } else {
      file.startedAt = fileStart;
      file.duration = endedAt - fileStart;
      const durationMs = Math.max(1000, Number(file.duration / 1_000_000n));
      const partial = final === EgressStatus.EGRESS_FAILED;
      if (final === EgressStatus.EGRESS_FAILED) {
        info.error = 'pipeline frozen';
        info.errorCode = 500;
      } else if (final === EgressStatus.EGRESS_LIMIT_REACHED) {
        info.error = 'Session limit reached';
        info.errorCode = 413;
      }
      if (eg.s3) {
        // A failed upload fails the egress unless it had failed already, with code 400, and
        // leaves size 0 and no location (egress pipeline/controller.go, sink/file.go).
        const up = await this.uploadOutput(eg, durationMs, partial);
        if (up.error && final !== EgressStatus.EGRESS_FAILED) {
          final = EgressStatus.EGRESS_FAILED;
          statusStr = 'EGRESS_FAILED';
          info.error = up.error;
          info.errorCode = 400;
        } else if (!up.error) {
          file.size = BigInt(up.size);
          file.location = up.location;
        }
      } else {
        try {
          const size = await this.writeOutput(eg, durationMs, partial);
          file.size = BigInt(size);
          file.location = path.resolve(eg.filename);
        } catch (e) {
          // Reported as egress reports a failed upload: FAILED, code 400, no location.
          this.log(`error writing ${eg.filename}: ${e.message}`);
          final = EgressStatus.EGRESS_FAILED;
          statusStr = 'EGRESS_FAILED';
          info.error = `Local upload failed: ${e.message}`;
          info.errorCode = 400;
        }
      }
    }
    info.status = final;
    info.endedAt = endedAt;
    info.updatedAt = endedAt;
    if (!eg.s3) await this.noteFile(eg, statusStr);
    this.log(`egress ended id=${info.egressId} status=${statusStr} size=${file.size} location=${file.location}`);
    return this.enqueueWebhook(eg, 'egress_ended');
  }

  // Records what is on disk at eg.filename once the egress ended (nothing: size 0 and
  // sha256 null). A failed write may have left part of a file; that is recorded too.
  async noteFile(eg, statusStr) {
    const p = path.resolve(eg.filename);
    let size = 0;
    let sha256 = null;
    try {
      const buf = await fsp.readFile(p);
      size = buf.length;
      sha256 = createHash('sha256').update(buf).digest('hex');
    } catch (e) {
      if (e.code !== 'ENOENT') this.log(`error reading back ${p}: ${e.message}`);
    }
    this.files.set(eg.info.egressId, {
      egress_id: eg.info.egressId, room_name: eg.info.roomName, path: p, size, sha256,
      status: statusStr, error: eg.info.error || null,
    });
  }

  // Writes the output file (to its file path, or to `dest`); returns the number of bytes written.
  async writeOutput(eg, durationMs, partial, dest = path.resolve(eg.filename)) {
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    if (this.outputFile && !partial) {
      await fsp.copyFile(this.outputFile, dest);
    } else if (eg.fileType === EncodedFileType.OGG) {
      await writeOgg(dest, durationMs, { partial });
    } else if (this.fixtureMp4 && !partial) {
      await fsp.copyFile(this.fixtureMp4, dest);
    } else {
      await writeMp4(dest, durationMs, { mdatBytes: this.mode.mdat_bytes, layout: this.mode.mp4_layout, partial });
    }
    return (await fsp.stat(dest)).size;
  }

  // An output with an s3 target: the file is written to a temp file (egress writes to
  // its tmp dir), uploaded once to bucket/<filename>, and the temp file deleted. Returns
  // {size, location}, or {error} with egress's text. Each upload is recorded in
  // this.uploads; a fault armed with /_standin/s3_next applies to this upload only.
  async uploadOutput(eg, durationMs, partial) {
    const conf = eg.s3;
    const fault = this.s3Next;
    this.s3Next = null;
    const key = eg.filename;
    const bucket = fault?.fail === 'bucket' ? `${conf.bucket}-missing-${randomBytes(4).toString('hex')}` : conf.bucket;
    const rec = {
      egress_id: eg.info.egressId, room_name: eg.info.roomName, endpoint: conf.endpoint, bucket, key,
      status: null, error: null, location: null, size: 0, sha256: null, sent_bytes: 0,
      multipart: false, upload_id: null, parts: 0, aborted: false, fault,
      started_at: new Date().toISOString(), ended_at: null,
    };
    this.uploads.push(rec);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `standin-${eg.info.egressId}-`));
    let client = null;
    try {
      const tmp = path.join(dir, path.basename(key));
      const size = await this.writeOutput(eg, durationMs, partial, tmp);
      rec.size = size;
      rec.sha256 = await sha256File(tmp);
      const target = {};
      if (fault?.fail === 'credentials') target.secret = `${conf.secret}-wrong`;
      if (fault?.fail === 'endpoint') target.endpoint = `http://127.0.0.1:${await closedPort()}`;
      client = s3Client(conf, target);
      const input = {
        Bucket: bucket, Key: key, ContentType: S3_CONTENT_TYPE[eg.fileType],
        ContentDisposition: conf.contentDisposition || 'inline',
      };
      if (Object.keys(conf.metadata).length) input.Metadata = { ...conf.metadata };
      if (conf.tagging) input.Tagging = conf.tagging;
      // A truncating fault sends the start of the file only; the size reported stays whole.
      const bytes = fault?.truncate === undefined ? size : Math.min(fault.truncate, size);
      this.log(`s3 upload egress=${rec.egress_id} bucket=${bucket} key=${key} bytes=${bytes}` +
        `${fault ? ` fault=${JSON.stringify(fault)}` : ''}`);
      await s3UploadFile(client, input, tmp, bytes, rec);
      rec.status = 'ok';
      rec.location = s3Location(conf, key, this.mode.s3_location);
      return { size, location: rec.location };
    } catch (e) {
      // errors.ErrUploadFailed("S3", err); storage wraps an error that has an HTTP status
      // as "Err: <error>, Status Code: <status>".
      const text = e instanceof S3UploadError && e.status ? `Err: ${e.message}, Status Code: ${e.status}` : e.message;
      rec.status = 'failed';
      rec.error = `S3 upload failed: ${text}`;
      return { error: rec.error };
    } finally {
      client?.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
      rec.ended_at = new Date().toISOString();
      this.log(`s3 upload egress=${rec.egress_id} ${rec.status} sent=${rec.sent_bytes} parts=${rec.parts}` +
        `${rec.error ? ` error=${JSON.stringify(rec.error)}` : ` location=${rec.location}`}`);
    }
  }

  // ---- ListEgress -------------------------------------------------------------

  async listEgress(req) {
    let items;
    if (req.egressId) {
      const eg = this.egresses.get(req.egressId);
      if (!eg) throw new TwirpError('not_found', 'egress does not exist');
      items = [eg.info];
    } else {
      items = [...this.egresses.values()].map((e) => e.info);
      if (req.roomName) items = items.filter((i) => i.roomName === req.roomName);
    }
    if (req.active) items = items.filter((i) => i.status < EgressStatus.EGRESS_COMPLETE);
    // (the open-source server ignores pageToken and returns everything)
    return snake(new ListEgressResponse({ items }));
  }

  // ---- Rooms --------------------------------------------------------------------
  //
  // What LiveKit does with rooms and participants, as far as meetrec sees it
  // (livekit-rooms.md): room_started when a room is made, participant_joined when a
  // participant becomes ACTIVE, participant_left (participant_connection_aborted if it
  // never got there) when it goes, and on closing every participant still in the room
  // leaves, then room_finished. All of a room's events share one queue (the room name).

  // Opens a room. `implicit`: made silently by an egress Start in a room nobody opened
  // (the egress-only tests): no room webhooks until a participant joins it.
  openRoom(name, { implicit = false } = {}) {
    const now = Date.now();
    const room = {
      sid: newId('RM_'),
      name,
      metadata: '',
      creationTime: BigInt(Math.floor(now / 1000)),
      creationTimeMs: BigInt(now),
      turnPassword: newId('') + newId(''), // a random string, as utils.RandomSecret
      createdAt: new Date(now).toISOString(),
      live: false,
      finished: false,
      finishedAt: null,
      participants: new Map(), // identity -> ParticipantInfo, in join order
      connected: new Set(), // sids of participants that became ACTIVE (participant_joined sent)
      left: [], // ParticipantInfo JSON of those who left, in order, with left_at
      data: [], // SendData messages
      metadataUpdates: [], // UpdateRoomMetadata calls that changed it
      nonces: [], // the last 100 SendData nonces (LiveKit's UserPacketDeduper)
      departureTimer: null,
      closing: false,
    };
    this.rooms.set(name, room);
    this.roomHistory.push(room);
    this.log(`room opened name=${name} sid=${room.sid}${implicit ? ' (implicit, silent)' : ''}`);
    if (!implicit) this.makeLive(room);
    return room;
  }

  // The room becomes a played one: room_started, then the egresses recording it join
  // (they would have been in it already).
  makeLive(room) {
    if (room.live) return;
    room.live = true;
    this.enqueueRoomEvent('room_started', room);
    for (const eg of this.egresses.values()) {
      if (eg.room === room) this.egressJoins(eg);
    }
  }

  // LiveKit's room.ToProto(): the server's room defaults, counts without the dependent
  // participants (egress, agent), activeRecording while a recorder is in the room.
  roomProto(room) {
    let num = 0;
    let pubs = 0;
    let recording = false;
    for (const p of room.participants.values()) {
      if (!isDependent(p)) num++;
      if (p.isPublisher) pubs++;
      if (isRecorder(p)) recording = true;
    }
    return new Room({
      sid: room.sid,
      name: room.name,
      emptyTimeout: 300,
      departureTimeout: 20,
      creationTime: room.creationTime,
      creationTimeMs: room.creationTimeMs,
      turnPassword: room.turnPassword,
      enabledCodecs: DEFAULT_CODECS.map((mime) => new Codec({ mime })),
      metadata: room.metadata,
      numParticipants: num,
      numPublishers: pubs,
      activeRecording: recording,
    });
  }

  // A new participant as the server describes it (participant.ToProto()).
  newParticipant({ identity, name = '', metadata = '', kind = ParticipantInfo_Kind.STANDARD, attributes = {}, permission, publisher = false }) {
    const now = Date.now();
    return new ParticipantInfo({
      sid: newId('PA_'),
      identity,
      name,
      state: ParticipantInfo_State.JOINED,
      metadata,
      joinedAt: BigInt(Math.floor(now / 1000)),
      joinedAtMs: BigInt(now),
      version: 1,
      permission,
      isPublisher: publisher,
      kind,
      attributes,
    });
  }

  // Puts `info` in the room; `connect`: it becomes ACTIVE, and participant_joined goes out.
  addParticipant(room, info, connect) {
    const old = room.participants.get(info.identity);
    if (old) this.removeParticipant(room, old, DisconnectReason.DUPLICATE_IDENTITY);
    this.cancelDeparture(room);
    room.participants.set(info.identity, info);
    if (connect) {
      info.state = ParticipantInfo_State.ACTIVE;
      info.version += 1;
      room.connected.add(info.sid);
      if (room.live) this.enqueueRoomEvent('participant_joined', room, info);
    }
    return info;
  }

  // Takes `info` out of the room with `reason`: participant_left, or
  // participant_connection_aborted when it never became ACTIVE.
  removeParticipant(room, info, reason) {
    room.participants.delete(info.identity);
    const wasConnected = room.connected.delete(info.sid);
    info.state = ParticipantInfo_State.DISCONNECTED;
    info.disconnectReason = reason;
    info.version += 1;
    room.left.push({ ...info.toJson(), left_at: new Date().toISOString() });
    if (room.live) this.enqueueRoomEvent(wasConnected ? 'participant_left' : 'participant_connection_aborted', room, info);
    for (const eg of this.egresses.values()) if (eg.participant === info) eg.participant = null;
    this.scheduleDeparture(room);
    return info;
  }

  // departure_timeout_ms after the last non-dependent participant left, the room closes.
  scheduleDeparture(room) {
    const ms = this.mode.departure_timeout_ms;
    if (ms === null || room.finished || room.closing || !room.live) return;
    if ([...room.participants.values()].some((p) => !isDependent(p))) return;
    this.cancelDeparture(room);
    room.departureTimer = setTimeout(() => {
      room.departureTimer = null;
      this.roomTimers.delete(room);
      if (!room.finished) this.finishRoom(room, { reason: DisconnectReason.ROOM_CLOSED });
    }, ms);
    this.roomTimers.add(room);
  }
  cancelDeparture(room) {
    if (room.departureTimer) clearTimeout(room.departureTimer);
    room.departureTimer = null;
    this.roomTimers.delete(room);
  }

  // The room closes: everyone still in it leaves (`reason`: ROOM_CLOSED when it emptied,
  // ROOM_DELETED for DeleteRoom), then room_finished. The egresses recording it lose their
  // source and end ("End reason: Source closed") unless `endEgresses` is false.
  finishRoom(room, { reason = DisconnectReason.ROOM_CLOSED, endEgresses = true } = {}) {
    room.closing = true;
    this.cancelDeparture(room);
    const left = [];
    for (const info of [...room.participants.values()]) left.push(this.removeParticipant(room, info, reason).toJson());
    room.finished = true;
    room.finishedAt = new Date().toISOString();
    if (this.rooms.get(room.name) === room) this.rooms.delete(room.name);
    if (room.live) this.enqueueRoomEvent('room_finished', room);
    const ended = [];
    if (endEgresses) {
      for (const eg of this.egresses.values()) {
        if (eg.room !== room || eg.ending) continue;
        ended.push(eg.info.egressId);
        this.endEgress(eg, { details: 'End reason: Source closed', status: this.mode.end_status })();
      }
    }
    this.log(`room finished name=${room.name} sid=${room.sid} left=${left.length} egresses_ended=${ended.length}`);
    return { left, ended };
  }

  // A room composite egress in a played room joins it as a hidden recorder of kind EGRESS
  // whose identity is the egress id (livekit/protocol egress/token.go).
  egressJoins(eg) {
    const room = eg.room;
    if (!this.mode.egress_participant || !room.live || room.finished || eg.participant || eg.ending) return;
    const info = this.newParticipant({
      identity: eg.info.egressId,
      kind: ParticipantInfo_Kind.EGRESS,
      permission: new ParticipantPermission({ canSubscribe: true, canPublish: false, canPublishData: false, hidden: true, recorder: true }),
    });
    eg.participant = this.addParticipant(room, info, true);
  }
  egressLeaves(eg) {
    const info = eg.participant;
    if (info && eg.room.participants.get(info.identity) === info) {
      this.removeParticipant(eg.room, info, DisconnectReason.CLIENT_INITIATED);
    }
    eg.participant = null;
  }

  // What the control API shows of a room.
  roomJson(room) {
    return {
      name: room.name,
      sid: room.sid,
      live: room.live,
      finished: room.finished,
      created_at: room.createdAt,
      finished_at: room.finishedAt,
      metadata: room.metadata,
      room: this.roomProto(room).toJson(), // as the webhooks carry it
      participants: [...room.participants.values()].map((p) => p.toJson()),
      left: room.left,
      data: room.data,
      metadata_updates: room.metadataUpdates,
    };
  }

  // POST /_standin/rooms/<room>/join
  joinFromControl(name, body) {
    const err = checkKeys(body, ['identity', 'name', 'metadata', 'kind', 'attributes', 'permission', 'publisher', 'connect']);
    if (err) return [400, { error: err }];
    if (typeof body.identity !== 'string' || body.identity === '') return [400, { error: 'identity must be a non-empty string' }];
    for (const k of ['name', 'metadata']) {
      if (k in body && typeof body[k] !== 'string') return [400, { error: `${k} must be a string` }];
    }
    for (const k of ['publisher', 'connect']) {
      if (k in body && typeof body[k] !== 'boolean') return [400, { error: `${k} must be a boolean` }];
    }
    let kind = ParticipantInfo_Kind.STANDARD;
    if ('kind' in body) {
      kind = typeof body.kind === 'string' ? ParticipantInfo_Kind[body.kind.toUpperCase()] : undefined;
      if (typeof kind !== 'number') return [400, { error: `kind must be one of ${enumNames(ParticipantInfo_Kind).join(', ')}` }];
    }
    const attributes = body.attributes ?? {};
    if (typeof attributes !== 'object' || Array.isArray(attributes) || attributes === null ||
        Object.values(attributes).some((v) => typeof v !== 'string')) {
      return [400, { error: 'attributes must be an object of strings' }];
    }
    const dependent = kind === ParticipantInfo_Kind.EGRESS;
    let permission;
    try {
      permission = 'permission' in body ? ParticipantPermission.fromJson(body.permission)
        : new ParticipantPermission(dependent ? { canSubscribe: true, hidden: true, recorder: true }
          : { canSubscribe: true, canPublish: true, canPublishData: true });
    } catch (e) {
      return [400, { error: `permission: ${e.message}` }];
    }
    const room = this.rooms.get(name) ?? this.openRoom(name);
    this.makeLive(room);
    const info = this.newParticipant({
      identity: body.identity, name: body.name, metadata: body.metadata, kind, attributes, permission, publisher: body.publisher,
    });
    this.addParticipant(room, info, body.connect !== false);
    this.log(`room join room=${name} identity=${info.identity} sid=${info.sid} state=${ParticipantInfo_State[info.state]}`);
    return [200, info.toJson()];
  }

  // POST /_standin/rooms/<room>/leave
  leaveFromControl(name, body) {
    const err = checkKeys(body, ['identity', 'reason']);
    if (err) return [400, { error: err }];
    if (typeof body.identity !== 'string') return [400, { error: 'identity must be a string' }];
    let reason = DisconnectReason.CLIENT_INITIATED;
    if ('reason' in body) {
      reason = typeof body.reason === 'string' ? DisconnectReason[body.reason] : undefined;
      if (typeof reason !== 'number') return [400, { error: `reason must be one of ${enumNames(DisconnectReason).join(', ')}` }];
    }
    const room = this.rooms.get(name);
    const info = room?.participants.get(body.identity);
    if (!info) return [404, { error: `no participant "${body.identity}" in room "${name}"` }];
    this.removeParticipant(room, info, reason);
    this.log(`room leave room=${name} identity=${info.identity} reason=${DisconnectReason[reason]}`);
    return [200, info.toJson()];
  }

  // POST /_standin/rooms/<room>/finish
  finishFromControl(name, body) {
    const err = checkKeys(body, ['reason', 'end_egresses']);
    if (err) return [400, { error: err }];
    const reasons = { ROOM_CLOSED: DisconnectReason.ROOM_CLOSED, ROOM_DELETED: DisconnectReason.ROOM_DELETED };
    const reason = reasons[body.reason ?? 'ROOM_CLOSED'];
    if (reason === undefined) return [400, { error: 'reason must be ROOM_CLOSED or ROOM_DELETED' }];
    if ('end_egresses' in body && typeof body.end_egresses !== 'boolean') return [400, { error: 'end_egresses must be a boolean' }];
    const room = this.rooms.get(name);
    if (!room) return [404, { error: `no open room "${name}"` }];
    const { left, ended } = this.finishRoom(room, { reason, endEgresses: body.end_egresses !== false });
    return [200, { room: this.roomJson(room), left, ended_egresses: ended }];
  }

  // ---- RoomService ---------------------------------------------------------------

  // UpdateRoomMetadata: the size limit first, then roomAdmin, then the room must exist.
  // No webhook: the participants get a RoomUpdate over their signal connection.
  async updateRoomMetadata(req, claims) {
    const max = this.mode.max_metadata_size;
    if (max && Buffer.byteLength(req.metadata, 'utf8') > max) {
      throw new TwirpError('invalid_argument', `metadata size exceeds limits ${max}`, { argument: 'metadata size exceeds limits' });
    }
    ensureRoomAdmin(claims, req.room);
    const room = this.serviceRoom(req.room);
    if (!room) throw new TwirpError('not_found', 'requested room does not exist');
    room.metadata = req.metadata;
    room.metadataUpdates.push({
      at: new Date().toISOString(), metadata: req.metadata, recipients: [...room.participants.keys()],
    });
    return goJson(this.roomProto(room));
  }

  // SendData: roomAdmin, the nonce's length, then the node hosting the room delivers it to
  // every participant (or to destinationIdentities / destinationSids). A room that no node
  // hosts: nobody answers the internal request, 503 "no response from servers".
  async sendData(req, claims) {
    ensureRoomAdmin(claims, req.room);
    if (req.nonce.length !== 0 && req.nonce.length !== 16) {
      throw new TwirpError('invalid_argument', `nonce should be 16-bytes or not present, got: ${req.nonce.length} bytes`);
    }
    const room = this.serviceRoom(req.room);
    if (!room) {
      if (this.mode.room_rpc_missing_delay_ms) await this.busySleep(this.mode.room_rpc_missing_delay_ms);
      throw new TwirpError('unavailable', 'no response from servers');
    }
    const nonce = Buffer.from(req.nonce).toString('hex');
    const duplicate = nonce !== '' && room.nonces.includes(nonce);
    if (nonce !== '' && !duplicate) {
      room.nonces.push(nonce);
      if (room.nonces.length > 100) room.nonces.shift();
    }
    const ids = req.destinationIdentities;
    const sids = req.destinationSids;
    const recipients = duplicate ? [] : [...room.participants.values()]
      .filter((p) => (ids.length === 0 && sids.length === 0) || ids.includes(p.identity) || sids.includes(p.sid))
      .map((p) => p.identity);
    const data = Buffer.from(req.data);
    let text = null;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      // not UTF-8: base64 only
    }
    room.data.push({
      index: room.data.length,
      at: new Date().toISOString(),
      kind: DataPacket_Kind[req.kind] ?? String(req.kind),
      topic: req.topic ?? null,
      data: data.toString('base64'),
      text,
      destination_identities: [...ids],
      destination_sids: [...sids],
      nonce: req.nonce.length ? Buffer.from(req.nonce).toString('base64') : null,
      duplicate,
      recipients,
    });
    this.log(`room data room=${room.name} bytes=${data.length} kind=${DataPacket_Kind[req.kind]} recipients=${recipients.join(',')}${duplicate ? ' (duplicate nonce, dropped)' : ''}`);
    return goJson(new SendDataResponse());
  }

  // ListParticipants: roomAdmin; a room that does not exist is an empty list.
  async listParticipants(req, claims) {
    ensureRoomAdmin(claims, req.room);
    const room = this.serviceRoom(req.room);
    return goJson(new ListParticipantsResponse({ participants: room ? [...room.participants.values()] : [] }));
  }

  // ListRooms: roomList (EnsureListPermission, 401 as above); the open rooms named in
  // `names` (those that do not exist are left out), or every open room. Rooms as
  // UpdateRoomMetadata answers them, with their metadata.
  async listRooms(req, claims) {
    if (claims?.video?.roomList !== true) throw new TwirpError('unauthenticated', 'permissions denied');
    const rooms = req.names.length ? req.names.map((n) => this.serviceRoom(n)).filter(Boolean)
      : this.mode.rooms_unknown ? [] : [...this.rooms.values()];
    return goJson(new ListRoomsResponse({ rooms: rooms.map((r) => this.roomProto(r)) }));
  }

  // The open room RoomService finds under that name: none while rooms_unknown is set.
  serviceRoom(name) {
    return this.mode.rooms_unknown ? undefined : this.rooms.get(name);
  }

  // Notes a RoomService call for GET /_standin/room_calls.
  noteRoomCall(rec, reply) {
    let answer = null;
    try {
      answer = reply && /json/.test(reply.headers?.['Content-Type'] ?? '') ? JSON.parse(reply.body) : null;
    } catch {
      answer = null;
    }
    this.roomCalls.push({
      index: this.roomCalls.length,
      at: rec.at,
      method: rec.method,
      room: rec.parsed?.room ?? null,
      request: rec.parsed,
      body: rec.body,
      auth_ok: rec.auth_ok,
      identity: rec.claims?.sub ?? null,
      video: rec.claims?.video ?? null,
      claims: rec.claims,
      status: rec.status,
      code: rec.code,
      answer: answer ?? (reply ? reply.body : null),
    });
  }

  // ---- Webhooks -----------------------------------------------------------------

  // Queues `event` for an egress, with a snapshot of its current info. Returns the jobs
  // created (two in "duplicate" mode); each job has a `done` promise.
  enqueueWebhook(eg, event) {
    const ev = new WebhookEvent({
      event,
      room: new Room({ sid: eg.info.roomId, name: eg.info.roomName }),
      egressInfo: eg.info.clone(),
      id: newId('EV_'),
      createdAt: BigInt(Math.floor(Date.now() / 1000)),
    });
    return this.enqueueEvent(ev, eg.info.egressId, { egressId: eg.info.egressId, roomName: eg.info.roomName });
  }

  // Queues a room or participant event: `room` (full Room), `participant` (ParticipantInfo
  // or null). Room and participant events share one queue per room name, as LiveKit's
  // EventKey puts them (livekit-rooms.md §1.4).
  enqueueRoomEvent(event, room, participant = null) {
    const ev = new WebhookEvent({
      event,
      room: this.roomProto(room),
      participant: participant ? participant.clone() : undefined,
      id: newId('EV_'),
      createdAt: BigInt(Math.floor(Date.now() / 1000)),
    });
    this.log(`room event ${event} room=${room.name} sid=${room.sid}${participant ? ` participant=${participant.identity}` : ''}`);
    return this.enqueueEvent(ev, `room:${room.name}`, { roomName: room.name, participantIdentity: participant?.identity ?? null });
  }

  // Queues a built WebhookEvent on the FIFO queue `key`.
  enqueueEvent(ev, key, { egressId = null, roomName = null, participantIdentity = null }) {
    const mode = this.mode;
    const event = ev.event;
    const body = ev.toJsonString(); // camelCase, zero values omitted: as Go protojson
    const base = {
      event, egressId, roomName, participantIdentity, id: ev.id, body,
      url: mode.webhook_url ?? this.webhookUrl,
      drop: mode.webhooks === 'drop',
      retryDelays: [...mode.retry_delays_ms],
      maxAge: mode.queue_max_age_ms,
      enqueuedAt: Date.now(),
      token: null, // minted when the job is first sent; shared by its duplicate
    };
    const jobs = [makeJob(base, false)];
    if (mode.webhooks === 'duplicate') jobs.push(makeJob(base, true));

    if (event === 'egress_updated' && mode.webhooks === 'reverse') {
      // Hold updates until egress_ended, which then goes out first.
      if (!this.held.has(key)) this.held.set(key, []);
      this.held.get(key).push(...jobs);
      return jobs;
    }
    this.pushJobs(key, jobs);
    if (event === 'egress_ended' && this.held.has(key)) {
      const held = this.held.get(key);
      for (const j of held) j.shared.enqueuedAt = Date.now(); // their queue wait starts now
      this.pushJobs(key, held);
      this.held.delete(key);
    }
    return jobs;
  }

  pushJobs(key, jobs) {
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { jobs: [], running: false }));
    q.jobs.push(...jobs);
    if (!q.running) this.runQueue(q);
  }

  // One worker per queue: events for one egress, or for one room, go out in order.
  async runQueue(q) {
    q.running = true;
    try {
      while (q.jobs.length) {
        const job = q.jobs.shift();
        try {
          await this.deliver(job);
        } catch (e) {
          this.log(`error webhook: ${e.stack || e}`);
        }
        job.resolve(job.entry);
      }
    } finally {
      q.running = false;
    }
  }

  // Sends one job with LiveKit's retry policy, recording it in this.webhooks.
  async deliver(job) {
    const shared = job.shared;
    if (!shared.token) {
      // The server mints the token per send: 5 min TTL, sha256 = std padded base64.
      const at = new AccessToken(this.apiKey, this.apiSecret, { ttl: '5m' });
      at.sha256 = createHash('sha256').update(shared.body).digest('base64');
      shared.token = await at.toJwt();
    }
    const entry = {
      index: this.webhooks.length,
      event: shared.event,
      egress_id: shared.egressId,
      room_name: shared.roomName,
      participant_identity: shared.participantIdentity,
      id: shared.id,
      body: shared.body,
      authorization: shared.token,
      url: shared.url,
      duplicate: job.duplicate,
      replay_of: null,
      dropped: null,
      response_status: null,
      response_body: null,
      attempts: [],
    };
    this.webhooks.push(entry);
    job.entry = entry;
    if (shared.drop) {
      entry.dropped = 'drop mode';
    } else if (!shared.url) {
      entry.dropped = 'no webhook url';
    } else if (!job.duplicate && Date.now() - shared.enqueuedAt > shared.maxAge) {
      entry.dropped = 'max age';
    }
    if (entry.dropped) {
      this.log(`webhook #${entry.index} ${entry.event} ${whSubject(entry)} id=${entry.id} dropped (${entry.dropped})`);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const r = await postWebhook(shared.url, shared.body, shared.token);
      entry.attempts.push({ at: new Date().toISOString(), status: r.status, error: r.error });
      entry.response_status = r.status;
      entry.response_body = r.body;
      this.log(`webhook #${entry.index} ${entry.event} ${whSubject(entry)} id=${entry.id} attempt=${attempt + 1} ` +
        (r.error ? `error=${JSON.stringify(r.error)}` : `status=${r.status}`));
      // go-retryablehttp: retry connection errors, 429 and 5xx except 501; all else is final.
      const retry = r.error || r.status === 429 || (r.status >= 500 && r.status !== 501);
      if (!retry || attempt >= shared.retryDelays.length) break;
      let wait = shared.retryDelays[attempt];
      if ((r.status === 429 || r.status === 503) && /^\d+$/.test(r.retryAfter || '')) {
        wait = Math.min(Number(r.retryAfter) * 1000, 30000);
      }
      await sleep(wait);
    }
  }

  // ---- Control API helpers ----------------------------------------------------------

  async endFromControl(egressId, status) {
    const eg = this.egresses.get(egressId);
    if (!eg) return [404, { error: 'egress does not exist' }];
    if (eg.ending) return [409, { error: `egress already ${statusName(eg.info.status)}` }];
    status = status ?? this.mode.end_status;
    if (!FINAL_STATUSES.includes(status)) return [400, { error: `status must be one of ${FINAL_STATUSES.join(', ')}` }];
    const jobs = await this.endEgress(eg, { details: 'End reason: Source closed', status })();
    if (!jobs) return [500, { error: 'ending the egress failed (see the log)' }];
    const entries = await Promise.all(jobs.map((j) => j.done));
    return [200, { status: entries[0]?.response_status ?? null, egress: eg.info.toJson() }];
  }

  async resend(index) {
    const orig = this.webhooks[index];
    if (!orig) return [404, { error: `no webhook #${index}` }];
    const url = this.mode.webhook_url ?? this.webhookUrl;
    if (!url) return [409, { error: 'no webhook url' }];
    const r = await postWebhook(url, orig.body, orig.authorization);
    const entry = {
      ...orig, index: this.webhooks.length, url, duplicate: false, replay_of: index, dropped: null,
      response_status: r.status, response_body: r.body,
      attempts: [{ at: new Date().toISOString(), status: r.status, error: r.error }],
    };
    this.webhooks.push(entry);
    this.log(`webhook #${entry.index} replay of #${index} ${orig.event} id=${orig.id} ` +
      (r.error ? `error=${JSON.stringify(r.error)}` : `status=${r.status}`));
    return [200, { status: r.status, body: r.body, error: r.error }];
  }

  reset() {
    this.mode = defaultMode();
    this.s3Next = null;
    this.outputFile = null;
  }
}

// What a webhook is about, for the log.
function whSubject(entry) {
  if (entry.egress_id) return `egress=${entry.egress_id}`;
  return `room=${entry.room_name}${entry.participant_identity !== null ? ` participant=${entry.participant_identity}` : ''}`;
}

// A queued webhook delivery. Two jobs from "duplicate" share `base` (same body and token).
function makeJob(shared, duplicate) {
  const job = { shared, duplicate, entry: null };
  job.done = new Promise((resolve) => { job.resolve = resolve; });
  return job;
}

// POSTs a webhook as LiveKit does; resolves to {status, body, retryAfter, error}.
function postWebhook(url, body, token) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch (e) {
      resolve({ status: null, body: null, error: `bad url: ${e.message}` });
      return;
    }
    const data = Buffer.from(body, 'utf8');
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, {
      method: 'POST',
      headers: {
        Authorization: token, // the bare JWT: LiveKit sends no "Bearer"
        'Content-Type': 'application/webhook+json',
        'User-Agent': 'LiveKit',
        'Content-Length': data.length,
      },
      timeout: 30000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode,
        body: Buffer.concat(chunks).toString('utf8').slice(0, 4096),
        retryAfter: res.headers['retry-after'],
        error: null,
      }));
      res.on('error', (e) => resolve({ status: null, body: null, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: null, body: null, error: e.message }));
    req.end(data);
  });
}

// Open-source LiveKit's Twirp JSON: proto field names, every field present.
function snake(msg) {
  return msg.toJsonString({ useProtoFieldName: true, emitDefaultValues: true });
}

// Open-source LiveKit's Twirp JSON exactly: as snake() and, as Go's protojson does with
// EmitUnpopulated, an unset message field written as null (protobuf-es leaves it out).
// Used for the RoomService replies.
function goJson(msg) {
  return JSON.stringify(withGoNulls(msg, msg.toJson({ useProtoFieldName: true, emitDefaultValues: true })));
}
function withGoNulls(msg, json) {
  for (const f of msg.getType().fields.list()) {
    if (f.oneof || f.kind !== 'message') continue;
    const v = msg[f.localName];
    const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
    if (!f.repeated) {
      if (v === undefined) json[f.name] = null;
      else if (isObj(json[f.name])) withGoNulls(v, json[f.name]);
    } else {
      v.forEach((x, i) => { if (isObj(json[f.name]?.[i])) withGoNulls(x, json[f.name][i]); });
    }
  }
  return json;
}

// The codecs a room has by default (livekit-server's RoomConfig.EnabledCodecs, pion's names).
const DEFAULT_CODECS = ['audio/PCMU', 'audio/PCMA', 'audio/opus', 'audio/red', 'video/VP8', 'video/H264',
  'video/VP9', 'video/AV1', 'video/H265', 'video/rtx'];

// Egress and agent participants are "dependent": they do not count in numParticipants and
// do not keep a room open (ParticipantImpl.IsDependent, IsRecorder).
function isDependent(p) {
  return p.kind === ParticipantInfo_Kind.EGRESS || p.kind === ParticipantInfo_Kind.AGENT ||
    p.permission?.recorder === true || p.permission?.agent === true;
}
function isRecorder(p) {
  return p.kind === ParticipantInfo_Kind.EGRESS || p.permission?.recorder === true;
}

// EnsureAdminPermission: video.roomAdmin, and video.room equal to the request's room.
// LiveKit wraps the failure as Twirp unauthenticated (401), not permission_denied.
function hasRoomAdmin(claims, room) {
  return claims?.video?.roomAdmin === true && (claims.video.room ?? '') === room;
}
function ensureRoomAdmin(claims, room) {
  if (!hasRoomAdmin(claims, room)) throw new TwirpError('unauthenticated', 'permissions denied');
}

// Control API helpers: an unknown key in a body, and an enum's names.
function checkKeys(body, allowed) {
  const bad = Object.keys(body).filter((k) => !allowed.includes(k));
  return bad.length ? `unknown key(s) ${bad.join(', ')}; allowed: ${allowed.join(', ')}` : null;
}
function enumNames(e) {
  return Object.keys(e).filter((k) => Number.isNaN(Number(k)));
}

function textReply(status, text) {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: text + '\n' };
}

// The page nginx answers with when its upstream (LiveKit) failed it.
const PROXY_REASON = { 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };
function proxyReply(status) {
  const title = `${status} ${PROXY_REASON[status]}`;
  return {
    status,
    headers: { 'Content-Type': 'text/html', Server: 'nginx' },
    body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
      `<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
  };
}

// Egress filepath handling (livekit.md §6): {room_name} {room_id} {time} {utc} placeholders,
// a default name for a path ending in "/", the extension forced, "../" stripped.
function templateFilepath(fp, roomName, roomId, ext) {
  const d = new Date();
  const p2 = (n) => String(n).padStart(2, '0');
  const time = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}`;
  const utc = `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
  let out = fp.replaceAll('{room_name}', roomName).replaceAll('{room_id}', roomId)
    .replaceAll('{time}', time).replaceAll('{utc}', utc);
  if (out.endsWith('/')) out += `${roomName}-${time}`;
  const cur = path.extname(out);
  if (cur.toLowerCase() !== ext) {
    const known = ['.mp4', '.ogg', '.mp3', '.ts', '.webm', '.m3u8', '.m4a', '.aac', '.ivf', '.h264'];
    out = known.includes(cur.toLowerCase()) ? out.slice(0, -cur.length) + ext : out + ext;
  }
  out = path.normalize(out);
  while (out.startsWith('../')) out = out.slice(3);
  return out;
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

const MAX_BODY = 10 * 1024 * 1024; // LiveKit's default max_api_request_body_size

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { tooLarge: true }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, { status, headers, body }) {
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Length': data.length });
  res.end(data);
}
const sendJson = (res, status, obj) =>
  send(res, { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(obj) });

export function createServer(si) {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    let bodyText;
    try {
      bodyText = await readBody(req);
    } catch (e) {
      if (e.tooLarge) send(res, textReply(413, 'http: request body too large'));
      return;
    }
    try {
      if (url.pathname.startsWith('/_standin/')) {
        const [status, obj] = await control(si, req.method, url.pathname.slice('/_standin/'.length), bodyText);
        si.log(`control ${req.method} ${url.pathname} -> ${status}`);
        sendJson(res, status, obj);
        return;
      }
      const rec = {
        at: new Date().toISOString(),
        method: url.pathname.split('/').pop(),
        path: url.pathname,
        http_method: req.method,
        auth_ok: false,
        claims: null,
        body: bodyText,
        parsed: null,
        status: null,
        code: null,
      };
      si.requests.push(rec);
      let reply;
      const afterReply = [];
      try {
        reply = await si.twirp(req, bodyText, rec, (fn) => afterReply.push(fn));
      } catch (e) {
        if (!(e instanceof TwirpError)) throw e;
        rec.code = e.code;
        const err = { code: e.code, msg: e.message };
        if (e.meta && Object.keys(e.meta).length) err.meta = e.meta;
        reply = { status: TWIRP_HTTP[e.code] ?? 500, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(err) };
      }
      if (reply.reset) {
        // Request read, egress created, no answer: a TCP reset.
        si.log(`twirp ${req.method} ${url.pathname} -> connection reset`);
        req.socket.resetAndDestroy();
        for (const fn of afterReply) fn();
        return;
      }
      rec.status = reply.status;
      if (url.pathname.startsWith('/twirp/livekit.RoomService/')) si.noteRoomCall(rec, reply);
      si.log(`twirp ${req.method} ${url.pathname} -> ${reply.status}${rec.code ? ' ' + rec.code : ''}`);
      send(res, reply);
      for (const fn of afterReply) fn();
    } catch (e) {
      si.log(`error ${req.method} ${url.pathname}: ${e.stack || e}`);
      if (!res.headersSent) sendJson(res, 500, { code: 'internal', msg: String(e.message || e) });
    }
  });
}

// The control API: returns [httpStatus, jsonObject].
async function control(si, method, name, bodyText) {
  let body = {};
  if (method === 'POST' && bodyText.trim() !== '') {
    try {
      body = JSON.parse(bodyText);
    } catch (e) {
      return [400, { error: `bad JSON: ${e.message}` }];
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return [400, { error: 'body must be a JSON object' }];
  }
  // Rooms: /_standin/rooms/<room>[/join|/leave|/finish] (the name URL-encoded).
  const rm = /^rooms\/([^/]+)(?:\/(join|leave|finish))?$/.exec(name);
  if (rm) {
    let roomName;
    try {
      roomName = decodeURIComponent(rm[1]);
    } catch {
      return [400, { error: 'the room name is not valid URL encoding' }];
    }
    if (rm[2] && method === 'POST') {
      if (rm[2] === 'join') return si.joinFromControl(roomName, body);
      if (rm[2] === 'leave') return si.leaveFromControl(roomName, body);
      return si.finishFromControl(roomName, body);
    }
    if (!rm[2] && method === 'GET') {
      const room = si.rooms.get(roomName) ?? si.roomHistory.findLast((r) => r.name === roomName);
      return room ? [200, si.roomJson(room)] : [404, { error: `no room "${roomName}"` }];
    }
    return [404, { error: `no control route ${method} ${name}` }];
  }
  const route = `${method} ${name}`;
  switch (route) {
    case 'GET rooms':
      return [200, { rooms: si.roomHistory.map((r) => si.roomJson(r)) }];
    case 'GET room_calls':
      return [200, { room_calls: si.roomCalls }];
    case 'DELETE room_calls':
      si.roomCalls = [];
      return [200, { room_calls: [] }];
    case 'GET mode':
      return [200, si.mode];
    case 'POST mode': {
      for (const [k, v] of Object.entries(body)) {
        const err = checkModeValue(k, v);
        if (err) return [400, { error: err }];
      }
      Object.assign(si.mode, body);
      return [200, si.mode];
    }
    case 'POST reset':
      si.reset();
      return [200, si.mode];
    case 'GET egresses':
      return [200, { egresses: [...si.egresses.values()].map((e) => e.info.toJson()) }];
    case 'GET requests':
      return [200, { requests: si.requests }];
    case 'GET files':
      return [200, { files: [...si.files.values()] }];
    case 'GET uploads':
      return [200, { uploads: si.uploads }];
    case 'GET s3_next':
      return [200, { next: si.s3Next }];
    case 'POST s3_next': { // arms a fault for the next S3 upload; {} disarms
      const keys = Object.keys(body);
      if (keys.length > 1 || keys.some((k) => k !== 'fail' && k !== 'truncate')) {
        return [400, { error: 'give one of "fail" or "truncate" (or nothing, to disarm)' }];
      }
      if ('fail' in body && !['credentials', 'bucket', 'endpoint'].includes(body.fail)) {
        return [400, { error: 'fail must be one of credentials, bucket, endpoint' }];
      }
      if ('truncate' in body && !(Number.isInteger(body.truncate) && body.truncate >= 0)) {
        return [400, { error: 'truncate must be a non-negative integer (bytes sent)' }];
      }
      si.s3Next = keys.length ? { ...body } : null;
      return [200, { next: si.s3Next }];
    }
    case 'GET output_file':
      return [200, { path: si.outputFile }];
    case 'POST output_file': { // {path}: every egress writes a copy of it; {} clears
      if ('path' in body && body.path !== null) {
        if (typeof body.path !== 'string' || !path.isAbsolute(body.path)) {
          return [400, { error: 'path must be an absolute file name' }];
        }
        try {
          fs.accessSync(body.path, fs.constants.R_OK);
        } catch (e) {
          return [400, { error: `cannot read ${body.path}: ${e.code}` }];
        }
      }
      si.outputFile = body.path ?? null;
      return [200, { path: si.outputFile }];
    }
    case 'GET webhooks':
      return [200, { webhooks: si.webhooks }];
    case 'POST resend':
      if (!Number.isInteger(body.index)) return [400, { error: 'index must be an integer' }];
      return si.resend(body.index);
    case 'POST end':
      if (typeof body.egress_id !== 'string') return [400, { error: 'egress_id must be a string' }];
      return si.endFromControl(body.egress_id, body.status);
    case 'POST forget': // as if LiveKit deleted the record (24 h after it ended)
      if (!si.egresses.delete(body.egress_id)) return [404, { error: 'egress does not exist' }];
      return [200, { forgotten: body.egress_id }];
    case 'POST wait': {
      const deadline = Date.now() + (Number.isInteger(body.timeout_ms) ? body.timeout_ms : 30000);
      while (si.pendingCount() > 0 && Date.now() < deadline) await sleep(10);
      const pending = si.pendingCount();
      return pending === 0 ? [200, { idle: true }] : [504, { idle: false, pending }];
    }
    default:
      return [404, { error: `no control route ${route}` }];
  }
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0 };
  const names = {
    '--port': 'port', '--port-file': 'portFile', '--api-key': 'apiKey', '--api-secret': 'apiSecret',
    '--webhook-url': 'webhookUrl', '--host': 'host', '--log': 'log', '--fixture-mp4': 'fixtureMp4',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    if (a.includes('=')) [a, v] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    if (a === '--help' || a === '-h') opts.help = true;
    else if (names[a]) {
      if (v === undefined) {
        if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
        v = argv[++i];
      }
      opts[names[a]] = v;
    } else throw new Error(`unknown argument ${a}`);
  }
  opts.port = Number(opts.port);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error('--port must be 0..65535');
  return opts;
}

const USAGE = `usage: node standin.mjs --api-key KEY --api-secret SECRET [--webhook-url URL]
       [--port 0] [--port-file FILE] [--host 127.0.0.1] [--log FILE] [--fixture-mp4 FILE]`;

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    if (opts.help) { console.log(USAGE); return; }
    if (!opts.apiKey || !opts.apiSecret) throw new Error('--api-key and --api-secret are required');
    if (opts.fixtureMp4) fs.accessSync(opts.fixtureMp4, fs.constants.R_OK);
  } catch (e) {
    console.error(`standin: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  const logStream = opts.log ? fs.createWriteStream(opts.log, { flags: 'a' }) : process.stderr;
  const log = (line) => logStream.write(`${new Date().toISOString()} ${line}\n`);

  const si = new StandIn({ ...opts, log });
  const server = createServer(si);
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    log(`listening host=${opts.host} port=${port} webhook_url=${opts.webhookUrl ?? ''}`);
    if (opts.portFile) {
      // Atomic: a reader sees either no file or the whole port number.
      const tmp = `${opts.portFile}.tmp.${process.pid}`;
      fs.writeFileSync(tmp, `${port}\n`);
      fs.renameSync(tmp, opts.portFile);
    }
  });
  server.on('error', (e) => {
    log(`fatal: ${e.message}`);
    process.exit(1);
  });

  let stopping = false;
  const stop = (sig) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down`);
    si.shutdown();
    server.close(() => {
      if (logStream !== process.stderr) logStream.end(() => process.exit(0));
      else process.exit(0);
    });
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  main();
}
