package exporters

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// buckets on the test S3 server

	"github.com/twigdata/twig/internal/s3test"
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

// TestS3MultipartChecksum writes a shard larger than UploadPartBytes to a
// real S3 server and checks what the server stored: a multipart upload
// (the ETag of a multipart object ends in -<parts>) whose parts carried a
// CRC32 checksum the server verified and kept, and bytes whose SHA-256 is
// the one the writer reports for the manifest.
func TestS3MultipartChecksum(t *testing.T) {
	ctx := context.Background()
	srv := s3test.StartServer(t)
	b, err := blob.OpenBucket(ctx, srv.URL(s3test.Bucket))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rows := testRows(1, schema.StatusAccepted)
	rng := rand.New(rand.NewPCG(5, 6))
	big := make([]schema.Trajectory, 0, 40)
	for i := range 40 { // 40 rows with 1 MiB images: a 40 MB shard, 3 parts
		r := rows[0]
		r.ID = fmt.Sprintf("%08d-0000-5000-8000-000000000000", i)
		img := make([]byte, 1<<20)
		for j := 0; j < len(img); j += 8 {
			binary.LittleEndian.PutUint64(img[j:], rng.Uint64())
		}
		r.FinalImage.Bytes = img
		big = append(big, r)
	}
	info, err := WriteShard(ctx, b, "ds/v1", "data/trajectories/train-00000-of-00001.parquet", big, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes <= UploadPartBytes {
		t.Fatalf("shard of %d bytes is not larger than a part (%d)", info.Bytes, UploadPartBytes)
	}
	head, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s3test.Bucket), Key: aws.String("ds/v1/" + info.Path), ChecksumMode: s3types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantParts := (info.Bytes + UploadPartBytes - 1) / UploadPartBytes
	if etag := aws.ToString(head.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), fmt.Sprintf("-%d", wantParts)) {
		t.Errorf("ETag %s: want a multipart upload of %d parts", etag, wantParts)
	}
	if aws.ToString(head.ChecksumCRC32) == "" && aws.ToString(head.ChecksumCRC32C) == "" && aws.ToString(head.ChecksumCRC64NVME) == "" {
		t.Errorf("the server kept no checksum of the upload: %+v", head)
	}
	if aws.ToInt64(head.ContentLength) != info.Bytes || aws.ToString(head.ContentType) != ContentTypeParquet {
		t.Errorf("stored %d bytes of %s, the writer reports %d of %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ContentType), info.Bytes, ContentTypeParquet)
	}
	if sum, err := sha256Of(ctx, b, "ds/v1/"+info.Path); err != nil || sum != info.SHA256 {
		t.Errorf("stored SHA-256 %s (%v), the writer reports %s", sum, err, info.SHA256)
	}
}
