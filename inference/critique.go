package inference

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/twigdata/twig/schema"
)

// ParsedCritique is what ParseCritique read from a critic's answer.
type ParsedCritique struct {
	// Score is 0..100 when HasScore.
	Score    int
	HasScore bool
	// Revised is the improved description, cleaned; may be set even when
	// the score could not be read.
	Revised string
	// Status is one of the schema.Parse* statuses.
	Status string
}

var (
	// scoreRe finds the word "score" followed, after optional Markdown
	// emphasis and an optional colon or equals sign, by a number with an
	// optional decimal part and an optional "/N" scale.
	scoreRe = regexp.MustCompile(`(?i)\bscore\b[\s*_#>]*(?:\([^)\n]{0,24}\)[\s*_]*)?[:=]?[\s*_]*\[?([+-]?\d+)(?:[.,]\d+)?(?:\s*/\s*(\d+))?`)
	// scoreWordRe finds the word alone, to tell a missing score from an
	// unreadable one.
	scoreWordRe = regexp.MustCompile(`(?i)\bscore\b`)
	revisedRe   = regexp.MustCompile(`(?is)improved[ _]?description[\s*_]*:[\s*_]*(.*)`)
)

// ParseCritique reads a critic's answer in the critique output format:
//
//	SCORE: <integer 0..100>
//	IMPROVED_DESCRIPTION: <one sentence>
//
// The rules (docs/fidelity.md lists them against the reference code):
//
//   - The score is the first number after the word "score" anywhere in
//     the answer, case-insensitively, with Markdown emphasis and a colon
//     allowed between them; whatever follows the number is ignored. So
//     "SCORE: 85 IMPROVED_DESCRIPTION: ..." on one line, "SCORE: 72
//     (colour is off)", "1. SCORE: 72" and "**Score**: 81/100" all read.
//   - A decimal score is cut to its integer part ("87.5" is 87), as the
//     reference, which reads only digits, does.
//   - "x/100" is x; "x/N" with another N is rescaled to 0..100 and
//     rounded ("8/10" is 80).
//   - A score outside 0..100 ("SCORE: 150", "SCORE: -3") is refused
//     (schema.ParseScoreRange), not clamped: it says the critic did not
//     follow the scale, and the correction turn asks again.
//   - The description runs from "IMPROVED_DESCRIPTION:" (any case, with
//     or without the underscore, Markdown allowed) to a blank line, a
//     later score line or the end.
//   - The reference code silently treats a missing score or an empty
//     description as an accept; here the failure is reported in Status
//     and the loop's OnParseFailure policy decides (OnParseFailureAccept
//     reproduces the reference).
func ParseCritique(raw string) ParsedCritique {
	var p ParsedCritique
	if m := revisedRe.FindStringSubmatchIndex(raw); m != nil {
		rest := raw[m[2]:m[3]]
		if i := strings.Index(rest, "\n\n"); i >= 0 {
			rest = rest[:i]
		}
		if loc := scoreRe.FindStringIndex(rest); loc != nil {
			rest = rest[:loc[0]]
		}
		p.Revised = CleanThought(strings.TrimRight(strings.TrimSpace(rest), "*_"))
	}
	// Read the score outside the description, so that a description that
	// mentions a score does not count.
	head := raw
	if m := revisedRe.FindStringIndex(raw); m != nil && scoreRe.FindStringIndex(raw[:m[0]]) != nil {
		head = raw[:m[0]]
	}
	m := scoreRe.FindStringSubmatch(head)
	if m == nil {
		p.Status = schema.ParseMissingScore
		if scoreWordRe.MatchString(raw) {
			p.Status = schema.ParseBadScore
		}
		return p
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		p.Status = schema.ParseBadScore
		return p
	}
	if m[2] != "" {
		scale, err := strconv.Atoi(m[2])
		if err != nil || scale <= 0 {
			p.Status = schema.ParseBadScore
			return p
		}
		if scale != 100 {
			n = int(math.Round(float64(n) * 100 / float64(scale)))
		}
	}
	if n < 0 || n > 100 {
		p.Status = schema.ParseScoreRange
		return p
	}
	p.Score, p.HasScore = n, true
	if p.Revised == "" {
		p.Status = schema.ParseMissingRevised
		return p
	}
	p.Status = schema.ParseOK
	return p
}

// CleanThought turns a reasoner's raw answer into a thought: it trims
// space, drops surrounding quotes and Markdown emphasis, and joins lines.
// It does not repair rule breaks (two sentences, labels): judges see them.
func CleanThought(raw string) string {
	s := strings.Join(strings.Fields(raw), " ")
	for {
		t := s
		for _, q := range quotePairs {
			if len(t) >= len(q[0])+len(q[1]) && strings.HasPrefix(t, q[0]) && strings.HasSuffix(t, q[1]) {
				t = strings.TrimSpace(t[len(q[0]) : len(t)-len(q[1])])
			}
		}
		if t == s {
			return s
		}
		s = t
	}
}

var quotePairs = [][2]string{{`"`, `"`}, {"'", "'"}, {"\u201c", "\u201d"}, {"**", "**"}, {"*", "*"}, {"`", "`"}}
