package annotators

import "strings"

// class is a set of noun classes, which decide what a composed prompt may
// say about a noun.
type class uint16

const (
	animal   class = 1 << iota
	person         // people: the subjects of most non-spatial prompts
	pet            // animals one pets, hugs and feeds
	rideable       // horses, bicycles, ...
	furniture
	food
	vehicle
	handheld // small enough to hold, throw or buy
	clothing
	toy
	plant
	dish      // dishes one washes and drinks from
	container // things one opens
	seat      // things one sits on
	fixable   // things one repairs or cleans
	readable  // things one reads
)

// noun is a noun of the composer's vocabulary.
type noun struct {
	word     string // singular, lower case
	class    class
	shapes   []string // shapes that make sense for it
	textures []string // textures that make sense for it
}

// n builds a noun from space-separated shape and texture lists.
func n(word string, c class, shapeList, textureList string) noun {
	return noun{word: word, class: c, shapes: strings.Fields(shapeList), textures: strings.Fields(textureList)}
}

// vocabulary is the composer's object vocabulary. Colours make sense for
// every noun but people; shapes and textures only where listed.
var vocabulary = []noun{
	// Animals.
	n("cat", animal|pet, "", "fluffy furry"),
	n("dog", animal|pet, "", "fluffy furry"),
	n("rabbit", animal|pet, "", "fluffy furry"),
	n("horse", animal|pet|rideable, "", ""),
	n("cow", animal, "", ""),
	n("sheep", animal|pet, "", "fluffy woolen"),
	n("pig", animal, "", ""),
	n("duck", animal, "", ""),
	n("chicken", animal, "", "fluffy"),
	n("bird", animal, "", "fluffy"),
	n("owl", animal, "", "fluffy"),
	n("elephant", animal|rideable, "", ""),
	n("giraffe", animal, "", ""),
	n("lion", animal, "", "furry"),
	n("tiger", animal, "", "furry"),
	n("bear", animal, "", "furry fluffy"),
	n("monkey", animal, "", "furry"),
	n("zebra", animal, "", ""),
	n("frog", animal, "", ""),
	n("turtle", animal, "", ""),
	n("fox", animal, "", "furry fluffy"),
	n("penguin", animal, "", ""),
	n("squirrel", animal, "", "furry fluffy"),
	n("goat", animal|pet, "", ""),
	n("mouse", animal, "", "furry"),
	n("butterfly", animal, "", ""),
	// People.
	n("man", person, "", ""),
	n("woman", person, "", ""),
	n("boy", person, "", ""),
	n("girl", person, "", ""),
	n("child", person, "", ""),
	n("person", person, "", ""),
	n("chef", person, "", ""),
	n("farmer", person, "", ""),
	n("teacher", person, "", ""),
	n("student", person, "", ""),
	n("doctor", person, "", ""),
	n("artist", person, "", ""),
	// Furniture and fittings.
	n("chair", furniture|seat|fixable, "round square", "wooden metallic plastic leather velvet"),
	n("table", furniture|fixable, "round square rectangular oval hexagonal triangular", "wooden metallic glass plastic stone"),
	n("sofa", furniture|seat, "", "leather velvet fabric"),
	n("bed", furniture|seat, "round rectangular square heart-shaped", "wooden metallic"),
	n("bench", furniture|seat|fixable, "rectangular round", "wooden metallic stone"),
	n("desk", furniture|fixable, "rectangular square oval", "wooden metallic glass"),
	n("shelf", furniture|fixable, "rectangular triangular hexagonal", "wooden metallic glass"),
	n("lamp", furniture|fixable|handheld, "cylindrical spherical conical cubic pyramidal", "metallic glass ceramic paper"),
	n("stool", furniture|seat, "round square cylindrical hexagonal triangular", "wooden metallic plastic"),
	n("cabinet", furniture|container|fixable, "rectangular cubic", "wooden metallic"),
	n("armchair", furniture|seat, "", "leather velvet fabric"),
	n("mirror", furniture|fixable, "round oval rectangular square hexagonal heart-shaped", ""),
	n("clock", furniture|fixable|handheld, "round square hexagonal oval triangular star-shaped heart-shaped", "wooden metallic plastic"),
	n("rug", furniture, "round oval rectangular square hexagonal", "woolen fabric fluffy silk"),
	n("pillow", furniture|handheld, "round square rectangular heart-shaped star-shaped cylindrical", "fluffy silk velvet fabric"),
	n("blanket", furniture|handheld, "rectangular square", "woolen fluffy fabric velvet silk"),
	n("window", fixable|container, "round square rectangular oval hexagonal triangular pentagonal", "glass wooden"),
	n("door", fixable|container, "rectangular", "wooden glass metallic"),
	n("picture frame", furniture|handheld, "round oval rectangular square heart-shaped", "wooden metallic plastic"),
	// Household objects.
	n("vase", handheld, "cylindrical spherical conical square hexagonal teardrop", "glass ceramic metallic stone"),
	n("bowl", handheld|dish, "round square hexagonal", "ceramic glass wooden metallic plastic"),
	n("plate", handheld|dish, "round square oval rectangular hexagonal heart-shaped", "ceramic glass paper plastic metallic"),
	n("cup", handheld|dish, "cylindrical conical square", "ceramic glass plastic metallic paper"),
	n("mug", handheld|dish, "cylindrical square", "ceramic glass metallic"),
	n("bottle", handheld|dish|container, "cylindrical square teardrop spherical rectangular", "glass plastic metallic"),
	n("jar", handheld|container, "cylindrical square spherical hexagonal", "glass ceramic plastic"),
	n("box", handheld|container, "cubic rectangular heart-shaped hexagonal cylindrical star-shaped", "wooden metallic paper plastic"),
	n("basket", handheld, "round oval rectangular square", "wooden plastic fabric"),
	n("candle", handheld, "cylindrical spherical cubic star-shaped heart-shaped pyramidal teardrop", ""),
	n("bucket", handheld, "cylindrical conical", "metallic plastic wooden"),
	n("kettle", handheld|fixable, "spherical cylindrical", "metallic ceramic glass"),
	n("teapot", handheld|dish, "spherical", "ceramic glass metallic"),
	n("spoon", handheld, "", "wooden metallic plastic"),
	n("fork", handheld, "", "metallic plastic wooden"),
	n("knife", handheld, "", "metallic plastic"),
	n("book", handheld|container|readable, "rectangular square", "leather paper"),
	n("backpack", handheld|clothing|container, "", "leather fabric"),
	n("bag", handheld|container, "rectangular round square", "leather plastic fabric paper"),
	n("suitcase", handheld|container, "rectangular square", "leather plastic metallic fabric"),
	n("umbrella", handheld|container, "", "fabric plastic silk"),
	n("key", handheld, "", "metallic plastic"),
	n("phone", handheld|fixable, "rectangular square", "plastic metallic glass"),
	n("laptop", handheld|fixable|container, "rectangular", "plastic metallic"),
	n("camera", handheld|fixable, "cubic rectangular", "plastic metallic"),
	n("jewelry box", handheld|container, "cubic heart-shaped rectangular hexagonal", "wooden metallic leather"),
	n("pencil holder", handheld, "cylindrical cubic hexagonal", "wooden metallic ceramic plastic"),
	n("sign", fixable, "triangular pentagonal hexagonal round square rectangular", "metallic wooden plastic"),
	n("tray", handheld|dish, "round oval rectangular square hexagonal", "wooden metallic plastic"),
	n("tent", container, "pyramidal conical triangular hexagonal", "fabric plastic"),
	// Toys and instruments.
	n("ball", toy|handheld, "spherical round", "rubber leather plastic"),
	n("balloon", toy|handheld, "round spherical heart-shaped star-shaped teardrop oval", "rubber plastic"),
	n("kite", toy|handheld, "triangular hexagonal star-shaped square heart-shaped", "paper fabric silk plastic"),
	n("teddy bear", toy|handheld|pet, "", "fluffy furry velvet woolen"),
	n("guitar", toy|handheld|fixable, "", "wooden plastic"),
	n("drum", toy|handheld, "cylindrical", "wooden metallic"),
	// Clothing.
	n("hat", clothing|handheld, "conical round", "woolen fabric leather paper"),
	n("scarf", clothing|handheld, "", "woolen silk fabric"),
	n("shoe", clothing|handheld, "", "leather rubber fabric"),
	n("boot", clothing|handheld, "", "leather rubber"),
	n("jacket", clothing|handheld, "", "leather woolen fabric velvet"),
	n("glove", clothing|handheld, "", "leather woolen rubber fabric"),
	// Food.
	n("apple", food|handheld, "", ""),
	n("banana", food|handheld, "", ""),
	n("cake", food, "round square heart-shaped star-shaped rectangular hexagonal", ""),
	n("cookie", food|handheld, "round square heart-shaped star-shaped triangular", ""),
	n("pizza", food, "round square rectangular", ""),
	n("sandwich", food|handheld, "triangular square rectangular", ""),
	n("donut", food|handheld, "round heart-shaped star-shaped", ""),
	n("strawberry", food|handheld, "", ""),
	n("tomato", food|handheld, "", ""),
	n("carrot", food|handheld, "", ""),
	n("lemon", food|handheld, "", ""),
	n("pear", food|handheld, "", ""),
	n("peach", food|handheld, "", ""),
	n("cherry", food|handheld, "", ""),
	n("egg", food|handheld, "oval", ""),
	n("pumpkin", food, "round", ""),
	n("watermelon", food, "round oval spherical", ""),
	n("cupcake", food|handheld, "", ""),
	n("muffin", food|handheld, "", ""),
	n("pie", food, "round square", ""),
	n("potato", food|handheld, "oval round", ""),
	// Vehicles.
	n("car", vehicle|fixable, "", "metallic"),
	n("bus", vehicle|fixable, "", "metallic"),
	n("bicycle", vehicle|rideable|fixable, "", "metallic"),
	n("truck", vehicle|fixable, "", "metallic"),
	n("boat", vehicle|rideable|fixable, "", "wooden metallic"),
	n("train", vehicle, "", "metallic"),
	n("motorcycle", vehicle|rideable|fixable, "", "metallic"),
	n("airplane", vehicle, "", "metallic"),
	n("helicopter", vehicle, "", "metallic"),
	n("scooter", vehicle|rideable|fixable, "", "metallic plastic"),
	n("tractor", vehicle|rideable|fixable, "", "metallic"),
	n("taxi", vehicle, "", "metallic"),
	n("skateboard", vehicle|rideable|toy|handheld, "", "wooden plastic"),
	// Plants and outdoor things.
	n("tree", plant, "conical round", ""),
	n("flower", plant|handheld, "", ""),
	n("cactus", plant, "cylindrical round", ""),
	n("sunflower", plant, "", ""),
	n("mushroom", plant|food, "round conical", ""),
	n("fire hydrant", fixable, "", "metallic"),
}

// nounIndex holds every word of the vocabulary, for the parser.
var nounIndex = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range vocabulary {
		m[v.word] = true
	}
	for _, pl := range places {
		m[pl.word] = true
	}
	return m
}()

// place is where a non-spatial scene happens: "in the park".
type place struct{ prep, word string }

var places = []place{
	{"in", "park"}, {"in", "kitchen"}, {"in", "garden"}, {"on", "beach"},
	{"in", "living room"}, {"in", "forest"}, {"in", "classroom"}, {"on", "street"},
	{"in", "yard"}, {"at", "zoo"}, {"in", "library"}, {"at", "market"},
	{"in", "field"}, {"on", "farm"}, {"in", "studio"}, {"at", "station"},
}

// action is a verb phrase of the composer, with the classes of nouns it
// takes as subject and object.
type action struct {
	verb     string // -ing form, with its preposition: "looking at"
	subjects class
	objects  class
}

var actions = []action{
	{"holding", person, handheld},
	{"carrying", person, handheld | furniture},
	{"carrying", animal, toy},
	{"eating", person | animal, food},
	{"feeding", person, animal},
	{"riding", person, rideable},
	{"petting", person, pet},
	{"hugging", person, pet | toy},
	{"washing", person, vehicle | dish | pet},
	{"pushing", person, vehicle | seat},
	{"watching", person | animal, animal | vehicle},
	{"chasing", animal | person, animal | toy},
	{"throwing", person, toy | food},
	{"kicking", person, toy},
	{"looking at", person | animal, animal | furniture | food | vehicle | handheld | plant},
	{"cleaning", person, fixable | furniture | dish},
	{"repairing", person, fixable},
	{"cooking", person, food},
	{"cutting", person, food},
	{"buying", person, handheld | food | furniture},
	{"photographing", person, animal | vehicle | plant | food},
	{"wearing", person, clothing},
	{"opening", person, container},
	{"sitting on", person | animal, seat},
	{"reading", person, readable},
	{"playing with", person | animal, toy | pet},
	{"drinking from", person | animal, dish},
	{"sniffing", animal, food | plant | clothing},
	{"climbing", person | animal, plant},
	{"decorating", person, food | furniture},
	{"waving at", person, person | animal | vehicle},
	{"painting", person, furniture | fixable | toy},
	{"drawing", person, animal | plant | vehicle | food},
	{"smelling", person | animal, plant | food},
	{"planting", person, plant},
	{"selling", person, food | handheld},
}
