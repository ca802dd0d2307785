// The Autobahn|JS half of queue_test.go: a browser-style client uses a
// Junction app's durable task queue through WAMP only. It subscribes to
// the queue's on_done events, enqueues a task, waits for its result,
// enqueues a task nobody handles and reads its failure, and tries an
// unknown option.
'use strict';
const { run, deferred, errorInfo } = require('./common.js');

const Q = 'junction.queue.jobs.';

run(async (join) => {
   const s = await join();
   const done = deferred();
   await s.subscribe(Q + 'on_done', (args) => {
      if (args[0] && args[0].task === 'double') {
         done.resolve(args[0]);
      }
   });
   const id = await s.call(Q + 'enqueue', ['double', 21]);
   const result = await s.call(Q + 'result', [id], { timeout_ms: 15000 });
   const event = await done.promise;
   const orphan = await s.call(Q + 'enqueue', ['nobody.handles.this', { x: 1 }]);
   const orphanResult = await s.call(Q + 'result', [orphan], { timeout_ms: 15000 });
   let badOption;
   try {
      badOption = { unexpected: await s.call(Q + 'enqueue', ['double', 1], { delay: 5 }) };
   } catch (e) {
      badOption = errorInfo(e);
   }
   const dup1 = await s.call(Q + 'enqueue', ['double', 2], { dedup_id: 'same' });
   const dup2 = await s.call(Q + 'enqueue', ['double', 2], { dedup_id: 'same' });
   return { id, result, event, orphanResult, badOption, dedupSame: dup1 === dup2 };
});
