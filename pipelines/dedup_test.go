package pipelines

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// TestNearDuplicates runs prompts with cosmetic near-duplicates through
// the pipeline: the Dedup stage flags all but the first of each cluster,
// the export stage re-decides exactly those from their staged records,
// and the shard writer's verdict (from the full record) agrees with the
// plan, so flagged trajectories land in rejected/ quoting dedup and their
// cluster's representative keeps a passing dedup result.
func TestNearDuplicates(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts.txt")
	lines := []string{
		// Lines 1, 3 and 5 are one cluster (punctuation; articles and a
		// plural): the one with the smallest id is kept.
		"a round bagel and a square toaster.",
		"two red cubes on a wooden table",
		"a round bagel and a square toaster",
		"a blue vase to the left of a lamp",
		"round bagels and a square toaster",
	}
	if err := os.WriteFile(prompts, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		required bool
	}{{"required", true}, {"recorded only", false}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")))
			cfg.Builtin = 0
			cfg.Prompts = []string{prompts}
			// Only dedup decides, so the other judges cannot hide its effect.
			cfg.Policy = filters.Policy{Name: "dedup-only", Version: "1", Judges: map[string]filters.Rule{
				filters.JudgeDedupPrompt: {Required: tt.required}, filters.JudgeDedupImage: {Required: tt.required},
			}}
			m := run(t, cfg)
			if m.Counts.Seeded != 5 || !m.Counts.Reconciles() {
				t.Fatalf("counts = %+v, want 5 seeded that reconcile", m.Counts)
			}
			ctx := context.Background()
			b, err := blob.OpenBucket(ctx, cfg.Output)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			byLine := map[int64]schema.Trajectory{}
			for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
				for _, sh := range m.Shards[config] {
					rows, err := exporters.ReadShard[schema.Trajectory](ctx, b, VersionPrefix(cfg), sh.Path)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range rows {
						byLine[r.Source.Line] = r
					}
				}
			}
			if len(byLine) != 5 {
				t.Fatalf("got %d trajectories, want 5", len(byLine))
			}
			kept := min(byLine[1].ID, byLine[3].ID, byLine[5].ID)
			for line, tr := range byLine {
				res := judge(tr.Judges, "dedup_prompt")
				dup := (line == 1 || line == 3 || line == 5) && tr.ID != kept
				if res == nil || res.Pass == dup {
					t.Errorf("line %d: dedup_prompt = %+v, want pass %v", line, res, !dup)
					continue
				}
				if dup && !strings.Contains(res.Reason, "near-duplicate prompt of "+kept) {
					t.Errorf("line %d: reason %q, want it to name the kept %s", line, res.Reason, kept)
				}
				wantStatus := schema.StatusAccepted
				if dup && tt.required {
					wantStatus = schema.StatusRejected
				}
				if tr.Verdict.Status != wantStatus {
					t.Errorf("line %d: verdict %+v, want %s", line, tr.Verdict, wantStatus)
				}
				if wantStatus == schema.StatusRejected && (len(tr.Verdict.Reasons) != 1 || !strings.HasPrefix(tr.Verdict.Reasons[0], "dedup_prompt: near-duplicate prompt of "+kept)) {
					t.Errorf("line %d: reasons %q, want only the dedup one", line, tr.Verdict.Reasons)
				}
			}
			want := map[bool]int64{true: 3, false: 5}[tt.required]
			if m.Counts.Accepted != want {
				t.Errorf("accepted = %d, want %d", m.Counts.Accepted, want)
			}
		})
	}
}

func judge(rs []schema.JudgeResult, name string) *schema.JudgeResult {
	for i := range rs {
		if rs[i].Name == name {
			return &rs[i]
		}
	}
	return nil
}
