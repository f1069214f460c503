package dedup

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
)

// NumHashes is the number of MinHash values in a [Signature].
const NumHashes = 128

// Signature is a prompt's MinHash signature.
type Signature [NumHashes]uint32

// shingleSize is the length of the character shingles, in runes.
const shingleSize = 4

// LSH banding: bands*rows = NumHashes. A pair with Jaccard s becomes a
// candidate with probability 1-(1-s^rows)^bands: 0.87 at 0.5, 0.99 at 0.6.
const (
	bands = 32
	rows  = NumHashes / bands
)

// hashA and hashB are the fixed multipliers (odd) and offsets of the
// NumHashes hash functions h_i(x) = (a_i*x + b_i) >> 32.
var hashA, hashB = func() (a, b [NumHashes]uint64) {
	s := uint64(0x7477_6967_6465_6475) // "twigdedu"
	for i := range a {
		a[i] = splitmix(&s) | 1
		b[i] = splitmix(&s)
	}
	return a, b
}()

func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	return mix(*s)
}

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Canonical returns the text dedup compares: s in lower case, with every
// run of characters that are not letters or digits collapsed to one space
// and no leading or trailing space.
func Canonical(s string) string {
	return strings.Join(words(s), " ")
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// PromptSignature returns the MinHash signature of the character 4-grams
// of the prompt's [Canonical] text (the whole text when it is shorter).
func PromptSignature(normalized string) Signature {
	return signature(Canonical(normalized))
}

func signature(c string) Signature {
	var sig Signature
	for i := range sig {
		sig[i] = math.MaxUint32
	}
	// Byte offsets of the rune starts, to cut shingles of shingleSize runes.
	starts := make([]int, 0, len(c)+1)
	for i := range c {
		starts = append(starts, i)
	}
	starts = append(starts, len(c))
	n := len(starts) - 1 - shingleSize + 1
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		end := starts[min(i+shingleSize, len(starts)-1)]
		h := mix(fnv64(c[starts[i]:end]))
		for j := range sig {
			if v := uint32((hashA[j]*h + hashB[j]) >> 32); v < sig[j] {
				sig[j] = v
			}
		}
	}
	return sig
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Jaccard estimates the Jaccard similarity of the shingle sets behind two
// signatures: the share of equal MinHash values.
func Jaccard(a, b Signature) float64 {
	return agreement((*[NumHashes]uint32)(&a), (*[NumHashes]uint32)(&b))
}

// agreement is the share of equal values of two signatures.
func agreement[T uint16 | uint32](a, b *[NumHashes]T) float64 {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return float64(n) / NumHashes
}

// prompt is one distinct prompt. It keeps the low 16 bits of its MinHash
// values (b-bit MinHash: two values agree by chance with probability
// 2^-16, which moves an estimate by about 10^-5) and recomputes its word
// lists only for the prompts that come close to another.
type prompt struct {
	sig   [NumHashes]uint16
	words int32  // content words (articles left out)
	first int32  // first item with this prompt; next chains the rest
	text  string // the normalised prompt, as given
	minID string // smallest ID of the items with this prompt
}

func (p *prompt) bandKey(b int) uint64 {
	h := uint64(b)
	for _, v := range p.sig[b*rows : (b+1)*rows] {
		h = mix(h ^ uint64(v))
	}
	return h
}

// detail is what the word-by-word comparison needs of a prompt.
type detail struct {
	joined  string   // the canonical words with no space
	content []string // the canonical words but articles
}

func newDetail(text string) detail {
	w := words(text)
	return detail{joined: strings.Join(w, ""), content: content(w)}
}

// FindPrompts returns the prompt near-duplicates among items, by item ID
// (see the package documentation for the rule).
func FindPrompts(items []Item, opt Options) map[string]Duplicate {
	opt = opt.withDefaults()
	byText := map[string]int32{}
	ps := make([]prompt, 0, len(items)) // at most one per item; growing would hold two copies
	next := make([]int32, len(items))
	for i, it := range items {
		k, ok := byText[it.Prompt]
		if !ok {
			k = int32(len(ps))
			byText[it.Prompt] = k
			ps = append(ps, prompt{text: it.Prompt, minID: it.ID, first: -1})
		}
		p := &ps[k]
		next[i], p.first = p.first, int32(i)
		if it.ID < p.minID {
			p.minID = it.ID
		}
	}
	byText = nil
	u := newUnionFind(len(ps))
	// Prompts with the same text once spaces are dropped are cosmetic
	// duplicates outright (by hash of that text; equal hashes are checked,
	// and a colliding pair is left to the comparison below).
	byJoined := map[uint64]int32{}
	for i := range ps {
		p := &ps[i]
		w := words(p.text)
		sig := signature(strings.Join(w, " "))
		for j, v := range sig {
			p.sig[j] = uint16(v)
		}
		p.words = int32(len(content(w)))
		joined := strings.Join(w, "")
		h := fnv64(joined)
		if k, ok := byJoined[h]; !ok {
			byJoined[h] = int32(i)
		} else if newDetail(ps[k].text).joined == joined {
			u.union(k, int32(i))
		}
	}
	byJoined = nil
	// Word lists of the prompts that come close to another, kept while
	// the bands are scanned.
	details := map[int32]*detail{}
	get := func(i int32) *detail {
		d, ok := details[i]
		if !ok {
			v := newDetail(ps[i].text)
			d = &v
			details[i] = d
		}
		return d
	}
	// Otherwise cosmetic needs as many content words: candidates share a
	// band and a content word count.
	type entry struct {
		key   uint64
		words int32
		idx   int32
	}
	keys := make([]entry, len(ps))
	for b := range bands {
		for i := range ps {
			keys[i] = entry{ps[i].bandKey(b), ps[i].words, int32(i)}
		}
		slices.SortFunc(keys, func(x, y entry) int {
			return cmp.Or(cmp.Compare(x.key, y.key), cmp.Compare(x.words, y.words))
		})
		for lo := 0; lo < len(keys); {
			hi := lo + 1
			for hi < len(keys) && keys[hi].key == keys[lo].key && keys[hi].words == keys[lo].words {
				hi++
			}
			for x := lo; x < hi; x++ {
				for y := x + 1; y < hi; y++ {
					i, j := keys[x].idx, keys[y].idx
					if u.find(i) == u.find(j) || agreement(&ps[i].sig, &ps[j].sig) < opt.PromptThreshold {
						continue
					}
					if cosmetic(get(i), get(j)) {
						u.union(i, j)
					}
				}
			}
			lo = hi
		}
	}
	// The representative of each cluster is the prompt with the smallest ID.
	rep := map[int32]int32{}
	for i, p := range ps {
		r := u.find(int32(i))
		if cur, ok := rep[r]; !ok || p.minID < ps[cur].minID {
			rep[r] = int32(i)
		}
	}
	out := map[string]Duplicate{}
	for i := range ps {
		k := rep[u.find(int32(i))]
		if k == int32(i) {
			continue
		}
		sim := agreement(&ps[i].sig, &ps[k].sig)
		for it := ps[i].first; it >= 0; it = next[it] {
			out[items[it].ID] = Duplicate{Kind: KindPrompt, Kept: ps[k].minID, Similarity: sim}
		}
	}
	return out
}

var articles = map[string]bool{"a": true, "an": true, "the": true}

// cosmetic reports whether two prompts' words differ only cosmetically:
// in spacing, articles, singular/plural and at most one typo.
func cosmetic(p, q *detail) bool {
	if p.joined == q.joined {
		return true
	}
	a, b := p.content, q.content
	if len(a) != len(b) {
		return false
	}
	typos := 0
	for i := range a {
		switch {
		case samePlural(a[i], b[i]):
		case typo(a[i], b[i]):
			if typos++; typos > 1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// content returns words without articles.
func content(ws []string) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if !articles[w] {
			out = append(out, w)
		}
	}
	return out
}

// samePlural reports whether a and b are the same word, or one is the
// regular plural of the other.
func samePlural(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	switch {
	case a == b, b == a+"s", b == a+"es":
		return true
	case strings.HasSuffix(a, "y") && b == a[:len(a)-1]+"ies":
		return true
	}
	return false
}

// typo reports whether a and b are one typo apart: two adjacent letters
// swapped (words of 3 letters or more), or one letter inserted, deleted or
// changed (words of 5 letters or more).
func typo(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	short := len(ra)
	switch len(rb) - len(ra) {
	case 0:
		var diff []int
		for i := range ra {
			if ra[i] != rb[i] {
				diff = append(diff, i)
			}
		}
		switch {
		case len(diff) == 1:
			return short >= 5
		case len(diff) == 2 && diff[1] == diff[0]+1 && ra[diff[0]] == rb[diff[1]] && ra[diff[1]] == rb[diff[0]]:
			return short >= 3
		}
		return false
	case 1:
		if short < 5 {
			return false
		}
		i := 0
		for i < len(ra) && ra[i] == rb[i] {
			i++
		}
		return string(ra[i:]) == string(rb[i+1:])
	}
	return false
}
