package annotators

import (
	"slices"
	"testing"
)

func TestVocabularies(t *testing.T) {
	for _, v := range []struct {
		name  string
		vocab []string
		must  []string
		index func(string) int
		at    func(int) string
	}{
		{"colours", Colours, []string{
			"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
			"black", "white", "gray", "gold", "silver",
		}, ColourIndex, ColourName},
		{"shapes", Shapes, []string{
			"round", "square", "rectangular", "triangular", "oval", "cylindrical", "cubic",
			"spherical", "heart-shaped", "star-shaped", "teardrop", "hexagonal", "pyramidal", "conical",
		}, ShapeIndex, ShapeName},
		{"textures", Textures, []string{
			"wooden", "metallic", "fluffy", "plastic", "glass", "leather", "rubber", "fabric",
			"furry", "stone", "ceramic", "velvet", "woolen",
		}, TextureIndex, TextureName},
	} {
		t.Run(v.name, func(t *testing.T) {
			if len(v.vocab) > 15 {
				t.Errorf("got %d forms, want at most 15 (4 bits with 0 for none)", len(v.vocab))
			}
			for _, w := range v.must {
				if !slices.Contains(v.vocab, w) {
					t.Errorf("%q missing", w)
				}
			}
			for i, w := range v.vocab {
				if got := v.index(w); got != i+1 {
					t.Errorf("index(%q) = %d, want %d", w, got, i+1)
				}
				if got := v.at(i + 1); got != w {
					t.Errorf("name(%d) = %q, want %q", i+1, got, w)
				}
			}
			for _, i := range []int{-1, 0, len(v.vocab) + 1} {
				if got := v.at(i); got != "" {
					t.Errorf("name(%d) = %q, want \"\"", i, got)
				}
			}
			if got := v.index("zebra"); got != 0 {
				t.Errorf("index(\"zebra\") = %d, want 0", got)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		name, word, want string
		canon            func(string) string
	}{
		{"grey", "grey", "gray", CanonicalColour},
		{"gray", "gray", "gray", CanonicalColour},
		{"golden", "golden", "gold", CanonicalColour},
		{"tan", "tan", "beige", CanonicalColour},
		{"not a colour", "wooden", "", CanonicalColour},
		{"circular", "circular", "round", CanonicalShape},
		{"round", "round", "round", CanonicalShape},
		{"oblong", "oblong", "oval", CanonicalShape},
		{"heart", "heart", "heart-shaped", CanonicalShape},
		{"wood", "wood", "wooden", CanonicalTexture},
		{"metal", "metal", "metallic", CanonicalTexture},
		{"steel", "steel", "metallic", CanonicalTexture},
		{"wool", "wool", "woolen", CanonicalTexture},
		{"unknown", "zebra", "", CanonicalTexture},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.canon(c.word); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	// Synonyms index like their canonical form.
	if got, want := ColourIndex("grey"), ColourIndex("gray"); got != want || got == 0 {
		t.Errorf("ColourIndex(\"grey\") = %d, want %d", got, want)
	}
}

// TestSynonymsAreCanonical checks that every synonym maps to a form in its
// vocabulary and that no word means two things.
func TestSynonymsAreCanonical(t *testing.T) {
	vocab := map[int][]string{kindColour: colours, kindShape: shapes, kindTexture: textures}
	seen := map[string]int{}
	for kind, forms := range vocab {
		for _, w := range forms {
			seen[w]++
		}
		for c, ws := range synonyms[kind] {
			if !slices.Contains(forms, c) {
				t.Errorf("synonyms of %q: not a canonical form", c)
			}
			for _, w := range ws {
				seen[w]++
			}
		}
	}
	for w, n := range seen {
		if n > 1 {
			t.Errorf("%q is listed %d times", w, n)
		}
	}
}
