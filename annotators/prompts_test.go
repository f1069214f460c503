package annotators

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// promptsDir holds the T2I-CompBench validation prompts, one file per
// category (see its README.md).
const promptsDir = "../testdata/prompts"

// promptFiles maps each prompt file to the category its prompts belong to.
var promptFiles = []struct{ file, category string }{
	{"color.txt", "colour"},
	{"shape.txt", "shape"},
	{"texture.txt", "texture"},
	{"spatial.txt", "spatial"},
	{"3d_spatial.txt", "3d_spatial"},
	{"numeracy.txt", "numeracy"},
	{"non_spatial.txt", "non_spatial"},
}

// minAccuracy is the share of a file's prompts whose guessed category must
// match the file's.
const minAccuracy = 0.85

// readPrompts returns the non-blank lines of a prompt file, trimmed (some
// end in CRLF).
func readPrompts(tb testing.TB, file string) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join(promptsDir, file))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// TestPromptFiles parses every real prompt: each must name at least one
// object, and the guessed category must match the file's for at least
// minAccuracy of the lines. It logs the measured shares.
func TestPromptFiles(t *testing.T) {
	for _, pf := range promptFiles {
		t.Run(pf.category, func(t *testing.T) {
			lines := readPrompts(t, pf.file)
			var withObjects, matching int
			for _, l := range lines {
				a := Parse(l)
				checkAnalysis(t, l, a)
				if len(a.Objects) > 0 {
					withObjects++
				} else {
					t.Errorf("Parse(%q): got no object, want at least one", l)
				}
				if a.Category == pf.category {
					matching++
				} else {
					t.Logf("Parse(%q): got category %q, want %q", l, a.Category, pf.category)
				}
			}
			coverage := float64(withObjects) / float64(len(lines))
			accuracy := float64(matching) / float64(len(lines))
			t.Logf("%s: %d prompts, %.1f%% with objects, %.1f%% category %q",
				pf.file, len(lines), 100*coverage, 100*accuracy, pf.category)
			if accuracy < minAccuracy {
				t.Errorf("%s: category accuracy %.3f, want at least %.2f", pf.file, accuracy, minAccuracy)
			}
		})
	}
}

// pairPrompt matches the T2I-CompBench attribute-binding template
// "a(n) <attribute> <noun> and a(n) <attribute> <noun>", where a noun is
// one to four words ("cheese board", "slice of cheese").
var pairPrompt = regexp.MustCompile(`^an? (\S+) ([\w']+(?: [\w']+){0,3}) and an? (\S+) ([\w']+(?: [\w']+){0,3}?)\.?$`)

// notInNoun are words that show a match of pairPrompt is a longer
// sentence, not the template.
var notInNoun = regexp.MustCompile(`\b(with|a|an|the|on|in|at|to|by|and)\b`)

// TestAttributePairs checks that each two-object colour, shape and texture
// prompt of the template gives exactly two objects, each with the
// attribute the prompt binds to it, of the file's kind, and no other.
func TestAttributePairs(t *testing.T) {
	for _, c := range []struct {
		file  string
		canon func(string) string
		get   func(Object) string
	}{
		{"color.txt", CanonicalColour, func(o Object) string { return o.Colour }},
		{"shape.txt", CanonicalShape, func(o Object) string { return o.Shape }},
		{"texture.txt", CanonicalTexture, func(o Object) string { return o.Texture }},
	} {
		t.Run(c.file, func(t *testing.T) {
			checked := 0
			for _, l := range readPrompts(t, c.file) {
				m := pairPrompt.FindStringSubmatch(strings.ToLower(l))
				if m == nil || c.canon(m[1]) == "" || c.canon(m[3]) == "" ||
					notInNoun.MatchString(m[2]) || notInNoun.MatchString(m[4]) {
					continue
				}
				checked++
				want := []string{c.canon(m[1]), c.canon(m[3])}
				a := Parse(l)
				if len(a.Objects) != 2 {
					t.Errorf("Parse(%q): got %d objects %+v, want 2", l, len(a.Objects), a.Objects)
					continue
				}
				for i, o := range a.Objects {
					if got := c.get(o); got != want[i] {
						t.Errorf("Parse(%q): object %d %q has %q, want %q", l, i, o.Noun, got, want[i])
					}
					if n := countAttrs(o); n != 1 {
						t.Errorf("Parse(%q): object %d %+v has %d attributes, want 1", l, i, o, n)
					}
				}
			}
			t.Logf("%s: %d two-object prompts checked", c.file, checked)
			if checked < 100 {
				t.Errorf("got %d two-object prompts, want at least 100", checked)
			}
		})
	}
}

func countAttrs(o Object) int {
	n := 0
	for _, a := range []string{o.Colour, o.Shape, o.Texture} {
		if a != "" {
			n++
		}
	}
	return n
}

func BenchmarkParse(b *testing.B) {
	var prompts []string
	for _, pf := range promptFiles {
		prompts = append(prompts, readPrompts(b, pf.file)...)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Parse(prompts[i%len(prompts)])
		i++
	}
}
