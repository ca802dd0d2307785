// The Autobahn|JS side of the HTTP bridge test: registers
// com.example.bridge.add and subscribes to com.example.bridge.news,
// prints {"ready": true}, then waits for one event, published by the
// test through POST /publish, and prints it.
'use strict';
const { run, deferred } = require('./common.js');

run(async (join, emit) => {
   const s = await join();
   const news = deferred();
   await s.register('com.example.bridge.add', (args) => args[0] + args[1]);
   await s.subscribe('com.example.bridge.news', (args, kwargs, details) => news.resolve({ args, kwargs }));
   emit({ ready: true });
   return { event: await news.promise };
});
