package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/refilter"
	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/pipelines"
)

const refilterHelp = `Usage: twig refilter URI --policy FILE [--version NAME] [--overwrite]

Derives a new dataset version from the committed version at URI under a
new policy, with no model call: every trajectory keeps its judges' raw
scores, and the policy decides again (its thresholds re-decide pass from
the scores). The child version is written next to its parent (same
dataset folder), names it as its parent in the manifest and the card,
carries the failures over, and derives the sft and WebDataset configs again
from the new accepted set. Prints how many verdicts changed and why.

Flags:
`

// refilterOptions are the flags of twig refilter.
type refilterOptions struct {
	policy    string
	version   string
	overwrite bool
}

func cmdRefilter(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("refilter", flag.ContinueOnError)
	var o refilterOptions
	fs.StringVar(&o.policy, "policy", "", "policy `file` (JSON; see filters/testdata/default_policy.json)")
	fs.StringVar(&o.version, "version", "", "child version `name` (default: <parent>-<policy name>-<policy version>)")
	fs.BoolVar(&o.overwrite, "overwrite", false, "replace a committed child version")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), refilterHelp)
		fs.PrintDefaults()
	}
	// The URI may come before the flags.
	var uri string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		uri, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if uri == "" && fs.NArg() > 0 {
		uri = fs.Arg(0)
	}
	if uri == "" || o.policy == "" {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("want a version URI and --policy")}
	}
	return runRefilter(ctx, uri, o, os.Stdout)
}

// splitVersion splits a version location into the location of its
// dataset folder and the version's name.
func splitVersion(loc string) (dir, name string, err error) {
	if u, perr := url.Parse(loc); perr == nil && (u.Scheme == "s3" || u.Scheme == "gs" || u.Scheme == "file") {
		p := strings.TrimRight(u.Path, "/")
		if strings.Count(strings.Trim(p, "/"), "/") < 1 && u.Scheme != "file" {
			return "", "", fmt.Errorf("refilter %s: the version must sit in a dataset folder (…/DATASET/VERSION)", redact.URL(u.String()))
		}
		name = path.Base(p)
		u.Path = path.Dir(p)
		return u.String(), name, nil
	}
	clean := filepath.Clean(loc)
	return filepath.Dir(clean), filepath.Base(clean), nil
}

func runRefilter(ctx context.Context, uri string, o refilterOptions, w io.Writer) error {
	policy, err := filters.LoadPolicy(o.policy)
	if err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	dir, parent, err := splitVersion(uri)
	if err != nil {
		return err
	}
	if o.version == "" {
		o.version = parent + "-" + policy.Name + "-" + policy.Version
	}
	b, err := openBucket(ctx, dir, false)
	if err != nil {
		return err
	}
	defer b.Close()
	start := time.Now()
	res, err := refilter.Refilter(ctx, b, parent, refilter.Options{
		Policy: policy, Judges: pipelines.JudgeNames(), Version: o.version, Overwrite: o.overwrite,
		CodeVersion: codeVersion(), Created: time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(w, "version:    %s (parent %s, policy %s)\n", joinLocation(dir, res.Prefix), m.Parent, policy)
	fmt.Fprintf(w, "seeded:     %d\naccepted:   %d\nrejected:   %d\nfailed:     %d\n", m.Counts.Seeded, m.Counts.Accepted, m.Counts.Rejected, m.Counts.Failed)
	changed := int64(0)
	for _, n := range res.Changed {
		changed += n
	}
	fmt.Fprintf(w, "changed:    %d verdicts (%d unchanged); model calls made: 0\n", changed, res.Unchanged)
	for _, k := range slices.Sorted(maps.Keys(res.Changed)) {
		fmt.Fprintf(w, "  %-22s %d\n", k, res.Changed[k])
	}
	for _, k := range slices.Sorted(maps.Keys(res.Reasons)) {
		fmt.Fprintf(w, "  because %-16s %d\n", k+":", res.Reasons[k])
	}
	fmt.Fprintf(w, "time:       %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
