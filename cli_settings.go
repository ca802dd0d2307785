package junction

import (
	"cmp"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// AddSettings declares settings of the app's own, read like the built-in
// ones from flags, environment variables and the settings file. ptr
// points to a struct; each exported field is a setting whose default is
// the field's current value, and which Main sets before the run command
// starts the app.
//
// A field's flag, also its settings file key, is its name in kebab case
// (MaxItems is --max-items) unless the tag flag:"name" gives one;
// flag:"-" skips the field. The tag help:"..." is its line in --help, in
// which a `backquoted` word names the value. Its environment variable is
// the app's name and the flag name in upper case, MYAPP_MAX_ITEMS, unless
// the tag env:"NAME" gives one. A nested struct prefixes its fields' names
// with its own: DB struct{ Host string } is --db-host; an embedded struct
// adds no prefix.
//
// Fields are strings, bools, integers, float64, time.Duration, []string
// (comma-separated in flags and the environment, a list in the file) and
// types implementing encoding.TextUnmarshaler. A declaration that is not
// a pointer to a struct, has a field of another type, or gives a name
// twice or a built-in's is refused whole: Main reports it, exit code 2.
//
// If the struct has a method Validate() error, Main calls it once the
// settings are resolved: its error is a usage mistake, reported with exit
// code 2 like a bad flag value.
//
// Call AddSettings before Run; the struct belongs to Main until the run
// command starts the app.
func (app *Application) AddSettings(ptr any) {
	app.mu.Lock()
	taken := app.cli.user
	app.mu.Unlock()

	settings, err := app.userSettings(ptr, taken)
	if err != nil {
		err = fmt.Errorf("junction: AddSettings(%T): %w", ptr, err)
		app.setupError(err)
		app.mu.Lock()
		app.cli.errs = append(app.cli.errs, err)
		app.mu.Unlock()
		return
	}
	app.mu.Lock()
	app.cli.user = append(app.cli.user, settings...)
	app.cli.structs = append(app.cli.structs, ptr)
	app.mu.Unlock()
}

// Flags returns the app's flag set, for flags declared with the standard
// library's flag package rather than AddSettings. Main parses them with
// the settings of the run command: each is listed by --help and also has
// an environment variable (MYAPP_NAME) and a settings file key. Their
// names must not clash with the settings'. Do not call its Parse: read
// the values once the app runs.
func (app *Application) Flags() *flag.FlagSet {
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.cli.flags == nil {
		app.cli.flags = flag.NewFlagSet(app.name, flag.ContinueOnError)
	}
	return app.cli.flags
}

// setting is one flag of a command: a built-in setting (a field of
// Settings), a user setting (a field of a struct given to AddSettings),
// a raw flag of Flags(), or --config.
type setting struct {
	name  string // flag name, also the settings file key
	env   string // environment variable, "" for none
	help  string
	arg   string // names the value in --help: string, int, duration...
	value flag.Value
	def   string // a raw flag's default, for --help
	field string // the Go field, "DB.Host", for errors; "" for flags
	group settingGroup
	// file is whether the settings file may set it.
	file bool
	// owner is the embedded app that declared it, "" for the app's own.
	owner string
}

// settingGroup says who declares a setting, and orders --help.
type settingGroup int

const (
	cmdFlag        settingGroup = iota // a command's own flag
	builtinSetting                     // Settings, --config
	userSetting                        // AddSettings, Flags
)

// set sets the setting to v and checks built-ins' values.
func (s *setting) set(v string) error {
	if err := s.value.Set(v); err != nil {
		return err
	}
	if s.group != builtinSetting {
		return nil
	}
	return checkBuiltin(s.name, v)
}

// defaultText returns the default shown by --help, "" for none: a
// field's current value unless zero.
func (s *setting) defaultText() string {
	fv, ok := s.value.(fieldValue)
	if !ok {
		return s.def
	}
	if !fv.v.IsZero() || (isTextValue(fv.v.Type()) && fv.marshals()) {
		if s.group == builtinSetting && s.name == "data-dir" {
			return tildeHome(fv.String())
		}
		return fv.String() // a text value's zero may mean something: slog.Level's is INFO
	}
	return ""
}

// tildeHome writes a path under the home directory as ~/path, as the
// user would.
func tildeHome(path string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "/" {
		return path
	}
	if rest, ok := strings.CutPrefix(path, home+string(filepath.Separator)); ok {
		return "~" + string(filepath.Separator) + rest
	}
	return path
}

func (s *setting) isBool() bool {
	b, ok := s.value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// builtinSettings returns the settings bound to the fields of *st.
func (app *Application) builtinSettings(st *Settings) []*setting {
	var out []*setting
	err := app.structSettings(reflect.ValueOf(st).Elem(), "", "", &out)
	if err != nil {
		panic("junction: Settings: " + err.Error()) // a field of an unsupported type
	}
	for _, s := range out {
		s.group = builtinSetting
	}
	return out
}

// userSettings returns the settings of the struct ptr points to, which
// must not reuse the names of the built-ins or of taken.
func (app *Application) userSettings(ptr any, taken []*setting) ([]*setting, error) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, errors.New("want a non-nil pointer to a struct")
	}
	var out []*setting
	if err := app.structSettings(v.Elem(), "", "", &out); err != nil {
		return nil, err
	}
	for _, s := range out {
		s.group = userSetting
	}
	known := append(app.reservedSettings(), taken...)
	if err := checkNames(known, out); err != nil {
		return nil, err
	}
	return out, nil
}

// reservedSettings returns the settings every user setting must not
// clash with: the built-ins, --config and --help.
func (app *Application) reservedSettings() []*setting {
	var st Settings
	out := app.builtinSettings(&st)
	return append(out, app.configSetting(new(string)), &setting{name: "help"}, &setting{name: "h"})
}

// configSetting is --config, the settings file.
func (app *Application) configSetting(path *string) *setting {
	return &setting{
		name:  "config",
		env:   app.envVar("config"),
		help:  "settings file, YAML or JSON, whose keys are the flags' names",
		arg:   "file",
		value: fieldValue{reflect.ValueOf(path).Elem()},
		group: builtinSetting,
	}
}

// checkNames returns an error if a setting of add reuses the flag or the
// environment variable of another.
func checkNames(known, add []*setting) error {
	flags := make(map[string]*setting)
	envs := make(map[string]*setting)
	for _, s := range known {
		flags[s.name] = s
		if s.env != "" {
			envs[s.env] = s
		}
	}
	for _, s := range add {
		var err error
		if o := flags[s.name]; o != nil && o.group == userSetting {
			err = fmt.Errorf("--%s is declared twice", s.name)
		} else if o != nil {
			err = fmt.Errorf("--%s is a built-in flag", s.name)
		} else if o := envs[s.env]; o != nil && s.env != "" {
			err = fmt.Errorf("--%s and --%s have the same environment variable %s", o.name, s.name, s.env)
		}
		if err != nil && s.field != "" {
			return fmt.Errorf("field %s: %w", s.field, err)
		}
		if err != nil {
			return err
		}
		flags[s.name] = s
		if s.env != "" {
			envs[s.env] = s
		}
	}
	return nil
}

// structSettings appends the settings of the fields of struct v to out.
// prefix starts the flag names, path the Go names in error messages.
func (app *Application) structSettings(v reflect.Value, prefix, path string, out *[]*setting) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("flag")
		embedded := f.Anonymous && f.Type.Kind() == reflect.Struct && !isTextValue(f.Type)
		if (!f.IsExported() && !embedded) || tag == "-" {
			continue // as encoding/json, promote the fields of unexported embedded structs
		}
		fv := v.Field(i)
		name := prefix + cmp.Or(tag, kebab(f.Name))
		if f.Type.Kind() == reflect.Struct && !isTextValue(f.Type) {
			p := name + "-"
			if f.Anonymous && tag == "" {
				p = prefix
			}
			if err := app.structSettings(fv, p, path+f.Name+".", out); err != nil {
				return err
			}
			continue
		}
		arg, ok := valueArg(f.Type)
		if !ok {
			return fmt.Errorf("field %s%s: unsupported type %s", path, f.Name, f.Type)
		}
		if !validName(name) {
			return fmt.Errorf("field %s%s: bad flag name %q: want letters, digits, '-', '_' or '.'", path, f.Name, name)
		}
		help := f.Tag.Get("help")
		if word, ok := backquoted(help); ok {
			arg = word
			help = strings.Replace(help, "`", "", 2)
		}
		*out = append(*out, &setting{
			name:  name,
			env:   cmp.Or(f.Tag.Get("env"), app.envVar(name)),
			help:  help,
			arg:   arg,
			value: fieldValue{fv},
			field: path + f.Name,
			file:  true,
		})
	}
	return nil
}

// flagSettings returns the settings of the raw flags of fs.
func (app *Application) flagSettings(fs *flag.FlagSet) []*setting {
	var out []*setting
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		s := &setting{
			name:  f.Name,
			env:   app.envVar(f.Name),
			help:  help,
			arg:   arg,
			value: f.Value,
			group: userSetting,
			file:  true,
		}
		switch f.DefValue {
		case "", "0", "false", "[]":
		default:
			s.def = f.DefValue
		}
		out = append(out, s)
	})
	return out
}

// envVar returns the environment variable of flag name: the app's name
// and name in upper case, other characters than letters and digits
// turned into '_'. In app "my-app", --data-dir is MY_APP_DATA_DIR.
func (app *Application) envVar(name string) string {
	if app.name != "" {
		name = app.name + "_" + name
	}
	b := []byte(name)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// kebab turns a Go name into a flag name: MaxItems is max-items,
// HTTPPort http-port, UserID user-id.
func kebab(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if c == '_' {
			c = '-'
		}
		if unicode.IsUpper(c) && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		if c == '-' && strings.HasSuffix(b.String(), "-") {
			continue
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func validName(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// backquoted returns the first `word` of help, as flag.UnquoteUsage does.
func backquoted(help string) (string, bool) {
	_, rest, ok := strings.Cut(help, "`")
	if !ok {
		return "", false
	}
	word, _, ok := strings.Cut(rest, "`")
	return word, ok
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func isTextValue(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// valueArg returns the name of values of type t in --help, and whether a
// setting may have that type.
func valueArg(t reflect.Type) (string, bool) {
	switch {
	case isTextValue(t):
		return "value", true
	case t == durationType:
		return "duration", true
	}
	switch t.Kind() {
	case reflect.String:
		return "string", true
	case reflect.Bool:
		return "", true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "int", true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "uint", true
	case reflect.Float64:
		return "float", true
	case reflect.Slice:
		if t.Elem() == reflect.TypeFor[string]() {
			return "list", true
		}
	}
	return "", false
}

// fieldValue is a flag.Value that sets a struct field of a type valueArg
// accepts.
type fieldValue struct{ v reflect.Value }

func (f fieldValue) IsBoolFlag() bool { return f.v.Kind() == reflect.Bool }

// marshals reports whether the field's type has a text form of its own.
func (f fieldValue) marshals() bool {
	switch f.v.Addr().Interface().(type) {
	case encoding.TextMarshaler, fmt.Stringer:
		return true
	}
	return false
}

// String returns the value as Set reads it.
func (f fieldValue) String() string {
	v := f.v
	if isTextValue(v.Type()) {
		switch m := v.Addr().Interface().(type) {
		case encoding.TextMarshaler:
			if text, err := m.MarshalText(); err == nil {
				return string(text)
			}
		case fmt.Stringer:
			return m.String()
		}
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		return strings.Join(v.Convert(reflect.TypeFor[[]string]()).Interface().([]string), ",")
	}
	return fmt.Sprint(v.Interface()) // a text value with no text form of its own
}

// Set parses s into the field. Its errors say what a good value is.
func (f fieldValue) Set(s string) error {
	v := f.v
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("want a duration such as 10s or 1m30s")
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			shift := 64 - v.Type().Bits()
			return fmt.Errorf("want an integer from %d to %d", int64(math.MinInt64)>>shift, int64(math.MaxInt64)>>shift)
		}
		if err != nil {
			return errors.New("want an integer")
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("want an integer from 0 to %d", uint64(math.MaxUint64)>>(64-v.Type().Bits()))
		}
		if err != nil {
			return errors.New("want an integer of 0 or more")
		}
		v.SetUint(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errors.New("want a number")
		}
		v.SetFloat(x)
	case reflect.Slice:
		var items []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		f.setList(items)
	default:
		return fmt.Errorf("unsupported type %s", v.Type()) // refused by AddSettings
	}
	return nil
}

// setList sets a []string field to items, from a list in the settings
// file.
func (f fieldValue) setList(items []string) {
	f.v.Set(reflect.ValueOf(items).Convert(f.v.Type()))
}
