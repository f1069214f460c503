package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// DefaultVLMModel is the model name a simulated VLM reports by default.
const DefaultVLMModel = "twig-sim-vlm-v1"

// Penalties of the simulated VLM judge's overall score, subtracted from
// 100. They are harsher than the critic's: a T2I-CompBench prompt is about
// exactly the bindings they check, so one kept flaw costs most of the score.
const (
	JudgePenaltyMissing     = 65 // per object of the prompt not painted
	JudgePenaltyFlaw        = 55 // per wrong colour, wrong shape or texture, or wrong count (per class)
	JudgePenaltyRelation    = 45 // per spatial relation the picture does not show
	JudgePenaltyPlaceholder = 60 // unpainted positions left
	JudgePenaltyUnexpected  = 10 // per object class the prompt does not name
)

// VLMConfig configures a simulated vision-language judge.
type VLMConfig struct {
	// Geometry is the canvas the judge reads; zero fields take the
	// defaults (384 px, 16 px).
	Geometry Geometry `json:"geometry"`
	// MalformedRate is the probability that an answer breaks the judge's
	// output format: no SCORE line, a score that is not a number, or a
	// question left unanswered. Zero never breaks it.
	MalformedRate float64 `json:"malformed_rate"`
	// Model is the model name in replies; empty means DefaultVLMModel.
	Model string `json:"model"`
}

// VLM simulates the vision-language model that judges a finished image
// against its prompt (the VLM judge of package filters/vlm). It is
// deterministic given the request and safe for concurrent use.
//
// [VLM.View] reads the judge instruction (the filters/vlm judge-v1
// template): the prompt from its line `... made from the prompt: "<prompt>"`
// and the questions from its lines `Q<n>. <question>`. It encodes the image
// back into tokens with [Geometry.Encode], as the critic does, finds the
// painted objects (connected components of each class, with their colour,
// attribute and centre), and answers
//
//	SCORE: <int>
//	Q1: yes|no
//	...
//
// Each question is answered honestly from the picture: it is matched with
// annotators.Questions of the prompt, so an object question is yes when
// the object's class is painted; a count question when the class has as
// many components as the prompt asks (the counts of objects sharing the
// class added up); an attribute question when the class's components have
// the colour, or the shape or texture code, of the object; a spatial
// relation when the subject's centre is left of, right of, over (above,
// behind, hidden_by) or under (below, in_front_of) the object's, as the
// painter lays them out; next_to and verbs when both objects are painted.
// A question not of the prompt's is read with annotators.Parse and is yes
// when every object it names is painted with its colour and attribute.
// Scenery nouns ("background", "ground") are painted as background and
// meta nouns ("object", "detail") not at all, so questions about them are
// yes.
//
// The score is 100 minus the JudgePenalty* penalties for the whole image
// against every object and spatial relation of the prompt, minus a seeded
// jitter of 0..5, clamped to 0..100: a clean image scores 95..100 and an
// image with any kept flaw of the painter much less.
type VLM struct {
	geo           Geometry
	malformedRate float64
	model         string
}

var _ inference.Viewer = (*VLM)(nil)

// NewVLM returns a simulated VLM judge for cfg. A rate outside [0,1] is
// clamped.
func NewVLM(cfg VLMConfig) *VLM {
	v := &VLM{geo: cfg.Geometry.withDefaults(), malformedRate: clamp01(cfg.MalformedRate), model: cfg.Model}
	if v.model == "" {
		v.model = DefaultVLMModel
	}
	return v
}

// ErrNotJudgeInstruction is returned, wrapped, by View for an instruction
// that names no prompt.
var ErrNotJudgeInstruction = errors.New("not a judge instruction")

var (
	// judgePromptRe finds the prompt in the judge template; it runs to the
	// last quote of the line.
	judgePromptRe = regexp.MustCompile(`made from the prompt: "(.*)"`)
	// judgeQuestionRe finds the numbered questions.
	judgeQuestionRe = regexp.MustCompile(`(?m)^Q(\d+)\. (.*?)\s*$`)
)

// IsJudgeInstruction reports whether text is a judge instruction that
// [VLM.View] can read: it names the prompt as the judge template does.
func IsJudgeInstruction(text string) bool { return judgePromptRe.MatchString(text) }

// View judges req.Image against the prompt and questions of
// req.Instruction. See [VLM] for how.
func (v *VLM) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	if err := ctx.Err(); err != nil {
		return inference.Reply{}, err
	}
	m := judgePromptRe.FindStringSubmatch(req.Instruction)
	if m == nil {
		return inference.Reply{}, fmt.Errorf(`view: %w: no line with made from the prompt: "..."`, ErrNotJudgeInstruction)
	}
	prompt := m[1]
	type numbered struct {
		n    int
		text string
	}
	var questions []numbered
	for _, q := range judgeQuestionRe.FindAllStringSubmatch(req.Instruction, -1) {
		n, err := strconv.Atoi(q[1])
		if err != nil || n < 1 {
			continue
		}
		questions = append(questions, numbered{n, q[2]})
	}
	tokens, err := v.geo.Encode(req.Image)
	if err != nil {
		return inference.Reply{}, fmt.Errorf("view: image: %w", err)
	}
	pic := look(tokens, v.geo.Grid())
	a := annotators.Parse(prompt)
	byText := map[string]annotators.Question{}
	for _, q := range annotators.Questions(a) {
		byText[q.Text] = q
	}
	answers := make([]bool, len(questions))
	for i, q := range questions {
		if known, ok := byText[q.text]; ok {
			answers[i] = pic.answer(a, known)
		} else {
			answers[i] = pic.answerText(q.text)
		}
	}

	digest := sha256.Sum256(req.Image)
	rng := rand.New(rand.NewPCG(uint64(req.Seed), hashOf("view", req.Instruction, binary.LittleEndian.Uint64(digest[:]), len(req.Unparsed))))
	score := min(max(100-pic.penalty(a)-rng.IntN(6), 0), 100)
	lines := []string{fmt.Sprintf("SCORE: %d", score)}
	for i, q := range questions {
		lines = append(lines, fmt.Sprintf("Q%d: %s", q.n, yesNo(answers[i])))
	}
	if rng.Float64() < v.malformedRate {
		lines = malformedJudge(rng, lines)
	}
	text := strings.Join(lines, "\n")
	return inference.Reply{Text: text, Model: v.model, Usage: schema.Usage{InputTokens: int32(wordCount(req.Instruction)), OutputTokens: int32(wordCount(text))}}, nil
}

// malformedJudge breaks a judge answer: the score line goes, the score is
// a word, or the last answer goes; with chatter around it.
func malformedJudge(rng *rand.Rand, lines []string) []string {
	switch k := rng.IntN(3); {
	case k == 0:
		lines = append([]string{"Here is my assessment of the image."}, lines[1:]...)
	case k == 1 || len(lines) == 1:
		lines[0] = "SCORE: " + []string{"high", "good", "medium", "low"}[rng.IntN(4)]
	default:
		lines = lines[:len(lines)-1]
	}
	return lines
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// blob is a 4-connected set of tokens of one object class, with its
// first token's colour and attribute and its centre.
type blob struct {
	Token
	size   int
	cx, cy float64
}

// picture is what the judge sees in a canvas.
type picture struct {
	classes     map[int][]blob
	placeholder bool
}

// look finds the objects of a full canvas.
func look(tokens []int32, grid int) picture {
	pic := picture{classes: map[int][]blob{}, placeholder: slices.Contains(tokens, Placeholder)}
	seen := make([]bool, len(tokens))
	var stack []int
	for i, id := range tokens {
		t := Split(id)
		if seen[i] || t.Class == 0 {
			continue
		}
		b := blob{Token: t}
		var sx, sy int
		stack = append(stack[:0], i)
		seen[i] = true
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := j%grid, j/grid
			b.size++
			sx, sy = sx+x, sy+y
			for _, n := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if n[0] < 0 || n[0] >= grid || n[1] < 0 || n[1] >= grid {
					continue
				}
				k := n[1]*grid + n[0]
				if !seen[k] && Split(tokens[k]).Class == t.Class {
					seen[k] = true
					stack = append(stack, k)
				}
			}
		}
		b.cx, b.cy = float64(sx)/float64(b.size), float64(sy)/float64(b.size)
		pic.classes[t.Class] = append(pic.classes[t.Class], b)
	}
	return pic
}

// centre is the mean centre of a class's tokens.
func (p picture) centre(class int) (x, y float64) {
	var n float64
	for _, b := range p.classes[class] {
		x, y, n = x+b.cx*float64(b.size), y+b.cy*float64(b.size), n+float64(b.size)
	}
	if n == 0 {
		return 0, 0
	}
	return x / n, y / n
}

// sameClass returns the painted objects of a (not scenery or meta) that share
// object i's class, i included.
func sameClass(a annotators.Analysis, i int) []annotators.Object {
	class := ClassOf(a.Objects[i].Noun)
	var out []annotators.Object
	for _, o := range a.Objects {
		if painted(o.Noun) && ClassOf(o.Noun) == class {
			out = append(out, o)
		}
	}
	return out
}

// want is the total count asked of a class.
func want(objs []annotators.Object) int {
	n := 0
	for _, o := range objs {
		n += max(o.Count, 1)
	}
	return n
}

// matches reports whether the blobs of a class show field(blob) == code:
// every blob when one object of the prompt has the class, some blob when
// several share it.
func matches(blobs []blob, shared int, code int, field func(blob) int) bool {
	if len(blobs) == 0 {
		return false
	}
	if shared > 1 {
		return slices.ContainsFunc(blobs, func(b blob) bool { return field(b) == code })
	}
	for _, b := range blobs {
		if field(b) != code {
			return false
		}
	}
	return true
}

func colourOf(b blob) int    { return b.Colour }
func attributeOf(b blob) int { return b.Attribute }

// answer answers a question of annotators.Questions(a) from the picture.
func (p picture) answer(a annotators.Analysis, q annotators.Question) bool {
	if q.Index < 0 || q.Index >= len(a.Objects) {
		return false
	}
	o := a.Objects[q.Index]
	if !painted(o.Noun) {
		return true // scenery is painted as background, meta nouns not at all
	}
	class := ClassOf(o.Noun)
	blobs := p.classes[class]
	shared := sameClass(a, q.Index)
	switch q.Kind {
	case annotators.QuestionObject:
		return len(blobs) > 0
	case annotators.QuestionCount:
		return len(blobs) == want(shared)
	case annotators.QuestionAttribute:
		if q.Attribute == o.Colour {
			return matches(blobs, len(shared), ColourCode(o.Colour), colourOf)
		}
		return matches(blobs, len(shared), AttributeCode(o.Shape, o.Texture), attributeOf)
	case annotators.QuestionRelation:
		if q.Target < 0 || q.Target >= len(a.Objects) {
			return false
		}
		return p.related(o, q.Predicate, a.Objects[q.Target])
	}
	return false
}

// related reports whether the picture shows s in relation pred to o.
func (p picture) related(s annotators.Object, pred string, o annotators.Object) bool {
	if !painted(s.Noun) || !painted(o.Noun) {
		return true
	}
	cs, co := ClassOf(s.Noun), ClassOf(o.Noun)
	if len(p.classes[cs]) == 0 || len(p.classes[co]) == 0 {
		return false
	}
	if cs == co {
		return len(p.classes[cs]) >= 2
	}
	sx, sy := p.centre(cs)
	ox, oy := p.centre(co)
	switch {
	case pred == "left_of":
		return sx < ox
	case pred == "right_of":
		return sx > ox
	case slices.Contains(stackAbove, pred):
		return sy < oy
	case slices.Contains(stackBelow, pred):
		return sy > oy
	}
	return true // next_to and verbs: both are there
}

// answerText answers a question that is not one of the prompt's: every
// object it names must be painted with its colour and attribute.
func (p picture) answerText(text string) bool {
	objs, _ := objectsOf(annotators.Parse(text), false)
	found := false
	for _, o := range objs {
		switch o.Noun {
		case "image", "picture", "photo":
			continue
		}
		found = true
		it := itemOf(o)
		blobs := p.classes[it.Class]
		if len(blobs) == 0 ||
			it.Colour > 0 && !matches(blobs, 2, it.Colour, colourOf) ||
			it.Attribute > 0 && !matches(blobs, 2, it.Attribute, attributeOf) {
			return false
		}
	}
	return found
}

// penalty is what the picture lacks against the whole prompt.
func (p picture) penalty(a annotators.Analysis) int {
	objs, rels := objectsOf(a, false)
	n := 0
	if p.placeholder {
		n += JudgePenaltyPlaceholder
	}
	expected := map[int][]annotators.Object{}
	var classes []int
	for _, o := range objs {
		c := ClassOf(o.Noun)
		if _, ok := expected[c]; !ok {
			classes = append(classes, c)
		}
		expected[c] = append(expected[c], o)
	}
	for _, c := range classes {
		wanted, blobs := expected[c], p.classes[c]
		if len(blobs) == 0 {
			n += JudgePenaltyMissing * len(wanted)
			continue
		}
		for _, o := range wanted {
			if code := ColourCode(o.Colour); code > 0 && !matches(blobs, len(wanted), code, colourOf) {
				n += JudgePenaltyFlaw
			}
			if code := AttributeCode(o.Shape, o.Texture); code > 0 && !matches(blobs, len(wanted), code, attributeOf) {
				n += JudgePenaltyFlaw
			}
		}
		if len(blobs) != want(wanted) {
			n += JudgePenaltyFlaw
		}
	}
	for _, r := range rels {
		s, o := objs[r.Subject], objs[r.Object]
		if len(p.classes[ClassOf(s.Noun)]) > 0 && len(p.classes[ClassOf(o.Noun)]) > 0 && !p.related(s, r.Predicate, o) {
			n += JudgePenaltyRelation
		}
	}
	var extra int
	for c := range p.classes {
		if _, ok := expected[c]; !ok {
			extra++
		}
	}
	return n + extra*JudgePenaltyUnexpected
}
