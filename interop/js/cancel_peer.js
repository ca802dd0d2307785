// An Autobahn|JS caller times out and cancels calls of a Go callee, which
// implements call_canceling. The Go test has registered
// com.example.interop.go.wait, which publishes its first argument on
// com.example.interop.go.started and then waits to be interrupted. This
// script calls it with a 100 ms timeout, then again, cancelling in kill
// mode once it has started. Prints the errors it got.
'use strict';
const { Inbox, run, errorInfo } = require('./common.js');

run(async (join) => {
   const s = await join();
   const started = new Inbox();
   await s.subscribe('com.example.interop.go.started', (args) => started.push(args[0]));
   const fail = (r) => {
      throw new Error('call returned ' + JSON.stringify(r));
   };
   const timeout = s.call('com.example.interop.go.wait', ['timeout'], {}, { timeout: 100 }).then(fail, errorInfo);
   await started.next('the Go callee\'s start of the call with a timeout');
   const timedOut = await timeout;
   const p = s.call('com.example.interop.go.wait', ['kill']);
   const killed = p.then(fail, errorInfo);
   await started.next('the Go callee\'s start of the call to cancel');
   p.cancel({ mode: 'kill' });
   return { timeout: timedOut.error, kill: (await killed).error };
});
