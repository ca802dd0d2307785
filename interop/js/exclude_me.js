// A session subscribes and publishes to itself, first with the default
// (exclude_me true), then with exclude_me false; prints the events it got.
'use strict';
const { run, deferred } = require('./common.js');

const topic = 'com.example.interop.self';

run(async (join) => {
   const s = await join();
   const events = [];
   const self = deferred();
   await s.subscribe(topic, (args) => {
      events.push(args);
      if (args[0] === 'included') {
         self.resolve();
      }
   });
   await s.publish(topic, ['excluded'], {}, { acknowledge: true });
   await s.publish(topic, ['included'], { k: 1 }, { acknowledge: true, exclude_me: false });
   await self.promise;
   // Anything wrongly delivered was sent before the last event.
   return { events };
});
