package exporters

import (
	"context"
	"io"
	"reflect"
	"testing"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// buckets on the test S3 server

	"github.com/twigdata/twig/exporters/s3test"
	"github.com/twigdata/twig/schema"
)

// The S3 driver joins testBuckets, so every test that ranges over it
// (TestVerify, TestShardWriterAbort, TestWriteShardDeterministic and
// TestConformance) also runs against a real S3 server. Each bucket gets a
// fresh versitygw process; without versitygw those subtests are skipped
// (failed under TWIG_REQUIRE_S3=1).
func init() { testBuckets["s3"] = openS3Bucket }

func openS3Bucket(t *testing.T) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), s3test.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance runs one suite against every bucket driver: a version
// written shard by shard, then card, then manifest, commits, verifies and
// reads back; a version without a manifest is not committed; an aborted
// shard leaves nothing visible.
func TestConformance(t *testing.T) {
	for name, open := range testBuckets {
		t.Run(name, func(t *testing.T) { testConformance(t, open) })
	}
}

func testConformance(t *testing.T, open func(*testing.T) *blob.Bucket) {
	ctx := context.Background()
	bucket := open(t)

	// Written and committed.
	m := writeTestVersion(t, bucket, testPrefix)
	if ok, err := Committed(ctx, bucket, testPrefix); err != nil || !ok {
		t.Fatalf("Committed = %v, %v after WriteManifest, want true", ok, err)
	}
	rep, err := Verify(ctx, bucket, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("Verify of a fresh version:\n%s", rep)
	}
	got, err := ReadManifest(ctx, bucket, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Shards, m.Shards) || got.Counts != m.Counts {
		t.Errorf("ReadManifest: shards %+v counts %+v, want %+v %+v", got.Shards, got.Counts, m.Shards, m.Counts)
	}
	if card, err := bucket.ReadAll(ctx, Key(testPrefix, "README.md")); err != nil || string(card) != string(Card(m)) {
		t.Errorf("README.md: %v, or not the card of the manifest", err)
	}

	// Shards read back row for row.
	accepted := testRows(5, schema.StatusAccepted)
	var rows []schema.Trajectory
	for _, s := range m.Shards[ConfigTrajectories] {
		part, err := ReadShard[schema.Trajectory](ctx, bucket, testPrefix, s.Path)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, part...)
	}
	if !sameRows(rows, accepted) {
		t.Errorf("ReadShard of %s gave other rows than were written", ConfigTrajectories)
	}
	failed, err := ReadShard[schema.Failure](ctx, bucket, testPrefix, m.Shards[ConfigFailed][0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []schema.Failure{testFailure(0), testFailure(1)}; !sameRows(failed, want) {
		t.Errorf("ReadShard of %s gave other rows than were written", ConfigFailed)
	}

	// A streamed shard: several Write calls, then Close.
	const streamed = "ds/v2"
	path := ShardName("data/trajectories", "train", 0, 1)
	w, err := NewShardWriter[schema.Trajectory](ctx, bucket, streamed, path, ShardOptions{RowGroupRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range accepted {
		if err := w.Write(accepted[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Rows != int64(len(accepted)) {
		t.Errorf("streamed shard: %d rows, want %d", info.Rows, len(accepted))
	}
	if rows, err := ReadShard[schema.Trajectory](ctx, bucket, streamed, path); err != nil || !sameRows(rows, accepted) {
		t.Errorf("ReadShard of the streamed shard: %v, or other rows than were written", err)
	}
	// Shards without a manifest are no version.
	if ok, err := Committed(ctx, bucket, streamed); err != nil || ok {
		t.Errorf("Committed = %v, %v without a manifest, want false", ok, err)
	}
	if _, err := Verify(ctx, bucket, streamed); err == nil {
		// Verify either errors or reports the missing manifest.
		if rep, _ := Verify(ctx, bucket, streamed); rep.OK() {
			t.Errorf("Verify of a version without a manifest is OK")
		}
	}

	// An aborted shard leaves nothing visible.
	const aborted = "ds/v3"
	w, err = NewShardWriter[schema.Trajectory](ctx, bucket, aborted, path, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(accepted); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := w.Close(); err == nil {
		t.Errorf("Close after Abort succeeded")
	}
	if ok, err := bucket.Exists(ctx, Key(aborted, path)); err != nil || ok {
		t.Errorf("Exists = %v, %v after an aborted write, want false", ok, err)
	}
	it := bucket.List(&blob.ListOptions{Prefix: aborted + "/"})
	if obj, err := it.Next(ctx); err != io.EOF {
		t.Errorf("listing %s/ after an aborted write: %+v, %v; want nothing", aborted, obj, err)
	}
	if ok, err := Committed(ctx, bucket, aborted); err != nil || ok {
		t.Errorf("Committed = %v, %v after an aborted write, want false", ok, err)
	}
}
