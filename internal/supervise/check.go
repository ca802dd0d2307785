package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
)

// Check says whether a run is ready. While a run starts, the supervisor
// calls Check about every 50ms, each call with its own short timeout,
// until it returns nil or Spec.ReadyTimeout passes; the last error goes
// into the "not ready" error. String names the check in that error:
// "tcp 127.0.0.1:6390".
type Check interface {
	Check(ctx context.Context) error
	String() string
}

// TCP is ready when a TCP connection to addr ("host:port") succeeds.
func TCP(addr string) Check { return tcpCheck(addr) }

type tcpCheck string

func (c tcpCheck) String() string { return "tcp " + string(c) }

func (c tcpCheck) Check(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", string(c))
	if err != nil {
		// "connection refused" says it; the address is in String.
		var se *os.SyscallError
		if errors.As(err, &se) {
			return se.Err
		}
		return err
	}
	return conn.Close()
}

// HTTP is ready when a GET of url answers with a 2xx or 3xx status.
// Redirects are not followed.
func HTTP(url string) Check {
	return &httpCheck{url: url, client: &http.Client{
		// No idle connections: nothing outlives the check.
		Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type httpCheck struct {
	url    string
	client *http.Client
}

func (c *httpCheck) String() string { return "http " + c.url }

func (c *httpCheck) Check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			return se.Err
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// LogLine is ready when a line the current run writes to stdout or
// stderr matches re; lines of earlier runs do not count. It works only
// as Spec.Ready: its Check method on its own always fails.
func LogLine(re *regexp.Regexp) Check { return &logLineCheck{re: re} }

type logLineCheck struct{ re *regexp.Regexp }

func (c *logLineCheck) String() string { return "log line /" + c.re.String() + "/" }

func (c *logLineCheck) Check(context.Context) error { return errNoLine }

var errNoLine = errors.New("no matching line")
