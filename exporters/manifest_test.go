package exporters

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/twigdata/twig/internal/golden"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/schema"
)

func TestCountsReconciles(t *testing.T) {
	tests := []struct {
		c    Counts
		want bool
	}{
		{Counts{}, true},
		{Counts{Seeded: 9, Accepted: 5, Rejected: 2, Failed: 2, DuplicatesDropped: 7}, true},
		{Counts{Seeded: 10, Accepted: 5, Rejected: 2, Failed: 2}, false},
		{Counts{Seeded: 8, Accepted: 5, Rejected: 2, Failed: 2}, false},
	}
	for _, tt := range tests {
		if got := tt.c.Reconciles(); got != tt.want {
			t.Errorf("%+v.Reconciles() = %v, want %v", tt.c, got, tt.want)
		}
	}
}

// TestManifestGolden compares the manifest of the test version with
// testdata/manifest.golden.json. Its shard SHA-256s pin the bytes the
// writer produces: a change means every shard of a rerun changes. Refresh
// with go test ./exporters -run TestManifestGolden -update and review.
func TestManifestGolden(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	writeTestVersion(t, bucket, testPrefix)
	b, err := bucket.ReadAll(context.Background(), Key(testPrefix, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "manifest.golden.json"), b)
}

func TestManifestRoundTrip(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	if ok, err := Committed(ctx, bucket, testPrefix); err != nil || ok {
		t.Fatalf("Committed before writing = %v, %v, want false", ok, err)
	}
	if _, err := ReadManifest(ctx, bucket, testPrefix); !errors.Is(err, ErrNotCommitted) {
		t.Fatalf("ReadManifest before writing: %v, want ErrNotCommitted", err)
	}
	want := writeTestVersion(t, bucket, testPrefix)
	if ok, err := Committed(ctx, bucket, testPrefix); err != nil || !ok {
		t.Fatalf("Committed after writing = %v, %v, want true", ok, err)
	}
	got, err := ReadManifest(ctx, bucket, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	// The manifest is indented, config included: compare configs as JSON.
	var compact bytes.Buffer
	if err := json.Compact(&compact, got.Config); err != nil {
		t.Fatal(err)
	}
	got.Config = compact.Bytes()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadManifest = %+v\nwant %+v", got, want)
	}
}

func TestWriteManifestRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *Manifest)
	}{
		{"counts do not reconcile", func(m *Manifest) { m.Counts.Seeded++ }},
		{"created is not RFC 3339", func(m *Manifest) { m.Created = "yesterday" }},
		{"listed shard missing", func(m *Manifest) {
			m.Shards[ConfigFailed] = append(m.Shards[ConfigFailed], ShardInfo{Path: "failed/failed-00001-of-00002.parquet", Rows: 1})
		}},
		{"listed size wrong", func(m *Manifest) { m.Shards[ConfigRejected][0].Bytes++ }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			bucket := memblob.OpenBucket(nil)
			defer bucket.Close()
			m := writeTestVersion(t, bucket, testPrefix)
			if err := bucket.Delete(ctx, Key(testPrefix, ManifestFile)); err != nil {
				t.Fatal(err)
			}
			tt.edit(m)
			if err := WriteManifest(ctx, bucket, testPrefix, m); err == nil {
				t.Fatalf("WriteManifest succeeded")
			}
			if ok, _ := Committed(ctx, bucket, testPrefix); ok {
				t.Errorf("the version is committed after a refused WriteManifest")
			}
		})
	}
}

// TestRerunIsIdentical writes the test version twice: every object is the
// same, but for the manifest's created time.
func TestRerunIsIdentical(t *testing.T) {
	ctx := context.Background()
	var objects [2]map[string][]byte
	for i := range objects {
		bucket := memblob.OpenBucket(nil)
		defer bucket.Close()
		writeTestVersion(t, bucket, testPrefix)
		objects[i] = map[string][]byte{}
		it := bucket.List(nil)
		for {
			obj, err := it.Next(ctx)
			if err != nil {
				break
			}
			b, err := bucket.ReadAll(ctx, obj.Key)
			if err != nil {
				t.Fatal(err)
			}
			objects[i][obj.Key] = b
		}
	}
	if len(objects[0]) != 6 {
		t.Errorf("%d objects, want 6 (4 shards, card, manifest)", len(objects[0]))
	}
	for key, b := range objects[0] {
		if !bytes.Equal(b, objects[1][key]) {
			t.Errorf("%s differs between two runs", key)
		}
	}
}

func TestStats(t *testing.T) {
	acc := testTrajectory(0, schema.StatusAccepted)
	rej := testTrajectory(1, schema.StatusRejected)
	// Region 0 of rej was repainted after a parse failure of its critique.
	first := rej.Regions[0].Attempts[0]
	first.Decision = schema.DecisionRepaint
	first.Critique.Retries = []string{"garbage", "more garbage"}
	second := rej.Regions[0].Attempts[0]
	second.Index = 1
	second.Decision = schema.DecisionParseFailed
	rej.Regions[0].Attempts = []schema.Attempt{first, second}
	if err := rej.Validate(); err != nil {
		t.Fatal(err)
	}
	var a, b, all Stats
	a.Add(&acc)
	b.Add(&rej)
	all.Merge(a)
	all.Merge(b)
	want := Stats{
		Verdicts: map[string]int64{schema.StatusAccepted: 1, schema.StatusRejected: 1},
		Categories: map[string]map[string]int64{
			acc.Category: {schema.StatusAccepted: 1},
			rej.Category: {schema.StatusRejected: 1},
		},
		Regions:          6,
		RepaintedRegions: 1,
		RepaintShare:     1.0 / 6,
		ParseFailures:    1,
		CritiqueRetries:  2,
		JudgeFails:       map[string]int64{"clip": 1},
		// 6 regions critiqued once, plus the critiqued repaint.
		Scores: map[string]int64{"90-100": 7},
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("merged stats = %+v\nwant %+v", all, want)
	}
	var direct Stats
	direct.Add(&acc)
	direct.Add(&rej)
	if !reflect.DeepEqual(direct, want) {
		t.Errorf("added stats = %+v\nwant %+v", direct, want)
	}
}

func TestScoreBin(t *testing.T) {
	if got := ScoreBin(nil); got != "unparsed" {
		t.Errorf("ScoreBin(nil) = %q, want unparsed", got)
	}
	for _, tc := range []struct {
		score int32
		want  string
	}{{-1, "unparsed"}, {0, "00-09"}, {9, "00-09"}, {10, "10-19"}, {89, "80-89"}, {90, "90-100"}, {100, "90-100"}} {
		if got := ScoreBin(&tc.score); got != tc.want {
			t.Errorf("ScoreBin(%d) = %q, want %q", tc.score, got, tc.want)
		}
	}
}
