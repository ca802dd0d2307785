// The page: the backlog from feeds.recent, then each feeds.article event,
// newest on top. It reconnects, with backoff, when the app goes away.
'use strict';

const list = document.getElementById('articles');
const status = document.getElementById('status');
const shown = new Set(); // feed and link, so that backlog and events never show one article twice

function show(a) {
  const key = a.feed + ' ' + (a.link || a.title);
  if (shown.has(key)) return;
  shown.add(key);
  const li = document.createElement('li');
  const link = document.createElement('a');
  link.textContent = a.title;
  if (/^https?:\/\//.test(a.link)) link.href = a.link; // no javascript: links from a feed
  const meta = document.createElement('small');
  meta.textContent = ' ' + (a.feed_title || a.feed) + (a.published ? ' · ' + a.published : '');
  li.append(link, meta);
  list.prepend(li);
}

async function run() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  const realm = new URLSearchParams(location.search).get('realm') || 'realm1';
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
    try {
      const s = await wampConnect(url, realm);
      // Subscribe first, so that nothing published meanwhile is missed;
      // hold the events until the backlog is shown, to keep the order.
      let held = [];
      await s.subscribe('feeds.article', (args, kwargs) => held ? held.push(kwargs) : show(kwargs));
      const {args} = await s.call('feeds.recent');
      (args[0] || []).forEach(show);
      held.forEach(show);
      held = null;
      status.textContent = 'live';
      delay = 1000;
      await s.closed;
    } catch (e) {
      console.warn('feeds:', e);
    }
    status.textContent = 'disconnected; trying again in ' + delay / 1000 + ' s';
    await new Promise((wake) => setTimeout(wake, delay));
  }
}

run();
