package schema

import (
	"slices"
	"strings"
)

// Failure stages: where in the pipeline a [Failure] happened.
const (
	// StageSeed: reading a prompt file; the failure is an input line, or
	// a whole file that could not be read.
	StageSeed = "seed"
	// StageGenerate: running the loop on a sample, or staging its record.
	StageGenerate = "generate"
	// StageJudge: running the trajectory judges on a generated sample.
	StageJudge = "judge"
)

// FailureKind says what kind of error made a [Failure]: what would have to
// change for the sample to succeed.
type FailureKind string

// Failure kinds.
const (
	// FailureInput: the input itself is unusable (a bad prompt line, a
	// prompt file that cannot be read).
	FailureInput FailureKind = "input"
	// FailureBudget: a model call's budget was spent; the sample was not
	// run, or stopped, for that reason alone.
	FailureBudget FailureKind = "budget"
	// FailureModel: a model (GPU worker or remote teacher) gave no usable
	// answer: an error status, no connection, a timeout, an empty or
	// unparseable reply.
	FailureModel FailureKind = "model"
	// FailureStorage: reading or writing the output or staging storage
	// failed.
	FailureStorage FailureKind = "storage"
	// FailureJudge: a judge could not judge the trajectory, for a reason
	// none of the kinds above covers.
	FailureJudge FailureKind = "judge"
)

// FailureKinds lists the failure kinds, in a fixed order.
var FailureKinds = []FailureKind{FailureInput, FailureBudget, FailureModel, FailureStorage, FailureJudge}

// FormatReason returns the verdict reason that judge failed for text:
// "judge: text". Judge names hold no colon, so [ParseReason] gives both
// back.
func FormatReason(judge, text string) string {
	return judge + ": " + text
}

// ParseReason splits a verdict reason into the judge it names and its
// text. The judge is what comes before the first colon, without spaces
// around it; the text is what follows the colon, less the one space
// [FormatReason] puts there. A reason with no colon is all judge and has
// no text.
func ParseReason(s string) (judge, text string) {
	judge, text, _ = strings.Cut(s, ":")
	return strings.TrimSpace(judge), strings.TrimPrefix(text, " ")
}

// ReasonJudges returns the judges the verdict's reasons name, each once,
// in the order of their first reason.
func (v Verdict) ReasonJudges() []string {
	var out []string
	for _, r := range v.Reasons {
		if j, _ := ParseReason(r); !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	return out
}
