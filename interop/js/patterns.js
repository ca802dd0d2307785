// Pattern-based subscriptions and registrations.
//
// Subscriptions: an event goes to every matching subscription, exact,
// prefix and wildcard alike; a pattern subscription's EVENT.Details.topic
// names the concrete topic. Prints, per publication, which subscriptions
// got it, with the topic Autobahn|JS reported and the one on the wire.
//
// Registrations: a call goes to one registration, exact before the longest
// prefix before the best wildcard (the longest run of concrete components
// before the first wildcard, then before the next...), with
// INVOCATION.Details.procedure naming the procedure called. Prints, per
// call, which registration answered and the procedure it was told.
'use strict';
const { MSG, Inbox, run, errorInfo } = require('./common.js');

const T = 'com.example.interop.pat';
const N = 'com.example.interop.rpc';
const W = 'com.example.interop.wild';

const subscriptions = [
   ['exact', T + '.a.b', 'exact'],
   ['prefix-long', T + '.a', 'prefix'],
   ['prefix-short', T, 'prefix'],
   ['wildcard', T + '..b', 'wildcard'],
   ['wildcard-other', T + '..zzz', 'wildcard'],
   ['marker', 'com.example.interop.marker', 'exact'],
];

const registrations = [
   ['exact', N + '.a.b.c', 'exact'],
   ['prefix-long', N + '.a.b', 'prefix'],
   ['prefix-short', N + '.a', 'prefix'],
   ['wildcard', N + '.a..c', 'wildcard'],
   ['w-a1.b2..d4.e5', W + '.a1.b2..d4.e5', 'wildcard'],
   ['w-a1...d4.e5', W + '.a1...d4.e5', 'wildcard'],
   ['w-a1.b2.c3..e5', W + '.a1.b2.c3..e5', 'wildcard'],
   ['w-a1.b2..d4.e5..g7', W + '.a1.b2..d4.e5..g7', 'wildcard'],
   ['w-a1.b2..d4..f6.g7', W + '.a1.b2..d4..f6.g7', 'wildcard'],
];

const calls = [
   N + '.a.b.c', // exact beats both prefixes and the wildcard
   N + '.a.b.x', // the longer prefix beats the shorter
   N + '.a.x.c', // a prefix beats a wildcard
   N + '.a', // a prefix matches the URI itself
   W + '.a1.b2.c55.d4.e5', // a1.b2 before the wildcard beats a1
   W + '.a1.b2.c3.d4.e5', // a1.b2.c3 beats a1.b2 and a1
   W + '.a1.b2.c88.d4.e5.f6.g7', // equal first runs: d4.e5 beats d4
   W + '.a2.b2.c2.d2.e2', // nothing matches
];

run(async (join) => {
   const sub = await join();
   const pub = await join();
   const events = new Inbox();
   for (const [name, topic, match] of subscriptions) {
      await sub.subscribe(topic, (args, kwargs, details, s) => {
         const onWire = sub.wire.find('rx', (m) => m[0] === MSG.EVENT && m[1] === s.id && m[2] === details.publication);
         events.push({ name, topic: details.topic, wireTopic: onWire[0][3].topic || null });
      }, { match });
   }
   const received = {};
   for (const topic of [T + '.a.b', T + '.a']) {
      await pub.publish(topic, [], {}, { acknowledge: true });
      await pub.publish('com.example.interop.marker', [], {}, { acknowledge: true });
      const got = [];
      for (;;) {
         const e = await events.next('the marker after the event on ' + topic);
         if (e.name === 'marker') {
            break;
         }
         got.push(e);
      }
      got.sort((a, b) => a.name < b.name ? -1 : 1);
      received[topic] = got;
   }

   const callee = await join();
   for (const [name, procedure, match] of registrations) {
      await callee.register(procedure, (args, kwargs, details) => ({ name, procedure: details.procedure }), { match });
   }
   const routed = {};
   for (const procedure of calls) {
      routed[procedure] = await pub.call(procedure).catch((e) => errorInfo(e).error);
   }
   const invocations = callee.wire.find('rx', (m) => m[0] === MSG.INVOCATION);
   return { received, routed, detailsProcedure: invocations.map((m) => (m[3] || {}).procedure || null) };
});
