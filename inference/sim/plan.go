package sim

import (
	"slices"
	"strings"

	"github.com/twigdata/twig/annotators"
)

// plannedObject is an object of a prompt with the band it is planned for.
type plannedObject struct {
	annotators.Object
	Band int
}

// plan is how the simulated reasoner lays a prompt out over K bands. It
// depends only on the prompt and K, so the thinker and the critic agree.
type plan struct {
	prompt    string
	objects   []plannedObject
	relations []annotators.Relation
	bands     [][]int  // object indexes per band, in mention order
	sentences []string // the clean thought of each band
}

// maxPerBand is the most objects one band's thought names when there are
// other bands to spread them to.
const maxPerBand = 3

// objectsOf returns the objects of an analysis, with counts of at least
// 1 and relations re-indexed; without the nouns that are not painted,
// scenery ("background", "ground") and meta nouns ("object", "detail"),
// unless keepScenery.
func objectsOf(a annotators.Analysis, keepScenery bool) ([]annotators.Object, []annotators.Relation) {
	index := make([]int, len(a.Objects))
	var objs []annotators.Object
	for i, o := range a.Objects {
		index[i] = -1
		if o.Noun == "" || !keepScenery && !painted(o.Noun) {
			continue
		}
		if o.Count < 1 {
			o.Count = 1
		}
		index[i] = len(objs)
		objs = append(objs, o)
	}
	var rels []annotators.Relation
	for _, r := range a.Relations {
		if r.Subject < 0 || r.Subject >= len(index) || r.Object < 0 || r.Object >= len(index) {
			continue
		}
		s, o := index[r.Subject], index[r.Object]
		if s < 0 || o < 0 || s == o {
			continue
		}
		rels = append(rels, annotators.Relation{Subject: s, Predicate: r.Predicate, Object: o})
	}
	return objs, rels
}

// centralBands are the bands that hold the prompt's main content.
func centralBands(K int) []int {
	switch K {
	case 1:
		return []int{0}
	case 2:
		return []int{0, 1}
	}
	var c []int
	for b := 1; b < K-1; b++ {
		c = append(c, b)
	}
	return c
}

// makePlan plans prompt over K bands: subjects of "above" go to the first
// band, subjects of "below" to the last, the rest, kept with the objects
// they relate to, to the central bands; a band with more than three
// objects spills into the emptiest band.
func makePlan(parse func(string) annotators.Analysis, prompt string, K int) *plan {
	objs, rels := objectsOf(parse(prompt), true)
	p := &plan{prompt: prompt, relations: rels, bands: make([][]int, K)}
	band := make([]int, len(objs))
	for i := range band {
		band[i] = -1
	}
	if K >= 2 {
		for _, r := range rels {
			switch {
			case band[r.Subject] >= 0:
			case r.Predicate == "above":
				band[r.Subject] = 0
			case r.Predicate == "below":
				band[r.Subject] = K - 1
			}
		}
	}
	// Group the other objects by the relations between them.
	group := make([]int, len(objs))
	for i := range group {
		group[i] = i
	}
	find := func(i int) int {
		for group[i] != i {
			i = group[i]
		}
		return i
	}
	for _, r := range rels {
		if band[r.Subject] < 0 && band[r.Object] < 0 {
			a, b := find(r.Subject), find(r.Object)
			group[max(a, b)] = min(a, b)
		}
	}
	count := make([]int, K)
	for _, b := range band {
		if b >= 0 {
			count[b]++
		}
	}
	central := centralBands(K)
	groupBand := map[int]int{}
	for i := range objs {
		if band[i] >= 0 {
			continue
		}
		g := find(i)
		b, ok := groupBand[g]
		if !ok {
			b = central[0]
			for _, c := range central {
				if count[c] < count[b] {
					b = c
				}
			}
			groupBand[g] = b
		}
		band[i] = b
		count[b]++
	}
	// Spread crowded bands.
	for moved := true; moved; {
		moved = false
		for b := range K {
			if count[b] <= maxPerBand {
				continue
			}
			to := -1
			for t := range K {
				if count[t] < maxPerBand && (to < 0 || count[t] < count[to]) {
					to = t
				}
			}
			if to < 0 {
				break
			}
			last := -1
			for i := range objs {
				if band[i] == b {
					last = i
				}
			}
			band[last] = to
			count[b]--
			count[to]++
			moved = true
		}
	}
	for i, o := range objs {
		p.objects = append(p.objects, plannedObject{Object: o, Band: band[i]})
		p.bands[band[i]] = append(p.bands[band[i]], i)
	}
	for b := range K {
		p.sentences = append(p.sentences, p.compose(b))
	}
	return p
}

// Scenery sentences for bands without objects: they name no object and no
// part of the canvas.
var (
	skyFillers = []string{
		"The background is plain and soft.",
		"The backdrop is calm and even.",
		"The background is plain and calm.",
		"The backdrop is soft, pale and empty.",
	}
	groundFillers = []string{
		"The ground is even and smooth.",
		"The ground is flat, plain and calm.",
		"The ground is smooth and even.",
		"The ground is firm and even.",
	}
	spaceFillers = func() []string {
		var out []string
		for _, adj := range []string{"calm and simple", "soft and plain", "quiet and empty", "quiet and plain",
			"open and calm", "still and plain", "clean and simple", "pale and calm", "soft and quiet",
			"bare and even", "simple and open", "smooth and calm"} {
			out = append(out, "The surroundings are "+adj+".", "The space is "+adj+".")
		}
		return out
	}()
)

// compose writes band b's thought.
func (p *plan) compose(b int) string {
	K := len(p.bands)
	v := int(hashOf(p.prompt, b) % 4)
	if len(p.bands[b]) == 0 {
		central := centralBands(K)
		switch {
		case len(p.objects) == 0 && b == central[0]:
			return restatePrompt(p.prompt)
		case K >= 2 && b == 0:
			return skyFillers[v]
		case K >= 2 && b == K-1:
			return groundFillers[v]
		}
		// Consecutive bands get different sentences: thoughts must not repeat.
		return spaceFillers[(int(hashOf(p.prompt)%uint64(len(spaceFillers)))+b)%len(spaceFillers)]
	}
	return p.describe(p.bands[b], v)
}

// describe writes one sentence naming the objects idx, with the relations
// between them from the prompt.
func (p *plan) describe(idx []int, v int) string {
	return p.describeWith(idx, v, func(i int) string { return nounPhrase(p.objects[i]) })
}

// describeWith is describe with each object i written as phrase(i).
func (p *plan) describeWith(idx []int, v int, phrase func(i int) string) string {
	in := func(i int) bool { return slices.Contains(idx, i) }
	said := map[int]bool{}
	var clauses []string
	for _, r := range p.relations {
		if !in(r.Subject) || !in(r.Object) || said[r.Subject] || said[r.Object] {
			continue
		}
		said[r.Subject], said[r.Object] = true, true
		clauses = append(clauses, p.clause(r, v, phrase))
	}
	// Objects whose vertical relation partner is in another band.
	for _, i := range idx {
		if said[i] {
			continue
		}
		for _, r := range p.relations {
			if r.Subject != i || in(r.Object) {
				continue
			}
			s := p.objects[i]
			switch r.Predicate {
			case "above":
				clauses = append(clauses, phrase(i)+" "+agree(s.Count, "is", "are")+" high up")
				said[i] = true
			case "below":
				clauses = append(clauses, phrase(i)+" "+agree(s.Count, "is", "are")+" down low")
				said[i] = true
			}
			if said[i] {
				break
			}
		}
	}
	var rest []string
	n := 0
	for _, i := range idx {
		if !said[i] {
			rest = append(rest, phrase(i))
			n += p.objects[i].Count
		}
	}
	list := joinList(rest)
	if len(clauses) == 0 {
		switch v % 3 {
		case 0:
			return sentence("there " + agree(p.objects[idx[0]].Count, "is", "are") + " " + list)
		case 1:
			return sentence(list + " " + agree(n, "is", "are") + " clearly visible")
		}
		return sentence(list + " " + agree(n, "is", "are") + " shown clearly")
	}
	s := strings.Join(clauses, ", and ")
	if list != "" {
		s += ", with " + list + " nearby"
	}
	return sentence(s)
}

// clause writes a relation between two objects of the same band.
func (p *plan) clause(r annotators.Relation, v int, phrase func(i int) string) string {
	s := p.objects[r.Subject]
	subj, obj := phrase(r.Subject), phrase(r.Object)
	be := agree(s.Count, "is", "are")
	verb := []string{be, agree(s.Count, "sits", "sit")}[v%2]
	switch r.Predicate {
	case "left_of":
		return subj + " " + verb + " on the left of " + obj
	case "right_of":
		return subj + " " + verb + " on the right of " + obj
	case "next_to":
		return subj + " " + verb + " next to " + obj
	case "above":
		return subj + " " + be + " above " + obj
	case "below":
		return subj + " " + be + " below " + obj
	case "in_front_of":
		return subj + " " + verb + " in front of " + obj
	case "behind":
		return subj + " " + verb + " behind " + obj
	case "hidden_by":
		return subj + " " + be + " partly hidden by " + obj
	}
	pred := strings.ReplaceAll(r.Predicate, "_", " ")
	if first, _, _ := strings.Cut(pred, " "); strings.HasSuffix(first, "ing") {
		return subj + " " + be + " " + pred + " " + obj
	}
	// The prompt's own verb form ("parked on", "display"), as the parser read it.
	return subj + " " + pred + " " + obj
}

func agree(n int, one, many string) string {
	if n > 1 {
		return many
	}
	return one
}

// joinList joins phrases as "a, b and c".
func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
