package main

import (
	"cmp"
	"context"
	"encoding/json"
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

	"github.com/twigdata/twig/exporters/audit"
	"github.com/twigdata/twig/exporters/report"
	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/schema"
)

const auditHelp = `Usage: twig audit URI [--html DIR] [--json]

Reads a committed dataset version (a local path or file:// URL of the
version folder, e.g. ./out/twig-sim/v1, or s3://bucket/prefix?region=...,
or gs://bucket/prefix) and prints its statistics:

  - the filter funnel: seeded -> generated (seeded - failed) -> left after
    each judge (the trajectories not rejected by a verdict that names that
    judge or an earlier one, judges in the order they first appear in the
    rows) -> accepted;
  - the rejected trajectories by judge and by category, and the failed
    rows by stage;
  - score distributions: the critique score histogram, and quantiles of
    the verdict's overall score and of every judge's score;
  - repaint statistics: regions repainted, attempts by decision, and the
    critique score change of every critiqued repaint.

It reads only the columns it needs, streaming the shards with ranged reads.

Flags:
  --html DIR   also write the HTML report (every sample with its images,
               the rejected samples by reason) to DIR, a local folder or an
               s3:// or gs:// location, and print where index.html is
  --json       print the statistics as one JSON object instead of text
`

func cmdAudit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), auditHelp) }
	htmlDir := fs.String("html", "", "write the HTML report to `DIR`")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("want exactly one URI")}
	}
	return runAudit(ctx, pos[0], *htmlDir, *asJSON, os.Stdout)
}

// parseInterleaved parses args with fs, letting the positional arguments
// come before the flags too ("twig audit URI --json"), and returns the
// positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return append(pos, fs.Args()...), nil
}

// redactLocation returns a location for messages: s3:// and gs:// URLs
// lose their query parameters and user information.
func redactLocation(loc string) string {
	if u, err := url.Parse(loc); err == nil && (u.Scheme == "s3" || u.Scheme == "gs") {
		return redact.URL(u.String())
	}
	if u, err := url.Parse(loc); err == nil && u.Scheme == "file" {
		return "file://" + path.Clean(u.Path)
	}
	return filepath.Clean(loc)
}

// sortedByCount returns the keys of m, largest count first, then by name.
func sortedByCount(m map[string]int64) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(x, y string) int {
		return cmp.Or(cmp.Compare(m[y], m[x]), strings.Compare(x, y))
	})
	return keys
}

// readAudit reads the version at uri and computes its Audit.
func readAudit(ctx context.Context, uri string) (*audit.Audit, error) {
	where := redactLocation(uri)
	b, err := openBucket(ctx, uri, false)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", where, err)
	}
	defer b.Close()
	a, err := audit.Read(ctx, b, "")
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", where, err)
	}
	a.URI = where
	return a, nil
}

func runAudit(ctx context.Context, uri, htmlDir string, asJSON bool, w io.Writer) error {
	a, err := readAudit(ctx, uri)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("audit %s: %w", a.URI, err)
		}
	} else {
		writeAuditText(w, a)
	}
	if htmlDir == "" {
		return nil
	}
	index, sum, err := writeReport(ctx, uri, htmlDir)
	if err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintf(w, "\nreport: %s\n  %d samples, %d failures, %d pages, %d images\n", index, sum.Samples, sum.Failures, sum.Pages, sum.Images)
	} else {
		fmt.Fprintf(os.Stderr, "report: %s\n", index)
	}
	return nil
}

// writeReport writes the HTML report of the version at uri to dir and
// returns the location of its index.
func writeReport(ctx context.Context, uri, dir string) (string, report.Summary, error) {
	where := redactLocation(uri)
	src, err := openBucket(ctx, uri, false)
	if err != nil {
		return "", report.Summary{}, fmt.Errorf("audit %s: %w", where, err)
	}
	defer src.Close()
	in, err := report.FromVersion(ctx, src, "")
	if err != nil {
		return "", report.Summary{}, fmt.Errorf("audit %s: %w", where, err)
	}
	dst, err := openBucket(ctx, dir, true)
	if err != nil {
		return "", report.Summary{}, fmt.Errorf("audit --html %s: %w", redactLocation(dir), err)
	}
	defer dst.Close()
	sum, err := report.Write(ctx, dst, "", in, report.Options{})
	if err != nil {
		return "", sum, fmt.Errorf("audit %s: report to %s: %w", where, redactLocation(dir), err)
	}
	if err := dst.Close(); err != nil {
		return "", sum, fmt.Errorf("audit %s: report to %s: %w", where, redactLocation(dir), err)
	}
	index := redactLocation(joinLocation(dir, report.IndexFile))
	if u, err := url.Parse(dir); err != nil || u.Scheme == "" || len(u.Scheme) == 1 {
		if abs, err := filepath.Abs(index); err == nil {
			index = abs
		}
	}
	return index, sum, nil
}

// writeAuditText prints an Audit for people.
func writeAuditText(w io.Writer, a *audit.Audit) {
	fmt.Fprintf(w, "version:  %s\n", a.URI)
	fmt.Fprintf(w, "dataset:  %s %s", a.Dataset, a.Version)
	if a.Parent != "" {
		fmt.Fprintf(w, " (from %s)", a.Parent)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "policy:   %s\n", cmp.Or(a.Policy, "(none recorded)"))
	if len(a.Policies) > 1 {
		for _, p := range slices.Sorted(maps.Keys(a.Policies)) {
			fmt.Fprintf(w, "          %s: %d trajectories\n", cmp.Or(p, "(none)"), a.Policies[p])
		}
	}

	fmt.Fprintf(w, "\nfunnel\n")
	width := 0
	for _, s := range a.Funnel {
		width = max(width, len(s.Name))
	}
	var prev int64 = -1
	for i, s := range a.Funnel {
		line := fmt.Sprintf("  %-*s %8d", width, s.Name, s.Count)
		if i > 0 && prev > 0 && a.Funnel[0].Count > 0 {
			line += fmt.Sprintf("  %6.1f%%", 100*float64(s.Count)/float64(a.Funnel[0].Count))
			if d := prev - s.Count; d > 0 {
				line += fmt.Sprintf("  -%d", d)
			}
		}
		fmt.Fprintln(w, line)
		prev = s.Count
	}

	fmt.Fprintf(w, "\nrejected: %d\n", a.Counts.Rejected)
	if len(a.RejectedByJudge) > 0 {
		fmt.Fprintf(w, "  by judge (a trajectory may name several; only = rejected by that judge alone)\n")
		for _, j := range a.RejectedByJudge {
			fmt.Fprintf(w, "    %-*s %8d  only %d\n", width, j.Judge, j.Rejected, j.Only)
		}
	}
	if len(a.Categories) > 0 {
		fmt.Fprintf(w, "  by category       accepted rejected  rejected%%\n")
		for _, name := range audit.CategoryOrder(a.Categories) {
			c := a.Categories[name]
			acc, rej := c[schema.StatusAccepted], c[schema.StatusRejected]
			share := 0.0
			if n := acc + rej; n > 0 {
				share = 100 * float64(rej) / float64(n)
			}
			fmt.Fprintf(w, "    %-15s %8d %8d  %8.1f%%\n", name, acc, rej, share)
		}
	}
	fmt.Fprintf(w, "failed: %d\n", a.Counts.Failed)
	for _, st := range slices.Sorted(maps.Keys(a.FailedByStage)) {
		fmt.Fprintf(w, "  %-10s %8d\n", cmp.Or(st, "(none)"), a.FailedByStage[st])
	}

	fmt.Fprintf(w, "\nscores\n")
	if len(a.Critique) > 0 {
		fmt.Fprintf(w, "  critique score histogram\n")
		for _, bin := range slices.Sorted(maps.Keys(a.Critique)) {
			fmt.Fprintf(w, "    %-8s %8d\n", bin, a.Critique[bin])
		}
	}
	fmt.Fprintf(w, "  %-*s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n", width+2, "quantiles", "n", "mean", "min", "p10", "p25", "p50", "p75", "p90", "max")
	q := func(name string, x audit.Quantiles) {
		fmt.Fprintf(w, "  %-*s %6d %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f\n", width+2, name, x.N, x.Mean, x.Min, x.P10, x.P25, x.P50, x.P75, x.P90, x.Max)
	}
	q("overall", a.Overall)
	q("  accepted", a.OverallAccepted)
	q("  rejected", a.OverallRejected)
	for _, j := range a.Judges {
		q(j.Judge, j.Scores)
	}

	rp := a.Repaints
	fmt.Fprintf(w, "\nrepaints\n")
	fmt.Fprintf(w, "  regions repainted: %d of %d (%.1f%%)\n", rp.RepaintedRegions, rp.Regions, 100*rp.Share)
	fmt.Fprintf(w, "  attempts: %d", rp.Attempts)
	for _, d := range slices.Sorted(maps.Keys(rp.Decisions)) {
		fmt.Fprintf(w, ", %s %d", cmp.Or(d, "(none)"), rp.Decisions[d])
	}
	fmt.Fprintln(w)
	if rp.Critiqued > 0 {
		fmt.Fprintf(w, "  critiqued repaints: %d of %d: improved %d, same %d, worse %d; score change mean %+.1f, median %+.0f, min %+.0f, max %+.0f\n",
			rp.Critiqued, rp.Repaints, rp.Improved, rp.Same, rp.Worse, rp.Delta.Mean, rp.Delta.P50, rp.Delta.Min, rp.Delta.Max)
	} else {
		fmt.Fprintf(w, "  critiqued repaints: none of %d (repaints are not critiqued again), so no improvement to measure\n", rp.Repaints)
	}
}
