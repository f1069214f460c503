package pipelines

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/twigdata/twig/filters/dedup"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x1[context.Context, int, func(*stagedRef) bool, func(dupResult), error](&dedupFn{})
	register.Iter1[stagedRef]()
	register.Emitter1[dupResult]()
}

// dupResult carries the dedup judges' results of a trajectory that the
// Dedup stage flagged as a near-duplicate. Every other trajectory gets
// [uniqueResults].
type dupResult struct {
	ID     string               `json:"id"`
	Judges []schema.JudgeResult `json:"judges"`
}

// Dedup finds the near-duplicate prompts and images of the version: it
// runs the two dedup judges, the only judges that need the whole version,
// over every trajectory's fingerprint (id, normalised prompt, image
// hashes: no images, no judge results) and returns the results of the
// near-duplicates only. The export stage decides verdicts from them and
// the trajectory judges' results, a trajectory at a time, so nothing but
// the fingerprints is ever gathered in one place.
func Dedup(s beam.Scope, cfg Config, prints beam.PCollection) beam.PCollection {
	s = s.Scope("Dedup")
	return beam.ParDo(s, &dedupFn{bucketFn: bucketFn{Output: cfg.Output}, Options: cfg.Dedup}, beam.GroupByKey(s, beam.AddFixedKey(s, prints)))
}

// dedupFn reads every fingerprint and emits the near-duplicates' results.
type dedupFn struct {
	bucketFn
	Options dedup.Options `json:"dedup"`
}

func (fn *dedupFn) ProcessElement(ctx context.Context, _ int, iter func(*stagedRef) bool, emit func(dupResult)) error {
	var refs []stagedRef
	var ref stagedRef
	n := 0
	for iter(&ref) {
		refs, n = append(refs, ref), n+ref.Count
	}
	items := make([]dedup.Item, 0, n)
	for _, ref := range refs {
		var b fingerprints
		if err := readJSON(ctx, fn.bucket, ref, &b); err != nil {
			return fmt.Errorf("dedup: fingerprints: %w", err)
		}
		if len(b.Rows) != ref.Count {
			return fmt.Errorf("dedup: fingerprints %s holds %d, want %d", ref.Key, len(b.Rows), ref.Count)
		}
		for _, p := range b.Rows {
			items = append(items, dedup.Item{ID: p.ID, Prompt: p.Prompt, Image: p.Image, Thumb: p.Thumb, HasImage: p.HasImage})
		}
	}
	slices.SortFunc(items, func(a, b dedup.Item) int { return cmp.Compare(a.ID, b.ID) })
	prompts, images := dedup.FindPrompts(items, fn.Options), dedup.FindImages(items, fn.Options)
	ids := make([]string, 0, len(prompts)+len(images))
	for id := range prompts {
		ids = append(ids, id)
	}
	for id := range images {
		if _, ok := prompts[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		emit(dupResult{ID: id, Judges: []schema.JudgeResult{dedup.PromptResult(prompts, id), dedup.ImageResult(images, id)}})
	}
	return nil
}

// uniqueResults are the dedup judges' results of a trajectory that is no
// near-duplicate.
func uniqueResults(id string) []schema.JudgeResult {
	return []schema.JudgeResult{dedup.PromptResult(nil, id), dedup.ImageResult(nil, id)}
}

// dupIndex reads the Dedup stage's results into a map, once per DoFn
// instance: there are few.
type dupIndex map[string][]schema.JudgeResult

func readDups(iter func(*dupResult) bool) dupIndex {
	m := dupIndex{}
	var d dupResult
	for iter(&d) {
		m[d.ID] = d.Judges
		d = dupResult{}
	}
	return m
}

// results returns the dedup judges' results of id.
func (m dupIndex) results(id string) []schema.JudgeResult {
	if r, ok := m[id]; ok {
		return r
	}
	return uniqueResults(id)
}
