package inference_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/schema"
)

// writeTemplate writes a template file in a temporary folder.
func writeTemplate(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadTemplateFileRefusesBadTemplates(t *testing.T) {
	tests := []struct {
		name, role, text string
		want             string // after the file's path
	}{
		{"does not parse", inference.RoleThink, "Describe {{.Prompt}}.\nBand {{.Band}\n", ":2: bad character U+007D '}'"},
		{"unknown variable", inference.RoleThink, "Describe {{.Prompt}}.\n\nBand {{.Bnd}} of {{.Regions}}.\n", ":3:7: unknown variable .Bnd (known: .Band, .BandName, .First, .Image, .Last, .Previous, .Prompt, .Regions)"},
		{"unknown variable of the critique", inference.RoleCritique, "{{.Prompt}} {{.Painted}} {{.Scor}}", ":1:27: unknown variable .Scor"},
		{"unknown variable in a branch", inference.RoleCritique, "{{if .Last}}x{{else}}{{.Nope}}{{end}}", ":1:23: unknown variable .Nope"},
		{"unknown variable through $", inference.RoleThink, "{{range .Previous}}{{$.Promt}}{{end}}", ":1:22: unknown variable .Promt"},
		{"unknown function", inference.RoleThink, "{{upper .Prompt}}", ":1: function \"upper\" not defined"},
		{"field of a string", inference.RoleThink, "{{range .Previous}}{{.Text}}{{end}}", ":1:21: executing"},
		{"empty", inference.RoleDraw, "", "the template is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemplate(t, "mine.tmpl", tc.text)
			_, err := inference.ReadTemplateFile(tc.role, path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadTemplateFile = %v, want an error containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "mine.tmpl") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := inference.ReadTemplateFile(inference.RoleThink, filepath.Join(t.TempDir(), "missing.tmpl")); err == nil || !strings.Contains(err.Error(), "missing.tmpl") {
		t.Errorf("a missing file: %v, want an error naming it", err)
	}
}

// TestTemplateFileInProvenance: a run with a user's template renders its
// words and records its file, id, version and SHA-256.
func TestTemplateFileInProvenance(t *testing.T) {
	text := "Band {{.Band}} of {{.Regions}} for \"{{.Prompt}}\"{{if .Image}}, canvas attached{{end}}: one sentence.\n"
	path := writeTemplate(t, "paper-think-v7.tmpl", text)
	cfg := inference.DefaultConfig()
	cfg.ThinkTemplate = path
	if err := cfg.ReadTemplateFiles(); err != nil {
		t.Fatal(err)
	}
	if cfg.TemplateTexts[path] != text {
		t.Fatalf("TemplateTexts = %v, want the file's text under its path", cfg.TemplateTexts)
	}
	// The file may go away: the text travels in the configuration.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := cfg.ReadTemplateFiles(); err != nil {
		t.Fatalf("ReadTemplateFiles without the file but with its text: %v", err)
	}
	geo := sim.Geometry{ImageSize: cfg.ImageSize, PatchSize: cfg.PatchSize}
	e, err := inference.New(cfg, sim.NewPainter(sim.PainterConfig{Geometry: geo}), sim.NewReasoner(sim.ReasonerConfig{Geometry: geo}))
	if err != nil {
		t.Fatal(err)
	}
	traj, err := e.Run(context.Background(), schema.Seed{ID: "s", Prompt: "a red apple on a table", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := traj.Regions[1].Thought.Input, "Band 2 of 3 for \"a red apple on a table\", canvas attached: one sentence.\n"; got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
	sum := sha256.Sum256([]byte(text))
	want := schema.TemplateRef{Role: inference.RoleThink, ID: "paper-think", Version: "7", Source: path, SHA256: hex.EncodeToString(sum[:])}
	if got := traj.Provenance.Templates[0]; got != want {
		t.Errorf("provenance template = %+v, want %+v", got, want)
	}
	if got := traj.Provenance.Templates[1]; got.Source != "builtin" || got.ID != "critique" || got.Version != "2" || len(got.SHA256) != 64 {
		t.Errorf("built-in critique template ref = %+v", got)
	}
	// Paths count regions and attempts from 1, as a reader does.
	if got := traj.Regions[2].Attempts[0].Canvas.Path; got != "s/region3-attempt1.png" {
		t.Errorf("canvas path of the first pass of the last band = %q, want s/region3-attempt1.png", got)
	}
	if traj.Provenance.Route != inference.RouteInterleaved {
		t.Errorf("route %q, want %q", traj.Provenance.Route, inference.RouteInterleaved)
	}
}

// TestUncritiquedAttemptHasNoScore: a repaint that is not critiqued
// again carries no score, so that it does not count as a zero.
func TestUncritiquedAttemptHasNoScore(t *testing.T) {
	cfg := inference.DefaultConfig()
	geo := sim.Geometry{ImageSize: cfg.ImageSize, PatchSize: cfg.PatchSize}
	e, err := inference.New(cfg, sim.NewPainter(sim.PainterConfig{Geometry: geo, MistakeRate: 1}), sim.NewReasoner(sim.ReasonerConfig{Geometry: geo}))
	if err != nil {
		t.Fatal(err)
	}
	repaints := 0
	for i := range 20 {
		traj, err := e.Run(context.Background(), schema.Seed{ID: "s", Prompt: "two red apples and a blue cup on a table", Seed: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range traj.Regions {
			for _, a := range r.Attempts {
				if a.Decision != schema.DecisionNotCritiqued {
					continue
				}
				repaints++
				if a.Critiqued || a.Critique.Score != nil {
					t.Errorf("uncritiqued attempt: critiqued %v, score %v; want false and null", a.Critiqued, *a.Critique.Score)
				}
			}
		}
	}
	if repaints == 0 {
		t.Fatal("no uncritiqued repaint in 20 trajectories with mistake rate 1: the test checks nothing")
	}
}
