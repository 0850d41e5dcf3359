// SPDX-License-Identifier: ISC
// The recordings page: a bearer token pasted by the user, the list of
// recordings (play, download, share, delete), a room box that starts
// and stops a recording, the player with the recording's captions and
// transcript, and a search of what was said.  Plain JS, no build step,
// talks to /api only.

const API = '/api';
const PAGE = 20;
const TERMINAL = new Set(['completed', 'failed']);
const KEY = 'meetrec.token';

const $ = (sel) => document.querySelector(sel);

const state = {
	token: null,
	claims: null,
	scope: 'mine',
	cursor: null,
	rows: new Map(),	// id -> recording, in list order
	refreshTimer: null,
	rec: null,		// { id, started, timer, poll }
	shareId: null,		// the recording the share panel is about
	player: null,		// { id, rec, segments, current, vtt, poll }
	search: null,		// { q, offset }
};

// ---------------------------------------------------------------------
// Messages

function say(text, kind = 'error') {
	const box = $('#message');
	$('#message-text').textContent = text;
	box.className = kind;
	box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
	box.hidden = false;
}

function unsay() {
	$('#message').hidden = true;
}

class ApiError extends Error {
	constructor(status, detail, code) {
		super(detail);
		this.status = status;
		this.code = code;
	}
}

// Every error goes through here: its detail in the message area, and a
// 401 back to the token box.
function fail(e) {
	if (e instanceof ApiError && e.status === 401) {
		localStorage.removeItem(KEY);
		endRec();
		showTokenBox();
		say(`${e.message} Paste a valid token.`);
		return;
	}
	say(e.message || String(e));
}

// ---------------------------------------------------------------------
// The API

async function jsonOf(r) {
	if (!(r.headers.get('Content-Type') || '').includes('json'))
		return null;
	try {
		return await r.json();
	} catch (e) {
		return null;
	}
}

// One request with the token: the Response when it is a success, else
// an ApiError with the server's detail.
async function request(method, path, body) {
	const headers = { Authorization: `Bearer ${state.token}` };
	const init = { method, headers };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let r;
	try {
		r = await fetch(API + path, init);
	} catch (e) {
		throw new ApiError(0, `The server is not reachable (${e.message}).`,
		    'network');
	}
	if (!r.ok) {
		const j = await jsonOf(r);
		const detail = j && j.detail ? j.detail
		    : `${method} ${path} answered ${r.status} ${r.statusText}.`;
		throw new ApiError(r.status, detail, j && j.code);
	}
	return r;
}

async function api(method, path, body) {
	const r = await request(method, path, body);
	return { status: r.status, json: (await jsonOf(r)) || {} };
}

// A GET whose answer is text (captions).
async function apiText(path) {
	const r = await request('GET', path);
	return r.text();
}

// ---------------------------------------------------------------------
// The token

// The payload of a JWT, unverified: only for showing who this is.
function decodeJwt(t) {
	const part = t.split('.')[1];
	if (!part)
		return null;
	try {
		const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
		const bin = atob(b64 + '==='.slice((b64.length + 3) % 4));
		const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
		return JSON.parse(new TextDecoder().decode(bytes));
	} catch (e) {
		return null;
	}
}

function isAdmin() {
	const r = state.claims && state.claims.roles;
	return Array.isArray(r) ? r.includes('admin') : r === 'admin';
}

// The user id of the token, as recorded_by holds it.
function me() {
	const c = state.claims || {};
	return c.sub || c.user_id || c.id;
}

function showTokenBox() {
	stopRefresh();
	$('#app').hidden = true;
	$('#whoami').hidden = true;
	$('#token-box').hidden = false;
	$('#token').focus();
}

function useToken(t) {
	t = t.trim().replace(/^Bearer\s+/i, '');
	const claims = decodeJwt(t);
	if (!claims) {
		say('That does not look like a token (a JWT has three parts ' +
		    'separated by dots).');
		return false;
	}
	state.token = t;
	state.claims = claims;
	const name = claims.username || claims.name || claims.email ||
	    claims.sub || claims.user_id || claims.id || 'unknown user';
	$('#user-name').textContent = name;
	$('#user-company').textContent = claims.company_id
	    ? `(company ${claims.company_id})` : '';
	if (claims.exp && claims.exp * 1000 < Date.now())
		say('This token has expired; the server will refuse it.');
	$('#whoami').hidden = false;
	$('#token-box').hidden = true;
	$('#app').hidden = false;
	$('#scope-company').hidden = !isAdmin();
	return true;
}

// ---------------------------------------------------------------------
// Formatting

function mmss(s) {
	if (s === null || s === undefined || !isFinite(s))
		return '';
	s = Math.max(0, Math.round(Number(s)));
	const m = Math.floor(s / 60);
	return `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

// A time in a recording as its player's clock shows it: "01:42", or
// "1:01:42" from an hour on.
function clock(s) {
	s = Math.max(0, Math.floor(Number(s) || 0));
	const h = Math.floor(s / 3600);
	const ms = `${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${
	    String(s % 60).padStart(2, '0')}`;
	return h ? `${h}:${ms}` : ms;
}

function mb(bytes) {
	if (bytes === null || bytes === undefined)
		return '';
	const v = Number(bytes) / 1e6;
	return `${v.toFixed(v < 10 ? 2 : 1)} MB`;
}

function when(iso) {
	if (!iso)
		return '';
	const d = new Date(iso);
	return isNaN(d) ? iso : d.toLocaleString();
}

// "Daily standup, 27/11/2026 09:00" for a recording (a row of the
// list, its details, or a search hit).
function label(r) {
	return `${r.meeting_name || r.room_code}, ${
	    when(r.started_at || r.created_at)}`;
}

// The same for a recording in the list, or the one playing.
function title(id) {
	const r = state.rows.get(id) ||
	    (state.player && state.player.id === id && state.player.rec);
	return r ? label(r) : id;
}

function el(tag, attrs = {}, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (k === 'text')
			e.textContent = v;
		else if (k.startsWith('data-') || k === 'aria-label' ||
		    k === 'href' || k === 'download' || k === 'type')
			e.setAttribute(k, v);
		else
			e[k] = v;
	}
	for (const c of kids)
		e.append(c);
	return e;
}

// ---------------------------------------------------------------------
// The list

function rowFor(r) {
	const what = title(r.id);
	const tr = el('tr', { 'data-id': r.id, 'data-status': r.status });
	const actions = el('td', { className: 'actions' });
	if (r.status === 'completed') {
		actions.append(
		    el('button', { type: 'button', 'data-action': 'play',
			text: 'Play', 'aria-label': `Play ${what}` }),
		    el('a', { href: `#download-${r.id}`, download: '',
			'data-action': 'download', className: 'button',
			text: 'Download', 'aria-label': `Download ${what}` }),
		    el('button', { type: 'button', 'data-action': 'share',
			text: 'Share', 'aria-label': `Share ${what}` }));
	}
	if (r.status !== 'pending' && r.status !== 'recording') {
		actions.append(el('button', { type: 'button',
		    'data-action': 'delete', text: 'Delete',
		    'aria-label': `Delete ${what}` }));
	}
	const st = el('td', { className: `status ${r.status}`,
	    text: r.status });
	if (r.last_error)
		st.title = r.last_error;
	tr.append(
	    el('td', { className: 'date',
		text: when(r.started_at || r.created_at) }),
	    el('td', { text: r.meeting_name
		? `${r.meeting_name} (${r.room_code})` : r.room_code }),
	    st,
	    el('td', { className: 'num', text: mmss(r.duration_seconds) }),
	    el('td', { className: 'num', text: mb(r.file_size_bytes) }),
	    actions);
	return tr;
}

function render() {
	const tb = $('#recordings tbody');
	tb.replaceChildren(...[...state.rows.values()].map(rowFor));
	$('#list-empty').hidden = state.rows.size > 0;
	$('#more').hidden = !state.cursor;
	scheduleRefresh();
}

async function loadList(more = false) {
	const q = new URLSearchParams({ scope: state.scope, limit: PAGE });
	if (more && state.cursor)
		q.set('cursor', state.cursor);
	try {
		const { json } = await api('GET', `/recordings/?${q}`);
		if (!more)
			state.rows.clear();
		for (const r of json.recordings || [])
			state.rows.set(r.id, r);
		state.cursor = json.next_cursor || null;
		render();
		if (!more)
			resumeRec();
	} catch (e) {
		fail(e);
	}
}

function stopRefresh() {
	clearTimeout(state.refreshTimer);
	state.refreshTimer = null;
}

// While a recording on screen is not completed or failed, ask for the
// status of those every few seconds and update their rows in place.
function scheduleRefresh() {
	stopRefresh();
	if ([...state.rows.values()].some((r) => !TERMINAL.has(r.status)))
		state.refreshTimer = setTimeout(refreshActive, 3000);
}

async function refreshActive() {
	const busy = [...state.rows.values()].filter(
	    (r) => !TERMINAL.has(r.status));
	try {
		for (const r of busy) {
			const { json } = await api('GET',
			    `/recordings/${r.id}/status`);
			Object.assign(r, {
				status: json.status,
				file_size_bytes: json.file_size_bytes,
				duration_seconds: json.duration_seconds,
				egress_status: json.egress_status,
			});
		}
		render();
	} catch (e) {
		if (e instanceof ApiError && e.status === 404) {
			loadList();	// deleted meanwhile
			return;
		}
		fail(e);
	}
}

// A fresh short-lived download URL: GET /recordings/{id} each time.
async function freshUrl(id) {
	const { json } = await api('GET', `/recordings/${id}`);
	if (!json.download_url)
		throw new ApiError(409, 'This recording has no download link ' +
		    'yet.', 'not_ready');
	return json.download_url;
}

// The link holds a placeholder until clicked: then it gets a fresh
// signed URL and is clicked again, which the browser follows.
async function download(a, id) {
	try {
		a.href = await freshUrl(id);
		a.dataset.fresh = String(Date.now());
		a.click();
	} catch (e) {
		fail(e);
	}
}

async function remove(id) {
	if (!window.confirm(`Delete the recording of ${title(id)}?`))
		return;
	try {
		await api('DELETE', `/recordings/${id}`);
		state.rows.delete(id);
		if ($('#player').dataset.id === id)
			closePlayer();
		if (state.shareId === id)
			closeShare();
		render();
		say('Recording deleted.', 'info');
	} catch (e) {
		fail(e);
	}
}

// ---------------------------------------------------------------------
// The player

// Play a recording, from at seconds when given (a search hit): its
// details give a fresh file URL and say whether it has a transcript.
async function play(id, at) {
	try {
		const { json: rec } = await api('GET', `/recordings/${id}`);
		if (!rec.download_url)
			throw new ApiError(409, 'This recording has no download ' +
			    'link yet.', 'not_ready');
		const p = openPlayer(rec);
		const v = $('#player video');
		v.src = rec.download_url;
		if (at > 0)
			seekTo(at);
		else
			v.play().catch(() => { /* the user presses play */ });
		$('#player').scrollIntoView({ block: 'nearest' });
		await showTranscript(p);
	} catch (e) {
		fail(e);
	}
}

// A fresh player state for rec, the last one's closed.
function openPlayer(rec) {
	closePlayer();
	const p = { id: rec.id, rec, segments: [], current: -1, vtt: null,
	    poll: null };
	state.player = p;
	$('#player-title').textContent = `Playing ${label(rec)}`;
	$('#player').dataset.id = rec.id;
	$('#player-download').href = rec.download_url;
	$('#player').hidden = false;
	return p;
}

function closePlayer() {
	const v = $('#player video');
	const p = state.player;
	state.player = null;
	if (p) {
		clearTimeout(p.poll);
		dropCaptions(p);
	}
	v.pause();
	v.removeAttribute('src');
	v.load();
	hideTranscript();
	$('#player').hidden = true;
	delete $('#player').dataset.id;
}

// Go to t seconds and play; before the file's metadata is in, once it
// is (for the player still showing the same recording).
function seekTo(t) {
	const v = $('#player video');
	const p = state.player;
	const go = () => {
		if (state.player !== p)
			return;
		v.currentTime = t;
		v.play().catch(() => { /* the user presses play */ });
	};
	if (v.readyState >= HTMLMediaElement.HAVE_METADATA)
		go();
	else
		v.addEventListener('loadedmetadata', go, { once: true });
}

// ---------------------------------------------------------------------
// Captions

// The <track> of the player: the captions fetched with the token (the
// <video> cannot send it) and handed over as a blob: URL.  Where the
// page's Content-Security-Policy refuses blob: media the track fails to
// load; then its cues are read here from the same text.
function addCaptions(p, text) {
	const attrs = { kind: 'captions', label: 'Transcript', default: true };
	if (p.rec.transcript_language)
		attrs.srclang = p.rec.transcript_language;
	p.vtt = URL.createObjectURL(new Blob([text], { type: 'text/vtt' }));
	attrs.src = p.vtt;
	const t = el('track', attrs);
	t.addEventListener('error', () => {
		if (state.player === p && !(t.track.cues || []).length)
			for (const c of vttCues(text))
				t.track.addCue(c);
	}, { once: true });
	$('#player video').append(t);
	t.track.mode = 'showing';
}

function dropCaptions(p) {
	for (const t of $('#player video').querySelectorAll('track'))
		t.remove();
	if (p.vtt)
		URL.revokeObjectURL(p.vtt);
	p.vtt = null;
}

// "00:01:42.300" or "01:42.300" to seconds.
function vttTime(s) {
	return s.split(':').reduce((a, x) => a * 60 + Number(x), 0);
}

// The cues of a WebVTT file: the blocks with a timing line.
function vttCues(text) {
	const cues = [];
	for (const block of text.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
		const lines = block.split('\n');
		const i = lines.findIndex((l) => l.includes('-->'));
		const m = i < 0 ? null
		    : /^\s*([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i]);
		if (m)
			cues.push(new VTTCue(vttTime(m[1]), vttTime(m[2]),
			    lines.slice(i + 1).join('\n')));
	}
	return cues;
}

// ---------------------------------------------------------------------
// The transcript

function hideTranscript() {
	$('#transcript').hidden = true;
	$('#transcript-lines').replaceChildren();
	$('#chapters').replaceChildren();
}

// The panel for the recording playing: nothing without a transcript;
// else its state, chapters, lines and (once done) the captions.
async function showTranscript(p) {
	const rec = p.rec;
	if (!rec.transcript_status || rec.transcript_status === 'none') {
		hideTranscript();
		return;
	}
	$('#transcript').hidden = false;
	transcriptState(p);
	const done = rec.transcript_status === 'done';
	const [tr, vtt] = await Promise.all([
		transcriptOf(p.id),
		done ? apiText(`/recordings/${p.id}/captions.vtt`) : null,
	]);
	if (state.player !== p)
		return;
	p.segments = tr.segments || [];
	p.current = -1;
	showChapters(tr.chapters || rec.chapters || []);
	$('#transcript-lines').replaceChildren(...p.segments.map(lineFor));
	transcriptState(p);
	dropCaptions(p);
	if (vtt !== null)
		addCaptions(p, vtt);
	follow();
}

// The transcript; none yet (404 transcript_not_found) is an empty one.
async function transcriptOf(id) {
	try {
		const { json } = await api('GET', `/recordings/${id}/transcript`);
		return json;
	} catch (e) {
		if (e instanceof ApiError && e.code === 'transcript_not_found')
			return { segments: [], chapters: [] };
		throw e;
	}
}

// The status line (pending, failed) and "Transcribe again" (owner or
// admin, when nothing is under way).
function transcriptState(p) {
	const rec = p.rec;
	const st = $('#transcript-status');
	let text = '';
	if (rec.transcript_status === 'pending') {
		text = 'The transcript is being made.';
		if (rec.transcript_error)
			text += ` The last try failed (${rec.transcript_error}); ` +
			    'it is tried again.';
		if (p.segments.length)
			text += ' The last transcript is shown meanwhile.';
	} else if (rec.transcript_status === 'failed') {
		text = 'The transcript could not be made' +
		    (rec.transcript_error ? `: ${rec.transcript_error}` : '.');
	} else if (rec.transcript_status === 'done' && !p.segments.length) {
		text = 'Nothing was said.';
	}
	st.textContent = text;
	st.hidden = !text;
	st.dataset.status = rec.transcript_status;
	$('#transcribe').hidden = rec.transcript_status === 'pending' ||
	    !(rec.recorded_by === me() || isAdmin());
}

function lineFor(seg, i) {
	return el('li', { 'data-index': i },
	    el('button', { type: 'button', className: 'seg',
		'data-start': seg.start },
		el('span', { className: 'at', text: `[${clock(seg.start)}]` }),
		' ', seg.text));
}

function showChapters(chapters) {
	$('#chapters').replaceChildren(...chapters.map((c) =>
	    el('li', {}, el('button', { type: 'button', className: 'chapter',
		'data-start': c.start },
		el('span', { className: 'at', text: clock(c.start) }),
		' ', c.title))));
	$('#chapters-box').hidden = !chapters.length;
}

// As it plays: the line being said is marked (and scrolled to within
// the list, not the page).
function follow() {
	const p = state.player;
	if (!p)
		return;
	const t = $('#player video').currentTime;
	const i = p.segments.findIndex((s) => s.start <= t && t < s.end);
	if (i === p.current)
		return;
	const lines = $('#transcript-lines');
	const old = lines.children[p.current];
	if (old) {
		old.classList.remove('current');
		old.removeAttribute('aria-current');
	}
	p.current = i;
	const li = lines.children[i];
	if (!li)
		return;
	li.classList.add('current');
	li.setAttribute('aria-current', 'true');
	if (li.offsetTop < lines.scrollTop || li.offsetTop + li.offsetHeight >
	    lines.scrollTop + lines.clientHeight)
		lines.scrollTop = li.offsetTop - lines.clientHeight / 3;
}

async function transcribe() {
	const p = state.player;
	if (!p)
		return;
	$('#transcribe').disabled = true;
	try {
		const { json } = await api('POST',
		    `/recordings/${p.id}/transcribe`);
		p.rec.transcript_status = json.transcript_status || 'pending';
		p.rec.transcript_error = null;
		transcriptState(p);
		say('A new transcript was asked for; it takes the place of ' +
		    'this one when it is made.', 'info');
		watchTranscript(p);
	} catch (e) {
		fail(e);
	} finally {
		$('#transcribe').disabled = false;
	}
}

// While the transcript of the recording playing is pending, look again
// every few seconds; when it is not, show what there is.
function watchTranscript(p) {
	clearTimeout(p.poll);
	p.poll = setTimeout(async () => {
		if (state.player !== p)
			return;
		try {
			const { json } = await api('GET', `/recordings/${p.id}`);
			if (state.player !== p)
				return;
			Object.assign(p.rec, {
				transcript_status: json.transcript_status,
				transcript_error: json.transcript_error,
				transcript_language: json.transcript_language,
				chapters: json.chapters,
			});
			if (json.transcript_status === 'pending') {
				transcriptState(p);
				watchTranscript(p);
			} else {
				await showTranscript(p);
			}
		} catch (e) {
			fail(e);
		}
	}, 5000);
}

function onTranscriptClick(ev) {
	const b = ev.target.closest('button[data-start]');
	if (b)
		seekTo(Number(b.dataset.start));
}

// ---------------------------------------------------------------------
// Search

async function search(ev) {
	ev.preventDefault();
	const q = $('#search').value.trim();
	if (!q) {
		clearSearch();
		return;
	}
	state.search = { q, offset: 0 };
	await loadHits(false);
}

async function loadHits(more) {
	const s = state.search;
	const q = new URLSearchParams({ q: s.q, limit: PAGE,
	    offset: more ? s.offset : 0 });
	try {
		const { json } = await api('GET', `/recordings/?${q}`);
		if (state.search !== s)
			return;
		const hits = json.hits || [];
		const items = hits.map(hitFor);
		if (more)
			$('#hits').append(...items);
		else
			$('#hits').replaceChildren(...items);
		s.offset = (json.offset || 0) + hits.length;
		$('#hits-title').textContent = `Search results for “${s.q}”`;
		$('#hits-empty').hidden = $('#hits').children.length > 0;
		$('#hits-more').hidden = !json.has_more;
		showHits(true);
	} catch (e) {
		fail(e);
	}
}

// The words found, marked: text nodes and <mark>s, never markup.
function said(h) {
	const pieces = h.highlight && h.highlight.length ? h.highlight
	    : [{ text: h.text, match: false }];
	return el('q', { className: 'said' }, ...pieces.map((x) => x.match
	    ? el('mark', { text: x.text }) : x.text));
}

function hitFor(h) {
	return el('li', {}, el('button', { type: 'button', className: 'hit',
	    'data-id': h.recording_id, 'data-start': h.start },
	    el('span', { className: 'hit-where', text: label(h) }), ' ',
	    el('span', { className: 'at', text: `at ${clock(h.start)}` }), ' ',
	    said(h)));
}

// The results in the list's place, or the list back.
function showHits(on) {
	$('#hits-box').hidden = !on;
	$('#list-box').hidden = on;
	$('#search-clear').hidden = !on;
}

function clearSearch() {
	state.search = null;
	$('#search').value = '';
	$('#hits').replaceChildren();
	showHits(false);
}

function onHitsClick(ev) {
	const b = ev.target.closest('button.hit');
	if (b)
		play(b.dataset.id, Number(b.dataset.start));
}

// ---------------------------------------------------------------------
// Sharing

async function openShare(id) {
	state.shareId = id;
	$('#share-title').textContent = `Share ${title(id)}`;
	$('#share-panel').dataset.id = id;
	$('#share-result').hidden = true;
	$('#share-url').value = '';
	$('#share-password').value = '';
	$('#share-panel').hidden = false;
	$('#share-expires').focus();
	await loadShares();
}

function closeShare() {
	state.shareId = null;
	$('#share-panel').hidden = true;
}

async function loadShares() {
	const id = state.shareId;
	const ul = $('#share-list');
	try {
		// Every link, page by page.
		const shares = [];
		let cursor = null;
		do {
			const q = '?limit=200' + (cursor ?
			    `&cursor=${encodeURIComponent(cursor)}` : '');
			const { json } = await api('GET',
			    `/recordings/${id}/shares${q}`);
			shares.push(...(json.shares || []));
			cursor = json.next_cursor;
		} while (cursor && state.shareId === id);
		const items = shares.map((s) => {
			const li = el('li', { 'data-share-id': s.share_id });
			const bits = [`created ${when(s.created_at)}`,
			    `expires ${when(s.expires_at)}`,
			    s.has_password ? 'password' : 'no password',
			    `${s.view_count || 0} view(s)`];
			if (s.revoked_at)
				bits.push(`revoked ${when(s.revoked_at)}`);
			else if (s.expired)
				bits.push('expired');
			li.append(bits.join(', '));
			if (!s.revoked_at) {
				li.append(' ', el('button', { type: 'button',
				    'data-action': 'revoke',
				    'data-share-id': s.share_id,
				    text: 'Revoke' }));
			}
			return li;
		});
		ul.replaceChildren(...items);
		if (!items.length)
			ul.append(el('li', { text: 'None yet.' }));
	} catch (e) {
		ul.replaceChildren();
		fail(e);
	}
}

async function createShare(ev) {
	ev.preventDefault();
	const id = state.shareId;
	const body = { expires_in: Number($('#share-expires').value) };
	const pw = $('#share-password').value;
	if (pw)
		body.password = pw;
	try {
		const { json } = await api('POST', `/recordings/${id}/shares`,
		    body);
		$('#share-url').value = json.url;
		$('#share-result').hidden = false;
		$('#share-password').value = '';
		$('#share-url').select();
		say(`Link created; it expires ${when(json.expires_at)}` +
		    (json.has_password ? ' and asks for the password.' : '.'),
		    'info');
		await loadShares();
	} catch (e) {
		fail(e);
	}
}

async function revokeShare(shareId) {
	try {
		await api('DELETE',
		    `/recordings/${state.shareId}/shares/${shareId}`);
		say('Link revoked.', 'info');
		await loadShares();
	} catch (e) {
		fail(e);
	}
}

async function copyShare() {
	const inp = $('#share-url');
	try {
		if (!navigator.clipboard)
			throw new Error('no clipboard API');
		await navigator.clipboard.writeText(inp.value);
	} catch (e) {
		inp.focus();
		inp.select();
		if (!document.execCommand('copy')) {
			say('Copying failed: select the link and copy it by hand.');
			return;
		}
	}
	say('Link copied.', 'info');
}

// ---------------------------------------------------------------------
// The room box

function tick() {
	const s = (Date.now() - state.rec.started) / 1000;
	$('#rec-timer').textContent = `REC ${mmss(Math.floor(s))}`;
}

function recUi(recording) {
	$('#record').hidden = recording;
	$('#room-code').disabled = recording;
	$('#stop').hidden = !recording;
	$('#stop').disabled = false;
	$('#rec-timer').hidden = !recording;
}

function endRec() {
	if (state.rec) {
		clearInterval(state.rec.timer);
		clearTimeout(state.rec.poll);
	}
	state.rec = null;
	recUi(false);
}

function showRecStatus(j) {
	const bits = [`Recording ${j.recording_id || ''}: ${j.status}`];
	if (j.egress_status)
		bits.push(`egress ${j.egress_status}`);
	if (j.duration_seconds !== null && j.duration_seconds !== undefined)
		bits.push(mmss(j.duration_seconds));
	if (j.file_size_bytes !== null && j.file_size_bytes !== undefined)
		bits.push(mb(j.file_size_bytes));
	const p = $('#rec-status');
	p.textContent = bits.join(', ');
	p.dataset.id = j.recording_id || '';
	p.dataset.status = j.status;
}

// After a reload: a recording this user started and that still runs
// gets its timer and Stop button back.
function resumeRec() {
	if (state.rec || !state.claims)
		return;
	const r = [...state.rows.values()].find((x) => x.recorded_by === me() &&
	    (x.status === 'recording' || x.status === 'pending'));
	if (!r)
		return;
	const t = Date.parse(r.started_at || r.created_at);
	state.rec = { id: r.id, started: isNaN(t) ? Date.now()
	    : Math.min(t, Date.now()) };
	state.rec.timer = setInterval(tick, 250);
	tick();
	$('#room-code').value = r.room_code;
	recUi(true);
	showRecStatus({ recording_id: r.id, status: r.status,
	    egress_status: r.egress_status });
	watch(false);
}

async function record(ev) {
	ev.preventDefault();
	const code = $('#room-code').value.trim();
	$('#record').disabled = true;
	try {
		const { json } = await api('POST', '/recordings/start',
		    { room_code: code });
		localStorage.setItem('meetrec.room', code);
		state.rec = { id: json.recording_id, started: Date.now() };
		state.rec.timer = setInterval(tick, 250);
		tick();
		recUi(true);
		showRecStatus(json);
		if (json.message)
			say(json.message, 'info');
		else
			unsay();
		watch(false);
		loadList();
	} catch (e) {
		fail(e);
	} finally {
		$('#record').disabled = false;
	}
}

async function stop() {
	const rec = state.rec;
	if (!rec)
		return;
	$('#stop').disabled = true;
	try {
		const { json } = await api('POST', `/recordings/${rec.id}/stop`);
		clearInterval(rec.timer);
		rec.stopped = true;
		recUi(false);
		showRecStatus(json);
		unsay();
		watch(true);
	} catch (e) {
		$('#stop').disabled = false;
		fail(e);
	}
}

// Poll the recording's status: every 1.5 s after Stop until it is
// completed or failed, every 5 s while it records (to notice a failure).
function watch(stopped) {
	const rec = state.rec;
	clearTimeout(rec.poll);
	rec.poll = setTimeout(async () => {
		if (state.rec !== rec)
			return;
		try {
			const { json } = await api('GET',
			    `/recordings/${rec.id}/status`);
			if (state.rec !== rec)
				return;
			showRecStatus(json);
			if (TERMINAL.has(json.status)) {
				endRec();
				if (json.status === 'failed')
					say('The recording failed.');
				loadList();
				return;
			}
		} catch (e) {
			fail(e);
			if (e instanceof ApiError && e.status !== 0 &&
			    e.status < 500) {
				endRec();
				return;
			}
		}
		watch(stopped);
	}, stopped ? 1500 : 5000);
}

// ---------------------------------------------------------------------
// Wiring

function onListClick(ev) {
	const b = ev.target.closest('[data-action]');
	if (!b)
		return;
	const tr = b.closest('tr[data-id]');
	const id = tr && tr.dataset.id;
	switch (b.dataset.action) {
	case 'play':
		play(id);
		break;
	case 'download':
		// A URL fetched in the last minute is still good: follow it.
		if (b.dataset.fresh && Date.now() - b.dataset.fresh < 60000)
			return;
		ev.preventDefault();
		download(b, id);
		break;
	case 'share':
		openShare(id);
		break;
	case 'delete':
		remove(id);
		break;
	}
}

function start() {
	$('#token-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		if (!useToken($('#token').value))
			return;
		localStorage.setItem(KEY, state.token);
		$('#token').value = '';
		unsay();
		loadList();
	});
	$('#forget-token').addEventListener('click', () => {
		localStorage.removeItem(KEY);
		state.token = state.claims = null;
		state.rows.clear();
		render();
		closePlayer();
		closeShare();
		clearSearch();
		endRec();
		showTokenBox();
		say('Token forgotten.', 'info');
	});
	$('#message-close').addEventListener('click', unsay);
	$('#room-form').addEventListener('submit', record);
	$('#stop').addEventListener('click', stop);
	$('#refresh').addEventListener('click', () => loadList());
	$('#more').addEventListener('click', () => loadList(true));
	$('#scope').addEventListener('change', (ev) => {
		state.scope = ev.target.value;
		state.cursor = null;
		loadList();
	});
	$('#recordings').addEventListener('click', onListClick);
	$('#player-close').addEventListener('click', closePlayer);
	$('#player video').addEventListener('timeupdate', follow);
	$('#player video').addEventListener('seeked', follow);
	$('#transcript').addEventListener('click', onTranscriptClick);
	$('#transcribe').addEventListener('click', transcribe);
	$('#search-form').addEventListener('submit', search);
	$('#search').addEventListener('input', () => {
		if (state.search && !$('#search').value.trim())
			clearSearch();
	});
	$('#search-clear').addEventListener('click', () => {
		clearSearch();
		$('#search').focus();
	});
	$('#hits').addEventListener('click', onHitsClick);
	$('#hits-more').addEventListener('click', () => loadHits(true));
	$('#player video').addEventListener('error', () => {
		const err = $('#player video').error;
		if (err && !$('#player').hidden)
			say(`The video cannot be played (${err.message ||
			    'error ' + err.code}).`);
	});
	$('#share-form').addEventListener('submit', createShare);
	$('#share-copy').addEventListener('click', copyShare);
	$('#share-close').addEventListener('click', closeShare);
	$('#share-list').addEventListener('click', (ev) => {
		const b = ev.target.closest('[data-action="revoke"]');
		if (b)
			revokeShare(b.dataset.shareId);
	});

	$('#room-code').value = localStorage.getItem('meetrec.room') || '';
	const t = localStorage.getItem(KEY);
	if (t && useToken(t))
		loadList();
	else
		showTokenBox();
}

start();
