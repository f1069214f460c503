package exporters

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/schema"
)

const testPrefix = "twig-test/v1"

// testManifest returns the manifest of a test version without shards.
func testManifest() *Manifest {
	return &Manifest{
		SchemaVersion: schema.Version,
		TwigVersion:   "v0.0.0-test",
		Dataset:       "twig-test",
		Version:       "v1",
		Created:       "2026-01-02T03:04:05Z",
		Config:        json.RawMessage(`{"k":3,"threshold":60}`),
		ConfigHash:    "sha256:2f1e",
		Models: []schema.RoleModel{
			{Role: "painter", Model: "janus-pro-7b"},
			{Role: "thinker", Model: "qwen2.5-7b-instruct"},
		},
		Templates: []schema.TemplateRef{
			{Role: "think", ID: "think", Version: "v1"},
			{Role: "critique", ID: "critique", Version: "v1"},
		},
		Shards: map[string][]ShardInfo{},
	}
}

// writeTestVersion writes a committed version at prefix: 5 accepted
// trajectories in 2 shards, 2 rejected in 1, 2 failures in 1, the card and
// the manifest, in that order.
func writeTestVersion(t *testing.T, bucket *blob.Bucket, prefix string) *Manifest {
	t.Helper()
	ctx := context.Background()
	m := testManifest()
	accepted := testRows(5, schema.StatusAccepted)
	rejected := make([]schema.Trajectory, 2)
	for i := range rejected {
		rejected[i] = testTrajectory(100+i, schema.StatusRejected)
	}
	sortByID(rejected)
	failures := []schema.Failure{testFailure(0), testFailure(1)}

	sizes := make([]int64, len(accepted))
	for i := range accepted {
		sizes[i] = EstimateBytes(&accepted[i])
	}
	plan := PlanShards(sizes, sizes[0]+sizes[1]+sizes[2]) // 3 rows, then 2
	if len(plan) != 2 {
		t.Fatalf("plan %v, want 2 shards", plan)
	}
	l, _ := LayoutOf(ConfigTrajectories)
	for i, r := range plan {
		info, err := WriteShard(ctx, bucket, prefix, l.ShardPath(i, len(plan)), accepted[r.Start:r.End], ShardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Shards[ConfigTrajectories] = append(m.Shards[ConfigTrajectories], info)
	}
	l, _ = LayoutOf(ConfigRejected)
	info, err := WriteShard(ctx, bucket, prefix, l.ShardPath(0, 1), rejected, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Shards[ConfigRejected] = []ShardInfo{info}
	l, _ = LayoutOf(ConfigFailed)
	info, err = WriteShard(ctx, bucket, prefix, l.ShardPath(0, 1), failures, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Shards[ConfigFailed] = []ShardInfo{info}

	for i := range accepted {
		m.Stats.Add(&accepted[i])
	}
	for i := range rejected {
		m.Stats.Add(&rejected[i])
	}
	m.Counts = Counts{Seeded: 9, Accepted: 5, Rejected: 2, Failed: 2, DuplicatesDropped: 1}
	if err := WriteCard(ctx, bucket, prefix, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteManifest(ctx, bucket, prefix, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A corruption damages a committed test version.
type corruption func(t *testing.T, bucket *blob.Bucket, m *Manifest)

// editManifest rewrites the manifest as edit leaves it, bypassing the
// checks of WriteManifest.
func editManifest(edit func(m *Manifest)) corruption {
	return func(t *testing.T, bucket *blob.Bucket, m *Manifest) {
		edit(m)
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		putObject(t, bucket, ManifestFile, b)
	}
}

func putObject(t *testing.T, bucket *blob.Bucket, path string, b []byte) {
	t.Helper()
	if err := bucket.WriteAll(context.Background(), Key(testPrefix, path), b, nil); err != nil {
		t.Fatal(err)
	}
}

func getObject(t *testing.T, bucket *blob.Bucket, path string) []byte {
	t.Helper()
	b, err := bucket.ReadAll(context.Background(), Key(testPrefix, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func deleteObject(t *testing.T, bucket *blob.Bucket, path string) {
	t.Helper()
	if err := bucket.Delete(context.Background(), Key(testPrefix, path)); err != nil {
		t.Fatal(err)
	}
}

// replaceShard rewrites shard i of config with rows (written without
// validation, so invalid rows get in) and updates the manifest's listing.
func replaceShard[T any](config string, i int, rows func(old []T) []T) corruption {
	return func(t *testing.T, bucket *blob.Bucket, m *Manifest) {
		ctx := context.Background()
		s := m.Shards[config][i]
		old, err := ReadShard[T](ctx, bucket, testPrefix, s.Path)
		if err != nil {
			t.Fatal(err)
		}
		info, err := WriteShard(ctx, bucket, testPrefix, s.Path, rows(old), ShardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Shards[config][i] = info
		editManifest(func(*Manifest) {})(t, bucket, m)
	}
}

// writeUnvalidated rewrites shard i of config with rows that WriteShard
// would refuse.
func writeUnvalidated(config string, i int, edit func(rows []schema.Trajectory)) corruption {
	return func(t *testing.T, bucket *blob.Bucket, m *Manifest) {
		ctx := context.Background()
		s := m.Shards[config][i]
		rows, err := ReadShard[schema.Trajectory](ctx, bucket, testPrefix, s.Path)
		if err != nil {
			t.Fatal(err)
		}
		edit(rows)
		raw := make([]unvalidated, len(rows))
		for i := range rows {
			raw[i] = unvalidated(rows[i])
		}
		info, err := WriteShard(ctx, bucket, testPrefix, s.Path, raw, ShardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Shards[config][i] = info
		editManifest(func(*Manifest) {})(t, bucket, m)
	}
}

// unvalidated has the fields and tags of schema.Trajectory but not its
// Validate method.
type unvalidated schema.Trajectory

type wantProblem struct {
	path string
	kind ProblemKind
}

func TestVerify(t *testing.T) {
	for name, open := range testBuckets {
		t.Run(name, func(t *testing.T) { testVerify(t, open) })
	}
}

// testVerify is the conformance test of Verify, run against every bucket
// driver: a committed version verifies, and each corruption is reported.
func testVerify(t *testing.T, open func(*testing.T) *blob.Bucket) {
	acc0 := "data/trajectories/train-00000-of-00002.parquet"
	acc1 := "data/trajectories/train-00001-of-00002.parquet"
	rej0 := "rejected/rejected-00000-of-00001.parquet"
	fail0 := "failed/failed-00000-of-00001.parquet"
	tests := []struct {
		name    string
		corrupt corruption
		want    []wantProblem
	}{
		{"ok", nil, nil},
		{
			"flipped byte",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				data := getObject(t, b, acc0)
				data[0] ^= 0xff // the PAR1 magic
				putObject(t, b, acc0, data)
			},
			[]wantProblem{{acc0, ProblemChecksum}, {acc0, ProblemUnreadable}},
		},
		{
			"flipped byte in the data",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				data := getObject(t, b, acc1)
				data[len(data)/2] ^= 0x01
				putObject(t, b, acc1, data)
			},
			nil, // only the checksum is sure to catch it; checked below
		},
		{
			"truncated shard",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				data := getObject(t, b, rej0)
				putObject(t, b, rej0, data[:len(data)-10])
			},
			[]wantProblem{{rej0, ProblemSize}, {rej0, ProblemChecksum}, {rej0, ProblemUnreadable}},
		},
		{
			"deleted shard",
			func(t *testing.T, b *blob.Bucket, m *Manifest) { deleteObject(t, b, acc1) },
			[]wantProblem{{acc1, ProblemMissing}},
		},
		{
			"unlisted shard",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				putObject(t, b, "data/trajectories/train-00002-of-00003.parquet", getObject(t, b, acc0))
			},
			[]wantProblem{{"data/trajectories/train-00002-of-00003.parquet", ProblemUnlisted}},
		},
		{
			"unlisted shard in another folder",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				putObject(t, b, "data/subtasks/train-00000-of-00001.parquet", getObject(t, b, fail0))
			},
			[]wantProblem{{"data/subtasks/train-00000-of-00001.parquet", ProblemUnlisted}},
		},
		{
			"counts do not reconcile",
			editManifest(func(m *Manifest) { m.Counts.Seeded++ }),
			[]wantProblem{{ManifestFile, ProblemCounts}},
		},
		{
			"accepted count disagrees with the shards",
			editManifest(func(m *Manifest) { m.Counts.Accepted++; m.Counts.Seeded++ }),
			[]wantProblem{{ManifestFile, ProblemCounts}},
		},
		{
			"listed rows disagree with the shard",
			editManifest(func(m *Manifest) {
				m.Shards[ConfigFailed][0].Rows++
				m.Counts.Failed++
				m.Counts.Seeded++
			}),
			[]wantProblem{{fail0, ProblemRows}},
		},
		{
			"rejected trajectory in the trajectories config",
			replaceShard(ConfigTrajectories, 0, func(rows []schema.Trajectory) []schema.Trajectory {
				rows[1].Verdict = schema.Verdict{Status: schema.StatusRejected, Reasons: []string{"clip: low"}}
				return rows
			}),
			[]wantProblem{{acc0, ProblemVerdict}},
		},
		{
			"accepted trajectory in the rejected config",
			replaceShard(ConfigRejected, 0, func(rows []schema.Trajectory) []schema.Trajectory {
				rows[0].Verdict = schema.Verdict{Status: schema.StatusAccepted}
				return rows
			}),
			[]wantProblem{{rej0, ProblemVerdict}},
		},
		{
			"invalid trajectory",
			writeUnvalidated(ConfigTrajectories, 1, func(rows []schema.Trajectory) {
				rows[0].Regions[2].Thought.Text = ""
			}),
			[]wantProblem{{acc1, ProblemInvalid}},
		},
		{
			"duplicate id",
			replaceShard(ConfigRejected, 0, func(rows []schema.Trajectory) []schema.Trajectory {
				rows[0].ID = testRows(5, schema.StatusAccepted)[4].ID
				return rows
			}),
			[]wantProblem{{rej0, ProblemDuplicate}},
		},
		{
			"failed sample also accepted",
			replaceShard(ConfigFailed, 0, func(rows []schema.Failure) []schema.Failure {
				rows[1].ID = testRows(5, schema.StatusAccepted)[0].ID
				return rows
			}),
			[]wantProblem{{fail0, ProblemDuplicate}},
		},
		{
			"misnamed shard",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				putObject(t, b, "failed/failed-00000-of-00002.parquet", getObject(t, b, fail0))
				deleteObject(t, b, fail0)
				editManifest(func(m *Manifest) { m.Shards[ConfigFailed][0].Path = "failed/failed-00000-of-00002.parquet" })(t, b, m)
			},
			[]wantProblem{{"failed/failed-00000-of-00002.parquet", ProblemName}},
		},
		{
			"unknown config",
			editManifest(func(m *Manifest) {
				m.Shards["subtasks"] = m.Shards[ConfigFailed]
				delete(m.Shards, ConfigFailed)
				m.Counts.Failed = 0
				m.Counts.Seeded -= 2
			}),
			[]wantProblem{{fail0, ProblemConfig}},
		},
		{
			"missing manifest",
			func(t *testing.T, b *blob.Bucket, m *Manifest) { deleteObject(t, b, ManifestFile) },
			[]wantProblem{{ManifestFile, ProblemManifest}},
		},
		{
			"manifest does not parse",
			func(t *testing.T, b *blob.Bucket, m *Manifest) { putObject(t, b, ManifestFile, []byte(`{"shards": [`)) },
			[]wantProblem{{ManifestFile, ProblemManifest}},
		},
		{
			"other schema major version",
			editManifest(func(m *Manifest) { m.SchemaVersion = "1.1" }), // schema.Version is 2.x
			[]wantProblem{{ManifestFile, ProblemManifest}},
		},
		{
			"missing card",
			func(t *testing.T, b *blob.Bucket, m *Manifest) { deleteObject(t, b, CardFile) },
			[]wantProblem{{CardFile, ProblemCard}},
		},
		{
			"several problems at once",
			func(t *testing.T, b *blob.Bucket, m *Manifest) {
				deleteObject(t, b, acc1)
				putObject(t, b, "rejected/extra.parquet", getObject(t, b, rej0))
				editManifest(func(m *Manifest) { m.Counts.Seeded = 100 })(t, b, m)
			},
			[]wantProblem{{acc1, ProblemMissing}, {"rejected/extra.parquet", ProblemUnlisted}, {ManifestFile, ProblemCounts}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			bucket := open(t)
			m := writeTestVersion(t, bucket, testPrefix)
			if tt.corrupt != nil {
				tt.corrupt(t, bucket, m)
			}
			rep, err := Verify(ctx, bucket, testPrefix)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var got []wantProblem
			for _, p := range rep.Problems {
				if p.Message == "" {
					t.Errorf("problem %+v has no message", p)
				}
				got = append(got, wantProblem{p.Path, p.Kind})
			}
			if tt.name == "flipped byte in the data" {
				if !slices.Contains(got, wantProblem{acc1, ProblemChecksum}) {
					t.Errorf("problems %v, want a checksum problem in %s", got, acc1)
				}
				return
			}
			if !sameProblems(got, tt.want) {
				t.Errorf("Verify found %v, want %v\n%s", got, tt.want, rep)
			}
			if rep.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %v with problems %v", rep.OK(), got)
			}
			if tt.name == "ok" && (rep.Shards != 4 || rep.Rows != 9) {
				t.Errorf("report read %d shards, %d rows, want 4 and 9", rep.Shards, rep.Rows)
			}
		})
	}
}

// sameProblems compares (path, kind) pairs as sets.
func sameProblems(got, want []wantProblem) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			return false
		}
	}
	return true
}

func TestVerifyCancelled(t *testing.T) {
	bucket := testBuckets["memblob"](t)
	writeTestVersion(t, bucket, testPrefix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := Verify(ctx, bucket, testPrefix); err == nil {
		t.Errorf("Verify with a cancelled context = %v, nil; want an error", rep)
	}
}
