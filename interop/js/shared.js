// Shared registration, round-robin, across two Autobahn|JS callees and a
// Go one. This script registers com.example.interop.shared from callees
// js-a then js-b with invoke roundrobin and prints {"ready": true}; the
// Go test then registers its callee, which answers "go", and writes a
// line. An Autobahn|JS caller then calls six times, and tries to register
// the procedure again with another invocation policy, and as a single
// registration. Prints who answered each call, in order, and the errors.
'use strict';
const { run, errorInfo, stdinLines } = require('./common.js');

const proc = 'com.example.interop.shared';

run(async (join, emit) => {
   const input = stdinLines();
   for (const name of ['js-a', 'js-b']) {
      const callee = await join();
      await callee.register(proc, () => name, { invoke: 'roundrobin' });
   }
   const caller = await join();
   emit({ ready: true });
   await input.next('the Go test\'s line saying its callee is registered', 5000);
   const answers = [];
   for (let i = 0; i < 6; i++) {
      answers.push(await caller.call(proc));
   }
   const register = (options) => caller.register(proc, () => 'late', options).then(
      () => ({ error: null }), errorInfo);
   return {
      answers,
      otherPolicy: (await register({ invoke: 'random' })).error,
      single: (await register({})).error,
   };
});
