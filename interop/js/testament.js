// Testaments of an Autobahn|JS session that the Go test then kills with
// SIGKILL, so that its connection is cut with no GOODBYE. It adds a
// testament and flushes it, then adds one in scope destroyed (the default)
// and one in scope detached, on com.example.interop.testament, and prints
// {"ready": true, "session": ID}. It never ends by itself.
'use strict';
const { run, forever, sampleArgs, sampleKwargs } = require('./common.js');

const topic = 'com.example.interop.testament';

run(async (join, emit) => {
   const s = await join();
   await s.call('wamp.session.add_testament', [topic, ['flushed'], {}]);
   await s.call('wamp.session.flush_testaments', [], { scope: 'destroyed' });
   await s.call('wamp.session.add_testament', [topic, sampleArgs(), sampleKwargs()],
      { publish_options: { acknowledge: true } });
   await s.call('wamp.session.add_testament', [topic, ['detached'], { scope: 'detached' }], { scope: 'detached' });
   emit({ ready: true, session: s.id });
   await forever();
});
