package refilter

import (
	"slices"

	"github.com/twigdata/twig/schema"
)

// Why says what changed a verdict whose reasons were before and are now
// now: the judges the new reasons name that the old ones did not, or,
// when the new verdict has no reason (it became accepted), "no longer J"
// for each judge J the old reasons named. Each appears once, sorted.
func Why(before, now []string) []string {
	was := map[string]bool{}
	for _, r := range before {
		j, _ := schema.ParseReason(r)
		was[j] = true
	}
	var out []string
	for _, r := range now {
		if j, _ := schema.ParseReason(r); !was[j] {
			out = append(out, j)
		}
	}
	if len(now) == 0 {
		for j := range was {
			out = append(out, "no longer "+j)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
