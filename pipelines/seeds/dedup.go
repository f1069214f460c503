package seeds

import (
	"cmp"
	"slices"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Duplicate is a line Dedup dropped because an earlier line has the same
// normalised prompt.
type Duplicate struct {
	// Dropped is the line left out.
	Dropped schema.Source
	// Kept is the earlier line with the same normalised prompt.
	Kept schema.Source
}

// Dedup sorts a copy of lines by source (URI, then line number) and keeps
// the first line of each normalised prompt. It returns the kept lines in
// that order, and the dropped ones, each with the source of the line kept
// in its place. Prompts that differ in case or punctuation are not
// duplicates. Dedup does not modify lines.
func Dedup(lines []Line) (kept []Line, dropped []Duplicate) {
	sorted := slices.Clone(lines)
	slices.SortStableFunc(sorted, func(a, b Line) int {
		return cmp.Or(
			strings.Compare(a.Source.URI, b.Source.URI),
			cmp.Compare(a.Source.Line, b.Source.Line),
		)
	})
	first := make(map[string]schema.Source, len(sorted))
	kept = sorted[:0]
	for _, l := range sorted {
		if src, ok := first[l.Normalized]; ok {
			dropped = append(dropped, Duplicate{Dropped: l.Source, Kept: src})
			continue
		}
		first[l.Normalized] = l.Source
		kept = append(kept, l)
	}
	return kept, dropped
}
