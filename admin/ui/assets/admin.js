// The Junction admin page: a WAMP client of the admin realm (wamp.js).
// Views are drawn from the procedures of admin/api.go and kept live by
// the admin.tick and admin.log events; nothing polls by reloading.
'use strict';

const $ = (sel, el) => (el || document).querySelector(sel);
const h = (tag, attrs, ...kids) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
};

const state = {
  wamp: null, user: '', realm: localStorage.getItem('junction-admin-realm') || '',
  overview: null, ticks: [], changes: -1, view: null, logs: [], logFilter: { level: 'INFO', text: '' },
  queueRates: {},
};

// Formatting.
const fmt = {
  num: (n) => (n === undefined || n === null ? '' : Number(n).toLocaleString('en')),
  rate: (n) => (n >= 100 ? Math.round(n).toLocaleString('en') : n >= 10 ? n.toFixed(1) : n.toFixed(2)),
  time: (s) => { if (!s) return ''; const d = new Date(s); return isNaN(d) ? s : d.toLocaleString(); },
  ago: (s) => {
    if (!s) return '';
    const sec = Math.round((Date.now() - new Date(s)) / 1000);
    if (sec < 0) return 'in ' + fmt.span(-sec);
    return fmt.span(sec) + ' ago';
  },
  span: (sec) => sec < 60 ? sec + 's' : sec < 3600 ? Math.floor(sec / 60) + 'm ' + (sec % 60) + 's'
    : sec < 86400 ? Math.floor(sec / 3600) + 'h ' + Math.floor((sec % 3600) / 60) + 'm' : Math.floor(sec / 86400) + 'd ' + Math.floor((sec % 86400) / 3600) + 'h',
  dur: (ns) => (!ns ? '' : ns < 1e6 ? (ns / 1e3).toFixed(0) + ' µs' : ns < 1e9 ? (ns / 1e6).toFixed(1) + ' ms' : (ns / 1e9).toFixed(2) + ' s'),
  json: (v) => JSON.stringify(v, null, 2),
};

function toast(msg, bad) {
  const t = $('#toast');
  t.textContent = msg; t.className = 'toast on' + (bad ? ' bad' : '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = 'toast'; }, bad ? 6000 : 2500);
}

// call calls an admin procedure with keyword parameters; failures are
// shown where they happen by the caller, and as a toast otherwise.
function call(proc, params) {
  return state.wamp.call(proc, [], params || {}).then((r) => r.args[0]);
}

// confirmButton: a button that acts on its second click within 3s, so
// that nothing is killed or deleted by a stray click. key names what it
// acts on: a live table that redraws the button keeps it armed.
const armed = new Map(); // key → time the arming ends
function confirmButton(label, action, attrs, key) {
  key = key || label;
  const b = h('button', Object.assign({ type: 'button', class: 'danger' }, attrs || {}), label);
  const isArmed = () => (armed.get(key) || 0) > Date.now();
  if (isArmed()) b.textContent = 'Sure?';
  b.addEventListener('click', () => {
    if (!isArmed()) {
      armed.set(key, Date.now() + 3000); b.textContent = 'Sure?';
      setTimeout(() => { if (!isArmed()) b.textContent = label; }, 3050);
      return;
    }
    armed.delete(key);
    b.disabled = true;
    action().catch((e) => toast(e.message, true)).finally(() => { b.disabled = false; b.textContent = label; });
  });
  return b;
}

function actionButton(label, action, attrs) {
  const b = h('button', Object.assign({ type: 'button' }, attrs || {}), label);
  b.addEventListener('click', () => {
    b.disabled = true;
    action().catch((e) => toast(e.message, true)).finally(() => { b.disabled = false; });
  });
  return b;
}

function empty(title, text) {
  return h('div', { class: 'empty' }, h('strong', {}, title), text);
}

function errorBox(e) { return h('p', { class: 'error', role: 'alert' }, e.message || String(e)); }

// Table: sortable, filterable, paginated. Client-side over rows given
// with set(), or server-side through fetch(query) → {total, rows}.
class Table {
  constructor(opts) {
    this.o = Object.assign({ pageSize: 50 }, opts);
    this.sort = opts.sort || null; this.desc = !!opts.desc; this.filter = ''; this.page = 0; this.rows = [];
    this.el = h('div', { class: 'table' });
    this.search = h('input', { type: 'search', placeholder: opts.placeholder || 'Filter', 'aria-label': 'filter', class: 'filter' });
    this.search.addEventListener('input', () => { this.filter = this.search.value; this.page = 0; this.refresh(); });
    this.info = h('span', { class: 'muted' });
    this.tools = h('div', { class: 'toolbar' }, this.search, h('span', { class: 'grow' }), this.info, opts.tools || []);
    this.body = h('div', {});
    this.pager = h('div', { class: 'pager' });
    this.el.append(this.tools, this.body, this.pager);
  }

  // set shows rows. A live view calls it every second: the same rows
  // are not drawn again for 5 s (relative times aside, nothing would
  // change), so that the table does not flicker under the pointer.
  set(rows) {
    const key = JSON.stringify(rows || []);
    if (key === this.key && Date.now() - this.drawn < 5000) return;
    this.key = key; this.rows = rows || []; this.draw();
  }

  refresh() { if (this.o.fetch) this.load(); else this.draw(); }

  load() {
    const q = { offset: this.page * this.o.pageSize, limit: this.o.pageSize, filter: this.filter, sort: this.sort || '', desc: this.desc };
    const seq = (this.seq = (this.seq || 0) + 1);
    return this.o.fetch(q).then((res) => {
      if (seq !== this.seq) return;
      this.total = res.total; this.draw(res.rows);
    }, (e) => { this.body.replaceChildren(errorBox(e)); });
  }

  view() {
    let rows = this.rows;
    const f = this.filter.toLowerCase();
    if (f) rows = rows.filter((r) => this.o.columns.some((c) => String(c.text ? c.text(r) : r[c.key] ?? '').toLowerCase().includes(f)));
    if (this.sort) {
      const c = this.o.columns.find((c) => c.key === this.sort);
      const v = (r) => (c && c.value ? c.value(r) : r[this.sort]);
      rows = rows.slice().sort((a, b) => {
        const x = v(a), y = v(b);
        const d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
        return this.desc ? -d : d;
      });
    }
    this.total = rows.length;
    return rows.slice(this.page * this.o.pageSize, (this.page + 1) * this.o.pageSize);
  }

  draw(pageRows) {
    this.drawn = Date.now();
    const rows = pageRows || this.view();
    const pages = Math.max(1, Math.ceil(this.total / this.o.pageSize));
    if (this.page >= pages) { this.page = pages - 1; if (this.o.fetch) { this.load(); return; } return this.draw(); }
    this.info.textContent = this.total === 1 ? '1 row' : fmt.num(this.total) + ' rows';
    if (!this.total) {
      const e = this.filter ? empty('Nothing matches "' + this.filter + '"', 'Change or clear the filter.') : this.o.empty();
      this.body.replaceChildren(e);
      this.pager.replaceChildren();
      return;
    }
    const head = h('tr', {}, this.o.columns.map((c) => {
      const sortable = c.sort !== false && c.key;
      const th = h('th', { class: sortable ? 'sortable' : '', scope: 'col', dataset: { key: c.key || '' } }, c.label,
        this.sort === c.key ? h('span', { class: 'arrow' }, this.desc ? '▼' : '▲') : '');
      if (sortable) {
        th.addEventListener('click', () => {
          if (this.sort === c.key) this.desc = !this.desc; else { this.sort = c.key; this.desc = false; }
          this.page = 0; this.refresh();
        });
      }
      return th;
    }));
    const body = rows.map((r) => h('tr', { dataset: { id: String(this.o.id ? this.o.id(r) : '') } },
      this.o.columns.map((c) => h('td', { class: c.cls || '', dataset: { col: c.key || '' } }, c.render ? c.render(r) : r[c.key]))));
    this.body.replaceChildren(h('div', { class: 'tablewrap' }, h('table', {}, h('thead', {}, head), h('tbody', {}, body))));
    if (pages > 1) {
      const go = (p) => { this.page = p; this.refresh(); };
      this.pager.replaceChildren(
        h('button', { type: 'button', disabled: this.page === 0, onclick: () => go(this.page - 1) }, '‹ Previous'),
        h('span', {}, 'Page ' + (this.page + 1) + ' of ' + fmt.num(pages)),
        h('button', { type: 'button', disabled: this.page >= pages - 1, onclick: () => go(this.page + 1) }, 'Next ›'));
    } else this.pager.replaceChildren();
  }
}

// Chart: lines over the last points, drawn on a canvas; colours from
// the theme.
function drawChart(canvas, series, labels) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, ht = canvas.clientHeight;
  if (!w || !ht) return;
  canvas.width = w * dpr; canvas.height = ht * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  const css = getComputedStyle(document.documentElement);
  const col = (v) => css.getPropertyValue(v).trim();
  const n = 120; // points across: two minutes of ticks, the latest at the right
  const top = Math.max(1, ...series.flat());
  const pad = { l: 48, r: 8, t: 8, b: 20 };
  g.font = '11px system-ui, sans-serif'; g.fillStyle = col('--muted'); g.strokeStyle = col('--line'); g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (ht - pad.t - pad.b) * (i / 4);
    g.beginPath(); g.moveTo(pad.l, y); g.lineTo(w - pad.r, y); g.stroke();
    g.fillText(fmt.rate(top * (1 - i / 4)), 4, y + 4);
  }
  g.fillText(labels[0], pad.l, ht - 4);
  g.fillText(labels[1], w - pad.r - g.measureText(labels[1]).width, ht - 4);
  series.forEach((s, k) => {
    g.strokeStyle = col('--s' + (k + 1)); g.lineWidth = 1.8; g.beginPath();
    s.forEach((v, i) => {
      const x = pad.l + (w - pad.l - pad.r) * ((i + n - s.length) / (n - 1));
      const y = pad.t + (ht - pad.t - pad.b) * (1 - v / top);
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  });
}

// Ticks: the realms' counters every second, kept for two minutes.
function onTick(tick) {
  state.ticks.push(tick);
  if (state.ticks.length > 121) state.ticks.shift();
  for (const r of tick.realms || []) {
    const n = $('#n-sessions'); if (r.realm === state.realm && n) {
      $('#n-sessions').textContent = fmt.num(r.sessions);
      $('#n-subscriptions').textContent = fmt.num(r.subscriptions);
      $('#n-registrations').textContent = fmt.num(r.registrations);
    }
  }
  fillRealms(tick.realms || []);
  const changed = tick.changes !== state.changes;
  state.changes = tick.changes;
  if (state.view && state.view.tick) state.view.tick(tick, changed);
}

function rates(realm) {
  const out = { publishes: [], events: [], calls: [], errors: [] };
  for (let i = 1; i < state.ticks.length; i++) {
    const a = (state.ticks[i - 1].realms || []).find((r) => r.realm === realm);
    const b = (state.ticks[i].realms || []).find((r) => r.realm === realm);
    const dt = (new Date(state.ticks[i].time) - new Date(state.ticks[i - 1].time)) / 1000 || 1;
    for (const k of Object.keys(out)) out[k].push(a && b ? Math.max(0, (b[k] - a[k]) / dt) : 0);
  }
  return out;
}

function fillRealms(realms) {
  const sel = $('#realm');
  const names = realms.map((r) => r.realm);
  if (!state.realm || !names.includes(state.realm)) {
    state.realm = names.includes('realm1') ? 'realm1' : names[0] || '';
  }
  if ([...sel.options].map((o) => o.value).join() !== names.join()) {
    sel.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
  }
  sel.value = state.realm;
}

// Views. Each returns {el, tick?(tick, changed), stop?()}.
const views = {};

views.overview = () => {
  const cards = h('div', { class: 'cards' });
  const canvas = h('canvas', { class: 'chart', id: 'rates' });
  const legend = h('div', { class: 'legend' }, ['publishes/s', 'events/s', 'calls/s', 'errors/s'].map((l, i) =>
    h('span', {}, h('i', { class: 'sw' + (i + 1) }), l)));
  const realms = new Table({
    columns: [
      { key: 'realm', label: 'Realm' }, { key: 'sessions', label: 'Sessions', render: (r) => fmt.num(r.sessions) },
      { key: 'subscriptions', label: 'Subscriptions', render: (r) => fmt.num(r.subscriptions) },
      { key: 'registrations', label: 'Registrations', render: (r) => fmt.num(r.registrations) },
      { key: 'publishes', label: 'Publishes', render: (r) => fmt.num(r.publishes) },
      { key: 'events', label: 'Events', render: (r) => fmt.num(r.events) },
      { key: 'calls', label: 'Calls', render: (r) => fmt.num(r.calls) },
      { key: 'errors', label: 'Errors', render: (r) => fmt.num(r.errors) }],
    id: (r) => r.realm, empty: () => empty('No realm', 'The router serves no realm.'), pageSize: 20,
  });
  const nodes = h('div', {});
  const el = h('section', {}, h('h1', {}, 'Overview'), h('p', { class: 'sub' }, 'What this Junction runs, live.'),
    cards, h('div', { class: 'panel' }, h('h2', { id: 'rates-title' }, 'Traffic'), canvas, legend),
    h('div', { class: 'panel' }, h('h2', {}, 'Realms'), realms.el), h('div', { class: 'panel' }, h('h2', {}, 'Cluster'), nodes));
  for (const [i, sw] of [...legend.querySelectorAll('i')].entries()) sw.style.background = 'var(--s' + (i + 1) + ')';
  const tick = (t) => {
    const r = (t.realms || []).find((x) => x.realm === state.realm) || {};
    const ov = state.overview || {};
    const up = ov.started ? fmt.span(Math.round((Date.now() - new Date(ov.started)) / 1000)) : '';
    const rt = rates(state.realm);
    const last = (k) => (rt[k].length ? rt[k][rt[k].length - 1] : 0);
    cards.replaceChildren(...[
      ['Sessions', fmt.num(r.sessions)], ['Subscriptions', fmt.num(r.subscriptions)], ['Registrations', fmt.num(r.registrations)],
      ['Events/s', fmt.rate(last('events'))], ['Calls/s', fmt.rate(last('calls'))], ['Nodes', (t.nodes || []).length || 1], ['Up', up]]
      .map(([l, v]) => h('div', { class: 'card' }, h('div', { class: 'label' }, l), h('div', { class: 'value', dataset: { card: l } }, v))));
    $('#rates-title', el).textContent = 'Traffic in ' + state.realm + ', last two minutes';
    drawChart(canvas, [rt.publishes, rt.events, rt.calls, rt.errors], ['−2 min', 'now']);
    realms.set(t.realms || []);
    nodes.replaceChildren(t.nodes && t.nodes.length
      ? h('div', {}, t.nodes.map((n) => h('span', { class: 'badge ok' }, n)), ' ', h('span', { class: 'muted' }, t.nodes.length + ' nodes see each other'))
      : h('p', { class: 'muted' }, 'Not clustered: one node. Start routers with --cluster-listen and --peers to spread a realm over several.'));
  };
  if (state.ticks.length) tick(state.ticks[state.ticks.length - 1]);
  return { el, tick };
};

views.sessions = () => {
  const t = new Table({
    placeholder: 'Filter by ID, authid, role, transport, address…',
    fetch: (q) => call('admin.sessions', Object.assign({ realm: state.realm }, q)),
    id: (r) => r.id, pageSize: 50,
    columns: [
      { key: 'id', label: 'Session', render: (r) => h('code', {}, r.id) },
      { key: 'authid', label: 'Authid' }, { key: 'authrole', label: 'Role' }, { key: 'authmethod', label: 'Method' },
      { key: 'transport', label: 'Transport', render: (r) => r.transport + (r.serializer ? ' / ' + r.serializer : '') },
      { key: 'remote_addr', label: 'Address', render: (r) => h('code', {}, r.remote_addr || '') },
      { key: 'node', label: 'Node', render: (r) => r.node || h('span', { class: 'muted' }, 'here') },
      { key: 'joined', label: 'Joined', render: (r) => h('span', { title: fmt.time(r.joined) }, fmt.ago(r.joined)) },
      { key: 'messages_in', label: 'In', render: (r) => fmt.num(r.messages_in) },
      { key: 'messages_out', label: 'Out', render: (r) => fmt.num(r.messages_out) },
      { label: '', sort: false, render: (r) => confirmButton('Kill', () => call('admin.session.kill', { realm: state.realm, id: r.id })
        .then(() => toast('Session ' + r.id + ' killed')), { dataset: { action: 'kill' } }, 'kill ' + r.id) }],
    empty: () => empty('No session in ' + state.realm, 'Connect a WAMP client to the router\'s /ws to see it here.'),
  });
  t.load();
  return {
    el: h('section', {}, h('h1', {}, 'Sessions'), h('p', { class: 'sub' }, 'The WAMP sessions of the realm, on every node.'), t.el),
    tick: (_, changed) => { if (changed) t.load(); },
  };
};

function entryView(kind, title, members) {
  return () => {
    const t = new Table({
      placeholder: 'Filter by URI, policy, member…', id: (r) => r.id,
      columns: [
        { key: 'uri', label: 'URI', render: (r) => h('code', {}, r.uri) },
        { key: 'match', label: 'Match' },
        kind === 'registrations' ? { key: 'invoke', label: 'Invoke' } : null,
        { key: 'members', label: members, value: (r) => r.members.length, text: (r) => r.members.map((m) => m.authid + ' ' + m.id).join(' '),
          cls: 'wrap', render: (r) => h('span', {}, h('strong', {}, r.members.length), ' ',
            h('span', { class: 'members' }, r.members.slice(0, 6).map((m) => (m.authid || '?') + ' (' + m.id + ')').join(', ') + (r.members.length > 6 ? ', …' : ''))) },
        { key: 'node', label: 'Node', render: (r) => r.node || h('span', { class: 'muted' }, 'here') },
        { key: 'created', label: 'Created', render: (r) => h('span', { title: fmt.time(r.created) }, fmt.ago(r.created)) },
      ].filter(Boolean),
      empty: () => empty('No ' + kind.slice(0, -1) + ' in ' + state.realm,
        kind === 'subscriptions' ? 'A client that subscribes to a topic appears here.' : 'A client that registers a procedure appears here.'),
    });
    const load = () => call('admin.' + kind, { realm: state.realm }).then((rows) => t.set(rows), (e) => t.body.replaceChildren(errorBox(e)));
    load();
    return { el: h('section', {}, h('h1', {}, title), h('p', { class: 'sub' }, 'In realm ' + state.realm + ', with their ' + members.toLowerCase() + '.'), t.el),
      tick: (_, changed) => { if (changed) load(); } };
  };
}
views.subscriptions = entryView('subscriptions', 'Subscriptions', 'Subscribers');
views.registrations = entryView('registrations', 'Registrations', 'Callees');

function unavailable(what, how) {
  return h('section', {}, h('h1', {}, what), empty('This program has no ' + what.toLowerCase(), how));
}

views.queues = () => {
  if (!state.overview.features.queues) {
    return { el: unavailable('Task queues', 'Declare one in an app with app.Queue("name") and its tasks with q.Task(...).') };
  }
  const detail = h('div', {});
  let open = '';
  const t = new Table({
    id: (r) => r.name, placeholder: 'Filter queues',
    columns: [
      { key: 'name', label: 'Queue', render: (r) => h('a', { href: '#/queues', onclick: (e) => { e.preventDefault(); show(r.name); } }, r.name) },
      { key: 'pending', label: 'Pending', render: (r) => fmt.num(r.pending) },
      { key: 'running', label: 'Running', render: (r) => fmt.num(r.running) },
      { key: 'done', label: 'Done', render: (r) => fmt.num(r.done) },
      { key: 'failed', label: 'Failed', render: (r) => fmt.num(r.failed) },
      { key: 'dead', label: 'Dead', render: (r) => r.dead ? h('span', { class: 'badge dead' }, fmt.num(r.dead)) : '0' },
      { key: 'rate', label: 'Tasks/s', value: (r) => state.queueRates[r.name] || 0, render: (r) => fmt.rate(state.queueRates[r.name] || 0) },
      { key: 'paused', label: 'State', render: (r) => h('span', { class: 'badge ' + (r.paused ? 'paused' : 'running') }, r.paused ? 'paused' : 'running') },
      { label: '', sort: false, render: (r) => actionButton(r.paused ? 'Resume' : 'Pause',
        () => call('admin.queue.pause', { queue: r.name, paused: !r.paused }).then(load), { dataset: { action: 'pause' } }) }],
    empty: () => empty('No queue', 'Declare one with app.Queue("name").'),
  });
  const show = (name) => {
    open = name;
    return call('admin.queue.dead', { queue: name }).then((tasks) => {
      const dt = new Table({
        id: (r) => r.id, placeholder: 'Filter dead tasks',
        columns: [
          { key: 'id', label: 'Task ID', render: (r) => h('code', {}, r.id) }, { key: 'task', label: 'Task' },
          { key: 'attempts', label: 'Attempts' }, { key: 'error', label: 'Error', cls: 'wrap' },
          { key: 'payload', label: 'Payload', cls: 'wrap', sort: false, render: (r) => h('code', {}, r.payload === undefined ? '' : JSON.stringify(r.payload)) },
          { key: 'ended', label: 'Died', render: (r) => fmt.ago(r.ended) },
          { label: '', sort: false, render: (r) => h('span', {},
            actionButton('Requeue', () => call('admin.queue.requeue', { queue: name, id: r.id }).then(() => { toast('Task requeued'); show(name); load(); }), { dataset: { action: 'requeue' } }), ' ',
            confirmButton('Delete', () => call('admin.queue.delete', { queue: name, id: r.id }).then(() => { toast('Task deleted'); show(name); load(); }), { dataset: { action: 'delete' } }, 'delete ' + r.id)) }],
        empty: () => empty('No dead task in ' + name, 'Tasks that fail every attempt land here, to be requeued or deleted.'),
      });
      dt.set(tasks);
      detail.replaceChildren(h('div', { class: 'panel', id: 'dead' }, h('h2', {}, 'Dead tasks of ' + name), dt.el));
    }, (e) => detail.replaceChildren(errorBox(e)));
  };
  let last = null;
  const load = () => call('admin.queues').then((qs) => t.set(qs), (e) => t.body.replaceChildren(errorBox(e)));
  load();
  // Look up any task by queue and ID: state, attempts, error, result.
  const lookQueue = h('input', { id: 'task-queue', placeholder: 'queue', autocomplete: 'off' });
  const lookID = h('input', { id: 'task-id', placeholder: 'task ID', autocomplete: 'off', size: 28 });
  const lookOut = h('pre', { class: 'out', id: 'task-out' }, 'A task\'s state, attempts, error and result appear here.');
  const look = h('form', { class: 'toolbar', id: 'task-form' }, lookQueue, lookID, h('button', { type: 'submit' }, 'Look up'));
  look.addEventListener('submit', (e) => {
    e.preventDefault();
    call('admin.queue.task', { queue: lookQueue.value.trim() || open, id: lookID.value.trim() }).then(
      (task) => { lookOut.className = 'out ok'; lookOut.textContent = fmt.json(task); },
      (err) => { lookOut.className = 'out error'; lookOut.textContent = err.message; });
  });
  return {
    el: h('section', {}, h('h1', {}, 'Task queues'), h('p', { class: 'sub' }, 'Durable queues on JetStream: counts across every process. Click a queue for its dead tasks.'), t.el, detail,
      h('div', { class: 'panel' }, h('h2', {}, 'Find a task'), look, lookOut)),
    tick: (tick) => {
      if (!tick.queues) return;
      const now = new Date(tick.time);
      if (last) for (const q of tick.queues) {
        const p = last.queues.find((x) => x.name === q.name);
        if (p) state.queueRates[q.name] = Math.max(0, (q.processed - p.processed) / ((now - last.time) / 1000 || 1));
      }
      last = { time: now, queues: tick.queues };
      t.set(tick.queues);
      if (open) { const q = tick.queues.find((x) => x.name === open); if (q && q.dead !== (show.dead ?? q.dead)) show(open); show.dead = q && q.dead; }
    },
  };
};

views.cron = () => {
  if (!state.overview.features.cron) {
    return { el: unavailable('Cron jobs', 'Schedule one in an app with app.Every(5*time.Minute, job) or app.Cron("0 3 * * *", job).') };
  }
  const t = new Table({
    id: (r) => r.name, placeholder: 'Filter jobs',
    columns: [
      { key: 'name', label: 'Job', render: (r) => h('code', {}, r.name) }, { key: 'schedule', label: 'Schedule', render: (r) => h('code', {}, r.schedule) },
      { key: 'next', label: 'Next', render: (r) => r.paused ? h('span', { class: 'muted' }, 'paused') : h('span', { title: fmt.time(r.next) }, fmt.ago(r.next)) },
      { key: 'last_run', label: 'Last run', render: (r) => r.last_run ? h('span', { title: fmt.time(r.last_run) }, fmt.ago(r.last_run)) : h('span', { class: 'muted' }, 'never') },
      { key: 'last_result', label: 'Outcome', cls: 'wrap', render: (r) => r.last_result ? h('span', { class: 'badge ' + (r.last_result === 'ok' ? 'ok' : 'error') }, r.last_result) : '' },
      { key: 'last_duration', label: 'Took', render: (r) => fmt.dur(r.last_duration) },
      { key: 'runs', label: 'Runs' }, { key: 'failures', label: 'Failures' },
      { label: '', sort: false, render: (r) => h('span', {},
        actionButton('Run now', () => call('admin.cron.run', { name: r.name }).then(() => toast(r.name + ' started')), { dataset: { action: 'run' } }), ' ',
        actionButton(r.paused ? 'Resume' : 'Pause', () => call('admin.cron.pause', { name: r.name, paused: !r.paused }).then(load), { dataset: { action: 'pause' } })) }],
    empty: () => empty('No job', 'Schedule one with app.Every or app.Cron.'),
  });
  const load = () => call('admin.cron').then((jobs) => t.set(jobs), (e) => t.body.replaceChildren(errorBox(e)));
  load();
  return { el: h('section', {}, h('h1', {}, 'Cron jobs'), h('p', { class: 'sub' }, 'Scheduled jobs of this process.'), t.el), tick: load };
};

views.processes = () => {
  if (!state.overview.features.processes) {
    return { el: unavailable('Processes', 'Split an app with app.Process("name") or supervise a program with app.Service(...).') };
  }
  const logs = h('div', {});
  const t = new Table({
    id: (r) => r.name, placeholder: 'Filter processes',
    columns: [
      { key: 'name', label: 'Name', render: (r) => h('a', { href: '#/processes', onclick: (e) => { e.preventDefault(); showLogs(r); } }, r.name) },
      { key: 'kind', label: 'Kind' },
      { key: 'status', label: 'Status', render: (r) => h('span', { class: 'badge ' + r.status }, r.status) },
      { key: 'pid', label: 'PID', render: (r) => h('code', {}, r.pid || '') },
      { key: 'restarts', label: 'Restarts' },
      { key: 'started', label: 'Up', render: (r) => r.started && r.status === 'running' ? fmt.span(Math.round((Date.now() - new Date(r.started)) / 1000)) : '' },
      { label: '', sort: false, render: (r) => confirmButton('Restart', () => call('admin.process.restart', { name: r.name }).then(() => toast(r.name + ' restarting')), { dataset: { action: 'restart' } }, 'restart ' + r.name) }],
    empty: () => empty('No process', 'Declare one with app.Process or app.Service.'),
  });
  let shown = '';
  const showLogs = (r) => {
    shown = r.name;
    logs.replaceChildren(h('div', { class: 'panel' }, h('h2', {}, 'Last lines of ' + r.name),
      r.logs && r.logs.length ? h('pre', { class: 'out' }, r.logs.join('\n')) : h('p', { class: 'muted' }, 'No output yet.')));
  };
  const load = () => call('admin.processes').then((ps) => {
    t.set(ps);
    const r = ps.find((p) => p.name === shown); if (r) showLogs(r);
  }, (e) => t.body.replaceChildren(errorBox(e)));
  load();
  return { el: h('section', {}, h('h1', {}, 'Processes'), h('p', { class: 'sub' }, 'Worker processes of the app and the services it supervises. Click a name for its output.'), t.el, logs), tick: load };
};

views.webhooks = () => {
  if (!state.overview.features.webhooks) {
    return { el: unavailable('Webhooks', 'Add a webhooks section to the node file: each POSTs the events of a topic to a URL.') };
  }
  const t = new Table({
    id: (r) => r.name, placeholder: 'Filter webhooks',
    columns: [
      { key: 'name', label: 'Name' }, { key: 'topic', label: 'Topic', render: (r) => h('code', {}, r.topic) }, { key: 'match', label: 'Match' },
      { key: 'url', label: 'URL', render: (r) => h('code', {}, r.url) },
      { key: 'delivered', label: 'Delivered' }, { key: 'failed', label: 'Failed' },
      { key: 'dead', label: 'Dead', render: (r) => r.dead ? h('span', { class: 'badge dead' }, r.dead) : '0' },
      { key: 'last_status', label: 'Last status' }, { key: 'last_error', label: 'Last error', cls: 'wrap' },
      { key: 'last_delivery', label: 'Last delivery', render: (r) => fmt.ago(r.last_delivery) }],
    empty: () => empty('No webhook', 'Add a webhooks section to the node file.'),
  });
  const load = () => call('admin.webhooks').then((ws) => t.set(ws), (e) => t.body.replaceChildren(errorBox(e)));
  load();
  return { el: h('section', {}, h('h1', {}, 'Webhooks'), h('p', { class: 'sub' }, 'Events POSTed to HTTP services through the task queue; dead deliveries are in the queue\'s dead tasks.'), t.el), tick: load };
};

const levels = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
views.logs = () => {
  if (!state.overview.features.logs) return { el: unavailable('Logs', 'This program does not keep its logs for the admin.') };
  const box = h('div', { class: 'logs', id: 'logbox' });
  const level = h('select', { 'aria-label': 'level', id: 'loglevel' }, levels.map((l) => h('option', { value: l }, l + ' and up')));
  level.value = state.logFilter.level;
  const text = h('input', { type: 'search', placeholder: 'Filter lines', value: state.logFilter.text });
  const follow = h('input', { type: 'checkbox', checked: true, id: 'follow' });
  const draw = () => {
    const min = levels.indexOf(state.logFilter.level), f = state.logFilter.text.toLowerCase();
    const lines = state.logs.filter((l) => levels.indexOf(l.level.replace(/[+-]\d+$/, '')) >= min && (!f || (l.message + ' ' + (l.attrs || '')).toLowerCase().includes(f)));
    box.replaceChildren(...(lines.length ? lines.slice(-1000).map((l) => h('div', { class: 'line ' + l.level },
      h('span', { class: 't' }, new Date(l.time).toLocaleTimeString()), h('span', { class: 'lvl' }, l.level), l.message, h('span', { class: 'a' }, l.attrs || '')))
      : [empty('No line at this level', 'Lower the level or wait: lines appear as they are logged.')]));
    if (follow.checked) box.scrollTop = box.scrollHeight;
  };
  level.addEventListener('change', () => { state.logFilter.level = level.value; draw(); });
  text.addEventListener('input', () => { state.logFilter.text = text.value; draw(); });
  draw();
  return {
    el: h('section', {}, h('h1', {}, 'Logs'), h('p', { class: 'sub' }, 'The last lines this program logged, live.'),
      h('div', { class: 'toolbar' }, level, text, h('span', { class: 'grow' }), h('label', {}, follow, ' follow')), box),
    log: draw,
  };
};

views.console = () => {
  let mode = 'call';
  const seg = h('div', { class: 'seg' });
  const uri = h('input', { id: 'console-uri', required: true, placeholder: 'com.example.procedure', autocomplete: 'off' });
  const args = h('textarea', { id: 'console-args', placeholder: '[1, 2]' });
  const kwargs = h('textarea', { id: 'console-kwargs', placeholder: '{"key": "value"}' });
  const out = h('pre', { class: 'out', id: 'console-out' }, 'Results appear here.');
  const label = h('span', {}, 'Procedure');
  const setMode = (m) => {
    mode = m; label.textContent = m === 'call' ? 'Procedure' : 'Topic';
    uri.placeholder = m === 'call' ? 'com.example.procedure' : 'com.example.topic';
    seg.replaceChildren(...['call', 'publish'].map((x) => h('button', { type: 'button', class: x === mode ? 'on' : '', onclick: () => setMode(x), dataset: { mode: x } }, x === 'call' ? 'Call' : 'Publish')));
  };
  setMode('call');
  const parse = (ta, def, what) => {
    const s = ta.value.trim();
    if (!s) return def;
    try { return JSON.parse(s); } catch (e) { throw new Error(what + ' is not JSON: ' + e.message); }
  };
  const form = h('form', { id: 'console-form' }, seg, h('label', {}, label, uri), h('label', {}, 'Positional arguments (JSON list)', args),
    h('label', {}, 'Keyword arguments (JSON object)', kwargs), h('div', {}, h('button', { type: 'submit', class: 'primary', id: 'console-send' }, 'Send')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    let a, k;
    try {
      a = parse(args, [], 'Positional arguments'); k = parse(kwargs, {}, 'Keyword arguments');
      if (!Array.isArray(a)) throw new Error('Positional arguments must be a JSON list');
      if (k === null || typeof k !== 'object' || Array.isArray(k)) throw new Error('Keyword arguments must be a JSON object');
    } catch (err) { out.className = 'out error'; out.textContent = err.message; return; }
    out.className = 'out'; out.textContent = '…';
    const p = { realm: state.realm, args: a, kwargs: k };
    p[mode === 'call' ? 'procedure' : 'topic'] = uri.value.trim();
    call('admin.console.' + mode, p).then((r) => {
      out.className = 'out ok';
      out.textContent = mode === 'call' ? fmt.json({ args: r.args || [], kwargs: r.kwargs || {} }) + '\n\n' + r.ms + ' ms' : 'Published: publication ' + r.publication;
    }, (err) => { out.className = 'out error'; out.textContent = err.uri ? err.uri + '\n' + fmt.json({ args: err.args, kwargs: err.kwargs }) : err.message; });
  });
  return { el: h('section', {}, h('h1', {}, 'Console'), h('p', { class: 'sub' }, 'Call a procedure or publish to a topic in realm ' + state.realm + ', as an operator authorized for everything.'),
    h('div', { class: 'console' }, h('div', { class: 'panel' }, form), h('div', { class: 'panel' }, h('h2', {}, 'Result'), out))) };
};

// Routing.
function route() {
  const name = (location.hash.replace(/^#\//, '') || 'overview').split('/')[0];
  const make = views[name] || views.overview;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === name);
  if (state.view && state.view.stop) state.view.stop();
  state.view = make();
  state.view.name = name;
  $('#view').replaceChildren(state.view.el);
}

function onLog(lines) {
  state.logs.push(...lines);
  if (state.logs.length > 2000) state.logs.splice(0, state.logs.length - 2000);
  if (state.view && state.view.log) state.view.log();
}

async function main() {
  $('#theme').addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme === 'dark' ||
      (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    const t = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = t; localStorage.setItem('junction-admin-theme', t);
    if (state.view && state.view.tick && state.ticks.length) state.view.tick(state.ticks[state.ticks.length - 1], false);
  });
  $('#realm').addEventListener('change', (e) => {
    state.realm = e.target.value; localStorage.setItem('junction-admin-realm', state.realm); route();
  });
  const me = await fetch('/admin/api/me');
  if (me.status === 401) { location.href = '/admin/login'; return; }
  const who = await me.json();
  state.user = who.user; $('#user').textContent = who.user;
  const status = $('#status');
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/admin/ws?csrf=' + encodeURIComponent(who.csrf);
  state.wamp = new WampSession(url, 'junction.admin', (s) => {
    status.className = 'status ' + (s === 'open' ? 'live' : s === 'connecting' ? 'connecting' : 'down');
    status.textContent = s === 'open' ? 'live' : s === 'connecting' ? 'connecting' : 'disconnected';
    if (s === 'closed') fetch('/admin/api/me').then((r) => { if (r.status === 401) location.href = '/admin/login'; });
  });
  try {
    await state.wamp.open();
    await state.wamp.subscribe('admin.tick', (args) => onTick(args[0]));
    await state.wamp.subscribe('admin.log', (args) => onLog(args[0]));
    state.overview = await call('admin.overview');
    if (state.overview.features.logs) onLog(await call('admin.logs'));
  } catch (e) {
    $('#view').replaceChildren(errorBox(e));
    return;
  }
  fillRealms(state.overview.realms || []);
  state.changes = state.overview.changes;
  state.ticks.push({ time: new Date().toISOString(), changes: state.overview.changes, realms: state.overview.realms, nodes: state.overview.nodes });
  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => { if (state.view && state.view.name === 'overview' && state.ticks.length) state.view.tick(state.ticks[state.ticks.length - 1], false); });
  route();
  document.body.dataset.ready = 'true';
}

main();
