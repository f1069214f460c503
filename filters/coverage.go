package filters

import (
	"context"
	"fmt"
	"strings"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/schema"
)

// Coverage checks that every object the prompt names appears in some
// thought that conditioned the image, with the colour, shape and texture
// the prompt binds to it. Objects are found by annotators.Parse on the
// prompt and on the thoughts. Its score is the share of objects covered; a
// prompt in which no object is found passes with score 1.
type Coverage struct{}

// NewCoverage returns the coverage judge.
func NewCoverage() *Coverage { return &Coverage{} }

var _ Judge = (*Coverage)(nil)

func (*Coverage) Name() string    { return "coverage" }
func (*Coverage) Version() string { return "1" }

// Judge implements Judge.
func (*Coverage) Judge(_ context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	want := annotators.Parse(t.PromptNormalized).Objects
	if len(want) == 0 {
		return schema.JudgeResult{Score: 1, Pass: true, Reason: "no object found in the prompt"}, nil
	}
	var have []annotators.Object
	for _, th := range Thoughts(t) {
		have = append(have, annotators.Parse(th).Objects...)
	}
	var missing []string
	for _, o := range want {
		if !covered(o, have) {
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

// covered reports whether some object in have is o with o's attributes.
func covered(o annotators.Object, have []annotators.Object) bool {
	for _, h := range have {
		if h.Noun == o.Noun &&
			(o.Colour == "" || h.Colour == o.Colour) &&
			(o.Shape == "" || h.Shape == o.Shape) &&
			(o.Texture == "" || h.Texture == o.Texture) {
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
