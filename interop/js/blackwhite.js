// Subscriber black- and white-listing: three subscribers, s1, s2 and s3
// (all authrole anonymous, each authid its own), and a publisher using
// exclude, eligible, exclude_authid, eligible_authid, exclude_authrole and
// eligible_authrole. After each publication a marker event, which
// everyone gets, shows that nothing else is coming. Prints who got each.
'use strict';
const { Inbox, run } = require('./common.js');

const topic = 'com.example.interop.bw';
const marker = 'com.example.interop.bw.marker';

run(async (join) => {
   const names = ['s1', 's2', 's3'];
   const subs = {};
   const inboxes = {};
   for (const name of names) {
      const s = await join();
      subs[name] = s;
      inboxes[name] = new Inbox();
      await s.subscribe(topic, (args) => inboxes[name].push(args[0]));
      await s.subscribe(marker, (args) => inboxes[name].push('marker'));
   }
   const pub = await join();
   const id = (n) => subs[n].id;
   const authid = (n) => subs[n].welcome.authid;
   const cases = [
      ['exclude s1', { exclude: [id('s1')] }],
      ['eligible s1', { eligible: [id('s1')] }],
      ['eligible s1 s2, exclude s2', { eligible: [id('s1'), id('s2')], exclude: [id('s2')] }],
      ['eligible none', { eligible: [] }],
      ['exclude_authid s3', { exclude_authid: [authid('s3')] }],
      ['eligible_authid s2', { eligible_authid: [authid('s2')] }],
      ['exclude_authrole anonymous', { exclude_authrole: ['anonymous'] }],
      ['eligible_authrole anonymous', { eligible_authrole: ['anonymous'] }],
      ['eligible_authrole nobody', { eligible_authrole: ['nobody'] }],
      ['eligible_authrole anonymous, exclude s2', { eligible_authrole: ['anonymous'], exclude: [id('s2')] }],
   ];
   const got = {};
   for (const [label, options] of cases) {
      await pub.publish(topic, [label], {}, Object.assign({ acknowledge: true }, options));
      await pub.publish(marker, [], {}, { acknowledge: true });
      got[label] = [];
      for (const name of names) {
         const first = await inboxes[name].next('the marker after "' + label + '" at ' + name);
         if (first !== 'marker') {
            if (first !== label) {
               throw new Error(name + ' got "' + first + '" while waiting for "' + label + '"');
            }
            got[label].push(name);
            const second = await inboxes[name].next('the marker after "' + label + '" at ' + name);
            if (second !== 'marker') {
               throw new Error(name + ' got "' + second + '" twice, or before the marker');
            }
         }
      }
   }
   return got;
});
