package filters_test

import (
	"context"
	"testing"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// withThoughts builds a trajectory whose regions kept the given thoughts.
func withThoughts(prompt string, thoughts ...string) *schema.Trajectory {
	t := &schema.Trajectory{ID: "t1", Prompt: prompt, PromptNormalized: prompt}
	for k, th := range thoughts {
		t.Regions = append(t.Regions, schema.Region{Index: int32(k),
			Thought:  schema.Thought{Text: "original"},
			Attempts: []schema.Attempt{{Thought: "first try"}, {Index: 1, Thought: th}}})
	}
	return t
}

func TestThoughtFormat(t *testing.T) {
	tests := []struct {
		name      string
		thoughts  []string
		wantPass  bool
		wantScore float64
		wantWhy   string
	}{
		{"good", []string{"The background is plain and softly lit.", "A green bench stands on the left of a blue bowl.", "The ground is even and softly shaded."}, true, 1, "every thought is one plain sentence"},
		{"two sentences", []string{"A red apple sits here. It is shiny.", "A blue bowl rests nearby.", "The ground is even and soft."}, false, 2.0 / 3, "region 1 has more than one sentence"},
		{"section label", []string{"Top: a clear sky.", "Part 2: a blue bowl rests nearby.", "The ground is even and soft."}, false, 1.0 / 3, `region 1 starts with a section label ("Top:"); region 2 starts with a section label ("Part 2:")`},
		{"positional section words", []string{"The upper third shows a plain wall.", "A blue bowl rests nearby.", "The ground is even and soft."}, false, 2.0 / 3, `region 1 names a section ("upper third")`},
		{"relation words are content", []string{"An airplane flies on the top of a horse.", "A blue bowl rests nearby.", "The ground is even and soft."}, true, 1, "every thought is one plain sentence"},
		{"too short", []string{"Sky.", "A blue bowl rests nearby.", "The ground is even and soft."}, false, 2.0 / 3, "region 1 has 1 words, fewer than 3"},
		{"repetition", []string{"A blue bowl rests nearby.", "A blue bowl rests nearby!", "The ground is even and soft."}, false, 2.0 / 3, "region 2 repeats the thought of region 1"},
		{"abbreviation-free decimal", []string{"A bottle holds 1.5 litres of water.", "A blue bowl rests nearby.", "The ground is even and soft."}, true, 1, "every thought is one plain sentence"},
	}
	j := filters.NewThoughtFormat()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := j.Judge(context.Background(), withThoughts("a blue bowl", tc.thoughts...))
			if err != nil {
				t.Fatal(err)
			}
			want := schema.JudgeResult{Score: tc.wantScore, Pass: tc.wantPass, Reason: tc.wantWhy}
			if got != want {
				t.Errorf("Judge = %+v, want %+v", got, want)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	tests := []struct {
		name     string
		prompt   string
		thoughts []string
		want     schema.JudgeResult
	}{
		{"all covered", "a green bench and a blue bowl",
			[]string{"The background is plain.", "A green bench stands beside a blue bowl.", "The ground is even."},
			schema.JudgeResult{Score: 1, Pass: true, Reason: "all 2 objects covered"}},
		{"covered across thoughts and in plural", "two cats and a red apple",
			[]string{"Two cats sit together.", "A red apple lies on the grass.", "The ground is even."},
			schema.JudgeResult{Score: 1, Pass: true, Reason: "all 2 objects covered"}},
		{"object missing", "a green bench and a blue bowl",
			[]string{"The background is plain.", "A green bench stands alone.", "The ground is even."},
			schema.JudgeResult{Score: 0.5, Pass: false, Reason: "not in any thought: blue bowl"}},
		{"wrong colour", "a red apple and a green train",
			[]string{"The sky is clear.", "A green apple sits beside a green train.", "The ground is even."},
			schema.JudgeResult{Score: 0.5, Pass: false, Reason: "not in any thought: red apple"}},
		{"synonym attribute", "a circular clock and a wooden desk",
			[]string{"The wall is plain.", "A round clock hangs over a wooden desk.", "The floor is even."},
			schema.JudgeResult{Score: 1, Pass: true, Reason: "all 2 objects covered"}},
		{"compound noun", "a metallic fork and a wooden jewelry box",
			[]string{"The backdrop is plain.", "A metallic fork lies by a wooden jewelry box.", "The ground is even."},
			schema.JudgeResult{Score: 1, Pass: true, Reason: "all 2 objects covered"}},
	}
	j := filters.NewCoverage()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := j.Judge(context.Background(), withThoughts(tc.prompt, tc.thoughts...))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Judge = %+v, want %+v", got, tc.want)
			}
		})
	}
}
