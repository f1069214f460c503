// Package annotators knows what a text-to-image prompt says: the objects it
// names, their counts and attributes (colour, shape, texture), the spatial
// relations between them, and the T2I-CompBench category it falls in. It
// also composes new prompts from the same vocabulary, in the spirit of
// T2I-CompBench's templates.
//
// Everything here is plain, deterministic Go with no I/O: the simulator
// uses it to plan and paint, the coverage judge to check thoughts, and the
// seed stage to generate prompts.
package annotators

// Object is one thing a prompt names.
type Object struct {
	// Noun is the head noun in singular form, lower case ("apple", "pencil holder").
	Noun string `json:"noun"`
	// Count is how many the prompt asks for; 1 when it does not say.
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
// yields fewer objects, and category "other".
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
// 3d_spatial, numeracy, non_spatial, complex).
func Compose(n int, seed int64) []Composed {
	return compose(n, seed)
}
