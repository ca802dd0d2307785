// Shared plumbing of the interop scenarios: every script is run as
//
//     node js/<scenario>.js <ws-url> <json|msgpack|cbor>
//
// does one thing against the router, prints one JSON line and exits 0, or
// prints an error to stderr and exits 1. Nothing runs longer than
// TIMEOUT_MS.
'use strict';

// Autobahn|JS 26 uses the global WebSocket, which Node has only from 22 on;
// older Nodes get the ws package's, which has the same interface except
// that an error nobody listens to is thrown, where the browser's only
// closes the socket (and Autobahn|JS reports the close).
if (typeof globalThis.WebSocket === 'undefined') {
   const WS = require('ws');
   globalThis.WebSocket = class extends WS {
      constructor(...args) {
         super(...args);
         this.on('error', () => {});
      }
   };
}

const autobahn = require('autobahn');

const TIMEOUT_MS = 10000;

const [url, serializerName = 'json'] = process.argv.slice(2);

// BINARY_TAG marks a byte string in the printed results: JSON has no byte
// strings, so the Go test compares {"$bytes": base64} instead.
const BINARY_TAG = '$bytes';

// jsonBinaryReplacer and jsonBinaryReviver apply the WAMP JSON binary
// convention ("\u0000" + base64), which Autobahn|JS's JSONSerializer does
// not apply by itself but accepts as replacer and reviver.
function jsonBinaryReplacer(key, value) {
   const orig = this[key];
   if (orig instanceof Uint8Array) {
      return '\u0000' + Buffer.from(orig).toString('base64');
   }
   return value;
}

function jsonBinaryReviver(key, value) {
   if (typeof value === 'string' && value.length > 0 && value[0] === '\u0000') {
      return Buffer.from(value.slice(1), 'base64');
   }
   return value;
}

function serializer() {
   switch (serializerName) {
      case 'json':
         return new autobahn.serializer.JSONSerializer(jsonBinaryReplacer, jsonBinaryReviver);
      case 'msgpack':
         return new autobahn.serializer.MsgpackSerializer();
      case 'cbor':
         return new autobahn.serializer.CBORSerializer();
      default:
         throw new Error('unknown serializer ' + serializerName);
   }
}

// MSG holds the WAMP message types the scenarios look for on the wire.
const MSG = {
   HELLO: 1, WELCOME: 2, ABORT: 3, GOODBYE: 6, ERROR: 8,
   PUBLISH: 16, PUBLISHED: 17, SUBSCRIBE: 32, SUBSCRIBED: 33, EVENT: 36,
   CALL: 48, CANCEL: 49, RESULT: 50, REGISTER: 64, REGISTERED: 65,
   INVOCATION: 68, INTERRUPT: 69, YIELD: 70,
};

// WAIT_MS bounds each wait for one expected message, so that a scenario
// fails with what it was waiting for rather than at TIMEOUT_MS.
const WAIT_MS = 3000;

// Inbox queues values (events, invocations, lines) for a scenario to take
// one at a time, in order, each with its own time limit.
class Inbox {
   constructor() {
      this.items = [];
      this.waiters = [];
   }

   push(v) {
      const w = this.waiters.shift();
      if (w) {
         w.resolve(v);
      } else {
         this.items.push(v);
      }
   }

   // next resolves with the next value, or rejects after ms naming what
   // was awaited.
   next(what, ms = WAIT_MS) {
      if (this.items.length > 0) {
         return Promise.resolve(this.items.shift());
      }
      return new Promise((resolve, reject) => {
         const w = {
            resolve: (v) => {
               clearTimeout(w.timer);
               resolve(v);
            },
         };
         w.timer = setTimeout(() => {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            reject(new Error('timed out after ' + ms + ' ms waiting for ' + what));
         }, ms);
         this.waiters.push(w);
      });
   }
}

// Wire records the WAMP messages of one connection as Autobahn|JS sends
// ("tx") and receives ("rx") them, decoded, so that a scenario can check
// what the router said even where Autobahn|JS hides it, and print it.
class Wire {
   constructor() {
      this.log = [];
      this.waiters = [];
   }

   add(dir, msg) {
      const e = { dir, msg };
      this.log.push(e);
      for (const w of this.waiters.slice()) {
         if (w.dir === dir && w.match(msg)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            clearTimeout(w.timer);
            w.resolve(msg);
         }
      }
   }

   // find returns the messages so far that went dir and satisfy match.
   find(dir, match) {
      return this.log.filter((e) => e.dir === dir && match(e.msg)).map((e) => e.msg);
   }

   // waitFor resolves with the first message, past or future, that went
   // dir and satisfies match; it rejects after ms naming what.
   waitFor(dir, match, what, ms = WAIT_MS) {
      const past = this.find(dir, match);
      if (past.length > 0) {
         return Promise.resolve(past[0]);
      }
      return new Promise((resolve, reject) => {
         const w = { dir, match, resolve };
         w.timer = setTimeout(() => {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            reject(new Error('timed out after ' + ms + ' ms waiting for ' + what + '; wire: ' +
               JSON.stringify(plain(this.log.map((e) => [e.dir, e.msg])))));
         }, ms);
         this.waiters.push(w);
      });
   }
}

// tap makes ser record what it encodes and decodes in wire. It also adds
// the features of announce ({role: {feature: true}}) to HELLO, on a copy:
// Autobahn|JS sends one shared object as HELLO.Details.roles.
function tap(ser, wire, announce) {
   const serialize = ser.serialize.bind(ser);
   const unserialize = ser.unserialize.bind(ser);
   ser.serialize = (msg) => {
      if (msg[0] === MSG.HELLO && announce) {
         msg = [msg[0], msg[1], withFeatures(msg[2], announce)];
      }
      wire.add('tx', msg);
      return serialize(msg);
   };
   ser.unserialize = (payload) => {
      const msg = unserialize(payload);
      wire.add('rx', msg);
      return msg;
   };
   return ser;
}

function withFeatures(details, announce) {
   const roles = {};
   for (const [role, v] of Object.entries(details.roles)) {
      roles[role] = Object.assign({}, v, { features: Object.assign({}, v.features) });
   }
   for (const [role, features] of Object.entries(announce)) {
      roles[role] = roles[role] || { features: {} };
      Object.assign(roles[role].features, features);
   }
   return Object.assign({}, details, { roles });
}

// handleInterrupts gives a session what Autobahn|JS 26.3.1 lacks to be a
// callee that takes INTERRUPT: it neither announces call_canceling nor
// handles the message (an INTERRUPT is a protocol violation to it, and it
// drops the connection). Each INTERRUPT is queued on session.interrupts as
// {request, options} and answered as a callee implementing the feature
// does, with ERROR wamp.error.canceled, whose args ["interrupted", mode]
// tell it from the router's own. The invocation's handler is not told:
// Autobahn|JS gives it no cancellation hook.
function handleInterrupts(session) {
   session.interrupts = new Inbox();
   session._MESSAGE_MAP[MSG.INTERRUPT] = (msg) => {
      const [, request, options] = msg;
      session.interrupts.push({ request, options });
      session._send_wamp([MSG.ERROR, MSG.INVOCATION, request, {}, 'wamp.error.canceled',
         ['interrupted', options.mode]]);
   };
}

// connect opens a session on realm1, or rejects. It never retries.
//
// The session gets: connection; closed, a promise of the close reason;
// welcome, the WELCOME details; wire (see Wire); and closes, the
// {code, reason} of each close Autobahn|JS started itself, which is how it
// reports a protocol violation (code 3002).
//
// Options: interruptible (see handleInterrupts) announces
// callee.call_canceling and handles INTERRUPT.
function connect(options = {}) {
   return new Promise((resolve, reject) => {
      const wire = new Wire();
      const announce = options.interruptible ? { callee: { call_canceling: true } } : null;
      const conn = new autobahn.Connection({
         url: url,
         realm: 'realm1',
         serializers: [tap(serializer(), wire, announce)],
         max_retries: 0,
         retry_if_unreachable: false,
      });
      let opened = false;
      const closed = deferred();
      conn.onopen = (session, details) => {
         opened = true;
         session.connection = conn;
         session.closed = closed.promise;
         session.welcome = details;
         session.wire = wire;
         session.closes = [];
         const transport = session._socket;
         const close = transport.close;
         transport.close = (code, reason) => {
            session.closes.push({ code, reason });
            return close.call(transport, code, reason);
         };
         if (options.interruptible) {
            handleInterrupts(session);
         }
         resolve(session);
      };
      conn.onclose = (reason, details) => {
         if (!opened) {
            reject(new Error('connection closed before joining: ' + reason + ' ' + JSON.stringify(details)));
         }
         closed.resolve(reason);
         return true; // do not reconnect
      };
      conn.open();
   });
}

// isOpen reports whether a session is still joined and its connection up.
function isOpen(session) {
   return session.isOpen && session.connection.isOpen;
}

// stdinLines returns an Inbox of the lines the Go test writes to stdin.
function stdinLines() {
   const lines = new Inbox();
   require('readline').createInterface({ input: process.stdin }).on('line', (l) => lines.push(l));
   return lines;
}

// forever never settles: a script the Go test ends itself waits on it.
function forever() {
   return new Promise(() => {});
}

// plain turns Autobahn values into JSON-printable ones: byte strings
// become {"$bytes": base64}.
function plain(v) {
   if (v instanceof Uint8Array) {
      return { [BINARY_TAG]: Buffer.from(v).toString('base64') };
   }
   if (v instanceof ArrayBuffer) {
      return { [BINARY_TAG]: Buffer.from(v).toString('base64') };
   }
   if (Array.isArray(v)) {
      return v.map(plain);
   }
   if (v !== null && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v)) {
         o[k] = plain(v[k]);
      }
      return o;
   }
   return v;
}

// errorInfo describes a rejected WAMP request: autobahn.Error for
// router and callee errors.
function errorInfo(e) {
   if (e instanceof autobahn.Error) {
      return { error: e.error, args: plain(e.args || []), kwargs: plain(e.kwargs || {}) };
   }
   throw e;
}

// deferred returns a promise with its resolve and reject.
function deferred() {
   let resolve, reject;
   const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
   return { promise, resolve, reject };
}

// sampleArgs and sampleKwargs are the payload the scenarios send; the Go
// test knows them as wantArgs and wantKwargs.
function sampleArgs() {
   return [1, 'two', 3.5, true, null, [1, 2], { x: 'y' }, 'ünïcødé ✓', -7, 9007199254740991, Buffer.from([0, 1, 2, 255])];
}

function sampleKwargs() {
   return { a: 1, b: 'bee', nested: { list: [1, 'x'], bytes: Buffer.from('hello') }, empty: {} };
}

// emit prints one JSON line.
function emit(v) {
   process.stdout.write(JSON.stringify(plain(v)) + '\n');
}

// run runs main(join, emit), prints its result as one JSON line, leaves
// its sessions (waiting a moment for the router's GOODBYE) and exits.
// join(options) opens a session (see connect); emit prints a line at once,
// for a Go test that drives the script.
function run(main) {
   const timer = setTimeout(() => {
      process.stderr.write('timed out after ' + TIMEOUT_MS + ' ms\n');
      process.exit(1);
   }, TIMEOUT_MS);
   if (!url) {
      process.stderr.write('usage: node ' + process.argv[1] + ' <ws-url> [json|msgpack|cbor]\n');
      process.exit(1);
   }
   const sessions = [];
   const join = async (options) => {
      const s = await connect(options);
      sessions.push(s);
      return s;
   };
   main(join, emit).then(async (result) => {
      emit(result);
      for (const s of sessions) {
         try {
            s.connection.close();
         } catch (e) {
            // Already closed, say by a protocol violation.
         }
      }
      const grace = new Promise((resolve) => setTimeout(resolve, 1000));
      await Promise.race([Promise.all(sessions.map((s) => s.closed)), grace]);
      clearTimeout(timer);
      process.exit(0);
   }, (err) => {
      clearTimeout(timer);
      process.stderr.write('error: ' + (err && err.stack ? err.stack : JSON.stringify(err)) + '\n');
      process.exit(1);
   });
}

module.exports = {
   autobahn, run, deferred, errorInfo, plain, sampleArgs, sampleKwargs,
   MSG, Inbox, isOpen, stdinLines, forever,
};
