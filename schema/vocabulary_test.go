package schema

import (
	"slices"
	"testing"
)

func TestParseReason(t *testing.T) {
	for _, tt := range []struct {
		reason, judge, text string
	}{
		{"coverage: missing red apple", "coverage", "missing red apple"},
		{"vlm: score 0.52 < 0.60 (overall 40/100: 1/3 yes)", "vlm", "score 0.52 < 0.60 (overall 40/100: 1/3 yes)"},
		{"dedup_prompt: near-duplicate prompt of 1234", "dedup_prompt", "near-duplicate prompt of 1234"},
		{"overall: score 0.40 < 0.50", "overall", "score 0.40 < 0.50"},
		{"canvas_sanity: no result", "canvas_sanity", "no result"},
		{"thought_format: ", "thought_format", ""},
		{"thought_format:", "thought_format", ""},
		{"coverage:  two spaces", "coverage", " two spaces"},
		{" coverage : spaced", "coverage", "spaced"},
		{"coverage", "coverage", ""},
		{"", "", ""},
	} {
		judge, text := ParseReason(tt.reason)
		if judge != tt.judge || text != tt.text {
			t.Errorf("ParseReason(%q) = %q, %q; want %q, %q", tt.reason, judge, text, tt.judge, tt.text)
		}
	}
}

func TestFormatReasonRoundTrip(t *testing.T) {
	for _, tt := range []struct{ judge, text string }{
		{"coverage", "missing red apple"},
		{"vlm", "score 0.52 < 0.60 (a: b)"},
		{"improvement", ""},
		{"canvas_sanity", " leading space kept"},
	} {
		r := FormatReason(tt.judge, tt.text)
		if judge, text := ParseReason(r); judge != tt.judge || text != tt.text {
			t.Errorf("ParseReason(FormatReason(%q, %q)) = %q, %q", tt.judge, tt.text, judge, text)
		}
	}
	if got, want := FormatReason("coverage", "missing apple"), "coverage: missing apple"; got != want {
		t.Errorf("FormatReason = %q, want %q", got, want)
	}
}

func TestReasonJudges(t *testing.T) {
	for _, tt := range []struct {
		name    string
		reasons []string
		want    []string
	}{
		{"accepted", nil, nil},
		{"one", []string{"coverage: missing apple"}, []string{"coverage"}},
		{"in order, once each", []string{"vlm: low", "coverage: a", "vlm: again", "overall: score 0.1 < 0.5"}, []string{"vlm", "coverage", "overall"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Verdict{Reasons: tt.reasons}).ReasonJudges(); !slices.Equal(got, tt.want) {
				t.Errorf("ReasonJudges = %q, want %q", got, tt.want)
			}
		})
	}
}
