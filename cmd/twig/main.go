// Command twig builds TwiG-50K-style datasets of think / generate / reflect
// trajectories on Apache Beam.
//
// Usage:
//
//	twig run --out DIR [flags]   run the pipeline (embedded runner and simulator by default)
//	twig verify URI              check a dataset version
//	twig worker --listen ADDR    serve the GPU worker protocol (simulator backend)
//	twig version                 print the version
//
// Run "twig COMMAND --help" for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one verb of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run the pipeline and write a dataset version", cmdRun},
		{"verify", "check a dataset version: manifest, checksums, counts, schema", cmdVerify},
		{"refilter", "derive a version under a new policy, with no model call", cmdRefilter},
		{"audit", "the funnel, rejections, scores and repaints of a version; --html writes a browsable report", cmdAudit},
		{"diff", "samples added, removed and changed verdict between two versions, and why", cmdDiff},
		{"worker", "serve the GPU worker protocol over HTTP (simulator backend)", cmdWorker},
		{"version", "print the twig version", func(context.Context, []string) error {
			fmt.Println("twig", codeVersion())
			return nil
		}},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "twig builds TwiG-50K-style datasets of think / generate / reflect trajectories.\n\nUsage: twig COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'twig COMMAND --help' for a command's flags.\n")
}

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	// On a distributed runner, Beam starts this same binary as its worker,
	// with flags and no command: hand it to Beam before anything else.
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-") && os.Args[1] != "-h" && os.Args[1] != "--help" {
		flag.Parse()
		beam.Init()
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name, args := os.Args[1], os.Args[2:]
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		stopProfile := startHeapProfile()
		err := c.run(ctx, args)
		stopProfile()
		switch {
		case err == nil:
			return
		case errors.Is(err, flag.ErrHelp):
			return
		}
		fmt.Fprintf(os.Stderr, "twig %s: %v\n", name, err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	fmt.Fprintf(os.Stderr, "twig: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}
