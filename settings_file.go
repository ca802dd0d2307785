package junction

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/junction-run/junction/internal/suggest"
)

// loadSettingsFile sets the settings that the YAML or JSON file at path
// gives, except those in done (given by a flag or the environment), and
// adds them to done. The file is a mapping from flag names to values; a
// nested mapping prefixes its keys with its own (db: {host: x} is
// db-host), a list sets a []string setting, and a null value (key:)
// leaves the default.
func loadSettingsFile(path string, settings []*setting, done map[*setting]bool) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("settings file %s does not exist", path)
	}
	if err != nil {
		return fmt.Errorf("settings file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return usageError{err: yamlError(path, err)}
	}
	if len(doc.Content) == 0 {
		return nil // empty
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return usagef("%s:%d: want a mapping of setting names to values", path, root.Line)
	}
	f := &settingsFile{
		path:   path,
		byName: make(map[string]*setting),
		seen:   make(map[string]int),
		done:   done,
	}
	for _, s := range settings {
		if s.file {
			f.byName[s.name] = s
			f.names = append(f.names, s.name)
		}
	}
	return f.apply(root, "")
}

// settingsFile is a settings file being applied.
type settingsFile struct {
	path   string
	byName map[string]*setting // the settings a file may set
	names  []string
	seen   map[string]int // line of each key so far
	done   map[*setting]bool
}

// apply sets the settings of mapping m, whose keys start with prefix.
func (f *settingsFile) apply(m *yaml.Node, prefix string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return usagef("%s:%d: want a setting name as key", f.path, k.Line)
		}
		name := prefix + k.Value
		s := f.byName[name]
		if s == nil && v.Kind == yaml.MappingNode && f.isPrefix(name+"-") {
			if err := f.apply(v, name+"-"); err != nil {
				return err
			}
			continue
		}
		if s == nil {
			if name == "config" {
				return usagef("%s:%d: config cannot be set in a settings file", f.path, k.Line)
			}
			return usagef("%s:%d: unknown setting %q%s", f.path, k.Line, name, suggest.DidYouMean(" (did you mean %q?)", name, f.names))
		}
		if line, ok := f.seen[name]; ok {
			return usagef("%s:%d: %s is set twice (first on line %d)", f.path, k.Line, name, line)
		}
		f.seen[name] = k.Line
		if f.done[s] || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
			continue
		}
		if err := f.set(s, v); err != nil {
			return err
		}
		f.done[s] = true
	}
	return nil
}

func (f *settingsFile) isPrefix(prefix string) bool {
	for _, n := range f.names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// set sets s to the value of node v.
func (f *settingsFile) set(s *setting, v *yaml.Node) error {
	switch v.Kind {
	case yaml.ScalarNode:
		if err := s.set(v.Value); err != nil {
			return usagef("%s:%d: invalid value %q for %s: %w", f.path, v.Line, v.Value, s.name, err)
		}
		return nil
	case yaml.SequenceNode:
		items := make([]string, len(v.Content))
		for i, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return usagef("%s:%d: invalid value for %s: want a list of strings", f.path, item.Line, s.name)
			}
			items[i] = item.Value
		}
		fv, isField := s.value.(fieldValue)
		switch {
		case isField && fv.v.Kind() == reflect.Slice:
			fv.setList(items)
			return nil
		case !isField: // a raw flag, maybe repeatable
			for i, item := range items {
				if err := s.value.Set(item); err != nil {
					return usagef("%s:%d: invalid value %q for %s: %w", f.path, v.Content[i].Line, item, s.name, err)
				}
			}
			return nil
		}
		return usagef("%s:%d: invalid value for %s: want a single value, not a list", f.path, v.Line, s.name)
	}
	return usagef("%s:%d: invalid value for %s: want a single value, not a mapping", f.path, v.Line, s.name)
}

// yamlLine matches yaml's "yaml: line 3: ..." errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError turns a syntax error of yaml into "path:line: why".
func yamlError(path string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", path, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %w", path, err)
}
