package sim

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
)

// miniParse is a small, fixed reader of controlled sentences, so that the
// painter's and the critic's rules are tested on sentences whose reading
// does not move with annotators.Parse (it reads scenery sentences such as
// "The background is plain and softly lit." as naming no object). The
// simulator with the real parser is tested on real and composed prompts
// (TestLoopRepaintShare, TestThoughtsFollowRules, TestRevisionsReadBack,
// TestGenerateWithParser). It reads "[a|an|one..ten] [attributes] noun"
// phrases (skipping adverbs in -ly and "visible" inside a phrase) and the
// relation phrases between consecutive ones.
func miniParse(s string) annotators.Analysis {
	var a annotators.Analysis
	ws := words(s)
	counts := map[string]int{"a": 1, "an": 1}
	for i, w := range numberWords[1:11] {
		counts[w] = i + 1
	}
	relations := []struct {
		phrase, pred string
	}{
		{"on the left of", "left_of"}, {"on the right of", "right_of"}, {"next to", "next_to"},
		{"on the top of", "above"}, {"above", "above"}, {"on the bottom of", "below"}, {"below", "below"},
		{"in front of", "in_front_of"}, {"behind", "behind"}, {"hidden by", "hidden_by"},
	}
	pending := ""
	for i := 0; i < len(ws); i++ {
		rest := strings.Join(ws[i:], " ")
		for _, r := range relations {
			if strings.HasPrefix(rest+" ", r.phrase+" ") && len(a.Objects) > 0 {
				pending = r.pred
				i += len(strings.Fields(r.phrase)) - 1
				break
			}
		}
		n, ok := counts[ws[i]]
		if !ok {
			continue
		}
		o := annotators.Object{Count: n}
		j := i + 1
		for ; j < len(ws); j++ {
			switch w := ws[j]; {
			case slices.Contains(annotators.Colours, w):
				o.Colour = w
			case slices.Contains(annotators.Shapes, w):
				o.Shape = w
			case slices.Contains(annotators.Textures, w):
				o.Texture = w
			case strings.HasSuffix(w, "ly") || w == "visible":
				// an adverb or "visible": the critic's insisting words
			default:
				o.Noun = w
				if n > 1 {
					o.Noun = strings.TrimSuffix(w, "s")
				}
			}
			if o.Noun != "" {
				break
			}
		}
		if o.Noun == "" || fillerNouns[o.Noun] {
			continue
		}
		a.Objects = append(a.Objects, o)
		if pending != "" {
			a.Relations = append(a.Relations, annotators.Relation{Subject: len(a.Objects) - 2, Predicate: pending, Object: len(a.Objects) - 1})
			pending = ""
		}
		i = j
	}
	return a
}

// readPrompts reads every prompt of testdata/prompts, CR stripped.
func readPrompts(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/prompts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no prompt files: %v", err)
	}
	slices.Sort(files)
	var prompts []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				prompts = append(prompts, line)
			}
		}
	}
	return prompts
}

// spread picks n prompts evenly from all.
func spread(all []string, n int) []string {
	if n >= len(all) {
		return all
	}
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*len(all)/n]
	}
	return out
}

// objectsIn returns the components of each class in rows [r0, r1) of a
// full token grid.
func objectsIn(tokens []int32, grid, r0, r1 int) map[int][]component {
	m := map[int][]component{}
	for _, c := range components(tokens[r0*grid:r1*grid], r1-r0, grid) {
		m[c.Class] = append(m[c.Class], c)
	}
	return m
}

// extent returns the first and last column and row of class in a band.
func extent(band []int32, cols, class int) (x0, x1, y0, y1 int) {
	x0, y0, x1, y1 = cols, len(band), -1, -1
	for i, id := range band {
		if Split(id).Class != class {
			continue
		}
		x, y := i%cols, i/cols
		x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
	}
	return x0, x1, y0, y1
}
