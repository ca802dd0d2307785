package deploy

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template/parse"

	"github.com/junction-run/junction/internal/suggest"
)

//go:embed templates/*.tmpl
var files embed.FS

// templates are the parsed files of templates/, by name (execute.go).
var templates = func() map[string]*parse.Tree {
	trees, err := parseTemplates(files, "templates/*.tmpl")
	if err != nil {
		panic("deploy: " + err.Error()) // a broken embedded file
	}
	return trees
}()

// kind is a kind of deployment file.
type kind struct {
	name string
	// targets are the distributions it runs on, the default first.
	targets []string
	// view checks f, which has its defaults and a valid Target, and
	// returns the data of the kind's template, every value quoted.
	view func(f *Facts) (any, error)
}

var kinds = []kind{
	{"nginx", []string{"debian", "alpine"}, nginxView},
	{"systemd", []string{"debian"}, systemdView},
	{"supervisord", []string{"debian", "alpine"}, supervisordView},
	{"openrc", []string{"alpine"}, openrcView},
	{"docker", []string{"debian", "alpine"}, dockerView},
}

// Kinds returns the kinds Render knows, in the order the help lists them.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

// Targets returns the distributions kind has a variant for, the default
// first; nil for an unknown kind.
func Targets(kind string) []string {
	for _, k := range kinds {
		if k.name == kind {
			return append([]string(nil), k.targets...)
		}
	}
	return nil
}

// Render returns the deployment file of kind for the app f describes.
// kind is one of Kinds, optionally after a target and a colon,
// "alpine:openrc", which must then agree with f.Target. The errors wrap
// ErrUnknownKind, ErrBadTarget or ErrBadFacts.
func Render(kindName string, f Facts) ([]byte, error) {
	if target, name, ok := strings.Cut(kindName, ":"); ok {
		if f.Target != "" && f.Target != target {
			return nil, fmt.Errorf("%w: %q in %q, but the target is %q", ErrBadTarget, target, kindName, f.Target)
		}
		kindName, f.Target = name, target
	}
	k, err := findKind(kindName)
	if err != nil {
		return nil, err
	}
	if err := k.checkTarget(f.Target); err != nil {
		return nil, err
	}
	if f.Target == "" {
		f.Target = k.targets[0]
	}
	f = f.withDefaults()
	if err := f.validate(); err != nil {
		return nil, err
	}
	data, err := k.view(&f)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := execute(&b, templates, k.name+".tmpl", data); err != nil {
		return nil, fmt.Errorf("deploy: %s: %w", k.name, err) // a bug of the template
	}
	return b.Bytes(), nil
}

func findKind(name string) (*kind, error) {
	for i := range kinds {
		if kinds[i].name == name {
			return &kinds[i], nil
		}
	}
	names := Kinds()
	return nil, fmt.Errorf("%w %q%s: want %s", ErrUnknownKind, name,
		suggest.DidYouMean(" (did you mean %q?)", name, names), orList(names))
}

// checkTarget refuses a target k does not run on.
func (k *kind) checkTarget(target string) error {
	if target == "" || slices.Contains(k.targets, target) {
		return nil
	}
	var all []string
	for _, o := range kinds {
		if o.name != k.name && len(o.targets) == 1 && o.targets[0] == target {
			return fmt.Errorf("%w: %s runs services with %s, not %s: try %s:%s", ErrBadTarget, target, o.name, k.name, target, o.name)
		}
		for _, t := range o.targets {
			if !slices.Contains(all, t) {
				all = append(all, t)
			}
		}
	}
	return fmt.Errorf("%w %q for %s%s: want %s", ErrBadTarget, target, k.name,
		suggest.DidYouMean(" (did you mean %q?)", target, all), orList(k.targets))
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
