package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/inference/worker/workertest"
	"github.com/twigdata/twig/pipelines"
	"github.com/twigdata/twig/schema"
)

// TestLocalOnly runs the README's "local only" recipe end to end against
// the Python reference worker on its tiny random Janus model: the worker
// paints, and in its understanding mode thinks, critiques and judges, with
// no other service. The version must commit, verify and load in the
// independent Python reader; every sample ends accepted or rejected (a
// random model's answers are rejected by the judges, not failed), and the
// provenance names the worker's model for every role.
func TestLocalOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Python worker")
	}
	py := workertest.JanusPython(t)
	url := workertest.StartPython(t, py, "--model", "tiny-random", "--max-batch", "8", "--chat-max-batch", "8")
	resp, err := http.Get(url + worker.PathInfo)
	if err != nil {
		t.Fatal(err)
	}
	var info worker.Info
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if err != nil || !info.Chat {
		t.Fatalf("worker info %+v, %v: want a worker that serves chat", info, err)
	}

	ctx := context.Background()
	out := t.TempDir()
	cfg := pipelines.DefaultConfig()
	cfg.Builtin = 6
	cfg.Engine.ImageSize, cfg.Engine.PatchSize = info.ImageSize, info.PatchSize
	cfg.Backends.Generator = []string{url}
	o := runOptions{out: out, teacher: url + "/v1", teacherModel: info.Model}
	var stdout bytes.Buffer
	if err := runPipeline(ctx, cfg, o, &stdout); err != nil {
		t.Fatalf("twig run: %v\n%s", err, stdout.String())
	}
	version := filepath.Join(out, pipelines.DefaultRealDataset, "v1")
	if err := runVerify(ctx, version, &stdout); err != nil {
		t.Fatalf("twig verify: %v\n%s", err, stdout.String())
	}
	m, err := readManifestAt(ctx, version)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Counts
	if c.Seeded != 6 || !c.Reconciles() || c.Failed != 0 {
		t.Errorf("counts %+v: want 6 seeded, reconciled, none failed\n%s", c, stdout.String())
	}

	// Every thought, critique and judgement came from the worker's model.
	b, err := openBucket(ctx, out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var rows []schema.Trajectory
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		for _, sh := range m.Shards[config] {
			r, err := exporters.ReadShard[schema.Trajectory](ctx, b, pipelines.DefaultRealDataset+"/v1", sh.Path)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r...)
		}
	}
	if len(rows) != 6 {
		t.Fatalf("%d trajectories in the shards, want 6", len(rows))
	}
	for _, r := range rows {
		roles := map[string]string{}
		for _, rm := range r.Provenance.Models {
			roles[rm.Role] = rm.Model
		}
		for _, role := range []string{inference.RoleThink, inference.RoleCritique} {
			if roles[role] != info.Model {
				t.Errorf("%s: %s model %q, want the worker's %q", r.ID, role, roles[role], info.Model)
			}
		}
		if !strings.HasPrefix(roles[inference.RoleGenerate], info.Model) {
			t.Errorf("%s: generate model %q, want the worker's %q", r.ID, roles[inference.RoleGenerate], info.Model)
		}
		if r.Provenance.PromptWrapper != info.PromptWrapper || r.Provenance.PromptWrapper == "" {
			t.Errorf("%s: prompt wrapper %q, want the worker's %q", r.ID, r.Provenance.PromptWrapper, info.PromptWrapper)
		}
		var vlm *schema.JudgeResult
		for i := range r.Judges {
			if r.Judges[i].Name == "vlm" {
				vlm = &r.Judges[i]
			}
		}
		if vlm == nil || strings.Contains(vlm.Reason, "not a codebook canvas") {
			t.Errorf("%s: vlm judge result %+v: want the worker's answer judged", r.ID, vlm)
		}
	}
	if !strings.Contains(string(mustJSON(t, m.Models)), info.Model) {
		t.Errorf("manifest models %+v do not name the worker's model", m.Models)
	}

	t.Logf("twig run against the Python worker:\n%s", stdout.String())

	// The independent reader loads the version.
	cmd := exec.Command(pythonBin(), "../../testdata/check_version.py", version)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("check_version.py: %v\n%s", err, out)
	} else if bytes.Contains(out, []byte(`"errors": ["`)) {
		t.Errorf("check_version.py found problems: %s", out)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
