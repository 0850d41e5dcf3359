// SPDX-License-Identifier: ISC
//
// transcript-page.mjs - drive the recordings page's captions, transcript
// and search in a real headless Chromium (Debian's /usr/bin/chromium
// through playwright-core) and print TAP.  Run by t/705-transcript-page.t
// against a running stack holding one completed, transcribed recording;
// exits 0 only when every step passed (a "# TODO" step may fail).
//
//   node transcript-page.mjs --base http://127.0.0.1:PORT --token JWT
//       --id RECORDING --sentences N --word WORD --word-at SECONDS
//       [--other-word WORD] [--stranger JWT] [--outdir DIR]
//       [--chromium /usr/bin/chromium]
//
// Steps: paste the token; Play: the <video> gets a captions <track>
// (a blob: URL) whose cues are the N sentences; the transcript panel has
// N lines "[mm:ss] text" and the chapters; clicking a chapter and the
// line of WORD seeks there, and the line said is marked as it plays;
// closing the player drops the track and revokes its URL; the search
// finds WORD once "at mm:ss" with the word in <mark>, and the hit opens
// the player there; a word never said finds nothing; Clear brings the
// list back; the stranger's search finds nothing; "Transcribe again"
// asks for it.  On a failed step a screenshot of each open page goes to
// --outdir.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const opt = {
	base: null, token: null, id: null, sentences: null, word: null,
	'word-at': null, 'other-word': 'elephant', stranger: null,
	outdir: '.', chromium: process.env.MEETREC_CHROMIUM || '/usr/bin/chromium',
};
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '');
	if (!(k in opt) || i + 1 >= process.argv.length) {
		console.error('usage: transcript-page.mjs --base URL --token JWT ' +
		    '--id RECORDING --sentences N --word WORD --word-at SECONDS ' +
		    '[--other-word WORD] [--stranger JWT] [--outdir DIR] ' +
		    '[--chromium PATH]');
		process.exit(2);
	}
	opt[k] = process.argv[i + 1];
}
for (const k of ['base', 'token', 'id', 'sentences', 'word', 'word-at']) {
	if (opt[k] === null) {
		console.error(`transcript-page.mjs: --${k} is required`);
		process.exit(2);
	}
}
const base = opt.base.replace(/\/+$/, '');
const SENTENCES = Number(opt.sentences);
const WORD_AT = Number(opt['word-at']);

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
		const f = path.join(opt.outdir, `transcript-${tag}-${name}.png`);
		try {
			await p.screenshot({ path: f, fullPage: true, timeout: 5000 });
			diag(`screenshot: ${f}`);
		} catch (e) {
			diag(`screenshot of ${name} failed: ${e.message}`);
		}
	}
}

// step(name, fn, needs) - one TAP line.  needs: keys of facts this step
// depends on.  fn may return { todo: reason } for a known failure.
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
		if (e && e.todo) {
			console.log(`not ok ${n} - ${name} # TODO ${e.todo}`);
			diag(`  ${e.message}`);
			return;
		}
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

async function message(page) {
	return page.evaluate(() => {
		const m = document.querySelector('#message');
		return m && !m.hidden
		    ? document.querySelector('#message-text').textContent.trim() : '';
	});
}

async function signIn(page, token) {
	const r = await page.goto(`${base}/`);
	assert(r && r.status() === 200, `GET / is 200 (got ${r && r.status()})`);
	await page.waitForSelector('#token', { state: 'visible' });
	await page.fill('#token', token);
	await page.click('#save-token');
	await page.waitForSelector('#app', { state: 'visible' });
	await page.waitForSelector('#list-empty, #recordings tbody tr',
	    { state: 'attached' });
	return r;
}

// The player's state, for assertions and diagnostics.
async function video(page) {
	return page.evaluate(() => {
		const v = document.querySelector('#player video');
		return { src: v.currentSrc, currentTime: v.currentTime,
		    paused: v.paused, seeking: v.seeking,
		    readyState: v.readyState,
		    error: v.error && `${v.error.code} ${v.error.message}` };
	});
}

// Wait until the player is at about t seconds (within 1 s), done
// seeking and playing.
async function playsAt(page, t, what) {
	try {
		await page.waitForFunction((want) => {
			const v = document.querySelector('#player video');
			if (v.error)
				throw new Error(`media error ${v.error.code}: ` +
				    `${v.error.message}`);
			return !v.seeking && v.readyState >= 2 && !v.paused &&
			    Math.abs(v.currentTime - want) <= 1;
		}, t, { timeout: 20000, polling: 50 });
	} catch (e) {
		throw new Error(`${what}: not playing at about ${t} s: ` +
		    `${e.message}\nvideo: ${JSON.stringify(await video(page))}` +
		    `\nmessage: ${await message(page)}`);
	}
	return video(page);
}

// "01:42" as the page writes a time.
function clock(s) {
	s = Math.floor(s);
	return `${String(Math.floor(s / 60)).padStart(2, '0')}:${
	    String(s % 60).padStart(2, '0')}`;
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
const ctx = await browser.newContext();
// The page's CSP keeps it from fetching a blob: URL, revoked or not:
// URL.revokeObjectURL is watched instead.
await ctx.addInitScript(() => {
	const revoke = URL.revokeObjectURL.bind(URL);
	window.revokedUrls = [];
	URL.revokeObjectURL = (u) => {
		window.revokedUrls.push(u);
		revoke(u);
	};
});
const page = await ctx.newPage();
pages.set('main', page);
page.setDefaultTimeout(15000);
const defects = [], blocked = [];
page.on('pageerror', (e) => {
	diag(`page error: ${e.message}`);
	defects.push(`page error: ${e.message}`);
});
page.on('console', (m) => {
	if (m.type() !== 'error')
		return;
	diag(`console: ${m.text()}`);
	if (/Content Security Policy/i.test(m.text()))
		blocked.push(m.text());
});
const row = `tr[data-id="${opt.id}"]`;

try {
	await step('the page loads and takes the token', async () => {
		const r = await signIn(page, opt.token);
		facts.csp = r.headers()['content-security-policy'] || '';
		diag(`CSP: ${facts.csp}`);
		await page.waitForSelector(`${row}[data-status="completed"]`,
		    { state: 'attached' });
		assert(await page.isVisible('#search'), 'a search box');
		assert(await page.isVisible('label[for="search"]'),
		    'the search box has a label');
	});

	await step('Play gives the player a captions <track> from a blob: URL',
	    async () => {
		await page.click(`${row} [data-action="play"]`);
		await page.waitForSelector('#player', { state: 'visible' });
		await page.waitForSelector('#player video track',
		    { state: 'attached' });
		const t = await page.$eval('#player video track', (e) => ({
			kind: e.kind, label: e.label, srclang: e.srclang,
			default: e.default, src: e.src,
			tracks: e.parentNode.textTracks.length,
		}));
		diag(`track: ${JSON.stringify(t)}`);
		assert(t.kind === 'captions', `kind captions (got ${t.kind})`);
		assert(t.label === 'Transcript', `label Transcript (got ${t.label})`);
		assert(t.srclang === 'en', `srclang en (got ${t.srclang})`);
		assert(t.default, 'default');
		assert(/^blob:/.test(t.src), `a blob: URL (got ${t.src})`);
		assert(t.tracks === 1, `one text track (got ${t.tracks})`);
		facts.blob = t.src;
	});

	await step(`its cues load: ${SENTENCES}, one a sentence`, async () => {
		await page.waitForFunction((want) => {
			const tt = document.querySelector('#player video')
			    .textTracks[0];
			if (tt.mode === 'disabled')
				tt.mode = 'hidden';
			return tt.cues && tt.cues.length === want;
		}, SENTENCES, { timeout: 15000, polling: 100 }).catch(async (e) => {
			const got = await page.evaluate(() => {
				const tt = document.querySelector('#player video')
				    .textTracks[0];
				return { mode: tt.mode, cues: tt.cues && tt.cues.length };
			});
			throw new Error(`${e.message}: ${JSON.stringify(got)}`);
		});
		const cues = await page.evaluate(() => [...document.querySelector(
		    '#player video').textTracks[0].cues].map((c) => ({
			start: c.startTime, end: c.endTime, text: c.text })));
		const w = cues.find((c) => c.text.includes(opt.word));
		assert(w && Math.abs(w.start - WORD_AT) < 0.7,
		    `a cue with "${opt.word}" at about ${WORD_AT} s ` +
		    `(${JSON.stringify(w)})`);
		facts.cues = cues.length;
	}, ['blob']);

	await step('the track loaded from its blob: URL (the page\'s CSP ' +
	    'allows blob: media)', async () => {
		const rs = await page.$eval('#player video track',
		    (e) => e.readyState);
		diag(`track readyState ${rs} (2 loaded, 3 failed)`);
		if (rs === 2)
			return;
		const why = /media-src[^;]*blob:/.test(facts.csp) ? null
		    : 'nginx/meetrec-page.conf: media-src has no blob:, so the ' +
		    'page reads the cues itself';
		const e = new Error(`the <track> did not load (readyState ${rs}); ` +
		    `blocked: ${blocked.join(' | ')}`);
		if (why)
			e.todo = why;
		throw e;
	}, ['cues']);

	await step(`the transcript panel lists the ${SENTENCES} sentences`,
	    async () => {
		await page.waitForSelector('#transcript', { state: 'visible' });
		await page.waitForFunction((want) => document.querySelectorAll(
		    '#transcript-lines li').length === want, SENTENCES);
		const lines = await page.$$eval('#transcript-lines li',
		    (lis) => lis.map((li) => li.textContent.trim()));
		diag(lines.join('\n'));
		for (const l of lines)
			assert(/^\[\d\d:\d\d\] \S/.test(l), `"[mm:ss] text" (got ${l})`);
		const w = lines.find((l) => l.includes(opt.word));
		assert(w && w.startsWith(`[${clock(WORD_AT)}]`),
		    `the ${opt.word} line starts [${clock(WORD_AT)}] (got ${w})`);
		assert(await page.$$eval('#transcript-lines button.seg',
		    (b) => b.length) === SENTENCES, 'each line is a button');
		assert(await page.isHidden('#transcript-status'),
		    'no status line when done');
		assert(await page.isVisible('#transcribe'),
		    'the owner sees "Transcribe again"');
	}, ['blob']);

	await step('the chapters are listed and a click seeks to one',
	    async () => {
		await page.waitForSelector('#chapters-box', { state: 'visible' });
		const ch = await page.$$eval('#chapters li button', (bs) =>
		    bs.map((b) => ({ start: Number(b.dataset.start),
			text: b.textContent.trim() })));
		diag(`chapters: ${JSON.stringify(ch)}`);
		assert(ch.length >= 1, 'at least one chapter');
		const last = ch[ch.length - 1];
		assert(/^\d\d:\d\d \S/.test(last.text), `"mm:ss title" ` +
		    `(got ${last.text})`);
		await page.click(`#chapters li:nth-child(${ch.length}) button`);
		const v = await playsAt(page, last.start, 'the chapter');
		diag(`at ${v.currentTime.toFixed(2)} s for a chapter at ` +
		    `${last.start} s`);
	}, ['blob']);

	await step(`clicking the ${clock(WORD_AT)} line seeks to about ` +
	    `${WORD_AT} s and plays`, async () => {
		const sel = `#transcript-lines li:has-text("${opt.word}") button`;
		const start = Number(await page.getAttribute(sel, 'data-start'));
		assert(Math.abs(start - WORD_AT) < 0.7,
		    `the line starts at about ${WORD_AT} s (got ${start})`);
		await page.click(sel);
		const v = await playsAt(page, WORD_AT, 'the line');
		diag(`at ${v.currentTime.toFixed(2)} s`);
		facts.seeked = true;
	}, ['blob']);

	await step('as it plays, the line said is marked', async () => {
		await page.waitForSelector(`#transcript-lines li.current` +
		    `[aria-current="true"]:has-text("${opt.word}")`,
		    { state: 'attached', timeout: 10000 });
		assert(await page.$$eval('#transcript-lines li.current',
		    (l) => l.length) === 1, 'one line marked');
	}, ['seeked']);

	await step('closing the player drops the track and revokes its URL',
	    async () => {
		await page.click('#player-close');
		await page.waitForSelector('#player', { state: 'hidden' });
		assert(await page.$('#player video track') === null,
		    'no <track> left');
		const revoked = await page.evaluate(() => window.revokedUrls);
		assert(revoked.includes(facts.blob),
		    `the blob: URL is revoked (revoked: ${revoked})`);
	}, ['blob']);

	await step(`searching "${opt.word}" finds it once, at ` +
	    `${clock(WORD_AT).replace(/^0/, '')}, the word marked`, async () => {
		await page.fill('#search', opt.word);
		await page.click('#search-go');
		await page.waitForSelector('#hits-box', { state: 'visible' });
		await page.waitForSelector('#hits li', { state: 'attached' });
		assert(await page.isHidden('#list-box'), 'the list is hidden');
		const hits = await page.$$eval('#hits li', (lis) => lis.map(
		    (li) => ({ text: li.textContent.trim(),
			marks: [...li.querySelectorAll('mark')].map(
			    (m) => m.textContent),
			id: li.querySelector('button').dataset.id })));
		diag(`hits: ${JSON.stringify(hits)}`);
		assert(hits.length === 1, `one hit (got ${hits.length})`);
		assert(hits[0].id === opt.id, 'of the recording');
		const at = clock(WORD_AT).replace(/^0/, '');
		assert(hits[0].text.includes(at), `it says ${at}`);
		assert(hits[0].text.includes('Planning'), 'it names the meeting');
		assert(hits[0].marks.length === 1 &&
		    hits[0].marks[0].toLowerCase() === opt.word,
		    `"${opt.word}" in <mark> (got ${hits[0].marks})`);
		assert(await page.isHidden('#hits-empty'), 'no "nothing found"');
		facts.hit = true;
	});

	await step('clicking the hit opens the player there and plays',
	    async () => {
		await page.click('#hits li button.hit');
		await page.waitForSelector('#player', { state: 'visible' });
		const v = await playsAt(page, WORD_AT, 'the hit');
		diag(`at ${v.currentTime.toFixed(2)} s`);
		await page.waitForSelector('#player video track',
		    { state: 'attached' });
		await page.click('#player-close');
	}, ['hit']);

	await step(`a word never said ("${opt['other-word']}") finds nothing`,
	    async () => {
		await page.fill('#search', opt['other-word']);
		await page.click('#search-go');
		await page.waitForSelector('#hits-empty', { state: 'visible' });
		assert(await page.$$eval('#hits li', (l) => l.length) === 0,
		    'no hits');
	});

	await step('Clear brings the list back', async () => {
		await page.click('#search-clear');
		await page.waitForSelector('#list-box', { state: 'visible' });
		assert(await page.isHidden('#hits-box'), 'the results are gone');
		assert(await page.inputValue('#search') === '', 'the box is empty');
		assert(await page.isVisible(row), 'the recording is listed');
	});

	if (opt.stranger) {
		await step('a user who may not view the recording finds nothing',
		    async () => {
			const c2 = await browser.newContext();
			const p = await c2.newPage();
			pages.set('stranger', p);
			await signIn(p, opt.stranger);
			await p.fill('#search', opt.word);
			await p.click('#search-go');
			await p.waitForSelector('#hits-empty', { state: 'visible' });
			assert(await p.$$eval('#hits li', (l) => l.length) === 0,
			    'no hits');
			await c2.close();
			pages.delete('stranger');
		});
	}

	await step('"Transcribe again" asks for it, and the panel says so',
	    async () => {
		await page.click(`${row} [data-action="play"]`);
		await page.waitForSelector('#transcribe', { state: 'visible' });
		await page.click('#transcribe');
		await page.waitForSelector(
		    '#transcript-status[data-status="pending"]',
		    { state: 'visible' });
		const st = await page.textContent('#transcript-status');
		diag(`status: ${st}`);
		assert(/being made/.test(st), `pending is said (got ${st})`);
		assert(await page.isHidden('#transcribe'),
		    'no second ask while it is pending');
		assert(await page.$$eval('#transcript-lines li',
		    (l) => l.length) === SENTENCES,
		    'the last transcript stays meanwhile');
		await page.click('#player-close');
	}, ['blob']);

	await step('no script error', async () => {
		assert(defects.length === 0, defects.join('; '));
		const other = blocked.filter((b) => !/blob:/.test(b));
		assert(other.length === 0, `nothing else blocked by the CSP: ` +
		    other.join('; '));
	});
} finally {
	await browser.close().catch(() => {});
}

console.log(`1..${n}`);
if (failed)
	diag(`${failed} of ${n} steps failed`);
process.exit(failed ? 1 : 0);
