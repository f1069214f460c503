// Package annotators knows what a text-to-image prompt says: the objects it
// names, their counts and attributes (colour, shape, texture), the spatial
// relations between them, and the T2I-CompBench category it falls in. It
// also composes new prompts from the same vocabulary, in the spirit of
// T2I-CompBench's templates.
//
// Everything here is plain, deterministic Go with no I/O: the simulator
// uses it to plan and paint, the coverage judge to check thoughts, and the
// seed stage to generate prompts.
//
// # Parsing
//
// [Parse] lower-cases a prompt, splits it into words and punctuation, and
// reads it one noun phrase at a time. A phrase is an optional determiner
// or number ("a", "the", "two", "12", "several"), modifiers, and a head
// noun, which comes back singular ("knives" gives "knife", "people"
// "person"). Known compound nouns stay whole ("teddy bear", "jewelry box",
// "park bench"); otherwise the head is the last word of the phrase.
// Phrases end at "and", commas, prepositions, relation phrases, verbs and
// the like.
//
// Colour, shape and texture words before a noun bind to it, in canonical
// form ("grey" is "gray", "circular" "round", "wood" "wooden"); a colour
// list such as "black and white" binds its last colour. An attribute word
// that is also a noun names the object when nothing follows it ("a red
// orange", "a glass of water").
//
// "X of Y" depends on X: a set ("a row of boxes", "a pair of shoes") or a
// part ("a triangular slice of cheese") gives Y, with X's attributes and
// count; a container ("a bottle of water") gives X alone; a position ("the
// middle of the room") gives Y alone; anything else gives both.
//
// Spatial relation phrases give [Relation] predicates: "on the left of"
// and "to the left of" give "left_of"; "on the top of", "on top of",
// "above" and "over" give "above"; "on the bottom of", "below", "under"
// and "beneath" give "below"; "next to", "beside", "near" and "on side
// of" give "next_to"; "in front of", "behind" and "hidden by" give
// "in_front_of", "behind" and "hidden_by". A spatial relation links the
// object before the phrase to the one after it. A verb ("is holding",
// "sits in", "gathered for") links the first object of its sentence to
// the next object, with the verb as written, and a following preposition,
// as the predicate ("holding", "looking at").
//
// Abstract and positional nouns ("way", "time", "side", "top") name no
// object, and neither do pronouns.
//
// # Categories
//
// The category Parse guesses is one of "colour", "shape", "texture",
// "spatial", "3d_spatial", "numeracy", "non_spatial", "complex" and
// "other", tried in this order of rules:
//
//   - attributes of two or more kinds, or attributes of one kind with a
//     spatial relation in a prompt without a verb, give "complex";
//   - attributes of one kind give that kind; size words on two objects
//     ("a big bear and a small mouse"), which T2I-CompBench files as shape
//     prompts, count as shape, though they bind no attribute;
//   - an object with a number ("one" to "twenty", digits, "a dozen", "a
//     pair of") gives "numeracy"; vague quantities ("some", "several") and
//     bare plurals set a count but not the category;
//   - a verb gives "non_spatial", whatever spatial phrases come with it
//     ("is on the left of" has no verb: "be" does not count);
//   - 3D relations (in_front_of, behind, hidden_by) give "3d_spatial", 2D
//     ones (left_of, right_of, above, below, next_to) "spatial", and both
//     "complex";
//   - anything else is "other".
//
// On the T2I-CompBench validation prompts in testdata/prompts, the guess
// matches the file's category for more than 95% of the colour prompts and
// all, or all but a few, of the others.
//
// # Vocabularies
//
// [Colours], [Shapes] and [Textures] list at most 15 canonical forms each,
// so that an attribute fits in 4 bits with 0 for none: see [ColourIndex]
// and [ColourName] and their shape and texture twins. The Canonical
// functions map synonyms to those forms. [Singular] and [Plural] inflect
// nouns the way Parse and Compose do.
//
// # Composing
//
// [Compose] draws prompts from templates like T2I-CompBench's, over about
// 140 nouns (animals, people, furniture, food, vehicles, household things)
// that know which shapes and textures suit them and which verbs take them.
// Each prompt's category is what Parse guesses for it, and Parse finds
// every object it names, with counts and attributes. The smallest category
// (3d_spatial, "a {noun} behind a {noun}") holds about 56,000 prompts, so
// Compose returns n distinct prompts for n up to several hundred thousand
// and fewer only beyond.
//
// # Limitations
//
// Parse uses word lists and a few rules, not a grammar: it knows no part
// of speech beyond its lists, so it may take an unknown verb for a noun
// ("stoplights flash yellow") or miss an attribute placed after its noun
// ("the sky is blue"). Only one colour, shape and texture binds to an
// object. Size words bind nothing. Verb predicates are not lemmatised.
package annotators

// Object is one thing a prompt names.
type Object struct {
	// Noun is the head noun in singular form, lower case ("apple", "pencil holder").
	Noun string `json:"noun"`
	// Count is how many the prompt asks for; 1 when it does not say. A
	// plural without a number counts 2 ("apples"), and vague quantities
	// count 2 to 5 ("some" 2, "several" 3, "many" 5). Counts stop at 100.
	Count int `json:"count"`
	// Colour, Shape and Texture are the attributes bound to the object,
	// lower case, empty when the prompt gives none ("red", "round", "wooden").
	Colour  string `json:"colour,omitempty"`
	Shape   string `json:"shape,omitempty"`
	Texture string `json:"texture,omitempty"`
}

// Relation is a spatial or non-spatial relation between two objects,
// indexes into Analysis.Objects.
type Relation struct {
	Subject int `json:"subject"`
	// Predicate is one of "left_of", "right_of", "above", "below",
	// "in_front_of", "behind", "hidden_by", "next_to", or a verb phrase for
	// non-spatial relations ("holding").
	Predicate string `json:"predicate"`
	Object    int    `json:"object"`
}

// Analysis is what Parse found in a prompt.
type Analysis struct {
	Objects   []Object   `json:"objects"`
	Relations []Relation `json:"relations"`
	// Category is the guessed T2I-CompBench category (see schema.Categories).
	Category string `json:"category"`
}

// Parse analyses a prompt. It never fails: a prompt it cannot make sense of
// yields fewer objects, and category "other". It is deterministic, safe
// for concurrent use, and accepts any string, including invalid UTF-8.
// Objects and Relations are nil when there are none. See the package
// documentation for what it recognises.
func Parse(prompt string) Analysis {
	return parse(prompt)
}

// Colours, Shapes and Textures are the attribute vocabularies Parse knows,
// in a fixed order.
var (
	Colours  = colours
	Shapes   = shapes
	Textures = textures
)

// Composed is a generated prompt with its category.
type Composed struct {
	Text     string `json:"text"`
	Category string `json:"category"`
}

// Compose generates n distinct prompts deterministically from seed, cycling
// through the T2I-CompBench categories (colour, shape, texture, spatial,
// 3d_spatial, numeracy, non_spatial, complex). It draws from a PCG
// generator seeded with seed, so a shorter run is a prefix of a longer one
// with the same seed. It returns nil when n <= 0.
func Compose(n int, seed int64) []Composed {
	return compose(n, seed)
}
