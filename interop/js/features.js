// The roles and features the router announces in WELCOME, and those
// Autobahn|JS takes as usable (the ones both sides announce).
'use strict';
const { run } = require('./common.js');

run(async (join) => {
   const s = await join();
   return { roles: s.welcome.roles, usable: s.features };
});
