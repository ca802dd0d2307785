// An acknowledged publication, with and without a subscriber; prints both
// publication IDs.
'use strict';
const { run } = require('./common.js');

const topic = 'com.example.interop.ack';

run(async (join) => {
   const s = await join();
   const lonely = await s.publish(topic, ['nobody listens'], {}, { acknowledge: true });
   const other = await join();
   await other.subscribe(topic, () => {});
   const heard = await s.publish(topic, ['someone listens'], {}, { acknowledge: true });
   return { unheard: lonely.id, heard: heard.id };
});
