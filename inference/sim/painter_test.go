package sim

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
)

// testPainter returns a painter reading sentences with parse.
func testPainter(rate float64, parse func(string) annotators.Analysis) *Painter {
	p := NewPainter(PainterConfig{MistakeRate: rate})
	p.parse = parse
	return p
}

// band generates region k of 3 after k empty-ish earlier regions.
func band(t testing.TB, p *Painter, prefix string, k int, seed int64) []int32 {
	t.Helper()
	grid := p.Geometry().Grid()
	rows := grid / 3
	prior := make([]int32, k*rows*grid)
	for i := range prior {
		prior[i] = Token{Colour: ToneNeutral}.ID()
	}
	resp, err := p.Generate(context.Background(), inference.GenerateRequest{
		Prefix: prefix, Prior: prior, N: rows * grid, CFG: 5, Temperature: 1, TopP: 1, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Tokens
}

func TestGenerateValidates(t *testing.T) {
	p := NewPainter(DefaultPainterConfig())
	grid := p.Geometry().Grid()
	ok := inference.GenerateRequest{Prefix: "A red apple.", N: 8 * grid, CFG: 5, Temperature: 1, TopP: 1}
	tests := []struct {
		name string
		edit func(*inference.GenerateRequest)
	}{
		{"prior not on a row", func(r *inference.GenerateRequest) { r.Prior = make([]int32, 5) }},
		{"n not whole rows", func(r *inference.GenerateRequest) { r.N = 100 }},
		{"n zero", func(r *inference.GenerateRequest) { r.N = 0 }},
		{"past the canvas", func(r *inference.GenerateRequest) { r.Prior = make([]int32, 20*grid) }},
		{"prior token outside the codebook", func(r *inference.GenerateRequest) { r.Prior = make([]int32, grid); r.Prior[3] = CodebookSize }},
		{"negative temperature", func(r *inference.GenerateRequest) { r.Temperature = -1 }},
		{"top-p above one", func(r *inference.GenerateRequest) { r.TopP = 1.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.edit(&req)
			if _, err := p.Generate(context.Background(), req); err == nil {
				t.Errorf("Generate succeeded, want an error")
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		for _, prior := range []int{0, 8 * grid, 16 * grid} {
			req := ok
			req.Prior = make([]int32, prior)
			resp, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatalf("prior %d: %v", prior, err)
			}
			if len(resp.Tokens) != req.N || slices.Contains(resp.Tokens, Placeholder) {
				t.Errorf("prior %d: got %d tokens (placeholder present: %v), want %d without placeholder",
					prior, len(resp.Tokens), slices.Contains(resp.Tokens, Placeholder), req.N)
			}
			if resp.Model != DefaultPainterModel {
				t.Errorf("model %q, want %q", resp.Model, DefaultPainterModel)
			}
			if want := int32(3 + prior); resp.Usage.InputTokens != want || resp.Usage.OutputTokens != int32(req.N) {
				t.Errorf("usage %+v, want input %d output %d", resp.Usage, want, req.N)
			}
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.Generate(ctx, ok); err == nil {
			t.Errorf("Generate succeeded on a cancelled context")
		}
	})
}

func TestGeneratePaints(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		noun   string
		colour string
		shape  string
		count  int
	}{
		{"one red apple", "A red apple.", "apple", "red", "", 1},
		{"three blue cups", "There are three blue cups.", "cup", "blue", "", 3},
		{"seven cats", "Seven cats are clearly visible.", "cat", "", "", 7},
		{"last sentence only", "The background is plain. Two green trains are shown clearly.", "train", "green", "", 2},
		{"shape", "A cubic box is clearly visible.", "box", "", "cubic", 1},
	}
	p := testPainter(0, miniParse)
	grid := p.Geometry().Grid()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k := range 3 {
				for seed := range int64(20) {
					toks := band(t, p, tt.prefix, k, seed)
					got := objectsIn(toks, grid, 0, len(toks)/grid)
					comps := got[ClassOf(tt.noun)]
					if len(comps) != tt.count {
						t.Fatalf("region %d seed %d: %d %s, want %d", k, seed, len(comps), tt.noun, tt.count)
					}
					for _, c := range comps {
						if c.Colour != ColourCode(tt.colour) || c.Attribute != AttributeCode(tt.shape, "") {
							t.Errorf("region %d seed %d: %s painted %+v, want colour %q shape %q", k, seed, tt.noun, c.Token, tt.colour, tt.shape)
						}
					}
					if len(got) != 1 {
						t.Errorf("region %d seed %d: %d classes painted, want 1", k, seed, len(got))
					}
				}
			}
		})
	}
	t.Run("no object", func(t *testing.T) {
		toks := band(t, p, "The background is plain and softly lit.", 0, 1)
		if got := objectsIn(toks, grid, 0, len(toks)/grid); len(got) != 0 {
			t.Errorf("painted %d object classes, want none", len(got))
		}
	})
	t.Run("scenery tone", func(t *testing.T) {
		toks := band(t, p, "A red kite flies in the sky.", 0, 1)
		for _, id := range toks {
			if tok := Split(id); tok.Class == 0 && tok.Colour != ToneSky {
				t.Fatalf("background token %+v, want the sky tone %d", tok, ToneSky)
			}
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		a, b := band(t, p, "Two red apples.", 1, 7), band(t, p, "Two red apples.", 1, 7)
		c := band(t, p, "Two red apples.", 1, 8)
		if !slices.Equal(a, b) {
			t.Errorf("same request, different tokens")
		}
		if slices.Equal(a, c) {
			t.Errorf("different seeds, same tokens")
		}
	})
}

func TestGenerateRelations(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		// first and second must be left of (or above) one another.
		first, second string
		vertical      bool
	}{
		{"left of", "A green bench stands on the left of a blue bowl.", "bench", "bowl", false},
		{"right of", "A green bench stands on the right of a blue bowl.", "bowl", "bench", false},
		{"right of in mention order", "A cat, a dog and a bee are shown, with a fox on the right of a cow.", "cow", "fox", false},
		{"above", "A red kite is above a green house.", "kite", "house", true},
		{"below", "A red ball is below a blue table.", "table", "ball", true},
		{"behind", "A cat sits behind a boy.", "cat", "boy", true},
		{"in front of", "A dog stands in front of a desk.", "desk", "dog", true},
	}
	p := testPainter(0, miniParse)
	grid := p.Geometry().Grid()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range int64(30) {
				toks := band(t, p, tt.prefix, 1, seed)
				ax0, ax1, ay0, ay1 := extent(toks, grid, ClassOf(tt.first))
				bx0, bx1, by0, by1 := extent(toks, grid, ClassOf(tt.second))
				if ax1 < 0 || bx1 < 0 {
					t.Fatalf("seed %d: %s or %s not painted", seed, tt.first, tt.second)
				}
				if !tt.vertical && ax1 >= bx0 {
					t.Errorf("seed %d: %s in columns %d..%d, %s in %d..%d; want %s left of %s", seed, tt.first, ax0, ax1, tt.second, bx0, bx1, tt.first, tt.second)
				}
				if tt.vertical && ay1 >= by0 {
					t.Errorf("seed %d: %s in rows %d..%d, %s in %d..%d; want %s above %s", seed, tt.first, ay0, ay1, tt.second, by0, by1, tt.first, tt.second)
				}
			}
		})
	}
}

func TestMistakeRate(t *testing.T) {
	const n = 4000
	tests := []struct {
		name        string
		rate        float64
		temperature float64
		cfg         float64
		topK        int
		want        float64
	}{
		{"default", 0.2, 1, 5, 0, 0.2},
		{"temperature zero", 0.2, 0, 5, 0, 0},
		{"greedy top-k", 0.2, 1, 5, 1, 0},
		{"stronger guidance", 0.2, 1, 10, 0, 0.1},
		{"hot", 0.2, 2, 5, 0, 0.4},
		{"weak guidance clamps", 0.5, 1, 0, 0, 1},
		{"rate zero", 0, 1, 5, 0, 0},
	}
	sentence := "A red round apple sits on the left of two green trains."
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPainter(tt.rate, miniParse)
			grid := p.Geometry().Grid()
			kinds := map[mistake]int{}
			objects := 0
			for seed := range int64(n) {
				req := inference.GenerateRequest{Prefix: sentence, N: 8 * grid, CFG: tt.cfg, Temperature: tt.temperature, TopK: tt.topK, TopP: 1, Seed: seed}
				if q := p.MistakeProbability(req); math.Abs(q-tt.want) > 1e-9 {
					t.Fatalf("MistakeProbability = %g, want %g", q, tt.want)
				}
				_, made := p.paint(req)
				objects += 2
				for _, m := range made {
					kinds[m]++
				}
			}
			total := 0
			for _, c := range kinds {
				total += c
			}
			got := float64(total) / float64(objects)
			if math.Abs(got-tt.want) > 0.02 {
				t.Errorf("mistake share %.3f over %d objects, want %.3f", got, objects, tt.want)
			}
			if tt.want > 0.1 && len(kinds) != 4 {
				t.Errorf("mistake kinds %v, want all four", kinds)
			}
			t.Logf("mistake share %.3f (want %.3f): %v", got, tt.want, kinds)
		})
	}
}

func TestDecode(t *testing.T) {
	p := NewPainter(PainterConfig{Model: "m"})
	tests := []struct {
		name    string
		tokens  []int32
		wantErr bool
	}{
		{"placeholder canvas", make([]int32, 576), false},
		{"short", make([]int32, 575), true},
		{"out of range", append(make([]int32, 575), 20000), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Decode(context.Background(), tt.tokens)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Decode error %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (resp.Model != "m" || len(resp.PNG) == 0) {
				t.Errorf("Decode = model %q, %d bytes; want model m and a PNG", resp.Model, len(resp.PNG))
			}
		})
	}
}

func TestGenerateWithParser(t *testing.T) {
	p := NewPainter(PainterConfig{})
	grid := p.Geometry().Grid()
	toks := band(t, p, "A green bench sits on the left of two blue bowls.", 1, 3)
	got := objectsIn(toks, grid, 0, 8)
	bench, bowls := got[ClassOf("bench")], got[ClassOf("bowl")]
	if len(bench) != 1 || len(bowls) != 2 || bench[0].Colour != ColourCode("green") || bowls[0].Colour != ColourCode("blue") {
		t.Errorf("painted bench %v and bowls %v, want one green bench and two blue bowls", bench, bowls)
	}
	_, benchEnd, _, _ := extent(toks, grid, ClassOf("bench"))
	bowlStart, _, _, _ := extent(toks, grid, ClassOf("bowl"))
	if benchEnd < 0 || benchEnd >= bowlStart {
		t.Errorf("bench ends in column %d, bowls start in %d; want the bench on the left", benchEnd, bowlStart)
	}
}

func TestGenerateIgnoresMetaNouns(t *testing.T) {
	p := NewPainter(PainterConfig{})
	grid := p.Geometry().Grid()
	tests := []struct {
		sentence string
		want     []string // the nouns painted
	}{
		{"A red apple, each object with exactly the colour, shape and number described.", []string{"apple"}},
		{"Layer 2 - A red apple is clearly visible.", []string{"apple"}},
		{"Every detail of the image is plain, with one item and two things in each section.", nil},
		{"An oval picture hangs next to a rectangular frame.", []string{"picture", "frame"}},
		{"A rubber band lies next to a wooden spoon.", []string{"band", "spoon"}},
	}
	for _, tt := range tests {
		t.Run(tt.sentence, func(t *testing.T) {
			got := objectsIn(band(t, p, tt.sentence, 1, 3), grid, 0, 8)
			want := map[int]bool{}
			for _, n := range tt.want {
				want[ClassOf(n)] = true
				if len(got[ClassOf(n)]) == 0 {
					t.Errorf("%s not painted", n)
				}
			}
			for class := range got {
				if !want[class] {
					t.Errorf("painted class %d, want only %q", class, tt.want)
				}
			}
		})
	}
	for _, n := range []string{"object", "thing", "item", "detail", "colour", "color", "shape", "number", "part", "section", "layer", "portion", "image", "description"} {
		if painted(n) {
			t.Errorf("painted(%q), want a meta noun", n)
		}
	}
}
