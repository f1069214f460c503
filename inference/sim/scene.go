package sim

import (
	"math/rand/v2"
	"slices"

	"github.com/twigdata/twig/annotators"
)

// item is one object to paint: its token fields and how many.
type item struct {
	Token
	Count int
}

// scene is what a sentence asks the painter for.
type scene struct {
	items     []item
	relations []annotators.Relation
	tone      int
}

// itemOf returns the token fields of an object.
func itemOf(o annotators.Object) item {
	return item{
		Token: Token{Class: ClassOf(o.Noun), Colour: ColourCode(o.Colour), Attribute: AttributeCode(o.Shape, o.Texture)},
		Count: max(o.Count, 1),
	}
}

// sceneOf reads a sentence: its objects, their relations, and the
// background tone of its first scenery word.
func sceneOf(parse func(string) annotators.Analysis, text string) scene {
	objs, rels := objectsOf(parse(text), false)
	sc := scene{relations: rels, tone: ToneNeutral}
	for _, o := range objs {
		sc.items = append(sc.items, itemOf(o))
	}
	for _, w := range words(text) {
		if t, ok := sceneryTones[w]; ok {
			sc.tone = t
			break
		}
	}
	return sc
}

// mistake is a kind of painting error.
type mistake int

const (
	mistakeMissing mistake = iota
	mistakeCount
	mistakeColour
	mistakeAttribute
)

func (m mistake) String() string {
	return [...]string{"missing object", "wrong count", "wrong colour", "wrong attribute"}[m]
}

// mistakes applies, to each object with probability q, one mistake the
// object can show: missing or wrong count always, wrong colour when it has
// a named colour, wrong shape or texture when it has one.
func (sc *scene) mistakes(rng *rand.Rand, q float64) []mistake {
	var made []mistake
	for i := range sc.items {
		it := &sc.items[i]
		if rng.Float64() >= q {
			continue
		}
		kinds := []mistake{mistakeMissing, mistakeCount}
		colours := min(len(annotators.Colours), MaxColour)
		if it.Colour > 0 && colours > 1 {
			kinds = append(kinds, mistakeColour)
		}
		if it.Attribute > 0 {
			kinds = append(kinds, mistakeAttribute)
		}
		k := kinds[rng.IntN(len(kinds))]
		switch k {
		case mistakeMissing:
			it.Count = 0
		case mistakeCount:
			if it.Count > 1 && rng.IntN(2) == 0 {
				it.Count--
			} else {
				it.Count++
			}
		case mistakeColour:
			it.Colour = other(rng, it.Colour, 1, colours)
		case mistakeAttribute:
			lo, hi := 1, min(len(annotators.Shapes), FirstTexture-1)
			if it.Attribute >= FirstTexture {
				lo, hi = FirstTexture, FirstTexture-1+min(len(annotators.Textures), MaxAttribute-FirstTexture+1)
			}
			if hi <= lo {
				lo, hi = 1, MaxAttribute
			}
			it.Attribute = other(rng, it.Attribute, lo, hi)
		}
		made = append(made, k)
	}
	return made
}

// other picks a value in [lo, hi] other than v.
func other(rng *rand.Rand, v, lo, hi int) int {
	n := rng.IntN(hi - lo)
	if lo+n >= v {
		n++
	}
	return lo + n
}

// Relation predicates the layout honours.
var (
	stackAbove = []string{"above", "behind", "hidden_by"}
	stackBelow = []string{"below", "in_front_of"}
)

// arrange puts the objects to paint (count > 0) into columns, left to
// right in mention order, each column a stack from the top down, then
// moves them to honour the relations: above, behind and hidden_by stack
// the subject over the object, below and in_front_of under it; left_of
// and right_of order the columns; next_to and verbs make them neighbours.
func arrange(sc scene) [][]int {
	var cols [][]int
	for i, it := range sc.items {
		if it.Count > 0 {
			cols = append(cols, []int{i})
		}
	}
	colOf := func(i int) int {
		for c, col := range cols {
			if slices.Contains(col, i) {
				return c
			}
		}
		return -1
	}
	// insert puts object i into the stack of column c, over or under j.
	insert := func(i, j int, over bool) {
		c := colOf(j)
		at := slices.Index(cols[c], j)
		if !over {
			at++
		}
		cols[c] = slices.Insert(cols[c], at, i)
	}
	for _, r := range sc.relations {
		over := slices.Contains(stackAbove, r.Predicate)
		if !over && !slices.Contains(stackBelow, r.Predicate) {
			continue
		}
		cs, co := colOf(r.Subject), colOf(r.Object)
		switch {
		case cs < 0 || co < 0 || cs == co:
		case len(cols[cs]) == 1:
			cols = slices.Delete(cols, cs, cs+1)
			insert(r.Subject, r.Object, over)
		case len(cols[co]) == 1:
			cols = slices.Delete(cols, co, co+1)
			insert(r.Object, r.Subject, !over)
		}
	}
	for _, r := range sc.relations {
		if slices.Contains(stackAbove, r.Predicate) || slices.Contains(stackBelow, r.Predicate) {
			continue
		}
		cs, co := colOf(r.Subject), colOf(r.Object)
		if cs < 0 || co < 0 || cs == co {
			continue
		}
		col := cols[cs]
		switch r.Predicate {
		case "left_of":
			if cs > co {
				cols = slices.Insert(slices.Delete(cols, cs, cs+1), co, col)
			}
		case "right_of":
			if cs < co {
				cols = slices.Insert(slices.Delete(cols, cs, cs+1), co, col)
			}
		default:
			if cs > co+1 {
				cols = slices.Insert(slices.Delete(cols, cs, cs+1), co+1, col)
			} else if cs < co-1 {
				cols = slices.Insert(slices.Delete(cols, cs, cs+1), co-1, col)
			}
		}
	}
	return cols
}

// layout paints a band of rows x cols tokens: background of the scene's
// tone, then each object as separate blobs, one per instance, never
// touching another blob, so that connected components count instances.
func layout(sc scene, rows, cols int, rng *rand.Rand) []int32 {
	toks := make([]int32, rows*cols)
	for i := range toks {
		shade := 0
		if rng.IntN(10) >= 7 {
			shade = 1 + rng.IntN(3)
		}
		toks[i] = Token{Colour: sc.tone, Attribute: shade}.ID()
	}
	columns := arrange(sc)
	if maxCols := (cols + 1) / 2; len(columns) > maxCols {
		columns = columns[:maxCols]
	}
	nc := len(columns)
	if nc == 0 {
		return toks
	}
	outer := 0
	if cols-(nc-1)-2 >= 2*nc {
		outer = 1
	}
	avail := cols - 2*outer - (nc - 1)
	top, height := 0, rows
	if rows >= 4 {
		top, height = 1, rows-2
	}
	x := outer
	for c, stack := range columns {
		w := avail / nc
		if c < avail%nc {
			w++
		}
		m := len(stack)
		if height >= 2*m-1 {
			// Stack from the top down.
			y := top
			for s, i := range stack {
				h := (height - (m - 1)) / m
				if s < (height-(m-1))%m {
					h++
				}
				blobs(toks, cols, sc.items[i], x, y, w, h, rng)
				y += h + 1
			}
		} else {
			// Too few rows to stack: side by side.
			m = min(m, (w+1)/2)
			xx := x
			for s, i := range stack[:m] {
				ww := (w - (m - 1)) / m
				if s < (w-(m-1))%m {
					ww++
				}
				blobs(toks, cols, sc.items[i], xx, top, ww, height, rng)
				xx += ww + 1
			}
		}
		x += w + 1
	}
	return toks
}

// blobs paints it.Count blobs of it in the cell (x, y, w, h), in a grid of
// slots one token apart.
func blobs(toks []int32, cols int, it item, x, y, w, h int, rng *rand.Rand) {
	n := it.Count
	a, b, size, waste := 0, 0, -1, 0
	for ca := 1; ca <= n; ca++ {
		cb := (n + ca - 1) / ca
		if 2*ca-1 > w || 2*cb-1 > h {
			continue
		}
		s := min((w-(ca-1))/ca, (h-(cb-1))/cb)
		if s > size || (s == size && ca*cb-n < waste) {
			a, b, size, waste = ca, cb, s, ca*cb-n
		}
	}
	if size < 0 { // more instances than fit: paint as many as fit
		a, b = (w+1)/2, (h+1)/2
		n = a * b
	}
	bw, bh := (w-(a-1))/a, (h-(b-1))/b
	bw, bh = min(bw, 2*bh+1), min(bh, 2*bw+1)
	ox := rng.IntN(w - (a*bw + a - 1) + 1)
	oy := rng.IntN(h - (b*bh + b - 1) + 1)
	id := it.ID()
	for k := range n {
		bx, by := x+ox+(k%a)*(bw+1), y+oy+(k/a)*(bh+1)
		for yy := range bh {
			for xx := range bw {
				corner := (xx == 0 || xx == bw-1) && (yy == 0 || yy == bh-1)
				if corner && bw >= 3 && bh >= 3 {
					continue
				}
				toks[(by+yy)*cols+bx+xx] = id
			}
		}
	}
}
