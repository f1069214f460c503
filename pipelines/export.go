package pipelines

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/twigdata/twig/internal/redact"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/inference/teacher"
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

// shardTask asks for one shard to be written from staged trajectories.
type shardTask struct {
	Config string    `json:"config"`
	Path   string    `json:"path"`
	Rows   []summary `json:"rows"`
	// SFTPath, for accepted trajectories, is the sft shard of their subtasks.
	SFTPath string `json:"sft_path,omitempty"`
	// TarPath, when WebDataset shards are on, is their WebDataset shard.
	TarPath string `json:"tar_path,omitempty"`
}

// Export decides every trajectory's verdict from its summary and the
// Judge stage's near-duplicates, writes the accepted and rejected
// trajectories and the failures as Parquet shards, then the dataset card
// and, last, the manifest that commits the version. parts are the commit
// parts of earlier stages (seed counts, model calls). It returns the
// manifest's key.
func Export(s beam.Scope, cfg Config, sums, dups, failed, parts beam.PCollection) beam.PCollection {
	s = s.Scope("Export")
	prefix := VersionPrefix(cfg)
	rows := beam.ParDo(s, &decideFn{bucketFn: bucketFn{Output: cfg.Output}, Staging: StagingPrefix(cfg), Policy: cfg.Policy},
		sums, beam.SideInput{Input: dups})
	tasks := beam.ParDo(s, &planShardsFn{ShardBytes: cfg.ShardBytes, Split: cfg.Split, WebDataset: cfg.WebDataset},
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

// planShardsFn sorts the judged trajectories by id and cuts them into
// shards by staged size. It holds only summaries, never images.
type planShardsFn struct {
	ShardBytes int64  `json:"shard_bytes"`
	Split      string `json:"split"`
	WebDataset bool   `json:"webdataset"`
}

func (fn *planShardsFn) ProcessElement(_ int, iter func(*summaries) bool, emit func(shardTask)) {
	byConfig := map[string][]summary{}
	var b summaries
	for iter(&b) {
		for _, r := range b.Rows {
			config := exporters.ConfigRejected
			if r.Accepted {
				config = exporters.ConfigTrajectories
			}
			byConfig[config] = append(byConfig[config], r)
		}
		b = summaries{}
	}
	for config, rows := range byConfig {
		slices.SortFunc(rows, func(a, b summary) int { return cmp.Compare(a.ID, b.ID) })
		sizes := make([]int64, len(rows))
		for i, r := range rows {
			sizes[i] = r.Bytes
		}
		l, _ := exporters.LayoutOf(config)
		if config == exporters.ConfigTrajectories {
			l.Split = fn.Split
		}
		ranges := exporters.PlanShards(sizes, fn.ShardBytes)
		sft, _ := exporters.LayoutOf(exporters.ConfigSFT)
		sft.Split = fn.Split
		wds, _ := exporters.LayoutOf(exporters.ConfigWebDataset)
		wds.Split = fn.Split
		for i, r := range ranges {
			task := shardTask{Config: config, Path: l.ShardPath(i, len(ranges)), Rows: rows[r.Start:r.End]}
			if config == exporters.ConfigTrajectories {
				task.SFTPath = sft.ShardPath(i, len(ranges))
				if fn.WebDataset {
					task.TarPath = wds.ShardPath(i, len(ranges))
				}
			}
			emit(task)
		}
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
	set, err := openShardSet(ctx, fn.bucket, fn.Prefix, task.Config, task.Path, task.SFTPath, task.TarPath, fn.SFT)
	if err != nil {
		return fmt.Errorf("shard %s: %w", task.Path, err)
	}
	part := commitPart{Kind: partShard, Config: task.Config}
	for _, s := range task.Rows {
		t, err := readStaged(ctx, fn.bucket, path.Join(fn.Staging, s.ID+".json"))
		if err != nil {
			set.abort()
			return fmt.Errorf("shard %s: %w", task.Path, err)
		}
		// The staged record holds the trajectory judges' full results; the
		// Judge stage adds the whole-version judges (dedup), and the
		// verdict follows from all of them as it did when planning.
		t.Judges = mergeJudges(t.Judges, fn.dups.results(s.ID))
		t.Verdict = fn.Policy.Decide(t.Judges)
		if accepted := t.Verdict.Status == schema.StatusAccepted; accepted != (task.Config == exporters.ConfigTrajectories) {
			set.abort()
			return fmt.Errorf("shard %s: %s: verdict %s differs from the one its shard was planned with", task.Path, s.ID, t.Verdict.Status)
		}
		countVerdict(ctx, t.Verdict)
		if err := set.write(&t); err != nil {
			set.abort()
			return fmt.Errorf("shard %s: %w", task.Path, err)
		}
		part.Models = mergeModels(part.Models, t.Provenance.Models)
		part.Templates = mergeTemplates(part.Templates, t.Provenance.Templates)
	}
	infos, stats, err := set.close()
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
		if f.Stage == "seed" {
			part.SeedFailures++
		}
		if strings.Contains(f.Error, teacher.ErrBudgetExhausted.Error()) {
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

// commitFn assembles the manifest from every part, removes shards a
// crashed earlier run may have left, writes the card and then the
// manifest, and clears the staging area.
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
			m.Models = mergeModels(m.Models, p.Models)
			m.Templates = mergeTemplates(m.Templates, p.Templates)
			seedFailures += p.SeedFailures
		case partCalls:
			m.Stats.Merge(p.Stats)
		}
		p = commitPart{}
	}
	m.Counts.Seeded += seedFailures
	for config, shards := range m.Shards {
		slices.SortFunc(shards, func(a, b exporters.ShardInfo) int { return cmp.Compare(a.Path, b.Path) })
		m.Shards[config] = shards
	}
	if m.Rows(exporters.ConfigSFT) == 0 {
		delete(m.Shards, exporters.ConfigSFT) // an empty mix writes empty sft shards: leave the config out
	}
	m.Counts.Accepted = m.Rows(exporters.ConfigTrajectories)
	m.Counts.Rejected = m.Rows(exporters.ConfigRejected)
	m.Counts.Failed = m.Rows(exporters.ConfigFailed)
	if m.Counts.Failed > 0 {
		if m.Stats.Verdicts == nil {
			m.Stats.Verdicts = map[string]int64{}
		}
		m.Stats.Verdicts[schema.StatusFailed] = m.Counts.Failed
	}

	b, err := blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("commit: open %s: %w", redact.URL(fn.Output), err)
	}
	defer b.Close()
	if err := removeUnlisted(ctx, b, fn.Prefix, m); err != nil {
		return err
	}
	if err := exporters.WriteCard(ctx, b, fn.Prefix, m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := exporters.WriteStats(ctx, b, fn.Prefix, m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := exporters.WriteManifest(ctx, b, fn.Prefix, m); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := removeAll(ctx, b, fn.Prefix+"/_staging/"); err != nil {
		return fmt.Errorf("commit: clear staging: %w", err)
	}
	emit(exporters.Key(fn.Prefix, exporters.ManifestFile))
	return nil
}

// removeUnlisted deletes shards under the version that the manifest does
// not list: leftovers of an earlier, interrupted or overwritten run.
func removeUnlisted(ctx context.Context, b *blob.Bucket, prefix string, m *exporters.Manifest) error {
	listed := map[string]bool{}
	for _, shards := range m.Shards {
		for _, s := range shards {
			listed[exporters.Key(prefix, s.Path)] = true
		}
	}
	// Objects at the version's top level other than the card, stats and
	// manifest (rewritten by this commit) are leftovers too: a temporary
	// file of an upload killed mid-write, say.
	top := b.List(&blob.ListOptions{Prefix: prefix + "/", Delimiter: "/"})
	for {
		obj, err := top.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("commit: list %s: %w", prefix, err)
		}
		switch path.Base(obj.Key) {
		case exporters.CardFile, exporters.StatsFile, exporters.ManifestFile:
			continue
		}
		if !obj.IsDir {
			if err := b.Delete(ctx, obj.Key); err != nil {
				return fmt.Errorf("commit: remove stale %s: %w", obj.Key, err)
			}
		}
	}
	for _, l := range exporters.Layouts() {
		it := b.List(&blob.ListOptions{Prefix: prefix + "/" + l.Dir + "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("commit: list %s: %w", l.Dir, err)
			}
			if !listed[obj.Key] && !obj.IsDir {
				if err := b.Delete(ctx, obj.Key); err != nil {
					return fmt.Errorf("commit: remove stale %s: %w", obj.Key, err)
				}
			}
		}
	}
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

func mergeModels(into, more []schema.RoleModel) []schema.RoleModel {
	for _, m := range more {
		if !slices.Contains(into, m) {
			into = append(into, m)
		}
	}
	slices.SortFunc(into, func(a, b schema.RoleModel) int {
		return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Model, b.Model))
	})
	return into
}

func mergeTemplates(into, more []schema.TemplateRef) []schema.TemplateRef {
	for _, t := range more {
		if !slices.Contains(into, t) {
			into = append(into, t)
		}
	}
	slices.SortFunc(into, func(a, b schema.TemplateRef) int { return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.ID, b.ID)) })
	return into
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
