#!/usr/bin/env node
// ncserver.mjs - a Nextcloud-protocol test server for meetrec's storage
// backend (src/store_webdav.c).  Node built-ins only.
//
// It plays the parts of Nextcloud that meetrec uses, with the statuses and
// bodies of shared/protocols/storage.md:
//   * WebDAV under /remote.php/dav/files/{user}/: MKCOL, PUT, GET, HEAD,
//     DELETE, PROPFIND (Depth 0/1, multistatus with odd namespace prefixes:
//     "x1:" is DAV: and "d:" is the ownCloud namespace, getcontentlength is
//     written with a default namespace, and 404 propstats come first, so a
//     client that matches by prefix or reads the first propstat breaks);
//   * chunked upload v2 under /remote.php/dav/uploads/{user}/{id}/: MKCOL,
//     chunk PUT, PROPFIND, MOVE .file (assembled in numeric order under a
//     lock: a concurrent MOVE gets 423), DELETE;
//   * the OCS share API under /ocs/v{1,2}.php/apps/files_sharing/api/v1/
//     shares (create, list, delete), JSON envelopes as v1 or v2 answer them;
//   * the direct download API (storage.md 3.5): POST /ocs/v{1,2}.php/apps/
//     dav/api/v1/direct with fileId (oc:fileid, stable per path, kept on
//     overwrite) and expirationTime (1..86400, default 28800) answers
//     ocs.data.url = http://HOST/remote.php/direct/<60 alphanumerics>;
//     404 unknown fileId, 400 a folder or a bad expirationTime.  GET/HEAD
//     /remote.php/direct/<token> needs no auth, answers 404 for an unknown
//     or expired token, and streams the file from disk with its
//     Content-Type and Content-Length; Range: bytes=a-b, a- or -n gives 206
//     with Content-Range, an unsatisfiable one 416.
// Files live on disk under --root, so a test compares bytes directly:
// <root>/files/<user>/<path>.  Chunks live in <root>/uploads/<user>/<id>/.
//
// Stricter than Nextcloud, on purpose: MKCOL of an upload folder and chunk
// PUTs need Destination (and chunk PUTs OC-Total-Length), else 400.
//
// Control API (no auth): POST /_nc/faults {..} replaces the faults,
// GET /_nc/faults, GET /_nc/log[?since=N], POST /_nc/reset [{keep_files}],
// POST /_nc/wait {idle:true, timeout_ms}, GET /_nc/state.  Faults:
//   down_for_ms: N            503 to everything for N ms from now
//   fail_chunk_puts_after: K  chunk PUTs after the K-th (counted from when
//                             the faults were set) have their connection
//                             closed; with keep_partial: true the first half
//                             of the body is kept as the chunk (a short one)
//   move_delay_ms: N          assembly takes N ms more, holding the lock
//   chunk_delay_ms: N         each chunk PUT is answered N ms late
//   move_timeout_close: true  the MOVE's connection is closed at once while
//                             assembly goes on (a proxy timing out)
//   move_504: true            the MOVE is answered 504 at once, assembly
//                             goes on (a proxy's gateway timeout)
//   lose_metadata: true       every upload folder present forgets its v2
//                             metadata: its chunk PUTs and MOVE get 412
//   quota_bytes: N            PUT/chunk/MOVE that would go past N bytes of
//                             files get 507
//   legacy_duplicate_share: true  a second identical user share gets 403
//                             "... is already shared with ..." (before
//                             Nextcloud 22) instead of the existing share
//   ocs_v1_meta: true         the v2 endpoint answers with v1 conventions
//                             (HTTP 200, statuscode 100)
//   propfind_evil: "doctype"  multistatus answers carry a DTD with nested
//                             entities; "huge": a 9 MiB comment follows
//   direct_status: N          the direct API answers HTTP N (e.g. 503) with
//                             an OCS failure envelope
//   direct_bad_url: "..."     the direct API succeeds but ocs.data.url is
//                             this string (e.g. "javascript:alert(1)")

import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

const NS_DAV = 'DAV:';
const NS_OC = 'http://owncloud.org/ns';
const NS_NC = 'http://nextcloud.org/ns';
const NS_SABRE = 'http://sabredav.org/ns';

const LOGGED_HEADERS = ['destination', 'oc-total-length', 'x-oc-mtime',
  'oc-checksum', 'content-length', 'content-type', 'depth', 'overwrite',
  'ocs-apirequest', 'expect', 'transfer-encoding'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Options and state
// ---------------------------------------------------------------------------

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'port-file': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    root: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    sharees: { type: 'string', default: 'bob,carol,dave' },
    log: { type: 'string' },
  },
});
for (const k of ['root', 'user', 'password']) {
  if (!opt[k]) {
    process.stderr.write(`usage: ncserver.mjs --root DIR --user U --password P [--port 0] `
      + `[--port-file F] [--log F] [--sharees a,b]\n(missing --${k})\n`);
    process.exit(2);
  }
}
const USER = opt.user;
const ROOT = path.resolve(opt.root);
const FILES = path.join(ROOT, 'files', USER);
const UPLOADS = path.join(ROOT, 'uploads', USER);
const SHAREES = new Set(opt.sharees.split(',').filter(Boolean));

const st = {
  faults: {},
  downUntil: 0,
  chunkPuts: 0,
  log: [],
  inflight: 0,
  meta: new Map(),	// file path relative to FILES -> { fileid, etag, checksum }
  uploads: new Map(),	// upload id -> { destination, lostMeta }
  locks: new Set(),	// 'upload:<id>', 'file:<rel>'
  background: 0,	// assemblies still running after their answer
  shares: [],
  directs: new Map(),	// token -> { fileid, expires, ttl }
  nextFileId: 100,
  nextShareId: 1,
};

function logLine(obj) {
  const line = JSON.stringify({ t: new Date().toISOString(), ...obj }) + '\n';
  if (opt.log) fs.appendFileSync(opt.log, line);
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function xmlEsc(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({
    '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;',
  }[c]));
}

// A sabre/dav error body, as Nextcloud sends it.
function sabreError(exception, message) {
  return '<?xml version="1.0" encoding="utf-8"?>\n'
    + `<d:error xmlns:d="DAV:" xmlns:s="${NS_SABRE}">\n`
    + `  <s:exception>${xmlEsc(exception)}</s:exception>\n`
    + `  <s:message>${xmlEsc(message)}</s:message>\n</d:error>\n`;
}

function send(req, res, status, body = '', headers = {}) {
  if (res.headersSent || res.destroyed) return;
  // An unread request body must not block the next request.
  if (!req.complete) req.resume();
  const h = { ...headers };
  if (body.length && !h['Content-Type']) h['Content-Type'] = 'application/xml; charset=utf-8';
  h['Content-Length'] = Buffer.byteLength(body);
  res.writeHead(status, h);
  res.end(req.method === 'HEAD' ? undefined : body);
}

// Stream a request body into the file part; its size, or null when the
// client went away (the part is removed and the log entry says why).
async function receiveBody(req, part, entry) {
  try {
    await pipeline(req, fs.createWriteStream(part));
  } catch (e) {
    await fsp.rm(part, { force: true });
    entry.note = `body: ${e.code ?? e.message}`;
    return null;
  }
  const got = (await fsp.stat(part)).size;
  entry.body_bytes = got;
  return got;
}

function davError(req, res, status, exception, message, headers) {
  send(req, res, status, sabreError(`Sabre\\DAV\\Exception\\${exception}`, message), headers);
}

async function statOrNull(p) {
  try { return await fsp.stat(p); } catch { return null; }
}

async function readBody(req, max = 1 << 20) {
  const parts = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > max) throw new Error('body too large');
    parts.push(c);
  }
  return Buffer.concat(parts);
}

// The raw path split into decoded segments; null when malformed.
function segments(rawPath) {
  const out = [];
  for (const s of rawPath.split('/')) {
    if (s === '') continue;
    let d;
    try { d = decodeURIComponent(s); } catch { return null; }
    if (d === '.' || d === '..' || d.includes('/') || d.includes('\0')) return null;
    out.push(d);
  }
  return out;
}

const encPath = (segs) => segs.map((s) => encodeURIComponent(s)).join('/');

function newEtag() {
  return crypto.randomBytes(7).toString('hex');
}

function metaOf(rel) {
  let m = st.meta.get(rel);
  if (!m) {
    m = { fileid: st.nextFileId++, etag: newEtag(), checksum: null };
    st.meta.set(rel, m);
  }
  return m;
}

async function usedBytes(dir = FILES) {
  let total = 0;
  let ents;
  try { ents = await fsp.readdir(dir, { withFileTypes: true }); } catch { return 0; }
  for (const e of ents) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await usedBytes(p);
    else if (e.isFile() && !e.name.endsWith('.part')) total += (await fsp.stat(p)).size;
  }
  return total;
}

async function overQuota(extra) {
  const q = st.faults.quota_bytes;
  if (q === undefined || q === null) return false;
  return (await usedBytes()) + extra > q;
}

// Destination: a full URL or an absolute path, into FILES; null if not ours.
function destToRel(dest) {
  if (!dest) return null;
  let p = dest;
  if (/^https?:\/\//i.test(p)) {
    const i = p.indexOf('/', p.indexOf('//') + 2);
    p = i < 0 ? '/' : p.slice(i);
  }
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  const segs = segments(p);
  if (!segs || segs.length < 5) return null;
  const [a, b, c, u, ...rest] = segs;
  if (a !== 'remote.php' || b !== 'dav' || c !== 'files' || u !== USER) return null;
  return rest;
}

// ---------------------------------------------------------------------------
// PROPFIND
// ---------------------------------------------------------------------------

// The properties a PROPFIND body asks for, as [ns, local] pairs; null for
// allprop (or no body).  A small namespace-aware tag scanner.
function requestedProps(body) {
  const text = body.toString('utf8');
  if (!text.trim()) return null;
  const stack = [];
  const props = [];
  let inProp = -1;
  let allprop = false;
  const re = /<(\/?)([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([^>]*?)(\/?)>/g;
  let m;
  while ((m = re.exec(text))) {
    const [, close, pfx, local, attrs, selfClose] = m;
    if (close) {
      const top = stack.pop();
      if (inProp === stack.length) inProp = -1;
      void top;
      continue;
    }
    const ns = { ...(stack.length ? stack[stack.length - 1] : {}) };
    for (const a of attrs.matchAll(/xmlns(?::([\w.-]+))?\s*=\s*"([^"]*)"/g)) {
      ns[a[1] ?? ''] = a[2];
    }
    const uri = ns[pfx ? pfx.slice(0, -1) : ''] ?? '';
    if (inProp >= 0 && stack.length === inProp + 1) props.push([uri, local]);
    if (uri === NS_DAV && local === 'allprop') allprop = true;
    if (selfClose) continue;
    if (uri === NS_DAV && local === 'prop') inProp = stack.length;
    stack.push(ns);
  }
  return allprop || !props.length ? null : props;
}

const PREFIX = { [NS_DAV]: 'x1', [NS_OC]: 'd', [NS_NC]: 'x2' };

function propXml(ns, local, value) {
  if (ns === NS_DAV && local === 'getcontentlength') {
    // A default namespace declaration instead of a prefix.
    return `<getcontentlength xmlns="DAV:">${value}</getcontentlength>`;
  }
  const p = PREFIX[ns];
  const tag = p ? `${p}:${local}` : `x9:${local}`;
  const decl = p ? '' : ` xmlns:x9="${xmlEsc(ns)}"`;
  return value === '' ? `<${tag}${decl}/>` : `<${tag}${decl}>${value}</${tag}>`;
}

// Known property values of one node; undefined = not found (404 propstat).
function propValue(ns, local, node) {
  const { isDir, size, mtime, meta, kind } = node;
  if (ns === NS_DAV) {
    switch (local) {
      case 'resourcetype': return isDir ? '<x1:collection/>' : '';
      case 'getcontentlength': return isDir ? undefined : String(size);
      case 'getcontenttype': return isDir ? undefined : 'application/octet-stream';
      case 'getetag': return kind === 'chunk' ? undefined : `&quot;${meta.etag}&quot;`;
      case 'getlastmodified': return new Date(mtime).toUTCString();
      case 'displayname': return undefined;
      default: return undefined;
    }
  }
  if (ns === NS_OC && kind === 'file') {
    switch (local) {
      case 'size': return String(size);
      case 'fileid': return String(meta.fileid);
      case 'id': return `${String(meta.fileid).padStart(8, '0')}ocncserver`;
      case 'permissions': return isDir ? 'RGDNVCK' : 'RGDNVW';
      case 'checksums':
        return !isDir && meta.checksum
          ? `<d:checksum>${xmlEsc(meta.checksum)}</d:checksum>` : undefined;
      default: return undefined;
    }
  }
  return undefined;
}

const ALLPROP = [[NS_DAV, 'resourcetype'], [NS_DAV, 'getcontentlength'],
  [NS_DAV, 'getcontenttype'], [NS_DAV, 'getetag'], [NS_DAV, 'getlastmodified']];

function responseXml(href, node, wanted) {
  const found = [];
  const missing = [];
  for (const [ns, local] of wanted ?? ALLPROP) {
    const v = propValue(ns, local, node);
    if (v === undefined) {
      if (wanted) missing.push(propXml(ns, local, ''));
    } else {
      found.push(propXml(ns, local, v));
    }
  }
  let x = `<x1:response><x1:href>${xmlEsc(href)}</x1:href>`;
  // The 404 propstat first: a client must not just read the first one.
  if (missing.length) {
    x += `<x1:propstat><x1:prop>${missing.join('')}</x1:prop>`
      + '<x1:status>HTTP/1.1 404 Not Found</x1:status></x1:propstat>';
  }
  x += `<x1:propstat><x1:prop>${found.join('')}</x1:prop>`
    + '<x1:status>HTTP/1.1 200 OK</x1:status></x1:propstat></x1:response>';
  return x;
}

function multistatus(responses) {
  const evil = st.faults.propfind_evil;
  let head = '<?xml version="1.0"?>\n';
  let tail = '';
  if (evil === 'doctype') {
    // Entity expansion ("billion laughs"): a client must refuse a DTD.
    head += '<!DOCTYPE x1:multistatus [<!ENTITY a "aaaaaaaaaaaaaaaa">'
      + '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
      + '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n';
    responses = responses.map((r) => r.replace('</x1:href>', '&c;</x1:href>'));
  } else if (evil === 'huge') {
    // Past any sane cap on an answer.
    tail = `<!-- ${'x'.repeat(9 * 1024 * 1024)} -->\n`;
  }
  return head
    + `<x1:multistatus xmlns:x1="DAV:" xmlns:s="${NS_SABRE}" xmlns:d="${NS_OC}" `
    + `xmlns:x2="${NS_NC}">${responses.join('')}</x1:multistatus>\n${tail}`;
}

function depthOf(req) {
  const d = (req.headers.depth ?? 'infinity').toLowerCase();
  // sabre without depth infinity treats it as 1.
  return d === '0' ? 0 : 1;
}

// ---------------------------------------------------------------------------
// /remote.php/dav/files/{user}/...
// ---------------------------------------------------------------------------

async function davFiles(req, res, rel, entry) {
  const target = path.join(FILES, ...rel);
  const relKey = rel.join('/');
  const parent = path.dirname(target);
  const s = await statOrNull(target);
  const m = req.method;

  if (m === 'MKCOL') {
    if (req.headers['content-length'] && req.headers['content-length'] !== '0') {
      return davError(req, res, 415, 'UnsupportedMediaType', 'The request body for the MKCOL request must have an xml Content-Type');
    }
    if (s) return davError(req, res, 405, 'MethodNotAllowed', 'The resource you tried to create already exists');
    const ps = await statOrNull(parent);
    if (!ps || !ps.isDirectory()) return davError(req, res, 409, 'Conflict', 'Parent node does not exist');
    if (await overQuota(4096)) return davError(req, res, 507, 'InsufficientStorage', 'Insufficient space in /' + relKey);
    await fsp.mkdir(target);
    return send(req, res, 201);
  }

  if (m === 'PUT') {
    if (s && s.isDirectory()) return davError(req, res, 405, 'MethodNotAllowed', 'PUT is not allowed on non-files.');
    const ps = await statOrNull(parent);
    if (!ps || !ps.isDirectory()) return davError(req, res, 409, 'Conflict', 'Files cannot be created in non-existent collections');
    if (st.locks.has(`file:${relKey}`)) return davError(req, res, 423, 'Locked', `"${relKey}" is locked`);
    const cl = req.headers['content-length'];
    const expect = Number(req.headers['oc-total-length'] ?? cl ?? 0);
    if (await overQuota(expect)) return davError(req, res, 507, 'InsufficientStorage', `Insufficient space in /${relKey}, ${expect} required`);
    const part = path.join(parent, `.${path.basename(target)}.ocTransferId${crypto.randomInt(1e9)}.part`);
    const got = await receiveBody(req, part, entry);
    if (got === null) return undefined;
    if (cl !== undefined && Number(cl) !== got) {
      await fsp.rm(part, { force: true });
      return davError(req, res, 400, 'BadRequest', `Expected filesize of ${cl} bytes but read (from Nextcloud client) and wrote (to Nextcloud storage) ${got} bytes. Could either be a network problem on the sending side or a problem writing to the storage on the server side.`);
    }
    await fsp.rename(part, target);
    const meta = metaOf(relKey);
    meta.etag = newEtag();
    // A PUT without OC-Checksum clears the stored one (storage.md 1.4).
    meta.checksum = req.headers['oc-checksum'] ?? null;
    const h = { 'OC-ETag': `"${meta.etag}"`, ETag: `"${meta.etag}"`,
      'OC-FileId': `${String(meta.fileid).padStart(8, '0')}ocncserver` };
    const mt = req.headers['x-oc-mtime'];
    if (mt !== undefined) {
      if (!/^\d+$/.test(mt)) return davError(req, res, 400, 'BadRequest', 'X-OC-MTime header must be an integer (unix timestamp).');
      await fsp.utimes(target, Number(mt), Number(mt));
      h['X-OC-MTime'] = 'accepted';
    }
    return send(req, res, s ? 204 : 201, '', h);
  }

  if (m === 'GET' || m === 'HEAD') {
    if (!s) return davError(req, res, 404, 'NotFound', `File with name ${relKey} could not be located`);
    if (s.isDirectory()) return davError(req, res, 405, 'MethodNotAllowed', 'GET is not allowed on collections');
    const meta = metaOf(relKey);
    res.writeHead(200, { 'Content-Length': s.size, 'Content-Type': 'application/octet-stream',
      ETag: `"${meta.etag}"`, 'OC-ETag': `"${meta.etag}"` });
    if (m === 'HEAD') return res.end();
    return pipeline(fs.createReadStream(target), res).catch(() => {});
  }

  if (m === 'DELETE') {
    if (!s) return davError(req, res, 404, 'NotFound', `File with name ${relKey} could not be located`);
    if (st.locks.has(`file:${relKey}`)) return davError(req, res, 423, 'Locked', `"${relKey}" is locked`);
    await fsp.rm(target, { recursive: true, force: true });
    for (const k of [...st.meta.keys()]) {
      if (k === relKey || k.startsWith(`${relKey}/`)) st.meta.delete(k);
    }
    return send(req, res, 204);
  }

  if (m === 'PROPFIND') {
    const wanted = requestedProps(await readBody(req));
    if (!s) return davError(req, res, 404, 'NotFound', `File with name ${relKey} could not be located`);
    const base = `/remote.php/dav/files/${encodeURIComponent(USER)}/`;
    const node = (p, segs, stt) => ({
      isDir: stt.isDirectory(), size: stt.size, mtime: stt.mtimeMs, kind: 'file',
      meta: metaOf(segs.join('/')), href: base + encPath(segs) + (stt.isDirectory() && segs.length ? '/' : ''),
    });
    const out = [];
    const self = node(target, rel, s);
    out.push(responseXml(self.href, self, wanted));
    if (s.isDirectory() && depthOf(req) === 1) {
      const names = (await fsp.readdir(target)).filter((n) => !n.endsWith('.part')).sort();
      for (const n of names) {
        const cs = await statOrNull(path.join(target, n));
        if (!cs) continue;
        const c = node(path.join(target, n), [...rel, n], cs);
        out.push(responseXml(c.href, c, wanted));
      }
    }
    return send(req, res, 207, multistatus(out));
  }

  return davError(req, res, 405, 'MethodNotAllowed', `${m} is not allowed here`);
}

// ---------------------------------------------------------------------------
// /remote.php/dav/uploads/{user}/{id}/...
// ---------------------------------------------------------------------------

const CHUNK_RE = /^\d+$/;

async function listChunks(dir) {
  const out = [];
  for (const n of await fsp.readdir(dir)) {
    if (!CHUNK_RE.test(n)) continue;
    const s = await statOrNull(path.join(dir, n));
    if (s && s.isFile()) out.push({ name: n, num: Number(n), size: s.size, mtime: s.mtimeMs });
  }
  return out.sort((a, b) => a.num - b.num);
}

async function davUploads(req, res, segs, entry) {
  const m = req.method;
  const base = `/remote.php/dav/uploads/${encodeURIComponent(USER)}/`;
  if (segs.length === 0) {
    if (m !== 'PROPFIND') return davError(req, res, 403, 'Forbidden', 'Permission denied to create file');
    await readBody(req);
    const out = [responseXml(base, { isDir: true, size: 0, mtime: Date.now(), kind: 'upload', meta: {} }, null)];
    for (const id of (await fsp.readdir(UPLOADS)).sort()) {
      out.push(responseXml(`${base}${encodeURIComponent(id)}/`, { isDir: true, size: 0, mtime: Date.now(), kind: 'upload', meta: {} }, null));
    }
    return send(req, res, 207, multistatus(out));
  }
  const id = segs[0];
  const dir = path.join(UPLOADS, id);
  const ds = await statOrNull(dir);
  const up = st.uploads.get(id);

  if (segs.length === 1) {
    if (m === 'MKCOL') {
      if (ds) return davError(req, res, 405, 'MethodNotAllowed', 'The resource you tried to create already exists');
      const dest = req.headers.destination;
      if (!destToRel(dest)) return davError(req, res, 400, 'BadRequest', 'Destination header is missing or not a file path of this user');
      await fsp.mkdir(dir);
      st.uploads.set(id, { destination: dest, lostMeta: false });
      return send(req, res, 201);
    }
    if (m === 'DELETE') {
      if (!ds) return davError(req, res, 404, 'NotFound', `File with name ${id} could not be located`);
      if (st.locks.has(`upload:${id}`)) return davError(req, res, 423, 'Locked', `"${id}" is locked`);
      await fsp.rm(dir, { recursive: true, force: true });
      st.uploads.delete(id);
      return send(req, res, 204);
    }
    if (m === 'PROPFIND') {
      const wanted = requestedProps(await readBody(req));
      if (!ds) return davError(req, res, 404, 'NotFound', `File with name ${id} could not be located`);
      const chunks = await listChunks(dir);
      const out = [responseXml(`${base}${encodeURIComponent(id)}/`, { isDir: true, size: 0, mtime: ds.mtimeMs, kind: 'upload', meta: {} }, wanted)];
      if (depthOf(req) === 1) {
        const sum = chunks.reduce((a, c) => a + c.size, 0);
        out.push(responseXml(`${base}${encodeURIComponent(id)}/.file`, { isDir: false, size: sum, mtime: Date.now(), kind: 'chunk', meta: {} }, wanted));
        for (const c of chunks) {
          out.push(responseXml(`${base}${encodeURIComponent(id)}/${c.name}`, { isDir: false, size: c.size, mtime: c.mtime, kind: 'chunk', meta: {} }, wanted));
        }
      }
      return send(req, res, 207, multistatus(out));
    }
    return davError(req, res, 405, 'MethodNotAllowed', `${m} is not allowed on an upload folder`);
  }
  if (segs.length > 2) return davError(req, res, 403, 'Forbidden', 'Permission denied to create folder');

  const name = segs[1];
  if (m === 'MKCOL') return davError(req, res, 403, 'Forbidden', 'Permission denied to create folder');
  if (name === '.file' && m === 'MOVE') return moveFile(req, res, id, dir, ds, up, entry);
  if (m === 'GET') return davError(req, res, 405, 'MethodNotAllowed', 'GET is not allowed on chunks');

  if (m === 'PUT') {
    if (!ds) return davError(req, res, 409, 'Conflict', 'Files cannot be created in non-existent collections');
    if (up && up.lostMeta) return davError(req, res, 412, 'PreconditionFailed', 'Missing metadata for chunked upload. The distributed cache does not hold the information of previous requests.');
    if (!CHUNK_RE.test(name) || Number(name) < 1 || Number(name) > 10000) {
      return davError(req, res, 400, 'BadRequest', 'Invalid chunk name, must be numeric between 1 and 10000');
    }
    if (!destToRel(req.headers.destination)) return davError(req, res, 400, 'BadRequest', 'Destination header is missing on a chunk PUT');
    const total = req.headers['oc-total-length'];
    if (total === undefined || !/^\d+$/.test(total)) return davError(req, res, 400, 'BadRequest', 'OC-Total-Length header is missing on a chunk PUT');
    if (st.locks.has(`upload:${id}`)) return davError(req, res, 423, 'Locked', `"${id}" is locked`);
    if (await overQuota(Number(total))) return davError(req, res, 507, 'InsufficientStorage', `Insufficient space, ${total} required`);
    st.chunkPuts++;
    const f = st.faults;
    const failing = f.fail_chunk_puts_after !== undefined && st.chunkPuts > f.fail_chunk_puts_after;
    const part = path.join(dir, `.${name}.part`);
    const got = await receiveBody(req, part, entry);
    if (got === null) return undefined;
    if (failing) {
      // The process died half-way: maybe half a chunk stays behind.
      if (f.keep_partial) {
        await fsp.truncate(part, Math.floor(got / 2));
        await fsp.rename(part, path.join(dir, name));
      } else {
        await fsp.rm(part, { force: true });
      }
      entry.note = 'fault: connection closed';
      req.socket.destroy();
      return undefined;
    }
    // A slow server: the chunk is answered only after a while.
    if (f.chunk_delay_ms) await sleep(f.chunk_delay_ms);
    const cl = req.headers['content-length'];
    if (cl !== undefined && Number(cl) !== got) {
      await fsp.rm(part, { force: true });
      return davError(req, res, 400, 'BadRequest', `Expected filesize of ${cl} bytes but read (from Nextcloud client) and wrote (to Nextcloud storage) ${got} bytes. Could either be a network problem on the sending side or a problem writing to the storage on the server side.`);
    }
    const existed = await statOrNull(path.join(dir, name));
    await fsp.rename(part, path.join(dir, name));
    return send(req, res, existed ? 204 : 201);
  }
  if (m === 'DELETE') {
    if (!ds) return davError(req, res, 404, 'NotFound', `File with name ${name} could not be located`);
    await fsp.rm(path.join(dir, name), { force: true });
    return send(req, res, 204);
  }
  return davError(req, res, 405, 'MethodNotAllowed', `${m} is not allowed on chunks`);
}

async function moveFile(req, res, id, dir, ds, up, entry) {
  if (!ds) return davError(req, res, 404, 'NotFound', `File with name ${id} could not be located`);
  if (up && up.lostMeta) return davError(req, res, 412, 'PreconditionFailed', 'Missing metadata for chunked upload. The distributed cache does not hold the information of previous requests.');
  if (st.locks.has(`upload:${id}`)) return davError(req, res, 423, 'Locked', `"${id}/.file" is locked`);
  const destSegs = destToRel(req.headers.destination);
  if (!destSegs || !destSegs.length) return davError(req, res, 400, 'BadRequest', 'The destination header is missing or invalid');
  const destRel = destSegs.join('/');
  const dest = path.join(FILES, ...destSegs);
  const ps = await statOrNull(path.dirname(dest));
  if (!ps || !ps.isDirectory()) return davError(req, res, 409, 'Conflict', 'The destination node is not found');
  const ds2 = await statOrNull(dest);
  if (ds2 && ds2.isDirectory()) return davError(req, res, 400, 'BadRequest', 'The given destination is a directory');
  if (st.locks.has(`file:${destRel}`)) return davError(req, res, 423, 'Locked', `"${destRel}" is locked`);
  const chunks = await listChunks(dir);
  const sum = chunks.reduce((a, c) => a + c.size, 0);
  const total = req.headers['oc-total-length'];
  if (total !== undefined && Number(total) !== sum) {
    return davError(req, res, 400, 'BadRequest', `Chunks on server do not sum up to ${total} but to ${sum} bytes`);
  }
  if (await overQuota(sum - (ds2 ? ds2.size : 0))) return davError(req, res, 507, 'InsufficientStorage', `Insufficient space, ${sum} required`);

  st.locks.add(`upload:${id}`);
  st.locks.add(`file:${destRel}`);
  const f = st.faults;
  let answered = false;
  if (f.move_timeout_close) {
    entry.note = 'fault: connection closed, assembling on';
    req.socket.destroy();
    answered = true;
  } else if (f.move_504) {
    entry.note = 'fault: 504, assembling on';
    send(req, res, 504, '<html><body>504 Gateway Time-out</body></html>', { 'Content-Type': 'text/html' });
    answered = true;
  }
  st.background++;
  try {
    if (f.move_delay_ms) await sleep(f.move_delay_ms);
    const part = path.join(path.dirname(dest), `.${path.basename(dest)}.ocTransferId${crypto.randomInt(1e9)}.part`);
    const out = fs.createWriteStream(part);
    for (const c of chunks) {
      await pipeline(fs.createReadStream(path.join(dir, c.name)), out, { end: false });
    }
    await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
    await fsp.rename(part, dest);
    const meta = metaOf(destRel);
    meta.etag = newEtag();
    meta.checksum = req.headers['oc-checksum'] ?? null;
    const h = { 'OC-ETag': `"${meta.etag}"`, ETag: `"${meta.etag}"`,
      'OC-FileId': `${String(meta.fileid).padStart(8, '0')}ocncserver` };
    const mt = req.headers['x-oc-mtime'];
    if (mt !== undefined && /^\d+$/.test(mt)) {
      await fsp.utimes(dest, Number(mt), Number(mt));
      h['X-OC-MTime'] = 'accepted';
    }
    await fsp.rm(dir, { recursive: true, force: true });
    st.uploads.delete(id);
    if (!answered) send(req, res, ds2 ? 204 : 201, '', h);
  } finally {
    st.locks.delete(`upload:${id}`);
    st.locks.delete(`file:${destRel}`);
    st.background--;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// OCS shares
// ---------------------------------------------------------------------------

function ocsSend(req, res, v1, status, message, data) {
  // v1: HTTP 200 with statuscode 100 on success; v2: the status itself.
  const asV1 = v1 || st.faults.ocs_v1_meta;
  const ok = status === 200;
  const code = ok && asV1 ? 100 : status;
  const body = JSON.stringify({ ocs: { meta: { status: ok ? 'ok' : 'failure',
    statuscode: code, message: message ?? (ok ? 'OK' : ''),
    totalitems: '', itemsperpage: '' }, data: data ?? [] } });
  const httpStatus = asV1 ? (status === 401 ? 401 : 200) : status;
  send(req, res, httpStatus, body, { 'Content-Type': 'application/json; charset=utf-8' });
}

async function formatShare(sh) {
  const abs = path.join(FILES, ...sh.path.split('/').filter(Boolean));
  const s = await statOrNull(abs);
  const meta = metaOf(sh.path.split('/').filter(Boolean).join('/'));
  return {
    id: String(sh.id), share_type: sh.shareType, uid_owner: USER, displayname_owner: USER,
    permissions: sh.permissions, can_edit: true, can_delete: true, stime: sh.stime,
    parent: null, expiration: null, token: sh.token, uid_file_owner: USER,
    note: '', label: '', displayname_file_owner: USER, path: sh.path,
    item_type: s && s.isDirectory() ? 'folder' : 'file', item_permissions: 27,
    mimetype: 'application/octet-stream', has_preview: false, storage_id: `home::${USER}`,
    storage: 1, item_source: meta.fileid, file_source: meta.fileid, file_parent: 1,
    file_target: `/${path.basename(sh.path)}`, item_size: s ? s.size : 0, item_mtime: s ? Math.floor(s.mtimeMs / 1000) : 0,
    share_with: sh.shareWith, share_with_displayname: sh.shareWith,
    share_with_displayname_unique: sh.shareWith, status: [], mail_send: 0, hide_download: 0,
    attributes: null, url: sh.url,
  };
}

async function ocs(req, res, v1, rest, query) {
  if ((req.headers['ocs-apirequest'] ?? '').toLowerCase() !== 'true') {
    return send(req, res, 412, JSON.stringify({ message: 'CSRF check failed' }), { 'Content-Type': 'application/json; charset=utf-8' });
  }
  if (rest.length === 0 && req.method === 'POST') {
    const p = new URLSearchParams((await readBody(req)).toString('utf8'));
    const sharePath = p.get('path');
    if (sharePath === null) return ocsSend(req, res, v1, 404, 'Please specify a file or folder path');
    const segs = sharePath.split('/').filter(Boolean);
    if (segs.some((x) => x === '.' || x === '..')) return ocsSend(req, res, v1, 404, 'Wrong path, file/folder does not exist');
    const s = await statOrNull(path.join(FILES, ...segs));
    if (!s) return ocsSend(req, res, v1, 404, 'Wrong path, file/folder does not exist');
    const norm = `/${segs.join('/')}`;
    let perms = p.has('permissions') ? Number(p.get('permissions')) : 31;
    if (!Number.isInteger(perms) || perms < 0 || perms > 31) return ocsSend(req, res, v1, 404, 'Invalid permissions');
    perms |= 1;
    if (s.isFile()) perms &= ~(4 | 8);
    const type = Number(p.get('shareType') ?? -1);
    let sh;
    if (type === 0) {
      const w = p.get('shareWith');
      if (!w || !(SHAREES.has(w) || w === USER)) return ocsSend(req, res, v1, 404, 'Please specify a valid account to share with');
      if (w === USER) return ocsSend(req, res, v1, 403, 'Cannot share with the share owner');
      const dup = st.shares.find((x) => x.shareType === 0 && x.path === norm && x.shareWith === w);
      if (dup) {
        if (st.faults.legacy_duplicate_share) {
          return ocsSend(req, res, v1, 403, `Sharing ${path.basename(norm)} failed, because this item is already shared with ${w}`);
        }
        // Nextcloud 22+: AlreadySharedException is caught, the existing share returned.
        return ocsSend(req, res, v1, 200, null, await formatShare(dup));
      }
      sh = { id: st.nextShareId++, shareType: 0, path: norm, shareWith: w, permissions: perms,
        stime: Math.floor(Date.now() / 1000), token: null, url: undefined };
    } else if (type === 3) {
      const token = crypto.randomBytes(8).toString('hex');
      sh = { id: st.nextShareId++, shareType: 3, path: norm, shareWith: null, permissions: 1,
        stime: Math.floor(Date.now() / 1000), token, url: `http://${req.headers.host}/s/${token}` };
    } else {
      return ocsSend(req, res, v1, 400, 'Unknown share type');
    }
    st.shares.push(sh);
    return ocsSend(req, res, v1, 200, null, await formatShare(sh));
  }
  if (rest.length === 0 && req.method === 'GET') {
    let list = st.shares;
    const want = query.get('path');
    if (want !== null) {
      const segs = want.split('/').filter(Boolean);
      if (!(await statOrNull(path.join(FILES, ...segs)))) return ocsSend(req, res, v1, 404, 'Wrong path, file/folder does not exist');
      list = list.filter((x) => x.path === `/${segs.join('/')}`);
    }
    const data = [];
    for (const x of list) data.push(await formatShare(x));
    return ocsSend(req, res, v1, 200, null, data);
  }
  if (rest.length === 1 && req.method === 'DELETE') {
    const i = st.shares.findIndex((x) => String(x.id) === rest[0]);
    if (i < 0) return ocsSend(req, res, v1, 404, 'Wrong share ID, share does not exist');
    st.shares.splice(i, 1);
    return ocsSend(req, res, v1, 200, null, []);
  }
  return ocsSend(req, res, v1, 404, 'Invalid query');
}


// ---------------------------------------------------------------------------
// Direct download: OCS /apps/dav/api/v1/direct and /remote.php/direct/
// ---------------------------------------------------------------------------

const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function directToken() {
  // ISecureRandom::generate(60, CHAR_ALPHANUMERIC)
  let t = '';
  for (const b of crypto.randomBytes(60)) t += TOKEN_CHARS[b % TOKEN_CHARS.length];
  return t;
}

// The file (relative path) that holds fileid, or null.
function relOfFileId(fileid) {
  for (const [rel, m] of st.meta) if (m.fileid === fileid) return rel;
  return null;
}

const MIME = { '.mp4': 'video/mp4', '.m4a': 'audio/mp4', '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg', '.webm': 'video/webm', '.txt': 'text/plain' };

async function ocsDirect(req, res, v1) {
  if ((req.headers['ocs-apirequest'] ?? '').toLowerCase() !== 'true') {
    return send(req, res, 412, JSON.stringify({ message: 'CSRF check failed' }), { 'Content-Type': 'application/json; charset=utf-8' });
  }
  if (req.method !== 'POST') return ocsSend(req, res, v1, 405, 'Method not allowed');
  const p = new URLSearchParams((await readBody(req)).toString('utf8'));
  const f = st.faults;
  if (f.direct_status) {
    return ocsSend(req, res, false, Number(f.direct_status), 'Service unavailable (fault injected)');
  }
  const fid = p.get('fileId') ?? '';
  if (!/^\d{1,18}$/.test(fid)) return ocsSend(req, res, v1, 400, 'Invalid fileId');
  const rel = relOfFileId(Number(fid));
  const s = rel === null ? null : await statOrNull(path.join(FILES, ...rel.split('/').filter(Boolean)));
  if (!s) return ocsSend(req, res, v1, 404, '');
  const et = p.has('expirationTime') ? p.get('expirationTime') : String(60 * 60 * 8);
  const ttl = /^-?\d+$/.test(et) ? Number(et) : NaN;
  if (!(ttl > 0 && ttl <= 60 * 60 * 24)) {
    return ocsSend(req, res, v1, 400, `Expiration time should be greater than 0 and less than or equal to ${60 * 60 * 24}`);
  }
  if (!s.isFile()) return ocsSend(req, res, v1, 400, 'Direct download only works for files');
  const token = directToken();
  st.directs.set(token, { fileid: Number(fid), expires: Date.now() + ttl * 1000, ttl });
  const url = f.direct_bad_url ?? `http://${req.headers.host}/remote.php/direct/${token}`;
  return ocsSend(req, res, v1, 200, null, { url });
}

// "bytes=a-b" / "a-" / "-n" against size: { start, end } (inclusive),
// 'unsatisfiable', or null to ignore the header (as sabre does for
// several ranges or a malformed one).
function parseRange(h, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start;
  let end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

async function directGet(req, res, token, entry) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return davError(req, res, 405, 'MethodNotAllowed', `${req.method} is not allowed here`);
  }
  const d = st.directs.get(token);
  if (d && d.expires <= Date.now()) st.directs.delete(token);
  if (!d || d.expires <= Date.now()) {
    entry.note = d ? 'direct: expired' : 'direct: unknown token';
    return davError(req, res, 404, 'NotFound', 'Token not found');
  }
  const rel = relOfFileId(d.fileid);
  const target = rel === null ? null : path.join(FILES, ...rel.split('/').filter(Boolean));
  const s = target === null ? null : await statOrNull(target);
  if (!s || !s.isFile()) return davError(req, res, 404, 'NotFound', 'File not found');
  const meta = metaOf(rel);
  const h = {
    'Content-Type': MIME[path.extname(target).toLowerCase()] ?? 'application/octet-stream',
    ETag: `"${meta.etag}"`, 'Last-Modified': new Date(s.mtimeMs).toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  const range = req.headers.range === undefined ? null : parseRange(req.headers.range, s.size);
  if (range === 'unsatisfiable') {
    entry.note = 'direct: 416';
    return davError(req, res, 416, 'RequestedRangeNotSatisfiable', 'The start offset should be smaller than the size of the file',
      { 'Content-Range': `bytes */${s.size}` });
  }
  let opts;
  if (range) {
    h['Content-Range'] = `bytes ${range.start}-${range.end}/${s.size}`;
    h['Content-Length'] = range.end - range.start + 1;
    opts = { start: range.start, end: range.end };
    res.writeHead(206, h);
  } else {
    h['Content-Length'] = s.size;
    res.writeHead(200, h);
  }
  if (req.method === 'HEAD' || s.size === 0) return res.end();
  // Streamed from disk: a big file never sits in memory.
  return pipeline(fs.createReadStream(target, opts), res).catch(() => {});
}

// ---------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------

async function wipe() {
  await fsp.rm(path.join(ROOT, 'files'), { recursive: true, force: true });
  await fsp.rm(path.join(ROOT, 'uploads'), { recursive: true, force: true });
  await fsp.mkdir(FILES, { recursive: true });
  await fsp.mkdir(UPLOADS, { recursive: true });
  st.meta.clear();
  st.uploads.clear();
}

function json(req, res, status, obj) {
  send(req, res, status, JSON.stringify(obj), { 'Content-Type': 'application/json' });
}

async function control(req, res, what, query) {
  const body = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
  let arg = {};
  if (body.trim()) {
    try { arg = JSON.parse(body); } catch { return json(req, res, 400, { error: 'bad JSON' }); }
  }
  if (what === 'faults' && req.method === 'POST') {
    st.faults = { ...arg };
    st.chunkPuts = 0;
    st.downUntil = arg.down_for_ms ? Date.now() + arg.down_for_ms : 0;
    if (arg.lose_metadata) for (const u of st.uploads.values()) u.lostMeta = true;
    logLine({ control: 'faults', faults: st.faults });
    return json(req, res, 200, { faults: st.faults });
  }
  if (what === 'faults') return json(req, res, 200, { faults: st.faults });
  if (what === 'log') {
    const since = Number(query.get('since') ?? 0);
    return json(req, res, 200, st.log.slice(since));
  }
  if (what === 'reset' && req.method === 'POST') {
    st.faults = {};
    st.downUntil = 0;
    st.chunkPuts = 0;
    st.log = [];
    st.shares = [];
    st.directs.clear();
    if (!arg.keep_files) await wipe();
    return json(req, res, 200, { reset: true });
  }
  if (what === 'wait' && req.method === 'POST') {
    const deadline = Date.now() + (arg.timeout_ms ?? 30000);
    for (;;) {
      // This request is in flight itself.
      if (st.inflight <= 1 && st.background === 0 && st.locks.size === 0) return json(req, res, 200, { idle: true });
      if (Date.now() > deadline) return json(req, res, 408, { idle: false, inflight: st.inflight - 1, locks: [...st.locks] });
      await sleep(20);
    }
  }
  if (what === 'state') {
    return json(req, res, 200, { locks: [...st.locks], uploads: Object.fromEntries(st.uploads),
      shares: st.shares, chunk_puts: st.chunkPuts,
      directs: [...st.directs.entries()].map(([token, d]) => ({ token, fileid: d.fileid,
        ttl: d.ttl, expires_in_ms: d.expires - Date.now() })), inflight: st.inflight - 1, background: st.background });
  }
  return json(req, res, 404, { error: `no control endpoint ${what}` });
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

function authOk(req) {
  const h = req.headers.authorization ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h);
  if (!m) return 'none';
  const got = Buffer.from(m[1], 'base64');
  const want = Buffer.from(`${USER}:${opt.password}`);
  return got.length === want.length && crypto.timingSafeEqual(got, want) ? 'ok' : 'bad';
}

async function route(req, res, rawPath, query, entry) {
  if (st.downUntil && Date.now() < st.downUntil) {
    entry.note = 'fault: down';
    return davError(req, res, 503, 'ServiceUnavailable', 'System is in maintenance mode.');
  }
  entry.auth = authOk(req);
  const segs = segments(rawPath);
  if (!segs) return davError(req, res, 400, 'BadRequest', 'Malformed path');
  const isOcs = segs[0] === 'ocs';
  // Direct links are for anyone holding them: no credentials.
  if (segs[0] === 'remote.php' && segs[1] === 'direct' && segs.length === 3) {
    return directGet(req, res, segs[2], entry);
  }
  if (entry.auth !== 'ok') {
    if (isOcs) {
      return send(req, res, 401, JSON.stringify({ ocs: { meta: { status: 'failure', statuscode: 997,
        message: 'Current user is not logged in', totalitems: '', itemsperpage: '' }, data: [] } }),
      { 'Content-Type': 'application/json; charset=utf-8', 'WWW-Authenticate': 'Basic realm="Nextcloud", charset="UTF-8"' });
    }
    return davError(req, res, 401, 'NotAuthenticated', 'No public access to this resource., Username or password was incorrect, No \'Authorization: Bearer\' header found. Either the client didn\'t send one, or the server is mis-configured, Username or password was incorrect',
      { 'WWW-Authenticate': 'Basic realm="Nextcloud", charset="UTF-8"' });
  }
  if (segs[0] === 'remote.php' && segs[1] === 'dav' && segs[2] === 'files' && segs.length >= 4) {
    if (segs[3] !== USER) return davError(req, res, 404, 'NotFound', 'Principal with name ' + segs[3] + ' not found');
    return davFiles(req, res, segs.slice(4), entry);
  }
  if (segs[0] === 'remote.php' && segs[1] === 'dav' && segs[2] === 'uploads' && segs.length >= 4) {
    if (segs[3] !== USER) return davError(req, res, 404, 'NotFound', 'Principal with name ' + segs[3] + ' not found');
    return davUploads(req, res, segs.slice(4), entry);
  }
  if (isOcs && (segs[1] === 'v1.php' || segs[1] === 'v2.php')
      && segs.slice(2, 7).join('/') === 'apps/files_sharing/api/v1/shares') {
    return ocs(req, res, segs[1] === 'v1.php', segs.slice(7), query);
  }
  if (isOcs && (segs[1] === 'v1.php' || segs[1] === 'v2.php') && segs.length === 7
      && segs.slice(2, 7).join('/') === 'apps/dav/api/v1/direct') {
    return ocsDirect(req, res, segs[1] === 'v1.php');
  }
  return davError(req, res, 404, 'NotFound', 'Not found');
}

async function handle(req, res) {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1));
  st.inflight++;
  res.on('close', () => { st.inflight--; });
  if (rawPath.startsWith('/_nc/')) {
    try {
      return await control(req, res, rawPath.slice(5), query);
    } catch (e) {
      return json(req, res, 500, { error: String(e) });
    }
  }
  const headers = {};
  for (const h of LOGGED_HEADERS) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
  const entry = { i: st.log.length, method: req.method, path: rawPath, query: q < 0 ? '' : req.url.slice(q + 1),
    headers, status: null, started: Date.now() };
  st.log.push(entry);
  const done = () => {
    if (entry.status !== null) return;
    entry.status = res.writableFinished ? res.statusCode : 0;
    entry.ms = Date.now() - entry.started;
    logLine({ method: entry.method, path: entry.path, status: entry.status, note: entry.note });
  };
  res.on('finish', done);
  res.on('close', done);
  try {
    await route(req, res, rawPath, query, entry);
  } catch (e) {
    entry.note = `error: ${e.message}`;
    logLine({ error: String(e.stack ?? e) });
    if (!res.headersSent && !res.destroyed) davError(req, res, 500, 'ServiceUnavailable', 'Internal error');
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

await fsp.mkdir(FILES, { recursive: true });
await fsp.mkdir(UPLOADS, { recursive: true });
const server = http.createServer(handle);
server.keepAliveTimeout = 10000;
server.requestTimeout = 0;
server.listen(Number(opt.port), opt.host, () => {
  const { port } = server.address();
  if (opt['port-file']) {
    const tmp = `${opt['port-file']}.tmp.${process.pid}`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, opt['port-file']);
  }
  logLine({ listening: port, root: ROOT, user: USER });
});

function stop(sig) {
  logLine({ stopping: sig });
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
