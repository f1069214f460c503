package inference_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/schema"
)

// scripted is a test backend for the loop's table tests: its critic
// answers from a script keyed by region and call number, and its painter
// fills a region with one token value derived from the request, so tests
// can see which attempt's tokens were kept. The faithful simulator in
// inference/sim is tested against the same loop elsewhere.
type scripted struct {
	critiques map[int][]string // region -> answers, one per critique call, in order
	calls     map[int]int      // region -> critique calls so far
	prefixes  []string
}

func (s *scripted) Think(_ context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	return inference.Reply{Text: fmt.Sprintf("  \"Thought number %d.\"\n", req.Region), Model: "script-reasoner", Usage: schema.Usage{InputTokens: 10, OutputTokens: 4}}, nil
}

func (s *scripted) Critique(_ context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	answers := s.critiques[req.Region]
	i := s.calls[req.Region]
	s.calls[req.Region]++
	if i >= len(answers) {
		return inference.Reply{}, fmt.Errorf("script: region %d has no answer %d", req.Region, i)
	}
	return inference.Reply{Text: answers[i], Model: "script-critic"}, nil
}

func (s *scripted) Generate(_ context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	s.prefixes = append(s.prefixes, req.Prefix)
	h := fnv.New32a()
	fmt.Fprint(h, req.Seed)
	toks := make([]int32, req.N)
	for i := range toks {
		toks[i] = int32(h.Sum32()%1000) + 1
	}
	return inference.GenerateResponse{Tokens: toks, Model: "script-painter"}, nil
}

func (s *scripted) Decode(_ context.Context, tokens []int32) (inference.DecodeResponse, error) {
	h := fnv.New64a()
	fmt.Fprint(h, tokens)
	return inference.DecodeResponse{PNG: fmt.Appendf(nil, "canvas-%x", h.Sum64()), Model: "script-painter"}, nil
}

func score(n int, revised string) string {
	return fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION: %s", n, revised)
}

const malformed = "The band looks fine to me."

func testSeed() schema.Seed {
	return schema.Seed{ID: schema.TrajectoryID("t", "a red apple", 0), Dataset: "t", Split: "train",
		Prompt: "a red apple", PromptNormalized: "a red apple", Category: "colour", Seed: 42}
}

// TestLoop checks the reference behaviour region by region: the decisions
// taken, the number of attempts and the kept thought.
func TestLoop(t *testing.T) {
	type region struct {
		decisions []string
		status    string
		thought   string // the thought of the last attempt
		retries   int    // unparseable answers before the used one, first attempt
	}
	good := score(95, "Fine.")
	tests := []struct {
		name      string
		configure func(*inference.Config)
		script    map[int][]string
		want      []region
		wantErr   error
	}{
		{
			name:   "all accepted",
			script: map[int][]string{0: {good}, 1: {good}, 2: {good}},
			want: []region{
				{[]string{"accept"}, "accepted", "Thought number 0.", 0},
				{[]string{"accept"}, "accepted", "Thought number 1.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:   "exactly theta is accepted with >=",
			script: map[int][]string{0: {score(90, "x.")}, 1: {score(89, "Better one.")}, 2: {good}},
			want: []region{
				{[]string{"accept"}, "accepted", "Thought number 0.", 0},
				{[]string{"repaint", "not_critiqued"}, "repainted", "Better one.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:      "exactly theta is repainted with >",
			configure: func(c *inference.Config) { c.Comparator = ">" },
			script:    map[int][]string{0: {score(90, "Again.")}, 1: {good}, 2: {good}},
			want: []region{
				{[]string{"repaint", "not_critiqued"}, "repainted", "Again.", 0},
				{[]string{"accept"}, "accepted", "Thought number 1.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:      "repaint limit with repaints critiqued",
			configure: func(c *inference.Config) { c.MaxRepaints = 2; c.CritiqueRepaints = true },
			script:    map[int][]string{0: {score(10, "A."), score(20, "B."), score(30, "C.")}, 1: {score(40, "D."), good}, 2: {good}},
			want: []region{
				{[]string{"repaint", "repaint", "keep_limit"}, "repainted", "B.", 0},
				{[]string{"repaint", "accept"}, "repainted", "D.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:      "no repaints allowed keeps a low score",
			configure: func(c *inference.Config) { c.MaxRepaints = 0 },
			script:    map[int][]string{0: {score(5, "A.")}, 1: {good}, 2: {good}},
			want: []region{
				{[]string{"keep_limit"}, "kept_below_threshold", "Thought number 0.", 0},
				{[]string{"accept"}, "accepted", "Thought number 1.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:   "parse failure retried once then parsed",
			script: map[int][]string{0: {malformed, score(99, "x.")}, 1: {good}, 2: {good}},
			want: []region{
				{[]string{"accept"}, "accepted", "Thought number 0.", 1},
				{[]string{"accept"}, "accepted", "Thought number 1.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:   "parse failure twice keeps the first attempt",
			script: map[int][]string{0: {good}, 1: {malformed, "SCORE: high\nIMPROVED_DESCRIPTION: x."}, 2: {good}},
			want: []region{
				{[]string{"accept"}, "accepted", "Thought number 0.", 0},
				{[]string{"parse_failed"}, "parse_failed", "Thought number 1.", 1},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:      "parse failure repaints under the repaint policy",
			configure: func(c *inference.Config) { c.OnParseFailure = inference.OnParseFailureRepaint; c.CritiqueRetries = 0 },
			script:    map[int][]string{0: {malformed}, 1: {good}, 2: {good}},
			want: []region{
				{[]string{"repaint", "not_critiqued"}, "repainted", "Thought number 0.", 0},
				{[]string{"accept"}, "accepted", "Thought number 1.", 0},
				{[]string{"accept"}, "accepted", "Thought number 2.", 0},
			},
		},
		{
			name:      "parse failure fails the trajectory under the fail policy",
			configure: func(c *inference.Config) { c.OnParseFailure = inference.OnParseFailureFail },
			script:    map[int][]string{0: {malformed, malformed}},
			wantErr:   inference.ErrParseFailed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := inference.DefaultConfig()
			if tc.configure != nil {
				tc.configure(&cfg)
			}
			s := &scripted{critiques: tc.script, calls: map[int]int{}}
			e, err := inference.New(cfg, s, s)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := e.Run(context.Background(), testSeed())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Run error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr.Verdict = schema.Verdict{Status: schema.StatusAccepted}
			if err := tr.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for k, w := range tc.want {
				r := tr.Regions[k]
				var got []string
				for _, a := range r.Attempts {
					got = append(got, a.Decision)
				}
				if !reflect.DeepEqual(got, w.decisions) {
					t.Errorf("region %d decisions = %v, want %v", k, got, w.decisions)
				}
				if r.Status != w.status {
					t.Errorf("region %d status = %q, want %q", k, r.Status, w.status)
				}
				last := r.Attempts[len(r.Attempts)-1]
				if last.Thought != w.thought {
					t.Errorf("region %d kept thought = %q, want %q", k, last.Thought, w.thought)
				}
				if n := len(r.Attempts[0].Critique.Retries); n != w.retries {
					t.Errorf("region %d retries = %d, want %d", k, n, w.retries)
				}
				span := tr.Schedule.Spans[k]
				if !reflect.DeepEqual(tr.FinalTokens[span.Start:span.End], last.Tokens) {
					t.Errorf("region %d: final tokens are not the kept attempt's", k)
				}
			}
		})
	}
}

// TestRepaintKeepsFirstAttempt checks that a repaint adds an attempt, keeps
// the first one intact, and that later prefixes use the revised thought
// without the prompt.
func TestRepaintKeepsFirstAttempt(t *testing.T) {
	s := &scripted{critiques: map[int][]string{0: {score(40, "A revised thought.")}, 1: {score(95, "x.")}, 2: {score(95, "x.")}}, calls: map[int]int{}}
	e, err := inference.New(inference.DefaultConfig(), s, s)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.Run(context.Background(), testSeed())
	if err != nil {
		t.Fatal(err)
	}
	a0, a1 := tr.Regions[0].Attempts[0], tr.Regions[0].Attempts[1]
	if reflect.DeepEqual(a0.Tokens, a1.Tokens) || string(a0.Canvas.Bytes) == string(a1.Canvas.Bytes) {
		t.Errorf("repaint did not produce new tokens and canvas")
	}
	if a0.Critique.Score == nil || *a0.Critique.Score != 40 || a0.Thought != "Thought number 0." {
		t.Errorf("first attempt overwritten: %+v", a0)
	}
	want := []string{
		"Thought number 0.",
		"A revised thought.",
		"A revised thought. Thought number 1.",
		"A revised thought. Thought number 1. Thought number 2.",
	}
	if !reflect.DeepEqual(s.prefixes, want) {
		t.Errorf("prefixes = %q, want %q", s.prefixes, want)
	}
	if got := tr.Provenance.Calls; len(got) != 3+4*2+3 {
		t.Errorf("recorded %d calls, want 14: %+v", len(got), got)
	}
}

func TestPromptInPrefix(t *testing.T) {
	good := score(95, "x.")
	s := &scripted{critiques: map[int][]string{0: {good}, 1: {good}, 2: {good}}, calls: map[int]int{}}
	cfg := inference.DefaultConfig()
	cfg.PromptInPrefix = true
	e, err := inference.New(cfg, s, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background(), testSeed()); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.prefixes {
		if !strings.HasPrefix(p, "a red apple Thought number 0.") {
			t.Errorf("prefix %q does not start with the prompt", p)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*inference.Config)
		want      string // substring naming the knob; "" for valid
	}{
		{"default", func(*inference.Config) {}, ""},
		{"K zero", func(c *inference.Config) { c.K = 0 }, "config k:"},
		{"K larger than grid", func(c *inference.Config) { c.K = 25 }, "config k:"},
		{"theta 150", func(c *inference.Config) { c.Theta = 150 }, "config theta:"},
		{"bad comparator", func(c *inference.Config) { c.Comparator = "<" }, "config comparator:"},
		{"negative repaints", func(c *inference.Config) { c.MaxRepaints = -1 }, "config max_repaints:"},
		{"image not multiple of patch", func(c *inference.Config) { c.ImageSize = 380 }, "config image_size:"},
		{"band rows wrong sum", func(c *inference.Config) { c.BandRows = []int{8, 8, 7} }, "config band_rows:"},
		{"band rows ok", func(c *inference.Config) { c.BandRows = []int{6, 12, 6} }, ""},
		{"unknown policy", func(c *inference.Config) { c.OnParseFailure = "ignore" }, "config on_parse_failure:"},
		{"reference policy", func(c *inference.Config) { c.OnParseFailure, c.CritiqueRetries = "accept", 0 }, ""},
		{"two repaints, none critiqued", func(c *inference.Config) { c.MaxRepaints = 2 }, "config max_repaints: 2 needs critique_repaints"},
		{"two repaints, critiqued", func(c *inference.Config) { c.MaxRepaints, c.CritiqueRepaints = 2, true }, ""},
		{"unknown template", func(c *inference.Config) { c.ThinkTemplate = "think-v9" }, "config think_template:"},
		{"template text with an unknown variable", func(c *inference.Config) {
			c.CritiqueTemplate = "mine.tmpl"
			c.TemplateTexts = map[string]string{"mine.tmpl": "Score the band.\n{{.Promt}}"}
		}, "mine.tmpl:2:2: unknown variable .Promt"},
		{"v1 templates", func(c *inference.Config) { c.ThinkTemplate, c.CritiqueTemplate = "think-v1", "critique-v1" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := inference.DefaultConfig()
			tc.configure(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name string
		k    int
		rows []int
		want []schema.Span
	}{
		{"reference K=3", 3, nil, []schema.Span{{Start: 0, End: 192}, {Start: 192, End: 384}, {Start: 384, End: 576}}},
		{"K=5 remainder to last", 5, nil, []schema.Span{{Start: 0, End: 96}, {Start: 96, End: 192}, {Start: 192, End: 288}, {Start: 288, End: 384}, {Start: 384, End: 576}}},
		{"explicit rows", 2, []int{6, 18}, []schema.Span{{Start: 0, End: 144}, {Start: 144, End: 576}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := inference.DefaultConfig()
			c.K, c.BandRows = tc.k, tc.rows
			if got := c.Schedule().Spans; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("spans = %v, want %v", got, tc.want)
			}
		})
	}
}

// failingThinker fails the thought of one region.
type failingThinker struct {
	inference.Reasoner
	region int
}

func (f failingThinker) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	if req.Region == f.region {
		return inference.Reply{}, errors.New("model unavailable")
	}
	return f.Reasoner.Think(ctx, req)
}

// TestErrorsCountRegionsFromOne: a failure names the region as a reader
// counts it.
func TestErrorsCountRegionsFromOne(t *testing.T) {
	cfg := inference.DefaultConfig()
	e, err := inference.New(cfg, sim.NewPainter(sim.PainterConfig{}), failingThinker{sim.NewReasoner(sim.ReasonerConfig{}), 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Run(context.Background(), schema.Seed{ID: "s", Prompt: "a red apple on a table", Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "trajectory s: region 2: think: model unavailable") {
		t.Errorf("Run = %v, want the error to name region 2 (the second band)", err)
	}
}
