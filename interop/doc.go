// Package interop holds tests that run the router against Autobahn|JS, a
// third-party WAMP client, under Node.js. It has no code of its own: the
// Node scenarios live in js/, their dependencies in package.json and
// package-lock.json.
//
// The tests need node on PATH and interop/node_modules, installed with
//
//	cd interop && npm install
//
// Without them the tests skip, or fail when the CI environment variable
// is set, so that CI cannot pass without having run them.
//
// Most scenarios are one script run to its end, whose printed result the
// Go test checks; those that meet a Go client run alongside the test and
// talk with it line by line (see nodePeer). The scripts record what
// Autobahn|JS sends and receives (Wire in js/common.js), so that they can
// check what the router said where Autobahn|JS hides it. Autobahn|JS
// 26.3.1 cannot be a callee that takes INTERRUPT; the scenarios that need
// one extend it in js/common.js (handleInterrupts), and test plain
// Autobahn|JS callees, which the router must never interrupt, besides.
package interop
