// Package version assembles a dataset version from its rows: [Plan] cuts
// the accepted and rejected trajectories into shards, a [Writer] writes
// one planned shard with its sft and WebDataset shards, [Finish] completes
// the manifest from the shards written, and [Commit] makes the version
// exist (stale objects removed, card and stats written, manifest last).
//
// The Export stage of a run and a refilter both assemble versions through
// this package, so that the two cannot drift apart: twig verify accepts
// what either writes for the same reasons.
package version

import (
	"regexp"
)

// nameRe is the rule for dataset, version and split names: 1 to 128
// letters, digits, '.', '_' or '-', not starting with a punctuation mark.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether s may name a dataset, a version or a split:
// 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or a
// digit, so that it is one safe path element.
func ValidName(s string) bool { return nameRe.MatchString(s) }
