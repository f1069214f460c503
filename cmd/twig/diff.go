package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/twigdata/twig/filters/refilter"
)

const diffHelp = `Usage: twig diff URI_A URI_B [--json] [--limit N]

Compares two dataset versions by trajectory id: the samples only B has
(added), only A has (removed), and those whose verdict changed (accepted,
rejected, failed), with the judges that made the difference. Prints a
summary and examples, or everything as JSON. Exits 0 whenever both
versions could be read.

Flags:
`

func cmdDiff(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the whole diff as JSON")
	limit := fs.Int("limit", 50, "examples of changed verdicts to print (text)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), diffHelp)
		fs.PrintDefaults()
	}
	var uris []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		uris, args = append(uris, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	uris = append(uris, fs.Args()...)
	if len(uris) != 2 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("want two version URIs")}
	}
	return runDiff(ctx, uris[0], uris[1], *asJSON, *limit, os.Stdout)
}

// Diff is what twig diff reports; Change is one sample whose verdict
// changed.
type (
	Diff   = refilter.Diff
	Change = refilter.Change
)

func runDiff(ctx context.Context, uriA, uriB string, asJSON bool, limit int, w io.Writer) error {
	read := func(uri string) (map[string]refilter.Verdict, error) {
		b, err := openBucket(ctx, uri, false)
		if err != nil {
			return nil, err
		}
		defer b.Close()
		v, err := refilter.ReadVerdicts(ctx, b, "")
		if err != nil {
			return nil, fmt.Errorf("diff %s: %w", redactLocation(uri), err)
		}
		return v, nil
	}
	a, err := read(uriA)
	if err != nil {
		return err
	}
	b, err := read(uriB)
	if err != nil {
		return err
	}
	d := refilter.Compare(a, b)
	d.A, d.B = redactLocation(uriA), redactLocation(uriB)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	fmt.Fprintf(w, "a: %s\nb: %s\n", d.A, d.B)
	fmt.Fprintf(w, "added:      %d\nremoved:    %d\nchanged:    %d\nunchanged:  %d\n", len(d.Added), len(d.Removed), len(d.Changed), d.Unchanged)
	for _, k := range sortedByCount(d.Transitions) {
		fmt.Fprintf(w, "  %-24s %d\n", k, d.Transitions[k])
	}
	for _, k := range sortedByCount(d.Because) {
		fmt.Fprintf(w, "  because %-18s %d\n", k+":", d.Because[k])
	}
	for i, c := range d.Changed {
		if i == limit {
			fmt.Fprintf(w, "... and %d more (--limit, --json)\n", len(d.Changed)-limit)
			break
		}
		why := strings.Join(c.ReasonsTo, "; ")
		if why == "" {
			why = "was: " + strings.Join(c.ReasonsFrom, "; ")
		}
		fmt.Fprintf(w, "%s: %s -> %s (%s)\n", c.ID, c.From, c.To, why)
	}
	return nil
}
