package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
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
	}{
		{"annotators", annotators.Parse},
		{"mini parser", miniParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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

// engineRun is the engine's trajectories over composed prompts, run with
// the default simulator configurations.
type engineRun struct {
	prompts      []string
	trajectories []*schema.Trajectory
}

// composedPrompts returns n prompts of annotators.Compose, every category
// in turn.
func composedPrompts(n int) []string {
	var out []string
	for _, c := range annotators.Compose(n, 2025) {
		out = append(out, c.Text)
	}
	return out
}

// runEngine runs the real engine (inference.New) with the default painter
// and reasoner on each prompt, sample seed = the prompt's index.
func runEngine(t testing.TB, cfg inference.Config, prompts []string) engineRun {
	t.Helper()
	e, err := inference.New(cfg, NewPainter(DefaultPainterConfig()), NewReasoner(DefaultReasonerConfig()))
	if err != nil {
		t.Fatal(err)
	}
	run := engineRun{prompts: prompts, trajectories: make([]*schema.Trajectory, len(prompts))}
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := prompts[i]
				run.trajectories[i], errs[i] = e.Run(context.Background(), schema.Seed{
					ID: fmt.Sprintf("p%04d", i), Prompt: p, PromptNormalized: p, Category: "other", Seed: int64(i),
				})
			}
		}()
	}
	for i := range prompts {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return run
}

// acceptedLike reports whether every region's kept attempt was accepted by
// its critique: the final image is one the loop itself approved.
func acceptedLike(tr *schema.Trajectory) bool {
	for _, r := range tr.Regions {
		if r.Attempts[len(r.Attempts)-1].Decision != schema.DecisionAccept {
			return false
		}
	}
	return true
}

// phantomClasses returns the object classes of the final tokens that are
// the class of no object of the prompt's analysis.
func phantomClasses(tr *schema.Trajectory) []int {
	named := map[int]bool{}
	for _, o := range annotators.Parse(tr.Prompt).Objects {
		named[ClassOf(o.Noun)] = true
	}
	seen := map[int]bool{}
	var out []int
	for _, id := range tr.FinalTokens {
		if c := Split(id).Class; c != 0 && !named[c] && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// TestPhantomObjects measures the share of final images that carry an
// object class the prompt does not name, among those the loop accepted
// (every region's kept attempt accepted) and among all. Run it with
// go test ./inference/sim -run Phantom -v to see the figures.
func TestPhantomObjects(t *testing.T) {
	prompts := composedPrompts(300)
	repaints := inference.DefaultConfig()
	repaints.CritiqueRepaints = true // repaints can be accepted too
	for _, tt := range []struct {
		name string
		cfg  inference.Config
	}{
		{"default", inference.DefaultConfig()},
		{"critique repaints", repaints},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := runEngine(t, tt.cfg, prompts)
			accepted, phantomAccepted, phantomAll := 0, 0, 0
			for i, tr := range run.trajectories {
				extra := phantomClasses(tr)
				if len(extra) > 0 {
					phantomAll++
					if phantomAll <= 3 {
						t.Logf("phantom classes %v in %q: kept thoughts %q", extra, run.prompts[i], keptThoughts(tr))
					}
				}
				if !acceptedLike(tr) {
					continue
				}
				accepted++
				if len(extra) > 0 {
					phantomAccepted++
					if phantomAccepted <= 3 {
						t.Logf("phantom classes %v in accepted %q: thoughts %q", extra, run.prompts[i], keptThoughts(tr))
					}
				}
			}
			t.Logf("%d composed prompts: %d accepted-like; phantom objects in %d of them (%.1f%%), in %d of all %d (%.1f%%)",
				len(prompts), accepted, phantomAccepted, pct(phantomAccepted, accepted), phantomAll, len(prompts), pct(phantomAll, len(prompts)))
			if phantomAccepted != 0 {
				t.Errorf("%d of %d accepted-like images carry a phantom object, want 0", phantomAccepted, accepted)
			}
			// Nothing in the simulator paints a noun the prompt does not
			// name, so no final image at all should carry one.
			if phantomAll != 0 {
				t.Errorf("%d of %d final images carry a phantom object, want 0", phantomAll, len(prompts))
			}
			if accepted < len(prompts)/4 {
				t.Errorf("only %d of %d trajectories accepted-like", accepted, len(prompts))
			}
		})
	}
}

// TestScoreSpread measures the first-pass critique scores of the engine
// on the simulator: there must be real mass just below theta 90 (80-89),
// not only clear passes and clear failures. Run it with
// go test ./inference/sim -run ScoreSpread -v to see the histogram.
func TestScoreSpread(t *testing.T) {
	prompts := composedPrompts(300)
	run := runEngine(t, inference.DefaultConfig(), prompts)
	var bins [10]int
	scored, unscored, regions, repainted, accepted := 0, 0, 0, 0, 0
	for _, tr := range run.trajectories {
		if acceptedLike(tr) {
			accepted++
		}
		for _, r := range tr.Regions {
			regions++
			if len(r.Attempts) > 1 {
				repainted++
			}
			c := r.Attempts[0].Critique
			if c.Score == nil {
				unscored++
				continue
			}
			scored++
			bins[min(int(*c.Score)/10, 9)]++
		}
	}
	var b strings.Builder
	for i, n := range bins {
		hi := i*10 + 9
		if i == 9 {
			hi = 100
		}
		fmt.Fprintf(&b, "\n  %2d-%-3d %4d %5.1f%% %s", i*10, hi, n, pct(n, scored), strings.Repeat("#", (200*n+scored)/(2*max(scored, 1))))
	}
	t.Logf("first-pass critique scores of %d regions (%d prompts), %d without a score:%s", scored, len(prompts), unscored, b.String())
	t.Logf("%d of %d regions repainted (%.1f%%); %d of %d trajectories accepted-like (%.1f%%)",
		repainted, regions, pct(repainted, regions), accepted, len(prompts), pct(accepted, len(prompts)))
	if share := pct(bins[8], scored); share < 5 {
		t.Errorf("%.1f%% of first-pass scores in 80-89, want at least 5%%", share)
	}
	if share := pct(bins[9], scored); share < 30 {
		t.Errorf("%.1f%% of first-pass scores at 90 or more, want at least 30%%", share)
	}
	if share := pct(accepted, len(prompts)); share < 25 {
		t.Errorf("%.1f%% of trajectories accepted-like, want at least 25%%", share)
	}
}

// keptThoughts returns the thoughts of the kept attempts.
func keptThoughts(tr *schema.Trajectory) []string {
	var out []string
	for _, r := range tr.Regions {
		out = append(out, r.Attempts[len(r.Attempts)-1].Thought)
	}
	return out
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
