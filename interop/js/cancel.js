// Call canceling in each mode (skip, kill, killnowait), by an Autobahn|JS
// caller (promise.cancel({mode})), of a plain Autobahn|JS callee, which
// does not announce call_canceling (the dealer must then skip), and of an
// interruptible one (see handleInterrupts in common.js), which answers
// INTERRUPT with ERROR wamp.error.canceled. Each case has a caller of its
// own: Autobahn|JS may drop the connection (see below).
//
// Prints, for each callee and mode: what the caller's promise settled
// with; the router's ERROR for the CALL as seen on the wire; the INTERRUPT
// the callee got, if any; whether the callee's late answer (sent after the
// cancel) reached the caller; and the closes Autobahn|JS started itself.
// In skip and killnowait modes Autobahn|JS 26.3.1 rejects the call at once
// with its own Error("Cancelled") and forgets it, so that the router's
// ERROR, which the specification has it send at once, is to Autobahn|JS an
// answer to no request: a protocol violation for which it drops the
// connection.
'use strict';
const { MSG, Inbox, run, deferred, errorInfo, isOpen } = require('./common.js');

const MODES = ['skip', 'kill', 'killnowait'];

run(async (join) => {
   const callees = { plain: await join(), interruptible: await join({ interruptible: true }) };
   const invocations = new Inbox();
   for (const [name, callee] of Object.entries(callees)) {
      await callee.register('com.example.interop.cancel.' + name, () => {
         const answer = deferred();
         invocations.push(answer);
         return answer.promise;
      });
   }
   const cases = {};
   for (const [name, callee] of Object.entries(callees)) {
      for (const mode of MODES) {
         const caller = await join();
         const p = caller.call('com.example.interop.cancel.' + name, [mode]);
         const settled = p.then((r) => ({ result: r }), errorInfo);
         const answer = await invocations.next('the invocation for ' + name + '/' + mode);
         const request = caller.wire.find('tx', (m) => m[0] === MSG.CALL).pop()[1];
         p.cancel({ mode });
         const routerError = await caller.wire.waitFor('rx',
            (m) => m[0] === MSG.ERROR && m[1] === MSG.CALL && m[2] === request,
            'the router\'s ERROR for the canceled call (' + name + '/' + mode + ')');
         const callerGot = await settled;
         let interrupt = null;
         if (callee.interrupts && mode !== 'skip') {
            interrupt = (await callee.interrupts.next('INTERRUPT (' + name + '/' + mode + ')')).options;
         }
         // The callee answers late. Its round trip afterwards shows the
         // router has handled the YIELD; the caller's, that anything the
         // router sent it for the call has arrived.
         answer.resolve('late');
         await callee.call('wamp.session.count');
         if (caller.closes.length === 0) {
            await caller.call('wamp.session.count');
         }
         cases[name + '/' + mode] = {
            callerGot,
            routerError: routerError[4],
            interrupt,
            lateResult: caller.wire.find('rx', (m) => m[0] === MSG.RESULT && m[1] === request).length > 0,
            callerCloses: caller.closes,
         };
      }
      cases[name + '/calleeOpen'] = isOpen(callee) && callee.closes.length === 0;
      cases[name + '/interrupts'] = callee.wire.find('rx', (m) => m[0] === MSG.INTERRUPT).length;
   }
   return cases;
});
