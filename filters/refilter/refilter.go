package refilter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/version"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// Options are the settings of [Refilter].
type Options struct {
	// Policy decides the child's verdicts from the parent's judge results.
	Policy filters.Policy
	// Judges names the judges the policy may name (a run's judges).
	Judges []string
	// Version names the child version; it is written next to the parent
	// (same dataset, same bucket).
	Version string
	// Overwrite replaces a committed child version.
	Overwrite bool
	// CodeVersion and Created go into the child's manifest.
	CodeVersion string
	Created     string
}

// Result says what a refilter changed.
type Result struct {
	Manifest *exporters.Manifest
	// Prefix is the child's prefix in the bucket.
	Prefix string
	// Changed counts trajectories whose verdict changed, by transition
	// ("accepted -> rejected"); Reasons counts, among them, what made the
	// change as [Why] words it.
	Changed map[string]int64
	Reasons map[string]int64
	// Unchanged counts trajectories that kept their verdict.
	Unchanged int64
}

// Refilter derives a new version from a committed one under a new policy,
// with no model call: every trajectory keeps its judges' raw results, and
// the policy decides again from them. The child lists its parent in the
// manifest; failures are carried over unchanged, and the sft and
// WebDataset configs are derived again from the new accepted set, by the
// parent's rules (shard size, split, sft mix, WebDataset). A first pass
// reads only the id, judges and verdict columns and plans the child's
// shards; a second streams the rows into them one at a time.
func Refilter(ctx context.Context, bucket *blob.Bucket, parentPrefix string, opts Options) (*Result, error) {
	parent, err := exporters.ReadManifest(ctx, bucket, parentPrefix)
	if err != nil {
		return nil, fmt.Errorf("refilter: parent %s: %w", parentPrefix, err)
	}
	if !version.ValidName(opts.Version) {
		return nil, fmt.Errorf("refilter: version %q must be 1-128 letters, digits, '.', '_' or '-'", opts.Version)
	}
	if opts.Version == parent.Version {
		return nil, fmt.Errorf("refilter: the child version %q is the parent itself", opts.Version)
	}
	if err := opts.Policy.Validate(opts.Judges); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	var rules version.Rules
	if err := json.Unmarshal(parent.Config, &rules); err != nil {
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

	res := &Result{Prefix: childPrefix, Changed: map[string]int64{}, Reasons: map[string]int64{}}
	verdicts, tasks, err := plan(ctx, bucket, parentPrefix, parent, opts.Policy, rules, res)
	if err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	child := &exporters.Manifest{
		SchemaVersion: schema.Version, TwigVersion: opts.CodeVersion, Dataset: parent.Dataset, Version: opts.Version,
		Parent: parent.Version, Created: opts.Created, License: parent.License,
		Models: parent.Models, Templates: parent.Templates,
		Counts: exporters.Counts{Seeded: parent.Counts.Seeded, DuplicatesDropped: parent.Counts.DuplicatesDropped},
		Shards: map[string][]exporters.ShardInfo{},
	}
	if err := write(ctx, bucket, parentPrefix, childPrefix, parent, verdicts, tasks, rules.SFT, child); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	// Failures carry over as they are.
	for _, sh := range parent.Shards[exporters.ConfigFailed] {
		if err := bucket.Copy(ctx, exporters.Key(childPrefix, sh.Path), exporters.Key(parentPrefix, sh.Path), nil); err != nil {
			return nil, fmt.Errorf("refilter: copy %s: %w", sh.Path, err)
		}
		child.Shards[exporters.ConfigFailed] = append(child.Shards[exporters.ConfigFailed], sh)
	}
	child.Stats.BudgetStopped = parent.Stats.BudgetStopped
	version.Finish(child)
	if child.Config, err = childConfig(parent.Config, opts); err != nil {
		return nil, fmt.Errorf("refilter: parent %s config: %w", parentPrefix, err)
	}
	// The child's hash: the parent's, with the policy that re-decided it.
	policyJSON, err := json.Marshal(opts.Policy)
	if err != nil {
		return nil, fmt.Errorf("refilter: policy: %w", err)
	}
	h := sha256.Sum256([]byte(parent.ConfigHash + "\x00refilter\x00" + opts.Policy.String() + "\x00" + string(policyJSON)))
	child.ConfigHash = hex.EncodeToString(h[:])

	if err := version.Commit(ctx, bucket, childPrefix, child); err != nil {
		return nil, fmt.Errorf("refilter: %w", err)
	}
	res.Manifest = child
	return res, nil
}

// plan decides every trajectory of the parent again under policy, from
// the id, judges and verdict columns alone, counts the changes into res,
// and plans the child's shards by the parent's rules, each row's size
// estimated as its parent shard's bytes per row. It returns the new
// verdicts by id and the plan.
func plan(ctx context.Context, bucket *blob.Bucket, parentPrefix string, parent *exporters.Manifest, policy filters.Policy, rules version.Rules, res *Result) (map[string]schema.Verdict, []version.Task, error) {
	verdicts := map[string]schema.Verdict{}
	var rows []version.Row
	err := scan(ctx, bucket, parentPrefix, trajectoryShards(parent), func(it *exporters.Rows[verdictRow], r *verdictRow) {
		v := policy.Decide(r.Judges)
		sh := it.Shard()
		rows = append(rows, version.Row{ID: r.ID, Bytes: sh.Bytes / max(sh.Rows, 1), Accepted: v.Status == schema.StatusAccepted})
		verdicts[r.ID] = v
		if v.Status == r.Verdict.Status {
			res.Unchanged++
			return
		}
		res.Changed[r.Verdict.Status+" -> "+v.Status]++
		for _, why := range Why(r.Verdict.Reasons, v.Reasons) {
			res.Reasons[why]++
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return verdicts, version.Plan(rows, rules), nil
}

// trajectoryShards returns the shards of the version's trajectories: the
// accepted ones, then the rejected ones.
func trajectoryShards(m *exporters.Manifest) []exporters.ShardInfo {
	return slices.Concat(m.Shards[exporters.ConfigTrajectories], m.Shards[exporters.ConfigRejected])
}

// write streams the parent's trajectories in id order (each config's
// shards are sorted by id and follow each other) into the child's planned
// shards, each row with its new verdict, and lists the shards written and
// their statistics in child.
func write(ctx context.Context, bucket *blob.Bucket, parentPrefix, childPrefix string, parent *exporters.Manifest,
	verdicts map[string]schema.Verdict, tasks []version.Task, mix exporters.SFTMix, child *exporters.Manifest) error {
	var heads []*head
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		h := &head{rows: exporters.NewRows[schema.Trajectory](ctx, bucket, parentPrefix, parent.Shards[config])}
		defer h.rows.Close()
		heads = append(heads, h)
	}
	// Each config's planned shards fill one after another: the open one
	// closes once it has its planned rows.
	type cursor struct {
		tasks []version.Task
		open  *version.Writer
		done  int
	}
	cursors := map[string]*cursor{}
	for _, t := range tasks {
		if cursors[t.Config] == nil {
			cursors[t.Config] = &cursor{}
		}
		cursors[t.Config].tasks = append(cursors[t.Config].tasks, t)
	}
	defer func() {
		for _, c := range cursors {
			if c.open != nil {
				c.open.Abort()
			}
		}
	}()
	for {
		t, err := nextInOrder(heads)
		if err != nil {
			return err
		}
		if t == nil {
			break
		}
		v, ok := verdicts[t.ID]
		if !ok {
			return fmt.Errorf("parent row %s was not planned (a shard changed under the refilter?)", t.ID)
		}
		delete(verdicts, t.ID) // each row once; t keeps v's reasons
		t.Verdict = v
		config := exporters.ConfigRejected
		if v.Status == schema.StatusAccepted {
			config = exporters.ConfigTrajectories
		}
		c := cursors[config]
		if c == nil || len(c.tasks) == 0 {
			return fmt.Errorf("parent row %s has no planned shard", t.ID)
		}
		if c.open == nil {
			if c.open, err = version.Open(ctx, bucket, childPrefix, c.tasks[0], mix); err != nil {
				return err
			}
			c.done = 0
		}
		if want := c.tasks[0].IDs[c.done]; t.ID != want {
			return fmt.Errorf("parent row %s out of order, want %s (are the shards sorted by id?)", t.ID, want)
		}
		if err := c.open.Write(t); err != nil {
			return err
		}
		c.done++
		if c.done == len(c.tasks[0].IDs) {
			infos, stats, err := c.open.Close()
			c.open = nil
			if err != nil {
				return err
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
			return fmt.Errorf("%s: %d planned shards not filled (a shard changed under the refilter?)", config, len(c.tasks))
		}
	}
	return nil
}

// head is a stream of rows and the row at its head, not yet taken.
type head struct {
	rows *exporters.Rows[schema.Trajectory]
	row  *schema.Trajectory
	done bool
}

// nextInOrder takes the row with the smallest id at the heads of the
// streams, or returns nil when all are done. The row is valid until the
// next call.
func nextInOrder(heads []*head) (*schema.Trajectory, error) {
	var best *head
	for _, h := range heads {
		if h.row == nil && !h.done {
			row, err := h.rows.Next()
			if err != nil {
				return nil, err
			}
			h.row, h.done = row, row == nil
		}
		if h.row != nil && (best == nil || h.row.ID < best.row.ID) {
			best = h
		}
	}
	if best == nil {
		return nil, nil
	}
	t := best.row
	best.row = nil
	return t, nil
}

// childConfig returns the parent's configuration JSON with the fields a
// refilter changes (version, policy, created, code_version) replaced,
// every other byte as the parent recorded it.
func childConfig(parent json.RawMessage, opts Options) (json.RawMessage, error) {
	var fields []field
	for _, f := range []struct {
		key   string
		value any
	}{{"version", opts.Version}, {"policy", opts.Policy}, {"created", opts.Created}, {"code_version", opts.CodeVersion}} {
		b, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		fields = append(fields, field{f.key, b})
	}
	return replaceFields(parent, fields)
}
