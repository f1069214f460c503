package annotators

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/questions.golden")

func TestQuestions(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		want   []Question
	}{
		{"colour", "a green bench and a blue bowl", []Question{
			{Text: "Is there a bench in the image?", Kind: QuestionObject, Object: "bench", Index: 0},
			{Text: "Is the bench green?", Kind: QuestionAttribute, Object: "bench", Index: 0, Attribute: "green"},
			{Text: "Is there a bowl in the image?", Kind: QuestionObject, Object: "bowl", Index: 1},
			{Text: "Is the bowl blue?", Kind: QuestionAttribute, Object: "bowl", Index: 1, Attribute: "blue"},
		}},
		{"shape", "an oblong cucumber and a teardrop plum", []Question{
			{Text: "Is there a cucumber in the image?", Kind: QuestionObject, Object: "cucumber", Index: 0},
			{Text: "Is the cucumber oval?", Kind: QuestionAttribute, Object: "cucumber", Index: 0, Attribute: "oval"},
			{Text: "Is there a plum in the image?", Kind: QuestionObject, Object: "plum", Index: 1},
			{Text: "Is the plum teardrop-shaped?", Kind: QuestionAttribute, Object: "plum", Index: 1, Attribute: "teardrop"},
		}},
		{"texture", "a metallic desk lamp and a glass bottle", []Question{
			{Text: "Is there a desk lamp in the image?", Kind: QuestionObject, Object: "desk lamp", Index: 0},
			{Text: "Is the desk lamp metallic?", Kind: QuestionAttribute, Object: "desk lamp", Index: 0, Attribute: "metallic"},
			{Text: "Is there a bottle in the image?", Kind: QuestionObject, Object: "bottle", Index: 1},
			{Text: "Is the bottle made of glass?", Kind: QuestionAttribute, Object: "bottle", Index: 1, Attribute: "glass"},
		}},
		{"spatial", "a bee on the right of a refrigerator", []Question{
			{Text: "Is there a bee in the image?", Kind: QuestionObject, Object: "bee", Index: 0},
			{Text: "Is there a refrigerator in the image?", Kind: QuestionObject, Object: "refrigerator", Index: 1},
			{Text: "Is the bee on the right of the refrigerator?", Kind: QuestionRelation, Object: "bee", Index: 0, Predicate: "right_of", Target: 1},
		}},
		{"3d spatial", "a chair hidden by a mouse", []Question{
			{Text: "Is there a chair in the image?", Kind: QuestionObject, Object: "chair", Index: 0},
			{Text: "Is there a mouse in the image?", Kind: QuestionObject, Object: "mouse", Index: 1},
			{Text: "Is the chair hidden by the mouse?", Kind: QuestionRelation, Object: "chair", Index: 0, Predicate: "hidden_by", Target: 1},
		}},
		{"numeracy", "three apples", []Question{
			{Text: "Are there three apples in the image?", Kind: QuestionCount, Object: "apple", Index: 0, Count: 3},
		}},
		{"count with colour", "two red cars on the left of a dog", []Question{
			{Text: "Are there two cars in the image?", Kind: QuestionCount, Object: "car", Index: 0, Count: 2},
			{Text: "Are the cars red?", Kind: QuestionAttribute, Object: "car", Index: 0, Attribute: "red"},
			{Text: "Is there a dog in the image?", Kind: QuestionObject, Object: "dog", Index: 1},
			{Text: "Are the cars on the left of the dog?", Kind: QuestionRelation, Object: "car", Index: 0, Predicate: "left_of", Target: 1},
		}},
		{"verb", "A woman is holding a yoga mat and heading to a class.", []Question{
			{Text: "Is there a woman in the image?", Kind: QuestionObject, Object: "woman", Index: 0},
			{Text: "Is there a yoga mat in the image?", Kind: QuestionObject, Object: "yoga mat", Index: 1},
			{Text: "Is the woman holding the yoga mat?", Kind: QuestionRelation, Object: "woman", Index: 0, Predicate: "holding", Target: 1},
		}},
		{"duplicate object", "a red apple and a red apple", []Question{
			{Text: "Is there an apple in the image?", Kind: QuestionObject, Object: "apple", Index: 0},
			{Text: "Is the apple red?", Kind: QuestionAttribute, Object: "apple", Index: 0, Attribute: "red"},
		}},
		{"nothing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Questions(Parse(tt.prompt))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Questions(Parse(%q))\ngot  %+v\nwant %+v", tt.prompt, got, tt.want)
			}
		})
	}
}

func TestQuestionsAnalysis(t *testing.T) {
	tests := []struct {
		name string
		a    Analysis
		want []string
	}{
		{"bad relations skipped", Analysis{
			Objects:   []Object{{Noun: "cat", Count: 1}, {Noun: "", Count: 1}},
			Relations: []Relation{{0, "left_of", 1}, {0, "above", 0}, {0, "below", 5}, {-1, "below", 0}},
		}, []string{"Is there a cat in the image?"}},
		{"zero count reads as one", Analysis{Objects: []Object{{Noun: "owl"}}}, []string{"Is there an owl in the image?"}},
		{"big count in digits", Analysis{Objects: []Object{{Noun: "bird", Count: 42}}}, []string{"Are there 42 birds in the image?"}},
		{"verb with preposition", Analysis{
			Objects:   []Object{{Noun: "car", Count: 1}, {Noun: "street", Count: 1}},
			Relations: []Relation{{0, "parked on", 1}},
		}, []string{"Is there a car in the image?", "Is there a street in the image?", "Does the image show the car parked on the street?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, q := range Questions(tt.a) {
				got = append(got, q.Text)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestQuestionsGolden renders the questions of the first prompts of every
// T2I-CompBench validation file. Regenerate with
// go test ./annotators -run TestQuestionsGolden -update.
func TestQuestionsGolden(t *testing.T) {
	var b strings.Builder
	for _, pf := range promptFiles {
		for _, p := range readPrompts(t, pf.file)[:8] {
			fmt.Fprintf(&b, "%s: %s\n", pf.file, p)
			for _, q := range Questions(Parse(p)) {
				fmt.Fprintf(&b, "  %-9s %s\n", q.Kind, q.Text)
			}
		}
	}
	golden := filepath.Join("testdata", "questions.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("questions differ from %s (rerun with -update and review the diff):\n%s", golden, got)
	}
}

// TestQuestionsAllPrompts checks every validation prompt: deterministic,
// one line each ending in "?", no duplicates, and a question for every
// object Parse finds.
func TestQuestionsAllPrompts(t *testing.T) {
	for _, pf := range promptFiles {
		for _, p := range readPrompts(t, pf.file) {
			a := Parse(p)
			qs := Questions(a)
			if !reflect.DeepEqual(qs, Questions(Parse(p))) {
				t.Fatalf("%q: not deterministic", p)
			}
			seen := map[string]bool{}
			asked := map[string]bool{}
			for _, q := range qs {
				if !strings.HasSuffix(q.Text, "?") || strings.ContainsAny(q.Text, "\r\n") || seen[q.Text] {
					t.Errorf("%q: bad or repeated question %q", p, q.Text)
				}
				seen[q.Text] = true
				if q.Kind == QuestionObject || q.Kind == QuestionCount {
					asked[q.Object] = true
				}
			}
			for i, o := range a.Objects {
				if o.Noun != "" && !asked[o.Noun] {
					t.Errorf("%q: no question for object %d (%s)", p, i, o.Noun)
				}
			}
		}
	}
}
