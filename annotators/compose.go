package annotators

import (
	"math/rand/v2"
	"strings"
)

// composeOrder is the order in which Compose cycles through categories.
var composeOrder = []string{
	"colour", "shape", "texture", "spatial", "3d_spatial", "numeracy", "non_spatial", "complex",
}

// pcgStream is the second PCG word; the seed is the first.
const pcgStream = 0x9e3779b97f4a7c15

// maxTries bounds the draws for one new prompt. The smallest category,
// 3d_spatial, holds about 56,000 prompts (3 phrases and 138 x 137 noun
// pairs), so Compose reaches the bound only after some 400,000 prompts.
const maxTries = 10000

// The relation phrases composed prompts use, with their predicates.
type relationPhrase struct{ text, pred string }

var (
	phrases2D = []relationPhrase{
		{"on the left of", "left_of"}, {"on the right of", "right_of"},
		{"on the top of", "above"}, {"on the bottom of", "below"},
		{"next to", "next_to"}, {"near", "next_to"}, {"on side of", "next_to"},
		{"above", "above"}, {"below", "below"},
	}
	phrases3D = []relationPhrase{
		{"in front of", "in_front_of"}, {"behind", "behind"}, {"hidden by", "hidden_by"},
	}
	phrasesAll = append(append([]relationPhrase{}, phrases2D...), phrases3D...)
)

// numberWords spell counts for composed prompts.
var numberWords = []string{"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// Noun lists the generators draw from.
var (
	nounsAll      = vocabulary
	nounsColoured = filterNouns(func(v noun) bool { return v.class&person == 0 })
	nounsShaped   = filterNouns(func(v noun) bool { return len(v.shapes) > 0 })
	nounsTextured = filterNouns(func(v noun) bool { return len(v.textures) > 0 })
	nounsPeople   = filterNouns(func(v noun) bool { return v.class&person != 0 })
	// actionNouns holds the nouns each action of actions takes.
	actionNouns = func() []actionLists {
		out := make([]actionLists, len(actions))
		for i, a := range actions {
			out[i] = actionLists{
				subjects: filterNouns(func(v noun) bool { return v.class&a.subjects != 0 }),
				objects:  filterNouns(func(v noun) bool { return v.class&a.objects != 0 }),
				textured: filterNouns(func(v noun) bool { return v.class&a.objects != 0 && len(v.textures) > 0 }),
			}
		}
		return out
	}()
)

// actionLists are the nouns an action takes.
type actionLists struct {
	subjects, objects []noun
	textured          []noun // the objects that have textures
}

func filterNouns(keep func(noun) bool) []noun {
	var out []noun
	for _, v := range vocabulary {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// draft is a prompt being composed, with the objects and relations Parse
// should find in it.
type draft struct {
	category  string
	b         strings.Builder
	objects   []Object
	relations []Relation
	used      map[string]bool
}

// word appends words to the text.
func (d *draft) word(ws ...string) {
	for _, w := range ws {
		if d.b.Len() > 0 && w != "," {
			d.b.WriteByte(' ')
		}
		d.b.WriteString(w)
	}
}

// object appends a noun phrase and returns the object's index. With
// numbered, the count is spelled ("one cat", "three cats"); without, the
// count must be 1 and the phrase takes "a" or "an".
func (d *draft) object(numbered bool, count int, colour, shape, texture string, v noun) int {
	ws := make([]string, 0, 5)
	for _, a := range []string{shape, colour, texture} {
		if a != "" {
			ws = append(ws, a)
		}
	}
	w := v.word
	if count > 1 {
		w = Plural(w)
	}
	ws = append(ws, w)
	if numbered {
		d.word(numberWords[count])
	} else {
		d.word(article(ws[0]))
	}
	d.word(ws...)
	d.objects = append(d.objects, Object{Noun: v.word, Count: count, Colour: colour, Shape: shape, Texture: texture})
	return len(d.objects) - 1
}

func (d *draft) relate(subject int, pred string, object int) {
	d.relations = append(d.relations, Relation{Subject: subject, Predicate: pred, Object: object})
}

// pick draws a noun from list that the prompt does not use yet. Every
// list but those of a few actions is far longer than a prompt's nouns.
func (d *draft) pick(r *rand.Rand, list []noun) noun {
	v, _ := d.tryPick(r, list)
	return v
}

// tryPick is pick that reports false when list has no unused noun.
func (d *draft) tryPick(r *rand.Rand, list []noun) (noun, bool) {
	for range 4 * len(list) {
		v := list[r.IntN(len(list))]
		if !d.used[v.word] {
			d.used[v.word] = true
			return v, true
		}
	}
	for _, v := range list {
		if !d.used[v.word] {
			d.used[v.word] = true
			return v, true
		}
	}
	return noun{}, false
}

// article returns "a" or "an" for a word.
func article(w string) string {
	if w != "" && isVowel(w[0]) {
		return "an"
	}
	return "a"
}

func choose(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// separator writes what follows the done-th of k listed phrases, so that
// they read "x", "x and y" or "x, y and z".
func (d *draft) separator(done, k int) {
	switch {
	case done == k-1:
		d.word("and")
	case done < k-1:
		d.word(",")
	}
}

// composeDrafts generates n distinct drafts from seed.
func composeDrafts(n int, seed int64) []*draft {
	if n <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(seed), pcgStream))
	seen := make(map[string]bool, n)
	out := make([]*draft, 0, n)
	for len(out) < n {
		category := composeOrder[len(out)%len(composeOrder)]
		var d *draft
		for try := 0; ; try++ {
			if try == maxTries {
				return out
			}
			d = generate(r, category)
			if !seen[d.b.String()] {
				break
			}
		}
		seen[d.b.String()] = true
		out = append(out, d)
	}
	return out
}

func compose(n int, seed int64) []Composed {
	drafts := composeDrafts(n, seed)
	if drafts == nil {
		return nil
	}
	out := make([]Composed, len(drafts))
	for i, d := range drafts {
		out[i] = Composed{Text: d.b.String(), Category: d.category}
	}
	return out
}

// generate draws one prompt of a category.
func generate(r *rand.Rand, category string) *draft {
	d := &draft{category: category, used: map[string]bool{}}
	switch category {
	case "colour", "shape", "texture":
		attributeList(r, d, category)
	case "spatial":
		p := phrases2D[r.IntN(len(phrases2D))]
		spatial(r, d, p.text, p.pred, 0, false)
	case "3d_spatial":
		p := phrases3D[r.IntN(len(phrases3D))]
		spatial(r, d, p.text, p.pred, 0, false)
	case "numeracy":
		numeracy(r, d)
	case "non_spatial":
		nonSpatial(r, d)
	case "complex":
		complexPrompt(r, d)
	}
	return d
}

// attributeList composes "a red cat and a blue car" and the like: two
// objects, or sometimes three, each with one attribute of the category.
func attributeList(r *rand.Rand, d *draft, category string) {
	k := 2
	if r.IntN(4) == 0 {
		k = 3
	}
	for i := range k {
		switch category {
		case "colour":
			d.object(false, 1, choose(r, colours), "", "", d.pick(r, nounsColoured))
		case "shape":
			v := d.pick(r, nounsShaped)
			d.object(false, 1, "", choose(r, v.shapes), "", v)
		case "texture":
			v := d.pick(r, nounsTextured)
			d.object(false, 1, "", "", choose(r, v.textures), v)
		}
		d.separator(i+1, k)
	}
}

// spatial composes "a {noun} {relation} a {noun}". For complex prompts
// the first noun takes an attribute of kind first (0 for none) and the
// second a colour when coloured is true.
func spatial(r *rand.Rand, d *draft, text, pred string, first int, coloured bool) {
	var a int
	switch first {
	case kindColour:
		a = d.object(false, 1, choose(r, colours), "", "", d.pick(r, nounsColoured))
	case kindShape:
		v := d.pick(r, nounsShaped)
		a = d.object(false, 1, "", choose(r, v.shapes), "", v)
	case kindTexture:
		v := d.pick(r, nounsTextured)
		a = d.object(false, 1, "", "", choose(r, v.textures), v)
	default:
		a = d.object(false, 1, "", "", "", d.pick(r, nounsAll))
	}
	d.word(text)
	var b int
	if coloured {
		b = d.object(false, 1, choose(r, colours), "", "", d.pick(r, nounsColoured))
	} else {
		b = d.object(false, 1, "", "", "", d.pick(r, nounsAll))
	}
	d.relate(a, pred, b)
}

// numeracy composes "three cats and two dogs", with one to three groups.
func numeracy(r *rand.Rand, d *draft) {
	k := 1 + r.IntN(3)
	for i := range k {
		d.object(true, 1+r.IntN(9), "", "", "", d.pick(r, nounsAll))
		d.separator(i+1, k)
	}
}

// nonSpatial composes "a man is holding a book", sometimes with a second
// action ("and feeding a dog") or a place ("in the park").
func nonSpatial(r *rand.Rand, d *draft) {
	i := r.IntN(len(actions))
	s := d.pick(r, actionNouns[i].subjects)
	subject := d.object(false, 1, "", "", "", s)
	d.word("is", actions[i].verb)
	d.relate(subject, actions[i].verb, d.object(false, 1, "", "", "", d.pick(r, actionNouns[i].objects)))
	if r.IntN(4) == 0 {
		// A second action with the same subject.
		for {
			j := r.IntN(len(actions))
			if j == i || s.class&actions[j].subjects == 0 {
				continue
			}
			if v, ok := d.tryPick(r, actionNouns[j].objects); ok {
				d.word("and", actions[j].verb)
				d.relate(subject, actions[j].verb, d.object(false, 1, "", "", "", v))
				break
			}
		}
	}
	if r.IntN(2) == 0 {
		pl := places[r.IntN(len(places))]
		d.word(pl.prep, "the", pl.word)
		d.objects = append(d.objects, Object{Noun: pl.word, Count: 1})
	}
}

// complexPrompt composes a prompt that mixes attribute kinds, or binds
// attributes and a spatial relation.
func complexPrompt(r *rand.Rand, d *draft) {
	p := phrasesAll[r.IntN(len(phrasesAll))]
	switch r.IntN(6) {
	case 0: // "a wooden chair on the right of a red car"
		spatial(r, d, p.text, p.pred, kindTexture, true)
	case 1: // "a red chair behind a blue car"
		spatial(r, d, p.text, p.pred, kindColour, true)
	case 2: // "a round table next to a green dog"
		spatial(r, d, p.text, p.pred, kindShape, true)
	case 3: // "a round red table and a blue wooden chair"
		v := d.pick(r, nounsShaped)
		d.object(false, 1, choose(r, colours), choose(r, v.shapes), "", v)
		d.word("and")
		w := d.pick(r, nounsTextured)
		d.object(false, 1, choose(r, colours), "", choose(r, w.textures), w)
	case 4: // "a man is holding a red leather bag"
		for {
			i := r.IntN(len(actions))
			if actions[i].subjects&person == 0 || len(actionNouns[i].textured) == 0 {
				continue
			}
			subject := d.object(false, 1, "", "", "", d.pick(r, nounsPeople))
			d.word("is", actions[i].verb)
			v := d.pick(r, actionNouns[i].textured)
			d.relate(subject, actions[i].verb, d.object(false, 1, choose(r, colours), "", choose(r, v.textures), v))
			break
		}
	default: // "three red cups and two wooden spoons"
		d.object(true, 2+r.IntN(8), choose(r, colours), "", "", d.pick(r, nounsColoured))
		d.word("and")
		v := d.pick(r, nounsTextured)
		d.object(true, 2+r.IntN(8), "", "", choose(r, v.textures), v)
	}
}
