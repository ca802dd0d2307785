package deploy

import (
	"bytes"
	"encoding/json"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// dockerData is the data of docker.tmpl; its values are quoted.
type dockerData struct {
	App, Slug     string
	BuildImage    string
	RuntimeImage  string
	Alpine        bool
	User, Group   string
	DataDir       string // quoted for the shell of RUN
	Copies        []string
	Mounts        []string // comments: paths outside the build context
	Env           []string
	Port          string // "" for none
	StopSeconds   int
	StopSignal    string
	Entrypoint    string
	VolumeDataDir string
}

// appDir is where the image keeps the binary and the files it reads,
// the app's working directory.
const appDir = "/app"

// dockerView returns docker.tmpl's data: a Dockerfile that builds the
// app from the module in the build context.
func dockerView(f *Facts) (any, error) {
	slug := f.slug()
	d := &dockerData{
		App:          f.App,
		Slug:         slug,
		BuildImage:   "golang:1",
		RuntimeImage: "debian:stable-slim",
		User:         f.User,
		Group:        f.Group,
		DataDir:      f.stateDir(),
		StopSeconds:  f.stopSeconds(),
		StopSignal:   f.StopSignal,
	}
	if f.Target == "alpine" {
		d.BuildImage, d.RuntimeImage, d.Alpine = "golang:1-alpine", "alpine:3", true
	}
	if d.User == "" {
		d.User = slug
	}
	if d.Group == "" {
		d.Group = slug
	}
	// In the image, the files of the working dir are under /app.
	inImage := func(what, p string) (string, error) {
		if strings.Contains(p, "$") {
			return "", badf("docker: %s %q: a '$' is not allowed", what, p)
		}
		if f.WorkingDir != "" {
			if rel, err := filepath.Rel(f.WorkingDir, p); err == nil && filepath.IsLocal(rel) {
				dst := path.Join(appDir, filepath.ToSlash(rel))
				d.Copies = append(d.Copies, dockerJSON(path.Join("/src", filepath.ToSlash(rel)), dst))
				return dst, nil
			}
		}
		d.Mounts = append(d.Mounts, p)
		return p, nil
	}
	config := f.Config
	if config != "" {
		var err error
		if config, err = inImage("config", config); err != nil {
			return nil, err
		}
	}
	for _, s := range f.Static {
		if _, err := inImage("static dir", s.Dir); err != nil {
			return nil, err
		}
	}
	dataDir := d.DataDir
	if f.DataDir != "" {
		dataDir = f.DataDir
		if strings.Contains(dataDir, "$") {
			return nil, badf("docker: data dir %q: a '$' is not allowed", dataDir)
		}
	}
	d.DataDir = shellQuote(dataDir)
	d.VolumeDataDir = dockerJSON(dataDir)
	listen := ""
	if f.Listen != "" {
		port, _ := f.port()
		d.Port = strconv.Itoa(port)
		// Inside its container the app listens on every interface:
		// docker's port mapping reaches it from outside.
		listen = "0.0.0.0:" + d.Port
	}
	argv := append([]string{path.Join(appDir, slug)}, f.command(listen, dataDir, config)...)
	d.Entrypoint = dockerJSON(argv...)
	for _, e := range f.Env {
		k, v, _ := strings.Cut(e, "=")
		d.Env = append(d.Env, k+`="`+strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(v)+`"`)
	}
	return d, nil
}

// dockerJSON returns a Dockerfile's JSON array of strings, as the exec
// forms of ENTRYPOINT, COPY and VOLUME read it.
func dockerJSON(s ...string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // strings always encode
	return strings.TrimSuffix(b.String(), "\n")
}
