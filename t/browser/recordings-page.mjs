// SPDX-License-Identifier: ISC
//
// recordings-page.mjs - drive the recordings page (www/) in a real
// headless Chromium (Debian's /usr/bin/chromium through playwright-core,
// no browser download) and print TAP.  Run by t/700-browser.t against a
// running stack; exits 0 only when every step passed.
//
//   node recordings-page.mjs --base http://127.0.0.1:PORT --token JWT
//       --room CODE [--username NAME] [--fixture FILE] [--outdir DIR]
//       [--chromium /usr/bin/chromium] [--record-ms 3000]
//
// Steps: paste the token; Record in the room, "REC 00:0x" ticks; Stop,
// the status goes to completed; Play really plays (currentTime >= 1 s);
// the Download link fetches without an Authorization header; Share makes
// a link that plays in a fresh browser context (no token, no storage); a
// password share shows a form, refuses a wrong password (401) and plays
// with the right one; a revoked link stops working; a bad token sends the
// user back to the token box; Forget clears it.  On a failed step a
// screenshot of each open page goes to --outdir.  Lines starting with
// "# key=value" carry facts for the Perl side (the recording id).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const opt = {
	base: null, token: null, room: null, username: null, fixture: null,
	outdir: '.', chromium: process.env.MEETREC_CHROMIUM || '/usr/bin/chromium',
	'record-ms': '3000',
};
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '');
	if (!(k in opt) || i + 1 >= process.argv.length) {
		console.error(`usage: recordings-page.mjs --base URL --token JWT ` +
		    `--room CODE [--username NAME] [--fixture FILE] ` +
		    `[--outdir DIR] [--chromium PATH] [--record-ms MS]`);
		process.exit(2);
	}
	opt[k] = process.argv[i + 1];
}
if (!opt.base || !opt.token || !opt.room) {
	console.error('recordings-page.mjs: --base, --token and --room are required');
	process.exit(2);
}
const base = opt.base.replace(/\/+$/, '');

// ---------------------------------------------------------------------
// TAP

let n = 0, failed = 0;
const pages = new Map();		// name -> page, for screenshots
const facts = {};			// what later steps need

function diag(text) {
	for (const l of String(text).split('\n'))
		console.log(`# ${l}`);
}

async function screenshots(tag) {
	fs.mkdirSync(opt.outdir, { recursive: true });
	for (const [name, p] of pages) {
		if (p.isClosed())
			continue;
		const f = path.join(opt.outdir, `browser-${tag}-${name}.png`);
		try {
			await p.screenshot({ path: f, fullPage: true, timeout: 5000 });
			diag(`screenshot: ${f}`);
		} catch (e) {
			diag(`screenshot of ${name} failed: ${e.message}`);
		}
	}
}

// step(name, fn, needs) - one TAP line.  needs: keys of facts this step
// depends on; when one is missing the step is reported not ok at once.
async function step(name, fn, needs = []) {
	n++;
	const miss = needs.filter((k) => facts[k] === undefined);
	if (miss.length) {
		failed++;
		console.log(`not ok ${n} - ${name}`);
		diag(`  not attempted: an earlier step did not give ${miss.join(', ')}`);
		return;
	}
	try {
		await fn();
		console.log(`ok ${n} - ${name}`);
	} catch (e) {
		failed++;
		console.log(`not ok ${n} - ${name}`);
		diag(`  ${(e && e.stack) || e}`);
		await screenshots(`${n}`);
	}
}

function assert(cond, what) {
	if (!cond)
		throw new Error(`assertion failed: ${what}`);
}

// ---------------------------------------------------------------------
// Helpers

// The page's message area, for diagnostics.
async function message(page) {
	return page.evaluate(() => {
		const m = document.querySelector('#message');
		return m && !m.hidden
		    ? document.querySelector('#message-text').textContent.trim() : '';
	});
}

// Wait until <video> at sel has played at least one second: currentTime
// >= 1, readyState >= 2, a duration over one second, and no error.
// play() is called while it is paused (the browser runs with an autoplay
// policy that allows it without a gesture).
async function plays(page, sel, what) {
	await page.waitForSelector(sel, { state: 'attached', timeout: 10000 });
	try {
		await page.waitForFunction((s) => {
			const v = document.querySelector(s);
			if (!v)
				return false;
			if (v.error)
				throw new Error(`media error ${v.error.code}: ` +
				    `${v.error.message}`);
			if (v.paused && !v.ended && v.readyState >= 1)
				v.play().catch(() => {});
			return v.currentTime >= 1 && v.readyState >= 2 &&
			    v.duration > 1 && !v.error;
		}, sel, { timeout: 20000, polling: 100 });
	} catch (e) {
		const st = await page.evaluate((s) => {
			const v = document.querySelector(s);
			return v ? {
				src: v.currentSrc, currentTime: v.currentTime,
				readyState: v.readyState, networkState: v.networkState,
				duration: v.duration, paused: v.paused,
				error: v.error && `${v.error.code} ${v.error.message}`,
			} : null;
		}, sel).catch(() => null);
		throw new Error(`${what} did not play: ${e.message}\n` +
		    `video: ${JSON.stringify(st)}`);
	}
	return page.evaluate((s) => {
		const v = document.querySelector(s);
		return { src: v.currentSrc, duration: v.duration,
		    currentTime: v.currentTime };
	}, sel);
}

// GET url from Node (no cookies, no Authorization header).
async function fetchBare(url, headers = {}) {
	const r = await fetch(url, { headers, redirect: 'follow' });
	const body = Buffer.from(await r.arrayBuffer());
	return { status: r.status, headers: r.headers, body };
}

function sha256(buf) {
	return crypto.createHash('sha256').update(buf).digest('hex');
}

// A new context with nothing in it: no token, no storage, no cookies.
async function freshPage(browser, name) {
	const ctx = await browser.newContext();
	const p = await ctx.newPage();
	pages.set(name, p);
	return p;
}

// ---------------------------------------------------------------------
// The run

const browser = await chromium.launch({
	executablePath: opt.chromium,
	headless: true,
	args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
	    '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
	timeout: 60000,
});
diag(`chromium ${browser.version()}`);
const ctx = await browser.newContext({ acceptDownloads: true,
    permissions: ['clipboard-read', 'clipboard-write'] });
const page = await ctx.newPage();
pages.set('main', page);
page.setDefaultTimeout(15000);
// Script errors and anything the page's Content-Security-Policy blocked
// are defects of the page, checked in the last step.
const defects = [];
page.on('pageerror', (e) => {
	diag(`page error: ${e.message}`);
	defects.push(`page error: ${e.message}`);
});
page.on('console', (m) => {
	if (m.type() !== 'error')
		return;
	diag(`console: ${m.text()}`);
	if (/Content Security Policy/i.test(m.text()))
		defects.push(`blocked: ${m.text()}`);
});
page.on('dialog', (d) => d.accept());

try {
	await step('the page loads and asks for a token', async () => {
		const r = await page.goto(`${base}/`);
		assert(r && r.status() === 200, `GET / is 200 (got ${r && r.status()})`);
		await page.waitForSelector('#token', { state: 'visible' });
		assert(await page.isHidden('#app'), 'the app is hidden without a token');
	});

	await step('pasting the token shows the user and the list', async () => {
		await page.fill('#token', opt.token);
		await page.click('#save-token');
		await page.waitForSelector('#app', { state: 'visible' });
		await page.waitForSelector('#whoami', { state: 'visible' });
		const who = await page.textContent('#user-name');
		if (opt.username)
			assert(who === opt.username, `user name shown is ` +
			    `${opt.username} (got ${who})`);
		const stored = await page.evaluate(
		    () => localStorage.getItem('meetrec.token'));
		assert(stored === opt.token, 'the token is in localStorage');
		await page.waitForSelector('#list-empty, #recordings tbody tr',
		    { state: 'attached' });
	});

	await step('Record starts a recording and REC 00:0x ticks', async () => {
		await page.fill('#room-code', opt.room);
		await page.click('#record');
		await page.waitForSelector('#rec-timer', { state: 'visible' });
		await page.waitForSelector('#stop', { state: 'visible' });
		const t1 = await page.textContent('#rec-timer');
		assert(/^REC 00:0\d$/.test(t1), `timer reads REC 00:0x (got "${t1}")`);
		const id = await page.getAttribute('#rec-status', 'data-id');
		assert(/^[0-9a-f-]{36}$/.test(id || ''), `recording id (got ${id})`);
		facts.id = id;
		console.log(`# recording_id=${id}`);
		await page.waitForTimeout(Number(opt['record-ms']));
		const t2 = await page.textContent('#rec-timer');
		assert(/^REC 00:0\d$/.test(t2) && t2 > t1,
		    `timer ticked from "${t1}" to "${t2}"`);
		await page.waitForSelector(`tr[data-id="${id}"]`,
		    { state: 'attached' });
	});

	await step('Stop, and the status follows through to completed', async () => {
		await page.click('#stop');
		const seen = [];
		const deadline = Date.now() + 60000;
		for (;;) {
			const st = await page.getAttribute('#rec-status',
			    'data-status');
			if (st && seen[seen.length - 1] !== st)
				seen.push(st);
			if (st === 'completed' || st === 'failed')
				break;
			assert(Date.now() < deadline, `completed within 60 s ` +
			    `(seen ${seen.join(' → ')}; message: ` +
			    `${await message(page)})`);
			await page.waitForTimeout(100);
		}
		diag(`statuses shown: ${seen.join(' → ')}`);
		assert(seen[seen.length - 1] === 'completed',
		    `ended completed (seen ${seen.join(' → ')})`);
		assert(await page.isHidden('#stop'), 'Stop is hidden again');
		await page.waitForSelector(
		    `tr[data-id="${facts.id}"][data-status="completed"]`,
		    { state: 'attached', timeout: 10000 });
		const cells = await page.$$eval(`tr[data-id="${facts.id}"] td`,
		    (tds) => tds.map((td) => td.textContent.trim()));
		diag(`row: ${cells.join(' | ')}`);
		assert(cells[1].includes(opt.room), 'the row names the room');
		assert(/^00:0[3-5]$/.test(cells[3]),
		    `duration about 00:04 (got ${cells[3]})`);
		assert(/^\d+(\.\d+)? MB$/.test(cells[4]), `size in MB (got ${cells[4]})`);
		facts.completed = true;
	}, ['id']);

	await step('Play plays the recording for at least a second', async () => {
		await page.click(`tr[data-id="${facts.id}"] [data-action="play"]`);
		await page.waitForSelector('#player', { state: 'visible' });
		const v = await plays(page, '#player video', 'the player');
		diag(`played ${v.currentTime.toFixed(2)} s of ` +
		    `${v.duration.toFixed(2)} s from ${v.src}`);
		assert(/^https?:\/\//.test(v.src), 'the video src is an absolute URL');
		assert(v.duration > 3.5 && v.duration < 4.5,
		    `duration about 4 s (got ${v.duration})`);
		facts.playUrl = v.src;
		await page.click('#player-close');
	}, ['completed']);

	await step('the video URL works with no Authorization header',
	    async () => {
		const r = await fetchBare(facts.playUrl, { Range: 'bytes=0-99' });
		assert(r.status === 206, `206 for a range (got ${r.status})`);
		assert(r.body.length === 100, `100 bytes (got ${r.body.length})`);
	}, ['playUrl']);

	await step('the Download link fetches the file without a header', async () => {
		const sel = `tr[data-id="${facts.id}"] a[data-action="download"]`;
		const [dl] = await Promise.all([
			page.waitForEvent('download', { timeout: 15000 }),
			page.click(sel),
		]);
		const href = await page.getAttribute(sel, 'href');
		assert(/^https?:\/\//.test(href), `href is an absolute URL (got ${href})`);
		assert(await page.getAttribute(sel, 'download') !== null,
		    'the link has a download attribute');
		diag(`download ${dl.suggestedFilename()} from ${href}`);
		const r = await fetchBare(href);
		assert(r.status === 200 || r.status === 206,
		    `200/206 (got ${r.status})`);
		if (opt.fixture) {
			const want = fs.readFileSync(opt.fixture);
			assert(sha256(r.body) === sha256(want),
			    `the file is the recorded one (${r.body.length} ` +
			    `bytes, want ${want.length})`);
		}
		await dl.cancel().catch(() => {});
	}, ['completed']);

	await step('Share creates a link and lists it', async () => {
		await page.click(`tr[data-id="${facts.id}"] [data-action="share"]`);
		await page.waitForSelector('#share-panel', { state: 'visible' });
		await page.selectOption('#share-expires', '3600');
		await page.click('#share-create');
		await page.waitForFunction(() =>
		    document.querySelector('#share-url').value !== '' ||
		    !document.querySelector('#message').hidden);
		const url = await page.inputValue('#share-url');
		assert(url !== '', `a link is shown (message: ${await message(page)})`);
		assert(await page.getAttribute('#share-url', 'readonly') !== null,
		    '#share-url is read-only');
		assert(/^https?:\/\/[^/]+\/(api\/)?r\/[^/]+$/.test(url),
		    `the link looks like /r/<token> (got ${url})`);
		await page.waitForSelector('#share-list li[data-share-id]',
		    { state: 'attached' });
		facts.shareUrl = url;
		facts.shareId = await page.getAttribute(
		    '#share-list li[data-share-id]', 'data-share-id');
		await page.click('#share-copy');
		await page.waitForFunction(() => /copied/i.test(
		    document.querySelector('#message-text').textContent));
		const clip = await page.evaluate(
		    () => navigator.clipboard.readText());
		assert(clip === url, `Copy put the link on the clipboard (got ${clip})`);
	}, ['completed']);

	await step('the share link plays in a fresh browser context', async () => {
		const p = await freshPage(browser, 'share');
		const r = await p.goto(facts.shareUrl);
		assert(r.status() === 200, `200 (got ${r.status()})`);
		assert(await p.evaluate(() => localStorage.length) === 0,
		    'nothing in storage');
		const v = await plays(p, 'video#player', 'the shared video');
		diag(`shared video played ${v.currentTime.toFixed(2)} s from ${v.src}`);
		await p.context().close();
		pages.delete('share');
	}, ['shareUrl']);

	await step('a password share asks for the password in a fresh context',
	    async () => {
		await page.fill('#share-password', 'correct horse');
		await page.click('#share-create');
		await page.waitForFunction((old) =>
		    document.querySelector('#share-url').value !== old ||
		    document.querySelector('#message').className === 'error',
		    facts.shareUrl);
		const url = await page.inputValue('#share-url');
		assert(url !== facts.shareUrl, `a new link (message: ${
		    await message(page)})`);
		facts.pwUrl = url;
		const p = await freshPage(browser, 'password');
		await p.goto(url);
		await p.waitForSelector('input[name="password"][type="password"]',
		    { state: 'visible' });
		assert(await p.$('video#player') === null,
		    'no video before the password');
		facts.pwPage = p;
	}, ['shareUrl']);

	await step('a wrong password is refused with 401 and a message', async () => {
		const p = facts.pwPage;
		await p.fill('input[name="password"]', 'wrong horse');
		const [resp] = await Promise.all([
			p.waitForNavigation(),
			p.press('input[name="password"]', 'Enter'),
		]);
		assert(resp.status() === 401, `401 (got ${resp.status()})`);
		assert(await p.$('video#player') === null, 'still no video');
		await p.waitForSelector('input[name="password"][type="password"]',
		    { state: 'visible' });
		const text = await p.textContent('body');
		assert(/wrong|incorrect|invalid|does not match|not right/i.test(text),
		    `an error message is shown (page: ${text.trim().slice(0, 200)})`);
	}, ['pwPage']);

	await step('the right password plays the video', async () => {
		const p = facts.pwPage;
		await p.fill('input[name="password"]', 'correct horse');
		const [resp] = await Promise.all([
			p.waitForNavigation(),
			p.press('input[name="password"]', 'Enter'),
		]);
		assert(resp.status() === 200, `200 (got ${resp.status()})`);
		const v = await plays(p, 'video#player', 'the password-protected video');
		diag(`password share played ${v.currentTime.toFixed(2)} s`);
		await p.context().close();
		pages.delete('password');
	}, ['pwPage']);

	await step('revoking the first link stops it working', async () => {
		await page.click(`#share-list li[data-share-id="${facts.shareId}"] ` +
		    '[data-action="revoke"]');
		await page.waitForSelector(
		    `#share-list li[data-share-id="${facts.shareId}"]:not(:has(button))`,
		    { state: 'attached' });
		const r = await fetchBare(facts.shareUrl);
		assert(r.status >= 400 && r.status < 500,
		    `the revoked link answers 4xx (got ${r.status})`);
	}, ['shareId', 'pwUrl']);

	await step('an API error shows its detail; a 401 shows the token box',
	    async () => {
		// An unknown room: 404 with a detail.
		await page.fill('#room-code', 'no-such-room-here');
		await page.click('#record');
		await page.waitForSelector('#message.error', { state: 'visible' });
		const m = await message(page);
		assert(m.length > 3, `a message is shown (got "${m}")`);
		await page.fill('#room-code', opt.room);
		// A token the server refuses.
		await page.evaluate(() => localStorage.setItem('meetrec.token',
		    'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VybmFtZSI6Im1hbGxvcnkifQ.bad'));
		await page.reload();
		await page.waitForSelector('#token', { state: 'visible' });
		assert(await page.isHidden('#app'), 'the app is hidden');
		const m2 = await message(page);
		assert(m2.length > 3, `the 401 detail is shown (got "${m2}")`);
	});

	await step('Forget removes the token', async () => {
		await page.fill('#token', opt.token);
		await page.click('#save-token');
		await page.waitForSelector('#app', { state: 'visible' });
		await page.click('#forget-token');
		await page.waitForSelector('#token', { state: 'visible' });
		assert(await page.evaluate(
		    () => localStorage.getItem('meetrec.token')) === null,
		    'localStorage no longer holds it');
	});

	await step('no script error and nothing blocked by the CSP', async () => {
		const r = await page.goto(`${base}/`);
		assert(/default-src 'self'/.test(
		    r.headers()['content-security-policy'] || ''),
		    'the page is served with a Content-Security-Policy');
		assert(defects.length === 0, defects.join('; '));
	});
} finally {
	await browser.close().catch(() => {});
}

console.log(`1..${n}`);
if (failed)
	diag(`${failed} of ${n} steps failed`);
process.exit(failed ? 1 : 0);
