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

// connect opens a session on realm1, or rejects. It never retries.
function connect() {
   return new Promise((resolve, reject) => {
      const conn = new autobahn.Connection({
         url: url,
         realm: 'realm1',
         serializers: [serializer()],
         max_retries: 0,
         retry_if_unreachable: false,
      });
      let opened = false;
      const closed = deferred();
      conn.onopen = (session) => {
         opened = true;
         session.connection = conn;
         session.closed = closed.promise;
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
   const join = async () => {
      const s = await connect();
      sessions.push(s);
      return s;
   };
   main(join, emit).then(async (result) => {
      emit(result);
      for (const s of sessions) {
         s.connection.close();
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

module.exports = { autobahn, run, deferred, errorInfo, plain, sampleArgs, sampleKwargs };
