package filters

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/schema"
)

// Coverage checks that every object the prompt names appears in some
// thought that conditioned the image, with the colour, shape and texture
// the prompt binds to it: some thought must contain the object's noun
// (singular or plural) and each of its attribute words (synonyms count).
// Objects come from annotators.Parse on the prompt; thoughts are matched
// word by word, so any sentence structure counts. Its score is the share
// of objects covered; a prompt in which no object is found passes.
type Coverage struct{}

// NewCoverage returns the coverage judge.
func NewCoverage() *Coverage { return &Coverage{} }

var _ Judge = (*Coverage)(nil)

func (*Coverage) Name() string    { return JudgeCoverage }
func (*Coverage) Version() string { return "1" }

// Judge implements Judge.
func (*Coverage) Judge(_ context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	want := annotators.Parse(t.PromptNormalized).Objects
	if len(want) == 0 {
		return schema.JudgeResult{Score: 1, Pass: true, Reason: "no object found in the prompt"}, nil
	}
	var thoughts []words
	for _, th := range Thoughts(t) {
		thoughts = append(thoughts, wordsOf(th))
	}
	var missing []string
	for _, o := range want {
		if !covered(o, thoughts) {
			missing = append(missing, describe(o))
		}
	}
	r := schema.JudgeResult{
		Score: float64(len(want)-len(missing)) / float64(len(want)),
		Pass:  len(missing) == 0,
	}
	if r.Pass {
		r.Reason = fmt.Sprintf("all %d objects covered", len(want))
	} else {
		r.Reason = "not in any thought: " + strings.Join(missing, ", ")
	}
	return r, nil
}

// words is a thought as singular nouns and canonical attributes.
type words struct {
	seq   []string        // every word, singularised, in order
	attrs map[string]bool // canonical colour, shape and texture words
}

func wordsOf(s string) words {
	w := words{attrs: map[string]bool{}}
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	}) {
		w.seq = append(w.seq, annotators.Singular(f))
		for _, c := range []string{annotators.CanonicalColour(f), annotators.CanonicalShape(f), annotators.CanonicalTexture(f)} {
			if c != "" {
				w.attrs[c] = true
			}
		}
	}
	return w
}

// covered reports whether some thought names o with its attributes.
func covered(o annotators.Object, thoughts []words) bool {
	noun := strings.Fields(o.Noun)
	for _, w := range thoughts {
		if hasRun(w.seq, noun) &&
			(o.Colour == "" || w.attrs[o.Colour]) &&
			(o.Shape == "" || w.attrs[o.Shape]) &&
			(o.Texture == "" || w.attrs[o.Texture]) {
			return true
		}
	}
	return false
}

// hasRun reports whether seq contains run as consecutive words.
func hasRun(seq, run []string) bool {
	for i := 0; i+len(run) <= len(seq); i++ {
		match := true
		for j, r := range run {
			if seq[i+j] != annotators.Singular(r) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func describe(o annotators.Object) string {
	var parts []string
	for _, a := range []string{o.Colour, o.Shape, o.Texture} {
		if a != "" {
			parts = append(parts, a)
		}
	}
	return strings.Join(append(parts, o.Noun), " ")
}
