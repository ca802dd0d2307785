// A callee raises an application error; prints what the caller got.
'use strict';
const { autobahn, run, errorInfo } = require('./common.js');

const proc = 'com.example.interop.fail';

run(async (join) => {
   const callee = await join();
   const caller = await join();
   await callee.register(proc, () => {
      throw new autobahn.Error('com.example.error', ['a'], { k: 1 });
   });
   try {
      const r = await caller.call(proc, ['x']);
      throw new Error('call succeeded: ' + JSON.stringify(r));
   } catch (e) {
      return errorInfo(e);
   }
});
