package seeds

import (
	"reflect"
	"testing"

	"github.com/twigdata/twig/schema"
)

func TestPlan(t *testing.T) {
	line := func(uri string, n int64, norm string) Line {
		return Line{Source: schema.Source{URI: uri, Line: n}, Prompt: norm, Normalized: norm, Category: "other"}
	}
	// kept gives the source and prompt of each seed, in order.
	type kept struct {
		uri    string
		line   int64
		prompt string
		sample int32
	}
	tests := []struct {
		name string
		in   []Line
		cfg  PlanConfig
		want []kept
		n    PlanCounts
	}{
		{name: "nothing", cfg: PlanConfig{Samples: 1}},
		{
			name: "sorted by file then line",
			in:   []Line{line("b.txt", 1, "x"), line("a.txt", 10, "y"), line("a.txt", 2, "z")},
			cfg:  PlanConfig{Samples: 1},
			want: []kept{{"a.txt", 2, "z", 0}, {"a.txt", 10, "y", 0}, {"b.txt", 1, "x", 0}},
			n:    PlanCounts{Prompts: 3, Seeded: 3},
		},
		{
			name: "first occurrence kept, whatever the input order",
			in:   []Line{line("a.txt", 7, "x"), line("a.txt", 3, "x"), line("a.txt", 5, "y"), line("a.txt", 9, "x")},
			cfg:  PlanConfig{Samples: 1},
			want: []kept{{"a.txt", 3, "x", 0}, {"a.txt", 5, "y", 0}},
			n:    PlanCounts{Prompts: 2, Seeded: 2, Duplicates: 2},
		},
		{
			name: "duplicates across files and categories",
			in:   []Line{line("shape.txt", 1, "a red cube"), line("color.txt", 4, "a red cube")},
			cfg:  PlanConfig{Samples: 1},
			want: []kept{{"color.txt", 4, "a red cube", 0}},
			n:    PlanCounts{Prompts: 1, Seeded: 1, Duplicates: 1},
		},
		{
			name: "case and punctuation differ: not duplicates",
			in:   []Line{line("a.txt", 1, "a round bagel"), line("a.txt", 2, "a round bagel."), line("a.txt", 3, "A round bagel")},
			cfg:  PlanConfig{Samples: 1},
			want: []kept{{"a.txt", 1, "a round bagel", 0}, {"a.txt", 2, "a round bagel.", 0}, {"a.txt", 3, "A round bagel", 0}},
			n:    PlanCounts{Prompts: 3, Seeded: 3},
		},
		{
			name: "limit keeps the first prompts; a duplicate is not limited",
			in:   []Line{line("a.txt", 1, "x"), line("a.txt", 2, "x"), line("a.txt", 3, "y"), line("a.txt", 4, "z"), line("a.txt", 5, "y")},
			cfg:  PlanConfig{Limit: 2, Samples: 1},
			want: []kept{{"a.txt", 1, "x", 0}, {"a.txt", 3, "y", 0}},
			n:    PlanCounts{Prompts: 2, Seeded: 2, Duplicates: 2, Limited: 1},
		},
		{
			name: "samples per prompt",
			in:   []Line{line("a.txt", 2, "y"), line("a.txt", 1, "x")},
			cfg:  PlanConfig{Samples: 3},
			want: []kept{{"a.txt", 1, "x", 0}, {"a.txt", 1, "x", 1}, {"a.txt", 1, "x", 2}, {"a.txt", 2, "y", 0}, {"a.txt", 2, "y", 1}, {"a.txt", 2, "y", 2}},
			n:    PlanCounts{Prompts: 2, Seeded: 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]Line(nil), tt.in...)
			out, n := Plan(in, tt.cfg)
			var got []kept
			for _, s := range out {
				got = append(got, kept{s.Source.URI, s.Source.Line, s.PromptNormalized, s.SampleIndex})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("seeds:\ngot  %+v\nwant %+v", got, tt.want)
			}
			if n != tt.n {
				t.Errorf("counts = %+v, want %+v", n, tt.n)
			}
			if !reflect.DeepEqual(in, tt.in) {
				t.Errorf("Plan changed its input:\ngot  %+v\nwant %+v", in, tt.in)
			}
		})
	}
}

// TestPlanSeed checks one seed field by field: ids and seeds are pinned,
// since changing either changes every dataset.
func TestPlanSeed(t *testing.T) {
	in := []Line{{
		Source: schema.Source{URI: "p.jsonl", Line: 3}, ID: "c-7",
		Prompt: "a red  apple", Normalized: "a red apple",
	}}
	out, _ := Plan(in, PlanConfig{Dataset: "twig-demo", Split: "train", Samples: 1, Seed: 42})
	want := []schema.Seed{{
		ID: "799e21d5-56f2-5d38-973b-9da5d0024c72", Dataset: "twig-demo", Split: "train",
		Prompt: "a red  apple", PromptNormalized: "a red apple",
		Source: schema.Source{URI: "p.jsonl", Line: 3, ID: "c-7"},
		// No category on the line: the annotator's.
		Category: "colour", SampleIndex: 0, Seed: 8493068831930480429,
	}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Plan:\ngot  %+v\nwant %+v", out, want)
	}
	if got := SampleSeed(0, "x"); got != 6337171427373630499 {
		t.Errorf("SampleSeed(0, x) = %d, want 6337171427373630499", got)
	}
}
