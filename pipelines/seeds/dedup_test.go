package seeds

import (
	"reflect"
	"testing"

	"github.com/twigdata/twig/schema"
)

func TestDedup(t *testing.T) {
	line := func(uri string, n int64, norm string) Line {
		return Line{Source: schema.Source{URI: uri, Line: n}, Prompt: norm, Normalized: norm}
	}
	src := func(uri string, n int64) schema.Source { return schema.Source{URI: uri, Line: n} }
	tests := []struct {
		name        string
		in          []Line
		wantKept    []Line
		wantDropped []Duplicate
	}{
		{name: "nothing"},
		{
			name:     "no duplicates, sorted by file then line",
			in:       []Line{line("b.txt", 1, "x"), line("a.txt", 10, "y"), line("a.txt", 2, "z")},
			wantKept: []Line{line("a.txt", 2, "z"), line("a.txt", 10, "y"), line("b.txt", 1, "x")},
		},
		{
			name:        "first occurrence kept, whatever the input order",
			in:          []Line{line("a.txt", 7, "x"), line("a.txt", 3, "x"), line("a.txt", 5, "y"), line("a.txt", 9, "x")},
			wantKept:    []Line{line("a.txt", 3, "x"), line("a.txt", 5, "y")},
			wantDropped: []Duplicate{{Dropped: src("a.txt", 7), Kept: src("a.txt", 3)}, {Dropped: src("a.txt", 9), Kept: src("a.txt", 3)}},
		},
		{
			name:        "across files and categories",
			in:          []Line{line("shape.txt", 1, "a red cube"), line("color.txt", 4, "a red cube")},
			wantKept:    []Line{line("color.txt", 4, "a red cube")},
			wantDropped: []Duplicate{{Dropped: src("shape.txt", 1), Kept: src("color.txt", 4)}},
		},
		{
			name:     "case and punctuation differ: not duplicates",
			in:       []Line{line("a.txt", 1, "a round bagel"), line("a.txt", 2, "a round bagel."), line("a.txt", 3, "A round bagel")},
			wantKept: []Line{line("a.txt", 1, "a round bagel"), line("a.txt", 2, "a round bagel."), line("a.txt", 3, "A round bagel")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]Line(nil), tt.in...)
			kept, dropped := Dedup(in)
			if len(kept) == 0 && len(tt.wantKept) == 0 {
				kept = tt.wantKept
			}
			if !reflect.DeepEqual(kept, tt.wantKept) {
				t.Errorf("kept:\ngot  %+v\nwant %+v", kept, tt.wantKept)
			}
			if !reflect.DeepEqual(dropped, tt.wantDropped) {
				t.Errorf("dropped:\ngot  %+v\nwant %+v", dropped, tt.wantDropped)
			}
			if !reflect.DeepEqual(in, tt.in) {
				t.Errorf("Dedup changed its input:\ngot  %+v\nwant %+v", in, tt.in)
			}
		})
	}
}
