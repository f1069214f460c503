package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/internal/configerr"
	"github.com/twigdata/twig/pipelines"
)

func smallConfig() pipelines.Config {
	cfg := pipelines.DefaultConfig()
	cfg.Builtin = 12
	return cfg
}

// TestRunVerify runs the command end to end on the embedded runner, then
// verifies the version, then breaks a shard and sees verify fail.
func TestRunVerify(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := runPipeline(ctx, smallConfig(), runOptions{out: out}, &stdout); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	for _, want := range []string{"seeded:     12", "accepted:", "rejected:", "repainted", "time:", "metrics:", "trajectories_done=12", "prompts_seeded=12"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	version := filepath.Join(out, "twig-sim", "v1")
	if err := runVerify(ctx, version, &stdout); err != nil {
		t.Fatalf("verify a fresh version: %v", err)
	}
	if _, err := os.Stat(filepath.Join(version, "_staging")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging folder left behind: %v", err)
	}

	// A second run with the same configuration makes no model call.
	stdout.Reset()
	if err := runPipeline(ctx, smallConfig(), runOptions{out: out}, &stdout); err != nil || !strings.Contains(stdout.String(), "nothing to do") {
		t.Errorf("rerun: %v\n%s", err, stdout.String())
	}

	shard := filepath.Join(version, "data", "trajectories", "train-00000-of-00001.parquet")
	b, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(shard, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var ee *exitError
	if err := runVerify(ctx, version, &stdout); !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("verify a corrupted shard = %v, want exit code 1", err)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	// A model server that counts what reaches it: bad configuration must be
	// refused before any GPU or LLM call.
	var calls atomic.Int64
	models := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer models.Close()
	withModels := func(o runOptions) runOptions {
		o.teacher, o.teacherModel, o.judge = models.URL+"/v1", "m", models.URL+"/v1"
		return o
	}
	aFile := filepath.Join(dir, "a-file")
	os.WriteFile(aFile, []byte("x"), 0o644)
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte("{\n  \"dataset\": \"x\",\n  \"no_such_knob\": 3\n}\n"), 0o644)
	typeJSON := filepath.Join(dir, "type.json")
	os.WriteFile(typeJSON, []byte("{\n  \"engine\": {\n    \"k\": \"three\"\n  }\n}\n"), 0o644)
	durJSON := filepath.Join(dir, "dur.json")
	os.WriteFile(durJSON, []byte("{\n  \"backends\": {\n    \"generator_timeout\": \"2x\"\n  }\n}\n"), 0o644)
	// The thinker's timeout is fine; the critic's, on line 5, is not.
	roleJSON := filepath.Join(dir, "role.json")
	os.WriteFile(roleJSON, []byte("{\"backends\": {\n  \"thinker\": {\"timeout\": \"30s\"},\n  \"generator_retries\": 2,\n  \"critic\": {\n    \"timeout\": \"2 minutes\"\n  }\n}}\n"), 0o644)
	// A GPU worker serving a real model: it answers its health and info
	// and counts every other call, which must never come.
	var workerCalls atomic.Int64
	realWorker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case worker.PathHealth:
			w.Write([]byte(`{"status":"ok"}`))
			return
		case worker.PathInfo:
			json.NewEncoder(w).Encode(worker.Info{Model: "deepseek-community/Janus-Pro-7B", Revision: "main", ImageSize: 384, PatchSize: 16,
				CodebookSize: 16384, MaxBatch: 64, PromptWrapper: inference.JanusPromptWrapper})
			return
		}
		// Generate, decode, encode or chat: work that costs GPU time.
		workerCalls.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer realWorker.Close()
	withRealWorker := func(c *pipelines.Config) { c.Backends.Generator = []string{realWorker.URL} }
	badThink := filepath.Join(dir, "think.tmpl")
	os.WriteFile(badThink, []byte("Describe {{.Prompt}}.\nBand {{.Band}} of {{.Regoins}}.\n"), 0o644)
	badJudge := filepath.Join(dir, "judge.tmpl")
	os.WriteFile(badJudge, []byte("Judge {{.Prompt}}\n{{range .Questions}}{{.Question}}{{end}}\n"), 0o644)
	sec := func(d time.Duration) backends.Duration { return backends.Duration(d) }
	// A refused field is named with its value (field); want is a part of
	// the message, where its words guide the user, or the whole story
	// where the error comes from elsewhere (a template, a flag, the
	// engine's or the policy's own checks).
	type field struct {
		name  string
		value any
	}
	tests := []struct {
		name   string
		config func(*pipelines.Config)
		opts   runOptions
		field  *field
		want   string
	}{
		{"no out", nil, runOptions{}, nil, "--out is required"},
		{"think template with an unknown variable", func(c *pipelines.Config) { c.Engine.ThinkTemplate = badThink }, withModels(runOptions{out: dir}), nil,
			badThink + ":2:20: unknown variable .Regoins"},
		{"critique template missing", func(c *pipelines.Config) { c.Engine.CritiqueTemplate = filepath.Join(dir, "none.tmpl") }, withModels(runOptions{out: dir}), nil,
			"critique template: open " + filepath.Join(dir, "none.tmpl")},
		{"judge template with an unknown field", func(c *pipelines.Config) { c.VLM.Template = badJudge }, withModels(runOptions{out: dir}), nil,
			badJudge + ":2:"},
		{"real painter, simulated critic", withRealWorker, runOptions{out: dir}, &field{"backends.critic", nil},
			"config backends.critic: the simulated critic cannot read the canvases deepseek-community/Janus-Pro-7B@main paints; give the critic a vision model: --teacher URL --teacher-model NAME"},
		{"real painter, simulated judge", withRealWorker, runOptions{out: dir, teacher: models.URL + "/v1", teacherModel: "m", judge: "sim"}, &field{"backends.judge", nil},
			"config backends.judge: the simulated VLM judge cannot read the images"},
		{"two repaints not critiqued", func(c *pipelines.Config) { c.Engine.MaxRepaints = 2 }, withModels(runOptions{out: dir}), nil, "config max_repaints: 2 needs critique_repaints"},
		{"K zero", func(c *pipelines.Config) { c.Engine.K = 0 }, runOptions{out: dir}, nil, "config k:"},
		{"theta 150", func(c *pipelines.Config) { c.Engine.Theta = 150 }, runOptions{out: dir}, nil, "config theta:"},
		{"negative concurrency", func(c *pipelines.Config) { c.Concurrency = -1 }, runOptions{out: dir}, &field{"concurrency", -1}, "(0 chooses)"}, // -1 is refused; 0 chooses
		{"bad dataset name", func(c *pipelines.Config) { c.Dataset = "../escape" }, runOptions{out: dir}, &field{"dataset", "../escape"}, ""},
		{"prompts match nothing", nil, runOptions{out: dir, prompts: filepath.Join(dir, "none-*.txt")}, nil, "--prompts:"},
		{"bad band rows", nil, runOptions{out: dir, bandRows: "8,x"}, nil, "--band-rows:"},
		{"unknown policy judge", func(c *pipelines.Config) { c.Policy.Judges["clip"] = filters.Rule{Required: true} }, runOptions{out: dir}, nil, `"clip"`},
		{"policy file missing", nil, runOptions{out: dir, policy: filepath.Join(dir, "nope.json")}, nil, "--policy:"},
		{"teacher without model", nil, runOptions{out: dir, teacher: "http://127.0.0.1:9/v1"}, &field{"backends.thinker.model", ""}, ""},
		{"teacher not http", nil, runOptions{out: dir, teacher: "ftp://x/v1", teacherModel: "m"}, &field{"backends.thinker.base_url", "ftp://x/v1"}, ""},
		{"unknown route", func(c *pipelines.Config) { c.Engine.Route = "sideways" }, runOptions{out: dir}, nil, "config route:"},
		{"negative limit", func(c *pipelines.Config) { c.Limit = -1 }, withModels(runOptions{out: dir}), &field{"limit", -1}, ""},
		{"no samples", func(c *pipelines.Config) { c.SamplesPerPrompt = 0 }, withModels(runOptions{out: dir}), &field{"samples_per_prompt", 0}, ""},
		{"K zero with models", func(c *pipelines.Config) { c.Engine.K = 0 }, withModels(runOptions{out: dir}), nil, "config k:"},
		{"theta 150 with models", func(c *pipelines.Config) { c.Engine.Theta = 150 }, withModels(runOptions{out: dir}), nil, "config theta:"},
		{"output not writable", nil, withModels(runOptions{out: filepath.Join(aFile, "sub")}), nil, "a-file"},
		{"unreachable GPU worker", func(c *pipelines.Config) { c.Backends.Generator = []string{"http://127.0.0.1:1"} }, runOptions{out: dir}, nil, "generator:"},
		{"negative generator timeout", func(c *pipelines.Config) {
			c.Backends.Generator, c.Backends.GeneratorTimeout = []string{models.URL}, sec(-time.Second)
		}, runOptions{out: dir}, &field{"backends.generator_timeout", sec(-time.Second)}, "config backends.generator_timeout: -1s must not be negative (0: the default, 2m)"},
		{"negative generator retries", func(c *pipelines.Config) {
			c.Backends.Generator, c.Backends.GeneratorRetries = []string{models.URL}, -2
		}, runOptions{out: dir}, &field{"backends.generator_retries", -2}, "config backends.generator_retries: -2 must not be negative (0: the default, 5)"},
		{"negative teacher timeout", nil, withModels(runOptions{out: dir, limits: backends.Teacher{Timeout: sec(-time.Minute)}}),
			&field{"backends.thinker.timeout", sec(-time.Minute)}, "config backends.thinker.timeout: -1m0s must not be negative (0: the default, 2m)"},
		{"negative teacher retries", nil, withModels(runOptions{out: dir, limits: backends.Teacher{Retries: -1}}),
			&field{"backends.thinker.retries", -1}, "config backends.thinker.retries: -1 must not be negative"},
		{"judge timeout in nanoseconds", func(c *pipelines.Config) { c.Backends.Judge.Timeout = 90 }, withModels(runOptions{out: dir}),
			&field{"backends.judge.timeout", backends.Duration(90)}, `config backends.judge.timeout: 90ns is too short: at least 100ms (0: the default, 2m); want a duration such as "30s"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pipelines.DefaultConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			err := runPipeline(context.Background(), cfg, tc.opts, new(bytes.Buffer))
			if err == nil {
				t.Fatalf("runPipeline succeeded, want an error")
			}
			if tc.field != nil {
				var fe *configerr.FieldError
				switch {
				case !errors.As(err, &fe):
					t.Errorf("runPipeline = %v, want a *configerr.FieldError", err)
				case fe.Field != tc.field.name || fe.Value != tc.field.value:
					t.Errorf("runPipeline refused %s = %#v, want %s = %#v (%v)", fe.Field, fe.Value, tc.field.name, tc.field.value, err)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("runPipeline = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the model server saw %d requests: bad input must be refused before any model call", n)
	}
	if n := workerCalls.Load(); n != 0 {
		t.Errorf("the GPU worker saw %d calls besides its info: a combination that cannot work must be refused before any", n)
	}
	for _, tc := range []struct{ file, want string }{
		{badJSON, "bad.json:3: json: unknown field \"no_such_knob\""},
		{typeJSON, "type.json:3:"},
		{durJSON, `dur.json:3: json: cannot unmarshal string "2x" (want a duration such as "30s", "2m" or "1m30s") into Go struct field Backends.backends.generator_timeout`},
		{roleJSON, `role.json:5: json: cannot unmarshal string "2 minutes" (want a duration such as`},
	} {
		cfg := pipelines.DefaultConfig()
		if err := loadConfigFile(tc.file, &cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadConfigFile(%s) = %v, want an error containing %q", filepath.Base(tc.file), err, tc.want)
		}
	}
}

// TestDefaultsWithRealModels: with a teacher given, the vlm judge follows
// it, and a version made with any model over HTTP is not labelled
// simulated: its default dataset name is "twig". --dataset still wins.
func TestDefaultsWithRealModels(t *testing.T) {
	ctx := context.Background()
	srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{})
	ts := httptest.NewServer(srv)
	defer func() { ts.Close(); srv.Close() }()
	teacher := runOptions{teacher: ts.URL + "/v1", teacherModel: "twig-sim"}

	var b backends.Backends
	teacher.applyTeachers(&b)
	if b.Judge.BaseURL != teacher.teacher || b.Judge.Model != "twig-sim" {
		t.Errorf("judge = %+v, want the teacher", b.Judge)
	}
	b = backends.Backends{}
	o := teacher
	o.judge = "sim"
	o.applyTeachers(&b)
	if b.Judge.BaseURL != "" || b.Critic.BaseURL != teacher.teacher {
		t.Errorf("--judge sim: judge %+v, critic %+v; want the simulated judge and the teacher as critic", b.Judge, b.Critic)
	}

	for _, tc := range []struct {
		name    string
		opts    func(string) runOptions
		dataset string
	}{
		{"teacher, no dataset named", func(out string) runOptions { o := teacher; o.out = out; return o }, "twig"},
		{"teacher, dataset named", func(out string) runOptions { o := teacher; o.out, o.datasetSet = out, true; return o }, "twig-sim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout bytes.Buffer
			if err := runPipeline(ctx, smallConfig(), tc.opts(out), &stdout); err != nil {
				t.Fatalf("run: %v\n%s", err, stdout.String())
			}
			if _, err := os.Stat(filepath.Join(out, tc.dataset, "v1", "manifest.json")); err != nil {
				t.Errorf("no version under %s: %v\n%s", tc.dataset, err, stdout.String())
			}
		})
	}
}
