package annotators

import "strings"

// The attribute vocabularies. Each lists canonical forms in a fixed order;
// a form's index is its position plus one, so that 0 can mean "none" and
// every vocabulary fits in 4 bits (at most 15 forms each).
var (
	colours = []string{
		"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
		"black", "white", "gray", "gold", "silver", "beige", "teal",
	}
	shapes = []string{
		"round", "square", "rectangular", "triangular", "oval", "cylindrical",
		"cubic", "spherical", "heart-shaped", "star-shaped", "teardrop",
		"hexagonal", "pentagonal", "pyramidal", "conical",
	}
	textures = []string{
		"wooden", "metallic", "fluffy", "plastic", "glass", "leather", "rubber",
		"fabric", "furry", "stone", "ceramic", "velvet", "woolen", "silk", "paper",
	}
)

// Attribute kinds, as an attribute word reports them.
const (
	kindColour = iota + 1
	kindShape
	kindTexture
)

// attribute is what an attribute word means.
type attribute struct {
	kind  int
	canon string
	// noun is true when the word is also a noun ("orange", "glass",
	// "wood"): alone at the end of a noun phrase it names the object
	// rather than describing it.
	noun bool
}

// synonyms lists, for each canonical form, other words that name it.
// Several words name one form: "circular" and "round" are both "round",
// "oblong" and "elliptical" are "oval", "grey" is "gray", "wood" is
// "wooden".
var synonyms = map[int]map[string][]string{
	kindColour: {
		"red":    {"crimson", "scarlet", "maroon", "burgundy", "reddish"},
		"orange": {"amber", "orangish", "tangerine"},
		"yellow": {"yellowish", "mustard"},
		"green":  {"greenish", "lime", "olive", "emerald"},
		"blue":   {"navy", "azure", "cobalt", "bluish", "indigo"},
		"purple": {"violet", "lavender", "lilac", "magenta", "purplish", "mauve"},
		"pink":   {"fuchsia", "pinkish", "rosy"},
		"brown":  {"brownish", "bronze"},
		"black":  {"blackish", "ebony"},
		"white":  {"whitish", "ivory"},
		"gray":   {"grey", "grayish", "greyish", "charcoal"},
		"gold":   {"golden"},
		"silver": {"silvery"},
		"beige":  {"tan", "cream", "khaki"},
		"teal":   {"turquoise", "cyan", "aqua"},
	},
	kindShape: {
		"round":        {"circular", "rounded", "circle-shaped"},
		"square":       {"square-shaped"},
		"rectangular":  {"rectangle-shaped"},
		"triangular":   {"triangle-shaped"},
		"oval":         {"oblong", "elliptical", "egg-shaped", "ovular"},
		"cylindrical":  {"tubular", "cylinder-shaped", "tube-shaped"},
		"cubic":        {"cube-shaped", "cuboid"},
		"spherical":    {"ball-shaped", "globular", "spheric"},
		"heart-shaped": {"heart"},
		"star-shaped":  {"star"},
		"teardrop":     {"teardrop-shaped", "tear-shaped"},
		"hexagonal":    {"hexagon-shaped"},
		"pentagonal":   {"pentagon-shaped"},
		"pyramidal":    {"pyramid-shaped"},
		"conical":      {"cone-shaped", "conic"},
	},
	kindTexture: {
		"wooden":   {"wood", "timber", "bamboo"},
		"metallic": {"metal", "steel", "iron", "aluminum", "aluminium", "copper", "brass", "chrome"},
		"fluffy":   {"feathery"},
		"furry":    {"fur", "fuzzy", "hairy"},
		"glass":    {"glassy", "crystal"},
		"leather":  {"leathery"},
		"rubber":   {"rubbery"},
		"fabric":   {"cloth", "cotton", "linen", "denim", "canvas"},
		"stone":    {"stony", "marble", "granite", "concrete"},
		"ceramic":  {"porcelain", "clay"},
		"velvet":   {"velvety"},
		"woolen":   {"wool", "woollen", "woolly", "wooly", "knitted"},
		"silk":     {"silky", "satin", "silken"},
		"paper":    {"cardboard", "papery"},
	},
}

// nounAttributes are attribute words that are also nouns.
var nounAttributes = words(`
	orange gold silver olive lime emerald violet lavender amber ivory cream tan navy
	turquoise aqua bronze charcoal
	square heart star
	wood timber bamboo metal steel iron aluminum aluminium copper brass chrome fur
	plastic glass crystal leather rubber fabric cloth cotton linen denim canvas
	stone marble granite concrete ceramic porcelain clay velvet wool silk satin
	paper cardboard`)

// attributes maps every attribute word, canonical or synonym, to its meaning.
var attributes = buildAttributes()

func buildAttributes() map[string]attribute {
	m := map[string]attribute{}
	for kind, vocab := range map[int][]string{kindColour: colours, kindShape: shapes, kindTexture: textures} {
		for _, w := range vocab {
			m[w] = attribute{kind: kind, canon: w, noun: nounAttributes[w]}
		}
		for c, ws := range synonyms[kind] {
			for _, w := range ws {
				m[w] = attribute{kind: kind, canon: c, noun: nounAttributes[w]}
			}
		}
	}
	return m
}

// canonical returns the canonical form of an attribute word of the given
// kind, or "" when the word is not one.
func canonical(kind int, word string) string {
	if a, ok := attributes[word]; ok && a.kind == kind {
		return a.canon
	}
	return ""
}

func index(vocab []string, kind int, name string) int {
	c := canonical(kind, name)
	for i, v := range vocab {
		if v == c {
			return i + 1
		}
	}
	return 0
}

func name(vocab []string, i int) string {
	if i < 1 || i > len(vocab) {
		return ""
	}
	return vocab[i-1]
}

// CanonicalColour returns the canonical form of a colour word ("grey" and
// "gray" give "gray"), or "" when the word is not a colour Parse knows.
// The word must be lower case.
func CanonicalColour(word string) string { return canonical(kindColour, word) }

// CanonicalShape returns the canonical form of a shape word ("circular"
// and "round" give "round"), or "" when the word is not a shape Parse
// knows. The word must be lower case.
func CanonicalShape(word string) string { return canonical(kindShape, word) }

// CanonicalTexture returns the canonical form of a texture word ("wood"
// and "wooden" give "wooden"), or "" when the word is not a texture Parse
// knows. The word must be lower case.
func CanonicalTexture(word string) string { return canonical(kindTexture, word) }

// ColourIndex returns the 1-based position of a colour in Colours, after
// canonicalising it as CanonicalColour does, or 0 when it is unknown.
func ColourIndex(name string) int { return index(colours, kindColour, name) }

// ShapeIndex returns the 1-based position of a shape in Shapes, after
// canonicalising it as CanonicalShape does, or 0 when it is unknown.
func ShapeIndex(name string) int { return index(shapes, kindShape, name) }

// TextureIndex returns the 1-based position of a texture in Textures,
// after canonicalising it as CanonicalTexture does, or 0 when it is unknown.
func TextureIndex(name string) int { return index(textures, kindTexture, name) }

// ColourName returns the colour at 1-based position i in Colours, or ""
// when i is out of range (0 included): the inverse of ColourIndex.
func ColourName(i int) string { return name(colours, i) }

// ShapeName returns the shape at 1-based position i in Shapes, or "" when
// i is out of range (0 included): the inverse of ShapeIndex.
func ShapeName(i int) string { return name(shapes, i) }

// TextureName returns the texture at 1-based position i in Textures, or
// "" when i is out of range (0 included): the inverse of TextureIndex.
func TextureName(i int) string { return name(textures, i) }

// sizeWords are the size (and loose shape) adjectives T2I-CompBench counts
// as "shape" prompts ("a big bear and a small squirrel"). They bind no
// attribute, since the vocabulary has no room for them, but two objects
// that carry them make a prompt a shape prompt.
var sizeWords = words(`big small large little tiny huge tall short long giant massive enormous
	miniature mini crescent diamond`)

// nounSizeWords are size words that are also nouns ("a diamond").
var nounSizeWords = words(`diamond crescent giant mini`)

// shadeWords qualify a following colour ("light brown") and are dropped.
var shadeWords = words(`light dark pale bright deep pastel vivid neon`)

// words splits a space-separated list into a set.
func words(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}
