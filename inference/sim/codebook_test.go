package sim

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTokenFields(t *testing.T) {
	for id := int32(0); id < CodebookSize; id++ {
		if got := Split(id).ID(); got != id {
			t.Fatalf("Split(%d).ID() = %d, want %d", id, got, id)
		}
	}
	tests := []struct {
		name string
		tok  Token
		want int32
	}{
		{"placeholder", Token{}, Placeholder},
		{"class only", Token{Class: 1}, 256},
		{"all fields", Token{Class: 2, Colour: 3, Attribute: 4}, 2<<8 | 3<<4 | 4},
		{"largest", Token{Class: MaxClass, Colour: MaxColour, Attribute: MaxAttribute}, CodebookSize - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.ID(); got != tt.want {
				t.Errorf("%+v.ID() = %d, want %d", tt.tok, got, tt.want)
			}
		})
	}
}

func TestVocabularyCodes(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"first colour", ColourCode("red"), 1},
		{"no colour", ColourCode(""), 0},
		{"unknown colour", ColourCode("zebra"), 0},
		{"first shape", AttributeCode("round", ""), 1},
		{"first texture", AttributeCode("", "wooden"), FirstTexture},
		{"shape wins", AttributeCode("round", "wooden"), 1},
		{"none", AttributeCode("", ""), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
	if c := ClassOf("apple"); c < 1 || c > MaxClass || c != ClassOf("apple") {
		t.Errorf("ClassOf(apple) = %d, want a stable class in 1..%d", c, MaxClass)
	}
}

func TestFillsDistinct(t *testing.T) {
	colours := map[rgb]bool{}
	for class := range fills {
		for _, f := range fills[class] {
			colours[f], colours[markOf(f)] = true, true
		}
	}
	if len(colours) > 256 {
		t.Errorf("the codebook draws %d colours, more than a palette holds", len(colours))
	}
	for class := range fills {
		for c, f := range fills[class] {
			if i := slices.Index(fills[class][:], f); i != c {
				t.Errorf("class %d: colours %d and %d share fill %v", class, i, c, f)
			}
			if markOf(f) == f {
				t.Errorf("class %d colour %d: mark equals fill %v", class, c, f)
			}
		}
	}
}

func randomTokens(rng *rand.Rand, n int) []int32 {
	toks := make([]int32, n)
	for i := range toks {
		toks[i] = rng.Int32N(CodebookSize)
	}
	return toks
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		geo  Geometry
	}{
		{"default", Geometry{}},
		{"small patches", Geometry{ImageSize: 96, PatchSize: 8}},
		{"one patch", Geometry{ImageSize: 16, PatchSize: 16}},
		{"large patches", Geometry{ImageSize: 256, PatchSize: 32}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 {
				want := randomTokens(rng, tt.geo.Tokens())
				img, err := tt.geo.Render(want)
				if err != nil {
					t.Fatal(err)
				}
				got, err := tt.geo.Encode(img)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("Encode(Render(tokens)) differs from tokens")
				}
				again, _ := tt.geo.Render(want)
				if !bytes.Equal(again, img) {
					t.Errorf("Render is not deterministic")
				}
			}
		})
	}
	// Every token of the codebook, at least once.
	g := DefaultGeometry()
	for start := 0; start < CodebookSize; start += g.Tokens() {
		want := make([]int32, g.Tokens())
		for i := range want {
			want[i] = int32((start + i) % CodebookSize)
		}
		img, err := g.Render(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := g.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("tokens %d..: round trip differs", start)
		}
	}
}

func TestPlaceholderIsBeige(t *testing.T) {
	g := DefaultGeometry()
	data, err := g.Render(make([]int32, g.Tokens()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := color.RGBA{232, 220, 192, 255}
	for y := range g.ImageSize {
		for x := range g.ImageSize {
			if got := color.RGBAModel.Convert(img.At(x, y)); got != want {
				t.Fatalf("pixel (%d,%d) = %v, want beige %v", x, y, got, want)
			}
		}
	}
}

func TestRenderRejects(t *testing.T) {
	g := DefaultGeometry()
	full := func(edit func([]int32)) []int32 {
		toks := make([]int32, g.Tokens())
		edit(toks)
		return toks
	}
	tests := []struct {
		name   string
		geo    Geometry
		tokens []int32
	}{
		{"too few tokens", g, make([]int32, g.Tokens()-1)},
		{"too many tokens", g, make([]int32, g.Tokens()+1)},
		{"no tokens", g, nil},
		{"negative id", g, full(func(t []int32) { t[5] = -1 })},
		{"id past the codebook", g, full(func(t []int32) { t[575] = CodebookSize })},
		{"patch not a multiple of 4", Geometry{ImageSize: 60, PatchSize: 6}, make([]int32, 100)},
		{"image not a multiple of the patch", Geometry{ImageSize: 100, PatchSize: 16}, make([]int32, 36)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.geo.Render(tt.tokens); err == nil {
				t.Errorf("Render succeeded, want an error")
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	g := DefaultGeometry()
	good, err := g.Render(randomTokens(rand.New(rand.NewPCG(3, 4)), g.Tokens()))
	if err != nil {
		t.Fatal(err)
	}
	encodePNG := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	tampered := func(x, y int) []byte {
		img, _ := png.Decode(bytes.NewReader(good))
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, image.Point{}, draw.Src)
		c := rgba.RGBAAt(x, y)
		c.R ^= 1
		rgba.SetRGBA(x, y, c)
		return encodePNG(rgba)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"not a png", []byte("canvas-1234")},
		{"empty", nil},
		{"wrong size", encodePNG(image.NewRGBA(image.Rect(0, 0, 100, 100)))},
		{"one pixel off in a mark cell", tampered(1, 1)},
		{"one pixel off in the fill cell", tampered(383, 383)},
		{"transparent", encodePNG(image.NewNRGBA(image.Rect(0, 0, 384, 384)))},
		{"transparent palette", encodePNG(image.NewPaletted(image.Rect(0, 0, 384, 384), color.Palette{color.NRGBA{232, 220, 192, 0}}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Encode(tt.data)
			if !errors.Is(err, ErrNotCanvas) {
				t.Errorf("Encode error = %v, want ErrNotCanvas", err)
			}
		})
	}
}

func TestBandRows(t *testing.T) {
	g := DefaultGeometry()
	tests := []struct {
		name       string
		k, K       int
		start, end int
	}{
		{"first of three", 0, 3, 0, 8},
		{"last of three", 2, 3, 16, 24},
		{"last of five takes the rest", 4, 5, 16, 24},
		{"second of five", 1, 5, 4, 8},
		{"whole", 0, 1, 0, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := g.BandRows(tt.k, tt.K)
			if start != tt.start || end != tt.end {
				t.Errorf("BandRows(%d, %d) = [%d,%d), want [%d,%d)", tt.k, tt.K, start, end, tt.start, tt.end)
			}
		})
	}
}
