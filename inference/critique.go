package inference

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/twigdata/twig/schema"
)

// ParsedCritique is what ParseCritique read from a critic's answer.
type ParsedCritique struct {
	// Score is 0..100, or -1 when Status is not schema.ParseOK.
	Score int
	// Revised is the improved description, cleaned; may be set even when
	// the score could not be read.
	Revised string
	// Status is one of the schema.Parse* statuses.
	Status string
}

var (
	scoreRe   = regexp.MustCompile(`(?im)^[\s*#>_-]*score[\s*_]*:[\s*_]*([^\n]*)$`)
	revisedRe = regexp.MustCompile(`(?is)improved[ _]description[\s*_]*:[\s*_]*(.*)`)
	numberRe  = regexp.MustCompile(`^[+-]?\d+`)
)

// ParseCritique reads the critique output format:
//
//	SCORE: <integer 0..100>
//	IMPROVED_DESCRIPTION: <one sentence>
//
// Keys are matched case-insensitively and may carry Markdown emphasis; the
// score may be written "85", "85/100" or "85.". Unlike the reference code,
// which silently accepts an answer it cannot read, a missing or unreadable
// score or an empty description is reported in Status.
func ParseCritique(raw string) ParsedCritique {
	p := ParsedCritique{Score: -1}
	if m := revisedRe.FindStringSubmatch(raw); m != nil {
		rest := m[1]
		// The description ends at a blank line or at another key.
		if i := strings.Index(rest, "\n\n"); i >= 0 {
			rest = rest[:i]
		}
		if loc := scoreRe.FindStringIndex(rest); loc != nil {
			rest = rest[:loc[0]]
		}
		p.Revised = CleanThought(rest)
	}
	m := scoreRe.FindStringSubmatch(raw)
	switch {
	case m == nil:
		p.Status = schema.ParseMissingScore
		return p
	}
	field := strings.TrimSpace(strings.Trim(m[1], "*_ "))
	num := numberRe.FindString(field)
	if num == "" {
		p.Status = schema.ParseBadScore
		return p
	}
	rest := strings.TrimSpace(field[len(num):])
	if rest != "" && !strings.HasPrefix(rest, "/") && rest != "." {
		p.Status = schema.ParseBadScore
		return p
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		p.Status = schema.ParseBadScore
		return p
	}
	if n < 0 || n > 100 {
		p.Status = schema.ParseScoreRange
		return p
	}
	if p.Revised == "" {
		p.Status = schema.ParseMissingRevised
		return p
	}
	p.Score, p.Status = n, schema.ParseOK
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
