package sim

import (
	"context"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// loopStats are the counts of a simulated run of the TwiG loop.
type loopStats struct {
	regions, repaints, parseFailures int
	// fixed counts repaints whose new attempt would pass a critique.
	fixed int
}

// runLoop runs the reference loop directly on the simulator, K=3, for each
// prompt: think, generate, decode, critique (one retry of an unparseable
// answer), and below 90 one repaint from the revised thought, which the
// reference does not critique again (we do, to count fixes, off the record).
func runLoop(t testing.TB, prompts []string, parse func(string) annotators.Analysis) loopStats {
	t.Helper()
	ctx := context.Background()
	p := NewPainter(DefaultPainterConfig())
	r := NewReasoner(DefaultReasonerConfig())
	p.parse, r.parse = parse, parse
	const K = 3
	g := p.Geometry()
	grid := g.Grid()
	var st loopStats
	for i, prompt := range prompts {
		seed := int64(i) * 1000
		tokens := make([]int32, g.Tokens())
		var thoughts []string
		var canvas []byte
		for k := range K {
			start, end := g.BandRows(k, K)
			reply, err := r.Think(ctx, inference.ThinkRequest{Prompt: prompt, Previous: thoughts, Canvas: canvas, Region: k, Regions: K, Seed: seed + int64(k)})
			if err != nil {
				t.Fatal(err)
			}
			thought := inference.CleanThought(reply.Text)
			paint := func(thought string, attempt int) ([]int32, []byte) {
				gen, err := p.Generate(ctx, inference.GenerateRequest{
					Prefix: strings.Join(append(thoughts[:len(thoughts):len(thoughts)], thought), " "),
					Prior:  tokens[:start*grid], N: (end - start) * grid,
					CFG: 5, Temperature: 1, TopP: 1, Seed: seed + int64(10*k+attempt),
				})
				if err != nil {
					t.Fatal(err)
				}
				full := append(append([]int32(nil), tokens[:start*grid]...), gen.Tokens...)
				full = append(full, make([]int32, g.Tokens()-len(full))...)
				dec, err := p.Decode(ctx, full)
				if err != nil {
					t.Fatal(err)
				}
				return gen.Tokens, dec.PNG
			}
			judge := func(thought string, img []byte, attempt int) inference.ParsedCritique {
				var c inference.ParsedCritique
				for try := range 2 {
					reply, err := r.Critique(ctx, inference.CritiqueRequest{
						Prompt: prompt, Thoughts: append(thoughts[:len(thoughts):len(thoughts)], thought), Canvas: img,
						Region: k, Regions: K, Seed: seed + int64(100*k+10*attempt+try),
					})
					if err != nil {
						t.Fatal(err)
					}
					if c = inference.ParseCritique(reply.Text); c.Status == schema.ParseOK {
						break
					}
				}
				return c
			}
			band, img := paint(thought, 0)
			st.regions++
			c := judge(thought, img, 0)
			switch {
			case c.Status != schema.ParseOK:
				st.parseFailures++
			case c.Score < 90:
				st.repaints++
				thought = c.Revised
				band, img = paint(thought, 1)
				if again := judge(thought, img, 1); again.Status == schema.ParseOK && again.Score >= 90 {
					st.fixed++
				}
			}
			copy(tokens[start*grid:], band)
			thoughts = append(thoughts, thought)
			canvas = img
		}
	}
	return st
}

func TestLoopRepaintShare(t *testing.T) {
	prompts := spread(readPrompts(t), 200)
	tests := []struct {
		name  string
		parse func(string) annotators.Analysis
		ready func() bool
	}{
		{"annotators", annotators.Parse, parserReady},
		{"mini parser", miniParse, func() bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ready() {
				t.Skip("annotators.Parse finds no object in \"a red apple and a green train\" yet")
			}
			st := runLoop(t, prompts, tt.parse)
			share := float64(st.repaints) / float64(st.regions)
			t.Logf("%d prompts, %d regions: %d repainted (%.1f%%), %d of them pass when critiqued again; %d critiques unparseable after a retry",
				len(prompts), st.regions, st.repaints, 100*share, st.fixed, st.parseFailures)
			if share < 0.05 || share > 0.60 {
				t.Errorf("repaint share %.3f, want between 0.05 and 0.60", share)
			}
		})
	}
}
