package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTwilio is the provider's REST API as the test sees it: it checks
// the path, the basic auth and the form, and answers as Twilio does.
type fakeTwilio struct {
	*httptest.Server
	mu   sync.Mutex
	sent []url.Values
	down bool
}

func startFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.down {
			http.Error(w, `{"message": "unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || !ok || user != "AC123" || pass != "tok" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"code": 20003, "message": "Authenticate"})
			return
		}
		r.ParseForm()
		if r.PostForm.Get("To") == "+0" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"code": 21211, "message": "The 'To' number +0 is not a valid phone number."})
			return
		}
		f.sent = append(f.sent, r.PostForm)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": "SM1", "status": "queued"})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) messages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.sent...)
}

func twilioPlugin(api string) *Plugin {
	return New(Config{Backend: "twilio", TwilioURL: api, TwilioSID: "AC123", TwilioToken: "tok", From: "+15550001",
		SendBackoff: 50 * time.Millisecond, SendMaxBackoff: 200 * time.Millisecond})
}

func waitDone(t *testing.T, p *Plugin, id, state string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := p.Queue().Result(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.State) != state {
		t.Errorf("task %s: %s (%s), want %s", id, r.State, r.Error, state)
	}
	return r.Error
}

func TestTwilioSendPostsToTheAPIAndRetriesWhileItIsDown(t *testing.T) {
	api := startFakeTwilio(t)
	p := twilioPlugin(api.URL)
	startApp(t, p)
	ids, err := p.Send(context.Background(), "héllo", "+33600000001", "+33600000002")
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	for _, id := range ids {
		waitDone(t, p, id, "done")
	}
	got := api.messages()
	if len(got) != 2 || got[0].Get("Body") != "héllo" || got[0].Get("From") != "+15550001" {
		t.Errorf("the API got %v", got)
	}

	api.mu.Lock()
	api.down = true
	api.mu.Unlock()
	ids, err = p.Send(context.Background(), "later", "+33600000003")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := p.Queue().Status(context.Background(), ids[0])
		if err == nil && r.Attempts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not retried: %+v %v", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	api.mu.Lock()
	api.down = false
	api.mu.Unlock()
	waitDone(t, p, ids[0], "done")
	if n := len(api.messages()); n != 3 {
		t.Errorf("%d texts sent, want 3", n)
	}

	// A number the API refuses goes to the dead letters at once.
	ids, err = p.Send(context.Background(), "x", "+0")
	if err != nil {
		t.Fatal(err)
	}
	if msg := waitDone(t, p, ids[0], "failed"); !strings.Contains(msg, "not a valid phone number") {
		t.Errorf("error %q", msg)
	}
}

func TestTwilioWebhookNeedsTheSignature(t *testing.T) {
	p := twilioPlugin("http://127.0.0.1:1")
	got := make(chan *Msg, 10)
	p.Receive(`^STOP$`, func(ctx context.Context, m *Msg) error { got <- m; return nil })
	app := startApp(t, p)
	hook := "http://" + app.Addr().String() + "/sms/twilio/incoming"
	form := url.Values{"From": {"+33600000009"}, "To": {"+15550001"}, "Body": {"STOP"}, "MessageSid": {"SM9"}}

	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, hook, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("forged"); code != http.StatusForbidden {
		t.Errorf("a forged signature: %d, want 403", code)
	}
	if code := post(TwilioSignature("other token", hook, form)); code != http.StatusForbidden {
		t.Errorf("another token's signature: %d, want 403", code)
	}
	if len(got) != 0 {
		t.Fatal("a forged webhook reached the handler")
	}
	if code := post(TwilioSignature("tok", hook, form)); code != http.StatusOK {
		t.Fatalf("the right signature: %d", code)
	}
	select {
	case m := <-got:
		if m.From != "+33600000009" || m.ID != "SM9" || m.Backend != "twilio" {
			t.Errorf("text %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the signed webhook did not reach the handler")
	}
}

// TestTwilioSignatureMatchesTheDocumentedExample checks the algorithm on
// the example of Twilio's security documentation.
func TestTwilioSignatureMatchesTheDocumentedExample(t *testing.T) {
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	got := TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if want := "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}
