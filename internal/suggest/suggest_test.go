package suggest

import "testing"

func TestDidYouMean(t *testing.T) {
	names := []string{"listen", "realm", "max-connections", "log-level"}
	for s, want := range map[string]string{
		"lisen":          ` (did you mean "listen"?)`,
		"relam":          ` (did you mean "realm"?)`, // a swap is one edit
		"max-connection": ` (did you mean "max-connections"?)`,
		"loglevel":       ` (did you mean "log-level"?)`,
		"zzz":            "",
		"":               "",
	} {
		if got := DidYouMean(" (did you mean %q?)", s, names); got != want {
			t.Errorf("DidYouMean(%q) = %q, want %q", s, got, want)
		}
	}
}
