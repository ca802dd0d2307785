// The Autobahn|JS half of a conversation with a Go client through the
// router. The Go side has registered com.example.interop.go.echo and
// subscribed to com.example.interop.js.event before starting this script.
//
// This script registers com.example.interop.js.echo and subscribes to
// com.example.interop.go.event, prints {"ready": true}, then calls the Go
// procedure and publishes to the Go subscriber, and waits for the Go
// peer's event (which the Go side publishes after calling the JS
// procedure). It prints what it got.
'use strict';
const { autobahn, run, deferred, sampleArgs, sampleKwargs } = require('./common.js');

run(async (join, emit) => {
   const s = await join();
   const goEvent = deferred();
   await s.register('com.example.interop.js.echo', (args, kwargs) => new autobahn.Result(args, kwargs));
   await s.subscribe('com.example.interop.go.event', (args, kwargs) => goEvent.resolve({ args, kwargs }));
   emit({ ready: true });
   const r = await s.call('com.example.interop.go.echo', sampleArgs(), sampleKwargs());
   await s.publish('com.example.interop.js.event', sampleArgs(), sampleKwargs(), { acknowledge: true });
   const ev = await goEvent.promise;
   return { call: { args: r.args, kwargs: r.kwargs }, event: ev };
});
