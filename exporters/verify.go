package exporters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/schema"
)

// A ProblemKind classifies a Problem.
type ProblemKind string

// Problem kinds.
const (
	ProblemManifest   ProblemKind = "manifest"   // manifest missing, unparsable, or a bad field
	ProblemCard       ProblemKind = "card"       // dataset card missing
	ProblemConfig     ProblemKind = "config"     // a config the layout does not know
	ProblemName       ProblemKind = "name"       // a shard path that breaks the naming convention
	ProblemMissing    ProblemKind = "missing"    // a listed shard that does not exist
	ProblemSize       ProblemKind = "size"       // a shard whose size is not the listed one
	ProblemChecksum   ProblemKind = "checksum"   // a shard whose SHA-256 is not the listed one
	ProblemUnreadable ProblemKind = "unreadable" // a shard that does not read as Parquet of its row type
	ProblemRows       ProblemKind = "rows"       // a shard whose row count is not the listed one
	ProblemInvalid    ProblemKind = "invalid"    // a trajectory that fails validation
	ProblemVerdict    ProblemKind = "verdict"    // a trajectory whose verdict does not match its config
	ProblemDuplicate  ProblemKind = "duplicate"  // an id that appears twice in the version
	ProblemUnlisted   ProblemKind = "unlisted"   // a Parquet object the manifest does not list
	ProblemCounts     ProblemKind = "counts"     // counts that disagree with the shards or do not reconcile
)

// A Problem is one thing wrong with a version.
type Problem struct {
	// Path is the file the problem is in, relative to the version
	// (manifest.json, a shard), or "" for the version as a whole.
	Path    string      `json:"path,omitempty"`
	Kind    ProblemKind `json:"kind"`
	Message string      `json:"message"`
}

// String returns "path: message", or the message alone for a problem of
// the whole version.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// A Report is the result of Verify.
type Report struct {
	// Prefix is the version checked.
	Prefix string `json:"prefix"`
	// Shards and Rows are the numbers of shards and rows read.
	Shards int   `json:"shards"`
	Rows   int64 `json:"rows"`
	// Problems lists everything found wrong, in a stable order.
	Problems []Problem `json:"problems"`
}

// OK reports whether the version has no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// String summarises the report on one line, followed by one indented line
// per problem.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d shards, %d rows, ", r.Prefix, r.Shards, r.Rows)
	if r.OK() {
		b.WriteString("OK")
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(r.Problems))
	for _, p := range r.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

func (r *Report) add(path string, kind ProblemKind, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Path: path, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// maxRowProblems bounds the row problems reported per shard; the rest are
// summed up in one more problem.
const maxRowProblems = 10

// Verify re-reads the version at prefix and reports every problem it
// finds, not only the first: the manifest exists and parses; the card
// exists; every listed shard follows the naming convention, exists, and
// has the listed size, SHA-256 and number of rows; every trajectory
// validates and has the verdict of its config (accepted in trajectories,
// rejected in rejected); ids are unique across the version; no Parquet
// object under the prefix is missing from the manifest; the counts match
// the shards and reconcile.
//
// Verify reads one shard at a time, a few rows at a time, so its memory
// does not grow with the version (but for the set of ids). The error is
// for a failure to check at all, such as a cancelled context or a bucket
// that cannot be listed; what is wrong with the version is in the Report.
func Verify(ctx context.Context, bucket *blob.Bucket, prefix string) (*Report, error) {
	rep := &Report{Prefix: prefix}
	b, err := bucket.ReadAll(ctx, Key(prefix, ManifestFile))
	if gcerrors.Code(err) == gcerrors.NotFound {
		rep.add(ManifestFile, ProblemManifest, "missing: the version is not committed")
		return rep, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", prefix, err)
	}
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		rep.add(ManifestFile, ProblemManifest, "does not parse: %v", err)
		return rep, nil
	}
	if schemaMajor(m.SchemaVersion) != schemaMajor(schema.Version) {
		rep.add(ManifestFile, ProblemManifest, "schema version %q, this twig reads %q", m.SchemaVersion, schema.Version)
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		rep.add(ManifestFile, ProblemManifest, "created %q is not RFC 3339", m.Created)
	}
	if ok, err := bucket.Exists(ctx, Key(prefix, CardFile)); err != nil {
		return nil, fmt.Errorf("verify %s: %w", prefix, err)
	} else if !ok {
		rep.add(CardFile, ProblemCard, "missing")
	}

	listed := map[string]bool{}
	ids := map[string]string{} // id -> the shard it was first seen in
	// Known configs in layout order, then unknown ones by name.
	var configs []string
	for _, l := range layouts {
		if _, ok := m.Shards[l.Config]; ok {
			configs = append(configs, l.Config)
		}
	}
	for _, config := range slices.Sorted(maps.Keys(m.Shards)) {
		if _, known := LayoutOf(config); !known {
			configs = append(configs, config)
		}
	}
	for _, config := range configs {
		l, known := LayoutOf(config)
		shards := m.Shards[config]
		for i, s := range shards {
			if listed[s.Path] {
				rep.add(s.Path, ProblemManifest, "listed twice")
				continue
			}
			listed[s.Path] = true
			if !known {
				rep.add(s.Path, ProblemConfig, "listed under config %q, which twig does not know", config)
				continue
			}
			if want := l.ShardPath(i, len(shards)); s.Path != want {
				rep.add(s.Path, ProblemName, "is shard %d of %d of config %q, want it named %s", i, len(shards), config, want)
			}
			if err := verifyShard(ctx, bucket, prefix, l, s, ids, rep); err != nil {
				return nil, err
			}
		}
	}

	// Unlisted shards.
	listPrefix := Key(prefix, "")
	it := bucket.List(&blob.ListOptions{Prefix: listPrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("verify %s: list: %w", prefix, err)
		}
		rel := strings.TrimPrefix(obj.Key, listPrefix)
		if !obj.IsDir && (strings.HasSuffix(rel, ".parquet") || strings.HasSuffix(rel, ".tar")) && !listed[rel] {
			rep.add(rel, ProblemUnlisted, "unlisted shard: a shard the manifest does not list")
		}
	}

	// Counts.
	c := m.Counts
	for _, x := range []struct {
		name   string
		config string
		count  int64
	}{
		{"accepted", ConfigTrajectories, c.Accepted},
		{"rejected", ConfigRejected, c.Rejected},
		{"failed", ConfigFailed, c.Failed},
	} {
		if rows := m.Rows(x.config); rows != x.count {
			rep.add(ManifestFile, ProblemCounts, "counts.%s is %d, the %s shards list %d rows", x.name, x.count, x.config, rows)
		}
	}
	if !c.Reconciles() {
		rep.add(ManifestFile, ProblemCounts, "counts do not reconcile: seeded %d != accepted %d + rejected %d + failed %d",
			c.Seeded, c.Accepted, c.Rejected, c.Failed)
	}
	return rep, nil
}

// verifyShard checks one listed shard, adding what it finds to rep. It
// returns an error only when ctx is done.
func verifyShard(ctx context.Context, bucket *blob.Bucket, prefix string, l Layout, s ShardInfo, ids map[string]string, rep *Report) error {
	key := Key(prefix, s.Path)
	attrs, err := bucket.Attributes(ctx, key)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if gcerrors.Code(err) == gcerrors.NotFound {
		rep.add(s.Path, ProblemMissing, "missing: the manifest lists it, the bucket does not have it")
		return nil
	}
	if err != nil {
		rep.add(s.Path, ProblemUnreadable, "cannot stat: %v", err)
		return nil
	}
	rep.Shards++
	if attrs.Size != s.Bytes {
		rep.add(s.Path, ProblemSize, "has %d bytes, the manifest lists %d", attrs.Size, s.Bytes)
	}
	sum, err := sha256Of(ctx, bucket, key)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		rep.add(s.Path, ProblemUnreadable, "cannot read: %v", err)
		return nil
	}
	if sum != s.SHA256 {
		rep.add(s.Path, ProblemChecksum, "SHA-256 is %s, the manifest lists %s", sum, s.SHA256)
	}

	rowProblems := 0
	rowProblem := func(kind ProblemKind, format string, args ...any) {
		rowProblems++
		if rowProblems <= maxRowProblems {
			rep.add(s.Path, kind, format, args...)
		}
	}
	seen := func(i int64, id string) {
		if id == "" {
			return
		}
		if first, dup := ids[id]; dup {
			rowProblem(ProblemDuplicate, "row %d: id %s also appears in %s", i, id, first)
			return
		}
		ids[strings.Clone(id)] = s.Path
	}
	var n int64
	switch l.Config {
	case ConfigWebDataset:
		var i int64
		n, err = ScanTar(ctx, bucket, prefix, s.Path, func(key string, members map[string][]byte) error {
			defer func() { i++ }()
			if len(members) != 2 || members["png"] == nil || members["json"] == nil {
				rowProblem(ProblemInvalid, "sample %d: %s has members %v, want png and json", i, key, slices.Sorted(maps.Keys(members)))
			}
			var rec WebDatasetRecord
			if err := json.Unmarshal(members["json"], &rec); err != nil || rec.ID != key {
				rowProblem(ProblemInvalid, "sample %d: %s.json does not hold the record of %s", i, key, key)
			}
			if where, ok := ids[key]; !ok || !strings.HasPrefix(where, "data/trajectories/") {
				rowProblem(ProblemInvalid, "sample %d: %s is not an accepted trajectory of this version", i, key)
			}
			return nil
		})
	case ConfigFailed:
		n, err = ScanShard(ctx, bucket, prefix, s.Path, func(i int64, f *schema.Failure) {
			seen(i, f.ID)
		})
	case ConfigSFT:
		n, err = ScanShard(ctx, bucket, prefix, s.Path, func(i int64, x *schema.Sample) {
			if x.ID == "" || x.TrajectoryID == "" || len(x.Messages) == 0 ||
				!strings.HasPrefix(x.Task, x.Kind+"_") || (x.Kind != "think" && x.Kind != "gen" && x.Kind != "reflect") {
				rowProblem(ProblemInvalid, "row %d: sample %q (task %q, kind %q, trajectory %q, %d messages) is incomplete", i, x.ID, x.Task, x.Kind, x.TrajectoryID, len(x.Messages))
			}
			seen(i, x.ID)
		})
	default:
		n, err = ScanShard(ctx, bucket, prefix, s.Path, func(i int64, t *schema.Trajectory) {
			if err := t.Validate(); err != nil {
				rowProblem(ProblemInvalid, "row %d: %v", i, err)
			}
			if t.Verdict.Status != l.Status {
				rowProblem(ProblemVerdict, "row %d: trajectory %s has verdict %q in config %q, want %q", i, t.ID, t.Verdict.Status, l.Config, l.Status)
			}
			seen(i, t.ID)
		})
	}
	rep.Rows += n
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if rowProblems > maxRowProblems {
		rep.add(s.Path, ProblemInvalid, "and %d more row problems", rowProblems-maxRowProblems)
	}
	if err != nil {
		rep.add(s.Path, ProblemUnreadable, "cannot read rows: %v", err)
		return nil
	}
	if n != s.Rows {
		rep.add(s.Path, ProblemRows, "has %d rows, the manifest lists %d", n, s.Rows)
	}
	return nil
}

// sha256Of streams an object through SHA-256.
func sha256Of(ctx context.Context, bucket *blob.Bucket, key string) (string, error) {
	r, err := bucket.NewReader(ctx, key, nil)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ScanShard streams the rows of the shard at path, relative to prefix,
// calling f with each row's index; T may be a projection of the row type
// (a struct of some of its columns), and only those columns are read. It
// returns the number of rows read. f must not keep row.
func ScanShard[T any](ctx context.Context, bucket *blob.Bucket, prefix, path string, f func(i int64, row *T)) (int64, error) {
	it := NewRows[T](ctx, bucket, prefix, []ShardInfo{{Path: path}})
	defer it.Close()
	var n int64
	for {
		row, err := it.Next()
		if err != nil || row == nil {
			return n, err
		}
		f(it.Index(), row)
		n++
	}
}
