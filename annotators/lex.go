package annotators

import (
	"strconv"
	"strings"
	"unicode"
)

// kind is the word class of a token.
type kind uint8

const (
	tEnd   kind = iota // end of a sentence: . ! ? ; or the end of the prompt
	tComma             // , : brackets, quotes, dashes
	tConj              // and, or, while, ...
	tDet               // a, the, their, ...
	tNum               // one, 2, a dozen
	tQuant             // some, several, many
	tPrep              // of, in, with, ...
	tRel               // a spatial relation phrase: "on the left of"
	tBe                // is, are, ...
	tHave              // has, have, had
	tAux               // do, can, will, don't, ...
	tPron              // it, they, who, ...
	tAdv               // very, lazily, ...
	tAttr              // a colour, shape or texture word
	tSize              // big, small, tall, ...
	tShade             // light, dark, ... before a colour
	tAdj               // any other known adjective
	tNoun              // a compound noun: "teddy bear"
	tWord              // anything else: a noun or a verb
)

// token is a word, phrase or punctuation mark with its class.
type token struct {
	text string
	kind kind
	pred string    // the predicate, for tRel
	attr attribute // the attribute, for tAttr
	num  int       // the count, for tNum and tQuant
}

// tokenize splits a prompt into classified tokens. Relation phrases and
// compound nouns become single tokens.
func tokenize(prompt string) []token {
	raw := split(prompt)
	toks := make([]token, 0, len(raw))
	for i := 0; i < len(raw); {
		if n, pred := matchRelation(raw[i:]); n > 0 {
			toks = append(toks, token{text: strings.Join(raw[i:i+n], " "), kind: tRel, pred: pred})
			i += n
			continue
		}
		if n := matchCompound(raw[i:]); n > 0 {
			toks = append(toks, token{text: strings.Join(raw[i:i+n], " "), kind: tNoun})
			i += n
			continue
		}
		if i+1 < len(raw) && raw[i+1] == "shaped" && classify(raw[i]).kind >= tAttr {
			if t := classify(raw[i] + "-shaped"); t.kind != tWord {
				toks = append(toks, t)
				i += 2
				continue
			}
		}
		toks = append(toks, classify(raw[i]))
		i++
	}
	return toks
}

// split lower-cases a prompt and splits it into words and punctuation:
// "." for a sentence end and "," for any other break. Apostrophes and
// hyphens inside a word stay; a possessive "'s" goes.
func split(prompt string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		w := strings.Trim(b.String(), "'-")
		w = strings.TrimSuffix(w, "'s")
		w = strings.TrimRight(w, "'-")
		if w != "" {
			out = append(out, w)
		}
		b.Reset()
	}
	for _, r := range prompt {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’' || r == '‘':
			if b.Len() > 0 {
				b.WriteByte('\'')
			}
		case r == '-' || r == '‐' || r == '‑':
			if b.Len() > 0 {
				b.WriteByte('-')
			}
		case r == '.' || r == '!' || r == '?' || r == ';' || r == '…':
			flush()
			out = append(out, ".")
		case r == '&':
			flush()
			out = append(out, "and")
		case unicode.IsSpace(r) || r == '*' || r == '#' || r == '_' || r == '~':
			flush()
		default:
			// Commas, colons, brackets, quotes, dashes, slashes and any
			// other symbol break a noun phrase.
			flush()
			out = append(out, ",")
		}
	}
	flush()
	return out
}

// relationFirst and compoundFirst hold the first words of relation phrases
// and compound nouns, so that matching skips most positions at once.
var relationFirst, compoundFirst = firstWords(relationPhrases), firstWords(compounds)

func firstWords[V any](m map[string]V) map[string]bool {
	f := map[string]bool{}
	for k := range m {
		w, _, _ := strings.Cut(k, " ")
		f[w] = true
	}
	return f
}

// matchRelation returns the length in words and the predicate of the
// longest relation phrase that starts ws, or 0.
func matchRelation(ws []string) (int, string) {
	if !relationFirst[ws[0]] {
		return 0, ""
	}
	for n := min(maxPhrase, len(ws)); n > 0; n-- {
		if pred, ok := relationPhrases[strings.Join(ws[:n], " ")]; ok {
			return n, pred
		}
	}
	return 0, ""
}

// matchCompound returns the length in words of the longest compound noun
// that starts ws, with its last word singular or plural, or 0.
func matchCompound(ws []string) int {
	if !compoundFirst[ws[0]] {
		return 0
	}
	for n := min(maxPhrase, len(ws)); n > 1; n-- {
		if compounds[strings.Join(ws[:n-1], " ")+" "+Singular(ws[n-1])] {
			return n
		}
	}
	return 0
}

// classify gives a single word its class.
func classify(w string) token {
	t := token{text: w, kind: tWord}
	if n, ok := numbers[w]; ok {
		t.kind, t.num = tNum, n
		return t
	}
	if n, ok := quantifiers[w]; ok {
		t.kind, t.num = tQuant, n
		return t
	}
	if a, ok := attributes[w]; ok {
		t.kind, t.attr = tAttr, a
		return t
	}
	switch {
	case w == ".":
		t.kind = tEnd
	case w == ",":
		t.kind = tComma
	case isDigits(w):
		t.kind, t.num = tNum, maxCount
		if n, err := strconv.Atoi(w); err == nil && n < maxCount {
			t.num = n
		}
	case determiners[w]:
		t.kind = tDet
	case conjunctions[w]:
		t.kind = tConj
	case beForms[w]:
		t.kind = tBe
	case haveForms[w]:
		t.kind = tHave
	case auxiliaries[w] || strings.HasSuffix(w, "n't"):
		t.kind = tAux
	case prepositions[w]:
		t.kind = tPrep
	case pronouns[w]:
		t.kind = tPron
	case sizeWords[w]:
		t.kind = tSize
	case shadeWords[w]:
		t.kind = tShade
	case strings.HasSuffix(w, "-shaped"):
		// "diamond-shaped", "round-shaped": the shape of the first part.
		first := strings.TrimSuffix(w, "-shaped")
		if a, ok := attributes[first]; ok && a.kind == kindShape {
			t.kind, t.attr = tAttr, attribute{kind: kindShape, canon: a.canon}
		} else {
			t.kind = tSize
		}
	case isAdverb(w):
		t.kind = tAdv
	case isAdjective(w):
		t.kind = tAdj
	}
	return t
}

func isDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}
