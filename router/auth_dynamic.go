package router

import (
	"context"
	"errors"
	"time"

	"github.com/junction-run/junction/wamp"
)

// Dynamic authenticators: a procedure registered in the realm that the
// router calls, as itself (see internal_call.go), with
//
//	[realm, authid, details]
//
// where authid is the one the client asked for ("" if none) and details
// hold "authmethod", "authid" (if any), "session" (the ID the session
// will have), "transport" ({type, serializer, peer}), "authextra" (the
// client's HELLO.Details.authextra, if any), and for ticket the "ticket",
// for cryptosign the "pubkey" (hex). It answers with the role, a string,
// or a dict:
//
//	role        string, required
//	authid      string, the authid to give the session (default: the one asked for)
//	extra       dict, sent to the client as WELCOME.Details.authextra
//	secret      string, WAMP-CRA only, required: the secret, or the password of a salted secret
//	salt        string, iterations, keylen: WAMP-CRA salted secrets
//
// An ERROR, no callee or no answer within authenticatorTimeout refuses
// the session, with the ABORT a wrong credential gets.

// authenticatorTimeout bounds a dynamic authenticator's answer.
const authenticatorTimeout = 10 * time.Second

// dynamicAnswer is what a dynamic authenticator answered.
type dynamicAnswer struct {
	role   string
	authid string
	extra  wamp.Dict

	secret     string
	salt       string
	iterations int
	keylen     int
}

// outcome is the session the answer admits; authid is the one the client
// asked for, kept unless the answer names another.
func (d dynamicAnswer) outcome(authid string) authOutcome {
	if d.authid != "" {
		authid = d.authid
	}
	return authOutcome{authid: authid, authrole: d.role, provider: providerDynamic, authextra: d.extra}
}

// dynamicDetails are the details of a call to a dynamic authenticator;
// the method adds what is its own.
func (a *attempt) dynamicDetails(method string) wamp.Dict {
	d := wamp.Dict{"authmethod": method, "session": int64(a.s.id), "transport": transportDetails(a.s)}
	if id := a.authid(); id != "" {
		d["authid"] = id
	}
	if x := a.authextra(); x != nil {
		d["authextra"] = x
	}
	return d
}

// callAuthenticator calls the dynamic authenticator procedure and reads
// its answer.
func (a *attempt) callAuthenticator(procedure, authid string, details wamp.Dict) (dynamicAnswer, *authError) {
	ctx, cancel := context.WithTimeout(context.Background(), authenticatorTimeout)
	defer cancel()
	args, _, err := a.s.realm.dealer.invokeInternal(ctx, a.s, wamp.URI(procedure),
		wamp.List{string(a.s.realm.name), authid, details}, nil)
	var we *wamp.Error
	switch {
	case err == nil:
	case errors.As(err, &we) && we.URI != wamp.URINoSuchProcedure && we.URI != wamp.URICanceled &&
		we.URI != wamp.URINoAvailableCallee:
		// The authenticator refused.
		return dynamicAnswer{}, denied("authenticator %s refused authid %q: %v", procedure, authid, err)
	default:
		return dynamicAnswer{}, unavailable("authenticator %s: %v", procedure, err)
	}
	if len(args) == 0 {
		return dynamicAnswer{}, unavailable("authenticator %s answered no role", procedure)
	}
	var ans dynamicAnswer
	switch v := args[0].(type) {
	case string:
		ans.role = v
	case wamp.Dict:
		ans.role, _ = wamp.DictString(v, "role")
		ans.authid, _ = wamp.DictString(v, "authid")
		ans.extra, _ = wamp.DictDict(v, "extra")
		ans.secret, _ = wamp.DictString(v, "secret")
		ans.salt, _ = wamp.DictString(v, "salt")
		iterations, _ := wamp.DictInt(v, "iterations")
		keylen, _ := wamp.DictInt(v, "keylen")
		if iterations < 0 || iterations > maxIterations || keylen < 0 || keylen > maxKeyLen {
			return dynamicAnswer{}, unavailable("authenticator %s answered iterations %d, keylen %d", procedure, iterations, keylen)
		}
		ans.iterations, ans.keylen = int(iterations), int(keylen)
	default:
		return dynamicAnswer{}, unavailable("authenticator %s answered %T, not a role or a dict", procedure, args[0])
	}
	if ans.role == "" {
		return dynamicAnswer{}, unavailable("authenticator %s answered no role", procedure)
	}
	return ans, nil
}
