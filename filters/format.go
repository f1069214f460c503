package filters

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/twigdata/twig/schema"
)

// ThoughtFormat checks every thought that conditioned the image against the
// method's rules: one literal sentence, no section labels or positional
// section words, between MinWords and MaxWords words, and no thought
// repeating an earlier one. Its score is the share of thoughts that pass.
type ThoughtFormat struct {
	MinWords int `json:"min_words"`
	MaxWords int `json:"max_words"`
}

// NewThoughtFormat returns the judge with its default bounds: 3 to 60 words.
func NewThoughtFormat() *ThoughtFormat { return &ThoughtFormat{MinWords: 3, MaxWords: 60} }

var _ Judge = (*ThoughtFormat)(nil)

func (*ThoughtFormat) Name() string    { return JudgeThoughtFormat }
func (*ThoughtFormat) Version() string { return "1" }

var (
	// labelRe matches a leading section label: "Part 2:", "Top:", "Layer 1 -", "Upper band:".
	labelRe = regexp.MustCompile(`(?i)^\W*(?:(?:part|section|layer|band|region|step|image|panel)\s*\d*|(?:top|upper|middle|central|center|lower|bottom|background|foreground)(?:\s+(?:part|third|half|band|section|region|layer|portion|area))?)\s*\d*\s*[:\-\x{2013}\x{2014}]`)
	// sectionRe matches a positional section phrase anywhere: "the top third", "in the lower band".
	sectionRe = regexp.MustCompile(`(?i)\b(?:top|upper|middle|central|centre|center|lower|bottom)\s+(?:third|half|band|section|region|layer|portion|part)s?\b|\b(?:band|layer|section)\s+\d`)
	// sentenceEndRe matches the end of a sentence followed by more text.
	sentenceEndRe = regexp.MustCompile(`[.!?]["'\x{201d})]*\s+\S`)
)

// Judge implements Judge.
func (f *ThoughtFormat) Judge(_ context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	thoughts := Thoughts(t)
	var problems []string
	passed := 0
	seen := map[string]int{}
	for k, th := range thoughts {
		p := f.check(th)
		key := strings.ToLower(strings.Join(strings.FieldsFunc(th, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " "))
		if j, ok := seen[key]; ok && p == "" {
			p = "repeats the thought of " + regionLabel(j)
		}
		seen[key] = k
		if p == "" {
			passed++
			continue
		}
		problems = append(problems, regionLabel(k)+" "+p)
	}
	r := schema.JudgeResult{Score: 1, Pass: len(problems) == 0, Reason: "every thought is one plain sentence"}
	if len(thoughts) > 0 {
		r.Score = float64(passed) / float64(len(thoughts))
	}
	if !r.Pass {
		r.Reason = strings.Join(problems, "; ")
	}
	return r, nil
}

// check returns what is wrong with one thought, or "".
func (f *ThoughtFormat) check(th string) string {
	words := len(strings.Fields(th))
	switch {
	case words < f.MinWords:
		return fmt.Sprintf("has %d words, fewer than %d", words, f.MinWords)
	case words > f.MaxWords:
		return fmt.Sprintf("has %d words, more than %d", words, f.MaxWords)
	case labelRe.MatchString(th):
		return fmt.Sprintf("starts with a section label (%q)", labelRe.FindString(th))
	case sectionRe.MatchString(th):
		return fmt.Sprintf("names a section (%q)", sectionRe.FindString(th))
	case sentenceEndRe.MatchString(th):
		return "has more than one sentence"
	case strings.ContainsAny(th, "\n\r"):
		return "spans several lines"
	}
	return ""
}
