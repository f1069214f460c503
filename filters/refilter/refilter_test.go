package refilter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/refilter"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/pipelines"
	"github.com/twigdata/twig/schema"
)

// TestMain runs the parent versions' pipelines on the embedded prism
// runner.
func TestMain(m *testing.M) {
	beamlog.LogLevel = "warn" // the embedded runner is chatty at "info"
	ptest.Main(m)
}

// runParent runs a whole pipeline into a folder bucket and returns the
// committed manifest.
func runParent(t *testing.T, cfg pipelines.Config) *exporters.Manifest {
	t.Helper()
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := pipelines.Prepare(ctx, b, cfg, false); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	p, s := beam.NewPipelineWithRoot()
	pipelines.Build(s, cfg)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	m, err := exporters.ReadManifest(ctx, b, pipelines.VersionPrefix(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parentConfig is a small run of the simulator (as the pipeline tests
// configure it) into dir.
func parentConfig(dir string) pipelines.Config {
	cfg := pipelines.DefaultConfig()
	cfg.Output = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=1&metadata=skip&no_tmp_dir=1"}).String()
	cfg.Dataset = "test"
	cfg.CodeVersion = "test"
	cfg.Created = "2026-01-02T03:04:05Z"
	cfg.Sim = backends.SimConfig{MistakeRate: 0.3, MalformedRate: 0.15, DriftRate: 0.15}
	return cfg
}

// TestRefilter writes a version whose GPU worker, teachers and VLM judge
// all answer over real HTTP (a counting server in front of twig's worker),
// then derives a child under a stricter policy and checks: the servers saw
// no request, every changed verdict is accepted -> rejected by the stricter
// judge, the child names its parent, verifies, keeps every judge's raw
// result, and two refilters give byte-identical shards.
func TestRefilter(t *testing.T) {
	var requests atomic.Int64
	srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{MaxBatch: 64, MaxWait: 2 * time.Millisecond})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	t.Setenv("OPENAI_API_KEY", "sk-test-refilter")

	dir := t.TempDir()
	cfg := parentConfig(dir)
	cfg.Builtin = 30
	cfg.WebDataset = true
	cfg.Backends.Generator = []string{ts.URL}
	teach := backends.Teacher{BaseURL: ts.URL + "/v1", Model: "twig-sim"}
	cfg.Backends.Thinker, cfg.Backends.Critic, cfg.Backends.Judge = teach, teach, teach
	parent := runParent(t, cfg)
	before := requests.Load()
	if before == 0 || parent.Counts.Accepted == 0 {
		t.Fatalf("the parent run made %d requests and accepted %d", before, parent.Counts.Accepted)
	}
	if !slices.ContainsFunc(parent.Models, func(r schema.RoleModel) bool { return r.Role == "judge" && r.Model == "twig-sim" }) {
		t.Errorf("parent models %v lack the judge", parent.Models)
	}

	strict := filters.DefaultPolicy()
	strict.Name = "strict"
	high := 0.97
	r := strict.Judges["vlm"]
	r.Threshold = &high
	strict.Judges["vlm"] = r

	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := refilter.Refilter(ctx, b, "test/v1", refilter.Options{Policy: strict, Judges: pipelines.JudgeNames(), Version: "v1-strict", CodeVersion: "test", Created: cfg.Created})
	if err != nil {
		t.Fatal(err)
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("refilter made %d HTTP requests to the model servers, want 0", n)
	}
	child := res.Manifest
	if child.Parent != "v1" || res.Prefix != "test/v1-strict" {
		t.Errorf("child parent %q at %q, want v1 at test/v1-strict", child.Parent, res.Prefix)
	}
	// The child's configuration is the parent's with the fields a
	// refilter changes replaced: what the parent's, decoded and changed,
	// encodes to (the manifest indents it: compare compacted).
	var ccfg pipelines.Config
	if err := json.Unmarshal(parent.Config, &ccfg); err != nil {
		t.Fatal(err)
	}
	ccfg.Version, ccfg.Policy, ccfg.CodeVersion = "v1-strict", strict, "test"
	want, _ := json.Marshal(ccfg)
	var got bytes.Buffer
	if err := json.Compact(&got, child.Config); err != nil || got.String() != string(want) {
		t.Errorf("child config (%v)\n%s\nwant\n%s", err, got.String(), want)
	}
	if len(child.Stats.Calls) != 0 {
		t.Errorf("child stats count model calls: %+v", child.Stats.Calls)
	}
	rep, err := exporters.Verify(ctx, b, res.Prefix)
	if err != nil || !rep.OK() {
		t.Fatalf("verify child: %v\n%s", err, rep)
	}
	changed := res.Changed["accepted -> rejected"]
	if changed == 0 || len(res.Changed) != 1 || res.Reasons["vlm"] != changed {
		t.Errorf("changed %v because %v: want only accepted -> rejected, all because of vlm", res.Changed, res.Reasons)
	}
	if child.Counts.Accepted != parent.Counts.Accepted-changed || child.Counts.Seeded != parent.Counts.Seeded || !child.Counts.Reconciles() {
		t.Errorf("child counts %+v, parent %+v, %d changed", child.Counts, parent.Counts, changed)
	}
	if got := child.Rows(exporters.ConfigWebDataset); got != child.Counts.Accepted {
		t.Errorf("child webdataset has %d samples for %d accepted", got, child.Counts.Accepted)
	}

	// Every judge result is the parent's; only verdicts differ.
	judges := func(prefix string, m *exporters.Manifest) map[string][]schema.JudgeResult {
		out := map[string][]schema.JudgeResult{}
		for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
			for _, sh := range m.Shards[config] {
				rows, err := exporters.ReadShard[schema.Trajectory](ctx, b, prefix, sh.Path)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					out[r.ID] = r.Judges
					if prefix == res.Prefix && r.Verdict.Policy != "strict@1" {
						t.Errorf("%s: verdict by %q, want strict@1", r.ID, r.Verdict.Policy)
					}
					if r.Verdict.Status == schema.StatusRejected && prefix == res.Prefix && len(r.Verdict.Reasons) == 0 {
						t.Errorf("%s rejected with no reason", r.ID)
					}
				}
			}
		}
		return out
	}
	pj, cj := judges("test/v1", parent), judges(res.Prefix, child)
	if len(pj) != len(cj) {
		t.Fatalf("parent has %d judged trajectories, child %d", len(pj), len(cj))
	}
	for id, js := range pj {
		if !slices.Equal(js, cj[id]) {
			t.Errorf("%s: judge results changed: %+v -> %+v", id, js, cj[id])
		}
	}

	// Deterministic: a second child from the same parent and policy has
	// the same shards.
	again, err := refilter.Refilter(ctx, b, "test/v1", refilter.Options{Policy: strict, Judges: pipelines.JudgeNames(), Version: "v1-strict-again", CodeVersion: "test", Created: cfg.Created})
	if err != nil {
		t.Fatal(err)
	}
	for config, shards := range child.Shards {
		for i, sh := range shards {
			if got := again.Manifest.Shards[config][i]; got.SHA256 != sh.SHA256 {
				t.Errorf("%s shard %d: SHA-256 %s then %s", config, i, sh.SHA256, got.SHA256)
			}
		}
	}
	// The child is refused once committed, unless overwritten.
	if _, err := refilter.Refilter(ctx, b, "test/v1", refilter.Options{Policy: strict, Judges: pipelines.JudgeNames(), Version: "v1-strict", Created: cfg.Created}); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Errorf("refilter over a committed child = %v, want a refusal", err)
	}
	if _, err := refilter.Refilter(ctx, b, "test/v1", refilter.Options{Policy: strict, Judges: pipelines.JudgeNames(), Version: "v1-strict", Created: cfg.Created, Overwrite: true}); err != nil {
		t.Errorf("refilter --overwrite: %v", err)
	}
}
