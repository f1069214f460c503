package vlm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/schema"
)

var (
	_ filters.Judge    = (*vlm.Judge)(nil)
	_ filters.Prompted = (*vlm.Judge)(nil)
)

// paint runs the TwiG loop on the simulator (painter mistake rate
// mistakes, reasoner without slips) and returns the trajectory.
func paint(t testing.TB, prompt string, seed int64, mistakes float64) *schema.Trajectory {
	t.Helper()
	e, err := inference.New(inference.DefaultConfig(),
		sim.NewPainter(sim.PainterConfig{MistakeRate: mistakes}), sim.NewReasoner(sim.ReasonerConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.Run(context.Background(), schema.Seed{ID: "t", Prompt: prompt, PromptNormalized: prompt, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// plantMissing returns a copy of tr whose final image lost every token of
// noun's class, as if the painter had left it out and the loop kept it.
func plantMissing(t testing.TB, tr *schema.Trajectory, noun string) *schema.Trajectory {
	t.Helper()
	out := *tr
	out.FinalTokens = append([]int32(nil), tr.FinalTokens...)
	for i, id := range out.FinalTokens {
		if sim.Split(id).Class == sim.ClassOf(noun) {
			out.FinalTokens[i] = sim.Token{Colour: sim.ToneNeutral}.ID()
		}
	}
	png, err := sim.DefaultGeometry().Render(out.FinalTokens)
	if err != nil {
		t.Fatal(err)
	}
	out.FinalImage = schema.Image{Bytes: png, Path: tr.FinalImage.Path}
	return &out
}

func readPrompts(t testing.TB, file string, n int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "prompts", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" && len(out) < n {
			out = append(out, line)
		}
	}
	return out
}

// TestJudgeSimConsistent runs the real judge, template and parser against
// the simulated VLM on clean simulator images of real prompts: every
// answer parses at once, and every image passes with a high score.
func TestJudgeSimConsistent(t *testing.T) {
	j, err := vlm.New(sim.NewVLM(sim.VLMConfig{}), vlm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"color.txt", "shape.txt", "texture.txt", "spatial.txt", "3d_spatial.txt", "numeracy.txt", "non_spatial.txt"} {
		for i, prompt := range readPrompts(t, file, 6) {
			r, err := j.Judge(context.Background(), paint(t, prompt, int64(i), 0))
			if err != nil {
				t.Fatalf("%s %q: %v", file, prompt, err)
			}
			if !r.Pass || r.Score < 0.9 || strings.Contains(r.Reason, "correction") {
				t.Errorf("%s %q: clean image judged %+v", file, prompt, r)
			}
		}
	}
}

// TestJudgeSimMistakes checks that images the simulated painter got wrong
// score much lower than clean ones: the same prompts painted with a
// mistake rate of 1 (every object suffers a mistake; the loop repaints
// once and keeps what it gets) against a rate of 0.
func TestJudgeSimMistakes(t *testing.T) {
	j, err := vlm.New(sim.NewVLM(sim.VLMConfig{}), vlm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	prompts := readPrompts(t, "color.txt", 20)
	var clean, flawed []float64
	for i, prompt := range prompts {
		for _, rate := range []float64{0, 1} {
			r, err := j.Judge(context.Background(), paint(t, prompt, int64(i), rate))
			if err != nil {
				t.Fatal(err)
			}
			if rate == 0 {
				clean = append(clean, r.Score)
			} else {
				flawed = append(flawed, r.Score)
			}
		}
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	mc, mf := mean(clean), mean(flawed)
	t.Logf("mean score of %d images: clean %.3f, painted with mistakes %.3f", len(clean), mc, mf)
	if mf > mc-0.2 {
		t.Errorf("mean score clean %.3f, with mistakes %.3f: want the flawed much lower", mc, mf)
	}
}

// TestJudgeOverHTTP is the whole route: the judge asks the teacher client,
// through the call cache, the worker's OpenAI-compatible chat endpoint
// served by the simulator. A clean image passes, one with a planted
// mistake scores lower and fails, and rerunning the judge makes no call.
func TestJudgeOverHTTP(t *testing.T) {
	var requests atomic.Int64
	srv := worker.NewServer(worker.NewSimBackend(worker.SimConfig{}), worker.Options{})
	defer srv.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()

	client, err := teacher.New(teacher.Config{BaseURL: ts.URL + "/v1", Model: "twig-sim"})
	if err != nil {
		t.Fatal(err)
	}
	var viewer inference.Viewer = teacher.NewRetryViewer(client, teacher.RetryPolicy{MaxAttempts: 2})
	budget := &teacher.Budget{Name: "judge"}
	viewer = teacher.NewBudgetViewer(viewer, budget)
	c := cache.New(memblob.OpenBucket(nil), "cache")
	viewer = c.Viewer(viewer, cache.Identity{Kind: "openai", Model: "twig-sim"})
	j, err := vlm.New(viewer, vlm.Config{})
	if err != nil {
		t.Fatal(err)
	}

	const prompt = "a green bench and a blue bowl"
	good := paint(t, prompt, 1, 0)
	bad := plantMissing(t, good, "bowl")

	var counts cache.Counts
	ctx := cache.WithCounts(context.Background(), &counts)
	rGood, err := j.Judge(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	rBad, err := j.Judge(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	if !rGood.Pass || rGood.Score < 0.95 || rGood.Reason[:len("overall 9")] != "overall 9" || !strings.HasSuffix(rGood.Reason, "4/4 yes") {
		t.Errorf("clean image: %+v, want a pass near 1 with 4/4 yes", rGood)
	}
	wantNo := "no: Is there a bowl in the image?; Is the bowl blue?"
	if rBad.Pass || rBad.Score >= rGood.Score-0.3 || !strings.HasSuffix(rBad.Reason, "2/4 yes; "+wantNo) {
		t.Errorf("image without the bowl: %+v, want a fail well below %.2f ending %q", rBad, rGood.Score, wantNo)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d HTTP requests, want 2", n)
	}
	if s := budget.Spent(); s.InputTokens == 0 || s.OutputTokens == 0 {
		t.Errorf("budget spent %+v, want the usage counted", s)
	}

	// Rerun: every call is a cache hit, nothing reaches the worker.
	again, err := j.Judge(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if again != rGood {
		t.Errorf("rerun judged %+v, first %+v", again, rGood)
	}
	if got, want := counts.Snapshot()[inference.RoleJudge], (cache.Count{Hits: 1, Misses: 2}); got != want {
		t.Errorf("cache counts %+v, want %+v", got, want)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d HTTP requests after the rerun, want still 2", n)
	}

}
