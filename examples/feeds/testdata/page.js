// Runs the page's scripts, public/wamp.js and public/feeds.js, in Node
// (which has a WebSocket since version 20) against a running app, with a
// stand-in for the few DOM calls they make. It prints a JSON line for each
// change of the page, {"status": "..."} or {"shown": {"title", "href",
// "meta"}}, and ends when its stdin closes. feeds_test.go runs it:
//
//   node testdata/page.js public 127.0.0.1:8080
'use strict';
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
