// Two sessions: one subscribes, the other publishes args and kwargs; prints
// what the subscriber received.
'use strict';
const { run, deferred, sampleArgs, sampleKwargs } = require('./common.js');

const topic = 'com.example.interop.pubsub';

run(async (join) => {
   const sub = await join();
   const pub = await join();
   const got = deferred();
   await sub.subscribe(topic, (args, kwargs) => got.resolve({ args, kwargs }));
   await pub.publish(topic, sampleArgs(), sampleKwargs());
   return await got.promise;
});
