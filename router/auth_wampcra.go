package router

import (
	"cmp"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/junction-run/junction/wamp"
)

// WAMP-CRA: the router sends a challenge, a JSON object naming the
// session to be (authid, authrole, authmethod, authprovider, nonce,
// timestamp, session); the client answers with
// base64(HMAC-SHA256(key, challenge)). The key is the secret itself, or
// for a salted secret the base64 text of PBKDF2-HMAC-SHA256(secret, salt,
// iterations, keylen), as Autobahn's auth_cra.derive_key computes it: the
// HMAC key is that text's bytes, not the raw derived key.

// Salted WAMP-CRA defaults, Autobahn's and the specification's example's.
const (
	defaultIterations = 1000
	defaultKeyLen     = 32
	// maxIterations and maxKeyLen bound what a configuration or an
	// authenticator may ask the router to compute.
	maxIterations = 10_000_000
	maxKeyLen     = 1024
)

// wampcraChallenge is CHALLENGE.Extra.challenge, encoded as JSON.
type wampcraChallenge struct {
	AuthID       string `json:"authid"`
	AuthRole     string `json:"authrole"`
	AuthMethod   string `json:"authmethod"`
	AuthProvider string `json:"authprovider"`
	Nonce        string `json:"nonce"`
	Timestamp    string `json:"timestamp"`
	Session      int64  `json:"session"`
}

// wampcraSecret is what the router must know of a WAMP-CRA user.
type wampcraSecret struct {
	key        []byte // the HMAC key
	salt       string // "" for an unsalted secret
	iterations int
	keylen     int
}

// wampcra runs WAMP-CRA. An authid the router does not know is sent a
// decoy challenge, shaped as a real one, and refused once it answers.
func (a *attempt) wampcra() (authOutcome, *authError) {
	cfg := a.cfg.WAMPCRA
	authid := a.authid()
	var out authOutcome
	var secret wampcraSecret
	var failure *authError
	if p, ok := cfg.Principals[authid]; ok && authid != "" {
		out = authOutcome{authid: authid, authrole: p.Role, provider: providerStatic}
		secret = a.r.auth.staticWAMPCRAKey(a.cfg.Name, authid, p)
	} else if cfg.Authenticator != "" {
		ans, err := a.callAuthenticator(cfg.Authenticator, authid, a.dynamicDetails(authWAMPCRA))
		switch {
		case err != nil:
			failure = err
		case ans.secret == "":
			failure = unavailable("authenticator %s answered no secret for authid %q", cfg.Authenticator, authid)
		default:
			out = ans.outcome(authid)
			secret = wampcraKey(ans.secret, ans.salt, ans.iterations, ans.keylen)
		}
	} else {
		failure = denied("no wampcra principal %q", authid)
	}
	if failure != nil {
		out, secret = a.r.auth.wampcraDecoy(a.cfg, authid)
	}

	var nonce [24]byte
	rand.Read(nonce[:])
	challenge, _ := json.Marshal(wampcraChallenge{
		AuthID: out.authid, AuthRole: out.authrole, AuthMethod: authWAMPCRA, AuthProvider: out.provider,
		Nonce:     base64.StdEncoding.EncodeToString(nonce[:]),
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Session:   int64(a.s.id),
	})
	extra := wamp.Dict{"challenge": string(challenge)}
	if secret.salt != "" {
		extra["salt"] = secret.salt
		extra["iterations"] = int64(secret.iterations)
		extra["keylen"] = int64(secret.keylen)
	}
	m, err := a.challenge(authWAMPCRA, extra)
	if err != nil {
		return authOutcome{}, err
	}
	mac := hmac.New(sha256.New, secret.key)
	mac.Write(challenge)
	sig, decodeErr := base64.StdEncoding.DecodeString(m.Signature)
	valid := hmac.Equal(sig, mac.Sum(nil)) && decodeErr == nil
	switch {
	case failure != nil:
		return authOutcome{}, failure
	case !valid:
		return authOutcome{}, denied("wrong wampcra signature for authid %q", out.authid)
	}
	return out, nil
}

// wampcraKey returns the HMAC key of a secret, deriving it if it is
// salted; zero iterations and keylen mean the defaults.
func wampcraKey(secret, salt string, iterations, keylen int) wampcraSecret {
	if salt == "" {
		return wampcraSecret{key: []byte(secret)}
	}
	iterations, keylen = cmp.Or(iterations, defaultIterations), cmp.Or(keylen, defaultKeyLen)
	derived, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keylen)
	if err != nil {
		// Only a key length past what PBKDF2 allows fails, and keylen
		// is bounded far below it.
		panic("router: pbkdf2: " + err.Error())
	}
	return wampcraSecret{key: []byte(base64.StdEncoding.EncodeToString(derived)), salt: salt,
		iterations: iterations, keylen: keylen}
}

// derivedKeyID names a static principal's derived key.
type derivedKeyID struct{ realm, authid string }

// staticWAMPCRAKey returns a static principal's key, derived once.
func (st *authState) staticWAMPCRAKey(realm, authid string, p WAMPCRAPrincipal) wampcraSecret {
	if p.Salt == "" {
		return wampcraSecret{key: []byte(p.Secret)}
	}
	id := derivedKeyID{realm, authid}
	st.mu.Lock()
	s, ok := st.derived[id]
	st.mu.Unlock()
	if !ok {
		s = wampcraKey(p.Secret, p.Salt, p.Iterations, p.KeyLen)
		st.mu.Lock()
		if st.derived == nil {
			st.derived = make(map[derivedKeyID]wampcraSecret)
		}
		st.derived[id] = s
		st.mu.Unlock()
	}
	return s
}

// wampcraDecoy is the session and secret a decoy challenge names, for an
// authid the realm does not know: the most common role of the realm's
// WAMP-CRA principals, and if any of them is salted, a salt that is the
// same each time the authid is tried, with the first salted principal's
// parameters. The key is random: no answer matches it.
func (st *authState) wampcraDecoy(cfg *RealmConfig, authid string) (authOutcome, wampcraSecret) {
	st.once.Do(func() { rand.Read(st.decoyKey[:]) })
	out := authOutcome{authid: authid, authrole: "user", provider: providerStatic}
	if cfg.WAMPCRA.Authenticator != "" {
		out.provider = providerDynamic
	}
	secret := wampcraSecret{key: make([]byte, 32)}
	rand.Read(secret.key)
	counts := map[string]int{}
	ids := slices.Sorted(maps.Keys(cfg.WAMPCRA.Principals))
	for _, id := range ids {
		p := cfg.WAMPCRA.Principals[id]
		counts[p.Role]++
		if counts[p.Role] > counts[out.authrole] || counts[p.Role] == counts[out.authrole] && p.Role < out.authrole {
			out.authrole = p.Role
		}
		if p.Salt != "" && secret.salt == "" {
			mac := hmac.New(sha256.New, st.decoyKey[:])
			mac.Write([]byte(cfg.Name + "\x00" + authid))
			salt := base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
			secret.salt = salt[:min(max(len(p.Salt), 8), len(salt))]
			secret.iterations, secret.keylen = cmp.Or(p.Iterations, defaultIterations), cmp.Or(p.KeyLen, defaultKeyLen)
		}
	}
	return out, secret
}
