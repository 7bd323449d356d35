// admin.js — the sessions admin page: lists sessions live from the events WebSocket and
// changes them through the REST API. The token is asked once and kept in this tab only
// (sessionStorage), so closing the tab forgets it.
const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'loopcast.adminToken';
const rows = new Map();      // session id -> <tr>
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
  let tr = rows.get(s.id);
  if (!tr) {
    tr = $('#row').content.firstElementChild.cloneNode(true);
    tr.dataset.id = s.id;
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
  updateSummary();
}

function remove(id) {
  const tr = rows.get(id);
  if (tr) tr.remove();
  rows.delete(id);
  updateSummary();
}

function updateSummary() {
  const n = rows.size;
  const on = [...rows.values()].filter((tr) => tr.querySelector('.state').classList.contains('on')).length;
  $('#summary').textContent = `${n} session${n === 1 ? '' : 's'}, ${on} listening`;
  $('#empty').hidden = n > 0;
}

async function patch(id, change) {
  try { render(await api('PATCH', 'sessions/' + id, change)); } catch (e) { if (e.message !== 'unauthorized') setStatus(e.message, 'bad'); }
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
      loadJoin();  // on every (re)connect: the server may have a new address
    } else if (m.type === 'session.removed') {
      remove(m.session.id);
    } else if (m.type && m.type.startsWith('session.')) {
      render(m.session);
    } else if (m.type === 'source') {
      setStatus(`live · source ${m.uri} (${m.state})`, m.state === 'running' ? 'ok' : 'bad');
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

$('#login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('#token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  start();
});

if (token) start(); else showLogin();
