// The meta API from Autobahn|JS: wamp.session.count, list and get as
// sessions join and leave; wamp.registration.* and wamp.subscription.*
// on a registration and a subscription of its own; and the registration
// and subscription meta events. Prints the answers with the IDs to
// compare them to.
'use strict';
const { Inbox, run, errorInfo } = require('./common.js');

const proc = 'com.example.interop.meta.proc';
const topic = 'com.example.interop.meta.topic';

// call calls a meta procedure and returns its result as Autobahn|JS gives
// it, or {error} for an error.
async function call(s, procedure, args, kwargs) {
   try {
      const r = await s.call(procedure, args, kwargs);
      return r === undefined ? null : r;
   } catch (e) {
      return errorInfo(e);
   }
}

run(async (join) => {
   const watcher = await join();
   const metaEvents = new Inbox();
   for (const t of ['wamp.registration.on_create', 'wamp.registration.on_register',
      'wamp.registration.on_unregister', 'wamp.registration.on_delete',
      'wamp.subscription.on_create', 'wamp.subscription.on_subscribe',
      'wamp.subscription.on_unsubscribe', 'wamp.subscription.on_delete']) {
      // Events about the watcher's own subscriptions are left out.
      await watcher.subscribe(t, (args) => args[0] !== watcher.id && metaEvents.push({ topic: t, args }));
   }
   const leaves = new Inbox();
   await watcher.subscribe('wamp.session.on_leave', (args) => leaves.push(args));
   const sessions = { alone: await call(watcher, 'wamp.session.count') };
   const other = await join();
   sessions.joined = await call(watcher, 'wamp.session.count');
   sessions.filtered = await call(watcher, 'wamp.session.count', [['anonymous']]);
   sessions.filteredNone = await call(watcher, 'wamp.session.count', [['nobody']]);
   const byValue = (a, b) => a - b;
   sessions.list = (await call(watcher, 'wamp.session.list')).slice().sort(byValue);
   sessions.get = await call(watcher, 'wamp.session.get', [other.id]);
   sessions.getMissing = await call(watcher, 'wamp.session.get', [1]);
   sessions.ids = [watcher.id, other.id].sort(byValue);

   const reg = await other.register(proc, () => 'x');
   const sub = await other.subscribe(topic, () => {});
   const registration = {
      id: reg.id,
      list: await call(watcher, 'wamp.registration.list'),
      lookup: await call(watcher, 'wamp.registration.lookup', [proc]),
      lookupPrefix: await call(watcher, 'wamp.registration.lookup', [proc, { match: 'prefix' }]),
      lookupMissing: await call(watcher, 'wamp.registration.lookup', [proc + '.nothing']),
      match: await call(watcher, 'wamp.registration.match', [proc]),
      get: await call(watcher, 'wamp.registration.get', [reg.id]),
      getMissing: await call(watcher, 'wamp.registration.get', [1]),
      list_callees: await call(watcher, 'wamp.registration.list_callees', [reg.id]),
      count_callees: await call(watcher, 'wamp.registration.count_callees', [reg.id]),
   };
   const subscription = {
      id: sub.id,
      list: await call(watcher, 'wamp.subscription.list'),
      lookup: await call(watcher, 'wamp.subscription.lookup', [topic]),
      match: await call(watcher, 'wamp.subscription.match', [topic]),
      get: await call(watcher, 'wamp.subscription.get', [sub.id]),
      list_subscribers: await call(watcher, 'wamp.subscription.list_subscribers', [sub.id]),
      count_subscribers: await call(watcher, 'wamp.subscription.count_subscribers', [sub.id]),
   };
   await reg.unregister();
   await sub.unsubscribe();
   const events = [];
   for (let i = 0; i < 8; i++) {
      events.push(await metaEvents.next('meta event ' + (i + 1) + ' of 8'));
   }
   const otherID = other.id;
   other.connection.close();
   sessions.on_leave = await leaves.next('wamp.session.on_leave for the other session');
   await other.closed;
   sessions.left = await call(watcher, 'wamp.session.count');
   return { sessions, registration, subscription, events, other: otherID };
});
