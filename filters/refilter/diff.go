package refilter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// Verdict is what a diff compares of one sample: its status and the
// reasons given for it.
type Verdict struct {
	Status  string
	Reasons []string
}

// Diff is the difference from a version A to a version B, by sample id.
type Diff struct {
	// A and B name the versions (the caller fills them in).
	A       string   `json:"a"`
	B       string   `json:"b"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []Change `json:"changed"`
	// Unchanged counts ids in both with the same verdict.
	Unchanged int64 `json:"unchanged"`
	// Transitions counts changes by "from -> to"; Because counts, among
	// them, what made each change as [Why] words it: the judges named by
	// the new verdict and not the old one, or "no longer <judge>" for
	// samples that became accepted.
	Transitions map[string]int64 `json:"transitions"`
	Because     map[string]int64 `json:"because"`
}

// Change is one sample whose verdict changed.
type Change struct {
	ID          string   `json:"id"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	ReasonsFrom []string `json:"reasons_from"`
	ReasonsTo   []string `json:"reasons_to"`
}

// verdictRow is the part of a trajectory a diff and a refilter's plan
// read: the columns they project, not the images.
type verdictRow struct {
	ID      string               `parquet:"id"`
	Judges  []schema.JudgeResult `parquet:"judges,list"`
	Verdict schema.Verdict       `parquet:"verdict"`
}

// failureRow is the part of a failure a diff reads.
type failureRow struct {
	ID    string `parquet:"id"`
	Stage string `parquet:"stage"`
	Error string `parquet:"error"`
}

// ReadVerdicts reads the verdict of every sample of the committed version
// at prefix in bucket: each accepted and rejected trajectory's, and
// failed for each failure of a sample (an input line that never became a
// sample has no id and is left out), with its stage as the reason's
// judge.
func ReadVerdicts(ctx context.Context, bucket *blob.Bucket, prefix string) (map[string]Verdict, error) {
	m, err := exporters.ReadManifest(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]Verdict{}
	err = scan(ctx, bucket, prefix, trajectoryShards(m), func(_ *exporters.Rows[verdictRow], r *verdictRow) {
		out[r.ID] = Verdict{Status: r.Verdict.Status, Reasons: slices.Clone(r.Verdict.Reasons)}
	})
	if err != nil {
		return nil, fmt.Errorf("read verdicts: %w", err)
	}
	err = scan(ctx, bucket, prefix, m.Shards[exporters.ConfigFailed], func(_ *exporters.Rows[failureRow], f *failureRow) {
		if f.ID != "" {
			out[f.ID] = Verdict{Status: schema.StatusFailed, Reasons: []string{schema.FormatReason(f.Stage, f.Error)}}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read verdicts: %w", err)
	}
	return out, nil
}

// Compare returns the diff from the verdicts a to the verdicts b: the
// ids only b has (added), only a has (removed), and those whose status
// changed, each list sorted by id. A and B are left empty.
func Compare(a, b map[string]Verdict) *Diff {
	d := &Diff{Added: []string{}, Removed: []string{}, Changed: []Change{}, Transitions: map[string]int64{}, Because: map[string]int64{}}
	for id, va := range a {
		vb, ok := b[id]
		switch {
		case !ok:
			d.Removed = append(d.Removed, id)
		case va.Status == vb.Status:
			d.Unchanged++
		default:
			d.Changed = append(d.Changed, Change{ID: id, From: va.Status, To: vb.Status, ReasonsFrom: va.Reasons, ReasonsTo: vb.Reasons})
			d.Transitions[va.Status+" -> "+vb.Status]++
			for _, why := range Why(va.Reasons, vb.Reasons) {
				d.Because[why]++
			}
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			d.Added = append(d.Added, id)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.SortFunc(d.Changed, func(x, y Change) int { return strings.Compare(x.ID, y.ID) })
	return d
}

// scan calls f with each row of shards, in order, and the iterator that
// read it (for the row's shard).
func scan[T any](ctx context.Context, bucket *blob.Bucket, prefix string, shards []exporters.ShardInfo, f func(it *exporters.Rows[T], row *T)) error {
	it := exporters.NewRows[T](ctx, bucket, prefix, shards)
	defer it.Close()
	for {
		row, err := it.Next()
		if err != nil || row == nil {
			return err
		}
		f(it, row)
	}
}
