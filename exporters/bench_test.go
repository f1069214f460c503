package exporters

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/internal/s3test"
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

// BenchmarkExportRatio measures, side by side in one run, writing a shard
// (Parquet encoding, compression, SHA-256) and writing the same bytes raw
// to the same target, and reports their speed ratio (the product targets
// at least 0.5). The raw side streams the bytes in the writer's buffer size
// (1 MiB), as any producer of a large object does; the target is an
// in-memory bucket, a local directory, and, where versitygw is installed,
// a real S3 server on 127.0.0.1 (the target users write to).
//
// Run: go test ./exporters -run '^$' -bench ExportRatio
func BenchmarkExportRatio(b *testing.B) {
	targets := map[string]func(b *testing.B) *blob.Bucket{
		"mem": func(*testing.B) *blob.Bucket { return memblob.OpenBucket(nil) },
		"file": func(b *testing.B) *blob.Bucket {
			bk, err := fileblob.OpenBucket(b.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
			if err != nil {
				b.Fatal(err)
			}
			return bk
		},
		"s3": func(b *testing.B) *blob.Bucket {
			bk, err := blob.OpenBucket(context.Background(), s3test.Start(b))
			if err != nil {
				b.Fatal(err)
			}
			return bk
		},
	}
	for _, target := range []string{"mem", "file", "s3"} {
		for _, c := range []string{CompressionZstd, CompressionSnappy, CompressionNone} {
			b.Run(target+"/"+c, func(b *testing.B) {
				ctx := context.Background()
				bucket := targets[target](b)
				defer bucket.Close()
				rows, opts := benchRows(), ShardOptions{Compression: c}
				if _, err := WriteShard(ctx, bucket, "", "x.parquet", rows, opts); err != nil {
					b.Fatal(err)
				}
				data, err := bucket.ReadAll(ctx, "x.parquet")
				if err != nil {
					b.Fatal(err)
				}
				var shard, raw time.Duration
				for b.Loop() {
					runtime.GC() // neither side pays for the other's garbage
					t0 := time.Now()
					if _, err := WriteShard(ctx, bucket, "", "x.parquet", rows, opts); err != nil {
						b.Fatal(err)
					}
					shard += time.Since(t0)
					runtime.GC()
					t1 := time.Now()
					if err := writeRaw(ctx, bucket, "raw", data); err != nil {
						b.Fatal(err)
					}
					raw += time.Since(t1)
				}
				b.ReportMetric(float64(len(data))*float64(b.N)/shard.Seconds()/1e6, "shard-MB/s")
				b.ReportMetric(float64(len(data))*float64(b.N)/raw.Seconds()/1e6, "raw-MB/s")
				b.ReportMetric(raw.Seconds()/shard.Seconds(), "ratio")
			})
		}
	}
}

// writeRaw streams data to key in writeBufferBytes writes.
func writeRaw(ctx context.Context, bucket *blob.Bucket, key string, data []byte) error {
	w, err := bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: ContentTypeParquet})
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), writeBufferBytes)
		if _, err := w.Write(data[:n]); err != nil {
			w.Close()
			return err
		}
		data = data[n:]
	}
	return w.Close()
}

// BenchmarkShardMemory streams 500 and then 5,000 trajectories (64 KiB
// final images: 33 MB and 330 MB of shard) through one ShardWriter into a
// local directory, making each row just before it is written, and reports
// the peak live heap of each and their ratio. The writer holds one row
// group, so the peak is bounded by a row group, not by the shard (the
// product's target: memory bounded by about one shard, not the dataset).
//
// Run: go test ./exporters -run '^$' -bench ShardMemory -benchtime 1x
func BenchmarkShardMemory(b *testing.B) {
	peak := map[int]float64{}
	for b.Loop() {
		for _, n := range []int{500, 5000} {
			peak[n] = peakHeapMB(b, n)
		}
	}
	b.ReportMetric(peak[500], "peak-MB-500")
	b.ReportMetric(peak[5000], "peak-MB-5000")
	b.ReportMetric(peak[5000]/peak[500], "ratio")
}

// peakHeapMB writes n rows into one shard and returns the peak live heap,
// in MB (runtime/metrics /gc/heap/live:bytes), sampled every millisecond.
func peakHeapMB(b *testing.B, n int) float64 {
	ctx := context.Background()
	bucket, err := fileblob.OpenBucket(b.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	template := testRows(1, schema.StatusAccepted)[0]
	rng := rand.New(rand.NewPCG(3, 4))
	runtime.GC()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		// The live heap as of the last GC: what the writer holds, not the
		// garbage it has not yet collected.
		var peak uint64
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	w, err := NewShardWriter[schema.Trajectory](ctx, bucket, "", "x.parquet", ShardOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		row := template
		row.ID = fmt.Sprintf("%08d-0000-5000-8000-000000000000", i)
		img := make([]byte, 64<<10)
		for j := 0; j < len(img); j += 8 {
			binary.LittleEndian.PutUint64(img[j:], rng.Uint64())
		}
		row.FinalImage = schema.Image{Bytes: img, Path: row.ID + ".png"}
		if err := w.Write([]schema.Trajectory{row}); err != nil {
			b.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	close(stop)
	peak := <-done
	b.Logf("%d rows: shard %.0f MB, peak live heap %.1f MB", n, float64(info.Bytes)/1e6, float64(peak)/1e6)
	return float64(peak) / 1e6
}
