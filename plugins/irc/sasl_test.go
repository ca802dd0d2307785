package irc

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/junction-run/junction"
)

// saslServer is the registration part of an IRC server with SASL PLAIN
// (IRCv3 sasl-3.1), for the one thing ngircd lacks: it checks the
// credentials the bot sends. Everything else is tested against ngircd.
type saslServer struct {
	ln          net.Listener
	login, pass string
	// hangUp closes the connection right after a refusal, as a server
	// may once the client's QUIT is in.
	hangUp bool
	wg     sync.WaitGroup

	mu   sync.Mutex
	seen []string // the credentials received, "login:password"
}

func startSASLServer(t *testing.T, login, pass string, hangUp bool) *saslServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SASL server on %s", ln.Addr())
	s := &saslServer{ln: ln, login: login, pass: pass, hangUp: hangUp}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *saslServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	say := func(format string, args ...any) { fmt.Fprintf(c, ":sasl.test "+format+"\r\n", args...) }
	sc := bufio.NewScanner(c)
	nick := "*"
	for sc.Scan() {
		m, err := ircmsg.ParseLine(sc.Text())
		if err != nil {
			return
		}
		switch m.Command {
		case "CAP":
			switch m.Params[0] {
			case "LS":
				say("CAP * LS :sasl=PLAIN multi-prefix")
			case "REQ":
				say("CAP * ACK :%s", m.Params[1])
			}
		case "AUTHENTICATE":
			if m.Params[0] == "PLAIN" {
				fmt.Fprintf(c, "AUTHENTICATE +\r\n")
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(m.Params[0])
			parts := strings.Split(string(raw), "\x00")
			if len(parts) != 3 {
				say("904 %s :SASL authentication failed", nick)
				continue
			}
			s.mu.Lock()
			s.seen = append(s.seen, parts[1]+":"+parts[2])
			s.mu.Unlock()
			if parts[1] != s.login || parts[2] != s.pass {
				say("904 %s :SASL authentication failed", nick)
				if s.hangUp {
					return
				}
				continue
			}
			say("900 %s %s!u@h %s :You are now logged in as %s", nick, nick, parts[1], parts[1])
			say("903 %s :SASL authentication successful", nick)
		case "NICK":
			nick = m.Params[0]
		case "USER":
			say("001 %s :Welcome", nick)
			say("422 %s :MOTD File is missing", nick)
		case "JOIN":
			fmt.Fprintf(c, ":%s!u@h JOIN %s\r\n", nick, m.Params[0])
		case "PING":
			say("PONG sasl.test :%s", m.Params[len(m.Params)-1])
		case "QUIT":
			return
		}
	}
}

func (s *saslServer) credentials() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func TestIRCLogsInWithSASL(t *testing.T) {
	srv := startSASLServer(t, "shop", "s3cret", false)
	p := New(Config{Server: srv.ln.Addr().String(), Nick: "bot", Channels: []string{"#c"},
		SASLLogin: "shop", SASLPassword: "s3cret", Timeout: 10 * time.Second})
	startApp(t, p)
	if got := srv.credentials(); len(got) != 1 || got[0] != "shop:s3cret" {
		t.Errorf("the server got %q", got)
	}

	bad := New(Config{Server: srv.ln.Addr().String(), Nick: "bot2", SASLLogin: "shop", SASLPassword: "wrong", Timeout: 10 * time.Second})
	app := junction.New("chat2", quiet)
	app.Plug(bad)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := app.Start(ctx)
	if err == nil {
		app.Shutdown(ctx)
		t.Fatal("started with a refused SASL login")
	}
	if !strings.Contains(err.Error(), "irc: connect to "+srv.ln.Addr().String()) || !strings.Contains(err.Error(), "SASL authentication failed") {
		t.Errorf("error %q", err)
	}
}

// TestIRCReportsARefusedSASLLoginWhenTheServerHangsUp: the library
// sends QUIT on a refusal and then reports it, racing the end of the
// connection; the error must name the refusal every time, not
// "Disconnected by server".
func TestIRCReportsARefusedSASLLoginWhenTheServerHangsUp(t *testing.T) {
	srv := startSASLServer(t, "shop", "s3cret", true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 8 {
		bad := New(Config{Server: srv.ln.Addr().String(), Nick: "bot", SASLLogin: "shop", SASLPassword: "wrong", Timeout: 10 * time.Second})
		app := junction.New("chat", quiet)
		app.Plug(bad)
		err := app.Start(ctx)
		if err == nil {
			app.Shutdown(ctx)
			t.Fatalf("attempt %d: started with a refused SASL login", i)
		}
		if !strings.Contains(err.Error(), "SASL authentication failed") {
			t.Fatalf("attempt %d: error %q", i, err)
		}
	}
}

// TestConnectErrorNamesTheSASLRefusal checks the mapping alone, since the
// race above is rarely lost on a quiet machine: after a 904, "Disconnected
// by server" reads as the refusal; before one, or for other errors, the
// error stays.
func TestConnectErrorNamesTheSASLRefusal(t *testing.T) {
	p := New(Config{Nick: "bot"})
	if err := p.connectError(ircevent.ServerDisconnected); !errors.Is(err, ircevent.ServerDisconnected) {
		t.Fatalf("without a refusal: %v", err)
	}
	conn := &ircevent.Connection{Nick: "bot"}
	p.callbacks(conn)
	msg, err := ircmsg.ParseLine(":sasl.test 904 bot :SASL authentication failed")
	if err != nil {
		t.Fatal(err)
	}
	conn.HandleMessage(msg)
	if err := p.connectError(ircevent.ServerDisconnected); err == nil || err.Error() != "SASL authentication failed" {
		t.Fatalf("after a 904: %v", err)
	}
	if err := p.connectError(ircevent.ServerTimedOut); !errors.Is(err, ircevent.ServerTimedOut) {
		t.Fatalf("another error: %v", err)
	}
}
