// Joins a realm with one authentication method, then optionally calls
// procedures, and prints what happened:
//
//     node js/auth_join.js <ws-url> <json|msgpack|cbor> '<spec>'
//
// spec is JSON: {realm, method, authid?, ticket? | secret? | seed?,
// calls?: [uri...]}. seed is the hex Ed25519 seed for cryptosign. The
// result line is {welcome: {authid, authrole, authmethod, authprovider},
// challenge: {...CHALLENGE.Extra}, calls: [{args} | {error}]} once
// joined, or {abort: reason, message} when the router refuses.
'use strict';
const { autobahn, run, errorInfo } = require('./common.js');

const [url, serializerName, specJSON] = process.argv.slice(2);
const spec = JSON.parse(specJSON || '{}');

function serializer() {
   switch (serializerName) {
      case 'json':
         return new autobahn.serializer.JSONSerializer();
      case 'msgpack':
         return new autobahn.serializer.MsgpackSerializer();
      case 'cbor':
         return new autobahn.serializer.CBORSerializer();
      default:
         throw new Error('unknown serializer ' + serializerName);
   }
}

// onchallenge returns the Connection's onchallenge for spec.method, and
// the HELLO authextra it needs. It records the CHALLENGE's extra.
function authentication(seen) {
   switch (spec.method) {
      case 'anonymous':
         return {};
      case 'ticket':
         return {
            onchallenge: (session, method, extra) => {
               seen.challenge = extra;
               return spec.ticket;
            },
         };
      case 'wampcra':
         return {
            onchallenge: (session, method, extra) => {
               seen.challenge = extra;
               // A salted secret: the key is derived as the router says.
               const key = extra.salt
                  ? autobahn.auth_cra.derive_key(spec.secret, extra.salt, extra.iterations, extra.keylen)
                  : spec.secret;
               return autobahn.auth_cra.sign(key, extra.challenge);
            },
         };
      case 'cryptosign': {
         const pair = autobahn.nacl.sign.keyPair.fromSeed(Uint8Array.from(Buffer.from(spec.seed, 'hex')));
         return {
            authextra: { pubkey: autobahn.auth_cryptosign.public_key(pair), channel_binding: null },
            onchallenge: (session, method, extra) => {
               seen.challenge = extra;
               return autobahn.auth_cryptosign.sign_challenge(pair, extra);
            },
         };
      }
      default:
         throw new Error('unknown method ' + spec.method);
   }
}

run(() => new Promise((resolve, reject) => {
   const seen = {};
   const auth = authentication(seen);
   const options = {
      url: url,
      realm: spec.realm,
      serializers: [serializer()],
      max_retries: 0,
      retry_if_unreachable: false,
      authmethods: [spec.method],
      onchallenge: auth.onchallenge,
   };
   if (spec.authid) {
      options.authid = spec.authid;
   }
   if (auth.authextra) {
      options.authextra = auth.authextra;
   }
   const conn = new autobahn.Connection(options);
   let opened = false;
   conn.onopen = async (session, details) => {
      opened = true;
      const out = {
         welcome: {
            authid: details.authid, authrole: details.authrole,
            authmethod: details.authmethod, authprovider: details.authprovider,
         },
         challenge: seen.challenge,
         calls: [],
      };
      for (const uri of spec.calls || []) {
         try {
            const r = await session.call(uri, ['from autobahn']);
            out.calls.push({ args: r instanceof autobahn.Result ? r.args : [r] });
         } catch (e) {
            out.calls.push(errorInfo(e));
         }
      }
      conn.onclose = () => {
         resolve(out);
         return true;
      };
      conn.close();
   };
   conn.onclose = (reason, details) => {
      if (!opened) {
         resolve({ abort: details.reason, message: details.message, challenged: seen.challenge !== undefined });
      }
      return true;
   };
   conn.open();
}));
