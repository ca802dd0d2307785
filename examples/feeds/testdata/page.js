// Runs the page's scripts, public/wamp.js and public/feeds.js, in Node
// against a running app, with a stand-in for the few DOM calls they make.
// It prints a JSON line for each change of the page, {"status": "..."} or
// {"shown": {"title", "href", "meta"}}, and ends when its stdin closes.
// feeds_test.go runs it, from examples/feeds:
//
//   node testdata/page.js public 127.0.0.1:8080
//
// The scripts need the WebSocket of browsers: Node 22 has one; Node 20.10
// and later have it behind --experimental-websocket, with which this
// script then runs itself again.
'use strict';

if (typeof WebSocket === 'function') {
  main();
} else {
  again('--experimental-websocket');
}

// again runs this script in a node with flag, passing on its arguments,
// stdin, stdout, stderr, SIGINT and SIGTERM, and exits as it does.
function again(flag) {
  if (process.execArgv.includes(flag) || !process.allowedNodeEnvironmentFlags.has(flag)) {
    process.stderr.write(`page.js: this Node (${process.version}) has no WebSocket: use Node 22, or Node 20.10 or later\n`);
    process.exit(1);
  }
  const {spawn} = require('child_process');
  const child = spawn(process.execPath, [...process.execArgv, flag, __filename, ...process.argv.slice(2)], {stdio: 'inherit'});
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
}

function main() {
  const fs = require('fs');
  const vm = require('vm');

  const [dir, host] = process.argv.slice(2);
  const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');

  let status = '';
  const elements = {
    articles: {prepend(li) {
      const [a, meta] = li.children;
      print({shown: {title: a.textContent, href: a.href || '', meta: meta.textContent}});
    }},
    status: {
      get textContent() { return status; },
      set textContent(s) { status = s; print({status: s}); },
    },
  };
  global.document = {
    getElementById: (id) => elements[id],
    createElement: () => ({textContent: '', children: [], append(...c) { this.children.push(...c); }}),
  };
  global.location = {protocol: 'http:', host, search: ''};

  for (const f of ['wamp.js', 'feeds.js']) {
    vm.runInThisContext(fs.readFileSync(dir + '/' + f, 'utf8'), {filename: f});
  }
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
