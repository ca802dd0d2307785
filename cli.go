package junction

// cliState holds the command line's declarations: user settings and
// flags. Owned by the command line code.
type cliState struct{}
