// Package deploy renders the deployment files of a Junction app: an
// nginx reverse proxy, a systemd unit, a supervisord program, an Alpine
// openrc script and a Dockerfile, from Facts that the app's command
// line ("myapp template KIND") gathers from its resolved settings.
//
// Each file comes from a text/template file embedded in the package
// (executed by execute.go, without text/template's method lookups). Every
// value that reaches a file is checked and quoted for that file's syntax
// — systemd's specifiers and C escapes, nginx's quoted strings and
// variables, supervisord's INI comments and % expansions, the shell that
// evaluates openrc's variables twice, the Dockerfile's JSON forms and
// variable substitution — so that a name or a path with spaces or
// quotes cannot break the file or inject into it. A value a syntax cannot
// carry safely is refused with an error that names it.
package deploy
