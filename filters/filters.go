// Package filters judges trajectories and decides, under a policy, whether
// each one is accepted or rejected, and why.
//
// # Judges
//
// A [Judge] looks at a finished trajectory and returns a schema.JudgeResult:
// a score, a pass/fail under its thresholds, a short reason, and its own name
// and version. The rule judges here need no model:
//
//   - [ThoughtFormat]: every thought is one plain sentence within length
//     bounds, with no section labels ("Part 2:", "Top:", "upper band"), and
//     no thought repeats an earlier one.
//   - [Coverage]: every object the prompt names, with its attributes,
//     appears in some thought.
//
// # Policy
//
// A [Policy] names the judges whose failure rejects a trajectory. [Apply]
// runs the judges, records every result (raw scores are kept apart from the
// verdict, so a new policy can re-decide without re-judging) and sets the
// verdict with one reason per failing required judge.
package filters

import (
	"context"
	"fmt"
	"slices"

	"github.com/twigdata/twig/schema"
)

// Judge scores one trajectory.
type Judge interface {
	// Name is the judge's stable identifier, used by policies.
	Name() string
	// Version changes whenever the judge's behaviour does.
	Version() string
	// Judge returns the judge's result. An error means the judge could not
	// judge (not that the trajectory is bad).
	Judge(ctx context.Context, t *schema.Trajectory) (schema.JudgeResult, error)
}

// Policy decides verdicts from judge results.
type Policy struct {
	// Required lists the judges that must pass for a trajectory to be
	// accepted. A judge that runs but is not required is recorded only.
	Required []string `json:"required"`
}

// DefaultPolicy requires every judge in judges.
func DefaultPolicy(judges []Judge) Policy {
	var p Policy
	for _, j := range judges {
		p.Required = append(p.Required, j.Name())
	}
	return p
}

// Validate checks that every required judge is one of judges.
func (p Policy) Validate(judges []Judge) error {
	for _, r := range p.Required {
		if !slices.ContainsFunc(judges, func(j Judge) bool { return j.Name() == r }) {
			return fmt.Errorf("policy: required judge %q is not configured", r)
		}
	}
	return nil
}

// Decide returns the verdict for a set of judge results.
func (p Policy) Decide(results []schema.JudgeResult) schema.Verdict {
	v := schema.Verdict{Status: schema.StatusAccepted}
	for _, name := range p.Required {
		i := slices.IndexFunc(results, func(r schema.JudgeResult) bool { return r.Name == name })
		switch {
		case i < 0:
			v.Reasons = append(v.Reasons, name+": no result")
		case !results[i].Pass:
			v.Reasons = append(v.Reasons, name+": "+results[i].Reason)
		}
	}
	if len(v.Reasons) > 0 {
		v.Status = schema.StatusRejected
	}
	return v
}

// Apply runs every judge on t, records their results in t.Judges and sets
// t.Verdict under the policy.
func Apply(ctx context.Context, judges []Judge, p Policy, t *schema.Trajectory) error {
	t.Judges = t.Judges[:0]
	for _, j := range judges {
		r, err := j.Judge(ctx, t)
		if err != nil {
			return fmt.Errorf("judge %s on %s: %w", j.Name(), t.ID, err)
		}
		r.Name, r.Version = j.Name(), j.Version()
		t.Judges = append(t.Judges, r)
	}
	t.Verdict = p.Decide(t.Judges)
	return nil
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
