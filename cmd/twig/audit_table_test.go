package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// unvalidated is schema.Trajectory without its Validate method: the same
// Parquet columns, so that rows built by hand with only the fields audit
// and diff read can be written as shards of the real row schema (a valid
// trajectory needs tokens, images and a schedule that these tests do not
// care about).
type unvalidated schema.Trajectory

// handRow is a trajectory built by hand: what audit and diff read.
type handRow struct {
	id, category, status string
	score                float64
	policy               string
	judges               []schema.JudgeResult
	reasons              []string
	regions              [][]schema.Attempt
}

func (r handRow) trajectory() schema.Trajectory {
	t := schema.Trajectory{
		SchemaVersion: schema.Version, ID: r.id, Category: r.category,
		Judges:  r.judges,
		Verdict: schema.Verdict{Status: r.status, Reasons: r.reasons, Score: r.score, Policy: cmp.Or(r.policy, "default@1")},
	}
	for i, atts := range r.regions {
		t.Regions = append(t.Regions, schema.Region{Index: int32(i), Attempts: atts})
	}
	return t
}

// judge is a judge's result.
func judge(name string, score float64, pass bool) schema.JudgeResult {
	return schema.JudgeResult{Name: name, Version: "1", Score: score, Pass: pass}
}

// critiqued is an attempt with a parsed critique score; a negative score
// is a critique that could not be read.
func critiqued(decision string, score int32) schema.Attempt {
	a := schema.Attempt{Critiqued: true, Decision: decision}
	if score < 0 {
		a.Critique.Parse = schema.ParseMissingScore
		return a
	}
	a.Critique.Parse = schema.ParseOK
	a.Critique.Score = &score
	return a
}

// notCritiqued is an attempt without a critique.
func notCritiqued() schema.Attempt {
	return schema.Attempt{Decision: schema.DecisionNotCritiqued}
}

// writeHandVersion writes a committed version into dir: the accepted rows
// as the trajectories config, the rejected ones as the rejected config,
// the failures as the failed config, and a manifest listing them, with
// seeded = rows + failures and the given critique score histogram.
func writeHandVersion(t *testing.T, dir string, rows []handRow, failed []schema.Failure, scores map[string]int64) {
	t.Helper()
	ctx := context.Background()
	b, err := openBucket(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := &exporters.Manifest{
		SchemaVersion: schema.Version, Dataset: "hand", Version: "v1", Created: "2026-01-01T00:00:00Z",
		Shards: map[string][]exporters.ShardInfo{}, Stats: exporters.Stats{Scores: scores},
	}
	byStatus := map[string][]unvalidated{}
	for _, r := range rows {
		byStatus[r.status] = append(byStatus[r.status], unvalidated(r.trajectory()))
	}
	for _, c := range []struct{ status, config string }{
		{schema.StatusAccepted, exporters.ConfigTrajectories},
		{schema.StatusRejected, exporters.ConfigRejected},
	} {
		rs := byStatus[c.status]
		if len(rs) == 0 {
			continue
		}
		slices.SortFunc(rs, func(x, y unvalidated) int { return strings.Compare(x.ID, y.ID) })
		info, err := exporters.WriteShard(ctx, b, "", c.config+"/00000.parquet", rs, exporters.ShardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Shards[c.config] = []exporters.ShardInfo{info}
	}
	if len(failed) > 0 {
		info, err := exporters.WriteShard(ctx, b, "", "failed/00000.parquet", failed, exporters.ShardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Shards[exporters.ConfigFailed] = []exporters.ShardInfo{info}
	}
	m.Counts = exporters.Counts{
		Accepted: int64(len(byStatus[schema.StatusAccepted])), Rejected: int64(len(byStatus[schema.StatusRejected])),
		Failed: int64(len(failed)),
	}
	m.Counts.Seeded = m.Counts.Accepted + m.Counts.Rejected + m.Counts.Failed
	if err := exporters.WriteManifest(ctx, b, "", m); err != nil {
		t.Fatal(err)
	}
}

// asJSON renders v for failure messages.
func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestQuantiles(t *testing.T) {
	for _, tt := range []struct {
		name string
		xs   []float64
		want Quantiles
	}{
		{"empty", nil, Quantiles{}},
		{"one", []float64{0.5}, Quantiles{N: 1, Mean: 0.5, Min: 0.5, P10: 0.5, P25: 0.5, P50: 0.5, P75: 0.5, P90: 0.5, Max: 0.5}},
		// Nearest rank: the value at ceil(p*n) in sorted order.
		{"four", []float64{4, 1, 3, 2}, Quantiles{N: 4, Mean: 2.5, Min: 1, P10: 1, P25: 1, P50: 2, P75: 3, P90: 4, Max: 4}},
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Quantiles{N: 10, Mean: 5.5, Min: 1, P10: 1, P25: 3, P50: 5, P75: 8, P90: 9, Max: 10}},
		{"NaN left out", []float64{nan(), 2, nan(), 0}, Quantiles{N: 2, Mean: 1, Min: 0, P10: 0, P25: 0, P50: 0, P75: 2, P90: 2, Max: 2}},
		{"only NaN", []float64{nan()}, Quantiles{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantiles(tt.xs); got != tt.want {
				t.Errorf("quantiles(%v) = %+v, want %+v", tt.xs, got, tt.want)
			}
		})
	}
}

func nan() float64 { var zero float64; return zero / zero }

// TestAuditTable audits versions written from rows built by hand and
// checks the whole computed Audit: the funnel (judges in the order they
// first appear, each trajectory leaving at the first judge its verdict
// names), the rejections by judge (and by that judge alone), categories,
// failures by stage, score quantiles, policies and repaint statistics.
func TestAuditTable(t *testing.T) {
	const (
		tf, cov, vlm = "thought_format", "coverage", "vlm"
		acc, rej     = schema.StatusAccepted, schema.StatusRejected
	)
	one := [][]schema.Attempt{{critiqued(schema.DecisionAccept, 95)}}
	tests := []struct {
		name   string
		rows   []handRow
		failed []schema.Failure
		scores map[string]int64
		want   func(a *Audit) // fills in the expected fields
	}{
		{
			name: "funnel and rejections",
			rows: []handRow{
				{id: "a1", category: "colour", status: acc, score: 1, judges: []schema.JudgeResult{judge(tf, 1, true), judge(cov, 1, true), judge(vlm, 0.75, true)}, regions: one},
				{id: "a2", category: "shape", status: acc, score: 0.75, judges: []schema.JudgeResult{judge(tf, 1, true), judge(cov, 0.75, true), judge(vlm, 0.75, true)}, regions: one},
				// two judges: leaves the funnel at coverage, the earlier one
				{id: "r1", category: "colour", status: rej, score: 0.5, judges: []schema.JudgeResult{judge(tf, 1, true), judge(cov, 0.5, false), judge(vlm, 0.25, false)},
					reasons: []string{"coverage: no apple", "vlm: score 0.25 below 0.5"}, regions: one},
				{id: "r2", category: "colour", status: rej, score: 0.25, judges: []schema.JudgeResult{judge(tf, 0, false), judge(cov, 1, true), judge(vlm, 0.75, true)},
					reasons: []string{"thought_format: starts with a label"}, regions: one},
				// one judge named twice counts once
				{id: "r3", category: "spatial", status: rej, score: 0.125, judges: []schema.JudgeResult{judge(tf, 1, true), judge(cov, 1, true), judge(vlm, 0.25, false)},
					reasons: []string{"vlm: score 0.25 below 0.5", "vlm: wrong side"}, regions: one},
				// a reason naming no judge result ("overall") is a funnel step after the judges
				{id: "r4", category: "spatial", status: rej, score: 0.375, judges: []schema.JudgeResult{judge(tf, 1, true), judge(cov, 1, true), judge(vlm, 0.5, true)},
					reasons: []string{"overall: 0.375 below 0.5"}, regions: one},
			},
			failed: []schema.Failure{
				{ID: "f1", Stage: "generate", Error: "boom"},
				{ID: "f2", Stage: "judge", Error: "timeout"},
				{ID: "f3", Stage: "generate", Error: "boom"},
				{Stage: "seed", Error: "empty prompt"},
			},
			scores: map[string]int64{"90-100": 6},
			want: func(a *Audit) {
				a.Policy = "default@1"
				a.Policies = map[string]int64{"default@1": 6}
				a.Counts = exporters.Counts{Seeded: 10, Accepted: 2, Rejected: 4, Failed: 4}
				a.Funnel = []FunnelStep{{"seeded", 10}, {"generated", 6}, {tf, 5}, {cov, 4}, {vlm, 3}, {"overall", 2}, {"accepted", 2}}
				a.RejectedByJudge = []JudgeRejections{{tf, 1, 1}, {cov, 1, 0}, {vlm, 2, 1}, {"overall", 1, 1}}
				a.Categories = map[string]map[string]int64{"colour": {acc: 1, rej: 2}, "shape": {acc: 1}, "spatial": {rej: 2}}
				a.FailedByStage = map[string]int64{"generate": 2, "judge": 1, "seed": 1}
				a.Critique = map[string]int64{"90-100": 6}
				a.Overall = Quantiles{N: 6, Mean: 0.5, Min: 0.125, P10: 0.125, P25: 0.25, P50: 0.375, P75: 0.75, P90: 1, Max: 1}
				a.OverallAccepted = Quantiles{N: 2, Mean: 0.875, Min: 0.75, P10: 0.75, P25: 0.75, P50: 0.75, P75: 1, P90: 1, Max: 1}
				a.OverallRejected = Quantiles{N: 4, Mean: 0.3125, Min: 0.125, P10: 0.125, P25: 0.125, P50: 0.25, P75: 0.375, P90: 0.5, Max: 0.5}
				a.Judges = []JudgeScores{
					{tf, 5, Quantiles{N: 6, Mean: 5.0 / 6, Min: 0, P10: 0, P25: 1, P50: 1, P75: 1, P90: 1, Max: 1}},
					{cov, 5, Quantiles{N: 6, Mean: 0.875, Min: 0.5, P10: 0.5, P25: 0.75, P50: 1, P75: 1, P90: 1, Max: 1}},
					{vlm, 4, Quantiles{N: 6, Mean: 3.25 / 6, Min: 0.25, P10: 0.25, P25: 0.25, P50: 0.5, P75: 0.75, P90: 0.75, Max: 0.75}},
					{"overall", 0, Quantiles{}},
				}
				a.Repaints = RepaintStats{Regions: 6, Attempts: 6, Decisions: map[string]int64{schema.DecisionAccept: 6}}
			},
		},
		{
			name: "repaints and policies",
			rows: []handRow{
				{id: "t1", category: "texture", status: acc, score: 1, judges: []schema.JudgeResult{judge(vlm, 1, true)}, regions: [][]schema.Attempt{
					{critiqued(schema.DecisionAccept, 95)},
					{critiqued(schema.DecisionRepaint, 60), critiqued(schema.DecisionAccept, 92)}, // +32
				}},
				{id: "t2", category: "texture", status: rej, score: 0.5, policy: "strict@2", judges: []schema.JudgeResult{judge(vlm, 0.5, false)},
					reasons: []string{"vlm: score 0.50 below 0.97"}, regions: [][]schema.Attempt{
						{critiqued(schema.DecisionRepaint, 70), notCritiqued()},                                                                 // repaint not critiqued
						{critiqued(schema.DecisionParseFailed, -1), critiqued(schema.DecisionKeepLimit, 50)},                                    // previous unparsed
						{critiqued(schema.DecisionRepaint, 80), critiqued(schema.DecisionRepaint, 80), critiqued(schema.DecisionKeepLimit, 70)}, // 0, then -10
					}},
			},
			want: func(a *Audit) {
				a.Policy = "" // two policies, none in the config
				a.Policies = map[string]int64{"default@1": 1, "strict@2": 1}
				a.Counts = exporters.Counts{Seeded: 2, Accepted: 1, Rejected: 1}
				a.Funnel = []FunnelStep{{"seeded", 2}, {"generated", 2}, {vlm, 1}, {"accepted", 1}}
				a.RejectedByJudge = []JudgeRejections{{vlm, 1, 1}}
				a.Categories = map[string]map[string]int64{"texture": {acc: 1, rej: 1}}
				a.FailedByStage = map[string]int64{}
				a.Critique = map[string]int64{}
				a.Overall = Quantiles{N: 2, Mean: 0.75, Min: 0.5, P10: 0.5, P25: 0.5, P50: 0.5, P75: 1, P90: 1, Max: 1}
				a.OverallAccepted = Quantiles{N: 1, Mean: 1, Min: 1, P10: 1, P25: 1, P50: 1, P75: 1, P90: 1, Max: 1}
				a.OverallRejected = Quantiles{N: 1, Mean: 0.5, Min: 0.5, P10: 0.5, P25: 0.5, P50: 0.5, P75: 0.5, P90: 0.5, Max: 0.5}
				a.Judges = []JudgeScores{{vlm, 1, Quantiles{N: 2, Mean: 0.75, Min: 0.5, P10: 0.5, P25: 0.5, P50: 0.5, P75: 1, P90: 1, Max: 1}}}
				a.Repaints = RepaintStats{
					Regions: 5, RepaintedRegions: 4, Share: 0.8, Attempts: 10,
					Decisions: map[string]int64{
						schema.DecisionAccept: 2, schema.DecisionRepaint: 4, schema.DecisionNotCritiqued: 1,
						schema.DecisionParseFailed: 1, schema.DecisionKeepLimit: 2,
					},
					Repaints: 5, Critiqued: 3, Improved: 1, Same: 1, Worse: 1,
					Delta: Quantiles{N: 3, Mean: 22.0 / 3, Min: -10, P10: -10, P25: -10, P50: 0, P75: 32, P90: 32, Max: 32},
				}
			},
		},
		{
			name:   "nothing generated",
			failed: []schema.Failure{{ID: "f1", Stage: "generate", Error: "boom"}, {Stage: "seed", Error: "bad line"}},
			want: func(a *Audit) {
				a.Policies = map[string]int64{}
				a.Counts = exporters.Counts{Seeded: 2, Failed: 2}
				a.Funnel = []FunnelStep{{"seeded", 2}, {"generated", 0}, {"accepted", 0}}
				a.Categories = map[string]map[string]int64{}
				a.FailedByStage = map[string]int64{"generate": 1, "seed": 1}
				a.Critique = map[string]int64{}
				a.Repaints = RepaintStats{Decisions: map[string]int64{}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "v1")
			writeHandVersion(t, dir, tt.rows, tt.failed, tt.scores)
			got, err := readAudit(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			want := &Audit{URI: redactLocation(dir), Dataset: "hand", Version: "v1"}
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("audit:\n%s\nwant:\n%s", asJSON(got), asJSON(want))
			}
			// The JSON form is the same Audit.
			var out bytes.Buffer
			if err := runAudit(context.Background(), dir, "", true, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != asJSON(want)+"\n" {
				t.Errorf("audit --json:\n%s\nwant:\n%s", out.String(), asJSON(want))
			}
		})
	}
}

// TestDiffTable diffs versions written from rows built by hand and checks
// the added, removed and changed lists, the unchanged count, and the
// transitions and the judges behind them.
func TestDiffTable(t *testing.T) {
	const acc, rej = schema.StatusAccepted, schema.StatusRejected
	row := func(id, status string, reasons ...string) handRow {
		return handRow{id: id, category: "colour", status: status, reasons: reasons}
	}
	noID := schema.Failure{Stage: "seed", Error: "bad line"} // no sample: never in a diff
	tests := []struct {
		name       string
		a, b       []handRow
		fa, fb     []schema.Failure
		added      []string
		removed    []string
		changed    []Change
		unchanged  int64
		transition map[string]int64
		because    map[string]int64
	}{
		{
			name: "added removed changed",
			a: []handRow{
				row("s1", acc), row("s2", acc), row("s3", rej, "vlm: low"), row("s4", acc),
				row("s6", rej, "coverage: no apple"), row("s9", rej, "vlm: low"),
			},
			fa: []schema.Failure{{ID: "s5", Stage: "generate", Error: "boom"}, noID},
			b: []handRow{
				row("s1", acc),
				row("s2", rej, "vlm: score 0.40 below 0.97", "coverage: no train"),
				row("s3", acc), row("s5", acc),
				row("s6", rej, "coverage: no pear", "vlm: low"), // same status, other reasons: unchanged
				row("s7", acc),
			},
			fb:      []schema.Failure{{ID: "s8", Stage: "generate", Error: "boom"}, {ID: "s9", Stage: "judge", Error: "timeout"}, noID},
			added:   []string{"s7", "s8"},
			removed: []string{"s4"},
			changed: []Change{
				{ID: "s2", From: acc, To: rej, ReasonsTo: []string{"vlm: score 0.40 below 0.97", "coverage: no train"}},
				{ID: "s3", From: rej, To: acc, ReasonsFrom: []string{"vlm: low"}},
				{ID: "s5", From: schema.StatusFailed, To: acc, ReasonsFrom: []string{"generate: boom"}},
				{ID: "s9", From: rej, To: schema.StatusFailed, ReasonsFrom: []string{"vlm: low"}, ReasonsTo: []string{"judge: timeout"}},
			},
			unchanged:  2,
			transition: map[string]int64{"accepted -> rejected": 1, "rejected -> accepted": 1, "failed -> accepted": 1, "rejected -> failed": 1},
			because:    map[string]int64{"vlm": 1, "coverage": 1, "no longer vlm": 1, "no longer generate": 1, "judge": 1},
		},
		{
			name: "same version",
			a:    []handRow{row("s1", acc), row("s2", rej, "vlm: low")},
			b:    []handRow{row("s1", acc), row("s2", rej, "vlm: low")},
			fa:   []schema.Failure{{ID: "s3", Stage: "judge", Error: "timeout"}},
			fb:   []schema.Failure{{ID: "s3", Stage: "judge", Error: "timeout"}},
			// all three unchanged, a failed one included
			unchanged:  3,
			transition: map[string]int64{},
			because:    map[string]int64{},
		},
		{
			name:       "no id in common",
			a:          []handRow{row("x1", acc), row("x2", rej, "vlm: low")},
			b:          []handRow{row("y1", acc)},
			added:      []string{"y1"},
			removed:    []string{"x1", "x2"},
			transition: map[string]int64{},
			because:    map[string]int64{},
		},
		{
			name: "rejected by another judge",
			a:    []handRow{row("s1", rej, "vlm: low")},
			b:    []handRow{row("s1", rej, "vlm: low", "coverage: no apple")},
			// the status is the same: not a change, whatever the reasons
			unchanged:  1,
			transition: map[string]int64{},
			because:    map[string]int64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
			writeHandVersion(t, a, tt.a, tt.fa, nil)
			writeHandVersion(t, b, tt.b, tt.fb, nil)
			var out bytes.Buffer
			if err := runDiff(context.Background(), a, b, true, 0, &out); err != nil {
				t.Fatal(err)
			}
			var d Diff
			if err := json.Unmarshal(out.Bytes(), &d); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if d.A != redactLocation(a) || d.B != redactLocation(b) {
				t.Errorf("diff of %s and %s names %s and %s", a, b, d.A, d.B)
			}
			if !slices.Equal(d.Added, tt.added) || !slices.Equal(d.Removed, tt.removed) {
				t.Errorf("added %v removed %v, want added %v removed %v", d.Added, d.Removed, tt.added, tt.removed)
			}
			if !slices.EqualFunc(d.Changed, tt.changed, func(x, y Change) bool {
				return x.ID == y.ID && x.From == y.From && x.To == y.To &&
					slices.Equal(x.ReasonsFrom, y.ReasonsFrom) && slices.Equal(x.ReasonsTo, y.ReasonsTo)
			}) {
				t.Errorf("changed:\n%s\nwant:\n%s", asJSON(d.Changed), asJSON(tt.changed))
			}
			if d.Unchanged != tt.unchanged {
				t.Errorf("unchanged %d, want %d", d.Unchanged, tt.unchanged)
			}
			if !reflect.DeepEqual(d.Transitions, tt.transition) || !reflect.DeepEqual(d.Because, tt.because) {
				t.Errorf("transitions %v because %v, want %v and %v", d.Transitions, d.Because, tt.transition, tt.because)
			}
		})
	}
}
