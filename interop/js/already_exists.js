// Registers a procedure from one session, then the same URI from another;
// prints the second registration's error.
'use strict';
const { run, errorInfo } = require('./common.js');

const proc = 'com.example.interop.taken';

run(async (join) => {
   const first = await join();
   const second = await join();
   await first.register(proc, () => 'first');
   try {
      await second.register(proc, () => 'second');
      throw new Error('second registration succeeded');
   } catch (e) {
      const info = errorInfo(e);
      // The first registration must still answer.
      info.still = await second.call(proc);
      return info;
   }
});
