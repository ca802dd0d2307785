// The Autobahn|JS half of a conversation with a Junction Application
// (app_test.go): it joins the app's embedded router, subscribes to
// interop.notified, which the app publishes to from its POST /notify
// HTTP handler, and calls the app's typed Go procedures, rightly and with
// an argument of the wrong type. It prints {"ready": true} once
// subscribed, then, when the event has come, what it got.
'use strict';
const { run, deferred, errorInfo } = require('./common.js');

run(async (join, emit) => {
   const s = await join();
   const notified = deferred();
   await s.subscribe('interop.notified', (args, kwargs) => notified.resolve({ args, kwargs }));
   const sum = await s.call('interop.add', [2, 3]);
   const user = await s.call('interop.user', [7]);
   let bad;
   try {
      bad = { unexpected: await s.call('interop.add', [2, 'three']) };
   } catch (e) {
      bad = errorInfo(e);
   }
   emit({ ready: true });
   return { event: await notified.promise, sum, user, bad };
});
