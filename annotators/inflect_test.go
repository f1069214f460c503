package annotators

import "testing"

func TestSingularPlural(t *testing.T) {
	for _, c := range []struct{ singular, plural string }{
		{"cat", "cats"},
		{"person", "people"},
		{"child", "children"},
		{"man", "men"},
		{"woman", "women"},
		{"policeman", "policemen"},
		{"human", "humans"},
		{"box", "boxes"},
		{"bench", "benches"},
		{"peach", "peaches"},
		{"dish", "dishes"},
		{"glass", "glasses"},
		{"bus", "buses"},
		{"leaf", "leaves"},
		{"knife", "knives"},
		{"shelf", "shelves"},
		{"glove", "gloves"},
		{"mouse", "mice"},
		{"sheep", "sheep"},
		{"fish", "fish"},
		{"strawberry", "strawberries"},
		{"toy", "toys"},
		{"cookie", "cookies"},
		{"pie", "pies"},
		{"tomato", "tomatoes"},
		{"piano", "pianos"},
		{"shoe", "shoes"},
		{"horse", "horses"},
		{"house", "houses"},
		{"vase", "vases"},
		{"taxi", "taxis"},
		{"cactus", "cacti"},
		{"lens", "lenses"},
		{"headache", "headaches"},
		{"teddy bear", "teddy bears"},
		{"jewelry box", "jewelry boxes"},
		{"scissors", "scissors"},
	} {
		t.Run(c.singular, func(t *testing.T) {
			if got := Plural(c.singular); got != c.plural {
				t.Errorf("Plural(%q) = %q, want %q", c.singular, got, c.plural)
			}
			if got := Singular(c.plural); got != c.singular {
				t.Errorf("Singular(%q) = %q, want %q", c.plural, got, c.singular)
			}
			if got := Singular(c.singular); got != c.singular {
				t.Errorf("Singular(%q) = %q, want it unchanged", c.singular, got)
			}
		})
	}
}

// TestSingularKeepsSingulars checks words in -s that are not plurals.
func TestSingularKeepsSingulars(t *testing.T) {
	for _, w := range []string{"glass", "dress", "walrus", "iris", "tennis", "gas", "canvas", "jeans", "news", "bus", ""} {
		if got := Singular(w); got != w {
			t.Errorf("Singular(%q) = %q, want it unchanged", w, got)
		}
	}
}
