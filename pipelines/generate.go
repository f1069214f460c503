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
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x1[context.Context, schema.Seed, func(summary), func(schema.Failure), error](&generateFn{})
	register.Emitter1[summary]()
}

// summary is what the later stages need of a generated and judged
// trajectory: its id, the trajectory judges' results, what dedup compares
// (normalised prompt, final image hash) and the size of its staged
// record. The full record (tokens, images) stays in the staging area until
// the shard writer picks it up, so shuffles carry only summaries and the
// export stage can plan shards over all of them at once.
type summary struct {
	ID     string               `json:"id"`
	Bytes  int64                `json:"bytes"`
	Judges []schema.JudgeResult `json:"judges"`
	// Verdict is set by the Judge stage, under the policy.
	Verdict  schema.Verdict `json:"verdict"`
	Prompt   string         `json:"prompt"`
	Image    uint64         `json:"image"`
	Thumb    []byte         `json:"thumb"`
	HasImage bool           `json:"has_image"`
	// Calls counts the trajectory's cached and made model calls per role
	// (empty without a cache, or when the trajectory was already staged).
	Calls map[string]exporters.CallCount `json:"calls,omitempty"`
}

// Generate runs the TwiG loop on every seed, many at a time within a
// bundle, runs the trajectory judges on the result (thought format,
// coverage, reflection, canvas, improvement and the VLM judge), and stages
// every full trajectory under the staging prefix. A sample whose loop or
// judging fails becomes a failure; the bundle goes on.
func Generate(s beam.Scope, cfg Config, seedCol beam.PCollection) (gen, failed beam.PCollection) {
	s = s.Scope("Generate")
	return beam.ParDo2(s, &generateFn{
		Engine: cfg.Engine, Sim: cfg.Sim, Backends: cfg.Backends, Output: cfg.Output, Staging: StagingPrefix(cfg),
		CodeVersion: cfg.CodeVersion, ConfigHash: cfg.Hash(), Concurrency: cfg.InFlight(), Created: cfg.Created,
		Judging: judging{ThoughtFormat: cfg.ThoughtFormat, Canvas: cfg.Canvas, VLM: cfg.VLM},
	}, seedCol)
}

// judging is the configuration of the trajectory judges.
type judging struct {
	ThoughtFormat filters.ThoughtFormat `json:"thought_format"`
	Canvas        filters.Canvas        `json:"canvas"`
	VLM           vlm.Config            `json:"vlm"`
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
	Judging     judging          `json:"judging"`

	judges   []filters.Judge
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
	gen  summary
	fail *schema.Failure
	// stats of the generated trajectory, counted into Beam metrics when
	// the result is emitted (metrics need the bundle's context).
	traj *schema.Trajectory
	ms   int64
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
	fn.judges, err = trajectoryJudges(Config{ThoughtFormat: fn.Judging.ThoughtFormat, Canvas: fn.Judging.Canvas, VLM: fn.Judging.VLM}, set.viewer)
	if err != nil {
		return fmt.Errorf("generate setup: %w", err)
	}
	b, err := blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("generate setup: open %s: %w", redactURL(fn.Output), err)
	}
	fn.engine, fn.bucket = e, b
	fn.ctx, fn.cancel = context.WithCancel(context.Background())
	return nil
}

func (fn *generateFn) StartBundle(_ context.Context, _ func(summary), _ func(schema.Failure)) {
	fn.sem = make(chan struct{}, fn.Concurrency)
	fn.results = make(chan genResult, fn.Concurrency)
	fn.pending = 0
}

func (fn *generateFn) ProcessElement(ctx context.Context, seed schema.Seed, emit func(summary), fail func(schema.Failure)) error {
	for {
		select {
		case fn.sem <- struct{}{}:
			fn.pending++
			go func() {
				fn.results <- fn.produce(fn.ctx, seed)
				<-fn.sem
			}()
			fn.drain(ctx, false, emit, fail)
			return nil
		case r := <-fn.results:
			fn.pending--
			r.emit(ctx, emit, fail)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (fn *generateFn) FinishBundle(ctx context.Context, emit func(summary), fail func(schema.Failure)) {
	fn.drain(ctx, true, emit, fail)
}

// drain emits finished results; with wait, it waits for all of them.
func (fn *generateFn) drain(ctx context.Context, wait bool, emit func(summary), fail func(schema.Failure)) {
	for fn.pending > 0 {
		if wait {
			r := <-fn.results
			fn.pending--
			r.emit(ctx, emit, fail)
			continue
		}
		select {
		case r := <-fn.results:
			fn.pending--
			r.emit(ctx, emit, fail)
		default:
			return
		}
	}
}

func (r genResult) emit(ctx context.Context, emit func(summary), fail func(schema.Failure)) {
	Progress.Done.Add(1)
	if r.fail != nil {
		metricGenFailed.Inc(ctx, 1)
		fail(*r.fail)
		return
	}
	if r.traj != nil {
		countTrajectory(ctx, r.traj, r.ms)
	}
	for role, c := range r.gen.Calls {
		beam.NewCounter(MetricsNamespace, "calls_"+role).Inc(ctx, c.Misses)
		beam.NewCounter(MetricsNamespace, "cache_hits_"+role).Inc(ctx, c.Hits)
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
	stage := "generate"
	failed := func(err error) genResult {
		if errors.Is(err, teacher.ErrBudgetExhausted) {
			msg := err.Error()
			fn.exhausted.CompareAndSwap(nil, &msg)
		}
		return genResult{fail: &schema.Failure{
			ID: seed.ID, Stage: stage, Source: seed.Source, Input: seed.Prompt,
			RawInput: []byte(seed.Prompt), SampleIndex: seed.SampleIndex, Error: err.Error(),
		}}
	}
	b, err := fn.bucket.ReadAll(ctx, key)
	switch {
	case err == nil:
		var t schema.Trajectory
		if err := json.Unmarshal(b, &t); err == nil && t.ID == seed.ID && len(t.Judges) > 0 {
			return genResult{gen: summarize(&t, int64(len(b)), nil)}
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
	stage = "judge"
	if err := filters.Apply(cache.WithCounts(ctx, &counts), fn.judges, filters.Policy{}, t); err != nil {
		return failed(err)
	}
	t.Verdict = schema.Verdict{} // decided by the Judge stage, once dedup has seen every trajectory
	for _, j := range fn.judges {
		if v, ok := j.(*vlm.Judge); ok {
			t.Provenance.Templates = append(t.Provenance.Templates, v.Template())
			t.Provenance.Models = append(t.Provenance.Models, schema.RoleModel{Role: inference.RoleJudge, Model: fn.judgeModel()})
		}
	}
	calls := map[string]exporters.CallCount{}
	for role, c := range counts.Snapshot() {
		calls[role] = exporters.CallCount{Hits: c.Hits, Misses: c.Misses}
	}
	stage = "generate"
	if b, err = json.Marshal(t); err != nil {
		return failed(fmt.Errorf("stage %s: %w", seed.ID, err))
	}
	if err := fn.bucket.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
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
	return genResult{gen: summarize(t, int64(len(b)), calls), traj: &light, ms: time.Since(start).Milliseconds()}
}

// judgeModel names the model of the vlm judge.
func (fn *generateFn) judgeModel() string {
	if fn.Backends.Judge.BaseURL != "" {
		return fn.Backends.Judge.Model
	}
	return sim.DefaultVLMModel
}

// summarize returns the summary of a judged trajectory whose staged
// record has size bytes.
func summarize(t *schema.Trajectory, size int64, calls map[string]exporters.CallCount) summary {
	// Only what the Judge stage needs travels: every judge's score and
	// pass, and the reason of those that did not pass perfectly (a verdict
	// quotes it, also when a policy threshold fails a passing judge); the
	// full results stay in the staged record.
	judges := make([]schema.JudgeResult, len(t.Judges))
	for i, j := range t.Judges {
		if j.Pass && j.Score >= 1 {
			j.Reason = ""
		}
		judges[i] = j
	}
	s := summary{ID: t.ID, Bytes: size, Judges: judges, Prompt: t.PromptNormalized, Calls: calls}
	if len(t.FinalImage.Bytes) > 0 {
		if h, thumb, err := dedup.ImagePrint(t.FinalImage.Bytes); err == nil {
			s.Image, s.Thumb, s.HasImage = h, thumb, true
		}
	}
	return s
}
