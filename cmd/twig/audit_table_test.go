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
	"github.com/twigdata/twig/exporters/audit"
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

// TestAuditCommand audits a version written from rows built by hand: the
// JSON form is the Audit that exporters/audit computes, named by the
// version's location (the analysis itself has its table tests there), and
// the text form prints its funnel.
func TestAuditCommand(t *testing.T) {
	const acc, rej = schema.StatusAccepted, schema.StatusRejected
	vlm := func(score float64) []schema.JudgeResult {
		return []schema.JudgeResult{{Name: "vlm", Version: "1", Score: score, Pass: score >= 0.5}}
	}
	rows := []handRow{
		{id: "a1", category: "colour", status: acc, score: 1, judges: vlm(1)},
		{id: "r1", category: "colour", status: rej, score: 0.25, judges: vlm(0.25), reasons: []string{"vlm: score 0.25 < 0.50"}},
		{id: "r2", category: "shape", status: rej, score: 0.375, judges: vlm(0.75), reasons: []string{"overall: score 0.38 < 0.50"}},
	}
	dir := filepath.Join(t.TempDir(), "v1")
	writeHandVersion(t, dir, rows, []schema.Failure{{ID: "f1", Stage: "generate", Error: "boom"}}, nil)
	ctx := context.Background()

	b, err := openBucket(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := audit.Read(ctx, b, "")
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	want.URI = redactLocation(dir)
	var out bytes.Buffer
	if err := runAudit(ctx, dir, "", true, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != asJSON(want)+"\n" {
		t.Errorf("audit --json:\n%s\nwant:\n%s", out.String(), asJSON(want))
	}

	out.Reset()
	if err := runAudit(ctx, dir, "", false, &out); err != nil {
		t.Fatal(err)
	}
	funnel := `funnel
  seeded           4
  generated        3    75.0%  -1
  vlm              2    50.0%  -1
  overall          1    25.0%  -1
  accepted         1    25.0%
`
	if !strings.Contains(out.String(), funnel) {
		t.Errorf("audit text lacks\n%s\nin:\n%s", funnel, out.String())
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
