package supervise

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv, set in a child's environment, makes the test binary run the
// script in its arguments instead of the tests.
const childEnv = "SUPERVISE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		child(os.Args[1:])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs a script, one step per argument:
//
//	out:TEXT, err:TEXT  print a line to stdout or stderr
//	lines:N             print "line 0" to "line N-1"
//	long:N              print a line of N x's
//	exit:N              exit with code N
//	listen:FILE         listen on 127.0.0.1:0; write the address to FILE
//	http:FILE           the same, serving HTTP 200
//	ignore-term         ignore SIGTERM
//	graceful            on SIGTERM print "bye" and exit 0
//	pid:FILE            write the PID to FILE
//	supervise:FILE      supervise a sleeping grandchild; write "pid pid" to FILE
//	sleep               sleep an hour
//
// At the end of the script it exits 0.
func child(script []string) {
	for _, step := range script {
		cmd, arg, _ := strings.Cut(step, ":")
		switch cmd {
		case "out":
			fmt.Println(arg)
		case "err":
			fmt.Fprintln(os.Stderr, arg)
		case "lines":
			n, _ := strconv.Atoi(arg)
			for i := range n {
				fmt.Printf("line %d\n", i)
			}
		case "long":
			n, _ := strconv.Atoi(arg)
			fmt.Println(strings.Repeat("x", n))
		case "exit":
			n, _ := strconv.Atoi(arg)
			os.Exit(n)
		case "listen", "http":
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				panic(err)
			}
			if cmd == "http" {
				go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			} else {
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						c.Close()
					}
				}()
			}
			writeFile(arg, ln.Addr().String())
		case "ignore-term":
			signal.Ignore(syscall.SIGTERM)
		case "graceful":
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGTERM)
			go func() {
				<-c
				fmt.Println("bye")
				os.Exit(0)
			}()
		case "pid":
			writeFile(arg, strconv.Itoa(os.Getpid()))
		case "supervise":
			superviseGrandchild(arg)
		case "sleep":
			time.Sleep(time.Hour)
		default:
			panic("child: unknown step " + step)
		}
	}
}

// writeFile writes atomically, so that a reader sees all or nothing.
func writeFile(name, s string) {
	if err := os.WriteFile(name+".tmp", []byte(s), 0o644); err != nil {
		panic(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		panic(err)
	}
}

// superviseGrandchild starts a sleeping grandchild, then makes OS
// threads exit the way the runtime does for goroutines that end locked
// to them, and writes the grandchild's PID before and after to file.
func superviseGrandchild(file string) {
	self, _ := os.Executable()
	p, err := Start(context.Background(), Spec{
		Path: self, Args: []string{"sleep"},
		Env: append(os.Environ(), childEnv+"=1"),
	})
	if err != nil {
		panic(err)
	}
	before := p.Status().PID
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		}()
	}
	wg.Wait()
	writeFile(file, fmt.Sprintf("%d %d", before, p.Status().PID))
}
