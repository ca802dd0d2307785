// Session meta events from a Go client's join and leave, as an
// Autobahn|JS session sees them. This script subscribes to
// wamp.session.on_join and on_leave and prints {"ready": true}; the Go
// test joins and writes its session ID; the script waits for its on_join,
// counts the sessions and prints {on_join, count}; the Go test leaves;
// the script waits for its on_leave, counts again, and prints
// {on_leave, count}.
'use strict';
const { Inbox, run, stdinLines } = require('./common.js');

run(async (join, emit) => {
   const input = stdinLines();
   const s = await join();
   const joins = new Inbox();
   const leaves = new Inbox();
   await s.subscribe('wamp.session.on_join', (args) => joins.push(args[0]));
   await s.subscribe('wamp.session.on_leave', (args) => leaves.push(args));
   emit({ ready: true });
   const id = Number(await input.next('the Go session\'s ID', 5000));
   let details;
   do {
      details = await joins.next('wamp.session.on_join for session ' + id);
   } while (details.session !== id);
   emit({ on_join: details, count: await s.call('wamp.session.count') });
   let left;
   do {
      left = await leaves.next('wamp.session.on_leave for session ' + id);
   } while (left[0] !== id);
   return { on_leave: left, count: await s.call('wamp.session.count') };
});
