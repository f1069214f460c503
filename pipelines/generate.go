package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/dedup"
	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn6x1[context.Context, stagedRef, func(summaries), func(stagedRef), func(schema.Failure), func(commitPart), error](&generateFn{})
	register.Emitter1[summaries]()
}

// summary is what the export stage needs of a generated and judged
// trajectory: its id, the size of its staged record, and whether the
// policy accepts it when dedup finds it unique. The full record (tokens,
// images, every judge's result) stays in the staging area until the shard
// writer picks it up, so shuffles carry a few dozen bytes per trajectory
// and the stages that must see the whole version at once stay small.
type summary struct {
	ID    string `json:"id"`
	Bytes int64  `json:"bytes"`
	// Accepted is the policy's verdict on the trajectory judges' results
	// and passing dedup results: the final verdict unless the Dedup stage
	// flags the trajectory as a near-duplicate.
	Accepted bool `json:"accepted"`
}

// fingerprint is what dedup compares of a trajectory: its normalised
// prompt and its final image's hashes.
type fingerprint struct {
	ID       string `json:"id"`
	Prompt   string `json:"prompt"`
	Image    uint64 `json:"image"`
	Thumb    []byte `json:"thumb"`
	HasImage bool   `json:"has_image"`
}

// summaries and fingerprints are batches of up to [emitBatch] of them:
// a runner that keeps elements in memory (the embedded one does) spends
// more on an element's bookkeeping than on a summary.
type (
	summaries    struct{ Rows []summary }
	fingerprints struct {
		Rows []fingerprint `json:"rows"`
	}
)

// emitBatch is the largest batch Generate emits.
const emitBatch = 256

// Generated are the outputs of [Generate].
type Generated struct {
	// Summaries of the staged trajectories (summaries).
	Summaries beam.PCollection
	// Prints are their dedup fingerprints, staged in batches (stagedRef
	// to fingerprints).
	Prints beam.PCollection
	// Failed are the samples whose loop or judging failed (schema.Failure).
	Failed beam.PCollection
	// Calls are commit parts counting the model calls made and answered
	// from the cache, one per bundle (commitPart).
	Calls beam.PCollection
}

// Generate runs the TwiG loop on every seed, many at a time within a
// bundle, runs the trajectory judges on the result (thought format,
// coverage, reflection, canvas, improvement and the VLM judge), and stages
// every full trajectory under the staging prefix. A sample whose loop or
// judging fails becomes a failure; the bundle goes on.
func Generate(s beam.Scope, cfg Config, seedCol beam.PCollection) Generated {
	s = s.Scope("Generate")
	out := beam.ParDoN(s, &generateFn{
		Engine: cfg.Engine, Sim: cfg.Sim, Backends: cfg.Backends, Output: cfg.Output, Staging: StagingPrefix(cfg),
		CodeVersion: cfg.CodeVersion, ConfigHash: cfg.Hash(), Concurrency: cfg.InFlight(), Created: cfg.Created,
		Judging: judging{ThoughtFormat: cfg.ThoughtFormat, Canvas: cfg.Canvas, VLM: cfg.VLM, Policy: cfg.Policy},
	}, seedCol)
	return Generated{Summaries: out[0], Prints: out[1], Failed: out[2], Calls: out[3]}
}

// judging is the configuration of the trajectory judges.
type judging struct {
	ThoughtFormat filters.ThoughtFormat `json:"thought_format"`
	Canvas        filters.Canvas        `json:"canvas"`
	VLM           vlm.Config            `json:"vlm"`
	// Policy decides the verdict of a trajectory that dedup finds unique.
	Policy filters.Policy `json:"policy"`
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
	Engine      inference.Config   `json:"engine"`
	Sim         backends.SimConfig `json:"sim"`
	Backends    backends.Backends  `json:"backends"`
	Output      string             `json:"output"`
	Staging     string             `json:"staging"`
	CodeVersion string             `json:"code_version"`
	ConfigHash  string             `json:"config_hash"`
	Concurrency int                `json:"concurrency"`
	Created     string             `json:"created"`
	Judging     judging            `json:"judging"`

	judges   []filters.Judge
	engine   *inference.Engine
	backends *backends.Set
	bucket   *blob.Bucket
	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{}
	results  chan genResult
	pending  int
	calls    commitPart // the bundle's model calls
	sums     summaries
	prints   fingerprints
	// exhausted is set once a role's spending cap is reached: no new
	// trajectory starts after that.
	exhausted atomic.Pointer[string]
}

type genResult struct {
	gen   summary
	print fingerprint
	calls map[string]exporters.CallCount
	fail  *schema.Failure
	// stats of the generated trajectory, counted into Beam metrics when
	// the result is emitted (metrics need the bundle's context).
	traj *schema.Trajectory
	ms   int64
}

func (fn *generateFn) Setup(ctx context.Context) error {
	set, err := backends.Open(ctx, fn.Staging+"@"+fn.Created, fn.Engine, fn.Sim, fn.Backends)
	if err != nil {
		return fmt.Errorf("generate setup: %w", err)
	}
	e, err := set.Engine(fn.Engine)
	if err != nil {
		set.Close()
		return fmt.Errorf("generate setup: %w", err)
	}
	fn.backends = set
	fn.judges, err = trajectoryJudges(Config{ThoughtFormat: fn.Judging.ThoughtFormat, Canvas: fn.Judging.Canvas, VLM: fn.Judging.VLM}, set.Viewer)
	if err != nil {
		return fmt.Errorf("generate setup: %w", err)
	}
	b, err := blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("generate setup: open %s: %w", redact.URL(fn.Output), err)
	}
	fn.engine, fn.bucket = e, b
	fn.ctx, fn.cancel = context.WithCancel(context.Background())
	return nil
}

// genEmit are generateFn's emitters.
type genEmit struct {
	summaries func(summaries)
	prints    func(stagedRef)
	fail      func(schema.Failure)
}

func (fn *generateFn) StartBundle(_ context.Context, _ func(summaries), _ func(stagedRef), _ func(schema.Failure), _ func(commitPart)) {
	fn.sem = make(chan struct{}, fn.Concurrency)
	fn.results = make(chan genResult, fn.Concurrency)
	fn.pending = 0
	fn.calls = commitPart{Kind: partCalls}
}

func (fn *generateFn) ProcessElement(ctx context.Context, ref stagedRef, emit func(summaries), print func(stagedRef), fail func(schema.Failure), _ func(commitPart)) error {
	out := genEmit{emit, print, fail}
	var block seedBlock
	if err := readJSON(ctx, fn.bucket, ref, &block); err != nil {
		return fmt.Errorf("generate: seed block: %w", err)
	}
	if len(block.Seeds) != ref.Count {
		return fmt.Errorf("generate: seed block %s holds %d seeds, want %d", ref.Key, len(block.Seeds), ref.Count)
	}
	for _, seed := range block.Seeds {
		if err := fn.start(ctx, seed, out); err != nil {
			return err
		}
	}
	return nil
}

// start starts the loop of one seed once fewer than Concurrency run,
// emitting the results that finish meanwhile.
func (fn *generateFn) start(ctx context.Context, seed schema.Seed, out genEmit) error {
	for {
		select {
		case fn.sem <- struct{}{}:
			fn.pending++
			go func() {
				fn.results <- fn.produce(fn.ctx, seed)
				<-fn.sem
			}()
			return fn.drain(ctx, false, out)
		case r := <-fn.results:
			fn.pending--
			if err := fn.emit(ctx, r, out); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// FinishBundle waits for the bundle's loops and emits, with their
// results, the model calls they made.
func (fn *generateFn) FinishBundle(ctx context.Context, emit func(summaries), print func(stagedRef), fail func(schema.Failure), calls func(commitPart)) error {
	out := genEmit{emit, print, fail}
	if err := fn.drain(ctx, true, out); err != nil {
		return err
	}
	if err := fn.flush(ctx, out); err != nil {
		return err
	}
	if len(fn.calls.Stats.Calls) > 0 {
		calls(fn.calls)
	}
	fn.calls = commitPart{Kind: partCalls}
	return nil
}

// drain emits finished results; with wait, it waits for all of them.
// A failed emit still drains the rest when waiting, so that no loop is
// left running.
func (fn *generateFn) drain(ctx context.Context, wait bool, out genEmit) error {
	var first error
	for fn.pending > 0 {
		var r genResult
		if wait {
			r = <-fn.results
		} else {
			select {
			case r = <-fn.results:
			default:
				return first
			}
		}
		fn.pending--
		if err := fn.emit(ctx, r, out); err != nil && first == nil {
			first = err
			if !wait {
				return first
			}
		}
	}
	return first
}

// emit emits a finished result; it runs on the bundle's goroutine.
func (fn *generateFn) emit(ctx context.Context, r genResult, out genEmit) error {
	Progress.Done.Add(1)
	if r.fail != nil {
		metricGenFailed.Inc(ctx, 1)
		out.fail(*r.fail)
		return nil
	}
	if r.traj != nil {
		countTrajectory(ctx, r.traj, r.ms)
	}
	for role, c := range r.calls {
		beam.NewCounter(MetricsNamespace, "calls_"+role).Inc(ctx, c.Misses)
		beam.NewCounter(MetricsNamespace, "cache_hits_"+role).Inc(ctx, c.Hits)
		fn.calls.Stats.AddCalls(role, c)
	}
	fn.sums.Rows = append(fn.sums.Rows, r.gen)
	fn.prints.Rows = append(fn.prints.Rows, r.print)
	if len(fn.sums.Rows) >= emitBatch {
		return fn.flush(ctx, out)
	}
	return nil
}

// flush emits the batch of summaries and stages the batch of
// fingerprints, emitting a reference to it: the Dedup stage gathers every
// fingerprint of the version, and a runner that keeps them in memory
// would hold each two or three times.
func (fn *generateFn) flush(ctx context.Context, out genEmit) error {
	if len(fn.sums.Rows) == 0 {
		return nil
	}
	ref, err := stageJSON(ctx, fn.bucket, fn.Staging+"/fingerprints", fn.prints, len(fn.prints.Rows))
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	out.summaries(fn.sums)
	out.prints(ref)
	fn.sums, fn.prints = summaries{}, fingerprints{}
	return nil
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
	stage := schema.StageGenerate
	failed := func(err error) genResult {
		if errors.Is(err, teacher.ErrBudgetExhausted) {
			msg := err.Error()
			fn.exhausted.CompareAndSwap(nil, &msg)
		}
		return genResult{fail: &schema.Failure{
			ID: seed.ID, Stage: stage, Kind: KindOf(err), Source: seed.Source, Input: seed.Prompt,
			RawInput: []byte(seed.Prompt), SampleIndex: seed.SampleIndex, Error: err.Error(),
		}}
	}
	b, err := fn.bucket.ReadAll(ctx, key)
	switch {
	case err == nil:
		var t schema.Trajectory
		if err := json.Unmarshal(b, &t); err == nil && t.ID == seed.ID && len(t.Judges) > 0 {
			return fn.summarize(&t, int64(len(b)), nil)
		}
		// A damaged staged record is regenerated.
	case gcerrors.Code(err) != gcerrors.NotFound:
		return failed(fmt.Errorf("read staged %s: %w", key, err))
	}
	if why := fn.exhausted.Load(); why != nil {
		return failed(fmt.Errorf("%w: not started: %s", teacher.ErrBudgetExhausted, *why))
	}
	var counts cache.Counts
	start := time.Now()
	t, err := fn.engine.Run(cache.WithCounts(ctx, &counts), seed)
	if err != nil {
		return failed(err)
	}
	t.Provenance.CodeVersion, t.Provenance.ConfigHash = fn.CodeVersion, fn.ConfigHash
	stage = schema.StageJudge
	if err := filters.Apply(cache.WithCounts(ctx, &counts), fn.judges, filters.Policy{}, t); err != nil {
		return failed(err)
	}
	t.Verdict = schema.Verdict{} // decided by the Dedup stage, once dedup has seen every trajectory
	for _, j := range fn.judges {
		if v, ok := j.(filters.Prompted); ok {
			t.Provenance.Templates = append(t.Provenance.Templates, v.Template())
			t.Provenance.Models = append(t.Provenance.Models, schema.RoleModel{Role: inference.RoleJudge, Model: fn.judgeModel()})
		}
	}
	calls := map[string]exporters.CallCount{}
	for role, c := range counts.Snapshot() {
		calls[role] = exporters.CallCount{Hits: c.Hits, Misses: c.Misses}
	}
	stage = schema.StageGenerate
	if b, err = json.Marshal(t); err != nil {
		return failed(fmt.Errorf("stage %s: %w", seed.ID, err))
	}
	// The record holds finished GPU and LLM work: a short outage of the
	// object store is waited out rather than losing it.
	err = retryStaging(ctx, func() error {
		return fn.bucket.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: "application/json"})
	})
	if err != nil {
		return failed(fmt.Errorf("stage %s: %w", key, err))
	}
	// The metrics need only the trajectory's text: drop the payloads now.
	light := *t
	light.Regions = nil
	for _, r := range t.Regions {
		r.Attempts = slices.Clone(r.Attempts)
		for i := range r.Attempts {
			r.Attempts[i].Tokens, r.Attempts[i].Canvas.Bytes = nil, nil
		}
		light.Regions = append(light.Regions, r)
	}
	light.FinalImage.Bytes, light.FinalTokens = nil, nil
	r := fn.summarize(t, int64(len(b)), calls)
	r.traj, r.ms = &light, time.Since(start).Milliseconds()
	return r
}

// judgeModel names the model of the vlm judge.
func (fn *generateFn) judgeModel() string {
	if fn.Backends.Judge.BaseURL != "" {
		return fn.Backends.Judge.Model
	}
	return sim.DefaultVLMModel
}

// summarize returns the result of a judged trajectory whose staged record
// has size bytes: its summary, with the policy's verdict should dedup find
// it unique, and its dedup fingerprint.
func (fn *generateFn) summarize(t *schema.Trajectory, size int64, calls map[string]exporters.CallCount) genResult {
	v := fn.Judging.Policy.Decide(append(slices.Clone(t.Judges), uniqueResults(t.ID)...))
	r := genResult{
		gen:   summary{ID: t.ID, Bytes: size, Accepted: v.Status == schema.StatusAccepted},
		print: fingerprint{ID: t.ID, Prompt: t.PromptNormalized},
		calls: calls,
	}
	if len(t.FinalImage.Bytes) > 0 {
		if h, thumb, err := dedup.ImagePrint(t.FinalImage.Bytes); err == nil {
			r.print.Image, r.print.Thumb, r.print.HasImage = h, thumb, true
		}
	}
	return r
}
