// Package filters judges trajectories and decides, under a policy, whether
// each one is accepted or rejected, and why.
//
// # Judges
//
// A [Judge] looks at a finished trajectory and returns a schema.JudgeResult:
// a score in [0, 1] (higher is better), Pass (the judge's own decision under
// its default threshold), a short reason, and its own name and version. The
// rule judges here need no model:
//
//   - [ThoughtFormat] ("thought_format"): every thought is one plain
//     sentence within length bounds, with no section labels ("Part 2:",
//     "Top:", "upper band"), and no thought repeats an earlier one. Score:
//     the share of thoughts that pass.
//   - [Coverage] ("coverage"): every object the prompt names, with its
//     attributes, appears in some thought. Score: the share of objects
//     covered.
//   - [Reflection] ("reflection_consistency"): every critique was acted on
//     as its own acceptance rule says (a low score led to a repaint with a
//     revised thought, unless the repaint limit was reached), and every
//     critique parsed. Score: the share of critiqued steps that are
//     consistent.
//   - [Canvas] ("canvas_sanity"): the final canvas is complete (no
//     placeholder token left, the right number of tokens), the final image
//     decodes as a PNG of the scheduled size, and no region rendered as a
//     blank band. Score: the share of regions that are fine.
//   - [Improvement] ("improvement"): whether critiqued repaints scored
//     better than the attempts they replaced. Recorded only by the default
//     policy.
//
// Judges that compare trajectories with each other (near-duplicate prompts
// and images) live in package [github.com/twigdata/twig/filters/dedup],
// the model judge in [github.com/twigdata/twig/filters/vlm]. Every judge's
// name is a Judge* constant here; [TrajectoryJudges] and [Names] list them.
//
// # Policy
//
// A [Policy] says, per judge name, whether the judge must pass, an optional
// threshold that re-decides pass from the score, and its weight in the
// overall score; and optionally a minimum overall score. [Apply] runs the
// judges, records every result (raw scores are kept apart from the
// verdict), and sets the verdict. [Policy.Decide] needs only the recorded
// results, so a new policy re-decides a whole dataset without calling any
// model (twig refilter). [DefaultPolicy] is the built-in policy; policies
// are JSON files read by [LoadPolicy] and [ParsePolicy].
package filters

import (
	"context"
	"fmt"

	"github.com/twigdata/twig/filters/dedup"
	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/schema"
)

// Judge names: what each judge records as schema.JudgeResult.Name, and
// what policies and verdict reasons call it.
const (
	JudgeThoughtFormat = "thought_format"
	JudgeCoverage      = "coverage"
	JudgeReflection    = "reflection_consistency"
	JudgeCanvas        = "canvas_sanity"
	JudgeImprovement   = "improvement"
	// JudgeVLM is the model judge of package filters/vlm.
	JudgeVLM = vlm.Name
	// JudgeDedupPrompt and JudgeDedupImage are the near-duplicate judges
	// of package filters/dedup.
	JudgeDedupPrompt = dedup.PromptJudge
	JudgeDedupImage  = dedup.ImageJudge
)

// Overall is the name a verdict reason gives the policy's minimum overall
// score when the score is below it ("overall: score 0.40 < 0.50"). It is
// no judge.
const Overall = "overall"

// TrajectoryJudges returns the names of the judges that look at one
// trajectory at a time, in the order a run applies them: the rule judges
// of this package, then the vlm judge.
func TrajectoryJudges() []string {
	return []string{JudgeThoughtFormat, JudgeCoverage, JudgeReflection, JudgeCanvas, JudgeImprovement, JudgeVLM}
}

// Names returns the name of every judge a run has: the trajectory judges,
// then the two dedup judges, which look at the whole version. It is what
// [Policy.Validate] takes for a run with every judge configured.
func Names() []string {
	return append(TrajectoryJudges(), JudgeDedupPrompt, JudgeDedupImage)
}

// Judge scores one trajectory.
type Judge interface {
	// Name is the judge's stable identifier, used by policies.
	Name() string
	// Version changes whenever the judge's behaviour does.
	Version() string
	// Judge returns the judge's result: Score in [0, 1], higher better, and
	// Pass under the judge's default threshold. An error means the judge
	// could not judge (not that the trajectory is bad).
	Judge(ctx context.Context, t *schema.Trajectory) (schema.JudgeResult, error)
}

// JudgeError is a judge that could not judge a trajectory (not a
// trajectory that failed a judge: that is a result).
type JudgeError struct {
	// Judge is the judge's name, ID the trajectory's.
	Judge, ID string
	// Err is what the judge returned.
	Err error
}

// Error names the judge and the trajectory.
func (e *JudgeError) Error() string {
	return fmt.Sprintf("judge %s on %s: %v", e.Judge, e.ID, e.Err)
}

// Unwrap returns the judge's error.
func (e *JudgeError) Unwrap() error { return e.Err }

// Apply runs every judge on t, records their results in t.Judges with each
// judge's Name and Version, and sets t.Verdict under the policy. A judge
// that returns an error stops it with a [*JudgeError]. A result
// already in t.Judges from a judge that is not run here (one recorded by an
// earlier stage, such as a model judge or dedup) is kept; an earlier result
// of a judge that is run again is replaced.
func Apply(ctx context.Context, judges []Judge, p Policy, t *schema.Trajectory) error {
	run := make(map[string]bool, len(judges))
	for _, j := range judges {
		run[j.Name()] = true
	}
	kept := t.Judges[:0]
	for _, r := range t.Judges {
		if !run[r.Name] {
			kept = append(kept, r)
		}
	}
	t.Judges = kept
	for _, j := range judges {
		r, err := j.Judge(ctx, t)
		if err != nil {
			return &JudgeError{Judge: j.Name(), ID: t.ID, Err: err}
		}
		r.Name, r.Version = j.Name(), j.Version()
		t.Judges = append(t.Judges, r)
	}
	t.Verdict = p.Decide(t.Judges)
	return nil
}

// Prompted is implemented by a judge that asks a model through a prompt
// template (the vlm judge): the template goes into each trajectory's
// provenance next to the loop's own templates.
type Prompted interface {
	Template() schema.TemplateRef
}

// Thoughts returns the thoughts a trajectory conditioned its image on: for
// each region, the thought of the attempt that was kept.
func Thoughts(t *schema.Trajectory) []string {
	out := make([]string, 0, len(t.Regions))
	for _, r := range t.Regions {
		if n := len(r.Attempts); n > 0 {
			out = append(out, r.Attempts[n-1].Thought)
		} else {
			out = append(out, r.Thought.Text)
		}
	}
	return out
}
