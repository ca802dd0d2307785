// The wampy client (npm wampy, with its own MessagePack and CBOR encoders,
// msgpackr and cbor-x) against the router:
//
//     node js/wampy.js <ws-url> <json|msgpack|cbor>
//
// Two sessions subscribe, publish with acknowledge, register, call with
// args and kwargs, get an application error, stream progressive results,
// unsubscribe, unregister and leave. wampy sends the options it was not
// given as JavaScript undefined: msgpackr writes them as the extension
// 0xd4 0x00 0x00 and cbor-x as CBOR undefined (0xf7), which the router must
// read as absent. Prints one JSON line of what each step saw.
'use strict';
const WebSocket = require('ws');
const { Wampy } = require('wampy');
const { JsonSerializer } = require('wampy/JsonSerializer.js');
const { MsgpackSerializer } = require('wampy/MsgpackSerializer.js');
const { CborSerializer } = require('wampy/CborSerializer.js');

const [url, serializerName = 'json'] = process.argv.slice(2);
const TIMEOUT_MS = 10000;

function serializer() {
   switch (serializerName) {
      case 'json': return new JsonSerializer();
      case 'msgpack': return new MsgpackSerializer();
      case 'cbor': return new CborSerializer();
   }
   throw new Error('unknown serializer ' + serializerName);
}

async function join() {
   const w = new Wampy(url, { realm: 'realm1', ws: WebSocket, serializer: serializer(), autoReconnect: false });
   await w.connect();
   return w;
}

function errorInfo(e) {
   return { error: e.errorUri || String(e), args: e.argsList || [], kwargs: e.argsDict || {} };
}

async function main() {
   const out = {};
   const a = await join();
   const b = await join();

   // Pub/sub with args and kwargs, acknowledged.
   let gotEvent;
   const event = new Promise((resolve) => { gotEvent = resolve; });
   const sub = await a.subscribe('com.example.wampy.topic', (e) => gotEvent({ args: e.argsList, kwargs: e.argsDict }));
   // IDs are numbers, or BigInts from msgpackr for those over 2^32.
   out.subscribed = sub.subscriptionId != null;
   const pub = await b.publish('com.example.wampy.topic', { argsList: [1, 'two', { three: 3 }], argsDict: { k: 'v', n: null } }, { acknowledge: true });
   out.published = pub.publicationId != null;
   out.event = await event;

   // RPC with args and kwargs.
   await a.register('com.example.wampy.add', (d) => ({ argsList: [d.argsList[0] + d.argsList[1]], argsDict: { by: 'wampy' } }));
   const res = await b.call('com.example.wampy.add', { argsList: [2, 3], argsDict: {} });
   out.call = { args: res.argsList, kwargs: res.argsDict };

   // An application error, with its URI and arguments.
   await a.register('com.example.wampy.fail', () => {
      const err = new Error('nope');
      err.error = 'com.example.wampy.error';
      err.argsList = ['bad', 42];
      throw err;
   });
   try {
      await b.call('com.example.wampy.fail');
      out.fail = 'no error';
   } catch (e) {
      out.fail = errorInfo(e);
   }

   // A call nobody registered.
   try {
      await b.call('com.example.wampy.nobody');
      out.nobody = 'no error';
   } catch (e) {
      out.nobody = errorInfo(e).error;
   }

   // Progressive results: wampy 8's callee announces neither
   // progressive_call_results nor call_canceling, so the router does not
   // offer it receive_progress and its caller gets the final result only.
   await a.register('com.example.wampy.stream', (d) => {
      if (d.details && d.details.receive_progress) {
         for (let i = 1; i <= 3; i++) {
            d.result_handler({ argsList: [i], options: { progress: true } });
         }
      }
      return { argsList: ['final'] };
   });
   const chunks = [];
   const final = await b.call('com.example.wampy.stream', null, { progress_callback: (r) => chunks.push(r.argsList[0]) });
   out.stream = { chunks, final: final.argsList };

   await a.unsubscribe(sub.subscriptionKey || sub.subscriptionId);
   await a.unregister('com.example.wampy.add');
   out.left = true;
   await a.disconnect();
   await b.disconnect();
   return out;
}

const timer = setTimeout(() => { console.error('timed out'); process.exit(1); }, TIMEOUT_MS);
main().then((out) => {
   clearTimeout(timer);
   console.log(JSON.stringify(out));
   process.exit(0);
}, (e) => {
   console.error('wampy scenario failed:', e && (e.stack || JSON.stringify(e)));
   process.exit(1);
});
