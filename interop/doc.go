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
package interop
