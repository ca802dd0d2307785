// Progressive call results between Autobahn|JS and a Go client. The Go
// test has registered com.example.interop.go.progress, which sends three
// progressive results when asked and then its final one. This script
// registers com.example.interop.js.progress, which does the same, and
// prints {"ready": true}; it then calls the Go procedure with and without
// receive_progress, and waits for the Go test's line saying it is done
// calling the Autobahn|JS procedure. Prints what its calls got, in order,
// and what its own callee's invocations offered.
'use strict';
const { autobahn, run, stdinLines } = require('./common.js');

run(async (join, emit) => {
   const input = stdinLines();
   const s = await join();
   const invocations = [];
   await s.register('com.example.interop.js.progress', (args, kwargs, details) => {
      invocations.push({ progress: typeof details.progress === 'function' });
      if (details.progress) {
         for (let i = 1; i <= 3; i++) {
            details.progress([i], { chunk: i });
         }
      }
      return new autobahn.Result(['final'], { chunks: 3 });
   });
   emit({ ready: true });
   const call = async (options) => {
      const got = [];
      const result = await s.call('com.example.interop.go.progress', [], {}, options).then(
         (r) => r,
         null,
         (p) => got.push({ progress: { args: p.args, kwargs: p.kwargs } }));
      got.push({ result: { args: result.args, kwargs: result.kwargs } });
      return got;
   };
   const withProgress = await call({ receive_progress: true });
   const without = await call({});
   await input.next('the Go test\'s line saying it is done', 5000);
   return { withProgress, without, invocations };
});
