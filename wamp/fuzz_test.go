package wamp

import (
	"testing"
)

// uriSeeds are the cases the fast path could get wrong: empty components
// at either end, every kind of ASCII byte the loose rules refuse, and
// non-ASCII input, valid or not, that the rune loop must decide.
var uriSeeds = []string{
	"", ".", "..", "a", "a.", ".a", "a..b", "com.example.topic", "com.Example.topic",
	"com.ex#ample", "com.exa mple", "com.ex\tample", "com.ex\x00ample", "com.ex\x7fample",
	"com.ex\x1fample", "com.ex\vample", "com.ex\fample", "com.ex\rample", "com.ex\nample",
	"com.ex-ample~!$%&'()*+,/:;<=>?@[]^`{|}", "com.example_1.A9",
	"com.é", "é", "com.\u00a0", "com.a\u2028b", "com.a\u2029b", "com.a\u0085b", "com.a\u0080b",
	"com.a\u009fb", "com.a\u3000b", "com.a\u1680b", "com.a\u200bb", "com.a\ufeffb", "com.日本",
	"com.\xff", "com.\xc3", "com.\xc3.x", "\xed\xa0\x80", "com.\xf4\x90\x80\x80", "é.",
	"é..a", ".é", "com.a\u00a0.", "a.\x80",
}

// checkAllModes compares check with checkRunes, the rune loop check had
// before its ASCII fast path (and keeps for URIs with non-ASCII bytes), in
// every mode: the fast path must decide every URI as the loop does.
func checkAllModes(t *testing.T, s string) {
	t.Helper()
	for _, strict := range []bool{false, true} {
		for _, emptyOK := range []bool{false, true} {
			if got, want := URI(s).check(strict, emptyOK), URI(s).checkRunes(strict, emptyOK); got != want {
				t.Fatalf("%q.check(strict=%v, emptyOK=%v) = %v, the rune rule says %v", s, strict, emptyOK, got, want)
			}
		}
	}
}

// TestURICheckMatchesRuneRule compares check with the rune rule on every
// string of up to two bytes and on three-token strings built from the
// bytes and runes where the rules differ.
func TestURICheckMatchesRuneRule(t *testing.T) {
	for _, s := range uriSeeds {
		checkAllModes(t, s)
	}
	for a := range 256 {
		checkAllModes(t, string([]byte{byte(a)}))
		for b := range 256 {
			checkAllModes(t, string([]byte{byte(a), byte(b)}))
		}
	}
	tokens := []string{".", "a", "Z", "0", "_", "-", "#", " ", "\t", "\x00", "\x1f", "\x7f",
		"é", "\u00a0", "\u0085", "\u2028", "\u3000", "\u200b", "\x80", "\xc3", "\xff"}
	for _, a := range tokens {
		for _, b := range tokens {
			for _, c := range tokens {
				checkAllModes(t, a+b+c)
			}
		}
	}
}

func FuzzURICheck(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add(s)
	}
	f.Fuzz(checkAllModes)
}
