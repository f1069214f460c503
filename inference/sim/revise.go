package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/twigdata/twig/annotators"
)

// Words the critic's revisions use to insist on what a band got wrong.
// They are adverbs and adjectives only: a revision never names a noun
// that its planned sentence does not.
var (
	visibleWords = []string{"clearly visible", "fully visible", "plainly visible"}
	colourWords  = []string{"entirely", "completely", "uniformly"}
	featureWords = []string{"distinctly", "unmistakably", "markedly"}
)

// revise writes the improved description of band b: the thought itself
// when the band is flawless, the thought follows the rules and the critic
// is satisfied (score at least SatisfiedScore); the planned sentence when
// the band is flawless but the thought broke the rules; otherwise the
// planned sentence corrected for what was found (see corrected). Such a
// revision must read back through parse to exactly the planned
// sentence's objects and relations and differ from the thought; when the
// correction does not, the first of other wordings of the planned
// sentence and "Clearly, <planned sentence>" that does is used, and the
// planned sentence itself when none does.
func (p *plan) revise(parse func(string) annotators.Analysis, b int, f findings, score int, thought string) string {
	planned := p.sentences[b]
	rules := p.followsRules(thought)
	switch {
	case f.flawless() && rules && score >= SatisfiedScore:
		return strings.TrimSpace(thought)
	case f.flawless() && !rules:
		return planned
	}
	v := int(hashOf(p.prompt, b) % 4)
	candidates := []string{p.corrected(b, f, v)}
	if len(p.bands[b]) > 0 {
		for d := 1; d < 4; d++ {
			candidates = append(candidates, p.describe(p.bands[b], v+d))
		}
	}
	candidates = append(candidates, "Clearly, "+lowerFirst(planned))
	want := readingOf(parse, planned)
	for _, c := range candidates {
		if readingOf(parse, c).equal(want) && !sameWords(c, thought) {
			return c
		}
	}
	return planned
}

// corrected writes band b's planned sentence insisting on what f found:
// a missing object (or any object of a band with placeholder left) is
// "clearly visible", a wrong count is "exactly" the planned number, a
// wrong colour is "entirely" that colour, a wrong shape or texture
// "distinctly" that shape or texture, and unexpected objects make the
// sentence say "only". A flawless band (scored below SatisfiedScore) gets
// every object "clearly visible". A band without objects gets its
// scenery sentence with "entirely" after the verb.
func (p *plan) corrected(b int, f findings, v int) string {
	planned := p.sentences[b]
	if len(p.bands[b]) == 0 {
		return insertAfterVerb(planned, "entirely")
	}
	s := p.describeWith(p.bands[b], v, func(i int) string {
		o := p.objects[i]
		fl := f.flaws[i]
		if f.placeholder || f.flawless() {
			fl.missing = true
		}
		if !painted(o.Noun) {
			fl = flaw{}
		}
		return insistingPhrase(o.Object, fl, v)
	})
	if f.unexpected > 0 {
		s = withOnly(s)
	}
	return s
}

// insistingPhrase writes an object as nounPhrase does, with the words that
// insist on its flaws: "exactly two clearly visible entirely green trains".
func insistingPhrase(o annotators.Object, fl flaw, v int) string {
	var adj []string
	if fl.missing {
		adj = append(adj, visibleWords[v%len(visibleWords)])
	}
	insist := func(word, attr string, on bool) {
		switch {
		case attr == "":
		case on:
			adj = append(adj, word+" "+attr)
		default:
			adj = append(adj, attr)
		}
	}
	feature := featureWords[v%len(featureWords)]
	insist(feature, o.Shape, fl.attribute)
	insist(colourWords[v%len(colourWords)], o.Colour, fl.colour)
	// The attribute code keeps the shape when there are both.
	insist(feature, o.Texture, fl.attribute && o.Shape == "")
	noun := o.Noun
	if o.Count > 1 {
		noun = plural(noun)
	}
	body := strings.Join(append(adj, noun), " ")
	switch {
	case fl.count:
		return "exactly " + countWord(max(o.Count, 1)) + " " + body
	case o.Count <= 1:
		return article(body) + " " + body
	}
	return countWord(o.Count) + " " + body
}

// countWord spells a count: "two", or digits from 21 on.
func countWord(n int) string {
	if n < len(numberWords) {
		return numberWords[n]
	}
	return fmt.Sprint(n)
}

// withOnly makes a sentence say that nothing else is there: "There is
// only a red apple.", "Only two green trains are clearly visible."; an
// "exactly" right after it goes ("only one", not "only exactly one").
func withOnly(s string) string {
	rest, head := lowerFirst(s), "Only "
	for _, there := range []string{"There is ", "There are "} {
		if r, ok := strings.CutPrefix(s, there); ok {
			rest, head = r, there+"only "
			break
		}
	}
	return head + strings.TrimPrefix(rest, "exactly ")
}

// insertAfterVerb puts word after the first "is" or "are" of s, or
// returns s unchanged.
func insertAfterVerb(s, word string) string {
	for _, verb := range []string{" is ", " are "} {
		if i := strings.Index(s, verb); i >= 0 {
			return s[:i+len(verb)] + word + " " + s[i+len(verb):]
		}
	}
	return s
}

// lowerFirst lower-cases the first letter of s.
func lowerFirst(s string) string {
	for i, r := range s {
		return strings.ToLower(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// reading is what a sentence says to the painter: its objects, scenery
// included, and relations.
type reading struct {
	objects   []annotators.Object
	relations []annotators.Relation
}

func readingOf(parse func(string) annotators.Analysis, s string) reading {
	objs, rels := objectsOf(parse(s), true)
	return reading{objs, rels}
}

func (a reading) equal(b reading) bool {
	return slices.Equal(a.objects, b.objects) && slices.Equal(a.relations, b.relations)
}

// sameWords reports whether two texts have the same words, ignoring case,
// spacing and punctuation (as the reflection judge compares thoughts).
func sameWords(a, b string) bool {
	return slices.Equal(wordsAndDigits(a), wordsAndDigits(b))
}

func wordsAndDigits(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r > 127)
	})
}

// Malformed answer shapes: readable ones break the plain two-line format
// in ways a real critic does and the critique parser still reads;
// unreadable ones it cannot read.
var (
	readableShapes   = []string{"one line", "remark", "numbered", "bold", "out of 100", "out of 10", "preamble", "note after"}
	unreadableShapes = []string{"no score", "word score", "out of range", "no description"}
)

// malformed writes the answer in a shape other than the plain format:
// half the time a readable one (readableShapes), half the time an
// unreadable one (unreadableShapes).
func malformed(rng *rand.Rand, score int, revised string, f findings) string {
	if rng.IntN(2) == 0 {
		return readableShape(readableShapes[rng.IntN(len(readableShapes))], rng, score, revised, f)
	}
	switch unreadableShapes[rng.IntN(len(unreadableShapes))] {
	case "no score":
		return "The band mostly matches its description.\nIMPROVED_DESCRIPTION: " + revised
	case "word score":
		return fmt.Sprintf("SCORE: %s\nIMPROVED_DESCRIPTION: %s", []string{"high", "good", "medium", "low"}[rng.IntN(4)], revised)
	case "out of range":
		return fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION: %s", []int{150, 120, 105, 850}[rng.IntN(4)], revised)
	}
	if rng.IntN(2) == 0 {
		return fmt.Sprintf("SCORE: %d", score)
	}
	return fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION:", score)
}

// readableShape writes the answer in one of readableShapes.
func readableShape(shape string, rng *rand.Rand, score int, revised string, f findings) string {
	switch shape {
	case "one line":
		return fmt.Sprintf("SCORE: %d IMPROVED_DESCRIPTION: %s", score, revised)
	case "remark":
		return fmt.Sprintf("SCORE: %d (%s)\nIMPROVED_DESCRIPTION: %s", score, remark(f), revised)
	case "numbered":
		return fmt.Sprintf("1. SCORE: %d\n2. IMPROVED_DESCRIPTION: %s", score, revised)
	case "bold":
		if rng.IntN(2) == 0 {
			return fmt.Sprintf("**SCORE:** %d\n**IMPROVED_DESCRIPTION:** %s", score, revised)
		}
		return fmt.Sprintf("**Score**: %d\n**Improved_Description**: %s", score, revised)
	case "out of 100":
		return fmt.Sprintf("SCORE: %d/100\nIMPROVED_DESCRIPTION: %s", score, revised)
	case "out of 10":
		// The critic rounds to its own scale; read back it is a multiple of 10.
		return fmt.Sprintf("SCORE: %d/10\nIMPROVED_DESCRIPTION: %s", (score+5)/10, revised)
	case "preamble":
		return fmt.Sprintf("Here is my assessment of the band.\n\nSCORE: %d\nIMPROVED_DESCRIPTION: %s", score, revised)
	}
	return fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION: %s\n\n(%s.)", score, revised, capitalise(remark(f)))
}

// remark says in a few words what the critic found most wrong.
func remark(f findings) string {
	var colour, count, feature, missing bool
	for _, fl := range f.flaws {
		colour, count = colour || fl.colour, count || fl.count
		feature, missing = feature || fl.attribute, missing || fl.missing
	}
	switch {
	case f.placeholder:
		return "part of it is still unpainted"
	case missing:
		return "something is missing"
	case colour:
		return "the colour is off"
	case count:
		return "the count is wrong"
	case feature:
		return "the shape or texture is off"
	case f.unexpected > 0:
		return "there is something extra"
	}
	return "close to the description"
}
