package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x1[context.Context, schema.Seed, func(generated), func(schema.Failure), error](&generateFn{})
	register.Emitter1[generated]()
}

// generated is a trajectory stripped of its heavy payloads (tokens and
// images), which stay in the staging area until the shard writer picks
// them up, so that shuffles carry only text.
type generated struct {
	T schema.Trajectory `json:"t"`
	// Bytes is the size of the staged full record.
	Bytes int64 `json:"bytes"`
	// Calls counts the trajectory's cached and made model calls per role
	// (empty without a cache, or when the trajectory was already staged).
	Calls map[string]exporters.CallCount `json:"calls,omitempty"`
}

// Generate runs the TwiG loop on every seed, many at a time within a
// bundle, and stages every full trajectory under the staging prefix. A
// sample whose loop fails becomes a failure; the bundle goes on.
func Generate(s beam.Scope, cfg Config, seedCol beam.PCollection) (gen, failed beam.PCollection) {
	s = s.Scope("Generate")
	return beam.ParDo2(s, &generateFn{
		Engine: cfg.Engine, Sim: cfg.Sim, Backends: cfg.Backends, Output: cfg.Output, Staging: StagingPrefix(cfg),
		CodeVersion: cfg.CodeVersion, ConfigHash: cfg.Hash(), Concurrency: cfg.Concurrency, Created: cfg.Created,
	}, seedCol)
}

// VersionPrefix is the version's prefix inside the output bucket.
func VersionPrefix(cfg Config) string { return cfg.Dataset + "/" + cfg.Version }

// StagingPrefix is where full trajectories wait for the shard writer. It
// is keyed by the config hash, so a rerun with the same configuration
// reuses every staged trajectory and makes no model call, and a changed
// configuration never picks up stale ones.
func StagingPrefix(cfg Config) string {
	return VersionPrefix(cfg) + "/_staging/" + cfg.Hash()[:16]
}

// generateFn runs up to Concurrency loops at once. Results are emitted
// from the calling goroutine (in ProcessElement and FinishBundle), as Beam
// requires.
type generateFn struct {
	Engine      inference.Config `json:"engine"`
	Sim         SimConfig        `json:"sim"`
	Backends    Backends         `json:"backends"`
	Output      string           `json:"output"`
	Staging     string           `json:"staging"`
	CodeVersion string           `json:"code_version"`
	ConfigHash  string           `json:"config_hash"`
	Concurrency int              `json:"concurrency"`
	Created     string           `json:"created"`

	engine   *inference.Engine
	backends *backendSet
	bucket   *blob.Bucket
	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{}
	results  chan genResult
	pending  int
	// exhausted is set once a role's spending cap is reached: no new
	// trajectory starts after that.
	exhausted atomic.Pointer[string]
}

type genResult struct {
	gen  generated
	fail *schema.Failure
}

func (fn *generateFn) Setup(ctx context.Context) error {
	set, err := openBackends(ctx, fn.Staging+"@"+fn.Created, fn.Engine, fn.Sim, fn.Backends)
	if err != nil {
		return fmt.Errorf("generate setup: %w", err)
	}
	e, err := set.engine(fn.Engine)
	if err != nil {
		set.Close()
		return fmt.Errorf("generate setup: %w", err)
	}
	fn.backends = set
	b, err := blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("generate setup: open %s: %w", redactURL(fn.Output), err)
	}
	fn.engine, fn.bucket = e, b
	fn.ctx, fn.cancel = context.WithCancel(context.Background())
	return nil
}

func (fn *generateFn) StartBundle(_ context.Context, _ func(generated), _ func(schema.Failure)) {
	fn.sem = make(chan struct{}, fn.Concurrency)
	fn.results = make(chan genResult, fn.Concurrency)
	fn.pending = 0
}

func (fn *generateFn) ProcessElement(ctx context.Context, seed schema.Seed, emit func(generated), fail func(schema.Failure)) error {
	for {
		select {
		case fn.sem <- struct{}{}:
			fn.pending++
			go func() {
				fn.results <- fn.produce(fn.ctx, seed)
				<-fn.sem
			}()
			fn.drain(false, emit, fail)
			return nil
		case r := <-fn.results:
			fn.pending--
			r.emit(emit, fail)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (fn *generateFn) FinishBundle(emit func(generated), fail func(schema.Failure)) {
	fn.drain(true, emit, fail)
}

// drain emits finished results; with wait, it waits for all of them.
func (fn *generateFn) drain(wait bool, emit func(generated), fail func(schema.Failure)) {
	for fn.pending > 0 {
		if wait {
			r := <-fn.results
			fn.pending--
			r.emit(emit, fail)
			continue
		}
		select {
		case r := <-fn.results:
			fn.pending--
			r.emit(emit, fail)
		default:
			return
		}
	}
}

func (r genResult) emit(emit func(generated), fail func(schema.Failure)) {
	if r.fail != nil {
		fail(*r.fail)
		return
	}
	emit(r.gen)
}

func (fn *generateFn) Teardown() {
	if fn.cancel != nil {
		fn.cancel()
	}
	if fn.bucket != nil {
		fn.bucket.Close()
	}
	if fn.backends != nil {
		fn.backends.Close()
	}
}

// produce returns the staged trajectory of a seed, running the loop only
// when none is staged yet.
func (fn *generateFn) produce(ctx context.Context, seed schema.Seed) genResult {
	key := path.Join(fn.Staging, seed.ID+".json")
	failed := func(err error) genResult {
		if errors.Is(err, teacher.ErrBudgetExhausted) {
			msg := err.Error()
			fn.exhausted.CompareAndSwap(nil, &msg)
		}
		return genResult{fail: &schema.Failure{
			ID: seed.ID, Stage: "generate", Source: seed.Source, Input: seed.Prompt,
			RawInput: []byte(seed.Prompt), SampleIndex: seed.SampleIndex, Error: err.Error(),
		}}
	}
	b, err := fn.bucket.ReadAll(ctx, key)
	switch {
	case err == nil:
		var t schema.Trajectory
		if err := json.Unmarshal(b, &t); err == nil && t.ID == seed.ID {
			return genResult{gen: generated{T: Strip(t), Bytes: int64(len(b))}}
		}
		// A damaged staged record is regenerated.
	case gcerrors.Code(err) != gcerrors.NotFound:
		return failed(fmt.Errorf("read staged %s: %w", key, err))
	}
	if why := fn.exhausted.Load(); why != nil {
		return failed(fmt.Errorf("%w: not started: %s", teacher.ErrBudgetExhausted, *why))
	}
	var counts cache.Counts
	t, err := fn.engine.Run(cache.WithCounts(ctx, &counts), seed)
	if err != nil {
		return failed(err)
	}
	calls := map[string]exporters.CallCount{}
	for role, c := range counts.Snapshot() {
		calls[role] = exporters.CallCount{Hits: c.Hits, Misses: c.Misses}
	}
	t.Provenance.CodeVersion, t.Provenance.ConfigHash = fn.CodeVersion, fn.ConfigHash
	if b, err = json.Marshal(t); err != nil {
		return failed(fmt.Errorf("stage %s: %w", seed.ID, err))
	}
	if err := fn.bucket.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return failed(fmt.Errorf("stage %s: %w", key, err))
	}
	return genResult{gen: generated{T: Strip(*t), Bytes: int64(len(b)), Calls: calls}}
}

// Strip returns t without its heavy payloads: tokens and image bytes.
func Strip(t schema.Trajectory) schema.Trajectory {
	regions := make([]schema.Region, len(t.Regions))
	for k, r := range t.Regions {
		atts := make([]schema.Attempt, len(r.Attempts))
		for a, at := range r.Attempts {
			at.Tokens, at.Canvas.Bytes = nil, nil
			atts[a] = at
		}
		r.Attempts = atts
		regions[k] = r
	}
	t.Regions = regions
	t.FinalTokens, t.FinalImage.Bytes = nil, nil
	return t
}
