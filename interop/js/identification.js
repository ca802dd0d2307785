// Publisher and caller identification. A publisher publishes with and
// without disclose_me; a caller calls with and without disclose_me, a
// callee registered without disclose_caller and one with it. Prints what
// the subscriber and callees were told, and the session IDs to compare.
'use strict';
const { Inbox, run } = require('./common.js');

const topic = 'com.example.interop.identified';

run(async (join) => {
   const pub = await join();
   const sub = await join();
   const events = new Inbox();
   await sub.subscribe(topic, (args, kwargs, details) => events.push({
      disclose: args[0],
      publisher: details.publisher === undefined ? null : details.publisher,
      publisher_authid: details.publisher_authid === undefined ? null : details.publisher_authid,
      publisher_authrole: details.publisher_authrole === undefined ? null : details.publisher_authrole,
   }));
   await pub.publish(topic, [true], {}, { acknowledge: true, disclose_me: true });
   await pub.publish(topic, [false], {}, { acknowledge: true });
   const published = [await events.next('the disclosed event'), await events.next('the undisclosed event')];

   const callee = await join();
   const who = (args, kwargs, details) => ({
      caller: details.caller === undefined ? null : details.caller,
      caller_authid: details.caller_authid === undefined ? null : details.caller_authid,
      caller_authrole: details.caller_authrole === undefined ? null : details.caller_authrole,
   });
   await callee.register('com.example.interop.who', who);
   await callee.register('com.example.interop.who.always', who, { disclose_caller: true });
   const called = {
      disclose_me: await pub.call('com.example.interop.who', [], {}, { disclose_me: true }),
      plain: await pub.call('com.example.interop.who'),
      disclose_caller: await pub.call('com.example.interop.who.always'),
   };
   return { published, called, publisher: pub.id, authid: pub.welcome.authid, authrole: pub.welcome.authrole };
});
