// SPDX-License-Identifier: ISC
//
// seed-frontend.mjs - the seed's front end (reference/seed-plan.txt,
// Phase 3) against a running meetrec, printing TAP.  Run by
// t/150-seed-frontend.t; Node's own fetch, no npm package.
//
//   node seed-frontend.mjs --base http://127.0.0.1:PORT/ --token JWT
//       --viewer-token JWT --viewer UUID --room CODE [--timeout-ms MS]
//
// What it holds of the seed, changed only from TypeScript to JavaScript:
// the meetStore's recording state and its startRecording/stopRecording
// actions (3.1), and the recordings page's formatFileSize and
// formatDuration (3.3).  The seed does not show meetApi, fetchRecordings
// or deleteRecording; they are written here as the seed's pages use
// them: the seed's endpoints under /api with a Bearer token, the answer's
// JSON, a failed request thrown.  The steps: start (the store is
// recording, with the recording id), the status polled until recording,
// stop (the store is idle), the status polled until completed (the Perl
// side runs a reaper), the list (the recording and total), the details,
// what the page shows of it (m:ss, KB/MB, the download link of a
// completed recording, which must fetch), storage_path in the list for
// the owner and not for a viewer, delete ({success: true}), and the list
// without it.  Lines "# key=value" carry facts for the Perl side.

const opt = {
	base: null, token: null, 'viewer-token': null, viewer: null,
	room: null, 'timeout-ms': '60000',
};
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '');
	if (!(k in opt) || i + 1 >= process.argv.length) {
		console.error('usage: seed-frontend.mjs --base URL --token JWT ' +
		    '--viewer-token JWT --viewer UUID --room CODE ' +
		    '[--timeout-ms MS]');
		process.exit(2);
	}
	opt[k] = process.argv[i + 1];
}
for (const k of ['base', 'token', 'viewer-token', 'viewer', 'room']) {
	if (!opt[k]) {
		console.error(`seed-frontend.mjs: --${k} is required`);
		process.exit(2);
	}
}
const api = opt.base.replace(/\/+$/, '') + '/api';
const timeoutMs = Number(opt['timeout-ms']);

// ---------------------------------------------------------------------
// TAP

let n = 0, failed = 0;

function ok(cond, name, detail) {
	n++;
	if (!cond)
		failed++;
	console.log(`${cond ? '' : 'not '}ok ${n} - ${name}`);
	if (!cond && detail !== undefined)
		diag(typeof detail === 'string' ? detail :
		    JSON.stringify(detail));
	return cond;
}

function is(got, want, name) {
	return ok(got === want, name, `got ${JSON.stringify(got)}, ` +
	    `want ${JSON.stringify(want)}`);
}

function diag(text) {
	for (const l of String(text).split('\n'))
		console.log(`# ${l}`);
}

function fact(k, v) {
	console.log(`# ${k}=${v}`);
}

// ---------------------------------------------------------------------
// meetApi: the seed's endpoints, as its pages call them (axios-like: the
// answer's JSON, a failed request thrown with what came back).

function client(token) {
	async function call(method, path, body) {
		const headers = { Authorization: `Bearer ${token}` };
		if (body !== undefined)
			headers['Content-Type'] = 'application/json';
		const r = await fetch(api + path, {
			method, headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await r.text();
		let data = null;
		try {
			data = text ? JSON.parse(text) : null;
		} catch (e) {
			data = text;
		}
		if (!r.ok) {
			const err = new Error(`${method} ${path}: ${r.status}`);
			err.response = { status: r.status, data };
			throw err;
		}
		return data;
	}
	return {
		startRecording: (roomCode) =>
		    call('POST', '/recordings/start', { room_code: roomCode }),
		stopRecording: (recordingId) =>
		    call('POST', `/recordings/${recordingId}/stop`),
		getRecordings: (params = {}) => call('GET', '/recordings/' +
		    (Object.keys(params).length ?
		    '?' + new URLSearchParams(params) : '')),
		getRecording: (recordingId) =>
		    call('GET', `/recordings/${recordingId}`),
		getRecordingStatus: (recordingId) =>
		    call('GET', `/recordings/${recordingId}/status`),
		deleteRecording: (recordingId) =>
		    call('DELETE', `/recordings/${recordingId}`),
		// Not the seed's: meetrec's way to let a user view it.
		setAccess: (recordingId, access) =>
		    call('PUT', `/recordings/${recordingId}/access`, access),
	};
}

const meetApi = client(opt.token);
const viewerApi = client(opt['viewer-token']);

// ---------------------------------------------------------------------
// useMeetStore: a Zustand store, as small as create() needs to be.

function create(init) {
	let state;
	const set = (partial) => {
		const next = typeof partial === 'function' ? partial(state) :
		    partial;
		state = { ...state, ...next };
	};
	const get = () => state;
	state = init(set, get);
	return { getState: get };
}

const useMeetStore = create((set, get) => ({
	// Seed 3.1: "Add to store state"
	recording: {
		isRecording: false,
		recordingId: null,
		recordingStatus: 'idle',
		recordingDuration: 0,
	},
	recordings: [],
	// The seed's MeetingControls ticks recordingDuration once a second
	// ("REC mm:ss"); nothing here reads it.
	startRecordingTimer: () => {},

	// Seed 3.1: "Add actions", verbatim but for the types.
	startRecording: async (roomCode) => {
		set((state) => ({
			recording: { ...state.recording, recordingStatus: 'starting' }
		}));

		try {
			const response = await meetApi.startRecording(roomCode);

			set((state) => ({
				recording: {
					isRecording: true,
					recordingId: response.recording_id,
					recordingStatus: 'recording',
					recordingDuration: 0,
				}
			}));

			// Start duration timer
			get().startRecordingTimer();

			return { success: true };
		} catch (error) {
			set((state) => ({
				recording: { ...state.recording, recordingStatus: 'idle' }
			}));
			return { success: false, error };
		}
	},

	stopRecording: async () => {
		const { recordingId } = get().recording;
		if (!recordingId) return { success: false };

		set((state) => ({
			recording: { ...state.recording, recordingStatus: 'stopping' }
		}));

		try {
			await meetApi.stopRecording(recordingId);

			set((state) => ({
				recording: {
					isRecording: false,
					recordingId: null,
					recordingStatus: 'idle',
					recordingDuration: 0,
				}
			}));

			return { success: true };
		} catch (error) {
			return { success: false, error };
		}
	},

	// What the recordings page (3.3) takes from the store.
	fetchRecordings: async () => {
		const data = await meetApi.getRecordings();
		set({ recordings: data.recordings });
		return data;
	},

	deleteRecording: async (recordingId) => {
		const data = await meetApi.deleteRecording(recordingId);
		if (data && data.success)
			set((state) => ({ recordings: state.recordings.filter(
			    (r) => r.id !== recordingId) }));
		return data;
	},
}));

// ---------------------------------------------------------------------
// The recordings page (seed 3.3): its two formatters, verbatim, and what
// one row of its list shows.

const formatFileSize = (bytes) => {
	if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
	return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
};

const formatDuration = (seconds) => {
	const mins = Math.floor(seconds / 60);
	const secs = seconds % 60;
	return `${mins}:${secs.toString().padStart(2, '0')}`;
};

// The row of the page's list for recording: its <h3>, the two <span>s,
// and the download <a href> shown when it is completed.
function row(recording) {
	return {
		title: recording.room_code,
		duration: formatDuration(recording.duration_seconds || 0),
		size: formatFileSize(recording.file_size_bytes || 0),
		download: recording.status === 'completed' ?
		    { href: recording.download_url } : null,
	};
}

// ---------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The status until want (or a final status that is not it), polled as a
// page would; the last answer.
async function pollStatus(id, want) {
	const until = Date.now() + timeoutMs;
	let st = null;
	for (;;) {
		st = await meetApi.getRecordingStatus(id);
		if (st.status === want || st.status === 'failed' ||
		    Date.now() > until)
			return st;
		await sleep(200);
	}
}

// A download link as the page's <a href> is followed: without an
// Authorization header; it must give the whole file.
async function followLink(href, size, what) {
	const r = await fetch(href);
	const body = Buffer.from(await r.arrayBuffer());
	is(r.status, 200, `${what} fetches without a header`);
	is(body.length, size, `${what} gives the whole file`);
}

async function main() {
	const store = useMeetStore;

	// Start, as MeetingControls does.
	let res = await store.getState().startRecording(opt.room);
	ok(res.success, 'startRecording succeeds', res.error &&
	    res.error.response);
	let rec = store.getState().recording;
	is(rec.recordingStatus, 'recording', 'the store is recording');
	is(rec.isRecording, true, 'isRecording');
	ok(/^[0-9a-f-]{36}$/.test(rec.recordingId || ''),
	    'with the recording id from recording_id', rec);
	const id = rec.recordingId;
	fact('recording_id', id);
	if (!id)
		return;

	let st = await pollStatus(id, 'recording');
	is(st.status, 'recording', 'status: recording');
	is(st.recording_id, id, 'status: recording_id');

	// Stop.
	res = await store.getState().stopRecording();
	ok(res.success, 'stopRecording succeeds', res.error &&
	    res.error.response);
	rec = store.getState().recording;
	is(rec.recordingStatus, 'idle', 'the store is idle again');
	is(rec.recordingId, null, 'without a recording id');

	st = await pollStatus(id, 'completed');
	is(st.status, 'completed', 'status: completed, once stored');
	ok(Number.isInteger(st.duration_seconds),
	    'status: duration_seconds a whole number', st);
	fact('duration_seconds', st.duration_seconds);

	// The recordings page: fetchRecordings on mount.
	const list = await store.getState().fetchRecordings();
	const recordings = store.getState().recordings;
	const item = recordings.find((r) => r.id === id);
	ok(item, 'the list has the recording', recordings.map((r) => r.id));
	ok(Number.isInteger(list.total) && list.total >= 1 &&
	    list.total >= recordings.length, 'the list has total', list.total);
	fact('total', list.total);
	if (!item)
		return;
	for (const f of ['id', 'room_code', 'status', 'duration_seconds',
	    'file_size_bytes', 'storage_path', 'started_at', 'ended_at',
	    'created_at'])
		ok(f in item, `list item: the seed's ${f}`);
	is(item.status, 'completed', 'list item: completed');

	// The list row as the page draws it.
	const shown = row(item);
	is(shown.title, opt.room, 'page: the room code as title');
	ok(/^\d+:\d\d$/.test(shown.duration),
	    'page: formatDuration(duration_seconds) is m:ss', shown.duration);
	ok(/^\d+\.\d (KB|MB)$/.test(shown.size),
	    'page: formatFileSize(file_size_bytes) in KB or MB', shown.size);
	// Its href is the item's download_url, which the seed's own list
	// never carried (the link went nowhere); meetrec's list signs one.
	ok(shown.download !== null, 'page: a download link, since completed');
	ok(shown.download && typeof shown.download.href === 'string' &&
	    /^https?:\/\//.test(shown.download.href),
	    'page: the list\'s download link has an href', item.download_url);
	if (shown.download && shown.download.href)
		await followLink(shown.download.href, item.file_size_bytes,
		    'the list\'s link');
	fact('list_duration', shown.duration);
	fact('list_size', shown.size);
	fact('file_size_bytes', item.file_size_bytes);

	// The details, with the meeting's name and the link to the file.
	const d = await meetApi.getRecording(id);
	is(d.id, id, 'details: id');
	ok(typeof d.meeting_name === 'string' && d.meeting_name.length > 0,
	    'details: meeting_name', d.meeting_name);
	fact('meeting_name', d.meeting_name);
	ok(typeof d.download_url === 'string' &&
	    /^https?:\/\//.test(d.download_url),
	    'details: download_url', d.download_url);
	is(d.duration_seconds, item.duration_seconds,
	    'details: the same duration_seconds');
	const detailRow = row(d);
	is(detailRow.duration, shown.duration, 'page: the same m:ss');
	ok(detailRow.download && detailRow.download.href === d.download_url,
	    'page: the download link is download_url');
	fact('details_duration', detailRow.duration);
	if (detailRow.download && detailRow.download.href)
		await followLink(detailRow.download.href, item.file_size_bytes,
		    'the details\' link');

	// storage_path, in the list too: the owner's, a viewer's null.
	ok(typeof item.storage_path === 'string' &&
	    item.storage_path.length > 0 && item.storage_path ===
	    d.storage_path, "the owner's list item: storage_path, as the " +
	    'details have it', item.storage_path);
	await meetApi.setAccess(id, { allowed_viewers: [opt.viewer] });
	const theirs = await viewerApi.getRecordings({ scope: 'shared' });
	const vitem = theirs.recordings.find((r) => r.id === id);
	ok(vitem, "a viewer's list has it (scope=shared)");
	ok(vitem && 'storage_path' in vitem && vitem.storage_path === null,
	    "a viewer's list item: storage_path null", vitem);

	// Delete, as the page's trash button does.
	const del = await store.getState().deleteRecording(id);
	is(del && del.success, true, 'delete: success true');
	is(del && del.message, 'Recording deleted', "delete: the seed's message");
	ok(!store.getState().recordings.some((r) => r.id === id),
	    'the store dropped it');
	const after = await store.getState().fetchRecordings();
	ok(!store.getState().recordings.some((r) => r.id === id),
	    'the list no longer has it');
	is(after.total, list.total - 1, 'total is one less');
	let gone = null;
	try {
		await meetApi.getRecording(id);
	} catch (e) {
		gone = e.response;
	}
	is(gone && gone.status, 404, 'its details: 404');
}

try {
	await main();
} catch (e) {
	ok(false, 'no request failed', `${e.stack}\n` +
	    JSON.stringify(e.response || null));
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
