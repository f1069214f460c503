package filters

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/twigdata/twig/schema"
)

// Reflection checks that the reflection loop did what its critiques said.
// For every critiqued attempt (a critiqued step):
//
//   - the critique parsed (Parse is schema.ParseOK and the decision is not
//     schema.DecisionParseFailed);
//   - a score below the critique's own acceptance rule (accept iff Score
//     Comparator Threshold, Comparator ">=" or ">") led to a repaint, or
//     to schema.DecisionKeepLimit when the repaint limit was reached;
//   - a score that meets the rule was accepted;
//   - a repaint is followed by a next attempt whose thought differs from
//     the repainted attempt's (compared case-, space- and
//     punctuation-insensitively): repainting from the same thought is not
//     reflection.
//
// Its score is the share of critiqued steps that are consistent (1 when no
// step was critiqued); it passes iff all are.
type Reflection struct{}

// NewReflection returns the reflection-consistency judge.
func NewReflection() *Reflection { return &Reflection{} }

var _ Judge = (*Reflection)(nil)

// Name returns "reflection_consistency".
func (*Reflection) Name() string { return JudgeReflection }

// Version returns the judge's version.
func (*Reflection) Version() string { return "1" }

// Judge implements Judge.
func (*Reflection) Judge(_ context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	steps := 0
	var problems []string
	for _, r := range t.Regions {
		for i, a := range r.Attempts {
			if !a.Critiqued {
				continue
			}
			steps++
			if p := reflectionProblem(r.Attempts, i); p != "" {
				problems = append(problems, fmt.Sprintf("%s %s: %s", regionLabel(int(r.Index)), attemptLabel(int(a.Index)), p))
			}
		}
	}
	if steps == 0 {
		return schema.JudgeResult{Score: 1, Pass: true, Reason: "no critiqued step"}, nil
	}
	res := schema.JudgeResult{
		Score:  float64(steps-len(problems)) / float64(steps),
		Pass:   len(problems) == 0,
		Reason: fmt.Sprintf("all %d critiqued steps consistent", steps),
	}
	if !res.Pass {
		res.Reason = strings.Join(problems, "; ")
	}
	return res, nil
}

// reflectionProblem says what is inconsistent about critiqued attempt i, or "".
func reflectionProblem(attempts []schema.Attempt, i int) string {
	a, c := attempts[i], attempts[i].Critique
	if c.Parse != schema.ParseOK || a.Decision == schema.DecisionParseFailed {
		return fmt.Sprintf("critique could not be parsed (%s)", c.Parse)
	}
	if c.Score == nil {
		return "critique parsed but carries no score"
	}
	score := *c.Score
	rule := fmt.Sprintf("%s %d", comparator(c.Comparator), c.Threshold)
	if ok, _ := c.Accepts(); ok {
		if a.Decision != schema.DecisionAccept {
			return fmt.Sprintf("score %d meets %s but the decision was %s", score, rule, a.Decision)
		}
		return ""
	}
	switch a.Decision {
	case schema.DecisionKeepLimit:
		return ""
	case schema.DecisionRepaint:
		if i+1 >= len(attempts) {
			return fmt.Sprintf("score %d fails %s and was marked for repaint, but no repaint follows", score, rule)
		}
		if sameText(attempts[i+1].Thought, a.Thought) {
			return fmt.Sprintf("repainted from the same thought (score %d fails %s)", score, rule)
		}
		return ""
	}
	return fmt.Sprintf("score %d fails %s but the decision was %s", score, rule, a.Decision)
}

func comparator(c string) string {
	if c == ">" {
		return ">"
	}
	return ">="
}

// regionLabel names region k (0-based in the records) for a reader, who
// counts regions from 1, as the report, the prompts and the sft tasks do.
func regionLabel(k int) string { return fmt.Sprintf("region %d", k+1) }

// attemptLabel names attempt a (0-based in the records) for a reader:
// attempt 1 is the first pass, attempt 2 the first repaint.
func attemptLabel(a int) string { return fmt.Sprintf("attempt %d", a+1) }

// sameText reports whether a and b are the same text, ignoring case,
// white space and punctuation.
func sameText(a, b string) bool { return textKey(a) == textKey(b) }

func textKey(s string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " "))
}
