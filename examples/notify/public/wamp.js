// A minimal WAMP v2 client: JSON over WebSocket, with the subscriber and
// caller roles only, which is all this page needs. Any WAMP client works
// with Junction's router; a larger app would use Autobahn|JS.
//
//   const s = await wampConnect('ws://127.0.0.1:8080/ws', 'realm1');
//   await s.subscribe('feeds.article', (args, kwargs, details) => ...);
//   const {args, kwargs} = await s.call('feeds.recent');
//   await s.closed; // resolves with the WebSocket's close event
'use strict';

const HELLO = 1, WELCOME = 2, ABORT = 3, GOODBYE = 6, ERROR = 8,
  SUBSCRIBE = 32, SUBSCRIBED = 33, EVENT = 36, CALL = 48, RESULT = 50;

function wampConnect(url, realm) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['wamp.2.json']);
    const pending = new Map(); // request id -> {ok, fail, handler}
    const handlers = new Map(); // subscription id -> event handler
    let nextID = 0;
    const send = (msg) => ws.send(JSON.stringify(msg));
    // request sends [type, id, ...rest] and settles with its answer.
    const request = (type, rest, handler) => new Promise((ok, fail) => {
      const id = ++nextID;
      pending.set(id, {ok, fail, handler});
      send([type, id, ...rest]);
    });
    const answer = (id) => {
      const p = pending.get(id);
      pending.delete(id);
      return p;
    };
    const session = {
      subscribe: (topic, handler) => request(SUBSCRIBE, [{}, topic], handler),
      call: (procedure, args = [], kwargs = {}) => request(CALL, [{}, procedure, args, kwargs]),
      close: () => ws.close(),
    };
    session.closed = new Promise((closed) => {
      // Browsers follow an error with a close; some WebSocket
      // implementations (Node 20's) only report the error.
      ws.onclose = ws.onerror = (e) => {
        for (const p of pending.values()) p.fail(new Error('connection closed'));
        pending.clear();
        reject(new Error('connection closed before WELCOME')); // no-op once welcomed
        closed(e);
      };
    });
    ws.onopen = () => send([HELLO, realm, {roles: {subscriber: {}, caller: {}}}]);
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      let p;
      switch (m[0]) {
      case WELCOME: session.id = m[1]; resolve(session); break;
      case ABORT: reject(new Error(m[2])); ws.close(); break;
      case GOODBYE: send([GOODBYE, {}, 'wamp.close.goodbye_and_out']); ws.close(); break;
      case SUBSCRIBED: if ((p = answer(m[1]))) { handlers.set(m[2], p.handler); p.ok(m[2]); } break;
      case EVENT: p = handlers.get(m[1]); if (p) p(m[4] || [], m[5] || {}, m[3]); break;
      case RESULT: if ((p = answer(m[1]))) p.ok({args: m[3] || [], kwargs: m[4] || {}}); break;
      case ERROR: if ((p = answer(m[2]))) p.fail(Object.assign(new Error(m[4]), {args: m[5], kwargs: m[6]})); break;
      }
    };
  });
}
