package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

const (
	acc, rej = schema.StatusAccepted, schema.StatusRejected
	tf, cov  = "thought_format", "coverage"
	vlm      = "vlm"
)

// handRow is a trajectory built by hand with only what the analysis reads.
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

// result is a judge's result.
func result(name string, score float64, pass bool) schema.JudgeResult {
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

func nan() float64 { return math.NaN() }

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
			in := slices.Clone(tt.xs)
			if got := quantiles(in); got != tt.want {
				t.Errorf("quantiles(%v) = %+v, want %+v", tt.xs, got, tt.want)
			}
			if !slices.EqualFunc(in, tt.xs, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }) {
				t.Errorf("quantiles changed its input: %v, was %v", in, tt.xs)
			}
		})
	}
}

// TestFunnel feeds hand-built trajectories to an Analyzer and checks the
// funnel, the rejections by judge and the judge order: judges in the order
// they first appear (results, then reasons), each rejected trajectory
// leaving at the first judge its verdict names, nothing else leaving.
func TestFunnel(t *testing.T) {
	row := func(status string, judges []string, reasons ...string) handRow {
		r := handRow{id: "x", category: "colour", status: status, reasons: reasons}
		for _, j := range judges {
			r.judges = append(r.judges, result(j, 1, status == acc))
		}
		return r
	}
	ab := []string{"a", "b"}
	tests := []struct {
		name     string
		rows     []handRow
		funnel   []FunnelStep
		rejected []JudgeRejections
		judges   []string
	}{
		{
			name:   "none rejected",
			rows:   []handRow{row(acc, ab), row(acc, ab)},
			funnel: []FunnelStep{{"seeded", 7}, {"generated", 2}, {"a", 2}, {"b", 2}, {"accepted", 2}},
			judges: ab,
		},
		{
			name:     "one per judge",
			rows:     []handRow{row(acc, ab), row(rej, ab, "a: x"), row(rej, ab, "b: y")},
			funnel:   []FunnelStep{{"seeded", 7}, {"generated", 3}, {"a", 2}, {"b", 1}, {"accepted", 1}},
			rejected: []JudgeRejections{{"a", 1, 1}, {"b", 1, 1}},
			judges:   ab,
		},
		{
			name:     "both named: leaves at the first in funnel order, not in reason order",
			rows:     []handRow{row(rej, ab, "b: y", "a: x"), row(acc, ab)},
			funnel:   []FunnelStep{{"seeded", 7}, {"generated", 2}, {"a", 1}, {"b", 1}, {"accepted", 1}},
			rejected: []JudgeRejections{{"a", 1, 0}, {"b", 1, 0}},
			judges:   ab,
		},
		{
			name:     "one judge named twice counts once",
			rows:     []handRow{row(rej, ab, "b: y", "b: z")},
			funnel:   []FunnelStep{{"seeded", 7}, {"generated", 1}, {"a", 1}, {"b", 0}, {"accepted", 0}},
			rejected: []JudgeRejections{{"b", 1, 1}},
			judges:   ab,
		},
		{
			name:     "a reason of a judge without results is a step after the judges before it",
			rows:     []handRow{row(rej, ab, "overall: score 0.37 < 0.50"), row(acc, ab)},
			funnel:   []FunnelStep{{"seeded", 7}, {"generated", 2}, {"a", 2}, {"b", 2}, {"overall", 1}, {"accepted", 1}},
			rejected: []JudgeRejections{{"overall", 1, 1}},
			judges:   []string{"a", "b", "overall"},
		},
		{
			name: "a judge first named by a reason comes before judges whose results appear later",
			rows: []handRow{row(rej, []string{"a"}, "policy: no result"), row(acc, ab)},
			funnel: []FunnelStep{{"seeded", 7}, {"generated", 2}, {"a", 2}, {"policy", 1}, {"b", 1},
				{"accepted", 1}},
			rejected: []JudgeRejections{{"policy", 1, 1}},
			judges:   []string{"a", "policy", "b"},
		},
		{
			// The policy writes no reason on an accepted verdict; one that
			// has some rejected nothing, so it stays to the end.
			name:   "reasons on an accepted verdict count nowhere",
			rows:   []handRow{row(acc, ab, "a: advisory", "c: advisory")},
			funnel: []FunnelStep{{"seeded", 7}, {"generated", 1}, {"a", 1}, {"b", 1}, {"accepted", 1}},
			judges: ab,
		},
		{
			// Neither accepted nor rejected: generated, never accepted.
			name:   "another status",
			rows:   []handRow{row(acc, ab), row("pending", ab)},
			funnel: []FunnelStep{{"seeded", 7}, {"generated", 2}, {"a", 2}, {"b", 2}, {"accepted", 1}},
			judges: ab,
		},
		{
			// The policy never writes one (schema.Validate refuses it): it
			// stays in the funnel until accepted.
			name:   "a rejected verdict without a reason",
			rows:   []handRow{row(rej, ab)},
			funnel: []FunnelStep{{"seeded", 7}, {"generated", 1}, {"a", 1}, {"b", 1}, {"accepted", 0}},
			judges: ab,
		},
		{
			name:   "nothing generated",
			funnel: []FunnelStep{{"seeded", 7}, {"generated", 0}, {"accepted", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an := NewAnalyzer()
			for _, r := range tt.rows {
				tr := r.trajectory()
				an.AddTrajectory(&tr)
			}
			m := &exporters.Manifest{Counts: exporters.Counts{Seeded: 7}}
			a := an.Audit(m)
			if again := an.Audit(m); !reflect.DeepEqual(again, a) {
				t.Errorf("a second Audit differs:\n%s\nwant:\n%s", asJSON(again), asJSON(a))
			}
			var judges []string
			for _, j := range a.Judges {
				judges = append(judges, j.Judge)
			}
			if !slices.Equal(a.Funnel, tt.funnel) || !slices.Equal(a.RejectedByJudge, tt.rejected) || !slices.Equal(judges, tt.judges) {
				t.Errorf("funnel %v, rejected %v, judges %v\nwant %v, %v, %v", a.Funnel, a.RejectedByJudge, judges, tt.funnel, tt.rejected, tt.judges)
			}
		})
	}
}

// unvalidated is schema.Trajectory without its Validate method: the same
// Parquet columns, so that rows built by hand with only the fields the
// analysis reads can be written as shards of the real row schema.
type unvalidated schema.Trajectory

// writeVersion writes a committed version to a memory bucket: the
// accepted rows as the trajectories config, the rejected ones as the
// rejected config, the failures as the failed config, and a manifest
// listing them, with seeded = rows + failures and the given critique score
// histogram.
func writeVersion(t *testing.T, rows []handRow, failed []schema.Failure, scores map[string]int64) *blob.Bucket {
	t.Helper()
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	m := &exporters.Manifest{
		SchemaVersion: schema.Version, Dataset: "hand", Version: "v1", Created: "2026-01-01T00:00:00Z",
		Shards: map[string][]exporters.ShardInfo{}, Stats: exporters.Stats{Scores: scores},
	}
	byStatus := map[string][]unvalidated{}
	for _, r := range rows {
		byStatus[r.status] = append(byStatus[r.status], unvalidated(r.trajectory()))
	}
	for _, c := range []struct{ status, config string }{
		{acc, exporters.ConfigTrajectories},
		{rej, exporters.ConfigRejected},
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
		Accepted: int64(len(byStatus[acc])), Rejected: int64(len(byStatus[rej])), Failed: int64(len(failed)),
	}
	m.Counts.Seeded = m.Counts.Accepted + m.Counts.Rejected + m.Counts.Failed
	if err := exporters.WriteManifest(ctx, b, "", m); err != nil {
		t.Fatal(err)
	}
	return b
}

// asJSON renders v for failure messages.
func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestRead writes versions from rows built by hand and checks the whole
// Audit that Read computes: the funnel, the rejections by judge (and by
// that judge alone), categories, failures by stage, score quantiles,
// policies and repaint statistics.
func TestRead(t *testing.T) {
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
				{id: "a1", category: "colour", status: acc, score: 1, judges: []schema.JudgeResult{result(tf, 1, true), result(cov, 1, true), result(vlm, 0.75, true)}, regions: one},
				{id: "a2", category: "shape", status: acc, score: 0.75, judges: []schema.JudgeResult{result(tf, 1, true), result(cov, 0.75, true), result(vlm, 0.75, true)}, regions: one},
				// two judges: leaves the funnel at coverage, the earlier one
				{id: "r1", category: "colour", status: rej, score: 0.5, judges: []schema.JudgeResult{result(tf, 1, true), result(cov, 0.5, false), result(vlm, 0.25, false)},
					reasons: []string{"coverage: no apple", "vlm: score 0.25 below 0.5"}, regions: one},
				{id: "r2", category: "colour", status: rej, score: 0.25, judges: []schema.JudgeResult{result(tf, 0, false), result(cov, 1, true), result(vlm, 0.75, true)},
					reasons: []string{"thought_format: starts with a label"}, regions: one},
				// one judge named twice counts once
				{id: "r3", category: "spatial", status: rej, score: 0.125, judges: []schema.JudgeResult{result(tf, 1, true), result(cov, 1, true), result(vlm, 0.25, false)},
					reasons: []string{"vlm: score 0.25 below 0.5", "vlm: wrong side"}, regions: one},
				// a reason naming no judge result ("overall") is a funnel step after the judges
				{id: "r4", category: "spatial", status: rej, score: 0.375, judges: []schema.JudgeResult{result(tf, 1, true), result(cov, 1, true), result(vlm, 0.5, true)},
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
				v1 := []string{"1"}
				a.Judges = []JudgeScores{
					{tf, 5, Quantiles{N: 6, Mean: 5.0 / 6, Min: 0, P10: 0, P25: 1, P50: 1, P75: 1, P90: 1, Max: 1}, 6, v1},
					{cov, 5, Quantiles{N: 6, Mean: 0.875, Min: 0.5, P10: 0.5, P25: 0.75, P50: 1, P75: 1, P90: 1, Max: 1}, 6, v1},
					{vlm, 4, Quantiles{N: 6, Mean: 3.25 / 6, Min: 0.25, P10: 0.25, P25: 0.25, P50: 0.5, P75: 0.75, P90: 0.75, Max: 0.75}, 6, v1},
					{"overall", 0, Quantiles{}, 0, nil},
				}
				a.Repaints = RepaintStats{Regions: 6, Attempts: 6, Decisions: map[string]int64{schema.DecisionAccept: 6}}
			},
		},
		{
			name: "repaints and policies",
			rows: []handRow{
				{id: "t1", category: "texture", status: acc, score: 1, judges: []schema.JudgeResult{result(vlm, 1, true)}, regions: [][]schema.Attempt{
					{critiqued(schema.DecisionAccept, 95)},
					{critiqued(schema.DecisionRepaint, 60), critiqued(schema.DecisionAccept, 92)}, // +32
				}},
				{id: "t2", category: "texture", status: rej, score: 0.5, policy: "strict@2", judges: []schema.JudgeResult{result(vlm, 0.5, false)},
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
				a.Judges = []JudgeScores{{vlm, 1, Quantiles{N: 2, Mean: 0.75, Min: 0.5, P10: 0.5, P25: 0.5, P50: 0.5, P75: 1, P90: 1, Max: 1}, 2, []string{"1"}}}
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
			got, err := Read(context.Background(), writeVersion(t, tt.rows, tt.failed, tt.scores), "")
			if err != nil {
				t.Fatal(err)
			}
			want := &Audit{Dataset: "hand", Version: "v1"}
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				// The JSON form leaves out the judges' results and versions.
				t.Errorf("audit:\n%s\njudges %+v\nwant:\n%s\njudges %+v", asJSON(got), got.Judges, asJSON(want), want.Judges)
			}
		})
	}
}
