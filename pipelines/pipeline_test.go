package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/schema"
)

// The pipeline tests run the real pipeline on the embedded prism runner,
// one after another: prism's shared endpoint does not like t.Parallel.
func TestMain(m *testing.M) {
	beamlog.LogLevel = "warn" // the embedded runner is chatty at "info"
	ptest.Main(m)
}

func fileURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=1&metadata=skip&no_tmp_dir=1"}).String()
}

// pythonBin is the interpreter of the independent readers: $TWIG_TEST_PYTHON
// (.ci/run points it at its virtual environment), else python3.
func pythonBin() string {
	if py := os.Getenv("TWIG_TEST_PYTHON"); py != "" {
		return py
	}
	return "python3"
}

func testConfig(t *testing.T, dir string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Output = fileURL(dir)
	cfg.Dataset = "test"
	cfg.Builtin = 40
	cfg.CodeVersion = "test"
	cfg.Created = "2026-01-02T03:04:05Z"
	// Higher than the defaults, so that 40 prompts surely show repaints,
	// parse failures and rejections.
	cfg.Sim = SimConfig{MistakeRate: 0.3, MalformedRate: 0.15, DriftRate: 0.15}
	return cfg
}

// run runs the whole pipeline and returns the committed, verified
// manifest (runFaulty, failing the test on any error).
func run(t *testing.T, cfg Config) *exporters.Manifest {
	t.Helper()
	m, err := runFaulty(t, cfg)
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	return m
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.WebDataset = true
	m := run(t, cfg)
	if got := m.Rows(exporters.ConfigWebDataset); got != m.Counts.Accepted {
		t.Errorf("webdataset has %d samples, want one per accepted trajectory (%d)", got, m.Counts.Accepted)
	}
	c := m.Counts
	if c.Seeded != 40 || !c.Reconciles() {
		t.Errorf("counts = %+v, want 40 seeded that reconcile", c)
	}
	if c.Accepted == 0 || c.Rejected == 0 {
		t.Errorf("counts = %+v, want some accepted and some rejected", c)
	}
	if s := m.Stats.RepaintShare; s < 0.03 || s > 0.6 {
		t.Errorf("repaint share = %.3f, want a plausible share in [0.03, 0.6]", s)
	}
	if m.Stats.ParseFailures+m.Stats.CritiqueRetries == 0 {
		t.Errorf("no critique was ever malformed at malformed rate 0.15: %+v", m.Stats)
	}
	if m.ConfigHash != cfg.Hash() || len(m.Models) == 0 || len(m.Templates) != 3 {
		t.Errorf("manifest provenance: hash %q models %v templates %v", m.ConfigHash, m.Models, m.Templates)
	}
	// The staging area is gone once the version is committed.
	var left []string
	filepath.WalkDir(filepath.Join(dir, "test", "v1", "_staging"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("staging not cleared: %d files left, e.g. %s", len(left), left[0])
	}
	checkWithPython(t, filepath.Join(dir, "test", "v1"), c)
	checkWithDatasets(t, filepath.Join(dir, "test", "v1"), m)
}

// checkWithDatasets loads every config with Hugging Face datasets, offline.
func checkWithDatasets(t *testing.T, root string, m *exporters.Manifest) {
	t.Helper()
	cmd := exec.Command(pythonBin(), "../testdata/check_datasets.py", root)
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "HF_DATASETS_OFFLINE=1", "HF_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(ee.Stderr), "ModuleNotFoundError") && os.Getenv("TWIG_REQUIRE_PYTHON") == "" {
			t.Skipf("datasets missing (pip install -r .ci/requirements.txt): %s", ee.Stderr)
		}
		t.Fatalf("check_datasets.py: %v\n%s", err, out)
	}
	var got struct {
		Configs map[string]int64 `json:"configs"`
		Errors  []string         `json:"errors"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check_datasets.py output %q: %v", out, err)
	}
	if len(got.Errors) > 0 {
		t.Errorf("datasets found problems: %v", got.Errors)
	}
	for config := range m.Shards {
		if got.Configs[config] != m.Rows(config) {
			t.Errorf("datasets loaded %d rows of %s, the manifest lists %d", got.Configs[config], config, m.Rows(config))
		}
	}
}

// checkWithPython opens the version with pyarrow and Pillow, readers that
// share no code with twig.
func checkWithPython(t *testing.T, root string, c exporters.Counts) {
	t.Helper()
	out, err := exec.Command(pythonBin(), "../testdata/check_version.py", root).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(ee.Stderr), "ModuleNotFoundError") && os.Getenv("TWIG_REQUIRE_PYTHON") == "" {
			t.Skipf("pyarrow or Pillow missing (pip install -r .ci/requirements.txt): %s", ee.Stderr)
		}
		if errors.Is(err, exec.ErrNotFound) && os.Getenv("TWIG_REQUIRE_PYTHON") == "" {
			t.Skip("python3 not found")
		}
		t.Fatalf("check_version.py: %v\n%s", err, out)
	}
	var got struct {
		Configs          map[string]int64 `json:"configs"`
		Images           int              `json:"images"`
		Regions          int              `json:"regions"`
		RepaintedRegions int              `json:"repainted_regions"`
		Critiques        int              `json:"critiques"`
		Scores           []*int           `json:"scores"`
		ThoughtsPerRow   []int            `json:"thoughts_per_row"`
		Errors           []string         `json:"errors"`
		Tasks            map[string]int64 `json:"tasks"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check_version.py output %q: %v", out, err)
	}
	if len(got.Errors) > 0 {
		t.Errorf("independent reader found problems: %v", got.Errors)
	}
	if got.Configs["trajectories"] != c.Accepted || got.Configs["rejected"] != c.Rejected {
		t.Errorf("pyarrow rows = %v, manifest counts = %+v", got.Configs, c)
	}
	if !slices.Equal(got.ThoughtsPerRow, []int{3}) {
		t.Errorf("thoughts per trajectory = %v, want all 3", got.ThoughtsPerRow)
	}
	if got.RepaintedRegions == 0 || got.Critiques < got.Regions {
		t.Errorf("regions %d, repainted %d, critiques %d: want repaints and a critique per region", got.Regions, got.RepaintedRegions, got.Critiques)
	}
	if got.Images <= got.Regions {
		t.Errorf("decoded %d PNG images for %d regions", got.Images, got.Regions)
	}
	// The default mix: think_k and gen_k for every accepted trajectory, no reflect.
	wantTasks := map[string]int64{}
	for k := 1; k <= 3; k++ {
		wantTasks[fmt.Sprintf("think_%d", k)] = c.Accepted
		wantTasks[fmt.Sprintf("gen_%d", k)] = c.Accepted
	}
	if !maps.Equal(got.Tasks, wantTasks) {
		t.Errorf("sft tasks read by pyarrow = %v, want %v", got.Tasks, wantTasks)
	}
}

func TestDeterministic(t *testing.T) {
	shards := func(m *exporters.Manifest) []string {
		var out []string
		for config, ss := range m.Shards {
			for _, s := range ss {
				out = append(out, fmt.Sprintf("%s %s %d %s", config, s.Path, s.Rows, s.SHA256))
			}
		}
		slices.Sort(out)
		return out
	}
	a := run(t, testConfig(t, t.TempDir()))
	b := run(t, testConfig(t, t.TempDir()))
	if !slices.Equal(shards(a), shards(b)) {
		t.Errorf("two identical runs wrote different shards:\n%v\n%v", shards(a), shards(b))
	}
}

func TestRerun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Builtin = 5
	run(t, cfg)
	b, err := blob.OpenBucket(ctx, cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := Prepare(ctx, b, cfg, false); !errors.Is(err, ErrUpToDate) {
		t.Errorf("Prepare on a committed version with the same config = %v, want ErrUpToDate", err)
	}
	other := cfg
	other.Engine.Theta = 80
	if err := Prepare(ctx, b, other, false); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("Prepare with another config = %v, want a refusal naming --overwrite", err)
	}
	if err := Prepare(ctx, b, other, true); err != nil {
		t.Fatalf("Prepare with overwrite: %v", err)
	}
	if ok, _ := exporters.Committed(ctx, b, VersionPrefix(cfg)); ok {
		t.Errorf("overwrite left the old manifest in place")
	}
}

// TestResumeUsesStaging plants a staged trajectory before the run: the run
// must take it as it is instead of calling the models again.
func TestResumeUsesStaging(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Builtin = 3
	first := run(t, cfg)
	b, err := blob.OpenBucket(ctx, cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rows, err := exporters.ReadShard[schema.Trajectory](ctx, b, VersionPrefix(cfg), first.Shards["trajectories"][0].Path)
	if err != nil || len(rows) == 0 {
		t.Fatalf("read accepted shard: %v (%d rows)", err, len(rows))
	}
	planted := rows[0]
	planted.Regions[0].Thought.Raw = "planted: not produced by a model call"
	data, _ := json.Marshal(planted)
	if err := b.WriteAll(ctx, StagingPrefix(cfg)+"/"+planted.ID+".json", data, nil); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(ctx, b, cfg, true); err != nil {
		t.Fatal(err)
	}
	second := run(t, cfg)
	again, err := exporters.ReadShard[schema.Trajectory](ctx, b, VersionPrefix(cfg), second.Shards["trajectories"][0].Path)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(again, func(t schema.Trajectory) bool { return t.ID == planted.ID })
	if i < 0 || again[i].Regions[0].Thought.Raw != planted.Regions[0].Thought.Raw {
		t.Errorf("the staged trajectory was not reused")
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts.txt")
	content := "a red apple and a green train\r\n" +
		"\r\n" +
		"a blue bowl\xff\xfe\n" +
		strings.Repeat("very long ", 300) + "\n" +
		"  a red apple and a   green train \n" +
		"two cats on the left of a dog"
	if err := os.WriteFile(prompts, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "more.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"prompt": "a cubic dice and a cylindrical pencil holder", "id": "q-17", "category": "shape"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, filepath.Join(dir, "out"))
	cfg.Prompts = []string{jsonl, prompts}
	cfg.SamplesPerPrompt = 2
	m := run(t, cfg)
	want := exporters.Counts{Seeded: 3*2 + 3, DuplicatesDropped: 1}
	got := m.Counts
	if got.Seeded != want.Seeded || got.DuplicatesDropped != want.DuplicatesDropped || got.Failed < 3 || !got.Reconciles() {
		t.Errorf("counts = %+v, want seeded %d, 1 duplicate, >= 3 failed, reconciled", got, want.Seeded)
	}
	ctx := context.Background()
	b, _ := blob.OpenBucket(ctx, cfg.Output)
	defer b.Close()
	failed, err := exporters.ReadShard[schema.Failure](ctx, b, VersionPrefix(cfg), m.Shards["failed"][0].Path)
	if err != nil {
		t.Fatal(err)
	}
	var kept bool
	for _, config := range []string{"trajectories", "rejected"} {
		for _, sh := range m.Shards[config] {
			rows, err := exporters.ReadShard[schema.Trajectory](ctx, b, VersionPrefix(cfg), sh.Path)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Source.ID == "q-17" && r.Category == "shape" && strings.HasSuffix(r.Source.URI, "more.jsonl") && r.Source.Line == 1 {
					kept = true
				}
			}
		}
	}
	if !kept {
		t.Errorf("the JSONL record's id, category and source were not kept")
	}
	var lines []string
	for _, f := range failed {
		if f.Stage == "seed" {
			lines = append(lines, fmt.Sprintf("%d:%s", f.Source.Line, f.Error))
		}
	}
	for i, wantLine := range []string{"2:", "3:", "4:"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], wantLine) || !strings.Contains(lines[i], "prompts.txt:"+strings.TrimSuffix(wantLine, ":")) {
			t.Errorf("seed failures = %q, want line %s naming file and line", lines, wantLine)
		}
	}
}

// TestCacheAcrossVersions: a new version that changes only a judge setting
// answers every model call from the cache.
func TestCacheAcrossVersions(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "out"))
	cfg.Builtin = 8
	cfg.Backends.Cache = fileURL(filepath.Join(dir, "cache"))
	first := run(t, cfg)
	cfg.Version = "v2"
	cfg.ThoughtFormat.MaxWords = 40
	second := run(t, cfg)
	if len(first.Stats.Calls) == 0 {
		t.Fatalf("no call counted: %+v", first.Stats)
	}
	for role, c := range first.Stats.Calls {
		if c.Misses == 0 || c.Hits != 0 {
			t.Errorf("v1 %s calls = %+v, want misses only", role, c)
		}
		if got := second.Stats.Calls[role]; got.Misses != 0 || got.Hits != c.Misses {
			t.Errorf("v2 %s calls = %+v, want %d hits and no miss", role, got, c.Misses)
		}
	}
}

// TestTeacherImageRoute runs the paper's TwiG-50K route end to end: one
// drawn image per prompt, tokenised into bands, every band critiqued and
// none repainted.
func TestTeacherImageRoute(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Builtin = 10
	cfg.Engine.Route = "teacher-image"
	m := run(t, cfg)
	if m.Stats.Regions != 30 || m.Stats.RepaintedRegions != 0 {
		t.Errorf("regions %d repainted %d, want 30 and none", m.Stats.Regions, m.Stats.RepaintedRegions)
	}
	if !slices.ContainsFunc(m.Models, func(r schema.RoleModel) bool { return r.Role == "draw" }) {
		t.Errorf("models %v name no drawing model", m.Models)
	}
	o := account(t, cfg, m)
	for _, r := range append(o.accepted, o.rejected...) {
		p := r.Provenance
		if p.Route != "teacher-image" || !slices.ContainsFunc(p.Templates, func(t schema.TemplateRef) bool { return t.Role == "draw" && t.ID == "draw" }) {
			t.Errorf("%s: route %q, templates %+v; want teacher-image and the draw template", r.ID, p.Route, p.Templates)
		}
	}
}

// TestOverHTTP paints through real HTTP workers (twig worker's server with
// the simulator) and checks the version, that the workers did the work,
// and that they batched calls from different trajectories.
func TestOverHTTP(t *testing.T) {
	var servers []*worker.Server
	var urls []string
	for range 2 {
		srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{MaxBatch: 64, MaxWait: 5 * time.Millisecond})
		ts := httptest.NewServer(srv)
		t.Cleanup(func() { ts.Close(); srv.Close() })
		servers, urls = append(servers, srv), append(urls, ts.URL)
	}
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "out"))
	cfg.Builtin = 24
	cfg.Backends.Generator = urls
	cfg.Backends.Cache = fileURL(filepath.Join(dir, "cache"))
	m := run(t, cfg)
	served := func() (calls, batches int64) {
		for _, s := range servers {
			st := s.Stats()
			calls, batches = calls+st.Calls, batches+st.Batches
		}
		return calls, batches
	}
	calls, batches := served()
	if calls < 24*3 {
		t.Errorf("workers answered %d generate calls, want at least %d", calls, 24*3)
	}
	if batches >= calls {
		t.Errorf("%d calls in %d batches: the workers never batched", calls, batches)
	}
	if !slices.ContainsFunc(m.Models, func(r schema.RoleModel) bool { return r.Role == "generate" && strings.Contains(r.Model, "@") }) {
		t.Errorf("models %v do not name the worker's model", m.Models)
	}
	// The worker's prompt wrapper, from its info call, is in every record.
	o := account(t, cfg, m)
	for _, r := range append(o.accepted, o.rejected...) {
		if got := r.Provenance.PromptWrapper; got != inference.JanusPromptWrapper || r.Provenance.Route != "interleaved" {
			t.Errorf("%s: prompt wrapper %q, route %q; want %q, interleaved", r.ID, got, r.Provenance.Route, inference.JanusPromptWrapper)
		}
	}

	// Rerunning the finished version from scratch answers every call from
	// the cache: the workers see no new call.
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := Prepare(ctx, b, cfg, true); err != nil {
		t.Fatal(err)
	}
	again := run(t, cfg)
	if after, _ := served(); after != calls {
		t.Errorf("the rerun made %d generate calls, want 0", after-calls)
	}
	for role, c := range again.Stats.Calls {
		if c.Misses != 0 {
			t.Errorf("rerun %s calls = %+v, want no miss", role, c)
		}
	}
}

// TestTeacherOverHTTP drives the thinker and the critic through the real
// go-openai client against an OpenAI-compatible server (twig's worker
// serving the simulated reasoner), with an API key in the environment
// that must appear nowhere in the output, and then caps the spending.
func TestTeacherOverHTTP(t *testing.T) {
	const key = "sk-test-PLANTED-0123456789"
	t.Setenv("OPENAI_API_KEY", key)
	srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	teach := Teacher{BaseURL: ts.URL + "/v1", Model: "twig-sim"}

	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "out"))
	cfg.Builtin = 12
	cfg.Backends.Thinker, cfg.Backends.Critic = teach, teach
	m := run(t, cfg)
	if m.Counts.Accepted == 0 || !slices.ContainsFunc(m.Models, func(r schema.RoleModel) bool { return r.Role == "think" && strings.HasPrefix(r.Model, "twig-sim") }) {
		t.Errorf("counts %+v, models %v: want accepted trajectories thought by the teacher", m.Counts, m.Models)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(p); strings.Contains(string(b), key) {
			t.Errorf("the API key leaked into %s", p)
		}
		return nil
	})

	// A cap of 3,000 thinker tokens stops the run early: the rest fail,
	// saying so, and the counts still reconcile.
	cfg.Version = "capped"
	cfg.Builtin = 40
	cfg.Backends.Thinker.MaxTokens = 3000
	m = run(t, cfg)
	if m.Stats.BudgetStopped == 0 || m.Counts.Failed < m.Stats.BudgetStopped || !m.Counts.Reconciles() {
		t.Errorf("capped run: counts %+v, budget stopped %d: want samples stopped by the cap, reconciled", m.Counts, m.Stats.BudgetStopped)
	}
}

// TestCrashBeforeManifest: shards written by a run that died before its
// manifest make no visible version, and the rerun commits a complete one
// without them.
func TestCrashBeforeManifest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Builtin = 6
	b, err := blob.OpenBucket(ctx, cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// What a crashed run leaves: shards under other names, staged records, no manifest.
	for _, key := range []string{"data/trajectories/train-00000-of-00003.parquet", "rejected/rejected-00002-of-00003.parquet", "_staging/old/x.json"} {
		if err := b.WriteAll(ctx, VersionPrefix(cfg)+"/"+key, []byte("partial"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := exporters.Committed(ctx, b, VersionPrefix(cfg)); ok {
		t.Fatal("a version without a manifest counts as committed")
	}
	rep, err := exporters.Verify(ctx, b, VersionPrefix(cfg))
	if err != nil || rep.OK() {
		t.Fatalf("Verify of an uncommitted version = %v, %v: want a problem", rep, err)
	}
	m := run(t, cfg) // run verifies: no unlisted shard may remain
	if m.Counts.Seeded != 6 || !m.Counts.Reconciles() {
		t.Errorf("counts after the rerun = %+v", m.Counts)
	}
}
