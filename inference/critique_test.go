package inference_test

import (
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

func TestParseCritique(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want inference.ParsedCritique
	}{
		{"reference format", "SCORE: 85\nIMPROVED_DESCRIPTION: A red apple sits on a table.",
			inference.ParsedCritique{Score: 85, Revised: "A red apple sits on a table.", Status: schema.ParseOK}},
		{"markdown and case", "**Score:** 92/100\n\n**Improved description:** \"A blue bowl.\"",
			inference.ParsedCritique{Score: 92, Revised: "A blue bowl.", Status: schema.ParseOK}},
		{"zero and hundred bounds", "SCORE: 0\nIMPROVED_DESCRIPTION: x.", inference.ParsedCritique{Score: 0, Revised: "x.", Status: schema.ParseOK}},
		{"score after description", "IMPROVED_DESCRIPTION: A cat.\nSCORE: 100", inference.ParsedCritique{Score: 100, Revised: "A cat.", Status: schema.ParseOK}},
		{"missing score", "IMPROVED_DESCRIPTION: A cat.", inference.ParsedCritique{Score: -1, Revised: "A cat.", Status: schema.ParseMissingScore}},
		{"word score", "SCORE: high\nIMPROVED_DESCRIPTION: A cat.", inference.ParsedCritique{Score: -1, Revised: "A cat.", Status: schema.ParseBadScore}},
		{"out of range", "SCORE: 150\nIMPROVED_DESCRIPTION: A cat.", inference.ParsedCritique{Score: -1, Revised: "A cat.", Status: schema.ParseScoreRange}},
		{"negative", "SCORE: -3\nIMPROVED_DESCRIPTION: A cat.", inference.ParsedCritique{Score: -1, Revised: "A cat.", Status: schema.ParseScoreRange}},
		{"missing description", "SCORE: 70", inference.ParsedCritique{Score: -1, Status: schema.ParseMissingRevised}},
		{"empty description", "SCORE: 70\nIMPROVED_DESCRIPTION:   ", inference.ParsedCritique{Score: -1, Status: schema.ParseMissingRevised}},
		{"prose", "Looks great, maybe 80.", inference.ParsedCritique{Score: -1, Status: schema.ParseMissingScore}},
		{"empty", "", inference.ParsedCritique{Score: -1, Status: schema.ParseMissingScore}},
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
	for _, s := range []string{"SCORE: 85\nIMPROVED_DESCRIPTION: A cat.", "SCORE: x", "**score**: 9/10", "IMPROVED_DESCRIPTION:\n\nSCORE: 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p := inference.ParseCritique(raw)
		if p.Status == schema.ParseOK && (p.Score < 0 || p.Score > 100 || p.Revised == "") {
			t.Errorf("ParseCritique(%q) = %+v: ok with an invalid value", raw, p)
		}
		if p.Status != schema.ParseOK && p.Score != -1 {
			t.Errorf("ParseCritique(%q) = %+v: a score without ok", raw, p)
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
