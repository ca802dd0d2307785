// A small WAMP v2 client for the admin pages: JSON over WebSocket, the
// caller, subscriber and publisher roles, and reconnection. It is tested
// with the pages, against the router, by admin/browser_test.go.
'use strict';

const WAMP = { HELLO: 1, WELCOME: 2, ABORT: 3, GOODBYE: 6, ERROR: 8, PUBLISH: 16, PUBLISHED: 17,
  SUBSCRIBE: 32, SUBSCRIBED: 33, EVENT: 36, CALL: 48, RESULT: 50 };

class WampError extends Error {
  constructor(uri, args, kwargs) {
    super(args && typeof args[0] === 'string' ? uri + ': ' + args[0] : uri);
    this.uri = uri; this.args = args || []; this.kwargs = kwargs || {};
  }
}

class WampSession {
  // url: ws:// or wss:// URL; realm: realm to join. onState(state, detail)
  // is told 'connecting', 'open' or 'closed'.
  constructor(url, realm, onState) {
    this.url = url; this.realm = realm; this.onState = onState || (() => {});
    this.req = 0; this.pending = new Map(); this.subs = new Map(); this.handlers = new Map();
    this.ws = null; this.id = null; this.stopped = false; this.delay = 500;
  }

  // open connects and resolves once joined; it reconnects by itself after
  // a connection is lost, unless close was called.
  open() {
    return new Promise((resolve, reject) => {
      this.onState('connecting');
      const ws = new WebSocket(this.url, ['wamp.2.json']);
      this.ws = ws;
      let joined = false;
      ws.onopen = () => ws.send(JSON.stringify([WAMP.HELLO, this.realm,
        { roles: { caller: {}, subscriber: {}, publisher: {} }, agent: 'junction-admin' }]));
      ws.onmessage = (e) => {
        let m;
        try { m = JSON.parse(e.data); } catch (err) { ws.close(); return; }
        if (!joined) {
          if (m[0] === WAMP.WELCOME) {
            joined = true; this.id = m[1]; this.details = m[2]; this.delay = 500;
            this.resubscribe().then(() => { this.onState('open'); resolve(this); }, reject);
          } else if (m[0] === WAMP.ABORT) {
            reject(new WampError(m[2], [m[1].message])); ws.close();
          }
          return;
        }
        this.receive(m);
      };
      ws.onclose = (e) => {
        this.ws = null;
        for (const [, p] of this.pending) p.reject(new WampError('wamp.error.canceled', ['connection lost']));
        this.pending.clear();
        this.onState('closed', e);
        if (!joined) reject(new Error('connection failed (' + e.code + ')'));
        if (!this.stopped && joined) this.retry();
      };
    });
  }

  retry() {
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, 8000);
    setTimeout(() => { if (!this.stopped) this.open().catch(() => this.retry()); }, d);
  }

  close() {
    this.stopped = true;
    if (this.ws) {
      this.ws.send(JSON.stringify([WAMP.GOODBYE, {}, 'wamp.close.close_realm']));
      this.ws.close();
    }
  }

  send(m) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new WampError('wamp.error.canceled', ['not connected']);
    this.ws.send(JSON.stringify(m));
  }

  request(m) {
    const id = ++this.req;
    m[1] = id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try { this.send(m); } catch (err) { this.pending.delete(id); reject(err); }
    });
  }

  // call resolves with {args, kwargs, details} or rejects with a WampError.
  call(procedure, args, kwargs, options) {
    return this.request([WAMP.CALL, 0, options || {}, procedure, args || [], kwargs || {}]);
  }

  publish(topic, args, kwargs, options) {
    return this.request([WAMP.PUBLISH, 0, Object.assign({ acknowledge: true }, options || {}), topic, args || [], kwargs || {}]);
  }

  // subscribe calls handler(args, kwargs, details) for each event on
  // topic, from now and after each reconnection.
  subscribe(topic, handler) {
    this.handlers.set(topic, handler);
    return this.subscribeOne(topic);
  }

  subscribeOne(topic) {
    return this.request([WAMP.SUBSCRIBE, 0, {}, topic]).then((sub) => { this.subs.set(sub, topic); });
  }

  resubscribe() {
    this.subs.clear();
    return Promise.all([...this.handlers.keys()].map((t) => this.subscribeOne(t)));
  }

  receive(m) {
    const take = (id) => { const p = this.pending.get(id); this.pending.delete(id); return p; };
    switch (m[0]) {
      case WAMP.RESULT: {
        const p = take(m[1]);
        if (p) p.resolve({ details: m[2], args: m[3] || [], kwargs: m[4] || {} });
        break;
      }
      case WAMP.ERROR: {
        const p = take(m[2]);
        if (p) p.reject(new WampError(m[4], m[5], m[6]));
        break;
      }
      case WAMP.SUBSCRIBED: { const p = take(m[1]); if (p) p.resolve(m[2]); break; }
      case WAMP.PUBLISHED: { const p = take(m[1]); if (p) p.resolve(m[2]); break; }
      case WAMP.EVENT: {
        const topic = this.subs.get(m[1]);
        const h = topic && this.handlers.get(topic);
        if (h) h(m[4] || [], m[5] || {}, m[3]);
        break;
      }
      case WAMP.GOODBYE:
        this.stopped = true;
        this.ws.send(JSON.stringify([WAMP.GOODBYE, {}, 'wamp.close.goodbye_and_out']));
        this.ws.close();
        break;
      default:
        break;
    }
  }
}

window.WampSession = WampSession;
window.WampError = WampError;
