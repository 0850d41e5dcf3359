#!/usr/bin/env node
// A local S3 server for meetrec's S3 storage tests: @20minutes/s3rver (which
// checks SigV4 header and query signatures like S3; shared/protocols/storage.md
// 6.5) on 127.0.0.1, with our own credentials, one bucket, and two additions
// tests need:
//
//   * AbortMultipartUpload.  s3rver 4.0.4 answers DELETE ?uploadId= with 405;
//     here an authenticated abort removes the upload's parts and answers 204, as
//     S3 does, so a test can see that a failed upload cleaned up after itself.
//   * ListMultipartUploads (GET /bucket?uploads[&prefix=P]).  s3rver answers
//     NotImplemented after authenticating; here the uploads in progress under
//     P are listed as S3 lists them (ListMultipartUploadsResult, up to 1000,
//     sorted by key), so a client can find and abort what a crash left.
//   * A control API under /_ctl/ (bucket names cannot start with '_'):
//       POST /_ctl/fail-part?n=N[&status=500]  every UploadPart of part N
//                                              fails with that status
//       POST /_ctl/stall-part?n=N              every UploadPart of part N
//                                              gets no answer, ever
//       POST /_ctl/reset                       no more injected failures
//       GET  /_ctl/uploads                     multipart uploads in progress,
//                                              as {"uploads":[{"id","key"}]}
//
// Usage:
//   node s3server.mjs --port 0 --port-file F --dir D --bucket B
//       --access-key K --secret-key S [--log F]
//
// The port file is written (atomically) once the server listens.  With --log,
// one line per request: "<ISO time> <method> <url> <status> <ms>ms".  SIGTERM or
// SIGINT closes the server and exits 0.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

function usage(msg) {
  process.stderr.write(`s3server: ${msg}\nusage: node s3server.mjs --port N --port-file F ` +
    '--dir D --bucket B --access-key K --secret-key S [--log F]\n');
  process.exit(2);
}

const opt = { port: '0' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^--(port|port-file|dir|bucket|access-key|secret-key|log)$/.exec(argv[i]);
  if (!m || i + 1 >= argv.length) usage(`bad argument '${argv[i]}'`);
  opt[m[1]] = argv[++i];
}
for (const k of ['port-file', 'dir', 'bucket', 'access-key', 'secret-key']) {
  if (!opt[k]) usage(`--${k} is required`);
}
if (!/^\d+$/.test(opt.port)) usage('--port must be a number');

// Our key pair only: the built-in S3RVER/S3RVER pair would accept anything
// signed with it, so a test of "wrong key" could pass by accident.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(opt['access-key'], opt['secret-key']);

let logFd = null;
if (opt.log) logFd = fs.openSync(opt.log, 'a');
function log(line) {
  if (logFd !== null) fs.writeSync(logFd, `${new Date().toISOString()} ${line}\n`);
}

const dir = path.resolve(opt.dir);
fs.mkdirSync(dir, { recursive: true });
// Where s3rver's filesystem store keeps multipart uploads of a bucket.
const uploadsDir = (bucket) => path.join(dir, bucket, '._S3rver_uploads');

const state = { failPart: 0, failStatus: 500, stallPart: 0 };

function xmlError(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

const xmlEscape = (v) => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// The body of a ListMultipartUploads answer for bucket, keys under prefix.
function listUploadsXml(bucket, prefix) {
  const ups = listUploads()
    .filter((u) => u.bucket === bucket && u.key !== null && u.key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1))
    .slice(0, 1000);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
    `<Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
    ups.map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId>` +
      '<StorageClass>STANDARD</StorageClass></Upload>').join('') +
    '</ListMultipartUploadsResult>';
}

function listUploads() {
  const out = [];
  for (const bucket of fs.readdirSync(dir)) {
    let ids = [];
    try { ids = fs.readdirSync(uploadsDir(bucket)); } catch { continue; }
    for (const id of ids) {
      let key = null;
      try { key = fs.readFileSync(path.join(uploadsDir(bucket), id, 'key'), 'utf8'); } catch { /* racing */ }
      out.push({ bucket, id, key });
    }
  }
  return out;
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(opt.port),
  directory: dir,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: opt.bucket }],
});

// Ahead of s3rver's own middleware (Koa composes on listen).
let inflight = 0;	// requests whose handler has not finished
server.middleware.unshift(async (ctx, next) => {
  const t0 = Date.now();
  let thrown;
  inflight++;
  try {
    if (ctx.path.startsWith('/_ctl/')) {
      if (ctx.method === 'POST' && ctx.path === '/_ctl/fail-part') {
        state.failPart = Number(ctx.query.n) || 0;
        state.failStatus = Number(ctx.query.status) || 500;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(state);
      } else if (ctx.method === 'POST' && ctx.path === '/_ctl/stall-part') {
        state.stallPart = Number(ctx.query.n) || 0;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(state);
      } else if (ctx.method === 'POST' && ctx.path === '/_ctl/reset') {
        state.failPart = 0;
        state.stallPart = 0;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(state);
      } else if (ctx.method === 'GET' && ctx.path === '/_ctl/uploads') {
        ctx.type = 'application/json';
        ctx.body = JSON.stringify({ uploads: listUploads() });
      } else {
        ctx.status = 404;
        ctx.body = 'no such control\n';
      }
      return;
    }
    if (ctx.method === 'PUT' && state.failPart > 0 && 'uploadId' in ctx.query &&
        Number(ctx.query.partNumber) === state.failPart) {
      // Before authentication and before reading the body, like a
      // struggling front end.
      xmlError(ctx, state.failStatus, 'InternalError', 'injected failure of this part');
      return;
    }
    if (ctx.method === 'PUT' && state.stallPart > 0 && 'uploadId' in ctx.query &&
        Number(ctx.query.partNumber) === state.stallPart) {
      // A server that stopped answering: the body is never read either.
      log(`${ctx.method} ${ctx.url} stalled`);
      await new Promise(() => {});
    }
    try {
      await next();
    } catch (err) {
      // s3rver has no AbortMultipartUpload: it authenticates the request
      // (a bad signature throws something else) and then refuses the method.
      const id = ctx.query.uploadId;
      const bucket = ctx.path.split('/')[1];
      if (err && err.code === 'MethodNotAllowed' && ctx.method === 'DELETE' &&
          typeof id === 'string' && /^[0-9a-f]{32}$/.test(id) && bucket) {
        const d = path.join(uploadsDir(bucket), id);
        if (!fs.existsSync(d)) {
          xmlError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
          return;
        }
        fs.rmSync(d, { recursive: true, force: true });
        ctx.status = 204;
        ctx.body = null;
        return;
      }
      const segs = ctx.path.split('/').filter((x) => x !== '');
      if (err && err.code === 'NotImplemented' && ctx.method === 'GET' &&
          'uploads' in ctx.query && segs.length === 1) {
        ctx.status = 200;
        ctx.type = 'application/xml';
        ctx.body = listUploadsXml(segs[0], typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '');
        return;
      }
      thrown = err;
      throw err;
    }
  } finally {
    // s3rver's onerror answers what is thrown past here, with its status.
    const status = thrown ? (thrown.status || 500) : ctx.status;
    log(`${ctx.method} ${ctx.url} ${status} ${Date.now() - t0}ms`);
    inflight--;
  }
});

const addr = await server.run();
const tmp = `${opt['port-file']}.tmp`;
fs.writeFileSync(tmp, `${addr.port}\n`);
fs.renameSync(tmp, opt['port-file']);
log(`listening on 127.0.0.1:${addr.port}, bucket ${opt.bucket}, dir ${dir}`);

let closing = false;
function stop(sig) {
  if (closing) return;
  closing = true;
  log(`${sig}: closing`);
  // Keep-alive connections would hold close() open: drop them.  A handler
  // already running finishes its work on disk first (S3 completes a
  // multipart upload whole or not at all), for at most 5 s.
  server.httpServer.closeAllConnections?.();
  const deadline = Date.now() + 5000;
  const exit = () => {
    if (inflight > 0 && Date.now() < deadline) return setTimeout(exit, 20);
    return process.exit(0);
  };
  server.close().then(exit, exit);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
