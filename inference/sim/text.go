package sim

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"unicode"
)

// sentenceEnd matches the end of a sentence followed by another one.
var sentenceEnd = regexp.MustCompile(`[.!?]["'\x{201d})]*\s+`)

// lastSentence returns the last sentence of text: the painter's view of the
// current band's thought in a prefix of thoughts joined by spaces.
func lastSentence(text string) string {
	text = strings.TrimSpace(text)
	locs := sentenceEnd.FindAllStringIndex(text, -1)
	if len(locs) == 0 {
		return text
	}
	return text[locs[len(locs)-1][1]:]
}

// wordCount counts whitespace-separated words.
func wordCount(s string) int { return len(strings.Fields(s)) }

// words returns the lower-case letter runs of s.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) })
}

// hashOf hashes its arguments into a seed.
func hashOf(args ...any) uint64 {
	h := fnv.New64a()
	for _, a := range args {
		fmt.Fprintf(h, "%v\x00", a)
	}
	return h.Sum64()
}

// fillerNouns are scenery nouns, among them those of the simulator's own
// scenery sentences: thoughts name them, but they are painted as
// background, never as objects.
var fillerNouns = map[string]bool{
	"background": true, "backdrop": true, "ground": true, "scene": true, "surroundings": true,
	"surrounding": true, "setting": true, "space": true, "distance": true, "light": true,
	"lighting": true, "surface": true, "area": true, "rest": true, "view": true,
}

// metaNouns are nouns that talk about a picture or a description rather
// than name something in the scene: "object", "detail", "colour",
// "number", "part", "layer". Parse reads them as objects ("each object
// with the colour described"), but nothing in a scene is an "object" as
// such, so the painter never paints them and the critic never looks for
// them. Nouns that are also things one can paint ("picture", "frame",
// "band", "piece", "figure") are not in the list.
var metaNouns = map[string]bool{
	"object": true, "thing": true, "item": true, "element": true, "entity": true,
	"detail": true, "feature": true, "aspect": true, "attribute": true, "property": true,
	"colour": true, "color": true, "hue": true, "shape": true, "texture": true, "size": true,
	"number": true, "count": true, "quantity": true, "amount": true, "instance": true,
	"part": true, "section": true, "layer": true, "portion": true, "region": true,
	"image": true, "description": true, "caption": true, "prompt": true, "composition": true,
	"content": true,
}

// painted reports whether a noun is painted as an object: it is neither
// scenery (fillerNouns) nor a meta noun (metaNouns).
func painted(noun string) bool {
	return noun != "" && !fillerNouns[noun] && !metaNouns[noun]
}

var numberWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"}

// article returns "a" or "an" for the word w.
func article(w string) string {
	w = strings.ToLower(w)
	switch {
	case strings.HasPrefix(w, "uni"), strings.HasPrefix(w, "one"), strings.HasPrefix(w, "use"), strings.HasPrefix(w, "euro"):
		return "a"
	case strings.HasPrefix(w, "hour"), strings.HasPrefix(w, "honest"):
		return "an"
	case w != "" && strings.ContainsRune("aeiou", rune(w[0])):
		return "an"
	}
	return "a"
}

// irregularPlurals are the plurals the suffix rules get wrong; a word
// mapped to itself has one form for both.
var irregularPlurals = func() map[string]string {
	m := map[string]string{
		"person": "people", "child": "children", "mouse": "mice", "goose": "geese", "tooth": "teeth",
		"foot": "feet", "ox": "oxen", "louse": "lice", "knife": "knives", "leaf": "leaves", "wolf": "wolves",
		"shelf": "shelves", "loaf": "loaves", "calf": "calves", "half": "halves", "scarf": "scarves",
		"life": "lives", "wife": "wives", "thief": "thieves", "elf": "elves", "hoof": "hooves",
		"dwarf": "dwarves", "cactus": "cacti", "fungus": "fungi", "bookshelf": "bookshelves",
		"potato": "potatoes", "tomato": "tomatoes", "hero": "heroes", "echo": "echoes", "mango": "mangoes",
		"volcano": "volcanoes", "torpedo": "torpedoes", "mosquito": "mosquitoes", "domino": "dominoes",
		"buffalo": "buffaloes", "tornado": "tornadoes",
		"human": "humans", "german": "germans", "roman": "romans", "shaman": "shamans", "ottoman": "ottomans",
		"doberman": "dobermans",
	}
	for _, w := range strings.Fields(`sheep fish deer shrimp goldfish salmon moose bison aircraft spacecraft
		series species trout squid swine cod tuna offspring dice news sunglasses eyeglasses goggles
		binoculars pants jeans shorts trousers scissors pliers tongs tweezers leggings pajamas pyjamas
		overalls clothes glasses police`) {
		m[w] = w
	}
	return m
}()

// plural returns the plural of a noun; for a compound ("pencil holder") of
// its last word.
func plural(noun string) string {
	head, last := "", noun
	if i := strings.LastIndexByte(noun, ' '); i >= 0 {
		head, last = noun[:i+1], noun[i+1:]
	}
	if p, ok := irregularPlurals[last]; ok {
		return head + p
	}
	switch n := len(last); {
	case n == 0, strings.HasSuffix(last, "fish"):
		return head + last
	case strings.HasSuffix(last, "man"):
		return head + last[:n-3] + "men"
	case strings.HasSuffix(last, "s"), strings.HasSuffix(last, "x"), strings.HasSuffix(last, "z"),
		strings.HasSuffix(last, "ch"), strings.HasSuffix(last, "sh"):
		return head + last + "es"
	case strings.HasSuffix(last, "y") && n > 1 && !strings.ContainsRune("aeiou", rune(last[n-2])):
		return head + last[:n-1] + "ies"
	}
	return head + last + "s"
}

// nounPhrase writes an object as a noun phrase: "two round red plates".
func nounPhrase(o plannedObject) string {
	var adj []string
	for _, a := range []string{o.Shape, o.Colour, o.Texture} {
		if a != "" {
			adj = append(adj, a)
		}
	}
	noun := o.Noun
	if o.Count > 1 {
		noun = plural(noun)
	}
	body := strings.Join(append(adj, noun), " ")
	switch {
	case o.Count <= 1:
		return article(body) + " " + body
	case o.Count < len(numberWords):
		return numberWords[o.Count] + " " + body
	}
	return fmt.Sprintf("%d %s", o.Count, body)
}

// capitalise upper-cases the first letter of s.
func capitalise(s string) string {
	for i, r := range s {
		return s[:i] + string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

// sentence turns a clause into one sentence: capitalised, one final period.
func sentence(clause string) string {
	clause = strings.Join(strings.Fields(clause), " ")
	clause = strings.TrimRight(clause, " .!?,;:")
	return capitalise(clause) + "."
}

// sectionWords are the positional and section words a thought must not
// use (twig-method.md section 2): they name parts of the canvas.
var sectionWords = []string{"top", "upper", "middle", "lower", "bottom", "band", "part", "section", "layer", "third"}

// restatePrompt turns a prompt into one literal sentence without section
// words: used when no object can be read from the prompt.
func restatePrompt(prompt string) string {
	s := strings.Join(strings.Fields(prompt), " ")
	s = regexp.MustCompile(`[.!?;]+\s+`).ReplaceAllString(s, ", ")
	s = replaceSectionPhrases(s)
	if wordCount(s) < 3 {
		s = "it is " + s
	}
	return sentence(s)
}

var sectionPhrases = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)\bon the top of\b`), "above"},
	{regexp.MustCompile(`(?i)\bon top of\b`), "above"},
	{regexp.MustCompile(`(?i)\bat the top of\b`), "above"},
	{regexp.MustCompile(`(?i)\bon the bottom of\b`), "below"},
	{regexp.MustCompile(`(?i)\bat the bottom of\b`), "below"},
	{regexp.MustCompile(`(?i)\bin the middle of\b`), "amid"},
}

func replaceSectionPhrases(s string) string {
	for _, p := range sectionPhrases {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}
