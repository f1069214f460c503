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

// entry builds a noun from space-separated shape and texture lists.
func entry(word string, c class, shapeList, textureList string) noun {
	return noun{word: word, class: c, shapes: strings.Fields(shapeList), textures: strings.Fields(textureList)}
}

// vocabulary is the composer's object vocabulary. Colours make sense for
// every noun but people; shapes and textures only where listed.
var vocabulary = []noun{
	// Animals.
	entry("cat", animal|pet, "", "fluffy furry"),
	entry("dog", animal|pet, "", "fluffy furry"),
	entry("rabbit", animal|pet, "", "fluffy furry"),
	entry("horse", animal|pet|rideable, "", ""),
	entry("cow", animal, "", ""),
	entry("sheep", animal|pet, "", "fluffy woolen"),
	entry("pig", animal, "", ""),
	entry("duck", animal, "", ""),
	entry("chicken", animal, "", "fluffy"),
	entry("bird", animal, "", "fluffy"),
	entry("owl", animal, "", "fluffy"),
	entry("elephant", animal|rideable, "", ""),
	entry("giraffe", animal, "", ""),
	entry("lion", animal, "", "furry"),
	entry("tiger", animal, "", "furry"),
	entry("bear", animal, "", "furry fluffy"),
	entry("monkey", animal, "", "furry"),
	entry("zebra", animal, "", ""),
	entry("frog", animal, "", ""),
	entry("turtle", animal, "", ""),
	entry("fox", animal, "", "furry fluffy"),
	entry("penguin", animal, "", ""),
	entry("squirrel", animal, "", "furry fluffy"),
	entry("goat", animal|pet, "", ""),
	entry("mouse", animal, "", "furry"),
	entry("butterfly", animal, "", ""),
	// People.
	entry("man", person, "", ""),
	entry("woman", person, "", ""),
	entry("boy", person, "", ""),
	entry("girl", person, "", ""),
	entry("child", person, "", ""),
	entry("person", person, "", ""),
	entry("chef", person, "", ""),
	entry("farmer", person, "", ""),
	entry("teacher", person, "", ""),
	entry("student", person, "", ""),
	entry("doctor", person, "", ""),
	entry("artist", person, "", ""),
	// Furniture and fittings.
	entry("chair", furniture|seat|fixable, "round square", "wooden metallic plastic leather velvet"),
	entry("table", furniture|fixable, "round square rectangular oval hexagonal triangular", "wooden metallic glass plastic stone"),
	entry("sofa", furniture|seat, "", "leather velvet fabric"),
	entry("bed", furniture|seat, "round rectangular square heart-shaped", "wooden metallic"),
	entry("bench", furniture|seat|fixable, "rectangular round", "wooden metallic stone"),
	entry("desk", furniture|fixable, "rectangular square oval", "wooden metallic glass"),
	entry("shelf", furniture|fixable, "rectangular triangular hexagonal", "wooden metallic glass"),
	entry("lamp", furniture|fixable|handheld, "cylindrical spherical conical cubic pyramidal", "metallic glass ceramic paper"),
	entry("stool", furniture|seat, "round square cylindrical hexagonal triangular", "wooden metallic plastic"),
	entry("cabinet", furniture|container|fixable, "rectangular cubic", "wooden metallic"),
	entry("armchair", furniture|seat, "", "leather velvet fabric"),
	entry("mirror", furniture|fixable, "round oval rectangular square hexagonal heart-shaped", ""),
	entry("clock", furniture|fixable|handheld, "round square hexagonal oval triangular star-shaped heart-shaped", "wooden metallic plastic"),
	entry("rug", furniture, "round oval rectangular square hexagonal", "woolen fabric fluffy silk"),
	entry("pillow", furniture|handheld, "round square rectangular heart-shaped star-shaped cylindrical", "fluffy silk velvet fabric"),
	entry("blanket", furniture|handheld, "rectangular square", "woolen fluffy fabric velvet silk"),
	entry("window", fixable|container, "round square rectangular oval hexagonal triangular pentagonal", "glass wooden"),
	entry("door", fixable|container, "rectangular", "wooden glass metallic"),
	entry("picture frame", furniture|handheld, "round oval rectangular square heart-shaped", "wooden metallic plastic"),
	// Household objects.
	entry("vase", handheld, "cylindrical spherical conical square hexagonal teardrop", "glass ceramic metallic stone"),
	entry("bowl", handheld|dish, "round square hexagonal", "ceramic glass wooden metallic plastic"),
	entry("plate", handheld|dish, "round square oval rectangular hexagonal heart-shaped", "ceramic glass paper plastic metallic"),
	entry("cup", handheld|dish, "cylindrical conical square", "ceramic glass plastic metallic paper"),
	entry("mug", handheld|dish, "cylindrical square", "ceramic glass metallic"),
	entry("bottle", handheld|dish|container, "cylindrical square teardrop spherical rectangular", "glass plastic metallic"),
	entry("jar", handheld|container, "cylindrical square spherical hexagonal", "glass ceramic plastic"),
	entry("box", handheld|container, "cubic rectangular heart-shaped hexagonal cylindrical star-shaped", "wooden metallic paper plastic"),
	entry("basket", handheld, "round oval rectangular square", "wooden plastic fabric"),
	entry("candle", handheld, "cylindrical spherical cubic star-shaped heart-shaped pyramidal teardrop", ""),
	entry("bucket", handheld, "cylindrical conical", "metallic plastic wooden"),
	entry("kettle", handheld|fixable, "spherical cylindrical", "metallic ceramic glass"),
	entry("teapot", handheld|dish, "spherical", "ceramic glass metallic"),
	entry("spoon", handheld, "", "wooden metallic plastic"),
	entry("fork", handheld, "", "metallic plastic wooden"),
	entry("knife", handheld, "", "metallic plastic"),
	entry("book", handheld|container|readable, "rectangular square", "leather paper"),
	entry("backpack", handheld|clothing|container, "", "leather fabric"),
	entry("bag", handheld|container, "rectangular round square", "leather plastic fabric paper"),
	entry("suitcase", handheld|container, "rectangular square", "leather plastic metallic fabric"),
	entry("umbrella", handheld|container, "", "fabric plastic silk"),
	entry("key", handheld, "", "metallic plastic"),
	entry("phone", handheld|fixable, "rectangular square", "plastic metallic glass"),
	entry("laptop", handheld|fixable|container, "rectangular", "plastic metallic"),
	entry("camera", handheld|fixable, "cubic rectangular", "plastic metallic"),
	entry("jewelry box", handheld|container, "cubic heart-shaped rectangular hexagonal", "wooden metallic leather"),
	entry("pencil holder", handheld, "cylindrical cubic hexagonal", "wooden metallic ceramic plastic"),
	entry("sign", fixable, "triangular pentagonal hexagonal round square rectangular", "metallic wooden plastic"),
	entry("tray", handheld|dish, "round oval rectangular square hexagonal", "wooden metallic plastic"),
	entry("tent", container, "pyramidal conical triangular hexagonal", "fabric plastic"),
	// Toys and instruments.
	entry("ball", toy|handheld, "spherical round", "rubber leather plastic"),
	entry("balloon", toy|handheld, "round spherical heart-shaped star-shaped teardrop oval", "rubber plastic"),
	entry("kite", toy|handheld, "triangular hexagonal star-shaped square heart-shaped", "paper fabric silk plastic"),
	entry("teddy bear", toy|handheld|pet, "", "fluffy furry velvet woolen"),
	entry("guitar", toy|handheld|fixable, "", "wooden plastic"),
	entry("drum", toy|handheld, "cylindrical", "wooden metallic"),
	// Clothing.
	entry("hat", clothing|handheld, "conical round", "woolen fabric leather paper"),
	entry("scarf", clothing|handheld, "", "woolen silk fabric"),
	entry("shoe", clothing|handheld, "", "leather rubber fabric"),
	entry("boot", clothing|handheld, "", "leather rubber"),
	entry("jacket", clothing|handheld, "", "leather woolen fabric velvet"),
	entry("glove", clothing|handheld, "", "leather woolen rubber fabric"),
	// Food.
	entry("apple", food|handheld, "", ""),
	entry("banana", food|handheld, "", ""),
	entry("cake", food, "round square heart-shaped star-shaped rectangular hexagonal", ""),
	entry("cookie", food|handheld, "round square heart-shaped star-shaped triangular", ""),
	entry("pizza", food, "round square rectangular", ""),
	entry("sandwich", food|handheld, "triangular square rectangular", ""),
	entry("donut", food|handheld, "round heart-shaped star-shaped", ""),
	entry("strawberry", food|handheld, "", ""),
	entry("tomato", food|handheld, "", ""),
	entry("carrot", food|handheld, "", ""),
	entry("lemon", food|handheld, "", ""),
	entry("pear", food|handheld, "", ""),
	entry("peach", food|handheld, "", ""),
	entry("cherry", food|handheld, "", ""),
	entry("egg", food|handheld, "oval", ""),
	entry("pumpkin", food, "round", ""),
	entry("watermelon", food, "round oval spherical", ""),
	entry("cupcake", food|handheld, "", ""),
	entry("muffin", food|handheld, "", ""),
	entry("pie", food, "round square", ""),
	entry("potato", food|handheld, "oval round", ""),
	// Vehicles.
	entry("car", vehicle|fixable, "", "metallic"),
	entry("bus", vehicle|fixable, "", "metallic"),
	entry("bicycle", vehicle|rideable|fixable, "", "metallic"),
	entry("truck", vehicle|fixable, "", "metallic"),
	entry("boat", vehicle|rideable|fixable, "", "wooden metallic"),
	entry("train", vehicle, "", "metallic"),
	entry("motorcycle", vehicle|rideable|fixable, "", "metallic"),
	entry("airplane", vehicle, "", "metallic"),
	entry("helicopter", vehicle, "", "metallic"),
	entry("scooter", vehicle|rideable|fixable, "", "metallic plastic"),
	entry("tractor", vehicle|rideable|fixable, "", "metallic"),
	entry("taxi", vehicle, "", "metallic"),
	entry("skateboard", vehicle|rideable|toy|handheld, "", "wooden plastic"),
	// Plants and outdoor things.
	entry("tree", plant, "conical round", ""),
	entry("flower", plant|handheld, "", ""),
	entry("cactus", plant, "cylindrical round", ""),
	entry("sunflower", plant, "", ""),
	entry("mushroom", plant|food, "round conical", ""),
	entry("fire hydrant", fixable, "", "metallic"),
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
