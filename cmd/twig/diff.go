package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
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

// Diff is what twig diff reports.
type Diff struct {
	A       string   `json:"a"`
	B       string   `json:"b"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []Change `json:"changed"`
	// Unchanged counts ids in both with the same verdict.
	Unchanged int64 `json:"unchanged"`
	// Transitions counts changes by "from -> to"; Because counts, among
	// them, the judges named by the new verdict and not the old one (or
	// "no longer <judge>" for samples that became accepted).
	Transitions map[string]int64 `json:"transitions"`
	Because     map[string]int64 `json:"because"`
}

// Change is one sample whose verdict changed.
type Change struct {
	ID          string   `json:"id"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	ReasonsFrom []string `json:"reasons_from"`
	ReasonsTo   []string `json:"reasons_to"`
}

// verdictOf is what diff knows of one sample of a version.
type verdictOf struct {
	status  string
	reasons []string
}

type diffRow struct {
	ID      string         `parquet:"id"`
	Verdict schema.Verdict `parquet:"verdict"`
}

// verdicts reads every sample's verdict of the version at the root of b.
func verdicts(ctx context.Context, b *blob.Bucket) (map[string]verdictOf, error) {
	m, err := exporters.ReadManifest(ctx, b, "")
	if err != nil {
		return nil, err
	}
	out := map[string]verdictOf{}
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		for _, sh := range m.Shards[config] {
			err := scanRows(ctx, b, sh.Path, func(r *diffRow) {
				out[r.ID] = verdictOf{status: r.Verdict.Status, reasons: slices.Clone(r.Verdict.Reasons)}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	for _, sh := range m.Shards[exporters.ConfigFailed] {
		err := scanRows(ctx, b, sh.Path, func(f *schema.Failure) {
			if f.ID != "" { // an input line that never became a sample has no id
				out[f.ID] = verdictOf{status: schema.StatusFailed, reasons: []string{f.Stage + ": " + f.Error}}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func runDiff(ctx context.Context, uriA, uriB string, asJSON bool, limit int, w io.Writer) error {
	read := func(uri string) (map[string]verdictOf, error) {
		b, err := openBucket(ctx, uri, false)
		if err != nil {
			return nil, err
		}
		defer b.Close()
		v, err := verdicts(ctx, b)
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
	d := compare(a, b)
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

// compare returns the diff from a to b.
func compare(a, b map[string]verdictOf) *Diff {
	d := &Diff{Added: []string{}, Removed: []string{}, Changed: []Change{}, Transitions: map[string]int64{}, Because: map[string]int64{}}
	judge := func(r string) string { name, _, _ := strings.Cut(r, ":"); return name }
	for id, va := range a {
		vb, ok := b[id]
		switch {
		case !ok:
			d.Removed = append(d.Removed, id)
		case va.status == vb.status:
			d.Unchanged++
		default:
			d.Changed = append(d.Changed, Change{ID: id, From: va.status, To: vb.status, ReasonsFrom: va.reasons, ReasonsTo: vb.reasons})
			d.Transitions[va.status+" -> "+vb.status]++
			was := map[string]bool{}
			for _, r := range va.reasons {
				was[judge(r)] = true
			}
			named := false
			for _, r := range vb.reasons {
				if j := judge(r); !was[j] {
					d.Because[j]++
					named = true
				}
			}
			if !named && len(vb.reasons) == 0 {
				for j := range was {
					d.Because["no longer "+j]++
				}
			}
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			d.Added = append(d.Added, id)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.SortFunc(d.Changed, func(x, y Change) int { return strings.Compare(x.ID, y.ID) })
	return d
}
