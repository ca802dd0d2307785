package main

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	// Fields 3 to 17 after the name; utime (14) is 1234, stime (15) 56.
	const tail = " S 1 2 3 4 5 6 7 8 9 10 1234 56 0 0 20 0 8 0 100 200 300"
	for _, name := range []string{"junction", "my router", "a) b", "(x) (y))", ") S 9 9 9", ""} {
		got, err := parseStatCPU("4242 (" + name + ")" + tail)
		if err != nil || got != 1290 {
			t.Errorf("name %q: got %d, %v; want 1290", name, got, err)
		}
	}
	for _, bad := range []string{
		"",
		"4242 junction S 1 2 3 4 5 6 7 8 9 10 1234 56",
		"4242 (junction) S 1 2 3 4 5 6 7 8 9 10 1234",
		"4242 (junction) S 1 2 3 4 5 6 7 8 9 10 x 56 0",
		"4242 (junction) S 1 2 3 4 5 6 7 8 9 10 12 -- 0",
	} {
		if got, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) = %d, want an error", bad, got)
		}
	}
}

func TestParseStatCPUOfThisProcess(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseStatCPU(string(b)); err != nil {
		t.Errorf("%q: %v", b, err)
	}
	if _, err := processCPU(os.Getpid(), clockTicks()); err != nil {
		t.Error(err)
	}
}

func TestAuxvValue(t *testing.T) {
	var b []byte
	for _, kv := range [][2]uint64{{6, 4096}, {atClkTck, 250}, {0, 0}, {atClkTck, 1}} {
		b = binary.NativeEndian.AppendUint64(b, kv[0])
		b = binary.NativeEndian.AppendUint64(b, kv[1])
	}
	if got := auxvValue(b, atClkTck); got != 250 {
		t.Errorf("AT_CLKTCK = %d, want 250", got)
	}
	if got := auxvValue(b[:16], atClkTck); got != 0 {
		t.Errorf("AT_CLKTCK absent: %d, want 0", got)
	}
	if got := auxvValue(b[32:], atClkTck); got != 0 {
		t.Errorf("after AT_NULL: %d, want 0", got)
	}
	if hz := clockTicks(); hz <= 0 {
		t.Errorf("clockTicks() = %d", hz)
	}
}

func TestParseFileLimit(t *testing.T) {
	const limits = "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max processes             63408                63408                processes \n" +
		"Max open files            20000                524288               files     \n"
	if n, err := parseFileLimit(limits); err != nil || n != 20000 {
		t.Errorf("got %d, %v; want 20000", n, err)
	}
	if n, err := parseFileLimit(strings.Replace(limits, "20000 ", "unlimited ", 1)); err != nil || n != -1 {
		t.Errorf("unlimited: got %d, %v; want -1", n, err)
	}
	if _, err := parseFileLimit("Max processes 1 1 processes\n"); err == nil {
		t.Error("no open-files line: no error")
	}
	if _, err := fileLimit(os.Getpid()); err != nil {
		t.Error(err)
	}
}
