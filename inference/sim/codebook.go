package sim

import (
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/twigdata/twig/annotators"
)

// Codebook layout: a token id packs three fields, 6+4+4 bits.
const (
	// CodebookSize is the number of image tokens, 1<<14.
	CodebookSize = 1 << (ClassBits + ColourBits + AttributeBits)
	// Placeholder is token 0: a position not generated yet. It renders as a
	// flat beige patch, and the painter never emits it.
	Placeholder int32 = 0

	// ClassBits, ColourBits and AttributeBits are the widths of the fields.
	ClassBits     = 6
	ColourBits    = 4
	AttributeBits = 4

	// MaxClass, MaxColour and MaxAttribute are the largest field values.
	MaxClass     = 1<<ClassBits - 1
	MaxColour    = 1<<ColourBits - 1
	MaxAttribute = 1<<AttributeBits - 1

	// FirstTexture is the attribute code of the first texture; codes
	// 1..FirstTexture-1 are shapes.
	FirstTexture = 8
)

// Token is an image token split into its fields.
type Token struct {
	// Class is 0 for background and scenery, 1..63 for an object class
	// (see ClassOf).
	Class int
	// Colour is 0 for an object's natural colour (or, for background, the
	// placeholder tone), 1..15 a named colour in annotators.Colours order
	// (see ColourCode). For background (Class 0) it is the scenery tone
	// (see the Tone* constants).
	Colour int
	// Attribute is 0 for none, 1..7 a shape, 8..15 a texture (see
	// AttributeCode). For background it is a small shade variation.
	Attribute int
}

// ID packs t into a token id. Fields out of range are masked.
func (t Token) ID() int32 {
	return int32(t.Class&MaxClass)<<(ColourBits+AttributeBits) |
		int32(t.Colour&MaxColour)<<AttributeBits |
		int32(t.Attribute&MaxAttribute)
}

// Split unpacks a token id. It does not check the range; see Valid.
func Split(id int32) Token {
	return Token{
		Class:     int(id>>(ColourBits+AttributeBits)) & MaxClass,
		Colour:    int(id>>AttributeBits) & MaxColour,
		Attribute: int(id) & MaxAttribute,
	}
}

// Valid reports whether id is in the codebook.
func Valid(id int32) bool { return id >= 0 && id < CodebookSize }

// ClassOf returns the object class of a noun: FNV-1a of the noun, folded
// into 1..63. Different nouns may share a class.
func ClassOf(noun string) int {
	h := fnv.New32a()
	h.Write([]byte(noun))
	return 1 + int(h.Sum32()%MaxClass)
}

// ColourCode returns the colour code of a colour name: 1 + its index in
// annotators.Colours (folded into 1..15 should the list grow past 15), or
// 0 for "" and names not in the list.
func ColourCode(name string) int {
	i := slices.Index(annotators.Colours, name)
	if name == "" || i < 0 {
		return 0
	}
	return 1 + i%MaxColour
}

// AttributeCode returns the attribute code of an object: its shape if it
// has one (1 + index in annotators.Shapes, folded into 1..7), else its
// texture (8 + index in annotators.Textures, folded into 8..15), else 0.
// An object with both keeps only the shape: the codebook has one attribute
// field.
func AttributeCode(shape, texture string) int {
	if i := slices.Index(annotators.Shapes, shape); shape != "" && i >= 0 {
		return 1 + i%(FirstTexture-1)
	}
	if i := slices.Index(annotators.Textures, texture); texture != "" && i >= 0 {
		return FirstTexture + i%(MaxAttribute-FirstTexture+1)
	}
	return 0
}

// Scenery tones: the Colour field of background tokens.
const (
	TonePlaceholder = iota // beige, only in the placeholder token
	ToneNeutral
	ToneSky
	ToneGrass
	ToneWater
	ToneSand
	ToneSnow
	ToneRoad
	ToneWall
	ToneFloor
	ToneTable
	ToneForest
	ToneNight
	ToneSunset
	ToneIndoor
	ToneStone
)

var toneRGB = [MaxColour + 1]rgb{
	TonePlaceholder: {232, 220, 192},
	ToneNeutral:     {214, 214, 208},
	ToneSky:         {172, 204, 236},
	ToneGrass:       {138, 184, 110},
	ToneWater:       {104, 150, 196},
	ToneSand:        {226, 206, 160},
	ToneSnow:        {240, 244, 250},
	ToneRoad:        {120, 120, 126},
	ToneWall:        {204, 194, 180},
	ToneFloor:       {176, 146, 116},
	ToneTable:       {160, 122, 88},
	ToneForest:      {80, 118, 80},
	ToneNight:       {48, 54, 84},
	ToneSunset:      {238, 176, 128},
	ToneIndoor:      {210, 200, 190},
	ToneStone:       {168, 164, 156},
}

// sceneryTones maps scenery words to background tones.
var sceneryTones = map[string]int{
	"sky": ToneSky, "skies": ToneSky, "cloud": ToneSky, "clouds": ToneSky, "air": ToneSky,
	"grass": ToneGrass, "lawn": ToneGrass, "field": ToneGrass, "meadow": ToneGrass, "park": ToneGrass, "garden": ToneGrass,
	"water": ToneWater, "sea": ToneWater, "ocean": ToneWater, "lake": ToneWater, "river": ToneWater, "pool": ToneWater, "pond": ToneWater,
	"sand": ToneSand, "beach": ToneSand, "desert": ToneSand,
	"snow": ToneSnow, "ice": ToneSnow, "snowy": ToneSnow,
	"road": ToneRoad, "street": ToneRoad, "highway": ToneRoad, "pavement": ToneRoad, "sidewalk": ToneRoad,
	"wall": ToneWall, "walls": ToneWall,
	"floor": ToneFloor, "carpet": ToneFloor, "rug": ToneFloor,
	"table": ToneTable, "desk": ToneTable, "counter": ToneTable, "shelf": ToneTable,
	"forest": ToneForest, "woods": ToneForest, "jungle": ToneForest, "trees": ToneForest,
	"night": ToneNight, "dark": ToneNight, "stars": ToneNight,
	"sunset": ToneSunset, "sunrise": ToneSunset, "dusk": ToneSunset, "dawn": ToneSunset,
	"room": ToneIndoor, "kitchen": ToneIndoor, "bedroom": ToneIndoor, "office": ToneIndoor, "indoors": ToneIndoor,
	"mountain": ToneStone, "mountains": ToneStone, "rock": ToneStone, "rocks": ToneStone, "stone": ToneStone, "city": ToneStone,
}

type rgb [3]uint8

// namedRGB holds how colour names look. Names in annotators.Colours that
// are not here get a hashed tone.
var namedRGB = map[string]rgb{
	"red": {204, 36, 36}, "orange": {240, 136, 24}, "yellow": {244, 212, 40}, "green": {52, 164, 64},
	"blue": {40, 84, 204}, "purple": {128, 52, 164}, "pink": {244, 148, 188}, "brown": {128, 80, 40},
	"black": {24, 24, 24}, "white": {248, 248, 248}, "gray": {128, 128, 128}, "grey": {128, 128, 128},
	"silver": {192, 192, 204}, "gold": {212, 176, 56}, "golden": {212, 176, 56}, "beige": {224, 208, 168},
	"cyan": {40, 200, 220}, "teal": {24, 128, 128}, "navy": {20, 36, 100}, "maroon": {120, 20, 36},
	"violet": {148, 96, 220}, "magenta": {220, 40, 180}, "tan": {200, 168, 120}, "turquoise": {56, 208, 192},
	"olive": {120, 124, 40}, "cream": {250, 240, 210}, "khaki": {196, 184, 128}, "indigo": {72, 40, 140},
	"crimson": {180, 20, 52}, "lime": {150, 220, 60}, "bronze": {176, 116, 52}, "copper": {184, 100, 60},
}

// fills[class][colour] is the fill colour of a patch. Within a class the 16
// fills are distinct, so a patch's fill gives its colour back.
var fills = buildFills()

func buildFills() *[MaxClass + 1][MaxColour + 1]rgb {
	var named [MaxColour + 1]rgb
	for c := 1; c <= MaxColour; c++ {
		named[c] = hashedRGB(fmt.Sprintf("colour-%d", c), 40, 220)
	}
	for i, name := range annotators.Colours {
		if i >= MaxColour {
			break
		}
		if v, ok := namedRGB[name]; ok {
			named[1+i] = v
		} else {
			named[1+i] = hashedRGB("colour-"+name, 40, 220)
		}
	}
	f := new([MaxClass + 1][MaxColour + 1]rgb)
	f[0] = toneRGB
	for class := 1; class <= MaxClass; class++ {
		f[class] = named
		// A natural tone: muted, earthy, different per class.
		f[class][0] = hashedRGB(fmt.Sprintf("natural-%d", class), 70, 190)
	}
	for class := range f {
		distinct(&f[class])
	}
	return f
}

// distinct nudges entries until all of p differ.
func distinct(p *[MaxColour + 1]rgb) {
	for i := range p {
		for slices.Contains(p[:i], p[i]) {
			p[i][0] += 7
			p[i][1] += 3
		}
	}
}

func hashedRGB(key string, lo, hi int) rgb {
	h := fnv.New32a()
	h.Write([]byte(key))
	v := h.Sum32()
	span := uint32(hi - lo + 1)
	return rgb{uint8(lo + int(v%span)), uint8(lo + int((v>>10)%span)), uint8(lo + int((v>>20)%span))}
}

// markOf is the colour of a marked cell on fill f: darker on light fills,
// lighter on dark ones, never equal to f.
func markOf(f rgb) rgb {
	lum := 299*int(f[0]) + 587*int(f[1]) + 114*int(f[2])
	var m rgb
	for i, v := range f {
		if lum >= 110_000 {
			m[i] = uint8(int(v) * 3 / 5)
		} else {
			m[i] = uint8(int(v) + (255-int(v))*2/5)
		}
	}
	return m
}

// Mark cells: a patch is a 4x4 grid of cells, numbered in raster order.
// Cells 0..5 carry the class bits (least significant first), cells 6..9
// the attribute bits; a set bit is a marked cell. Cells 10..15 are never
// marked, and cell 15 gives the fill back when encoding.
const (
	cellsPerSide  = 4
	classCell     = 0
	attributeCell = classCell + ClassBits
	usedCells     = attributeCell + AttributeBits
	fillCell      = cellsPerSide*cellsPerSide - 1
)

// marks returns the marked cells of a token as a 16-bit set.
func marks(t Token) uint16 {
	return uint16(t.Class)<<classCell | uint16(t.Attribute)<<attributeCell
}
