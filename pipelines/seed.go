package pipelines

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"golang.org/x/sync/errgroup"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/pipelines/seeds"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x1[context.Context, string, func(seeds.Line), func(schema.Failure), error](&readFileFn{})
	register.DoFn3x0[[]byte, func(seeds.Line), func(schema.Failure)](&composeFn{})
	register.DoFn5x1[context.Context, int, func(*seeds.Line) bool, func(stagedRef), func(commitPart), error](&planSeedsFn{})
	register.Emitter1[seeds.Line]()
	register.Emitter1[stagedRef]()
	register.Emitter1[schema.Failure]()
	register.Emitter1[commitPart]()
	register.Iter1[seeds.Line]()
}

// seedBlock is up to [seedBlockSize] seeds, staged as one object under
// the staging prefix. Only a [stagedRef] to it travels through the runner:
// a runner that keeps elements in memory (the embedded one does, and
// hands a stage all its input at once) would otherwise hold every seed of
// the version, several times over, for the whole run.
type seedBlock struct {
	Seeds []schema.Seed `json:"seeds"`
}

// seedBlockSize is the number of seeds in a block: small enough that
// blocks spread evenly over workers (a worker runs up to 128 loops).
const seedBlockSize = 64

// Seed reads or composes the prompts, drops exact duplicates, applies the
// limit and expands each prompt into its samples. It returns the seeds in
// blocks (stagedRef), the input lines that failed, and a commit part
// counting both.
func Seed(s beam.Scope, cfg Config) (seedCol, failed, parts beam.PCollection) {
	s = s.Scope("Seed")
	var lines beam.PCollection
	if len(cfg.Prompts) > 0 {
		lines, failed = beam.ParDo2(s, &readFileFn{MaxBytes: cfg.MaxPromptBytes}, beam.CreateList(s, cfg.Prompts))
	} else {
		lines, failed = beam.ParDo2(s, &composeFn{N: cfg.Builtin, Seed: cfg.Seed}, beam.Impulse(s))
	}
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, lines))
	seedCol, parts = beam.ParDo2(s, &planSeedsFn{
		Dataset: cfg.Dataset, Split: cfg.Split, Limit: cfg.Limit,
		Samples: cfg.SamplesPerPrompt, Seed: cfg.Seed,
		Staging: StagingPrefix(cfg), bucketFn: bucketFn{Output: cfg.Output},
	}, grouped)
	// The plan runs on one worker; spread the samples out again.
	return beam.Reshuffle(s, seedCol), failed, parts
}

// readFileFn reads one prompt file into lines and failed lines.
type readFileFn struct {
	MaxBytes int `json:"max_bytes"`
}

func (fn *readFileFn) ProcessElement(ctx context.Context, path string, emit func(seeds.Line), fail func(schema.Failure)) error {
	lines, failures, err := seeds.ReadFile(ctx, path, seeds.Config{MaxBytes: fn.MaxBytes})
	if err != nil {
		// The file was readable when the job was built; losing it now is
		// recorded, not fatal to the other files.
		fail(schema.Failure{Stage: schema.StageSeed, Kind: KindOf(err), Source: schema.Source{URI: path}, Error: err.Error()})
		return nil
	}
	for _, l := range lines {
		// The global grouping holds every line: it carries the prompt only,
		// not the line's exact bytes (only a failed line keeps those) nor
		// the normalised prompt, which planning recomputes.
		l.Raw, l.Normalized = nil, ""
		emit(l)
	}
	for _, f := range failures {
		fail(f)
	}
	metricSeedFailed.Inc(ctx, int64(len(failures)))
	return nil
}

// composeFn composes the built-in prompts.
type composeFn struct {
	N    int   `json:"n"`
	Seed int64 `json:"seed"`
}

// BuiltinURI is the source URI of composed prompts.
func BuiltinURI(seed int64) string { return fmt.Sprintf("builtin:compbench?seed=%d", seed) }

func (fn *composeFn) ProcessElement(_ []byte, emit func(seeds.Line), _ func(schema.Failure)) {
	uri := BuiltinURI(fn.Seed)
	for i, c := range annotators.Compose(fn.N, fn.Seed) {
		emit(seeds.Line{
			Source: schema.Source{URI: uri, Line: int64(i + 1)},
			Prompt: c.Text, Category: c.Category,
		})
	}
}

// planSeedsFn plans the samples of every line (seeds.Plan), stages them in
// blocks and emits the blocks and the plan's counts. It sees every line at
// once, which is cheap: lines are short and there is one per prompt.
type planSeedsFn struct {
	Dataset string `json:"dataset"`
	Split   string `json:"split"`
	Limit   int    `json:"limit"`
	Samples int    `json:"samples"`
	Seed    int64  `json:"seed"`
	Staging string `json:"staging"`
	bucketFn
}

func (fn *planSeedsFn) ProcessElement(ctx context.Context, _ int, iter func(*seeds.Line) bool, emit func(stagedRef), part func(commitPart)) error {
	var lines []seeds.Line
	var l seeds.Line
	for iter(&l) {
		l.Normalized = seeds.Normalize(l.Prompt)
		lines = append(lines, l)
		l = seeds.Line{}
	}
	out, n := seeds.Plan(lines, seeds.PlanConfig{Dataset: fn.Dataset, Split: fn.Split, Limit: fn.Limit, Samples: fn.Samples, Seed: fn.Seed})
	lines = nil
	refs := make([]stagedRef, (len(out)+seedBlockSize-1)/seedBlockSize)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range refs {
		block := seedBlock{Seeds: out[i*seedBlockSize : min((i+1)*seedBlockSize, len(out))]}
		g.Go(func() (err error) {
			refs[i], err = stageJSON(gctx, fn.bucket, fn.Staging+"/seeds", block, len(block.Seeds))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("stage seeds: %w", err)
	}
	for _, r := range refs {
		emit(r)
	}
	metricSeeded.Inc(ctx, int64(len(out)))
	Progress.Seeded.Add(int64(len(out)))
	part(commitPart{Kind: partSeeds, Prompts: n.Prompts, Seeded: n.Seeded, Duplicates: n.Duplicates, Limited: n.Limited})
	return nil
}
