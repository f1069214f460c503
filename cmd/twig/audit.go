package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/twigdata/twig/internal/redact"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/report"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

const auditHelp = `Usage: twig audit URI [--html DIR] [--json]

Reads a committed dataset version (a local path or file:// URL of the
version folder, e.g. ./out/twig-sim/v1, or s3://bucket/prefix?region=...,
or gs://bucket/prefix) and prints its statistics:

  - the filter funnel: seeded -> generated (seeded - failed) -> left after
    each judge (the trajectories whose verdict names neither that judge nor
    an earlier one, judges in the order they first appear in the rows) ->
    accepted;
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

// auditRow is the part of a trajectory audit reads: no image, no token,
// no text but the verdict's reasons.
type auditRow struct {
	ID       string               `parquet:"id"`
	Category string               `parquet:"category"`
	Regions  []auditRegion        `parquet:"regions,list"`
	Judges   []schema.JudgeResult `parquet:"judges,list"`
	Verdict  schema.Verdict       `parquet:"verdict"`
}

type auditRegion struct {
	Index    int32          `parquet:"index"`
	Attempts []auditAttempt `parquet:"attempts,list"`
}

type auditAttempt struct {
	Critiqued bool `parquet:"critiqued"`
	Critique  struct {
		Score *int32 `parquet:"score,optional"`
		Parse string `parquet:"parse"`
	} `parquet:"critique"`
	Decision string `parquet:"decision"`
}

// failedRow is the part of a failed row audit and diff read.
type failedRow struct {
	ID    string `parquet:"id"`
	Stage string `parquet:"stage"`
	Error string `parquet:"error"`
}

// scanRows streams the projected rows of one shard of the version at the
// root of b.
func scanRows[T any](ctx context.Context, b *blob.Bucket, path string, f func(row *T)) error {
	_, err := exporters.ScanShard(ctx, b, "", path, func(_ int64, row *T) { f(row) })
	return err
}

// scanConfigs calls scanRows on every shard of the configs, in manifest order.
func scanConfigs[T any](ctx context.Context, b *blob.Bucket, m *exporters.Manifest, configs []string, f func(row *T)) error {
	for _, config := range configs {
		for _, s := range m.Shards[config] {
			if err := scanRows(ctx, b, s.Path, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedByCount returns the keys of m, largest count first, then by name.
func sortedByCount(m map[string]int64) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(x, y string) int {
		return cmp.Or(cmp.Compare(m[y], m[x]), strings.Compare(x, y))
	})
	return keys
}

// Audit is what twig audit reports on a version; --json prints it.
type Audit struct {
	URI     string `json:"uri"`
	Dataset string `json:"dataset"`
	Version string `json:"version"`
	Parent  string `json:"parent,omitempty"`
	// Policy describes the configured policy ("default@1 require=...");
	// Policies counts the trajectories by the verdict's policy name@version.
	Policy   string           `json:"policy"`
	Policies map[string]int64 `json:"policies"`
	Counts   exporters.Counts `json:"counts"`
	// Funnel is seeded, generated, one step per judge, accepted.
	Funnel []FunnelStep `json:"funnel"`
	// RejectedByJudge counts, per judge in funnel order, the rejected
	// trajectories whose verdict names it, and Only those it alone rejected.
	RejectedByJudge []JudgeRejections `json:"rejected_by_judge"`
	// Categories counts the trajectories by category and verdict status.
	Categories    map[string]map[string]int64 `json:"categories"`
	FailedByStage map[string]int64            `json:"failed_by_stage"`
	// Critique is the manifest's histogram of critique scores, by bin.
	Critique map[string]int64 `json:"critique_scores"`
	// Overall holds quantiles of the verdicts' overall score, over all
	// trajectories and by status.
	Overall         Quantiles `json:"overall"`
	OverallAccepted Quantiles `json:"overall_accepted"`
	OverallRejected Quantiles `json:"overall_rejected"`
	// Judges holds each judge's score quantiles and own pass count, in
	// funnel order.
	Judges   []JudgeScores `json:"judges"`
	Repaints RepaintStats  `json:"repaints"`
}

// FunnelStep is one step of the filter funnel: the samples left after it.
type FunnelStep struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// JudgeRejections are one judge's rejections.
type JudgeRejections struct {
	Judge    string `json:"judge"`
	Rejected int64  `json:"rejected"`
	Only     int64  `json:"only"`
}

// JudgeScores is one judge's score distribution.
type JudgeScores struct {
	Judge string `json:"judge"`
	// Pass counts the results the judge itself passed (before the policy).
	Pass   int64     `json:"pass"`
	Scores Quantiles `json:"scores"`
}

// Quantiles summarise a sample of scores (nearest rank).
type Quantiles struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	P10  float64 `json:"p10"`
	P25  float64 `json:"p25"`
	P50  float64 `json:"p50"`
	P75  float64 `json:"p75"`
	P90  float64 `json:"p90"`
	Max  float64 `json:"max"`
}

// quantiles sorts xs and returns its quantiles; NaNs are left out.
func quantiles(xs []float64) Quantiles {
	xs = slices.DeleteFunc(xs, math.IsNaN)
	if len(xs) == 0 {
		return Quantiles{}
	}
	slices.Sort(xs)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return Quantiles{
		N: len(xs), Mean: sum / float64(len(xs)),
		Min: xs[0], P10: at(0.10), P25: at(0.25), P50: at(0.50), P75: at(0.75), P90: at(0.90), Max: xs[len(xs)-1],
	}
}

// RepaintStats are the repaint statistics.
type RepaintStats struct {
	Regions          int64   `json:"regions"`
	RepaintedRegions int64   `json:"repainted_regions"`
	Share            float64 `json:"share"`
	// Attempts counts attempts; Decisions counts them by decision.
	Attempts  int64            `json:"attempts"`
	Decisions map[string]int64 `json:"decisions"`
	// Repaints counts the attempts after the first; Critiqued those whose
	// critique and the previous attempt's both parsed, and of them
	// Improved, Same and Worse by score; Delta is their score changes.
	Repaints  int64     `json:"repaints"`
	Critiqued int64     `json:"critiqued"`
	Improved  int64     `json:"improved"`
	Same      int64     `json:"same"`
	Worse     int64     `json:"worse"`
	Delta     Quantiles `json:"delta"`
}

// auditor accumulates an Audit as rows stream past.
type auditor struct {
	a          Audit
	judges     []string // funnel order
	judgeIdx   map[string]int
	judgeScore map[string][]float64
	judgePass  map[string]int64
	rejected   map[string]*JudgeRejections
	accepted   int64
	// reasonSets holds, per trajectory, the indexes of the judges its
	// verdict names; the funnel needs the final judge order.
	reasonSets [][]int
	verdict    [3][]float64 // all, accepted, rejected
	deltas     []float64
}

func newAuditor() *auditor {
	return &auditor{
		judgeIdx:   map[string]int{},
		judgeScore: map[string][]float64{},
		judgePass:  map[string]int64{},
		rejected:   map[string]*JudgeRejections{},
		a: Audit{
			Policies:      map[string]int64{},
			Categories:    map[string]map[string]int64{},
			FailedByStage: map[string]int64{},
			Repaints:      RepaintStats{Decisions: map[string]int64{}},
		},
	}
}

func (au *auditor) judge(name string) int {
	if i, ok := au.judgeIdx[name]; ok {
		return i
	}
	name = strings.Clone(name)
	au.judgeIdx[name] = len(au.judges)
	au.judges = append(au.judges, name)
	return au.judgeIdx[name]
}

// reasonJudge returns the judge a verdict reason names ("vlm: score ...").
func reasonJudge(r string) string {
	name, _, _ := strings.Cut(r, ":")
	return strings.TrimSpace(name)
}

func (au *auditor) add(t *auditRow) {
	a := &au.a
	au.a.Policies[strings.Clone(t.Verdict.Policy)]++
	for _, j := range t.Judges {
		au.judge(j.Name)
		au.judgeScore[j.Name] = append(au.judgeScore[j.Name], j.Score)
		if j.Pass {
			au.judgePass[j.Name]++
		}
	}
	var set []int
	for _, r := range t.Verdict.Reasons {
		k := au.judge(reasonJudge(r))
		if !slices.Contains(set, k) {
			set = append(set, k)
		}
	}
	au.reasonSets = append(au.reasonSets, set)
	c := a.Categories[t.Category]
	if c == nil {
		c = map[string]int64{}
		a.Categories[strings.Clone(t.Category)] = c
	}
	c[strings.Clone(t.Verdict.Status)]++
	au.verdict[0] = append(au.verdict[0], t.Verdict.Score)
	switch t.Verdict.Status {
	case schema.StatusAccepted:
		au.accepted++
		au.verdict[1] = append(au.verdict[1], t.Verdict.Score)
	case schema.StatusRejected:
		au.verdict[2] = append(au.verdict[2], t.Verdict.Score)
		for _, k := range set {
			name := au.judges[k]
			jr := au.rejected[name]
			if jr == nil {
				jr = &JudgeRejections{Judge: name}
				au.rejected[name] = jr
			}
			jr.Rejected++
			if len(set) == 1 {
				jr.Only++
			}
		}
	}
	rp := &a.Repaints
	for _, r := range t.Regions {
		rp.Regions++
		if len(r.Attempts) > 1 {
			rp.RepaintedRegions++
		}
		for i, at := range r.Attempts {
			rp.Attempts++
			rp.Decisions[strings.Clone(at.Decision)]++
			if i == 0 {
				continue
			}
			rp.Repaints++
			prev := r.Attempts[i-1]
			if !parsedScore(prev) || !parsedScore(at) {
				continue
			}
			rp.Critiqued++
			d := *at.Critique.Score - *prev.Critique.Score
			switch {
			case d > 0:
				rp.Improved++
			case d == 0:
				rp.Same++
			default:
				rp.Worse++
			}
			au.deltas = append(au.deltas, float64(d))
		}
	}
}

// parsedScore reports whether an attempt has a parsed critique score, as
// the improvement judge requires.
func parsedScore(a auditAttempt) bool {
	return a.Critiqued && a.Critique.Parse == schema.ParseOK && a.Critique.Score != nil
}

// finish computes the funnel and the summaries.
func (au *auditor) finish(m *exporters.Manifest) {
	a := &au.a
	a.Funnel = []FunnelStep{
		{"seeded", m.Counts.Seeded},
		{"generated", int64(len(au.reasonSets))},
	}
	fellAt := make([]int64, len(au.judges))
	for _, set := range au.reasonSets {
		if len(set) > 0 {
			fellAt[slices.Min(set)]++
		}
	}
	left := int64(len(au.reasonSets))
	for k, name := range au.judges {
		left -= fellAt[k]
		a.Funnel = append(a.Funnel, FunnelStep{name, left})
	}
	a.Funnel = append(a.Funnel, FunnelStep{"accepted", au.accepted})
	for _, name := range au.judges {
		if jr := au.rejected[name]; jr != nil {
			a.RejectedByJudge = append(a.RejectedByJudge, *jr)
		}
		a.Judges = append(a.Judges, JudgeScores{Judge: name, Pass: au.judgePass[name], Scores: quantiles(au.judgeScore[name])})
	}
	a.Critique = m.Stats.Scores
	if a.Critique == nil {
		a.Critique = map[string]int64{}
	}
	a.Overall = quantiles(au.verdict[0])
	a.OverallAccepted = quantiles(au.verdict[1])
	a.OverallRejected = quantiles(au.verdict[2])
	if a.Repaints.Regions > 0 {
		a.Repaints.Share = float64(a.Repaints.RepaintedRegions) / float64(a.Repaints.Regions)
	}
	a.Repaints.Delta = quantiles(au.deltas)
}

// categoryOrder returns the categories: schema.Categories' order first,
// then any others by name.
func categoryOrder(m map[string]map[string]int64) []string {
	var out []string
	for _, name := range schema.Categories {
		if _, ok := m[name]; ok {
			out = append(out, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(schema.Categories, name) {
			out = append(out, name)
		}
	}
	return out
}

// configPolicy returns the short form of the policy in a manifest's
// config, "" when it has none.
func configPolicy(m *exporters.Manifest) string {
	var c struct {
		Policy *filters.Policy `json:"policy"`
	}
	if json.Unmarshal(m.Config, &c) != nil || c.Policy == nil || c.Policy.Name == "" {
		return ""
	}
	return c.Policy.String()
}

// readAudit reads the version at uri and computes its Audit.
func readAudit(ctx context.Context, uri string) (*Audit, error) {
	where := redactLocation(uri)
	b, err := openBucket(ctx, uri, false)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", where, err)
	}
	defer b.Close()
	m, err := exporters.ReadManifest(ctx, b, "")
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", where, err)
	}
	au := newAuditor()
	err = scanConfigs(ctx, b, m, []string{exporters.ConfigTrajectories, exporters.ConfigRejected}, au.add)
	if err == nil {
		err = scanConfigs(ctx, b, m, []string{exporters.ConfigFailed}, func(f *failedRow) {
			au.a.FailedByStage[strings.Clone(f.Stage)]++
		})
	}
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", where, err)
	}
	au.finish(m)
	a := &au.a
	a.URI, a.Dataset, a.Version, a.Parent, a.Counts = where, m.Dataset, m.Version, m.Parent, m.Counts
	a.Policy = configPolicy(m)
	if a.Policy == "" && len(a.Policies) == 1 {
		for p := range a.Policies {
			a.Policy = p
		}
	}
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
func writeAuditText(w io.Writer, a *Audit) {
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
		if i > 0 && prev > 0 {
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
		for _, name := range categoryOrder(a.Categories) {
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
	q := func(name string, x Quantiles) {
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
