package annotators

import (
	"fmt"
	"strings"
)

// Question kinds.
const (
	// QuestionObject asks whether an object is in the image at all.
	QuestionObject = "object"
	// QuestionCount asks whether the image holds the object's count; it
	// replaces the object question of an object counted more than once.
	QuestionCount = "count"
	// QuestionAttribute asks about one colour, shape or texture.
	QuestionAttribute = "attribute"
	// QuestionRelation asks whether a relation between two objects holds.
	QuestionRelation = "relation"
)

// Question is one yes/no question about an image made from a prompt, in
// the spirit of T2I-CompBench's VQA scoring: an image that shows the
// prompt answers yes to every question of the prompt.
type Question struct {
	// Text is the question as a model is asked it, one line ending in "?".
	Text string `json:"text"`
	// Kind is one of the Question* kinds.
	Kind string `json:"kind"`
	// Object is the noun asked about: the object's, or a relation's
	// subject's.
	Object string `json:"object"`
	// Index is the index of Object in Analysis.Objects.
	Index int `json:"index"`
	// Count is the number a count question asks for; 0 for other kinds.
	Count int `json:"count,omitempty"`
	// Attribute is the canonical attribute word of an attribute question
	// ("red", "teardrop", "wooden"); empty for other kinds.
	Attribute string `json:"attribute,omitempty"`
	// Predicate and Target are a relation question's predicate (as in
	// Relation.Predicate) and the index of its object in Analysis.Objects;
	// empty and 0 for other kinds.
	Predicate string `json:"predicate,omitempty"`
	Target    int    `json:"target,omitempty"`
}

// Questions returns the yes/no questions that check an image against an
// analysed prompt, in a fixed order: for each object in order, one
// object question ("Is there an apple in the image?"), or a count question
// when its count is more than one ("Are there three apples in the
// image?"), then one question per attribute, colour, shape and texture in
// that order ("Is the apple red?", "Is the plum teardrop-shaped?", "Is the
// bottle made of glass?"); then one question per relation in order ("Is
// the cat on the left of the dog?", "Is the woman holding the yoga mat?").
// Objects without a noun are skipped, and so are relations that point
// outside Objects or from an object to itself. A question whose text is
// the same as an earlier one is dropped, so two objects with the same noun
// and attributes ask once. It returns nil when there is nothing to ask.
//
// Counts are Parse's: a bare plural counts 2 and a vague quantity 2 to 5
// ("apples" asks "Are there two apples in the image?"), as the simulator
// paints them.
func Questions(a Analysis) []Question {
	var out []Question
	seen := map[string]bool{}
	add := func(q Question) {
		if !seen[q.Text] {
			seen[q.Text] = true
			out = append(out, q)
		}
	}
	valid := func(i int) bool { return i >= 0 && i < len(a.Objects) && a.Objects[i].Noun != "" }
	for i, o := range a.Objects {
		if !valid(i) {
			continue
		}
		n := max(o.Count, 1)
		if n > 1 {
			add(Question{
				Text: fmt.Sprintf("Are there %s %s in the image?", numberWord(n), Plural(o.Noun)),
				Kind: QuestionCount, Object: o.Noun, Index: i, Count: n,
			})
		} else {
			add(Question{
				Text: fmt.Sprintf("Is there %s %s in the image?", article(o.Noun), o.Noun),
				Kind: QuestionObject, Object: o.Noun, Index: i,
			})
		}
		subject, be := "the "+nounForm(o.Noun, n), agree(n)
		for _, attr := range []struct{ word, phrase string }{
			{o.Colour, o.Colour},
			{o.Shape, shapePhrase(o.Shape)},
			{o.Texture, texturePhrase(o.Texture)},
		} {
			if attr.word == "" {
				continue
			}
			add(Question{
				Text: fmt.Sprintf("%s %s %s?", capital(be), subject, attr.phrase),
				Kind: QuestionAttribute, Object: o.Noun, Index: i, Attribute: attr.word,
			})
		}
	}
	for _, r := range a.Relations {
		if !valid(r.Subject) || !valid(r.Object) || r.Subject == r.Object || r.Predicate == "" {
			continue
		}
		s, o := a.Objects[r.Subject], a.Objects[r.Object]
		add(Question{
			Text: relationText(r.Predicate, s, o),
			Kind: QuestionRelation, Object: s.Noun, Index: r.Subject, Predicate: r.Predicate, Target: r.Object,
		})
	}
	return out
}

// spatialPhrases says each spatial predicate after "is".
var spatialPhrases = map[string]string{
	"left_of":     "on the left of",
	"right_of":    "on the right of",
	"above":       "above",
	"below":       "below",
	"next_to":     "next to",
	"in_front_of": "in front of",
	"behind":      "behind",
	"hidden_by":   "hidden by",
}

// relationText asks whether subject s stands in relation pred to object o.
func relationText(pred string, s, o Object) string {
	ns, no := max(s.Count, 1), max(o.Count, 1)
	subj, obj := "the "+nounForm(s.Noun, ns), "the "+nounForm(o.Noun, no)
	be := agree(ns)
	if p, ok := spatialPhrases[pred]; ok {
		return fmt.Sprintf("%s %s %s %s?", capital(be), subj, p, obj)
	}
	verb := strings.ReplaceAll(pred, "_", " ")
	if first, _, _ := strings.Cut(verb, " "); strings.HasSuffix(first, "ing") {
		return fmt.Sprintf("%s %s %s %s?", capital(be), subj, verb, obj) // "Is the woman holding the yoga mat?"
	}
	// The prompt's own verb form ("parked on", "sits in"), as Parse read it.
	return fmt.Sprintf("Does the image show %s %s %s?", subj, verb, obj)
}

// texturePhrase says a texture after "is": adjectives as they are,
// materials with "made of".
func texturePhrase(t string) string {
	switch t {
	case "", "wooden", "metallic", "fluffy", "furry", "woolen":
		return t
	}
	return "made of " + t
}

// shapePhrase says a shape after "is".
func shapePhrase(s string) string {
	if s == "teardrop" {
		return "teardrop-shaped"
	}
	return s
}

func nounForm(noun string, n int) string {
	if n > 1 {
		return Plural(noun)
	}
	return noun
}

func agree(n int) string {
	if n > 1 {
		return "are"
	}
	return "is"
}

var countWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"}

// numberWord spells n up to twenty, and writes digits beyond.
func numberWord(n int) string {
	if n >= 0 && n < len(countWords) {
		return countWords[n]
	}
	return fmt.Sprint(n)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
