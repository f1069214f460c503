package vlm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Answer is a parsed judge answer.
type Answer struct {
	// Score is the overall score, 0..100.
	Score int
	// Yes holds the answer to each question in order: Yes[i] answers
	// question i+1.
	Yes []bool
}

// ParseError says why a judge answer could not be parsed.
type ParseError struct {
	// Score says what is wrong with the score: "" when it is fine,
	// "missing", "not a number" or "out of range".
	Score string
	// Missing lists the questions (1-based) left unanswered.
	Missing []int
}

// Error says what the answer lacks.
func (e *ParseError) Error() string {
	var parts []string
	if e.Score != "" {
		parts = append(parts, "score "+e.Score)
	}
	if len(e.Missing) > 0 {
		qs := make([]string, len(e.Missing))
		for i, n := range e.Missing {
			qs[i] = fmt.Sprintf("Q%d", n)
		}
		parts = append(parts, "no answer to "+strings.Join(qs, ", "))
	}
	return strings.Join(parts, "; ")
}

var (
	// scoreRe finds a score line ("SCORE: 83", "**Score** = 83/100",
	// "Overall score: 83") and captures what follows the label.
	scoreRe = regexp.MustCompile(`(?i)^[\s*#_>\-]*(?:overall\s+)?score[\s*_]*(?:[:=\-][\s*_]*)?(.*)$`)
	// numberRe reads the value: an integer, maybe with decimals or "/100".
	numberRe = regexp.MustCompile(`^(\d{1,4})(?:\.\d+)?(?:\s*/\s*100)?(?:$|[^\d./])`)
	// questionRe finds an answer line ("Q1: yes", "**q2** - No.",
	// "Q 3) YES, it is") and captures the number and the answer.
	questionRe = regexp.MustCompile(`(?i)^[\s*#_>\-]*q\s*(\d+)[\s*_]*[:.)=\-]?[\s*_]*(yes|no|y|n|true|false)\b`)
)

// ParseAnswer reads a judge answer to n questions. It returns a
// [*ParseError] when no line holds a score from 0 to 100, or when a
// question 1..n is unanswered; see the package documentation for what it
// accepts. The first valid score and the first answer to each question
// count.
func ParseAnswer(raw string, n int) (Answer, error) {
	n = max(n, 0)
	a := Answer{Score: -1, Yes: make([]bool, n)}
	answered := make([]bool, n)
	scoreProblem := "missing"
	for line := range strings.Lines(raw) {
		line = strings.TrimSpace(line)
		if m := questionRe.FindStringSubmatch(line); m != nil {
			q, err := strconv.Atoi(m[1])
			if err == nil && q >= 1 && q <= n && !answered[q-1] {
				answered[q-1] = true
				switch strings.ToLower(m[2]) {
				case "yes", "y", "true":
					a.Yes[q-1] = true
				}
			}
			continue
		}
		m := scoreRe.FindStringSubmatch(line)
		if m == nil || a.Score >= 0 {
			continue
		}
		num := numberRe.FindStringSubmatch(strings.TrimSpace(strings.TrimLeft(m[1], "*_ ")))
		if num == nil {
			scoreProblem = "not a number"
			continue
		}
		s, _ := strconv.Atoi(num[1])
		if s > 100 {
			scoreProblem = "out of range"
			continue
		}
		a.Score, scoreProblem = s, ""
	}
	perr := &ParseError{Score: scoreProblem}
	for i, ok := range answered {
		if !ok {
			perr.Missing = append(perr.Missing, i+1)
		}
	}
	if perr.Score != "" || len(perr.Missing) > 0 {
		return a, perr
	}
	return a, nil
}
