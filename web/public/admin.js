// admin.js — the sessions admin page: lists sessions and rooms (groups) live from the events
// WebSocket and changes them through the REST API. The token is asked once and kept in this tab
// only (sessionStorage), so closing the tab forgets it.
// Rooms: a listener joins one by being dragged onto it (HTML5 drag and drop, from the table's ⠿
// or a room's member list) or by the Room select in its row (phones have no drag and drop);
// either way the room's member list is PATCHed, and the server moves it out of any other room.
const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'loopcast.adminToken';
const DRAG_TYPE = 'application/x-loopcast-session';
const rows = new Map();      // session id -> <tr>
const sessions = new Map();  // session id -> the session as the server last said it
const groups = new Map();    // group id -> GROUP (its `sessions` is the membership truth here)
const cards = new Map();     // group id -> <article>
let streams = [];            // [{name, uri, state}], configured order: the first is the default
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let ws = null;
let backoff = 500;

function setStatus(text, cls) {
  const el = $('#status');
  el.textContent = text;
  el.className = 'status ' + (cls || '');
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#main').hidden = true;
  $('#login-error').textContent = message || '';
  $('#token').focus();
}

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: 'Bearer ' + token } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch('api/v1/' + path, opts);
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('The server refused that token.');
    throw new Error('unauthorized');
  }
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error((data && data.error && data.error.message) || res.statusText);
  return data;
}

// The page's capture-to-ear delay; with --sync-ms also how far off the common delay it plays
// (a lasting positive value: a listener whose own path is longer than the delay).
function fmtDelay(s) {
  if (s.delay_ms == null) return '—';
  if (s.sync_error_ms == null) return `${s.delay_ms} ms`;
  const e = s.sync_error_ms;
  return `${s.delay_ms} ms (${e > 0 ? '+' : e < 0 ? '−' : '±'}${Math.abs(e)} ms off sync)`;
}

function render(s) {
  sessions.set(s.id, s);
  let tr = rows.get(s.id);
  if (!tr) {
    tr = $('#row').content.firstElementChild.cloneNode(true);
    tr.dataset.id = s.id;
    draggable(tr.querySelector('.grip'), s.id);
    tr.querySelector('select.stream').addEventListener('change', (e) => patch(s.id, { stream: e.currentTarget.value }));
    tr.querySelector('select.room').addEventListener('change', (e) => moveTo(s.id, e.currentTarget.value || null));
    const name = tr.querySelector('.name');
    name.addEventListener('change', () => patch(s.id, { name: name.value.trim() }));
    const vol = tr.querySelector('.volume');
    let timer = 0;
    vol.addEventListener('input', () => {
      tr.querySelector('.vol').textContent = vol.value;
      clearTimeout(timer);  // a drag sends a few PATCHes, not one per pixel
      timer = setTimeout(() => patch(s.id, { volume: Number(vol.value) }), 80);
    });
    tr.querySelector('.mute').addEventListener('click', (e) => {
      patch(s.id, { muted: e.currentTarget.getAttribute('aria-pressed') !== 'true' });
    });
    tr.querySelector('.forget').addEventListener('click', async () => {
      if (!confirm('Forget this session? Its listener is disconnected and its settings are lost.')) return;
      try { await api('DELETE', 'sessions/' + s.id); } catch (e) { setStatus(e.message, 'bad'); }
    });
    $('#sessions tbody').appendChild(tr);
    rows.set(s.id, tr);
  }
  const name = tr.querySelector('.name');
  if (document.activeElement !== name) name.value = s.name;
  name.placeholder = 'unnamed';
  tr.querySelector('.id').textContent = s.id + (s.persist ? '' : ' · not saved');
  const st = tr.querySelector('.state');
  st.textContent = s.connected ? 'listening' + (s.remote_address ? ' · ' + s.remote_address : '') : 'away';
  st.className = 'state ' + (s.connected ? 'on' : 'off');
  const vol = tr.querySelector('.volume');
  if (document.activeElement !== vol) vol.value = s.volume;
  tr.querySelector('.vol').textContent = s.volume;
  const mute = tr.querySelector('.mute');
  mute.setAttribute('aria-pressed', String(s.muted));
  mute.textContent = s.muted ? 'Muted' : 'Mute';
  tr.querySelector('.delay').textContent = fmtDelay(s);
  tr.querySelector('.drops').textContent = String(s.packets_dropped ?? 0);
  renderPlacement(tr, s);
  updateSummary();
  renderMembers();
}

// A row's stream and room: in a room, the room's stream (not the listener's to change: the select
// is disabled and says why); else the session's, which its select moves.
function renderPlacement(tr, s) {
  const g = groupOf(s.id);
  const st = tr.querySelector('select.stream');
  setOptions(st, streamOptions(g ? g.stream : s.stream));
  st.value = (g ? g.stream : s.stream) || '';
  st.disabled = !!g;
  st.title = g ? `set by the room ${roomName(g)}` : '';
  const room = tr.querySelector('select.room');
  setOptions(room, [['', '(no room)'], ...[...groups.values()].map((x) => [x.id, roomName(x)])]);
  room.value = g ? g.id : '';
}

function remove(id) {
  const tr = rows.get(id);
  if (tr) tr.remove();
  rows.delete(id);
  sessions.delete(id);
  updateSummary();
  renderMembers();
}

// Replaces a <select>'s options only when they changed (rebuilding them under an open select
// would close it). items: [[value, label], ...]
function setOptions(sel, items) {
  const key = JSON.stringify(items);
  if (sel.dataset.options === key) return;
  const v = sel.value;
  sel.replaceChildren(...items.map(([value, label]) => new Option(label, value)));
  sel.dataset.options = key;
  sel.value = v;
}

// The streams as select options; `current` too if the list does not have it (not loaded yet).
function streamOptions(current) {
  const items = streams.map((x) => [x.name, x.state && x.state !== 'running' ? `${x.name} (${x.state})` : x.name]);
  if (current && !streams.some((x) => x.name === current)) items.push([current, current]);
  return items;
}

const roomName = (g) => g.name || 'unnamed room';
const sessionLabel = (id) => {
  const s = sessions.get(id);
  return (s && s.name) || id.slice(0, 8);
};
function groupOf(id) {
  for (const g of groups.values()) if (g.sessions.includes(id)) return g;
  return null;
}

// ---- rooms -------------------------------------------------------------------------------------
// A group as the server said it. A session is in at most one room: the one just said to hold it
// loses it from the others here at once (their own group.updated follows).
function upsertGroup(g) {
  for (const o of groups.values()) {
    if (o.id !== g.id) o.sessions = o.sessions.filter((id) => !g.sessions.includes(id));
  }
  groups.set(g.id, g);
  renderRooms();
}

function removeGroup(id) {
  groups.delete(id);
  renderRooms();
}

function renderRooms() {
  for (const [id, card] of cards) if (!groups.has(id)) { card.remove(); cards.delete(id); }
  for (const g of groups.values()) renderRoom(g);
  for (const [id, tr] of rows) renderPlacement(tr, sessions.get(id));
  renderMembers();
}

function renderRoom(g) {
  let card = cards.get(g.id);
  if (!card) {
    card = $('#room-card').content.firstElementChild.cloneNode(true);
    card.dataset.id = g.id;
    const id = g.id;
    const name = card.querySelector('.room-name');
    name.addEventListener('change', () => patchGroup(id, { name: name.value.trim() }));
    card.querySelector('select.stream').addEventListener('change', (e) => patchGroup(id, { stream: e.currentTarget.value }));
    const vol = card.querySelector('.volume');
    vol.addEventListener('input', () => {
      const v = Number(vol.value);
      card.querySelector('.vol').textContent = String(v);
      // a drag sends a few PATCHes, not one per pixel; the value is the one moved to (an answer
      // to another change may redraw the card meanwhile)
      clearTimeout(card.volTimer);
      card.volTimer = setTimeout(() => { card.volTimer = 0; patchGroup(id, { volume: v }); }, 80);
    });
    card.querySelector('.mute').addEventListener('click', (e) => {
      patchGroup(id, { muted: e.currentTarget.getAttribute('aria-pressed') !== 'true' });
    });
    card.querySelector('.sync').addEventListener('change', (e) => patchGroup(id, { sync: e.currentTarget.checked }));
    const delay = card.querySelector('.sync-delay');
    delay.addEventListener('change', () => {
      const v = Number(delay.value);
      if (!(Number.isInteger(v) && v >= 0 && v <= 3000)) { delay.value = String(groups.get(id).sync_delay_ms); return; }
      patchGroup(id, { sync_delay_ms: v });
    });
    card.querySelector('.delete').addEventListener('click', async () => {
      const g2 = groups.get(id);
      if (!confirm(`Delete the room ${roomName(g2)}? Its listeners stay, out of any room.`)) return;
      try { await api('DELETE', 'groups/' + id); removeGroup(id); } catch (e) { if (e.message !== 'unauthorized') setStatus(e.message, 'bad'); }
    });
    dropZone(card, () => id);
    $('#room-list').appendChild(card);
    cards.set(g.id, card);
  }
  const name = card.querySelector('.room-name');
  if (document.activeElement !== name) name.value = g.name;
  const st = card.querySelector('select.stream');
  setOptions(st, streamOptions(g.stream));
  st.value = g.stream;
  const vol = card.querySelector('.volume');
  if (document.activeElement !== vol && !card.volTimer) {
    vol.value = g.volume;
    card.querySelector('.vol').textContent = g.volume;
  }
  const mute = card.querySelector('.mute');
  mute.setAttribute('aria-pressed', String(g.muted));
  mute.textContent = g.muted ? 'Muted' : 'Mute';
  card.querySelector('.sync').checked = g.sync;
  const delay = card.querySelector('.sync-delay');
  if (document.activeElement !== delay) delay.value = String(g.sync_delay_ms);
  delay.disabled = !g.sync;
}

// Each room's members, and the listeners in none (the Ungrouped area), as draggable chips. A list
// is rebuilt only when what it shows changed: a chip replaced while it is being dragged would
// end the drag.
function renderMembers() {
  const fill = (ul, ids) => {
    const items = ids.map((id) => [id, sessionLabel(id), !!(sessions.get(id) || {}).connected]);
    const key = JSON.stringify(items);
    if (ul.dataset.key === key) return;
    ul.dataset.key = key;
    ul.replaceChildren(...items.map(([id, label, on]) => {
      const li = document.createElement('li');
      li.className = on ? 'chip on' : 'chip';
      li.dataset.id = id;
      li.textContent = label;
      draggable(li, id);
      return li;
    }));
  };
  for (const [id, card] of cards) {
    const g = groups.get(id);
    fill(card.querySelector('.members'), g.sessions);
    card.querySelector('.empty-room').hidden = g.sessions.length > 0;
  }
  fill($('#ungrouped .members'), [...sessions.keys()].filter((id) => !groupOf(id)));
}

// Into room `gid` (null: out of its room). The member list is replaced with one more (or one
// fewer) id; the server moves a listener out of another room by itself.
async function moveTo(id, gid) {
  const from = groupOf(id);
  if ((from ? from.id : null) === gid) return;
  try {
    if (gid) {
      const g = groups.get(gid);
      if (!g) return;
      upsertGroup(await api('PATCH', 'groups/' + gid, { sessions: [...g.sessions, id] }));
    } else {
      upsertGroup(await api('PATCH', 'groups/' + from.id, { sessions: from.sessions.filter((x) => x !== id) }));
    }
  } catch (e) {
    if (e.message !== 'unauthorized') setStatus(e.message, 'bad');
    renderRooms();     // the selects back to what is true
  }
}

async function patchGroup(id, change) {
  try { upsertGroup(await api('PATCH', 'groups/' + id, change)); } catch (e) {
    if (e.message !== 'unauthorized') setStatus(e.message, 'bad');
    if (groups.has(id)) renderRoom(groups.get(id));
  }
}

// ---- drag and drop -----------------------------------------------------------------------------
function draggable(el, id) {
  el.draggable = true;
  el.addEventListener('dragstart', (e) => {
    e.dataTransfer.setData(DRAG_TYPE, id);
    e.dataTransfer.setData('text/plain', id);
    e.dataTransfer.effectAllowed = 'move';
    document.body.classList.add('dragging');
  });
  el.addEventListener('dragend', () => {
    document.body.classList.remove('dragging');
    for (const z of document.querySelectorAll('.dropzone.over')) z.classList.remove('over');
  });
}

// A drop target: a room (target() its id) or the Ungrouped area (null). Only a listener dragged
// from this page is accepted (its own data type), not text or files.
function dropZone(el, target) {
  const ours = (e) => [...e.dataTransfer.types].includes(DRAG_TYPE);
  el.addEventListener('dragover', (e) => {
    if (!ours(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    el.classList.add('over');
  });
  el.addEventListener('dragleave', (e) => { if (!el.contains(e.relatedTarget)) el.classList.remove('over'); });
  el.addEventListener('drop', (e) => {
    el.classList.remove('over');
    if (!ours(e)) return;
    e.preventDefault();
    moveTo(e.dataTransfer.getData(DRAG_TYPE), target());
  });
}

function updateSummary() {
  const n = rows.size;
  const on = [...rows.values()].filter((tr) => tr.querySelector('.state').classList.contains('on')).length;
  $('#summary').textContent = `${n} session${n === 1 ? '' : 's'}, ${on} listening`;
  $('#empty').hidden = n > 0;
}

async function patch(id, change) {
  try { render(await api('PATCH', 'sessions/' + id, change)); } catch (e) {
    if (e.message !== 'unauthorized') setStatus(e.message, 'bad');
    if (sessions.has(id)) render(sessions.get(id));   // the controls back to what is true
  }
}

// ---- streams -----------------------------------------------------------------------------------
// The status line: the source as before with one stream; with several, each stream's state.
function renderStatus() {
  const bad = streams.some((x) => x.state && x.state !== 'running');
  if (streams.length === 1 && streams[0].uri) setStatus(`live · source ${streams[0].uri} (${streams[0].state})`, bad ? 'bad' : 'ok');
  else if (streams.length) setStatus(`live · streams ${streams.map((x) => `${x.name} (${x.state})`).join(', ')}`, bad ? 'bad' : 'ok');
  else setStatus('live', 'ok');
}

function setStreams(list) {
  streams = list.map((x) => ({ name: x.name, uri: x.uri, state: x.state }));
  renderRooms();
  renderStatus();
}

// The streams and rooms, on every (re)connect: from the events hello where it has them, else
// from the API.
async function loadStreamsAndRooms(m) {
  try {
    const st = m.status && Array.isArray(m.status.streams) ? m.status.streams : (await api('GET', 'streams')).streams;
    setStreams(st);
    const gs = Array.isArray(m.groups) ? m.groups : (await api('GET', 'groups')).groups;
    groups.clear();
    for (const g of gs) groups.set(g.id, g);
    renderRooms();
  } catch (e) {
    if (e.message !== 'unauthorized') setStatus(e.message, 'bad');
  }
}

// The listener page's LAN URLs with their QR codes, from the server (GET /api/v1/join): SVG as a
// data: image, which the page's CSP allows (img-src 'self' data:) and which runs no script.
async function loadJoin() {
  let data;
  try { data = await api('GET', 'join'); } catch (e) { return; }  // the sessions still work
  const box = $('#join .codes');
  box.replaceChildren();
  for (const u of data.urls) {
    const fig = document.createElement('figure');
    fig.className = 'code';
    if (u.qr_svg) {
      const img = document.createElement('img');
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(u.qr_svg);
      img.alt = 'QR code of ' + u.url;
      img.dataset.url = u.url;
      fig.appendChild(img);
    }
    const cap = document.createElement('figcaption');
    const a = document.createElement('a');
    a.href = u.url;
    a.textContent = u.url;
    cap.append(a, ' ', Object.assign(document.createElement('span'), { className: 'if', textContent: u.interface }));
    fig.appendChild(cap);
    box.appendChild(fig);
  }
  $('#join').hidden = data.urls.length === 0;
}

function connectEvents() {
  const url = new URL('api/v1/events', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  ws = new WebSocket(url, 'loopcast.events.v1');
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'hello') {
      backoff = 500;
      for (const id of [...rows.keys()]) remove(id);
      for (const s of m.sessions) render(s);
      const src = m.status && m.status.source ? ` · source ${m.status.source.uri} (${m.status.source.state})` : '';
      setStatus('live' + src, 'ok');
      loadStreamsAndRooms(m);
      loadJoin();  // on every (re)connect: the server may have a new address
    } else if (m.type === 'session.removed') {
      remove(m.session.id);
    } else if (m.type && m.type.startsWith('session.')) {
      render(m.session);
    } else if (m.type === 'group.removed') {
      removeGroup(m.group.id);
    } else if (m.type === 'group.created' || m.type === 'group.updated') {
      upsertGroup(m.group);
    } else if (m.type === 'source') {
      // one per stream whose state changed (the first stream's where the message names none)
      const x = m.stream ? streams.find((y) => y.name === m.stream) : streams[0];
      if (x) { x.uri = m.uri; x.state = m.state; renderStatus(); renderRooms(); } else {
        setStatus(`live · source ${m.uri} (${m.state})`, m.state === 'running' ? 'ok' : 'bad');
      }
    } else if (m.type === 'error') {
      setStatus(m.message, 'bad');
    }
  };
  ws.onclose = (ev) => {
    if (ev.code === 1008) {  // policy: the token was refused
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('The server refused that token.');
      return;
    }
    setStatus('disconnected — reconnecting…', 'bad');
    setTimeout(connectEvents, backoff);
    backoff = Math.min(backoff * 2, 10000);
  };
}

function start() {
  $('#login').hidden = true;
  $('#main').hidden = false;
  connectEvents();
}

$('#new-room').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('#room-name');
  try {
    upsertGroup(await api('POST', 'groups', { name: input.value.trim() }));
    input.value = '';
  } catch (err) { if (err.message !== 'unauthorized') setStatus(err.message, 'bad'); }
});
dropZone($('#ungrouped'), () => null);

$('#login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('#token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  start();
});

if (token) start(); else showLogin();
