package exporters

import (
	"context"
	"math/rand/v2"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/schema"
)

// benchRows are 100 trajectories with 64 KiB final images, closer to real
// rows than the test rows.
func benchRows() []schema.Trajectory {
	rows := testRows(100, schema.StatusAccepted)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range rows {
		img := make([]byte, 64<<10)
		for j := range img {
			img[j] = byte(rng.Uint32()) // incompressible, like PNG data
		}
		rows[i].FinalImage.Bytes = img
	}
	return rows
}

// BenchmarkWriteShard writes shards to a memblob bucket; compare its MB/s
// with BenchmarkWriteRaw (the product targets at least half).
func BenchmarkWriteShard(b *testing.B) {
	for _, c := range []string{CompressionZstd, CompressionSnappy, CompressionNone} {
		b.Run(c, func(b *testing.B) { benchmarkWriteShard(b, ShardOptions{Compression: c}) })
	}
}

func benchmarkWriteShard(b *testing.B, opts ShardOptions) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	rows := benchRows()
	info, err := WriteShard(ctx, bucket, "", "x.parquet", rows, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Bytes)
	b.ResetTimer()
	for b.Loop() {
		if _, err := WriteShard(ctx, bucket, "", "x.parquet", rows, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteRaw writes the bytes of the same shard as they are.
func BenchmarkWriteRaw(b *testing.B) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	if _, err := WriteShard(ctx, bucket, "", "x.parquet", benchRows(), ShardOptions{}); err != nil {
		b.Fatal(err)
	}
	data, err := bucket.ReadAll(ctx, "x.parquet")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		w, err := bucket.NewWriter(ctx, "raw", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
