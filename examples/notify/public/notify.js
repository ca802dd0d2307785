// The page: the last alerts from notify.recent, then each notify.alert
// event, newest on top. It reconnects, with backoff, when the app goes
// away.
'use strict';

const list = document.getElementById('alerts');
const status = document.getElementById('status');
const shown = new Set();

function show(a) {
  const key = a.time + ' ' + a.source + ' ' + a.text;
  if (shown.has(key)) return;
  shown.add(key);
  const li = document.createElement('li');
  const text = document.createElement('strong');
  text.textContent = a.text;
  const meta = document.createElement('small');
  meta.textContent = ' ' + a.source + ', from ' + a.from + ' · ' + a.time;
  li.append(text, meta);
  list.prepend(li);
}

async function run() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
    try {
      const s = await wampConnect(url, 'realm1');
      let held = [];
      await s.subscribe('notify.alert', (args) => held ? held.push(args[0]) : show(args[0]));
      const {args} = await s.call('notify.recent');
      (args[0] || []).forEach(show);
      held.forEach(show);
      held = null;
      status.textContent = 'live';
      delay = 1000;
      await s.closed;
    } catch (e) {
      console.warn('notify:', e);
    }
    status.textContent = 'disconnected; trying again in ' + delay / 1000 + ' s';
    await new Promise((wake) => setTimeout(wake, delay));
  }
}

run();
