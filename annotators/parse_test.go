package annotators

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twigdata/twig/schema"
)

// obj is shorthand for an Object in the tables below.
func obj(noun string, count int, colour, shape, texture string) Object {
	return Object{Noun: noun, Count: count, Colour: colour, Shape: shape, Texture: texture}
}

func rel(subject int, predicate string, object int) Relation {
	return Relation{Subject: subject, Predicate: predicate, Object: object}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, prompt string
		want         Analysis
	}{
		{
			name:   "colour pair",
			prompt: "a green bench and a blue bowl",
			want: Analysis{
				Objects:  []Object{obj("bench", 1, "green", "", ""), obj("bowl", 1, "blue", "", "")},
				Category: "colour",
			},
		},
		{
			name:   "shape pair",
			prompt: "an oval mirror and a rectangular painting",
			want: Analysis{
				Objects:  []Object{obj("mirror", 1, "", "oval", ""), obj("painting", 1, "", "rectangular", "")},
				Category: "shape",
			},
		},
		{
			name:   "texture pair with compound noun",
			prompt: "a metallic fork and a wooden jewelry box",
			want: Analysis{
				Objects:  []Object{obj("fork", 1, "", "", "metallic"), obj("jewelry box", 1, "", "", "wooden")},
				Category: "texture",
			},
		},
		{
			name:   "numbers and commas",
			prompt: "four tents, two boats and one pig",
			want: Analysis{
				Objects:  []Object{obj("tent", 4, "", "", ""), obj("boat", 2, "", "", ""), obj("pig", 1, "", "", "")},
				Category: "numeracy",
			},
		},
		{
			name:   "irregular plural with a verb",
			prompt: "six people gathered for a picnic",
			want: Analysis{
				Objects:   []Object{obj("person", 6, "", "", ""), obj("picnic", 1, "", "", "")},
				Relations: []Relation{rel(0, "gathered for", 1)},
				Category:  "numeracy",
			},
		},
		{
			name:   "right of",
			prompt: "a microwave on the right of a pig",
			want: Analysis{
				Objects:   []Object{obj("microwave", 1, "", "", ""), obj("pig", 1, "", "", "")},
				Relations: []Relation{rel(0, "right_of", 1)},
				Category:  "spatial",
			},
		},
		{
			name:   "on side of",
			prompt: "a mouse on side of a key",
			want: Analysis{
				Objects:   []Object{obj("mouse", 1, "", "", ""), obj("key", 1, "", "", "")},
				Relations: []Relation{rel(0, "next_to", 1)},
				Category:  "spatial",
			},
		},
		{
			name:   "on the top of",
			prompt: "a girl on the top of a frog",
			want: Analysis{
				Objects:   []Object{obj("girl", 1, "", "", ""), obj("frog", 1, "", "", "")},
				Relations: []Relation{rel(0, "above", 1)},
				Category:  "spatial",
			},
		},
		{
			name:   "hidden by",
			prompt: "a girl hidden by a desk",
			want: Analysis{
				Objects:   []Object{obj("girl", 1, "", "", ""), obj("desk", 1, "", "", "")},
				Relations: []Relation{rel(0, "hidden_by", 1)},
				Category:  "3d_spatial",
			},
		},
		{
			name:   "in front of",
			prompt: "a dog in front of a desk",
			want: Analysis{
				Objects:   []Object{obj("dog", 1, "", "", ""), obj("desk", 1, "", "", "")},
				Relations: []Relation{rel(0, "in_front_of", 1)},
				Category:  "3d_spatial",
			},
		},
		{
			name:   "be does not make a verb",
			prompt: "A cat is on the left of a dog.",
			want: Analysis{
				Objects:   []Object{obj("cat", 1, "", "", ""), obj("dog", 1, "", "", "")},
				Relations: []Relation{rel(0, "left_of", 1)},
				Category:  "spatial",
			},
		},
		{
			name:   "two verbs",
			prompt: "A man is holding a book and reading on a park bench.",
			want: Analysis{
				Objects: []Object{obj("man", 1, "", "", ""), obj("book", 1, "", "", ""), obj("park bench", 1, "", "", "")},
				Relations: []Relation{
					rel(0, "holding", 1),
					rel(0, "reading on", 2),
				},
				Category: "non_spatial",
			},
		},
		{
			name:   "verb phrase and abstract nouns",
			prompt: "A person is looking at a map and trying to find their way.",
			want: Analysis{
				Objects:   []Object{obj("person", 1, "", "", ""), obj("map", 1, "", "", "")},
				Relations: []Relation{rel(0, "looking at", 1)},
				Category:  "non_spatial",
			},
		},
		{
			name:   "present tense verb between noun phrases",
			prompt: "The metallic spoon and wooden chopsticks stir the fluffy noodles in the plastic takeout container.",
			want: Analysis{
				Objects: []Object{
					obj("spoon", 1, "", "", "metallic"), obj("chopstick", 2, "", "", "wooden"),
					obj("noodle", 2, "", "", "fluffy"), obj("takeout container", 1, "", "", "plastic"),
				},
				Relations: []Relation{rel(0, "stir", 2)},
				Category:  "texture",
			},
		},
		{
			name:   "singular subject and verb",
			prompt: "A blue bowl rests on the green bench in the center.",
			want: Analysis{
				Objects:   []Object{obj("bowl", 1, "blue", "", ""), obj("bench", 1, "green", "", "")},
				Relations: []Relation{rel(0, "rests on", 1)},
				Category:  "colour",
			},
		},
		{
			name:   "positional head noun",
			prompt: "a wooden table top",
			want: Analysis{
				Objects:  []Object{obj("table", 1, "", "", "wooden")},
				Category: "texture",
			},
		},
		{
			name:   "synonyms are canonical",
			prompt: "a grey circular wood table",
			want: Analysis{
				Objects:  []Object{obj("table", 1, "gray", "round", "wooden")},
				Category: "complex",
			},
		},
		{
			name:   "colour word as noun",
			prompt: "a red orange and a brown sheep",
			want: Analysis{
				Objects:  []Object{obj("orange", 1, "red", "", ""), obj("sheep", 1, "brown", "", "")},
				Category: "colour",
			},
		},
		{
			name:   "material word as noun",
			prompt: "a glass of water",
			want: Analysis{
				Objects:  []Object{obj("glass", 1, "", "", "")},
				Category: "other",
			},
		},
		{
			name:   "colour list",
			prompt: "a black and white cat",
			want: Analysis{
				Objects:  []Object{obj("cat", 1, "white", "", "")},
				Category: "colour",
			},
		},
		{
			name:   "colour list with a colour noun",
			prompt: "a black gold and white vase",
			want: Analysis{
				Objects:  []Object{obj("vase", 1, "white", "", "")},
				Category: "colour",
			},
		},
		{
			name:   "portion of",
			prompt: "a triangular slice of cheese and a rectangular cheese board",
			want: Analysis{
				Objects:  []Object{obj("cheese", 1, "", "triangular", ""), obj("cheese board", 1, "", "rectangular", "")},
				Category: "shape",
			},
		},
		{
			name:   "collective of",
			prompt: "A row of cubic boxes and a pile of pyramidal stones",
			want: Analysis{
				Objects:  []Object{obj("box", 2, "", "cubic", ""), obj("stone", 2, "", "pyramidal", "")},
				Category: "shape",
			},
		},
		{
			name:   "pair of",
			prompt: "a pair of leather shoes",
			want: Analysis{
				Objects:  []Object{obj("shoe", 2, "", "", "leather")},
				Category: "texture",
			},
		},
		{
			name:   "plurals",
			prompt: "three knives, two leaves, five mice, two benches, four boxes and two glasses",
			want: Analysis{
				Objects: []Object{
					obj("knife", 3, "", "", ""), obj("leaf", 2, "", "", ""), obj("mouse", 5, "", "", ""),
					obj("bench", 2, "", "", ""), obj("box", 4, "", "", ""), obj("glass", 2, "", "", ""),
				},
				Category: "numeracy",
			},
		},
		{
			name:   "children and sheep",
			prompt: "two children and three sheep",
			want: Analysis{
				Objects:  []Object{obj("child", 2, "", "", ""), obj("sheep", 3, "", "", "")},
				Category: "numeracy",
			},
		},
		{
			name:   "bare plural",
			prompt: "fluffy clouds and a glass table",
			want: Analysis{
				Objects:  []Object{obj("cloud", 2, "", "", "fluffy"), obj("table", 1, "", "", "glass")},
				Category: "texture",
			},
		},
		{
			name:   "vague quantity is not numeracy",
			prompt: "several cats",
			want: Analysis{
				Objects:  []Object{obj("cat", 3, "", "", "")},
				Category: "other",
			},
		},
		{
			name:   "digits",
			prompt: "12 eggs",
			want: Analysis{
				Objects:  []Object{obj("egg", 12, "", "", "")},
				Category: "numeracy",
			},
		},
		{
			name:   "size words are shape",
			prompt: "a big bear and a small squirrel",
			want: Analysis{
				Objects:  []Object{obj("bear", 1, "", "", ""), obj("squirrel", 1, "", "", "")},
				Category: "shape",
			},
		},
		{
			name:   "hyphenated and spaced shapes",
			prompt: "a heart-shaped box and a star shaped cookie",
			want: Analysis{
				Objects:  []Object{obj("box", 1, "", "heart-shaped", ""), obj("cookie", 1, "", "star-shaped", "")},
				Category: "shape",
			},
		},
		{
			name:   "attributes with a relation",
			prompt: "a wooden chair on the right of a red car",
			want: Analysis{
				Objects:   []Object{obj("chair", 1, "", "", "wooden"), obj("car", 1, "red", "", "")},
				Relations: []Relation{rel(0, "right_of", 1)},
				Category:  "complex",
			},
		},
		{
			name:   "one attribute kind with a relation",
			prompt: "a red car behind a blue truck",
			want: Analysis{
				Objects:   []Object{obj("car", 1, "red", "", ""), obj("truck", 1, "blue", "", "")},
				Relations: []Relation{rel(0, "behind", 1)},
				Category:  "complex",
			},
		},
		{
			name:   "case, punctuation and CRLF",
			prompt: "  A Brown Horse,  and a BLUE vase!\r\n",
			want: Analysis{
				Objects:  []Object{obj("horse", 1, "brown", "", ""), obj("vase", 1, "blue", "", "")},
				Category: "colour",
			},
		},
		{
			name:   "one object",
			prompt: "a cat",
			want:   Analysis{Objects: []Object{obj("cat", 1, "", "", "")}, Category: "other"},
		},
		{
			name:   "empty",
			prompt: "",
			want:   Analysis{Category: "other"},
		},
		{
			name:   "no object",
			prompt: "... and, of the!",
			want:   Analysis{Category: "other"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Parse(c.prompt)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", c.prompt, got, c.want)
			}
		})
	}
}

// checkAnalysis reports what is wrong with an analysis whatever the prompt.
func checkAnalysis(t *testing.T, prompt string, a Analysis) {
	t.Helper()
	if !slices.Contains(schema.Categories, a.Category) {
		t.Errorf("Parse(%q): category %q is not one of %v", prompt, a.Category, schema.Categories)
	}
	for i, o := range a.Objects {
		if o.Noun == "" || o.Noun != strings.ToLower(o.Noun) || strings.TrimSpace(o.Noun) != o.Noun {
			t.Errorf("Parse(%q): object %d has noun %q", prompt, i, o.Noun)
		}
		if o.Count < 1 || o.Count > maxCount {
			t.Errorf("Parse(%q): object %d has count %d", prompt, i, o.Count)
		}
		if o.Colour != "" && ColourIndex(o.Colour) == 0 || o.Colour != "" && CanonicalColour(o.Colour) != o.Colour {
			t.Errorf("Parse(%q): object %d has colour %q", prompt, i, o.Colour)
		}
		if o.Shape != "" && CanonicalShape(o.Shape) != o.Shape {
			t.Errorf("Parse(%q): object %d has shape %q", prompt, i, o.Shape)
		}
		if o.Texture != "" && CanonicalTexture(o.Texture) != o.Texture {
			t.Errorf("Parse(%q): object %d has texture %q", prompt, i, o.Texture)
		}
	}
	for i, r := range a.Relations {
		n := len(a.Objects)
		if r.Subject < 0 || r.Subject >= n || r.Object < 0 || r.Object >= n || r.Subject == r.Object || r.Predicate == "" {
			t.Errorf("Parse(%q): relation %d is %+v with %d objects", prompt, i, r, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "a", "a green bench and a blue bowl", "four tents, two boats and one pig",
		"a girl hidden by a desk", "A man is holding a book and reading on a park bench.",
		"a black gold and white vase sitting on a counter", "The white and red clock reads 11:44.",
		"a cubic block and a cylindrical container of hand cream", "rubber sole shoes and fluffy clouds",
		"a pair of of of the the and", "99999999999999999999999 cats", "on the left of", "of a",
		"’s -- '' ,,, \x00 \xff\xfe ☃ İstanbul ÉCOLE", "a heart shaped", "a group of",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		a := Parse(prompt)
		checkAnalysis(t, prompt, a)
		if b := Parse(prompt); !reflect.DeepEqual(a, b) {
			t.Errorf("Parse(%q) is not deterministic: %+v then %+v", prompt, a, b)
		}
	})
}
