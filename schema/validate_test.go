package schema_test

import (
	"errors"
	"testing"

	"github.com/twigdata/twig/schema"
)

// valid returns a small trajectory that passes Validate: K=3 over a 384 px
// canvas of 16 px patches, one accepted attempt per region.
func valid() schema.Trajectory {
	t := schema.Trajectory{
		SchemaVersion: schema.Version, ID: schema.TrajectoryID("d", "a red apple", 0),
		PromptNormalized: "a red apple", Category: "colour",
		Schedule: schema.Schedule{K: 3, ImageSize: 384, PatchSize: 16, GridSize: 24, NumTokens: 576,
			Spans: []schema.Span{{Start: 0, End: 192}, {Start: 192, End: 384}, {Start: 384, End: 576}}},
		Verdict: schema.Verdict{Status: schema.StatusAccepted},
	}
	for k := range 3 {
		t.Regions = append(t.Regions, schema.Region{Index: int32(k), Thought: schema.Thought{Text: "A red apple."},
			Attempts: []schema.Attempt{{Decision: schema.DecisionAccept, Tokens: make([]int32, 192)}}})
	}
	return t
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		breaks func(*schema.Trajectory)
		field  string // "" when valid
	}{
		{"valid", func(*schema.Trajectory) {}, ""},
		{"stripped payloads are fine", func(t *schema.Trajectory) {
			for k := range t.Regions {
				t.Regions[k].Attempts[0].Tokens = nil
			}
		}, ""},
		{"wrong schema version", func(t *schema.Trajectory) { t.SchemaVersion = "0.9" }, "schema_version"},
		{"id not a uuid", func(t *schema.Trajectory) { t.ID = "abc" }, "id"},
		{"unknown category", func(t *schema.Trajectory) { t.Category = "colours" }, "category"},
		{"K zero", func(t *schema.Trajectory) { t.Schedule.K = 0 }, "schedule.k"},
		{"grid disagrees", func(t *schema.Trajectory) { t.Schedule.GridSize = 23 }, "schedule"},
		{"spans overlap", func(t *schema.Trajectory) { t.Schedule.Spans[1].Start = 100 }, "schedule.spans[1]"},
		{"spans fall short", func(t *schema.Trajectory) { t.Schedule.Spans[2].End = 500 }, "schedule.spans"},
		{"region with no attempt", func(t *schema.Trajectory) { t.Regions[1].Attempts = nil }, "regions[1].attempts"},
		{"missing region", func(t *schema.Trajectory) { t.Regions = t.Regions[:2] }, "regions"},
		{"empty thought", func(t *schema.Trajectory) { t.Regions[2].Thought.Text = "" }, "regions[2].thought.text"},
		{"tokens do not fill the span", func(t *schema.Trajectory) { t.Regions[0].Attempts[0].Tokens = make([]int32, 10) }, "regions[0].attempts[0].tokens"},
		{"replaced attempt not marked repaint", func(t *schema.Trajectory) {
			t.Regions[0].Attempts = append(t.Regions[0].Attempts, schema.Attempt{Index: 1, Decision: schema.DecisionNotCritiqued})
		}, "regions[0].attempts[0].decision"},
		{"last attempt marked repaint", func(t *schema.Trajectory) { t.Regions[0].Attempts[0].Decision = schema.DecisionRepaint }, "regions[0].attempts[0].decision"},
		{"score out of range", func(t *schema.Trajectory) {
			t.Regions[0].Attempts[0].Critiqued = true
			t.Regions[0].Attempts[0].Critique.Score = new(int32(101))
		}, "regions[0].attempts[0].critique.score"},
		{"unknown verdict", func(t *schema.Trajectory) { t.Verdict.Status = "maybe" }, "verdict.status"},
		{"rejected without reason", func(t *schema.Trajectory) { t.Verdict.Status = schema.StatusRejected }, "verdict.reasons"},
		{"final tokens short", func(t *schema.Trajectory) { t.FinalTokens = make([]int32, 575) }, "final_tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := valid()
			tc.breaks(&tr)
			err := tr.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *schema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if ve.Field != tc.field || ve.ID != tr.ID {
				t.Errorf("Validate() field %q id %q, want field %q id %q (%v)", ve.Field, ve.ID, tc.field, tr.ID, err)
			}
		})
	}
}
