package filters_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// TestNames checks that the name lists are the names the judges record,
// and that the default policy asks for no judge outside them.
func TestNames(t *testing.T) {
	rule := []filters.Judge{filters.NewThoughtFormat(), filters.NewCoverage(), filters.NewReflection(), filters.NewCanvas(), filters.NewImprovement()}
	var want []string
	for _, j := range rule {
		want = append(want, j.Name())
	}
	want = append(want, filters.JudgeVLM)
	if got := filters.TrajectoryJudges(); !slices.Equal(got, want) {
		t.Errorf("TrajectoryJudges() = %q, want the rule judges' names then vlm: %q", got, want)
	}
	want = append(want, filters.JudgeDedupPrompt, filters.JudgeDedupImage)
	if got := filters.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	names := filters.Names()
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("Names() repeats a name: %q", names)
	}
	if slices.Contains(names, filters.Overall) {
		t.Errorf("Names() holds %q, the name of the overall score", filters.Overall)
	}
	if err := filters.DefaultPolicy().Validate(filters.Names()); err != nil {
		t.Errorf("the default policy does not validate against Names(): %v", err)
	}
	names[0] = "changed"
	if filters.Names()[0] == "changed" {
		t.Error("Names() returns a shared slice")
	}
}

type failingJudge struct{ err error }

func (failingJudge) Name() string    { return "failing" }
func (failingJudge) Version() string { return "1" }
func (j failingJudge) Judge(context.Context, *schema.Trajectory) (schema.JudgeResult, error) {
	return schema.JudgeResult{}, j.err
}

func TestApplyJudgeError(t *testing.T) {
	cause := errors.New("viewer down")
	err := filters.Apply(context.Background(), []filters.Judge{failingJudge{cause}}, filters.Policy{}, &schema.Trajectory{ID: "t1"})
	var je *filters.JudgeError
	if !errors.As(err, &je) || je.Judge != "failing" || je.ID != "t1" || !errors.Is(err, cause) {
		t.Fatalf("Apply = %v, want a *JudgeError of judge failing on t1 wrapping the cause", err)
	}
	if got, want := err.Error(), "judge failing on t1: viewer down"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
