// Progressive call results: a callee sends three progressive results and
// then its final one; a caller with receive_progress gets them in order,
// and a caller without it gets the final result only. Prints what each
// caller got, in order, and what the callee's invocations offered.
'use strict';
const { autobahn, run } = require('./common.js');

const proc = 'com.example.interop.progress';

run(async (join) => {
   const callee = await join();
   const caller = await join();
   const invocations = [];
   await callee.register(proc, (args, kwargs, details) => {
      // details.progress is a function only if the caller asked for
      // progressive results (INVOCATION.Details.receive_progress).
      invocations.push({ progress: typeof details.progress === 'function' });
      if (details.progress) {
         for (let i = 1; i <= 3; i++) {
            details.progress([i], { chunk: i });
         }
      }
      return new autobahn.Result(['final'], { chunks: 3 });
   });

   const call = async (options) => {
      const got = [];
      const result = await caller.call(proc, [], {}, options).then(
         (r) => r,
         null,
         (p) => got.push({ progress: { args: p.args, kwargs: p.kwargs } }));
      got.push({ result: { args: result.args, kwargs: result.kwargs } });
      return got;
   };
   const withProgress = await call({ receive_progress: true });
   const without = await call({});
   return { withProgress, without, invocations };
});
