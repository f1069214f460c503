package inference_test

import (
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

func TestParseCritique(t *testing.T) {
	ok := func(score int, revised string) inference.ParsedCritique {
		return inference.ParsedCritique{Score: score, HasScore: true, Revised: revised, Status: schema.ParseOK}
	}
	fail := func(status, revised string) inference.ParsedCritique {
		return inference.ParsedCritique{Revised: revised, Status: status}
	}
	tests := []struct {
		name string
		raw  string
		want inference.ParsedCritique
	}{
		// The reference's own format, and the shapes real models answer in.
		{"reference format", "SCORE: 85\nIMPROVED_DESCRIPTION: A red apple sits on a table.", ok(85, "A red apple sits on a table.")},
		{"one line", "SCORE: 85 IMPROVED_DESCRIPTION: A red apple sits on a table.", ok(85, "A red apple sits on a table.")},
		{"remark after the score", "SCORE: 72 (colour is off)\nIMPROVED_DESCRIPTION: A red apple.", ok(72, "A red apple.")},
		{"numbered list", "1. SCORE: 72\n2. IMPROVED_DESCRIPTION: A red apple.", ok(72, "A red apple.")},
		{"markdown key and /100", "**Score**: 81/100\n**IMPROVED_DESCRIPTION**: A red apple.", ok(81, "A red apple.")},
		{"markdown and case", "**Score:** 92/100\n\n**Improved description:** \"A blue bowl.\"", ok(92, "A blue bowl.")},
		{"lower case keys", "score: 64\nimproved_description: a blue bowl.", ok(64, "a blue bowl.")},
		{"echoed scale", "Score (0-100): 77\nImproved description: A blue bowl.", ok(77, "A blue bowl.")},
		{"bracketed", "SCORE: [88]\nIMPROVED_DESCRIPTION: A blue bowl.", ok(88, "A blue bowl.")},
		{"preamble", "The band looks mostly right.\nSCORE: 91\nIMPROVED_DESCRIPTION: A blue bowl.", ok(91, "A blue bowl.")},
		{"heading", "### Score: 58\n### Improved description: A blue bowl.", ok(58, "A blue bowl.")},
		{"decimal cut to integer", "SCORE: 87.5\nIMPROVED_DESCRIPTION: A cat.", ok(87, "A cat.")},
		{"out of ten rescaled", "Score: 8/10\nIMPROVED_DESCRIPTION: A cat.", ok(80, "A cat.")},
		{"score after description", "IMPROVED_DESCRIPTION: A cat.\nSCORE: 100", ok(100, "A cat.")},
		{"description ends at a blank line", "SCORE: 40\nIMPROVED_DESCRIPTION: A cat.\n\nI lowered the score because the cat is blue.", ok(40, "A cat.")},
		{"first score wins", "SCORE: 70\nIMPROVED_DESCRIPTION: A cat.\nSCORE: 95", ok(70, "A cat.")},
		{"zero", "SCORE: 0\nIMPROVED_DESCRIPTION: x.", ok(0, "x.")},
		// What cannot be read, and why.
		{"missing score", "IMPROVED_DESCRIPTION: A cat.", fail(schema.ParseMissingScore, "A cat.")},
		{"word score", "SCORE: high\nIMPROVED_DESCRIPTION: A cat.", fail(schema.ParseBadScore, "A cat.")},
		{"out of range", "SCORE: 150\nIMPROVED_DESCRIPTION: A cat.", fail(schema.ParseScoreRange, "A cat.")},
		{"out of range on its scale", "SCORE: 12/10\nIMPROVED_DESCRIPTION: A cat.", fail(schema.ParseScoreRange, "A cat.")},
		{"negative", "SCORE: -3\nIMPROVED_DESCRIPTION: A cat.", fail(schema.ParseScoreRange, "A cat.")},
		{"missing description", "SCORE: 70", inference.ParsedCritique{Score: 70, HasScore: true, Status: schema.ParseMissingRevised}},
		{"empty description", "SCORE: 70\nIMPROVED_DESCRIPTION:   ", inference.ParsedCritique{Score: 70, HasScore: true, Status: schema.ParseMissingRevised}},
		{"scores is not score", "All scores: 80\nIMPROVED_DESCRIPTION: A cat.", fail(schema.ParseMissingScore, "A cat.")},
		{"prose", "Looks great, maybe 80.", fail(schema.ParseMissingScore, "")},
		{"empty", "", fail(schema.ParseMissingScore, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := inference.ParseCritique(tc.raw); got != tc.want {
				t.Errorf("ParseCritique(%q) = %+v, want %+v", tc.raw, got, tc.want)
			}
		})
	}
}

func FuzzParseCritique(f *testing.F) {
	for _, s := range []string{"SCORE: 85\nIMPROVED_DESCRIPTION: A cat.", "SCORE: x", "**score**: 9/10", "IMPROVED_DESCRIPTION:\n\nSCORE: 1", "Score (0-100): 5/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p := inference.ParseCritique(raw)
		if p.Status == schema.ParseOK && (!p.HasScore || p.Revised == "") {
			t.Errorf("ParseCritique(%q) = %+v: ok without a score or a description", raw, p)
		}
		if p.HasScore && (p.Score < 0 || p.Score > 100) {
			t.Errorf("ParseCritique(%q) = %+v: a score outside 0..100", raw, p)
		}
		if !p.HasScore && p.Score != 0 {
			t.Errorf("ParseCritique(%q) = %+v: a score value without HasScore", raw, p)
		}
	})
}

func TestCleanThought(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  \"A red apple.\"\n", "A red apple."},
		{"**A red\napple.**", "A red apple."},
		{"\u201cA cat.\u201d", "A cat."},
		{"Two sentences. Kept as is.", "Two sentences. Kept as is."},
		{"   ", ""},
	}
	for _, tc := range tests {
		if got := inference.CleanThought(tc.in); got != tc.want {
			t.Errorf("CleanThought(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
