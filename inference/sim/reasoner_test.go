package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

func testReasoner(malformed, drift float64, parse func(string) annotators.Analysis) *Reasoner {
	r := NewReasoner(ReasonerConfig{MalformedRate: malformed, DriftRate: drift})
	r.parse = parse
	return r
}

// think returns the thoughts of all K bands of prompt.
func think(t testing.TB, r *Reasoner, prompt string, K int, seed int64) []string {
	t.Helper()
	var thoughts []string
	for k := range K {
		reply, err := r.Think(context.Background(), inference.ThinkRequest{
			Instruction: "Write the description.", Prompt: prompt, Previous: thoughts, Region: k, Regions: K, Seed: seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		thoughts = append(thoughts, reply.Text)
	}
	return thoughts
}

func TestThinkPlans(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		K      int
		want   [][]string // nouns per band, in order
	}{
		{"central", "a green bench and a blue bowl", 3, [][]string{nil, {"bench", "bowl"}, nil}},
		{"relation kept", "a red apple on the left of a green train", 3, [][]string{nil, {"apple", "train"}, nil}},
		{"above goes up", "a girl on the top of a frog", 3, [][]string{{"girl"}, {"frog"}, nil}},
		{"below goes down", "a bicycle on the bottom of a girl", 3, [][]string{nil, {"girl"}, {"bicycle"}}},
		{"crowded band spreads", "a cat and a dog and a bee and a fox and a cow", 3, [][]string{{"cow"}, {"cat", "dog", "bee"}, {"fox"}}},
		{"one band", "a girl on the top of a frog", 1, [][]string{{"girl", "frog"}}},
		{"two bands", "a red apple and a green train", 2, [][]string{{"apple"}, {"train"}}},
		{"four bands", "a red apple and a green train", 4, [][]string{nil, {"apple"}, {"train"}, nil}},
		{"count", "two boys", 3, [][]string{nil, {"boy"}, nil}},
	}
	r := testReasoner(0, 0, miniParse)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			thoughts := think(t, r, tt.prompt, tt.K, 1)
			for k, th := range thoughts {
				var got []string
				for _, o := range miniParse(th).Objects {
					got = append(got, o.Noun)
				}
				if !slices.Equal(got, tt.want[k]) {
					t.Errorf("band %d thought %q names %v, want %v", k, th, got, tt.want[k])
				}
			}
		})
	}
}

func TestThinkWording(t *testing.T) {
	r := testReasoner(0, 0, miniParse)
	tests := []struct {
		name, prompt string
		k            int
		wantAny      []string // the thought contains one of these
	}{
		{"relation words", "a green bench on the left of a blue bowl", 1, []string{"green bench", "on the left of a blue bowl"}},
		{"count words", "three red apples", 1, []string{"three red apples"}},
		{"irregular plural", "two women", 1, []string{"two women"}},
		{"scenery first band", "a red apple", 0, skyFillers},
		{"scenery last band", "a red apple", 2, groundFillers},
		{"restates what it cannot read", "Kitchen scene on the top of the hill", 1, []string{"kitchen scene above the hill."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := think(t, r, tt.prompt, 3, 1)[tt.k]
			if !slices.ContainsFunc(tt.wantAny, func(s string) bool { return strings.Contains(strings.ToLower(th), strings.ToLower(s)) }) {
				t.Errorf("thought %q, want it to contain one of %q", th, tt.wantAny)
			}
		})
	}
}

// thoughtProblem returns what breaks the thought rules in th, or "".
func thoughtProblem(th, prompt string) string {
	switch {
	case wordCount(th) < 3:
		return "fewer than 3 words"
	case lastSentence(th) != th || !strings.HasSuffix(th, "."):
		return "not one sentence"
	case labelRe.MatchString(th):
		return "starts with a label"
	}
	pw := words(prompt)
	for _, w := range words(th) {
		if slices.Contains(sectionWords, w) && !slices.Contains(pw, w) {
			return "uses the section word " + w
		}
	}
	return ""
}

// covered reports whether some object of have is o with its attributes, as
// the coverage judge checks.
func covered(o annotators.Object, have []annotators.Object) bool {
	return slices.ContainsFunc(have, func(h annotators.Object) bool {
		return h.Noun == o.Noun && (o.Colour == "" || h.Colour == o.Colour) &&
			(o.Shape == "" || h.Shape == o.Shape) && (o.Texture == "" || h.Texture == o.Texture)
	})
}

func TestThoughtsFollowRules(t *testing.T) {
	prompts := readPrompts(t)
	r := NewReasoner(ReasonerConfig{}) // the real parser, no drift
	for _, K := range []int{3, 1, 2, 4, 8} {
		uncovered, objects := 0, 0
		for _, prompt := range prompts {
			thoughts := think(t, r, prompt, K, 1)
			for k, th := range thoughts {
				if p := thoughtProblem(th, prompt); p != "" {
					t.Errorf("K=%d prompt %q band %d: thought %q %s", K, prompt, k, th, p)
				}
				if i := slices.Index(thoughts[:k], th); i >= 0 {
					t.Errorf("K=%d prompt %q: band %d repeats band %d: %q", K, prompt, k, i, th)
				}
			}
			var have []annotators.Object
			for _, th := range thoughts {
				have = append(have, annotators.Parse(th).Objects...)
			}
			for _, o := range annotators.Parse(prompt).Objects {
				objects++
				if !covered(o, have) {
					uncovered++
					t.Errorf("K=%d prompt %q: object %+v in no thought %q", K, prompt, o, thoughts)
				}
			}
		}
		t.Logf("K=%d: %d prompts, %d objects, %d not covered", K, len(prompts), objects, uncovered)
	}
}

func TestDriftRate(t *testing.T) {
	const n = 4000
	prompt := "a red apple on the left of a green train"
	tests := []struct {
		name string
		rate float64
	}{
		{"default", 0.05},
		{"none", 0},
		{"high", 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReasoner(0, tt.rate, miniParse)
			p := makePlan(miniParse, prompt, 3)
			kinds := map[string]int{}
			drifted := 0
			for seed := range int64(n) {
				th := think(t, r, prompt, 3, seed)
				for k := range th {
					if th[k] == p.sentences[k] {
						continue
					}
					drifted++
					switch {
					case thoughtProblem(th[k], prompt) == "not one sentence":
						kinds["two sentences"]++
					case thoughtProblem(th[k], prompt) != "":
						kinds["label"]++
					default:
						kinds["omit"]++
						if len(miniParse(th[k]).Objects) >= len(p.bands[k]) {
							t.Errorf("drifted thought %q omits nothing", th[k])
						}
					}
				}
			}
			got := float64(drifted) / (3 * n)
			if math.Abs(got-tt.rate) > 0.015+tt.rate/10 {
				t.Errorf("drift share %.3f, want %.3f", got, tt.rate)
			}
			if tt.rate > 0 && len(kinds) != 3 {
				t.Errorf("drift kinds %v, want all three", kinds)
			}
			t.Logf("drift share %.3f (want %.3f): %v", got, tt.rate, kinds)
		})
	}
}

func TestThinkRejects(t *testing.T) {
	r := NewReasoner(DefaultReasonerConfig())
	ok := inference.ThinkRequest{Prompt: "a red apple", Region: 0, Regions: 3}
	tests := []struct {
		name string
		edit func(*inference.ThinkRequest)
	}{
		{"region past the end", func(q *inference.ThinkRequest) { q.Region = 3 }},
		{"negative region", func(q *inference.ThinkRequest) { q.Region = -1 }},
		{"no regions", func(q *inference.ThinkRequest) { q.Regions = 0 }},
		{"empty prompt", func(q *inference.ThinkRequest) { q.Prompt = "  " }},
		{"canvas not an image", func(q *inference.ThinkRequest) { q.Canvas = []byte("nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := ok
			tt.edit(&q)
			if _, err := r.Think(context.Background(), q); err == nil {
				t.Errorf("Think succeeded, want an error")
			}
		})
	}
	t.Run("usage and determinism", func(t *testing.T) {
		q := ok
		q.Instruction, q.Seed = "five words of instruction here", 9
		a, err := r.Think(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := r.Think(context.Background(), q)
		if a != b {
			t.Errorf("same request, replies %+v and %+v", a, b)
		}
		if a.Model != DefaultReasonerModel || a.Usage.InputTokens != 5 || int(a.Usage.OutputTokens) != wordCount(a.Text) {
			t.Errorf("reply %+v, want model %s, 5 input tokens, output tokens = words", a, DefaultReasonerModel)
		}
		q.MaxTokens = 2
		if c, _ := r.Think(context.Background(), q); wordCount(c.Text) != 2 {
			t.Errorf("MaxTokens 2: thought %q", c.Text)
		}
	})
}

// canvasFor paints bands 0..k of a K=3 canvas from sentences and returns
// the tokens (placeholder below band k).
func canvasFor(t testing.TB, p *Painter, sentences []string, seed int64) []int32 {
	t.Helper()
	grid := p.Geometry().Grid()
	toks := make([]int32, grid*grid)
	for k := range sentences {
		start, end := p.Geometry().BandRows(k, 3)
		resp, err := p.Generate(context.Background(), inference.GenerateRequest{
			Prefix: strings.Join(sentences[:k+1], " "), Prior: toks[:start*grid], N: (end - start) * grid,
			CFG: 5, Temperature: 1, TopP: 1, Seed: seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		copy(toks[start*grid:], resp.Tokens)
	}
	return toks
}

func critique(t testing.TB, r *Reasoner, prompt string, thoughts []string, tokens []int32, seed int64) inference.ParsedCritique {
	t.Helper()
	img, err := r.geo.Render(tokens)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := r.Critique(context.Background(), inference.CritiqueRequest{
		Prompt: prompt, Thoughts: thoughts, Canvas: img, Region: len(thoughts) - 1, Regions: 3, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return inference.ParseCritique(reply.Text)
}

// readsAs reports whether two sentences read (through parse) as the same
// objects, scenery included, and relations.
func readsAs(parse func(string) annotators.Analysis, a, b string) bool {
	return readingOf(parse, a).equal(readingOf(parse, b))
}

// insisting returns the phrases "<word> <what>" for each of words.
func insisting(words []string, what string) []string {
	var out []string
	for _, w := range words {
		out = append(out, w+" "+what)
	}
	return out
}

func TestCritiqueScores(t *testing.T) {
	const prompt = "a round red apple on the left of two green trains"
	p := testPainter(0, miniParse)
	r := testReasoner(0, 0, miniParse)
	plan := makePlan(miniParse, prompt, 3)
	grid := p.Geometry().Grid()
	tests := []struct {
		name string
		// painted is what band 1 is painted from; edit then changes its tokens.
		painted  string
		edit     func(band []int32)
		min, max int
		// The revision contains one of these (nil: no check).
		insists []string
	}{
		{"good", plan.sentences[1], nil, 84, 100, nil},
		{"wrong colour", "A round blue apple is on the left of two green trains.", nil, 0, 69, insisting(colourWords, "red apple")},
		{"missing object", "Two green trains.", nil, 0, 59, insisting(visibleWords, "round red apple")},
		{"wrong count", "A round red apple is on the left of three green trains.", nil, 0, 74, []string{"exactly two green trains"}},
		{"wrong shape", "A square red apple is on the left of two green trains.", nil, 0, 79, insisting(featureWords, "round red apple")},
		// Two unexpected classes: 2 x 10.
		{"unexpected objects", "A round red apple is on the left of two green trains, and a cat is next to a dog.", nil, 68, 79, []string{"Only a round red apple"}},
		{"placeholder left", plan.sentences[1], func(b []int32) { b[len(b)-1] = Placeholder }, 0, 39, insisting(visibleWords, "green trains")},
		{"repainted colour", plan.sentences[1], func(b []int32) {
			for i, id := range b {
				if tok := Split(id); tok.Class == ClassOf("train") {
					tok.Colour = ColourCode("yellow")
					b[i] = tok.ID()
				}
			}
		}, 0, 69, insisting(colourWords, "green trains")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scores := map[bool]int{}
			for seed := range int64(40) {
				thoughts := []string{plan.sentences[0], tt.painted}
				toks := canvasFor(t, p, thoughts, seed)
				if tt.edit != nil {
					tt.edit(toks[8*grid : 16*grid])
				}
				c := critique(t, r, prompt, thoughts, toks, seed)
				if c.Status != schema.ParseOK || c.Score < tt.min || c.Score > tt.max {
					t.Fatalf("seed %d: critique %+v, want a score in %d..%d", seed, c, tt.min, tt.max)
				}
				scores[c.Score >= 90]++
				// The revision reads back as the planned sentence and, unless
				// the critic is satisfied, differs from the thought it was
				// painted from.
				if !readsAs(miniParse, c.Revised, plan.sentences[1]) {
					t.Errorf("seed %d: revised %q does not read as the planned %q", seed, c.Revised, plan.sentences[1])
				}
				if c.Score < SatisfiedScore && sameWords(c.Revised, tt.painted) {
					t.Errorf("seed %d: score %d, but the revision %q repeats the thought", seed, c.Score, c.Revised)
				}
				if c.Score >= SatisfiedScore && c.Revised != tt.painted {
					t.Errorf("seed %d: score %d, but the revision %q does not repeat the thought %q", seed, c.Score, c.Revised, tt.painted)
				}
				if tt.insists != nil && !slices.ContainsFunc(tt.insists, func(w string) bool { return strings.Contains(c.Revised, w) }) {
					t.Errorf("seed %d: revised %q, want it to contain one of %q", seed, c.Revised, tt.insists)
				}
			}
			if tt.name == "good" && (scores[true] == 0 || scores[false] == 0) {
				t.Errorf("flawless band: %d scores at 90 or more, %d below, want both", scores[true], scores[false])
			}
		})
	}
}

func TestCritiqueRepeatsGoodThought(t *testing.T) {
	const prompt = "a red apple"
	p := testPainter(0, miniParse)
	r := testReasoner(0, 0, miniParse)
	planned := makePlan(miniParse, prompt, 3).sentences[1]
	tests := []struct {
		name, thought string
		// want is the revision; "" means the thought when the critic is
		// satisfied, else another wording of the planned sentence.
		want string
	}{
		{"own words kept", "There is one red apple.", ""},
		{"label replaced", "Part 2: A red apple is clearly visible.", planned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repeated := 0
			for seed := range int64(30) {
				thoughts := []string{"The background is plain.", tt.thought}
				c := critique(t, r, prompt, thoughts, canvasFor(t, p, thoughts, seed), seed)
				switch {
				case c.Status != schema.ParseOK || c.Score < 84:
					t.Errorf("seed %d: critique %+v, want a score of at least 84", seed, c)
				case tt.want != "" && c.Revised != tt.want:
					t.Errorf("seed %d: critique %+v, want it revised to %q", seed, c, tt.want)
				case tt.want == "" && c.Score >= SatisfiedScore && c.Revised != tt.thought:
					t.Errorf("seed %d: critique %+v, want the thought repeated", seed, c)
				case tt.want == "" && c.Score < SatisfiedScore && (sameWords(c.Revised, tt.thought) || !readsAs(miniParse, c.Revised, planned)):
					t.Errorf("seed %d: critique %+v, want another wording of %q", seed, c, planned)
				}
				if c.Revised == tt.thought {
					repeated++
				}
			}
			if tt.want == "" && repeated == 0 {
				t.Errorf("the thought was never repeated")
			}
		})
	}
}

// plainAnswer matches the critique format as the templates ask for it.
var plainAnswer = regexp.MustCompile(`^SCORE: (?:100|\d\d?)\nIMPROVED_DESCRIPTION: \S[^\n]*$`)

func TestMalformedRate(t *testing.T) {
	const n = 1500
	const prompt = "a red apple"
	p := testPainter(0, miniParse)
	thoughts := []string{"The background is plain.", "A red apple."}
	toks := canvasFor(t, p, thoughts, 1)
	tests := []struct {
		name string
		rate float64
	}{
		{"default", 0.05},
		{"none", 0},
		{"high", 0.5},
	}
	plain := testReasoner(0, 0, miniParse)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReasoner(tt.rate, 0, miniParse)
			img, _ := r.geo.Render(toks)
			statuses := map[string]int{}
			shaped := 0
			for seed := range int64(n) {
				req := inference.CritiqueRequest{Prompt: prompt, Thoughts: thoughts, Canvas: img, Region: 1, Regions: 3, Seed: seed}
				reply, err := r.Critique(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				c := inference.ParseCritique(reply.Text)
				statuses[c.Status]++
				if plainAnswer.MatchString(reply.Text) {
					continue
				}
				shaped++
				// A readable shape reads as the plain answer would.
				want, err := plain.Critique(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				w := inference.ParseCritique(want.Text)
				if c.Status == schema.ParseOK && (c.Revised != w.Revised || c.Score != w.Score && c.Score != (w.Score+5)/10*10) {
					t.Errorf("seed %d: %q reads as %+v, want %+v", seed, reply.Text, c, w)
				}
			}
			got := float64(shaped) / n
			unreadable := 1 - float64(statuses[schema.ParseOK])/n
			if math.Abs(got-tt.rate) > 0.015+tt.rate/10 {
				t.Errorf("malformed share %.3f, want %.3f", got, tt.rate)
			}
			if math.Abs(unreadable-tt.rate/2) > 0.015+tt.rate/20 {
				t.Errorf("unreadable share %.3f, want %.3f", unreadable, tt.rate/2)
			}
			if tt.rate > 0 && len(statuses) != 5 {
				t.Errorf("statuses %v, want ok and four kinds of failure", statuses)
			}
			t.Logf("malformed share %.3f (want %.3f), unreadable %.3f: %v", got, tt.rate, unreadable, statuses)
		})
	}
}

func TestMalformedShapes(t *testing.T) {
	const revised = "A round red apple is on the left of exactly two green trains."
	f := findings{penalty: PenaltyCount, flaws: map[int]flaw{1: {count: true}}}
	for _, shape := range readableShapes {
		for seed := range uint64(4) {
			text := readableShape(shape, rand.New(rand.NewPCG(seed, 1)), 86, revised, f)
			c := inference.ParseCritique(text)
			want := 86
			if shape == "out of 10" {
				want = 90
			}
			if c.Status != schema.ParseOK || c.Score != want || c.Revised != revised {
				t.Errorf("%s: %q reads as %+v, want score %d and the revision", shape, text, c, want)
			}
			if plainAnswer.MatchString(text) {
				t.Errorf("%s: %q is the plain format", shape, text)
			}
		}
	}
	seen := map[string]bool{}
	for seed := range uint64(400) {
		rng := rand.New(rand.NewPCG(seed, 2))
		text := malformed(rng, 86, revised, f)
		c := inference.ParseCritique(text)
		seen[c.Status] = true
		if strings.Contains(strings.ToLower(revised), "score") {
			t.Fatalf("the revision mentions a score")
		}
		if c.Status != schema.ParseOK {
			continue
		}
		if c.Revised != revised || c.Score != 86 && c.Score != 90 {
			t.Errorf("%q reads as %+v", text, c)
		}
	}
	for _, st := range []string{schema.ParseOK, schema.ParseMissingScore, schema.ParseBadScore, schema.ParseScoreRange, schema.ParseMissingRevised} {
		if !seen[st] {
			t.Errorf("no malformed answer reads as %s", st)
		}
	}
}

func TestCritiqueRejects(t *testing.T) {
	r := NewReasoner(DefaultReasonerConfig())
	g := DefaultGeometry()
	img, _ := g.Render(make([]int32, g.Tokens()))
	small, _ := Geometry{ImageSize: 64, PatchSize: 16}.Render(make([]int32, 16))
	ok := inference.CritiqueRequest{Prompt: "a red apple", Thoughts: []string{"A red apple."}, Canvas: img, Region: 0, Regions: 3}
	tests := []struct {
		name string
		edit func(*inference.CritiqueRequest)
	}{
		{"no canvas", func(q *inference.CritiqueRequest) { q.Canvas = nil }},
		{"not a canvas", func(q *inference.CritiqueRequest) { q.Canvas = []byte("canvas-12") }},
		{"other geometry", func(q *inference.CritiqueRequest) { q.Canvas = small }},
		{"region past the end", func(q *inference.CritiqueRequest) { q.Region = 3 }},
		{"more regions than rows", func(q *inference.CritiqueRequest) { q.Regions = 25 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := ok
			tt.edit(&q)
			if _, err := r.Critique(context.Background(), q); err == nil {
				t.Errorf("Critique succeeded, want an error")
			}
		})
	}
	t.Run("placeholder band fails", func(t *testing.T) {
		reply, err := r.Critique(context.Background(), ok)
		if err != nil {
			t.Fatal(err)
		}
		if c := inference.ParseCritique(reply.Text); c.Status == schema.ParseOK && c.Score >= 90 {
			t.Errorf("unpainted band scored %d", c.Score)
		}
	})
}

// TestRevisionsReadBack writes the critic's revision of every band of
// real and composed prompts for each kind of flaw, with the real parser,
// and checks that it reads back as the planned sentence (the painter sees
// nothing else), names no noun the prompt and the planned sentence do not,
// and differs from the planned thought it would repaint.
func TestRevisionsReadBack(t *testing.T) {
	prompts := readPrompts(t)
	for _, c := range annotators.Compose(400, 7) {
		prompts = append(prompts, c.Text)
	}
	// Each kind of finding, for the bands that can show it.
	kinds := []struct {
		name string
		f    func(p *plan, b int) (findings, bool)
	}{
		{"flawless", func(*plan, int) (findings, bool) { return findings{}, true }},
		{"placeholder", func(*plan, int) (findings, bool) {
			return findings{penalty: PenaltyPlaceholder, placeholder: true}, true
		}},
		{"unexpected", func(*plan, int) (findings, bool) { return findings{penalty: PenaltyUnexpected, unexpected: 1}, true }},
		{"missing", flawOf(flaw{missing: true}, func(annotators.Object) bool { return true })},
		{"count", flawOf(flaw{count: true}, func(annotators.Object) bool { return true })},
		{"colour", flawOf(flaw{colour: true}, func(o annotators.Object) bool { return o.Colour != "" })},
		{"attribute", flawOf(flaw{attribute: true}, func(o annotators.Object) bool { return o.Shape != "" || o.Texture != "" })},
		{"everything", func(p *plan, b int) (findings, bool) {
			f := findings{penalty: 1, placeholder: true, unexpected: 2, flaws: map[int]flaw{}}
			for _, i := range p.bands[b] {
				f.flaws[i] = flaw{missing: true, count: true, colour: true, attribute: true}
			}
			return f, true
		}},
	}
	total, planned, corrected := 0, 0, 0
	for _, prompt := range prompts {
		p := makePlan(annotators.Parse, prompt, 3)
		names := map[string]bool{}
		for _, o := range p.objects {
			names[o.Noun] = true
		}
		for b := range 3 {
			thought := p.sentences[b]
			for _, o := range annotators.Parse(thought).Objects {
				names[o.Noun] = true
			}
			for _, k := range kinds {
				f, ok := k.f(p, b)
				if !ok {
					continue
				}
				rev := p.revise(annotators.Parse, b, f, 85, thought)
				total++
				switch rev {
				case thought:
					planned++
				case p.corrected(b, f, int(hashOf(p.prompt, b)%4)):
					corrected++
				}
				if !readsAs(annotators.Parse, rev, thought) {
					t.Errorf("prompt %q band %d, %s: revision %q does not read as %q", prompt, b, k.name, rev, thought)
				}
				for _, o := range annotators.Parse(rev).Objects {
					if !names[o.Noun] {
						t.Errorf("prompt %q band %d, %s: revision %q names %q", prompt, b, k.name, rev, o.Noun)
					}
				}
				if sameWords(rev, thought) {
					t.Errorf("prompt %q band %d, %s: revision %q repeats the thought", prompt, b, k.name, rev)
				}
				if pr := thoughtProblem(rev, prompt); pr != "" {
					t.Errorf("prompt %q band %d, %s: revision %q %s", prompt, b, k.name, rev, pr)
				}
			}
		}
	}
	t.Logf("%d revisions of %d prompts: %d the correction, %d another wording, %d the planned sentence unchanged",
		total, len(prompts), corrected, total-corrected-planned, planned)
	if corrected < total*99/100 {
		t.Errorf("only %d of %d revisions are the correction itself", corrected, total)
	}
}

// flawOf returns findings with fl on every painted object of the band
// that can show it; false when none can.
func flawOf(fl flaw, can func(annotators.Object) bool) func(p *plan, b int) (findings, bool) {
	return func(p *plan, b int) (findings, bool) {
		f := findings{penalty: 1, flaws: map[int]flaw{}}
		for _, i := range p.bands[b] {
			if o := p.objects[i].Object; painted(o.Noun) && can(o) {
				f.flaws[i] = fl
			}
		}
		return f, len(f.flaws) > 0
	}
}
