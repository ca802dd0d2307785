// Package cli implements the junction command: its subcommands, flags and
// signal handling. cmd/junction only calls Main.
package cli
