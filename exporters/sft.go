package exporters

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/twigdata/twig/schema"
)

// SFTMix says which of TwiG-50K's subtasks an accepted trajectory yields.
// Each share is the fraction, 0..1, of that kind's samples kept, chosen
// deterministically by sample id. The default keeps every think and gen
// sample and no reflect sample: the paper found equal think and gen data
// best, and adding reflect data lowered scores.
type SFTMix struct {
	Think   float64 `json:"think"`
	Gen     float64 `json:"gen"`
	Reflect float64 `json:"reflect"`
	// Repaints adds a reflect sample for every critiqued attempt, not only
	// the first: the critique of a repaint, too.
	Repaints bool `json:"repaints,omitempty"`
}

// DefaultSFTMix keeps all think and gen samples and no reflect sample.
func DefaultSFTMix() SFTMix { return SFTMix{Think: 1, Gen: 1} }

// Validate checks the shares.
func (m SFTMix) Validate() error {
	for _, s := range []struct {
		name string
		v    float64
	}{{"think", m.Think}, {"gen", m.Gen}, {"reflect", m.Reflect}} {
		if s.v < 0 || s.v > 1 {
			return fmt.Errorf("sft mix %s: %g must be in [0,1]", s.name, s.v)
		}
	}
	return nil
}

// sampleNamespace is the UUID namespace of sample ids.
var sampleNamespace = uuid.MustParse("9b3c6f1e-2d4a-5e8b-a7c1-3f5d9e2b4c60")

// keep decides deterministically whether a sample is in a share.
func keep(id string, share float64) bool {
	switch {
	case share <= 0:
		return false
	case share >= 1:
		return true
	}
	sum := sha256.Sum256([]byte(id))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/float64(1<<53) < share
}

// Routes a trajectory can be made on (schema.Provenance.Route), as
// package inference names them; an empty route is an older record of the
// interleaved loop.
const (
	routeInterleaved  = "interleaved"
	routeTeacherImage = "teacher-image"
)

// imageTokens opens a run of image token ids in a gen sample's messages.
const imageTokens = "<image_tokens>"

// Subtasks derives the supervised samples of an accepted trajectory under
// a mix. For each region k:
//
//   - think_k: the prompt, the thoughts of the regions before k as the
//     loop kept them (a repainted region's revision: what the thinker was
//     shown) and the canvas after region k-1 -> the thinker's own thought
//     for region k (Region.Thought.Text). A critic's revision is never a
//     think target; it is reflect's.
//   - gen_k: the conditioning text (the trajectory's prompt wrapper with
//     the kept attempt's prefix put in) and the image tokens of the
//     regions before k -> region k's tokens. schema.Sample documents the
//     chat form.
//   - reflect_k: the prompt, the thoughts up to k and the canvas with
//     region k -> the critique in its output format, for the parsed
//     critique of the region's first attempt (of every critiqued attempt
//     with SFTMix.Repaints).
//
// On the teacher-image route a region whose critique does not accept it
// (the score fails the critique's own threshold, or no score was read)
// gives no gen_k sample: the paper filtered such bands out of TwiG-50K.
// Interleaved trajectories keep every gen_k sample; their low-scoring
// bands were repainted or kept by the loop's own rules.
//
// Samples come in region order, then think, gen, reflect. Payloads
// (images, tokens) must be present.
func Subtasks(t *schema.Trajectory, mix SFTMix) []schema.Sample {
	var out []schema.Sample
	add := func(s schema.Sample, share float64) {
		s.ID = uuid.NewSHA1(sampleNamespace, []byte(t.ID+"/"+s.Task+"/"+strconv.Itoa(int(s.Attempt)))).String()
		s.TrajectoryID, s.Prompt = t.ID, t.Prompt
		if keep(s.ID, share) {
			out = append(out, s)
		}
	}
	wrapper := t.Provenance.PromptWrapper
	if wrapper == "" {
		wrapper = "{prefix}"
	}
	filterGen := t.Provenance.Route == routeTeacherImage
	var kept []string // kept thoughts of regions before k
	for k, r := range t.Regions {
		if len(r.Attempts) == 0 {
			continue
		}
		n := k + 1
		last := r.Attempts[len(r.Attempts)-1]
		span := t.Schedule.Spans[k]

		think := schema.Sample{Task: fmt.Sprintf("think_%d", n), Kind: "think", Region: int32(n), Attempt: 0,
			Thoughts: append([]string{}, kept...), Target: r.Thought.Text}
		user := r.Thought.Input
		if r.Thought.SampleInput != "" {
			user = r.Thought.SampleInput
		}
		if k > 0 {
			prev := t.Regions[k-1].Attempts[len(t.Regions[k-1].Attempts)-1].Canvas
			think.Images = []schema.Image{prev}
			user = "<image>\n" + user
		}
		think.Messages = chat(user, r.Thought.Text)
		add(think, mix.Think)

		if !filterGen || accepted(last) {
			cond := strings.ReplaceAll(wrapper, "{prefix}", last.Prefix)
			prior := append([]int32{}, t.FinalTokens[:span.Start]...)
			gen := schema.Sample{Task: fmt.Sprintf("gen_%d", n), Kind: "gen", Region: int32(n), Attempt: last.Index,
				Thoughts: append(append([]string{}, kept...), last.Thought), Prefix: last.Prefix,
				Conditioning: cond, PriorTokens: prior, TargetTokens: last.Tokens}
			gen.Messages = chat(cond+tokenText(prior), tokenText(last.Tokens))
			add(gen, mix.Gen)
		}

		for _, a := range r.Attempts {
			c := a.Critique
			if !a.Critiqued || c.Parse != schema.ParseOK || c.Score == nil || (a.Index > 0 && !mix.Repaints) {
				continue
			}
			target := fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION: %s", *c.Score, c.Revised)
			task := fmt.Sprintf("reflect_%d", n)
			reflect := schema.Sample{Task: task, Kind: "reflect", Region: int32(n), Attempt: a.Index,
				Thoughts: append(append([]string{}, kept...), a.Thought), Images: []schema.Image{a.Canvas}, Target: target,
				Messages: chat("<image>\n"+c.Input, target)}
			add(reflect, mix.Reflect)
		}
		kept = append(kept, last.Thought)
	}
	return out
}

// accepted reports whether an attempt's critique accepts it under the
// critique's own rule, Score Comparator Threshold (">" strict, anything
// else ">=", as the loop decides). A critique that did not parse, or an
// attempt that was not critiqued, is not accepted.
func accepted(a schema.Attempt) bool {
	if !a.Critiqued || a.Critique.Parse != schema.ParseOK {
		return false
	}
	ok, scored := a.Critique.Accepts()
	return ok && scored
}

func chat(user, assistant string) []schema.Message {
	return []schema.Message{{Role: "user", Content: user}, {Role: "assistant", Content: assistant}}
}

// tokenText writes image tokens as text for a gen sample's messages:
// "<image_tokens> 12 4051 ...", or "<image_tokens>" alone for none.
func tokenText(tokens []int32) string {
	var b strings.Builder
	b.WriteString(imageTokens)
	for _, t := range tokens {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(int(t)))
	}
	return b.String()
}
