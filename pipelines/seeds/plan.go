package seeds

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/schema"
)

// PlanConfig says how [Plan] turns lines into seeds.
type PlanConfig struct {
	// Dataset and Split name the dataset the seeds belong to; the dataset
	// name is part of every trajectory id.
	Dataset, Split string
	// Limit is the number of prompts kept, the first ones in source order;
	// 0 keeps all.
	Limit int
	// Samples is the number of samples (seeds) of each prompt.
	Samples int
	// Seed is the dataset seed every sample's seed derives from.
	Seed int64
}

// PlanCounts counts what [Plan] did with its lines.
type PlanCounts struct {
	// Prompts is the number of prompts kept, Seeded the seeds made of
	// them (Prompts times Samples).
	Prompts, Seeded int64
	// Duplicates counts the lines dropped as an exact duplicate of an
	// earlier normalised prompt, Limited those dropped by the limit.
	Duplicates, Limited int64
}

// Plan orders lines by source (URI, then line number), drops the exact
// duplicates of a normalised prompt (keeping the first), keeps the first
// Limit prompts and expands each into Samples seeds, in that order. A
// line's category is its own, else the annotator's. Every line must have
// Normalized set. Plan does not modify lines.
func Plan(lines []Line, cfg PlanConfig) ([]schema.Seed, PlanCounts) {
	lines = slices.Clone(lines)
	slices.SortFunc(lines, func(a, b Line) int {
		return cmp.Or(cmp.Compare(a.Source.URI, b.Source.URI), cmp.Compare(a.Source.Line, b.Source.Line))
	})
	seen := map[string]bool{}
	var out []schema.Seed
	var n PlanCounts
	for _, l := range lines {
		if seen[l.Normalized] {
			n.Duplicates++
			continue
		}
		if cfg.Limit > 0 && n.Prompts >= int64(cfg.Limit) {
			n.Limited++
			continue
		}
		seen[l.Normalized] = true
		n.Prompts++
		src := l.Source
		src.ID = l.ID
		category := l.Category
		if category == "" {
			category = annotators.Parse(l.Normalized).Category
		}
		for i := range cfg.Samples {
			id := schema.TrajectoryID(cfg.Dataset, l.Normalized, i)
			out = append(out, schema.Seed{
				ID: id, Dataset: cfg.Dataset, Split: cfg.Split,
				Prompt: l.Prompt, PromptNormalized: l.Normalized, Source: src,
				Category: category, SampleIndex: int32(i), Seed: SampleSeed(cfg.Seed, id),
			})
		}
	}
	n.Seeded = int64(len(out))
	return out, n
}

// SampleSeed derives a sample's seed from the dataset seed and the
// sample's trajectory id: a non-negative int64, the same on every run.
func SampleSeed(datasetSeed int64, id string) int64 {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d/%s", datasetSeed, id))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}
