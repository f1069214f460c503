package annotators

import (
	"reflect"
	"slices"
	"testing"
)

func TestComposeDeterministic(t *testing.T) {
	a, b := Compose(2000, 7), Compose(2000, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Compose(2000, 7) differs between calls")
	}
	if c := Compose(2000, 8); reflect.DeepEqual(a, c) {
		t.Error("Compose gives the same prompts for seeds 7 and 8")
	}
	// A shorter run is a prefix of a longer one.
	if short := Compose(100, 7); !reflect.DeepEqual(short, a[:100]) {
		t.Error("Compose(100, 7) is not a prefix of Compose(2000, 7)")
	}
}

func TestComposeSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		n    int
		want int
	}{
		{"zero", 0, 0},
		{"negative", -3, 0},
		{"one", 1, 1},
		{"a cycle", 8, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := len(Compose(c.n, 1)); got != c.want {
				t.Errorf("got %d prompts, want %d", got, c.want)
			}
		})
	}
}

// TestComposeDistinct asks for 50,000 prompts, which Compose must deliver
// all distinct, cycling through the categories in order.
func TestComposeDistinct(t *testing.T) {
	const n = 50000
	if testing.Short() {
		t.Skip("composes 50,000 prompts")
	}
	for _, seed := range []int64{1, -42} {
		ps := Compose(n, seed)
		if len(ps) != n {
			t.Fatalf("seed %d: got %d prompts, want %d", seed, len(ps), n)
		}
		seen := make(map[string]bool, n)
		for i, p := range ps {
			if seen[p.Text] {
				t.Fatalf("seed %d: prompt %d %q is a duplicate", seed, i, p.Text)
			}
			seen[p.Text] = true
			if want := composeOrder[i%len(composeOrder)]; p.Category != want {
				t.Fatalf("seed %d: prompt %d %q has category %q, want %q", seed, i, p.Text, p.Category, want)
			}
		}
	}
}

// TestComposeParses checks that Parse reads back what Compose meant: the
// category, every object with its count and attributes, and every
// relation.
func TestComposeParses(t *testing.T) {
	const n = 5500
	for _, seed := range []int64{0, 1, 2} {
		for _, d := range composeDrafts(n, seed) {
			text := d.b.String()
			a := Parse(text)
			if a.Category != d.category {
				t.Errorf("Parse(%q): got category %q, want %q", text, a.Category, d.category)
			}
			if !reflect.DeepEqual(a.Objects, d.objects) {
				t.Errorf("Parse(%q):\n got objects %+v\nwant %+v", text, a.Objects, d.objects)
			}
			if !reflect.DeepEqual(a.Relations, d.relations) {
				t.Errorf("Parse(%q):\n got relations %+v\nwant %+v", text, a.Relations, d.relations)
			}
		}
	}
}

// TestComposeVocabulary checks the composer's nouns: enough of them, each
// with canonical attributes, an inverse plural, and parsed back alone.
func TestComposeVocabulary(t *testing.T) {
	if len(vocabulary) < 80 {
		t.Errorf("got %d nouns, want at least 80", len(vocabulary))
	}
	seen := map[string]bool{}
	for _, v := range vocabulary {
		if seen[v.word] {
			t.Errorf("%q listed twice", v.word)
		}
		seen[v.word] = true
		for _, s := range v.shapes {
			if !slices.Contains(shapes, s) {
				t.Errorf("%q: shape %q is not canonical", v.word, s)
			}
		}
		for _, x := range v.textures {
			if !slices.Contains(textures, x) {
				t.Errorf("%q: texture %q is not canonical", v.word, x)
			}
		}
		if got := Singular(Plural(v.word)); got != v.word {
			t.Errorf("Singular(Plural(%q)) = %q", v.word, got)
		}
		for _, c := range []struct {
			prompt string
			count  int
		}{
			{article(v.word) + " " + v.word, 1},
			{"three " + Plural(v.word), 3},
		} {
			want := []Object{{Noun: v.word, Count: c.count}}
			if got := Parse(c.prompt).Objects; !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q): got %+v, want %+v", c.prompt, got, want)
			}
		}
	}
	for _, a := range actions {
		if a.subjects == 0 || a.objects == 0 {
			t.Errorf("action %q takes no subject or object", a.verb)
		}
	}
}

func TestArticle(t *testing.T) {
	for _, c := range []struct{ word, want string }{
		{"apple", "an"}, {"oval", "an"}, {"umbrella", "an"}, {"cat", "a"}, {"heart-shaped", "a"}, {"", "a"},
	} {
		if got := article(c.word); got != c.want {
			t.Errorf("article(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}
