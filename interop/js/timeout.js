// Call timeout enforced by the dealer: a caller gives a callee that never
// answers 100 ms. The callee is plain Autobahn|JS, which does not announce
// call_canceling and so must not be sent INTERRUPT (it would take it for a
// protocol violation and drop the connection), then an interruptible one
// (see handleInterrupts in common.js), which must get INTERRUPT in
// killnowait mode. Prints, for each, the caller's error, the time it took,
// (ms), and what the callee saw.
'use strict';
const { MSG, Inbox, run, errorInfo, isOpen } = require('./common.js');

const TIMEOUT = 100;

run(async (join) => {
   const caller = await join();
   const plainCallee = await join();
   const interruptible = await join({ interruptible: true });
   const invoked = new Inbox();
   const never = (args, kwargs, details) => {
      invoked.push(details.procedure);
      return new Promise(() => {});
   };
   await plainCallee.register('com.example.interop.timeout.plain', never);
   await interruptible.register('com.example.interop.timeout.interruptible', never);

   const timeOut = async (callee, proc) => {
      const start = Date.now();
      const p = caller.call(proc, [], {}, { timeout: TIMEOUT });
      await invoked.next('the invocation of ' + proc);
      let error;
      try {
         const r = await p;
         throw new Error('call of ' + proc + ' returned ' + JSON.stringify(r));
      } catch (e) {
         error = errorInfo(e);
      }
      const elapsed = Date.now() - start;
      const invocation = callee.wire.find('rx', (m) => m[0] === MSG.INVOCATION)[0];
      let interrupt = null;
      if (callee.interrupts) {
         interrupt = await callee.interrupts.next('INTERRUPT at the interruptible callee');
         interrupt.sameRequest = interrupt.request === invocation[1];
         delete interrupt.request;
      }
      // A round trip through the router after the caller's ERROR: an
      // INTERRUPT sent to the callee would have come before its answer.
      await callee.call('wamp.session.count');
      return {
         error: error.error,
         elapsed,
         interrupt,
         interruptsOnWire: callee.wire.find('rx', (m) => m[0] === MSG.INTERRUPT).length,
         calleeOpen: isOpen(callee) && callee.closes.length === 0,
      };
   };
   return {
      plain: await timeOut(plainCallee, 'com.example.interop.timeout.plain'),
      interruptible: await timeOut(interruptible, 'com.example.interop.timeout.interruptible'),
   };
});
