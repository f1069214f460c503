package schema

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// Namespace is the fixed UUID namespace of trajectory ids. Never change it:
// ids across dataset versions are comparable only while it stays put.
var Namespace = uuid.MustParse("6f0e4c1a-7a53-5b0e-9c1d-2b7f7e1a9d40")

// TrajectoryID returns the deterministic id of the sample'th trajectory of
// a normalised prompt in a dataset: a UUID v5 in Namespace.
func TrajectoryID(dataset, normalizedPrompt string, sample int) string {
	name := dataset + "\x00" + normalizedPrompt + "\x00" + strconv.Itoa(sample)
	return uuid.NewSHA1(Namespace, []byte(name)).String()
}

// ValidationError reports a broken invariant of a record.
type ValidationError struct {
	ID     string // the record's id, if any
	Field  string // the path of the offending field, e.g. "regions[1].attempts"
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("trajectory %s: %s: %s", e.ID, e.Field, e.Reason)
}

// Validate checks the invariants of a trajectory that a reader relies on.
// It returns the first broken invariant as a *ValidationError. Heavy
// payloads (tokens, image bytes) are checked only when present, so a
// trajectory stripped of them for a shuffle still validates.
func (t *Trajectory) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ValidationError{ID: t.ID, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if t.SchemaVersion != Version {
		return bad("schema_version", "is %q, want %q", t.SchemaVersion, Version)
	}
	if _, err := uuid.Parse(t.ID); err != nil {
		return bad("id", "not a UUID: %v", err)
	}
	if t.PromptNormalized == "" {
		return bad("prompt_normalized", "is empty")
	}
	if !slices.Contains(Categories, t.Category) {
		return bad("category", "%q is not one of %v", t.Category, Categories)
	}
	s := t.Schedule
	if s.K <= 0 {
		return bad("schedule.k", "is %d, want > 0", s.K)
	}
	if s.PatchSize <= 0 || s.ImageSize%s.PatchSize != 0 || s.GridSize != s.ImageSize/s.PatchSize {
		return bad("schedule", "image %d, patch %d, grid %d do not agree", s.ImageSize, s.PatchSize, s.GridSize)
	}
	if s.NumTokens != s.GridSize*s.GridSize {
		return bad("schedule.num_tokens", "is %d, want %d", s.NumTokens, s.GridSize*s.GridSize)
	}
	if int(s.K) != len(s.Spans) {
		return bad("schedule.spans", "has %d spans for K=%d", len(s.Spans), s.K)
	}
	next := int32(0)
	for i, sp := range s.Spans {
		if sp.Start != next || sp.End <= sp.Start {
			return bad(fmt.Sprintf("schedule.spans[%d]", i), "[%d,%d) does not continue the tiling at %d", sp.Start, sp.End, next)
		}
		next = sp.End
	}
	if next != s.NumTokens {
		return bad("schedule.spans", "cover %d tokens, want %d", next, s.NumTokens)
	}
	switch t.Verdict.Status {
	case StatusAccepted, StatusRejected:
	case StatusFailed:
		return nil // a failed trajectory may be partial
	default:
		return bad("verdict.status", "%q is not accepted, rejected or failed", t.Verdict.Status)
	}
	if t.Verdict.Status == StatusRejected && len(t.Verdict.Reasons) == 0 {
		return bad("verdict.reasons", "a rejected trajectory must say why")
	}
	if len(t.Regions) != int(s.K) {
		return bad("regions", "has %d regions for K=%d", len(t.Regions), s.K)
	}
	for k, r := range t.Regions {
		field := fmt.Sprintf("regions[%d]", k)
		if r.Index != int32(k) {
			return bad(field+".index", "is %d, want %d", r.Index, k)
		}
		if r.Thought.Text == "" {
			return bad(field+".thought.text", "is empty")
		}
		if len(r.Attempts) == 0 {
			return bad(field+".attempts", "region has no attempt")
		}
		want := s.Spans[k].End - s.Spans[k].Start
		for a, at := range r.Attempts {
			af := fmt.Sprintf("%s.attempts[%d]", field, a)
			if at.Index != int32(a) {
				return bad(af+".index", "is %d, want %d", at.Index, a)
			}
			if at.Tokens != nil && int32(len(at.Tokens)) != want {
				return bad(af+".tokens", "has %d tokens, the span holds %d", len(at.Tokens), want)
			}
			if sc := at.Critique.Score; sc != nil && (*sc < 0 || *sc > 100) {
				return bad(af+".critique.score", "%d is outside 0..100", *sc)
			}
			if at.Critique.Score != nil && !at.Critiqued {
				return bad(af+".critique.score", "is set on an attempt that was not critiqued")
			}
			last := a == len(r.Attempts)-1
			if !last && at.Decision != DecisionRepaint {
				return bad(af+".decision", "%q on an attempt that was replaced, want %q", at.Decision, DecisionRepaint)
			}
			if last && at.Decision == DecisionRepaint {
				return bad(af+".decision", "the last attempt was marked for repaint but none followed")
			}
		}
	}
	if t.FinalTokens != nil && int32(len(t.FinalTokens)) != s.NumTokens {
		return bad("final_tokens", "has %d tokens, want %d", len(t.FinalTokens), s.NumTokens)
	}
	return nil
}

// Accepts applies the critique's own recorded rule to its score: whether
// Score Comparator Threshold holds (">" or, by default, ">="). ok is false
// when the critique carries no score.
func (c Critique) Accepts() (accept, ok bool) {
	if c.Score == nil {
		return false, false
	}
	if c.Comparator == ">" {
		return *c.Score > c.Threshold, true
	}
	return *c.Score >= c.Threshold, true
}
