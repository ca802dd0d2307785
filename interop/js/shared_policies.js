// Shared registrations with the invocation policies first, last and
// random, among three Autobahn|JS callees registered in the order c1, c2,
// c3. Prints who answered, for each policy: first and last before and
// after the callee they picked unregisters; random, the set of callees
// that answered 30 calls (all three but with odds of about 1e-5).
'use strict';
const { run } = require('./common.js');

run(async (join) => {
   const caller = await join();
   const result = {};
   for (const invoke of ['first', 'last', 'random']) {
      const proc = 'com.example.interop.shared.' + invoke;
      const regs = {};
      for (const name of ['c1', 'c2', 'c3']) {
         const callee = await join();
         regs[name] = await callee.register(proc, () => name, { invoke });
      }
      const answers = [];
      for (let i = 0; i < (invoke === 'random' ? 30 : 3); i++) {
         answers.push(await caller.call(proc));
      }
      if (invoke === 'random') {
         result[invoke] = [...new Set(answers)].sort();
         continue;
      }
      await regs[answers[0]].unregister();
      answers.push(await caller.call(proc));
      result[invoke] = answers;
   }
   return result;
});
