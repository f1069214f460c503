package annotators

import (
	"cmp"
	"strings"
)

// phrase is a noun phrase being read.
type phrase struct {
	open     bool // a determiner, number or modifier has been read
	count    int
	quantity bool // a number or quantifier gave the count
	counted  bool // a number gave the count
	colour   string
	shape    string
	texture  string
	sized    bool     // a size word modifies it
	content  []string // the nouns (and unknown words) read so far
	// plainLast is true when the last content word is a plain word, not a
	// compound or an attribute word used as a noun; only a plain word may
	// turn out to be a verb.
	plainLast bool
}

func (np *phrase) setAttr(a attribute) {
	np.open = true
	switch a.kind {
	case kindColour:
		np.colour = a.canon
	case kindShape:
		np.shape = a.canon
	case kindTexture:
		np.texture = a.canon
	}
}

func (np *phrase) hasAttrs() bool {
	return np.colour != "" || np.shape != "" || np.texture != "" || np.sized
}

// How a noun phrase ended.
const (
	closePlain = iota // any other break
	closeList         // "and", "or" or a comma: dangling attributes carry over
	closeOf           // "of": the phrase may be a set, part or container
)

// parser reads tokens left to right, one noun phrase at a time, and emits
// an object for each phrase with a head noun.
type parser struct {
	toks []token
	i    int

	objects   []Object
	relations []Relation
	sized     int  // objects with a size word
	numbered  bool // some object has a number
	verbal    bool // some sentence has a verb

	np       phrase
	carry    phrase // attributes and count for the next object
	carrying bool
	skip     bool // drop the next object: the contents of a container

	subject    int    // the sentence's subject, or -1
	last       int    // the last object of the sentence, or -1
	rel        string // a spatial predicate waiting for its object
	relSubject int    // the object before rel, or -1
	verb       string // a verb waiting for its object
	hasVerb    bool   // the sentence has a verb
	afterBe    bool   // the previous token was "is", "can", ... (adverbs aside)
	afterTo    bool   // the previous token was "to"
	afterNoun  bool   // an adverb ended a noun phrase: "the skater gracefully"
	prev       kind   // the class of the previous token
}

func parse(prompt string) Analysis {
	p := &parser{toks: tokenize(prompt), subject: -1, last: -1}
	p.run()
	return Analysis{Objects: p.objects, Relations: p.relations, Category: p.category()}
}

func (p *parser) run() {
	for p.i = 0; p.i < len(p.toks); p.i++ {
		t := p.toks[p.i]
		be, to, noun := p.afterBe, p.afterTo, p.afterNoun
		if t.kind != tAdv {
			p.afterBe, p.afterTo, p.afterNoun = false, false, false
		}
		switch t.kind {
		case tEnd:
			p.endSentence()
		case tComma, tConj:
			p.close(closeList)
		case tDet:
			p.boundary()
			p.np.open = true
		case tNum, tQuant:
			p.boundary()
			p.np.open, p.np.count, p.np.quantity = true, t.num, true
			p.np.counted = t.kind == tNum
		case tPrep:
			if t.text == "of" {
				p.close(closeOf)
			} else {
				p.close(closePlain)
			}
			p.afterTo = t.text == "to"
		case tRel:
			p.close(closePlain)
			p.rel, p.relSubject, p.verb = t.pred, p.last, ""
		case tBe:
			p.close(closePlain)
			p.afterBe = true
		case tHave:
			p.close(closePlain)
			if next := p.peek(); startsPhrase(next) || modifies(next) {
				p.setVerb(t.text, true) // "the man has pink chaps"
			} else {
				p.afterBe = true
			}
		case tAux:
			if t.text == "can" && p.np.open && len(p.np.content) == 0 {
				p.addContent(t.text, false) // "a cylindrical can"
				break
			}
			p.close(closePlain)
			p.afterBe = true
		case tPron:
			p.boundary()
			p.close(closePlain)
			p.verb = "" // the pronoun was the verb's object
		case tAdv:
			if len(p.np.content) > 0 {
				p.close(closePlain)
				p.afterNoun = true
			}
		case tAttr:
			p.attribute(t, be)
		case tSize:
			p.size(t, be)
		case tShade:
			switch {
			case p.peek() == tAttr && p.toks[p.i+1].attr.kind == kindColour:
				// "light brown": the shade goes.
			case t.text == "light" && !modifies(p.peek()):
				p.addContent(t.text, true)
			default:
				p.np.open = true
			}
		case tAdj:
			if !be {
				p.np.open = true
			}
		case tNoun:
			p.addContent(t.text, false)
		case tWord:
			p.word(t.text, be, to, noun)
		}
		p.prev = p.toks[p.i].kind // a verb may have taken a preposition
	}
	p.endSentence()
}

// peek returns the class of the next token, tEnd after the last.
func (p *parser) peek() kind {
	if p.i+1 < len(p.toks) {
		return p.toks[p.i+1].kind
	}
	return tEnd
}

// startsPhrase reports whether a token of class k starts a noun phrase
// that cannot continue the current one.
func startsPhrase(k kind) bool {
	switch k {
	case tDet, tNum, tQuant, tPron, tAttr, tSize:
		return true
	}
	return false
}

// modifies reports whether a token of class k can follow a modifier
// inside a noun phrase.
func modifies(k kind) bool {
	switch k {
	case tWord, tNoun, tAttr, tSize, tShade, tAdj:
		return true
	}
	return false
}

// word reads a plain word: a noun, or a verb when the context says so:
// be, to and noun tell whether it follows "is" (or the like), "to", or a
// noun phrase and adverbs.
func (p *parser) word(w string, be, to, noun bool) {
	np := &p.np
	switch {
	case noun && (isIngVerb(w) || isEdVerb(w) || isVerbForm(w)):
		p.setVerb(w, true) // "the skater gracefully glided"
		return
	case be && !np.open:
		// "is holding", "were arranged"; "were ripe" has no object.
		if strings.HasSuffix(w, "ing") || isEdVerb(w) || isVerbForm(w) {
			p.setVerb(w, true)
			return
		}
		if !knownNoun(w) {
			p.afterBe = true // "is bungee jumping"
			return
		}
	case (to || p.prev == tPron) && !np.open && isVerbForm(w):
		p.setVerb(w, true) // "trying to find", "watching it soar"
		return
	case len(np.content) > 0:
		// After a noun: "a dog sitting", "cats lounged", "the spoons stir
		// the", "the bowl rests on", "the cats rest on".
		next := p.peek()
		if isIngVerb(w) || isEdVerb(w) ||
			isVerbForm(w) && (startsPhrase(next) ||
				(!knownNoun(w) || p.agrees(w)) && (next == tPrep || next == tRel || next == tAdv || next == tAdj)) {
			p.close(closePlain)
			p.setVerb(w, true)
			return
		}
	case !np.open && (isIngVerb(w) || strings.HasSuffix(w, "ing") && startsPhrase(p.peek()) ||
		isEdVerb(w) && p.prev == tConj) && (p.hasVerb || p.prev == tPrep):
		p.setVerb(w, true) // "and reading", "before placing"
		return
	}
	p.addContent(w, true)
}

// agrees reports whether w, a verb form after the current phrase's last
// word, agrees with it as a verb with its subject rather than as the end of
// a compound noun: "bowl rests" or "cats rest", but not "book stand".
func (p *parser) agrees(w string) bool {
	last := p.np.content[len(p.np.content)-1]
	if Singular(last) != last {
		return verbs[w] // a plural subject and a base form
	}
	stem, ok := strings.CutSuffix(w, "s")
	return ok && (verbs[stem] || verbs[strings.TrimSuffix(stem, "e")])
}

// attribute reads a colour, shape or texture word: a modifier before a
// noun, or a noun itself at the end of a phrase ("a red orange").
func (p *parser) attribute(t token, be bool) {
	if be && !p.np.open {
		return // "the sky is blue"
	}
	if t.attr.noun && (!modifies(p.peek()) && !p.coordinated() || p.verbNext()) {
		p.addContent(t.text, false)
		return
	}
	p.np.setAttr(t.attr)
}

// maxList is the longest list of modifiers coordinated follows.
const maxList = 8

// verbNext reports whether the next token is a plain word that reads as a
// verb and not as a noun, as "runs" in "brown fur runs".
func (p *parser) verbNext() bool {
	if p.peek() != tWord {
		return false
	}
	w := p.toks[p.i+1].text
	return !knownNoun(w) && (isVerbForm(w) || isEdVerb(w) || isIngVerb(w))
}

// coordinated reports whether the tokens after the current one continue a
// list of modifiers that ends in a noun, as in "a black, gold and white
// vase" or "a tan, clean bathroom": then a word like "gold" or "tan" is
// a colour, not the object. It looks at most maxList tokens ahead, so that
// parsing stays linear.
func (p *parser) coordinated() bool {
	modifiers := 0
	for _, t := range p.toks[p.i+1 : min(p.i+1+maxList, len(p.toks))] {
		switch t.kind {
		case tComma:
		case tConj:
			if t.text != "and" && t.text != "or" {
				return false
			}
		case tAttr, tAdj, tSize, tShade:
			modifiers++
		case tWord, tNoun:
			return modifiers > 0
		default:
			return false
		}
	}
	return false
}

// size reads a size word, which marks the phrase but binds nothing.
func (p *parser) size(t token, be bool) {
	if be && !p.np.open {
		return
	}
	if nounSizeWords[t.text] && !modifies(p.peek()) {
		p.addContent(t.text, false)
		return
	}
	p.np.open, p.np.sized = true, true
}

func (p *parser) addContent(w string, plain bool) {
	p.np.open = true
	p.np.content = append(p.np.content, w)
	p.np.plainLast = plain
}

// boundary ends the current phrase before a determiner, number or
// pronoun. A plain last word of several unknown ones is then a verb: in
// "the metallic spoon and wooden chopsticks stir the noodles", "stir".
func (p *parser) boundary() {
	np := &p.np
	n := len(np.content)
	if n == 0 {
		return
	}
	if last := np.content[n-1]; n > 1 && np.plainLast && (isVerbForm(last) || !knownNoun(last)) {
		np.content = np.content[:n-1]
		p.close(closePlain)
		p.setVerb(last, false)
		return
	}
	p.close(closePlain)
}

// setVerb records a verb, with the preposition that follows it when
// withPrep allows ("looking at").
func (p *parser) setVerb(w string, withPrep bool) {
	p.verbal, p.hasVerb = true, true
	if withPrep && p.i+1 < len(p.toks) {
		if next := p.toks[p.i+1]; next.kind == tPrep && next.text != "of" {
			w += " " + next.text
			p.i++
			p.afterTo = next.text == "to"
			p.prev = tPrep
		}
	}
	p.verb = w
	if linkingVerbs[w] {
		p.afterBe = true // "feeling inspired"
	}
}

// close ends the current noun phrase and emits its object, if it has one.
func (p *parser) close(how int) {
	np := p.np
	p.np = phrase{}
	if len(np.content) == 0 {
		switch {
		case how == closeList && np.hasAttrs():
			// "a black and white cat": black carries over to the cat.
			p.carry, p.carrying = np, true
		case how != closeList:
			p.carrying = false
		}
		return
	}
	head := np.content[len(np.content)-1]
	noun := Singular(head)
	if n := len(np.content); stopNouns[noun] && n > 1 && how != closeOf {
		// "the table top": the table.
		head = np.content[n-2]
		noun = Singular(head)
	}
	if how == closeOf {
		if n, ok := collectiveNouns[noun]; ok {
			// "a row of cubic boxes": the boxes, as many as the row says.
			if n > 0 {
				np.count, np.quantity, np.counted = n, true, true
			}
			p.carry, p.carrying = np, true
			return
		}
		if portionNouns[noun] {
			// "a triangular slice of cheese": triangular cheese.
			p.carry, p.carrying = np, true
			return
		}
	}
	if stopNouns[noun] {
		p.verb, p.carrying = "", false
		return
	}
	if p.skip {
		p.skip, p.verb = false, ""
		return
	}
	p.emit(np, noun, head != noun)
	if how == closeOf && containerNouns[noun] {
		p.skip = true // "a bottle of water": the bottle only
	}
}

// emit adds the object a phrase names and the relations waiting for it.
func (p *parser) emit(np phrase, noun string, plural bool) {
	if p.carrying {
		c := p.carry
		p.carrying = false
		np.colour = cmp.Or(np.colour, c.colour)
		np.shape = cmp.Or(np.shape, c.shape)
		np.texture = cmp.Or(np.texture, c.texture)
		np.sized = np.sized || c.sized
		if c.quantity {
			np.count, np.quantity, np.counted = c.count, true, np.counted || c.counted
		}
	}
	o := Object{Noun: noun, Count: 1, Colour: np.colour, Shape: np.shape, Texture: np.texture}
	switch {
	case np.quantity:
		o.Count = min(max(np.count, 1), maxCount)
	case plural:
		o.Count = 2
	}
	k := len(p.objects)
	p.objects = append(p.objects, o)
	if np.sized {
		p.sized++
	}
	p.numbered = p.numbered || np.counted
	switch {
	case p.rel != "":
		if p.relSubject >= 0 {
			p.relations = append(p.relations, Relation{Subject: p.relSubject, Predicate: p.rel, Object: k})
		}
	case p.verb != "" && p.subject >= 0:
		p.relations = append(p.relations, Relation{Subject: p.subject, Predicate: p.verb, Object: k})
	}
	p.rel, p.verb = "", ""
	if p.subject < 0 {
		p.subject = k
	}
	p.last = k
}

// endSentence closes the last phrase and forgets the sentence's context.
func (p *parser) endSentence() {
	p.close(closePlain)
	p.subject, p.last = -1, -1
	p.rel, p.verb, p.hasVerb = "", "", false
	p.carrying, p.skip = false, false
}

// category guesses the T2I-CompBench category from what was found, by
// the rules the package documentation lists.
func (p *parser) category() string {
	var colour, shape, texture bool
	for _, o := range p.objects {
		colour = colour || o.Colour != ""
		shape = shape || o.Shape != ""
		texture = texture || o.Texture != ""
	}
	if !colour && !shape && !texture && p.sized >= 2 {
		shape = true
	}
	var s2, s3 bool
	for _, r := range p.relations {
		s2 = s2 || relations2D[r.Predicate]
		s3 = s3 || relations3D[r.Predicate]
	}
	kinds := btoi(colour) + btoi(shape) + btoi(texture)
	switch {
	case kinds >= 2, kinds == 1 && (s2 || s3) && !p.verbal:
		return "complex"
	case colour:
		return "colour"
	case shape:
		return "shape"
	case texture:
		return "texture"
	case p.numbered:
		return "numeracy"
	case p.verbal:
		return "non_spatial"
	case s2 && s3:
		return "complex"
	case s3:
		return "3d_spatial"
	case s2:
		return "spatial"
	}
	return "other"
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
