package annotators

import "strings"

// irregularPlurals maps singular nouns to plurals that no suffix rule gives.
var irregularPlurals = map[string]string{
	"person": "people", "child": "children", "mouse": "mice", "goose": "geese",
	"tooth": "teeth", "foot": "feet", "ox": "oxen", "louse": "lice",
	"knife": "knives", "leaf": "leaves", "wolf": "wolves", "shelf": "shelves",
	"loaf": "loaves", "calf": "calves", "half": "halves", "scarf": "scarves",
	"life": "lives", "wife": "wives", "thief": "thieves", "elf": "elves",
	"hoof": "hooves", "dwarf": "dwarves", "sheaf": "sheaves", "wharf": "wharves",
	"cactus": "cacti", "fungus": "fungi", "man": "men", "woman": "women",
	"bookshelf": "bookshelves", "jackknife": "jackknives", "penknife": "penknives",
}

// irregularSingulars is the inverse of irregularPlurals.
var irregularSingulars = func() map[string]string {
	m := map[string]string{}
	for s, p := range irregularPlurals {
		m[p] = s
	}
	return m
}()

// invariantNouns have one form for singular and plural ("sheep") or are
// plural in form but name one thing ("scissors", "jeans"). Parse counts
// them as one unless a number says otherwise.
var invariantNouns = words(`sheep fish deer shrimp goldfish salmon moose bison aircraft spacecraft
	series species trout squid swine cod tuna offspring dice news
	sunglasses eyeglasses goggles binoculars pants jeans shorts trousers scissors pliers
	tongs tweezers leggings pajamas pyjamas overalls clothes earmuffs chaps headquarters
	chaos cosmos kudos news`)

// sNouns are singular nouns (and other words) in -s that no suffix rule
// recognises as singular; their plural adds -es.
var sNouns = words(`lens gas atlas canvas christmas bias alias pancreas yes mars this his
	its plus thus always perhaps`)

// manExceptions end in "man" but do not make their plural in "men".
var manExceptions = words(`human german roman shaman caiman talisman ottoman doberman walkman`)

// menExceptions end in "men" but are singular.
var menExceptions = words(`specimen abdomen omen stamen amen hymen lumen regimen yemen`)

// esAfterO are nouns in -o whose plural ends in -oes.
var esAfterO = words(`tomato potato hero echo mango volcano torpedo mosquito domino buffalo
	tornado veto`)

// usPlurals are nouns in -us whose plural is -uses.
var usPlurals = words(`bus bonus campus walrus circus virus genius hippopotamus platypus
	asparagus citrus abacus focus syllabus chorus census status lotus crocus
	surplus hummus`)

// iesSingulars are nouns in -ie whose plural is -ies ("cookies").
var iesSingulars = words(`cookie movie pie tie brownie zombie smoothie selfie lie calorie
	rookie hippie goalie prairie pixie bootie beanie hoodie necktie magpie veggie
	sweetie birdie doggie kiddie budgie`)

// iPlurals are plurals of nouns in -i, which the rule that keeps words in
// -is ("iris", "tennis") would miss.
var iPlurals = words(`taxis skis kiwis bikinis martinis safaris yetis emojis salamis tipis
	alibis khakis rabbis origamis wikis sushis broccolis zucchinis macaronis
	raviolis tis`)

// cheSingulars are nouns in -che or -ache whose plural adds only -s.
var cheSingulars = words(`headache toothache stomachache moustache mustache niche cache
	avalanche creche quiche microfiche`)

// Singular returns the singular of a lower-case English noun ("cats" ->
// "cat", "people" -> "person", "knives" -> "knife", "boxes" -> "box",
// "glasses" -> "glass"). In a compound noun only the last word changes
// ("teddy bears" -> "teddy bear"). A noun that is already singular, or that
// has one form for both ("sheep"), comes back unchanged.
func Singular(noun string) string {
	head, last := splitLast(noun)
	return head + singular(last)
}

// Plural returns the plural of a lower-case singular English noun ("cat"
// -> "cats", "person" -> "people", "bench" -> "benches"); it is the
// inverse of Singular. In a compound noun only the last word changes.
func Plural(noun string) string {
	head, last := splitLast(noun)
	return head + plural(last)
}

// splitLast splits a compound noun before its last word, keeping the space
// with the head.
func splitLast(noun string) (head, last string) {
	i := strings.LastIndexByte(noun, ' ')
	return noun[:i+1], noun[i+1:]
}

func plural(w string) string {
	switch {
	case w == "" || invariantNouns[w]:
		return w
	case irregularPlurals[w] != "":
		return irregularPlurals[w]
	case strings.HasSuffix(w, "man") && !manExceptions[w]:
		return w[:len(w)-3] + "men"
	case strings.HasSuffix(w, "s") || strings.HasSuffix(w, "x") || strings.HasSuffix(w, "z") ||
		strings.HasSuffix(w, "sh") || strings.HasSuffix(w, "ch"):
		return w + "es"
	case strings.HasSuffix(w, "o") && esAfterO[w]:
		return w + "es"
	case strings.HasSuffix(w, "y") && len(w) > 1 && !isVowel(w[len(w)-2]):
		return w[:len(w)-1] + "ies"
	}
	return w + "s"
}

func singular(w string) string {
	switch {
	case invariantNouns[w] || sNouns[w]:
		return w
	case irregularSingulars[w] != "":
		return irregularSingulars[w]
	case strings.HasSuffix(w, "men") && !menExceptions[w]:
		return w[:len(w)-3] + "man"
	case len(w) <= 3 || !strings.HasSuffix(w, "s"):
		return w
	case iPlurals[w]:
		return w[:len(w)-1]
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "ies"):
		if iesSingulars[w[:len(w)-1]] || len(w) <= 4 {
			return w[:len(w)-1]
		}
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "xes") ||
		strings.HasSuffix(w, "zzes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ches"):
		if cheSingulars[w[:len(w)-1]] {
			return w[:len(w)-1]
		}
		return w[:len(w)-2]
	case strings.HasSuffix(w, "oes"):
		if esAfterO[w[:len(w)-2]] {
			return w[:len(w)-2]
		}
		return w[:len(w)-1]
	case strings.HasSuffix(w, "uses"):
		if usPlurals[w[:len(w)-2]] {
			return w[:len(w)-2]
		}
		return w[:len(w)-1]
	case strings.HasSuffix(w, "ses") && sNouns[w[:len(w)-2]]:
		// "lenses", "gases", "canvases".
		return w[:len(w)-2]
	}
	return w[:len(w)-1]
}

func isVowel(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'
}
