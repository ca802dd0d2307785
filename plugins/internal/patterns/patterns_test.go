package patterns

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMatching(t *testing.T) {
	var r Routes[string]
	for pattern, h := range map[string]string{`^LOVE (?P<a>\w+) (?P<b>\w+)$`: "love", `dtc`: "dtc", `^never$`: "never"} {
		r.Add("Test", pattern, h)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Add("Test", `(`, "bad")
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "Test(\"(\")") {
		t.Fatalf("Err after a bad pattern: %v", err)
	}
	hits := r.Matching("LOVE ann bob")
	if len(hits) != 1 || hits[0].Handler != "love" || !reflect.DeepEqual(hits[0].Groups, []string{"LOVE ann bob", "ann", "bob"}) ||
		!reflect.DeepEqual(hits[0].Named, map[string]string{"a": "ann", "b": "bob"}) || hits[0].Pattern != `^LOVE (?P<a>\w+) (?P<b>\w+)$` {
		t.Fatalf("hits %+v", hits)
	}
	if hits := r.Matching("see dtc, LOVE"); len(hits) != 1 || hits[0].Handler != "dtc" || hits[0].Named != nil {
		t.Fatalf("hits %+v", hits)
	}
	if hits := r.Matching("nothing"); hits != nil {
		t.Fatalf("hits %+v", hits)
	}
}

func TestRun(t *testing.T) {
	if err := Run(func() error { panic("boom") }); err == nil || err.Error() != "handler panicked: boom" {
		t.Fatalf("Run of a panic: %v", err)
	}
	want := errors.New("no")
	if err := Run(func() error { return want }); err != want {
		t.Fatalf("Run: %v", err)
	}
}

// TestNilHandlerIsRefused: a nil handler is kept for Err, not routed.
func TestNilHandlerIsRefused(t *testing.T) {
	var r Routes[func()]
	r.Add("Receive", "x", nil)
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "nil handler") {
		t.Fatalf("Err after a nil handler: %v", err)
	}
	if hits := r.Matching("x"); hits != nil {
		t.Fatalf("a nil handler was routed: %+v", hits)
	}
}
