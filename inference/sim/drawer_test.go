package sim_test

import (
	"context"
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/schema"
)

// TestTeacherImageRoute runs the engine's teacher-image route on the
// simulator: K captions, one drawn image, tokens from the encoder, one
// critiqued attempt per band and no repaint.
func TestTeacherImageRoute(t *testing.T) {
	cfg := inference.DefaultConfig()
	cfg.Route = inference.RouteTeacherImage
	pc := sim.PainterConfig{Geometry: sim.DefaultGeometry(), MistakeRate: 0.3}
	d := sim.NewDrawer(pc)
	r := sim.NewReasoner(sim.ReasonerConfig{Geometry: sim.DefaultGeometry()})
	e, err := inference.NewTeacherImage(cfg, sim.NewPainter(pc), r, d, d)
	if err != nil {
		t.Fatal(err)
	}
	seed := schema.Seed{ID: schema.TrajectoryID("t", "a red apple and a green train", 0), Prompt: "a red apple and a green train",
		PromptNormalized: "a red apple and a green train", Category: "colour", Seed: 5}
	below := 0
	for s := range int64(20) {
		seed.Seed = s
		tr, err := e.Run(context.Background(), seed)
		if err != nil {
			t.Fatal(err)
		}
		tr.Verdict.Status = schema.StatusAccepted
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
		for k, reg := range tr.Regions {
			if len(reg.Attempts) != 1 || !reg.Attempts[0].Critiqued {
				t.Fatalf("region %d: %d attempts, critiqued %v: want one critiqued attempt", k, len(reg.Attempts), reg.Attempts[0].Critiqued)
			}
			if reg.Attempts[0].Decision == schema.DecisionKeepLimit {
				below++
			}
		}
		if len(tr.FinalTokens) != 576 {
			t.Fatalf("final tokens = %d", len(tr.FinalTokens))
		}
	}
	if below == 0 {
		t.Errorf("no band scored below the threshold in 20 drawings at mistake rate 0.3")
	}
}
