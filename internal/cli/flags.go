package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/junction-run/junction/internal/suggest"
)

// flagSet is a command's flags. Its flag.FlagSet holds the values and
// records which were given, but parse reads the command line instead of
// its Parse, whose errors come with the whole usage and whose --help
// lists the flags in alphabetical order; flagSet keeps the order of
// declaration for --help.
type flagSet struct {
	*flag.FlagSet
	order []string
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs}
}

// Var declares a flag. In usage, its line in --help, a `backquoted` word
// names the value, as in the flag package. The flag's default, shown by
// --help, is v's value now.
func (fs *flagSet) Var(v flag.Value, name, usage string) {
	fs.FlagSet.Var(v, name, usage)
	fs.order = append(fs.order, name)
}

// String declares a string flag whose value check accepts (nil: any).
func (fs *flagSet) String(p *string, name, def, usage string, check func(string) error) {
	*p = def
	fs.Var(&value[string]{p: p, parse: func(s string) (string, error) { return s, nil }, check: check,
		format: func(s string) string { return s }}, name, usage)
}

// Int declares an integer flag whose value check accepts (nil: any).
func (fs *flagSet) Int(p *int, name string, def int, usage string, check func(int) error) {
	*p = def
	fs.Var(&value[int]{p: p, parse: parseInt, check: check, format: strconv.Itoa}, name, usage)
}

// Duration declares a duration flag whose value check accepts (nil: any).
func (fs *flagSet) Duration(p *time.Duration, name string, def time.Duration, usage string, check func(time.Duration) error) {
	*p = def
	fs.Var(&value[time.Duration]{p: p, parse: parseDuration, check: check, format: time.Duration.String}, name, usage)
}

// Bool declares a flag that is false unless given: --name or --name=true.
func (fs *flagSet) Bool(p *bool, name, usage string) {
	*p = false
	fs.Var((*boolValue)(p), name, usage)
}

// List declares a repeatable string flag, each value checked by check
// (nil: any).
func (fs *flagSet) List(p *[]string, name, usage string, check func(string) error) {
	fs.Var(&listValue{p: p, check: check}, name, usage)
}

// value is a flag of type T: parse reads it (its errors say what a good
// value is), check bounds it.
type value[T any] struct {
	p      *T
	parse  func(string) (T, error)
	check  func(T) error
	format func(T) string
}

func (v *value[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	if v.check != nil {
		if err := v.check(x); err != nil {
			return err
		}
	}
	*v.p = x
	return nil
}

func (v *value[T]) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return v.format(*v.p)
}

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("want an integer")
	}
	return n, nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("want a duration such as 10s or 1m30s")
	}
	return d, nil
}

type boolValue bool

func (b *boolValue) IsBoolFlag() bool { return true }

func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = boolValue(v)
	return nil
}

func (b *boolValue) String() string {
	if b == nil {
		return "false"
	}
	return strconv.FormatBool(bool(*b))
}

type listValue struct {
	p     *[]string
	check func(string) error
}

func (l *listValue) Set(s string) error {
	if l.check != nil {
		if err := l.check(s); err != nil {
			return err
		}
	}
	*l.p = append(*l.p, s)
	return nil
}

func (l *listValue) String() string {
	if l == nil || l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func isBool(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parse sets the flags given in args and returns the arguments after
// them: they start at the first argument that is not a flag, or after
// "--". A flag is -name or --name, its value after '=' or in the next
// argument; a bool flag needs '=' to take one. -h, -help and --help
// return flag.ErrHelp. Every other error is a usageError naming the flag
// and, if it is at fault, the value.
func (fs *flagSet) parse(args []string) (rest []string, err error) {
	var bare *flag.Flag // the last flag, if a bool flag given without a value
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return args[1:], nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			if bare != nil {
				if _, err := strconv.ParseBool(arg); err == nil {
					return nil, usagef("flag --%s takes its value after '=': --%[1]s=%s", bare.Name, arg)
				}
			}
			return args, nil
		}
		args = args[1:]
		name, val, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		if name == "" || name[0] == '-' {
			return nil, usagef("bad flag syntax: %s", arg)
		}
		if name == "h" || name == "help" {
			return nil, flag.ErrHelp
		}
		fl := fs.Lookup(name)
		if fl == nil {
			return nil, usagef("unknown flag --%s%s", name, suggest.DidYouMean(" (did you mean --%s?)", name, fs.order))
		}
		bare = nil
		switch {
		case hasValue:
		case isBool(fl):
			val, bare = "true", fl
		case len(args) == 0:
			return nil, usagef("flag --%s needs a value", name)
		default:
			val, args = args[0], args[1:]
		}
		if err := fs.Set(name, val); err != nil {
			return nil, usagef("invalid value %q for --%s: %w", val, name, err)
		}
	}
	return nil, nil
}

// writeHelp writes the flags, in their order of declaration, each with
// its help and its default.
func (fs *flagSet) writeHelp(b *strings.Builder) {
	if len(fs.order) == 0 {
		return
	}
	b.WriteString("\nFlags:\n")
	for _, name := range fs.order {
		fl := fs.Lookup(name)
		arg, usage := flag.UnquoteUsage(fl)
		if isBool(fl) {
			arg = ""
		}
		fmt.Fprintf(b, "  --%s", name)
		if arg != "" {
			fmt.Fprintf(b, " %s", arg)
		}
		fmt.Fprintf(b, "\n        %s\n", usage)
		if def := fl.DefValue; def != "" && def != "false" {
			fmt.Fprintf(b, "        (default %s)\n", def)
		}
	}
}
