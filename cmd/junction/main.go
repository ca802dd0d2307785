// Command junction is Junction's command-line tool: a standalone WAMP
// router, a demo, and version information. See `junction help`.
package main

import (
	"os"

	"github.com/junction-run/junction/internal/cli"
	"github.com/junction-run/junction/internal/heapfloor"
)

func main() {
	heapfloor.Auto() // this process is ours: see package heapfloor
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
