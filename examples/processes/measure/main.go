// Command measure loads examples/processes: -signers goroutines sign in
// without pause (each sign-in burns --cost PBKDF2 iterations in the
// app), while one client asks GET /ping in a loop; it prints the /ping
// latencies and the sign-ins done.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080/", "the app's URL")
	signers := flag.Int("signers", 4, "concurrent sign-in loops")
	d := flag.Duration("duration", 10*time.Second, "how long to measure")
	flag.Parse()
	var signins, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range *signers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.PostForm(*base+"signin", url.Values{"user": {fmt.Sprint("u", i)}, "password": {"secret"}})
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
				} else {
					signins.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	var lat []time.Duration
	end := time.Now().Add(*d)
	for time.Now().Before(end) {
		t := time.Now()
		resp, err := http.Get(*base + "ping")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t))
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	fmt.Printf("ping: n=%d p50=%v p99=%v max=%v; sign-ins: %d (%.1f/s), failures %d\n",
		len(lat), q(0.5), q(0.99), lat[len(lat)-1].Round(10*time.Microsecond), signins.Load(),
		float64(signins.Load())/d.Seconds(), failures.Load())
}
