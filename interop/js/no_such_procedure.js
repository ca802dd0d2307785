// Calls a procedure nobody registered; prints the error.
'use strict';
const { run, errorInfo } = require('./common.js');

run(async (join) => {
   const s = await join();
   try {
      const r = await s.call('com.example.interop.nobody', [1]);
      throw new Error('call succeeded: ' + JSON.stringify(r));
   } catch (e) {
      return errorInfo(e);
   }
});
