package pipelines

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// RefilterOptions are the settings of [Refilter].
type RefilterOptions struct {
	// Policy decides the child's verdicts from the parent's judge results.
	Policy filters.Policy
	// Version names the child version; it is written next to the parent
	// (same dataset, same bucket).
	Version string
	// Overwrite replaces a committed child version.
	Overwrite bool
	// CodeVersion and Created go into the child's manifest.
	CodeVersion string
	Created     string
}

// RefilterResult says what a refilter changed.
type RefilterResult struct {
	Manifest *exporters.Manifest
	// Prefix is the child's prefix in the bucket.
	Prefix string
	// Changed counts trajectories whose verdict changed, by transition
	// ("accepted -> rejected"); Reasons counts, among them, the judges
	// whose results decided the change (the reason's judge name).
	Changed map[string]int64
	Reasons map[string]int64
	// Unchanged counts trajectories that kept their verdict.
	Unchanged int64
}

// verdictRow is the part of a trajectory refilter's first pass reads: the
// columns it projects, not the images.
type verdictRow struct {
	ID      string               `parquet:"id"`
	Judges  []schema.JudgeResult `parquet:"judges,list"`
	Verdict schema.Verdict       `parquet:"verdict"`
}

// Refilter derives a new version from a committed one under a new policy,
// with no model call: every trajectory keeps its judges' raw results, and
// the policy decides again from them. The child lists its parent in the
// manifest; failures are carried over unchanged, and the sft and
// WebDataset configs are derived again from the new accepted set. It runs
// in this process (it is I/O bound and needs no GPU or LLM): a first pass
// reads only the id, judges and verdict columns, a second streams the rows
// into the child's shards one at a time.
func Refilter(ctx context.Context, bucket *blob.Bucket, parentPrefix string, opts RefilterOptions) (*RefilterResult, error) {
	parent, err := exporters.ReadManifest(ctx, bucket, parentPrefix)
	if err != nil {
		return nil, fmt.Errorf("refilter: parent %s: %w", parentPrefix, err)
	}
	if !nameRe.MatchString(opts.Version) {
		return nil, fmt.Errorf("refilter: version %q must be 1-128 letters, digits, '.', '_' or '-'", opts.Version)
	}
	if opts.Version == parent.Version {
		return nil, fmt.Errorf("refilter: the child version %q is the parent itself", opts.Version)
	}
	if err := opts.Policy.Validate(JudgeNames()); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	var pcfg Config
	if err := json.Unmarshal(parent.Config, &pcfg); err != nil {
		return nil, fmt.Errorf("refilter: parent %s config: %w", parentPrefix, err)
	}
	// The child is the parent's sibling: parentPrefix names the parent's
	// folder inside the bucket (".../<dataset>/<version>" or just
	// "<version>" in a bucket opened at the dataset).
	parentPrefix = strings.Trim(parentPrefix, "/")
	if parentPrefix == "" {
		return nil, fmt.Errorf("refilter: the parent must be a folder inside the bucket, so that the child can sit next to it")
	}
	childPrefix := opts.Version
	if dir := path.Dir(parentPrefix); dir != "." {
		childPrefix = dir + "/" + opts.Version
	}
	if ok, err := exporters.Committed(ctx, bucket, childPrefix); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	} else if ok && !opts.Overwrite {
		return nil, fmt.Errorf("refilter: version %s is already committed: choose another --version or pass --overwrite", childPrefix)
	} else if ok {
		if err := bucket.Delete(ctx, exporters.Key(childPrefix, exporters.ManifestFile)); err != nil {
			return nil, fmt.Errorf("refilter: %w", err)
		}
	}

	// Pass 1: new verdicts and sizes, from the projected columns.
	res := &RefilterResult{Prefix: childPrefix, Changed: map[string]int64{}, Reasons: map[string]int64{}}
	type planned struct {
		id      string
		bytes   int64
		verdict schema.Verdict
	}
	var accepted, rejected []planned
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		for _, sh := range parent.Shards[config] {
			per := sh.Bytes / max(sh.Rows, 1)
			_, err := exporters.ScanShard(ctx, bucket, parentPrefix, sh.Path, func(_ int64, r *verdictRow) {
				v := opts.Policy.Decide(r.Judges)
				p := planned{id: r.ID, bytes: per, verdict: v}
				if v.Status == schema.StatusAccepted {
					accepted = append(accepted, p)
				} else {
					rejected = append(rejected, p)
				}
				if v.Status == r.Verdict.Status {
					res.Unchanged++
					return
				}
				res.Changed[r.Verdict.Status+" -> "+v.Status]++
				for _, why := range newReasons(r.Verdict.Reasons, v.Reasons) {
					res.Reasons[why]++
				}
			})
			if err != nil {
				return nil, fmt.Errorf("refilter: %w", err)
			}
		}
	}
	byID := func(a, b planned) int { return cmp.Compare(a.id, b.id) }
	slices.SortFunc(accepted, byID)
	slices.SortFunc(rejected, byID)
	verdicts := make(map[string]schema.Verdict, len(accepted)+len(rejected))
	for _, p := range slices.Concat(accepted, rejected) {
		verdicts[p.id] = p.verdict
	}

	// The child's shard plan: the parent's rules (shard size, split, sft
	// mix, WebDataset) over the new sets.
	type task struct {
		config, path, sftPath, tarPath string
		ids                            []string
	}
	var tasks []task
	for _, set := range []struct {
		config string
		rows   []planned
	}{{exporters.ConfigTrajectories, accepted}, {exporters.ConfigRejected, rejected}} {
		sizes := make([]int64, len(set.rows))
		for i, p := range set.rows {
			sizes[i] = p.bytes
		}
		l, _ := exporters.LayoutOf(set.config)
		sft, _ := exporters.LayoutOf(exporters.ConfigSFT)
		wds, _ := exporters.LayoutOf(exporters.ConfigWebDataset)
		if set.config == exporters.ConfigTrajectories {
			l.Split, sft.Split, wds.Split = pcfg.Split, pcfg.Split, pcfg.Split
		}
		ranges := exporters.PlanShards(sizes, pcfg.ShardBytes)
		for i, r := range ranges {
			tk := task{config: set.config, path: l.ShardPath(i, len(ranges))}
			for _, p := range set.rows[r.Start:r.End] {
				tk.ids = append(tk.ids, p.id)
			}
			if set.config == exporters.ConfigTrajectories {
				tk.sftPath = sft.ShardPath(i, len(ranges))
				if pcfg.WebDataset {
					tk.tarPath = wds.ShardPath(i, len(ranges))
				}
			}
			tasks = append(tasks, tk)
		}
	}

	// Pass 2: stream the parent's rows in id order (each config's shards
	// are sorted by id and follow each other) into the child's shards.
	streams := make([]*rowStream, 0, 2)
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		s := &rowStream{ctx: ctx, bucket: bucket, prefix: parentPrefix, shards: parent.Shards[config]}
		defer s.close()
		streams = append(streams, s)
	}
	child := &exporters.Manifest{
		SchemaVersion: schema.Version, TwigVersion: opts.CodeVersion, Dataset: parent.Dataset, Version: opts.Version,
		Parent: parent.Version, Created: opts.Created, License: parent.License,
		Models: parent.Models, Templates: parent.Templates,
		Shards: map[string][]exporters.ShardInfo{},
	}
	// Rows arrive in id order, each going to the open child shard of its
	// config; a shard closes once it has its planned rows.
	type cursor struct {
		tasks []task
		open  *shardSet
		done  int
	}
	cursors := map[string]*cursor{}
	for _, tk := range tasks {
		if cursors[tk.config] == nil {
			cursors[tk.config] = &cursor{}
		}
		cursors[tk.config].tasks = append(cursors[tk.config].tasks, tk)
	}
	defer func() {
		for _, c := range cursors {
			if c.open != nil {
				c.open.abort()
			}
		}
	}()
	for {
		t, err := nextInOrder(streams)
		if err != nil {
			return nil, fmt.Errorf("refilter: %w", err)
		}
		if t == nil {
			break
		}
		v, ok := verdicts[t.ID]
		if !ok {
			return nil, fmt.Errorf("refilter: parent row %s was not planned (a shard changed under the refilter?)", t.ID)
		}
		t.Verdict = v
		config := exporters.ConfigRejected
		if v.Status == schema.StatusAccepted {
			config = exporters.ConfigTrajectories
		}
		c := cursors[config]
		if c.open == nil {
			if len(c.tasks) == 0 {
				return nil, fmt.Errorf("refilter: parent row %s has no planned shard", t.ID)
			}
			tk := c.tasks[0]
			if c.open, err = openShardSet(ctx, bucket, childPrefix, tk.config, tk.path, tk.sftPath, tk.tarPath, pcfg.SFT); err != nil {
				return nil, fmt.Errorf("refilter: %w", err)
			}
			c.done = 0
		}
		if t.ID != c.tasks[0].ids[c.done] {
			return nil, fmt.Errorf("refilter: parent row %s out of order, want %s (are the shards sorted by id?)", t.ID, c.tasks[0].ids[c.done])
		}
		if err := c.open.write(t); err != nil {
			return nil, fmt.Errorf("refilter: %w", err)
		}
		c.done++
		if c.done == len(c.tasks[0].ids) {
			infos, stats, err := c.open.close()
			c.open = nil
			if err != nil {
				return nil, fmt.Errorf("refilter: %w", err)
			}
			for config, info := range infos {
				child.Shards[config] = append(child.Shards[config], info)
			}
			child.Stats.Merge(stats)
			c.tasks = c.tasks[1:]
		}
	}
	for config, c := range cursors {
		if len(c.tasks) > 0 {
			return nil, fmt.Errorf("refilter: %s: %d planned shards not filled (a shard changed under the refilter?)", config, len(c.tasks))
		}
	}
	for config, shards := range child.Shards {
		slices.SortFunc(shards, func(a, b exporters.ShardInfo) int { return cmp.Compare(a.Path, b.Path) })
		child.Shards[config] = shards
	}
	for _, s := range streams {
		if t, err := s.next(); err != nil {
			return nil, fmt.Errorf("refilter: %w", err)
		} else if t != nil {
			return nil, fmt.Errorf("refilter: parent row %s was not planned (a shard changed under the refilter?)", t.ID)
		}
	}
	// Failures carry over as they are.
	for _, sh := range parent.Shards[exporters.ConfigFailed] {
		if err := bucket.Copy(ctx, exporters.Key(childPrefix, sh.Path), exporters.Key(parentPrefix, sh.Path), nil); err != nil {
			return nil, fmt.Errorf("refilter: copy %s: %w", sh.Path, err)
		}
		child.Shards[exporters.ConfigFailed] = append(child.Shards[exporters.ConfigFailed], sh)
	}
	if f := parent.Stats.Verdicts[schema.StatusFailed]; f > 0 {
		if child.Stats.Verdicts == nil {
			child.Stats.Verdicts = map[string]int64{}
		}
		child.Stats.Verdicts[schema.StatusFailed] = f
	}
	child.Stats.BudgetStopped = parent.Stats.BudgetStopped
	if child.Rows(exporters.ConfigSFT) == 0 {
		delete(child.Shards, exporters.ConfigSFT)
	}
	child.Counts = exporters.Counts{
		Seeded: parent.Counts.Seeded, DuplicatesDropped: parent.Counts.DuplicatesDropped,
		Accepted: child.Rows(exporters.ConfigTrajectories), Rejected: child.Rows(exporters.ConfigRejected),
		Failed: child.Rows(exporters.ConfigFailed),
	}
	ccfg := pcfg
	ccfg.Version, ccfg.Policy, ccfg.Created, ccfg.CodeVersion = opts.Version, opts.Policy, opts.Created, opts.CodeVersion
	if child.Config, err = json.Marshal(ccfg); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	// The child's hash: the parent's, with the policy that re-decided it.
	h := sha256.Sum256([]byte(parent.ConfigHash + "\x00refilter\x00" + opts.Policy.String() + "\x00" + mustJSON(opts.Policy)))
	child.ConfigHash = hex.EncodeToString(h[:])

	if err := removeUnlisted(ctx, bucket, childPrefix, child); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	if err := exporters.WriteCard(ctx, bucket, childPrefix, child); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	if err := exporters.WriteStats(ctx, bucket, childPrefix, child); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	if err := exporters.WriteManifest(ctx, bucket, childPrefix, child); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	res.Manifest = child
	return res, nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// newReasons returns the judges named in reasons now that were not named
// before: what made a verdict change. A change to accepted has none; it
// is counted as "accepted: <judges that no longer fail>".
func newReasons(before, now []string) []string {
	judge := func(r string) string { name, _, _ := strings.Cut(r, ":"); return name }
	was := map[string]bool{}
	for _, r := range before {
		was[judge(r)] = true
	}
	var out []string
	for _, r := range now {
		if !was[judge(r)] {
			out = append(out, judge(r))
		}
	}
	if len(now) == 0 {
		for j := range was {
			out = append(out, "no longer failing: "+j)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// shardSet is one shard being written with its sft and WebDataset shards
// (the export stage's and refilter's), and the statistics of its rows.
type shardSet struct {
	config string
	mix    exporters.SFTMix
	w      *exporters.ShardWriter[schema.Trajectory]
	sw     *exporters.ShardWriter[schema.Sample]
	tw     *exporters.TarWriter
	stats  exporters.Stats
}

func openShardSet(ctx context.Context, bucket *blob.Bucket, prefix, config, path, sftPath, tarPath string, mix exporters.SFTMix) (_ *shardSet, err error) {
	s := &shardSet{config: config, mix: mix}
	if s.w, err = exporters.NewShardWriter[schema.Trajectory](ctx, bucket, prefix, path, exporters.ShardOptions{}); err != nil {
		return nil, err
	}
	if sftPath != "" {
		if s.sw, err = exporters.NewShardWriter[schema.Sample](ctx, bucket, prefix, sftPath, exporters.ShardOptions{}); err != nil {
			s.abort()
			return nil, err
		}
	}
	if tarPath != "" {
		if s.tw, err = exporters.NewTarWriter(ctx, bucket, prefix, tarPath); err != nil {
			s.abort()
			return nil, err
		}
	}
	return s, nil
}

func (s *shardSet) write(t *schema.Trajectory) error {
	if err := s.w.Write([]schema.Trajectory{*t}); err != nil {
		return err
	}
	if s.sw != nil {
		samples := exporters.Subtasks(t, s.mix)
		if err := s.sw.Write(samples); err != nil {
			return err
		}
		for _, x := range samples {
			if s.stats.Subtasks == nil {
				s.stats.Subtasks = map[string]int64{}
			}
			s.stats.Subtasks[x.Task]++
		}
	}
	if s.tw != nil {
		if err := s.tw.Write(t); err != nil {
			return err
		}
	}
	s.stats.Add(t)
	return nil
}

func (s *shardSet) close() (map[string]exporters.ShardInfo, exporters.Stats, error) {
	infos := map[string]exporters.ShardInfo{}
	var err error
	if infos[s.config], err = s.w.Close(); err != nil {
		s.abort()
		return nil, s.stats, err
	}
	if s.sw != nil {
		if infos[exporters.ConfigSFT], err = s.sw.Close(); err != nil {
			s.abort()
			return nil, s.stats, err
		}
	}
	if s.tw != nil {
		if infos[exporters.ConfigWebDataset], err = s.tw.Close(); err != nil {
			s.abort()
			return nil, s.stats, err
		}
	}
	return infos, s.stats, nil
}

func (s *shardSet) abort() {
	s.w.Abort()
	if s.sw != nil {
		s.sw.Abort()
	}
	if s.tw != nil {
		s.tw.Abort()
	}
}

// nextInOrder returns the row with the smallest id at the heads of the
// streams, or nil when all are done.
func nextInOrder(streams []*rowStream) (*schema.Trajectory, error) {
	var best *rowStream
	for _, s := range streams {
		t, err := s.peek()
		if err != nil {
			return nil, err
		}
		if t != nil && (best == nil || t.ID < best.pending.ID) {
			best = s
		}
	}
	if best == nil {
		return nil, nil
	}
	t := best.pending
	best.pending = nil
	return t, nil
}

// rowStream reads the rows of a config's shards in order, one at a time.
type rowStream struct {
	ctx     context.Context
	bucket  *blob.Bucket
	prefix  string
	shards  []exporters.ShardInfo
	r       *exporters.ShardReader[schema.Trajectory]
	buf     [1]schema.Trajectory
	pending *schema.Trajectory
}

func (s *rowStream) peek() (*schema.Trajectory, error) {
	if s.pending != nil {
		return s.pending, nil
	}
	t, err := s.next()
	s.pending = t
	return t, err
}

func (s *rowStream) next() (*schema.Trajectory, error) {
	if s.pending != nil {
		t := s.pending
		s.pending = nil
		return t, nil
	}
	for {
		if s.r == nil {
			if len(s.shards) == 0 {
				return nil, nil
			}
			r, err := exporters.OpenShard[schema.Trajectory](s.ctx, s.bucket, s.prefix, s.shards[0].Path)
			if err != nil {
				return nil, err
			}
			s.r, s.shards = r, s.shards[1:]
		}
		n, err := s.r.Read(s.buf[:])
		if n == 1 {
			t := s.buf[0]
			return &t, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		s.r.Close()
		s.r = nil
	}
}

func (s *rowStream) close() {
	if s.r != nil {
		s.r.Close()
	}
}
