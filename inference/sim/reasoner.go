package sim

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// DefaultReasonerModel is the model name a reasoner reports by default.
const DefaultReasonerModel = "twig-sim-reasoner-v1"

// ReasonerConfig configures a simulated reasoner and critic.
type ReasonerConfig struct {
	// Geometry is the canvas the critic reads; zero fields take the
	// defaults (384 px, 16 px).
	Geometry Geometry `json:"geometry"`
	// MalformedRate is the probability that a critique answer leaves the
	// plain output format: half the time for a shape the critique parser
	// still reads (one line, a remark after the score, a numbered list,
	// bold keys, "/100", "/10", text around the answer), half the time for
	// one it cannot (no SCORE line, a score that is not a number, a score
	// out of range, no IMPROVED_DESCRIPTION). Zero never leaves it; see
	// DefaultReasonerConfig for the usual 0.05.
	MalformedRate float64 `json:"malformed_rate"`
	// DriftRate is the probability that a thought breaks the thought
	// rules: it omits one of its band's objects, is two sentences, or
	// starts with a section label ("Top:", "Part 2:").
	DriftRate float64 `json:"drift_rate"`
	// Model is the model name in replies; empty means DefaultReasonerModel.
	Model string `json:"model"`
}

// DefaultReasonerConfig returns the default geometry, rates of 0.05 and
// DefaultReasonerModel.
func DefaultReasonerConfig() ReasonerConfig {
	return ReasonerConfig{Geometry: DefaultGeometry(), MalformedRate: 0.05, DriftRate: 0.05, Model: DefaultReasonerModel}
}

// Reasoner simulates the language model that plans thoughts and critiques
// bands. It is safe for concurrent use.
type Reasoner struct {
	geo           Geometry
	malformedRate float64
	driftRate     float64
	model         string
	parse         func(string) annotators.Analysis
}

var _ inference.Reasoner = (*Reasoner)(nil)

// NewReasoner returns a reasoner for cfg. Rates outside [0,1] are clamped.
func NewReasoner(cfg ReasonerConfig) *Reasoner {
	r := &Reasoner{
		geo: cfg.Geometry.withDefaults(), malformedRate: clamp01(cfg.MalformedRate), driftRate: clamp01(cfg.DriftRate),
		model: cfg.Model, parse: annotators.Parse,
	}
	if r.model == "" {
		r.model = DefaultReasonerModel
	}
	return r
}

// Think writes the thought of band req.Region: one literal sentence naming
// the objects the plan gives that band, or a scenery sentence. With
// probability DriftRate it breaks a thought rule instead.
func (r *Reasoner) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	if err := ctx.Err(); err != nil {
		return inference.Reply{}, err
	}
	if err := checkRegion(req.Region, req.Regions); err != nil {
		return inference.Reply{}, fmt.Errorf("think: %w", err)
	}
	if strings.TrimSpace(req.Prompt) == "" {
		return inference.Reply{}, fmt.Errorf("think: empty prompt")
	}
	if req.Canvas != nil {
		if _, err := png.DecodeConfig(bytes.NewReader(req.Canvas)); err != nil {
			return inference.Reply{}, fmt.Errorf("think: canvas: %w", err)
		}
	}
	p := makePlan(r.parse, req.Prompt, req.Regions)
	text := p.sentences[req.Region]
	rng := rand.New(rand.NewPCG(uint64(req.Seed), hashOf("think", req.Prompt, req.Region, req.Regions)))
	if rng.Float64() < r.driftRate {
		text = p.drift(req.Region, rng)
	}
	text = truncateWords(text, req.MaxTokens)
	return inference.Reply{Text: text, Model: r.model, Usage: r.usage(req.Instruction, text)}, nil
}

// drift writes a thought for band b that breaks one rule.
func (p *plan) drift(b int, rng *rand.Rand) string {
	clean := p.sentences[b]
	kinds := []string{"two sentences", "label"}
	if len(p.bands[b]) > 0 {
		kinds = append(kinds, "omit")
	}
	switch kinds[rng.IntN(len(kinds))] {
	case "omit":
		idx := slices.Clone(p.bands[b])
		k := rng.IntN(len(idx))
		idx = slices.Delete(idx, k, k+1)
		if len(idx) == 0 {
			return spaceFillers[rng.IntN(len(spaceFillers))]
		}
		return p.describe(idx, rng.IntN(4))
	case "two sentences":
		extra := []string{"The scene is calm and soft.", "The light is soft and warm.", "The whole scene is balanced and calm."}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			return extra + " " + clean
		}
		return clean + " " + extra
	}
	labels := []string{
		fmt.Sprintf("Part %d:", b+1),
		fmt.Sprintf("Layer %d -", b+1),
		inference.BandName(b, len(p.bands)) + ":",
		[]string{"Top:", "Middle:", "Bottom:"}[min(b, 2)],
	}
	label := labels[rng.IntN(len(labels))]
	return capitalise(label) + " " + clean
}

// Critique reads the canvas back into tokens, checks band req.Region
// against the plan (every planned object present, with its colour,
// shape or texture and count, no placeholder left, nothing unexpected) and
// answers in the critique format with a seeded score and a revision that
// corrects the planned sentence for what it found. See the package
// documentation for the score, the revision and the answer shapes.
func (r *Reasoner) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	if err := ctx.Err(); err != nil {
		return inference.Reply{}, err
	}
	if err := checkRegion(req.Region, req.Regions); err != nil {
		return inference.Reply{}, fmt.Errorf("critique: %w", err)
	}
	if req.Regions > r.geo.Grid() {
		return inference.Reply{}, fmt.Errorf("critique: %d regions do not fit %d token rows", req.Regions, r.geo.Grid())
	}
	tokens, err := r.geo.Encode(req.Canvas)
	if err != nil {
		return inference.Reply{}, fmt.Errorf("critique: canvas: %w", err)
	}
	var thought string
	if len(req.Thoughts) > 0 {
		thought = req.Thoughts[len(req.Thoughts)-1]
	}
	p := makePlan(r.parse, req.Prompt, req.Regions)
	grid := r.geo.Grid()
	start, end := r.geo.BandRows(req.Region, req.Regions)
	band := tokens[start*grid : end*grid]
	f := p.check(band, end-start, grid, req.Region, r.allowed(p, thought))

	rng := rand.New(rand.NewPCG(uint64(req.Seed), hashOf("critique", req.Prompt, req.Region, req.Regions, thought)))
	score := f.score(rng)
	revised := p.revise(r.parse, req.Region, f, score, thought)
	text := fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION: %s", score, revised)
	if rng.Float64() < r.malformedRate {
		text = malformed(rng, score, revised, f)
	}
	return inference.Reply{Text: text, Model: r.model, Usage: r.usage(req.Instruction, text)}, nil
}

// allowed returns the classes the thought names that the prompt names too:
// finding them in the band is not unexpected.
func (r *Reasoner) allowed(p *plan, thought string) map[int]bool {
	ok := map[int]bool{}
	objs, _ := objectsOf(r.parse(thought), false)
	for _, o := range objs {
		for _, po := range p.objects {
			if po.Noun == o.Noun {
				ok[ClassOf(o.Noun)] = true
			}
		}
	}
	return ok
}

// Penalties of the critic, subtracted from 100.
const (
	PenaltyMissing     = 40
	PenaltyColour      = 30
	PenaltyAttribute   = 20
	PenaltyCount       = 25
	PenaltyPlaceholder = 60
	PenaltyUnexpected  = 10
)

// The critic's scale: how a band's penalty becomes a score.
const (
	// SatisfiedScore is the score from which the critic is satisfied with
	// a flawless band and repeats a thought that follows the rules as its
	// revision ("95+ only for perfection").
	SatisfiedScore = 95
	// harshRate is the share of flawless bands the critic marks down to
	// 84..94 (a nitpick it does not name) instead of 91..100.
	harshRate = 0.25
)

// flaw is what the critic found wrong with one planned object of a band.
type flaw struct {
	missing, count, colour, attribute bool
}

// findings is what the critic found wrong with a band.
type findings struct {
	penalty     int
	placeholder bool
	unexpected  int          // object classes neither planned nor allowed
	flaws       map[int]flaw // by index into plan.objects
}

// flawless reports whether the critic found nothing wrong.
func (f findings) flawless() bool { return f.penalty == 0 }

// score draws the critique's score: a flawless band 91..100, or 84..94
// with probability harshRate; a flawed one 100 minus the penalty minus
// 1..12, clamped to 0..100.
func (f findings) score(rng *rand.Rand) int {
	if f.flawless() {
		if rng.Float64() < harshRate {
			return 100 - 6 - rng.IntN(11)
		}
		return 100 - rng.IntN(10)
	}
	return min(max(100-f.penalty-1-rng.IntN(12), 0), 100)
}

// check compares a band's tokens with the objects planned for band b and
// returns what is wrong and its penalty.
func (p *plan) check(band []int32, rows, cols, b int, allowed map[int]bool) findings {
	f := findings{flaws: map[int]flaw{}}
	mark := func(i int, set func(*flaw)) {
		fl := f.flaws[i]
		set(&fl)
		f.flaws[i] = fl
	}
	if slices.Contains(band, Placeholder) {
		f.penalty += PenaltyPlaceholder
		f.placeholder = true
	}
	byClass := map[int][]component{}
	for _, c := range components(band, rows, cols) {
		byClass[c.Class] = append(byClass[c.Class], c)
	}
	expected := map[int][]item{}
	indexes := map[int][]int{} // plan object indexes per class
	var classes []int
	for _, i := range p.bands[b] {
		if !painted(p.objects[i].Noun) {
			continue // scenery and meta nouns: not painted as objects
		}
		it := itemOf(p.objects[i].Object)
		if _, ok := expected[it.Class]; !ok {
			classes = append(classes, it.Class)
		}
		expected[it.Class] = append(expected[it.Class], it)
		indexes[it.Class] = append(indexes[it.Class], i)
	}
	for _, class := range classes {
		want, got := expected[class], byClass[class]
		if len(got) == 0 {
			for _, i := range indexes[class] {
				f.penalty += PenaltyMissing
				mark(i, func(fl *flaw) { fl.missing = true })
			}
			continue
		}
		total := 0
		for k, it := range want {
			i := indexes[class][k]
			total += it.Count
			if it.Colour > 0 && mismatch(want, got, func(c component) bool { return c.Colour == it.Colour }) {
				f.penalty += PenaltyColour
				mark(i, func(fl *flaw) { fl.colour = true })
			}
			if it.Attribute > 0 && mismatch(want, got, func(c component) bool { return c.Attribute == it.Attribute }) {
				f.penalty += PenaltyAttribute
				mark(i, func(fl *flaw) { fl.attribute = true })
			}
		}
		if len(got) != total {
			f.penalty += PenaltyCount
			for _, i := range indexes[class] {
				mark(i, func(fl *flaw) { fl.count = true })
			}
		}
	}
	for class := range byClass {
		if _, ok := expected[class]; !ok && !allowed[class] {
			f.penalty += PenaltyUnexpected
			f.unexpected++
		}
	}
	return f
}

// mismatch reports whether the components got of a class fail match: with
// one object of the class wanted, every component must match; with several
// (different nouns may share a class), some component must.
func mismatch(want []item, got []component, match func(component) bool) bool {
	if len(want) == 1 {
		return !allOf(got, match)
	}
	return !slices.ContainsFunc(got, match)
}

func allOf(got []component, match func(component) bool) bool {
	for _, c := range got {
		if !match(c) {
			return false
		}
	}
	return true
}

// component is a 4-connected set of tokens of one object class; its
// colour and attribute are those of its first token in raster order.
type component struct {
	Token
	size int
}

// components finds the object components of a band.
func components(band []int32, rows, cols int) []component {
	seen := make([]bool, len(band))
	var out []component
	var stack []int
	for i, id := range band {
		t := Split(id)
		if seen[i] || t.Class == 0 {
			continue
		}
		c := component{Token: t}
		stack = append(stack[:0], i)
		seen[i] = true
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c.size++
			x, y := j%cols, j/cols
			for _, n := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if n[0] < 0 || n[0] >= cols || n[1] < 0 || n[1] >= rows {
					continue
				}
				k := n[1]*cols + n[0]
				if !seen[k] && Split(band[k]).Class == t.Class {
					seen[k] = true
					stack = append(stack, k)
				}
			}
		}
		out = append(out, c)
	}
	return out
}

var labelRe = regexp.MustCompile(`^\W*[A-Za-z]+(?:\s+[A-Za-z]+)?\s*\d*\s*[:\-\x{2013}\x{2014}]\s`)

// followsRules reports whether a thought may be repeated as the revised
// description: one sentence, no leading label, no section word the prompt
// does not use.
func (p *plan) followsRules(thought string) bool {
	t := strings.TrimSpace(thought)
	if t == "" || lastSentence(t) != t || labelRe.MatchString(t) {
		return false
	}
	prompt := words(p.prompt)
	for _, w := range words(t) {
		if slices.Contains(sectionWords, w) && !slices.Contains(prompt, w) {
			return false
		}
	}
	return true
}

func (r *Reasoner) usage(instruction, text string) schema.Usage {
	return schema.Usage{InputTokens: int32(wordCount(instruction)), OutputTokens: int32(wordCount(text))}
}

func checkRegion(region, regions int) error {
	if regions < 1 || region < 0 || region >= regions {
		return fmt.Errorf("region %d of %d is out of range", region, regions)
	}
	return nil
}

// truncateWords keeps the first n words of s when n > 0, as a model cut off
// at its token limit.
func truncateWords(s string, n int) string {
	f := strings.Fields(s)
	if n <= 0 || len(f) <= n {
		return s
	}
	return strings.Join(f[:n], " ")
}
