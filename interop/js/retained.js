// Event retention: a publisher publishes two events with retain true (the
// second replaces the first) and one without; then a late subscriber with
// get_retained gets the latest retained event, flagged retained, and one
// without get_retained gets nothing until the live marker that follows.
// Prints what each late subscriber got.
'use strict';
const { Inbox, run, sampleArgs, sampleKwargs } = require('./common.js');

const topic = 'com.example.interop.retained';

run(async (join) => {
   const pub = await join();
   await pub.publish(topic, ['first'], {}, { acknowledge: true, retain: true });
   await pub.publish(topic, sampleArgs(), sampleKwargs(), { acknowledge: true, retain: true });
   await pub.publish(topic, ['not retained'], {}, { acknowledge: true });

   const late = async (options) => {
      const s = await join();
      const events = new Inbox();
      await s.subscribe(topic, (args, kwargs, details) =>
         events.push({ args, kwargs, retained: details.retained }), options);
      return events;
   };
   const withRetained = await late({ get_retained: true });
   const without = await late({});
   await pub.publish(topic, ['live'], {}, { acknowledge: true });
   const got = async (events, what) => {
      const list = [];
      for (;;) {
         const e = await events.next('the live event at the subscriber ' + what);
         list.push(e);
         if (e.args[0] === 'live') {
            return list;
         }
      }
   };
   return { withRetained: await got(withRetained, 'with get_retained'), without: await got(without, 'without') };
});
