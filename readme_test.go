package junction

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirstAppFromTheREADME writes the README's "Your first app" files
// into a new module that depends on this checkout, as the README says,
// and runs its test: the first thing a new user does must work.
func TestFirstAppFromTheREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := readmeFiles(t, string(readme), "<!-- first-app: ")
	if len(files) != 2 || files["main.go"] == "" || files["main_test.go"] == "" {
		t.Fatalf("the README's first app has files %v, want main.go and main_test.go", keys(files))
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Junction's own checksums, for the same versions of its
	// dependencies: nothing to ask the checksum database.
	sums, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o600); err != nil {
		t.Fatal(err)
	}
	// The README's commands, with the clone where it is; -mod=mod lets
	// go test add the requirements go mod tidy would, from the module
	// cache this checkout's build filled.
	for _, args := range [][]string{
		{"mod", "init", "example.com/hello"},
		{"mod", "edit", "-require=github.com/junction-run/junction@v0.0.0", "-replace=github.com/junction-run/junction=" + root},
		{"test", "-mod=mod", "-count=1", "./..."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("go %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
	}
}

// readmeFiles returns the code blocks that follow a marker line
// "<!-- first-app: NAME -->", by NAME.
func readmeFiles(t *testing.T, readme, marker string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, part := range strings.Split(readme, marker)[1:] {
		name, rest, ok := strings.Cut(part, " -->\n")
		if !ok {
			t.Fatalf("marker %q without its end", marker+part[:min(len(part), 20)])
		}
		body, ok := strings.CutPrefix(rest, "```go\n")
		if !ok {
			t.Fatalf("%s: no ```go block right after its marker", name)
		}
		code, _, ok := strings.Cut(body, "```\n")
		if !ok {
			t.Fatalf("%s: unterminated code block", name)
		}
		files[name] = code
	}
	return files
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
