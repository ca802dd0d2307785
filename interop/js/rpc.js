// One session registers an echo procedure, another calls it with args and
// kwargs; prints the result.
'use strict';
const { autobahn, run, sampleArgs, sampleKwargs } = require('./common.js');

const proc = 'com.example.interop.echo';

run(async (join) => {
   const callee = await join();
   const caller = await join();
   await callee.register(proc, (args, kwargs) =>
      new autobahn.Result(args.concat(['echoed']), Object.assign({ callee: true }, kwargs)));
   const r = await caller.call(proc, sampleArgs(), sampleKwargs());
   return { args: r.args, kwargs: r.kwargs };
});
