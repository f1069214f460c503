package pipelines

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/version"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x1[context.Context, summaries, func(*dupResult) bool, func(summaries), error](&decideFn{})
	register.DoFn3x0[int, func(*summaries) bool, func(shardTask)](&planShardsFn{})
	register.DoFn4x1[context.Context, shardTask, func(*dupResult) bool, func(commitPart), error](&writeShardFn{})
	register.Iter1[summaries]()
	register.Iter1[dupResult]()
	register.DoFn4x1[context.Context, int, func(*schema.Failure) bool, func(commitPart), error](&writeFailedFn{})
	register.DoFn2x0[[]byte, func(commitPart)](&startPartFn{})
	register.DoFn4x1[context.Context, int, func(*commitPart) bool, func(string), error](&commitFn{})
	register.Emitter1[shardTask]()
	register.Emitter1[string]()
	register.Iter1[schema.Failure]()
	register.Iter1[commitPart]()
}

// Kinds of commit parts.
const (
	partStart = "start" // always present, so the commit runs even on empty input
	partSeeds = "seeds" // the seed stage's counts
	partShard = "shard" // one written shard, with the statistics of its rows
	partCalls = "calls" // model calls made and answered from the cache
)

// commitPart is one piece of what the manifest says, gathered from the
// stages that know it.
type commitPart struct {
	Kind string `json:"kind"`
	// Seed-stage counts (partSeeds).
	Prompts    int64 `json:"prompts,omitempty"`
	Seeded     int64 `json:"seeded,omitempty"`
	Duplicates int64 `json:"duplicates,omitempty"`
	Limited    int64 `json:"limited,omitempty"`
	// A written shard (partShard).
	Config       string               `json:"config,omitempty"`
	Shard        exporters.ShardInfo  `json:"shard"`
	Stats        exporters.Stats      `json:"stats"`
	SeedFailures int64                `json:"seed_failures,omitempty"`
	Models       []schema.RoleModel   `json:"models,omitempty"`
	Templates    []schema.TemplateRef `json:"templates,omitempty"`
}

// shardTask asks for one planned shard to be written from staged
// trajectories.
type shardTask = version.Task

// Export decides every trajectory's verdict from its summary and the
// Dedup stage's near-duplicates, writes the accepted and rejected
// trajectories and the failures as Parquet shards, then the dataset card
// and, last, the manifest that commits the version. parts are the commit
// parts of earlier stages (seed counts, model calls). It returns the
// manifest's key.
func Export(s beam.Scope, cfg Config, sums, dups, failed, parts beam.PCollection) beam.PCollection {
	s = s.Scope("Export")
	prefix := VersionPrefix(cfg)
	rows := beam.ParDo(s, &decideFn{bucketFn: bucketFn{Output: cfg.Output}, Staging: StagingPrefix(cfg), Policy: cfg.Policy},
		sums, beam.SideInput{Input: dups})
	tasks := beam.ParDo(s, &planShardsFn{Rules: rulesOf(cfg)},
		beam.GroupByKey(s, beam.AddFixedKey(s, rows)))
	shards := beam.ParDo(s, &writeShardFn{bucketFn: bucketFn{Output: cfg.Output}, Prefix: prefix, Staging: StagingPrefix(cfg), SFT: cfg.SFT, Policy: cfg.Policy},
		beam.Reshuffle(s, tasks), beam.SideInput{Input: dups})
	failedShards := beam.ParDo(s, &writeFailedFn{Output: cfg.Output, Prefix: prefix},
		beam.GroupByKey(s, beam.AddFixedKey(s, failed)))
	start := beam.ParDo(s, &startPartFn{}, beam.Impulse(s))
	all := beam.Flatten(s, start, parts, shards, failedShards)
	return beam.ParDo(s, newCommitFn(cfg), beam.GroupByKey(s, beam.AddFixedKey(s, all)))
}

// decideFn settles the verdicts of a batch of summaries: a trajectory
// dedup found unique keeps the verdict decided when it was judged; a
// near-duplicate's is decided again from its staged judge results and its
// dedup results.
type decideFn struct {
	bucketFn
	Staging string         `json:"staging"`
	Policy  filters.Policy `json:"policy"`
	dups    dupIndex
}

func (fn *decideFn) ProcessElement(ctx context.Context, b summaries, dups func(*dupResult) bool, emit func(summaries)) error {
	if fn.dups == nil {
		fn.dups = readDups(dups)
	}
	for i, s := range b.Rows {
		more, ok := fn.dups[s.ID]
		if !ok {
			continue
		}
		t, err := readStaged(ctx, fn.bucket, path.Join(fn.Staging, s.ID+".json"))
		if err != nil {
			return fmt.Errorf("decide %s: %w", s.ID, err)
		}
		b.Rows[i].Accepted = fn.Policy.Decide(mergeJudges(t.Judges, more)).Status == schema.StatusAccepted
	}
	emit(b)
	return nil
}

// rulesOf returns the settings of cfg that decide the version's shards.
func rulesOf(cfg Config) version.Rules {
	return version.Rules{ShardBytes: cfg.ShardBytes, Split: cfg.Split, SFT: cfg.SFT, WebDataset: cfg.WebDataset}
}

// planShardsFn plans the version's shards from every judged trajectory's
// summary (version.Plan). It holds only summaries, never images.
type planShardsFn struct {
	Rules version.Rules `json:"rules"`
}

func (fn *planShardsFn) ProcessElement(_ int, iter func(*summaries) bool, emit func(shardTask)) {
	var rows []version.Row
	var b summaries
	for iter(&b) {
		for _, r := range b.Rows {
			rows = append(rows, version.Row(r))
		}
		b = summaries{}
	}
	for _, task := range version.Plan(rows, fn.Rules) {
		emit(task)
	}
}

// writeShardFn writes one shard, reading each trajectory's full record
// from staging and adding the version-wide judges' results and the
// verdict. Rows stream through one at a time, so memory holds one row
// group, not the shard.
type writeShardFn struct {
	bucketFn
	Prefix  string           `json:"prefix"`
	Staging string           `json:"staging"`
	SFT     exporters.SFTMix `json:"sft"`
	Policy  filters.Policy   `json:"policy"`
	dups    dupIndex
}

func (fn *writeShardFn) ProcessElement(ctx context.Context, task shardTask, dups func(*dupResult) bool, emit func(commitPart)) error {
	if fn.dups == nil {
		fn.dups = readDups(dups)
	}
	w, err := version.Open(ctx, fn.bucket, fn.Prefix, task, fn.SFT)
	if err != nil {
		return fmt.Errorf("shard %s: %w", task.Path, err)
	}
	part := commitPart{Kind: partShard, Config: task.Config}
	for _, id := range task.IDs {
		t, err := readStaged(ctx, fn.bucket, path.Join(fn.Staging, id+".json"))
		if err != nil {
			w.Abort()
			return fmt.Errorf("shard %s: %w", task.Path, err)
		}
		// The staged record holds the trajectory judges' full results; the
		// Dedup stage adds the whole-version judges (dedup), and the
		// verdict follows from all of them as it did when planning.
		t.Judges = mergeJudges(t.Judges, fn.dups.results(id))
		t.Verdict = fn.Policy.Decide(t.Judges)
		if accepted := t.Verdict.Status == schema.StatusAccepted; accepted != (task.Config == exporters.ConfigTrajectories) {
			w.Abort()
			return fmt.Errorf("shard %s: %s: verdict %s differs from the one its shard was planned with", task.Path, id, t.Verdict.Status)
		}
		countVerdict(ctx, t.Verdict)
		if err := w.Write(&t); err != nil {
			w.Abort()
			return fmt.Errorf("shard %s: %w", task.Path, err)
		}
		part.Models = version.MergeModels(part.Models, t.Provenance.Models)
		part.Templates = version.MergeTemplates(part.Templates, t.Provenance.Templates)
	}
	infos, stats, err := w.Close()
	if err != nil {
		return fmt.Errorf("shard %s: %w", task.Path, err)
	}
	part.Shard, part.Stats = infos[task.Config], stats
	metricShards.Inc(ctx, 1)
	metricShardBytes.Inc(ctx, part.Shard.Bytes+infos[exporters.ConfigSFT].Bytes)
	for _, config := range []string{exporters.ConfigSFT, exporters.ConfigWebDataset} {
		if info, ok := infos[config]; ok {
			emit(commitPart{Kind: partShard, Config: config, Shard: info})
		}
	}
	emit(part)
	return nil
}

// readStaged reads a staged trajectory, as every staged object is read
// (readJSON: retried through a short outage).
func readStaged(ctx context.Context, b *blob.Bucket, key string) (schema.Trajectory, error) {
	var t schema.Trajectory
	err := readJSON(ctx, b, stagedRef{Key: key}, &t)
	return t, err
}

// writeFailedFn writes every failure, sorted, into the failed shard.
type writeFailedFn struct {
	Output string `json:"output"`
	Prefix string `json:"prefix"`
}

func (fn *writeFailedFn) ProcessElement(ctx context.Context, _ int, iter func(*schema.Failure) bool, emit func(commitPart)) error {
	var rows []schema.Failure
	var f schema.Failure
	part := commitPart{Kind: partShard, Config: exporters.ConfigFailed}
	for iter(&f) {
		rows = append(rows, f)
		if f.Stage == schema.StageSeed {
			part.SeedFailures++
		}
		if f.Kind == schema.FailureBudget {
			part.Stats.BudgetStopped++
		}
		f = schema.Failure{}
	}
	slices.SortFunc(rows, func(a, b schema.Failure) int {
		return cmp.Or(cmp.Compare(a.Source.URI, b.Source.URI), cmp.Compare(a.Source.Line, b.Source.Line),
			cmp.Compare(a.ID, b.ID), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Error, b.Error))
	})
	b, err := blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("failed shard: open %s: %w", redact.URL(fn.Output), err)
	}
	defer b.Close()
	l, _ := exporters.LayoutOf(exporters.ConfigFailed)
	part.Shard, err = exporters.WriteShard(ctx, b, fn.Prefix, l.ShardPath(0, 1), rows, exporters.ShardOptions{})
	if err != nil {
		return fmt.Errorf("failed shard: %w", err)
	}
	emit(part)
	return nil
}

type startPartFn struct{}

func (*startPartFn) ProcessElement(_ []byte, emit func(commitPart)) {
	emit(commitPart{Kind: partStart})
}

// commitFn assembles the manifest from every part, commits the version
// (version.Commit: stale shards removed, card, stats, manifest last) and
// then clears the staging area.
type commitFn struct {
	Output     string          `json:"output"`
	Prefix     string          `json:"prefix"`
	Staging    string          `json:"staging"`
	Dataset    string          `json:"dataset"`
	Version    string          `json:"version"`
	Created    string          `json:"created"`
	Code       string          `json:"code"`
	Config     json.RawMessage `json:"config"`
	ConfigHash string          `json:"config_hash"`
}

func newCommitFn(cfg Config) *commitFn {
	return &commitFn{
		Output: cfg.Output, Prefix: VersionPrefix(cfg), Staging: StagingPrefix(cfg),
		Dataset: cfg.Dataset, Version: cfg.Version, Created: cfg.Created, Code: cfg.CodeVersion,
		Config: cfg.Shown(), ConfigHash: cfg.Hash(),
	}
}

func (fn *commitFn) ProcessElement(ctx context.Context, _ int, iter func(*commitPart) bool, emit func(string)) error {
	m := &exporters.Manifest{
		SchemaVersion: schema.Version, TwigVersion: fn.Code, Dataset: fn.Dataset, Version: fn.Version,
		Created: fn.Created, Config: fn.Config, ConfigHash: fn.ConfigHash,
		Shards: map[string][]exporters.ShardInfo{},
	}
	var p commitPart
	var seedFailures int64
	for iter(&p) {
		switch p.Kind {
		case partSeeds:
			m.Counts.Seeded += p.Seeded
			m.Counts.DuplicatesDropped += p.Duplicates
		case partShard:
			m.Shards[p.Config] = append(m.Shards[p.Config], p.Shard)
			m.Stats.Merge(p.Stats)
			m.Models = version.MergeModels(m.Models, p.Models)
			m.Templates = version.MergeTemplates(m.Templates, p.Templates)
			seedFailures += p.SeedFailures
		case partCalls:
			m.Stats.Merge(p.Stats)
		}
		p = commitPart{}
	}
	m.Counts.Seeded += seedFailures
	version.Finish(m)

	b, err := blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("commit: open %s: %w", redact.URL(fn.Output), err)
	}
	defer b.Close()
	if err := version.Commit(ctx, b, fn.Prefix, m); err != nil {
		return err
	}
	if err := removeAll(ctx, b, fn.Prefix+"/_staging/"); err != nil {
		return fmt.Errorf("commit: clear staging: %w", err)
	}
	emit(exporters.Key(fn.Prefix, exporters.ManifestFile))
	return nil
}

// removeAll deletes every object under prefix.
func removeAll(ctx context.Context, b *blob.Bucket, prefix string) error {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := b.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return err
		}
	}
}

// mergeJudges returns the staged judge results followed by the results in
// more of judges the staged record does not have.
func mergeJudges(staged, more []schema.JudgeResult) []schema.JudgeResult {
	out := slices.Clone(staged)
	for _, r := range more {
		if !slices.ContainsFunc(staged, func(s schema.JudgeResult) bool { return s.Name == r.Name }) {
			out = append(out, r)
		}
	}
	return out
}
