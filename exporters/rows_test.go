package exporters

import (
	"context"
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/schema"
)

// TestRows reads three shards back through one iterator: every row once,
// in order, with its shard and index; a missing shard and a truncated one
// are errors that name the shard.
func TestRows(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	var shards []ShardInfo
	var want []string
	for s, n := range []int{3, 0, 20} { // an empty shard in the middle; 20 rows span two batches
		var rows []schema.Trajectory
		for i := range n {
			tr := testTrajectory(100*s+i, schema.StatusAccepted)
			rows = append(rows, tr)
			want = append(want, tr.ID)
		}
		info, err := WriteShard(ctx, bucket, "v", ShardName("data/trajectories", "train", s, 3), rows, ShardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, info)
	}

	type idOnly struct {
		ID string `parquet:"id"`
	}
	it := NewRows[idOnly](ctx, bucket, "v", shards)
	var got []string
	var last ShardInfo
	for {
		row, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if row == nil {
			break
		}
		if it.Shard().Path != last.Path {
			if it.Index() != 0 {
				t.Errorf("first row of %s has index %d", it.Shard().Path, it.Index())
			}
			last = it.Shard()
		}
		got = append(got, row.ID)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("rows:\n got %v\nwant %v", got, want)
	}
	if last.Path != shards[2].Path || it.Index() != 19 {
		t.Errorf("last row: shard %s index %d, want %s 19", last.Path, it.Index(), shards[2].Path)
	}

	// A listed shard that is not there.
	missing := append([]ShardInfo{shards[0]}, ShardInfo{Path: "data/trajectories/gone.parquet"})
	it = NewRows[idOnly](ctx, bucket, "v", missing)
	defer it.Close()
	var err error
	for n := 0; err == nil; n++ {
		var row *idOnly
		row, err = it.Next()
		if row == nil && err == nil {
			t.Fatalf("iterator ended after %d rows without reporting the missing shard", n)
		}
	}
	if !strings.Contains(err.Error(), "gone.parquet") {
		t.Errorf("missing shard: %v does not name it", err)
	}
	if _, again := it.Next(); again != err {
		t.Errorf("after an error Next returned %v, want the same error", again)
	}

	// A shard cut short: the object's tail is gone, so it cannot be read.
	key := Key("v", shards[2].Path)
	b, err := bucket.ReadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(ctx, key, b[:len(b)/2], nil); err != nil {
		t.Fatal(err)
	}
	it = NewRows[idOnly](ctx, bucket, "v", shards[2:])
	defer it.Close()
	if _, err := it.Next(); err == nil || !strings.Contains(err.Error(), shards[2].Path) {
		t.Errorf("truncated shard: %v, want an error naming %s", err, shards[2].Path)
	}
}
