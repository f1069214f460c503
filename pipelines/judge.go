package pipelines

import (
	"cmp"
	"context"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/dedup"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x0[context.Context, int, func(*summary) bool, func(summary)](&judgeFn{})
	register.Iter1[summary]()
}

// Judge runs the judges that need the whole version, near-duplicate
// prompts and images, and then decides every trajectory's verdict under
// the policy from all its judges' results. It sees summaries only (ids,
// normalised prompts, image hashes, judge results), never images.
func Judge(s beam.Scope, cfg Config, sums beam.PCollection) beam.PCollection {
	s = s.Scope("Judge")
	return beam.ParDo(s, &judgeFn{Dedup: cfg.Dedup, Policy: cfg.Policy}, beam.GroupByKey(s, beam.AddFixedKey(s, sums)))
}

type judgeFn struct {
	Dedup  dedup.Options  `json:"dedup"`
	Policy filters.Policy `json:"policy"`
}

func (fn *judgeFn) ProcessElement(ctx context.Context, _ int, iter func(*summary) bool, emit func(summary)) {
	var all []summary
	var s summary
	for iter(&s) {
		all = append(all, s)
		s = summary{}
	}
	slices.SortFunc(all, func(a, b summary) int { return cmp.Compare(a.ID, b.ID) })
	items := make([]dedup.Item, len(all))
	for i, s := range all {
		items[i] = dedup.Item{ID: s.ID, Prompt: s.Prompt, Image: s.Image, Thumb: s.Thumb, HasImage: s.HasImage}
	}
	prompts, images := dedup.FindPrompts(items, fn.Dedup), dedup.FindImages(items, fn.Dedup)
	for _, s := range all {
		versionWide := []schema.JudgeResult{dedup.PromptResult(prompts, s.ID), dedup.ImageResult(images, s.ID)}
		s.Verdict = fn.Policy.Decide(append(s.Judges, versionWide...))
		countVerdict(ctx, s.Verdict)
		// The staged record holds the trajectory judges' results; the shard
		// writer adds these, so only they travel on.
		s.Judges = versionWide
		s.Prompt, s.Thumb = "", nil
		emit(s)
	}
}
