package deploy

import (
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"text/template/parse"
)

// The templates are text/template files, parsed by text/template/parse
// and executed here rather than by text/template: its executor looks
// methods up by name, which makes the linker keep every exported method
// of every type in the binary, and so links the embedded NATS server
// into every app (footprint_test.go). This executor knows the subset the
// templates use: fields of the data, if/else, range, template, define.

// parseTemplates parses the files matching pattern in fsys into trees by
// name: each file's, and those it defines.
func parseTemplates(fsys fs.FS, pattern string) (map[string]*parse.Tree, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	trees := make(map[string]*parse.Tree)
	for _, name := range names {
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		base := name[strings.LastIndex(name, "/")+1:]
		set, err := parse.Parse(base, string(text), "", "")
		if err != nil {
			return nil, err
		}
		for n, t := range set {
			trees[n] = t
		}
	}
	return trees, nil
}

// execute writes the template name of trees with data as dot.
func execute(w io.Writer, trees map[string]*parse.Tree, name string, data any) error {
	t := trees[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	e := &executor{w: w, trees: trees}
	return e.walk(reflect.ValueOf(data), t.Root)
}

type executor struct {
	w     io.Writer
	trees map[string]*parse.Tree
}

func (e *executor) walk(dot reflect.Value, node parse.Node) error {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := e.walk(dot, c); err != nil {
				return err
			}
		}
	case *parse.TextNode:
		_, err := e.w.Write(n.Text)
		return err
	case *parse.CommentNode:
	case *parse.ActionNode:
		v, err := e.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		return e.print(n, v)
	case *parse.IfNode:
		v, err := e.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		if truth(v) {
			return e.walk(dot, n.List)
		}
		return e.walk(dot, n.ElseList)
	case *parse.RangeNode:
		v, err := e.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		if v.Kind() != reflect.Slice {
			return fmt.Errorf("%s: range over %s", n, v.Kind())
		}
		if v.Len() == 0 {
			return e.walk(dot, n.ElseList)
		}
		for i := range v.Len() {
			if err := e.walk(v.Index(i), n.List); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		t := e.trees[n.Name]
		if t == nil {
			return fmt.Errorf("%s: no template %q", n, n.Name)
		}
		arg := dot
		if n.Pipe != nil {
			var err error
			if arg, err = e.pipe(dot, n.Pipe); err != nil {
				return err
			}
		}
		return e.walk(arg, t.Root)
	default:
		return fmt.Errorf("%s: not supported", node)
	}
	return nil
}

// pipe evaluates a pipeline of one command with one argument: dot or a
// chain of fields.
func (e *executor) pipe(dot reflect.Value, p *parse.PipeNode) (reflect.Value, error) {
	if len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return reflect.Value{}, fmt.Errorf("%s: only {{.}} and {{.Field}} are supported", p)
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.FieldNode:
		v := dot
		for _, name := range a.Ident {
			for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
				v = v.Elem()
			}
			if v.Kind() != reflect.Struct {
				return reflect.Value{}, fmt.Errorf("%s: .%s of a %s", a, name, v.Kind())
			}
			if v = v.FieldByName(name); !v.IsValid() {
				return reflect.Value{}, fmt.Errorf("%s: no field %s", a, name)
			}
		}
		return v, nil
	}
	return reflect.Value{}, fmt.Errorf("%s: only {{.}} and {{.Field}} are supported", p)
}

// print writes a string, integer or bool.
func (e *executor) print(n parse.Node, v reflect.Value) error {
	var s string
	switch v.Kind() {
	case reflect.String:
		s = v.String()
	case reflect.Int, reflect.Int64:
		s = strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		s = strconv.FormatBool(v.Bool())
	default:
		return fmt.Errorf("%s: cannot print a %s", n, v.Kind())
	}
	_, err := io.WriteString(e.w, s)
	return err
}

// truth is text/template's: a zero value and an empty slice are false.
func truth(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String:
		return v.Len() > 0
	}
	return !v.IsZero()
}
