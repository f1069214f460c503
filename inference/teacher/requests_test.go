package teacher

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/twigdata/twig/internal/golden"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/schema"
)

// goldenPrompt is the prompt of the rendered-request golden files.
const goldenPrompt = "a red apple and a green book on a wooden table"

// recordingDrawer records the draw requests of the teacher-image route.
type recordingDrawer struct {
	next inference.Drawer
	mu   sync.Mutex
	reqs []inference.DrawRequest
}

func (d *recordingDrawer) Draw(ctx context.Context, req inference.DrawRequest) (inference.DrawResponse, error) {
	d.mu.Lock()
	d.reqs = append(d.reqs, req)
	d.mu.Unlock()
	return d.next.Draw(ctx, req)
}

// runRecorded runs one trajectory of a route with the default
// configuration, the teacher client as thinker and critic against a fake
// OpenAI server, and the simulator as painter and drawer. It returns what
// the server received and the draw requests.
func runRecorded(t *testing.T, route string, mod func(*inference.Config)) ([]hit, []inference.DrawRequest, *schema.Trajectory) {
	t.Helper()
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, req wireRequest) {
		text := "A red apple lies next to a green book on a wooden table."
		if strings.Contains(req.Messages[0].text(), "IMPROVED_DESCRIPTION") {
			text = "SCORE: 93\nIMPROVED_DESCRIPTION: A red apple lies next to a green book on a wooden table."
		}
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o-2024-08-06", text, 100, 20))
	})
	client := newTestClient(t, f, nil)
	cfg := inference.DefaultConfig()
	cfg.Route = route
	if mod != nil {
		mod(&cfg)
	}
	painter := sim.NewPainter(sim.PainterConfig{})
	var e *inference.Engine
	var err error
	d := sim.NewDrawer(sim.PainterConfig{})
	rd := &recordingDrawer{next: d}
	if route == inference.RouteTeacherImage {
		e, err = inference.NewTeacherImage(cfg, painter, client, rd, d)
	} else {
		e, err = inference.New(cfg, painter, client)
	}
	if err != nil {
		t.Fatal(err)
	}
	traj, err := e.Run(context.Background(), schema.Seed{ID: "golden", Prompt: goldenPrompt, Seed: 7})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return f.Hits(), rd.reqs, traj
}

// describe writes the requests as a reader checks them: for each, the
// role and band, whether a picture went with it, and its text.
func describe(hits []hit, draws []inference.DrawRequest) string {
	var b strings.Builder
	for i, h := range hits {
		msgs := h.req.Messages
		role := "think"
		if strings.Contains(msgs[0].text(), "IMPROVED_DESCRIPTION") {
			role = "critique"
		}
		images := 0
		for _, m := range msgs {
			for _, p := range m.parts() {
				if p.Type == "image_url" {
					images++
				}
			}
		}
		fmt.Fprintf(&b, "=== request %d: %s, %d message(s), %d image(s), temperature ~0, max_tokens %d\n", i+1, role, len(msgs), images, h.req.MaxTokens)
		for _, m := range msgs {
			fmt.Fprintf(&b, "--- %s\n%s\n", m.Role, m.text())
		}
	}
	for i, d := range draws {
		fmt.Fprintf(&b, "=== draw request %d\n%s\n", i+1, d.Prompt)
	}
	return b.String()
}

// TestRenderedRequestsGolden pins the exact think, critique and draw
// requests that a default run sends to an OpenAI-compatible teacher, on
// both routes. Refresh with: go test ./inference/teacher -run Golden -update
func TestRenderedRequestsGolden(t *testing.T) {
	for _, route := range []string{inference.RouteInterleaved, inference.RouteTeacherImage} {
		t.Run(route, func(t *testing.T) {
			hits, draws, _ := runRecorded(t, route, nil)
			got := describe(hits, draws)
			file := filepath.Join("testdata", "requests-"+route+".golden")
			golden.Check(t, file, []byte(got))
		})
	}
}

// TestRequestsCarryEveryInstruction checks that the default templates, as
// sent, carry every instruction of the reference prompts
// (docs/fidelity.md lists them), in the variant each applies to.
func TestRequestsCarryEveryInstruction(t *testing.T) {
	hits, _, _ := runRecorded(t, inference.RouteInterleaved, nil)
	var first, later, critiques []string
	for _, h := range hits {
		text := h.req.Messages[0].text()
		switch {
		case strings.Contains(text, "IMPROVED_DESCRIPTION"):
			critiques = append(critiques, text)
		case len(first) == 0:
			first = append(first, text)
		default:
			later = append(later, text)
		}
	}
	if len(first) != 1 || len(later) != 2 || len(critiques) != 3 {
		t.Fatalf("got %d first-band, %d later-band and %d critique requests, want 1, 2 and 3", len(first), len(later), len(critiques))
	}
	checks := []struct {
		variant string
		texts   []string
		rule    string
		phrases []string
	}{
		{"first band", first, "expand the prompt into the first of K horizontal sections", []string{goldenPrompt, "description of the first of 3 horizontal sections"}},
		{"first band", first, "only what the prompt states or implies", []string{"only visible things that the prompt states or clearly implies"}},
		{"first band", first, "invent no objects, details or backgrounds", []string{"Add no object, detail or background"}},
		{"first band", first, "no section labels", []string{"Do not label the section"}},
		{"first band", first, "short and literal", []string{"short and literal"}},
		{"first band", first, "the sentence only", []string{"sentence alone"}},
		{"later band", later, "three horizontal parts, top to bottom", []string{"in 3 horizontal parts, going from top to bottom"}},
		{"later band", later, "the original prompt", []string{goldenPrompt}},
		{"later band", later, "the descriptions written so far", []string{"already written", "- A red apple"}},
		{"later band", later, "the partial image is attached", []string{"painted so far is attached"}},
		{"later band", later, "the next sentence, only new content continuing the painted part", []string{"next sentence", "only the new visible content", "carry on naturally from the part already painted"}},
		{"later band", later, "only details visible or implied", []string{"see in the picture or that the prompt clearly implies"}},
		{"later band", later, "no new objects or textures", []string{"no new objects and no new textures"}},
		{"later band", later, "no repetition", []string{"Do not repeat"}},
		{"later band", later, "no labels", []string{`no labels such as "Part", "Top" or "Layer"`}},
		{"later band", later, "plain and literal", []string{"plain and literal"}},
		{"later band", later, "follow the image on conflict", []string{"disagree, go by the picture"}},
		{"critique", critiques, "made in three layers", []string{"painted in 3 layers"}},
		{"critique", critiques, "the original prompt", []string{goldenPrompt}},
		{"critique", critiques, "the target layer's description", []string{"Description layer"}},
		{"critique", critiques, "the section by name", []string{"Section to evaluate: the ", "third (layer "}},
		{"critique", critiques, "the unpainted part is a beige placeholder to ignore", []string{"beige placeholder", "Leave any beige placeholder out of your judgement"}},
		{"critique", critiques, "score 0-100: matches the prompt, executes the description", []string{"from 0 to 100", "fits the prompt and carries out its description"}},
		{"critique", critiques, "partial content: full prompt alignment not needed", []string{"may show only part of what the prompt asks for", "does not have to match the whole prompt"}},
		{"critique", critiques, "the five criteria", []string{"colour accuracy, object completeness, detail richness, spatial relationships and visual coherence"}},
		{"critique", critiques, "full integer scale, no rounding to 5 or 10", []string{"Use any integer of the scale", "do not round to a multiple of 5 or 10"}},
		{"critique", critiques, "be critical, 95+ for perfection", []string{"Be strict", "95 and above for a section with no flaw"}},
		{"critique", critiques, "improved sentence: fix the issues found", []string{"one sentence", "fix the problems you found"}},
		{"critique", critiques, "precise visual details", []string{"colours, textures, where things sit within the section, sizes"}},
		{"critique", critiques, "this section only", []string{"keep to this horizontal section and describe no other"}},
		{"critique", critiques, "literal, no vague terms", []string{"concrete and literal, with no vague words"}},
		{"critique", critiques, "consistent with the whole prompt", []string{"agree with what the whole prompt intends"}},
		{"critique", critiques, "no positional or section/layer/portion words", []string{"no words of position such as top, middle or bottom", "no words such as section, layer or portion"}},
		{"critique", critiques, "invent nothing; no object of the prompt omitted across layers", []string{"invent nothing the prompt does not imply", "leave out no object the prompt names"}},
		{"critique", critiques, "output format", []string{"SCORE: <integer", "IMPROVED_DESCRIPTION: <one sentence"}},
	}
	for _, c := range checks {
		for i, text := range c.texts {
			for _, p := range c.phrases {
				if !strings.Contains(text, p) {
					t.Errorf("%s request %d does not carry %q (%s):\n%s", c.variant, i+1, p, c.rule, text)
				}
			}
		}
	}
	// The per-band parts of the critique: what is painted, and which
	// layers it must fit with.
	for k, want := range []string{"Only the top third holds painted content; the bottom two thirds is a beige placeholder",
		"Only the top two thirds holds painted content; the bottom third is a beige placeholder",
		"All of it is painted: this is the last layer"} {
		if !strings.Contains(critiques[k], want) {
			t.Errorf("critique %d does not say %q", k+1, want)
		}
	}
	// Consistency with the other layers: the first two leave room for
	// the layers to come, the last fits the layers above.
	for k, want := range []string{"leave room for the layers still to come", "leave room for the layers still to come",
		"fit with the layers already painted above it"} {
		if !strings.Contains(critiques[k], want) {
			t.Errorf("critique %d does not say %q", k+1, want)
		}
	}
}

// TestThinkWordsMatchWhatIsSent: a think request says a picture is
// attached exactly when one is sent, on both routes.
func TestThinkWordsMatchWhatIsSent(t *testing.T) {
	for _, route := range []string{inference.RouteInterleaved, inference.RouteTeacherImage} {
		t.Run(route, func(t *testing.T) {
			hits, _, _ := runRecorded(t, route, nil)
			thinks := 0
			for i, h := range hits {
				text := h.req.Messages[0].text()
				if strings.Contains(text, "IMPROVED_DESCRIPTION") {
					continue
				}
				thinks++
				sent := len(h.req.Messages[0].parts()) > 1
				says := strings.Contains(text, "attached") || strings.Contains(text, "picture painted so far")
				if sent != says {
					t.Errorf("request %d: image sent %v, but the words say attached %v:\n%s", i+1, sent, says, text)
				}
			}
			if thinks != 3 {
				t.Errorf("%d think requests, want 3", thinks)
			}
			// The think_k samples of the teacher-image route show the
			// canvas: their instruction is the variant that says so.
			_, _, traj := runRecorded(t, route, nil)
			for k, r := range traj.Regions {
				says := strings.Contains(r.Thought.SampleInput, "painted so far is attached")
				if want := route == inference.RouteTeacherImage && k > 0; says != want || (r.Thought.SampleInput != "") != want {
					t.Errorf("region %d: sample input %q; want the attached-canvas variant %v", k+1, r.Thought.SampleInput, want)
				}
			}
		})
	}
}

// TestReferenceParsePolicy: with on_parse_failure accept and no retry,
// an unreadable critique is accepted with one call, as the reference
// code does, and the record still says it did not parse.
func TestReferenceParsePolicy(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, req wireRequest) {
		text := "A red apple lies next to a green book."
		if strings.Contains(req.Messages[0].text(), "IMPROVED_DESCRIPTION") {
			text = "The band looks fine to me."
		}
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o", text, 10, 5))
	})
	cfg := inference.DefaultConfig()
	cfg.OnParseFailure, cfg.CritiqueRetries = inference.OnParseFailureAccept, 0
	e, err := inference.New(cfg, sim.NewPainter(sim.PainterConfig{}), newTestClient(t, f, nil))
	if err != nil {
		t.Fatal(err)
	}
	traj, err := e.Run(context.Background(), schema.Seed{ID: "ref", Prompt: goldenPrompt, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Hits()); n != 6 {
		t.Errorf("%d calls, want 6 (three thoughts, three critiques, no second call)", n)
	}
	for k, r := range traj.Regions {
		a := r.Attempts[0]
		if len(r.Attempts) != 1 || a.Decision != schema.DecisionAccept || a.Critique.Parse != schema.ParseMissingScore || a.Critique.Score != nil {
			t.Errorf("region %d: %d attempts, decision %s, parse %s, score %v; want one accepted attempt, parse missing_score, no score",
				k+1, len(r.Attempts), a.Decision, a.Critique.Parse, a.Critique.Score)
		}
	}
}
