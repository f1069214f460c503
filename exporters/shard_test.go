package exporters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twigdata/twig/internal/golden"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/schema"
)

// sameRows reports whether a and b are deeply equal, taking a nil slice to
// equal an empty one (a required Parquet list does not tell them apart)
// and comparing pointers by what they point to.
func sameRows(a, b any) bool { return same(reflect.ValueOf(a), reflect.ValueOf(b)) }

func same(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return same(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !same(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

func testRows(n int, status string) []schema.Trajectory {
	rows := make([]schema.Trajectory, n)
	for i := range rows {
		rows[i] = testTrajectory(i, status)
	}
	sortByID(rows)
	return rows
}

func sortByID(rows []schema.Trajectory) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].ID < rows[j-1].ID; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

func TestWriteShardRoundTrip(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	rows := testRows(7, schema.StatusAccepted)
	path := ShardName("data/trajectories", "train", 0, 1)
	info, err := WriteShard(ctx, bucket, "ds/v1", path, rows, ShardOptions{RowGroupRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bucket.ReadAll(ctx, "ds/v1/"+path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != path || info.Rows != 7 || info.Bytes != int64(len(b)) || len(info.SHA256) != 64 {
		t.Errorf("ShardInfo = %+v, want path %s, 7 rows, %d bytes, a hex SHA-256", info, path, len(b))
	}
	got, err := ReadShard[schema.Trajectory](ctx, bucket, "ds/v1", path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRows(got, rows) {
		t.Errorf("rows read back differ from rows written")
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n != 3 {
		t.Errorf("%d row groups, want 3 (7 rows, 3 per group)", n)
	}

	failures := []schema.Failure{testFailure(0), testFailure(1)}
	if _, err := WriteShard(ctx, bucket, "ds/v1", "failed/failed-00000-of-00001.parquet", failures, ShardOptions{}); err != nil {
		t.Fatal(err)
	}
	gotF, err := ReadShard[schema.Failure](ctx, bucket, "ds/v1", "failed/failed-00000-of-00001.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if !sameRows(gotF, failures) {
		t.Errorf("failures read back = %+v, want %+v", gotF, failures)
	}
}

func TestShardReaderStreams(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	rows := testRows(5, schema.StatusRejected)
	if _, err := WriteShard(ctx, bucket, "", "rejected/rejected-00000-of-00001.parquet", rows, ShardOptions{RowGroupRows: 2}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenShard[schema.Trajectory](ctx, bucket, "", "rejected/rejected-00000-of-00001.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NumRows() != 5 {
		t.Errorf("NumRows() = %d, want 5", r.NumRows())
	}
	var ids []string
	buf := make([]schema.Trajectory, 2)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			ids = append(ids, row.ID)
		}
		if err != nil {
			break
		}
	}
	if len(ids) != 5 {
		t.Fatalf("read %d rows, want 5", len(ids))
	}
	for i, id := range ids {
		if id != rows[i].ID {
			t.Errorf("row %d: id %s, want %s", i, id, rows[i].ID)
		}
	}
}

// TestWriteShardDeterministic writes the same rows twice, into two buckets
// of different drivers, and wants the same bytes.
func TestWriteShardDeterministic(t *testing.T) {
	ctx := context.Background()
	rows := testRows(9, schema.StatusAccepted)
	for _, compression := range []string{"", CompressionSnappy, CompressionNone} {
		t.Run("compression="+compression, func(t *testing.T) {
			var infos []ShardInfo
			var files [][]byte
			for name, open := range testBuckets {
				for range 2 {
					bucket := open(t)
					info, err := WriteShard(ctx, bucket, "ds/v1", "data/trajectories/train-00000-of-00001.parquet", rows, ShardOptions{RowGroupRows: 4, Compression: compression})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					b, err := bucket.ReadAll(ctx, "ds/v1/data/trajectories/train-00000-of-00001.parquet")
					if err != nil {
						t.Fatal(err)
					}
					infos = append(infos, info)
					files = append(files, b)
				}
			}
			for i := range infos[1:] {
				if infos[i+1] != infos[0] {
					t.Errorf("write %d: %+v, write 0: %+v", i+1, infos[i+1], infos[0])
				}
				if !bytes.Equal(files[i+1], files[0]) {
					t.Errorf("write %d gave other bytes than write 0", i+1)
				}
			}
		})
	}
}

func TestWriteShardInvalidRow(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	rows := testRows(4, schema.StatusAccepted)
	rows[2].Regions[1].Attempts = nil
	path := "data/trajectories/train-00000-of-00001.parquet"
	_, err := WriteShard(ctx, bucket, "ds/v1", path, rows, ShardOptions{})
	var verr *schema.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("WriteShard error = %v, want a *schema.ValidationError", err)
	}
	if verr.ID != rows[2].ID || !strings.Contains(err.Error(), rows[2].ID) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name trajectory %s and shard %s", err, rows[2].ID, path)
	}
	if ok, _ := bucket.Exists(ctx, "ds/v1/"+path); ok {
		t.Errorf("a shard was committed despite the invalid row")
	}
}

func TestShardWriterAbort(t *testing.T) {
	for name, open := range testBuckets {
		t.Run(name, func(t *testing.T) {
			bucket := open(t)
			rows := testRows(3, schema.StatusAccepted)

			// Abort after writing: nothing is committed.
			w, err := NewShardWriter[schema.Trajectory](context.Background(), bucket, "ds/v1", "a.parquet", ShardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rows); err != nil {
				t.Fatal(err)
			}
			w.Abort()
			if _, err := w.Close(); err == nil {
				t.Errorf("Close after Abort succeeded")
			}

			// A cancelled context fails Close: nothing is committed.
			ctx, cancel := context.WithCancel(context.Background())
			w, err = NewShardWriter[schema.Trajectory](ctx, bucket, "ds/v1", "b.parquet", ShardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rows); err != nil {
				t.Fatal(err)
			}
			cancel()
			if _, err := w.Close(); err == nil {
				t.Errorf("Close with a cancelled context succeeded")
			}

			for _, key := range []string{"ds/v1/a.parquet", "ds/v1/b.parquet"} {
				if ok, err := bucket.Exists(context.Background(), key); err != nil || ok {
					t.Errorf("Exists(%s) = %v, %v after an aborted write, want false", key, ok, err)
				}
			}
			it := bucket.List(nil)
			for {
				obj, err := it.Next(context.Background())
				if err != nil {
					break
				}
				t.Errorf("object %s left behind by an aborted write", obj.Key)
			}
		})
	}
}

func TestWriteShardBadOptions(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	_, err := WriteShard(context.Background(), bucket, "", "x.parquet", testRows(1, schema.StatusAccepted), ShardOptions{Compression: "lzma"})
	if err == nil {
		t.Fatal("WriteShard with compression lzma succeeded")
	}
}

// TestShardSchema checks the Parquet types readers rely on: images are
// structs of binary bytes and STRING path (the datasets Image layout),
// lists are LIST-annotated 3-level groups, strings are STRING.
func TestShardSchema(t *testing.T) {
	f := writeTestFile(t, testRows(2, schema.StatusAccepted))
	root := f.Schema()
	img := field(t, root, "final_image")
	if img.Leaf() || len(img.Fields()) != 2 {
		t.Fatalf("final_image is not a group of two fields: %v", img)
	}
	bytesF, pathF := field(t, img, "bytes"), field(t, img, "path")
	if k := bytesF.Type().Kind(); k != parquet.ByteArray || bytesF.Type().LogicalType() != nil {
		t.Errorf("final_image.bytes is %v (logical %v), want BYTE_ARRAY without annotation", k, bytesF.Type().LogicalType())
	}
	if lt := pathF.Type().LogicalType(); !isLogical[*format.StringType](lt) {
		t.Errorf("final_image.path logical type = %v, want STRING", lt)
	}
	for _, name := range []string{"final_tokens", "regions", "judges"} {
		n := field(t, root, name)
		if lt := n.Type().LogicalType(); !isLogical[*format.ListType](lt) {
			t.Errorf("%s logical type = %v, want LIST", name, lt)
			continue
		}
		list := field(t, n, "list")
		if !list.Repeated() {
			t.Errorf("%s.list is not repeated", name)
		}
		field(t, list, "element")
	}
	if lt := field(t, root, "id").Type().LogicalType(); !isLogical[*format.StringType](lt) {
		t.Errorf("id logical type = %v, want STRING", lt)
	}
	md := map[string]string{}
	for _, kv := range f.Metadata().KeyValueMetadata {
		md[kv.Key] = kv.Value
	}
	if md[MetadataSchemaVersion] != schema.Version {
		t.Errorf("metadata %s = %q, want %q", MetadataSchemaVersion, md[MetadataSchemaVersion], schema.Version)
	}
	if want := `{"info":{"features":{"final_image":{"_type":"Image"}}}}`; md["huggingface"] != want {
		t.Errorf("metadata huggingface = %s, want %s", md["huggingface"], want)
	}
	if f.Metadata().CreatedBy != createdBy {
		t.Errorf("created_by = %q, want %q", f.Metadata().CreatedBy, createdBy)
	}
}

// TestShardSchemaGolden compares the Parquet schemas of both row types with
// testdata/*.schema.golden, produced by parquet-go's schema printer on a
// written shard. A change is a change of the readers' contract: run
// go test ./exporters -run TestShardSchemaGolden -update and review the diff.
func TestShardSchemaGolden(t *testing.T) {
	files := map[string]*parquet.File{
		"trajectory": writeTestFile(t, testRows(1, schema.StatusAccepted)),
		"failure":    writeTestFile(t, []schema.Failure{testFailure(0)}),
	}
	for name, f := range files {
		var b strings.Builder
		fmt.Fprintf(&b, "# The Parquet schema and footer metadata of a %s shard.\n# Produced by TestShardSchemaGolden; refresh with go test ./exporters -run TestShardSchemaGolden -update.\n", name)
		fmt.Fprintln(&b, f.Schema())
		fmt.Fprintf(&b, "created_by: %s\n", f.Metadata().CreatedBy)
		for _, kv := range f.Metadata().KeyValueMetadata {
			fmt.Fprintf(&b, "metadata %s: %s\n", kv.Key, kv.Value)
		}
		golden.Check(t, filepath.Join("testdata", name+".schema.golden"), []byte(b.String()))
	}
}

func writeTestFile[T any](t *testing.T, rows []T) *parquet.File {
	t.Helper()
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	if _, err := WriteShard(ctx, bucket, "", "x.parquet", rows, ShardOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := bucket.ReadAll(ctx, "x.parquet")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func field(t *testing.T, n parquet.Node, name string) parquet.Node {
	t.Helper()
	for _, f := range n.Fields() {
		if f.Name() == name {
			return f
		}
	}
	t.Fatalf("no field %q", name)
	return nil
}

func isLogical[T any](lt *format.LogicalType) bool {
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(T)
	return ok
}

// testBuckets open an empty bucket of each driver the tests run against.
var testBuckets = map[string]func(t *testing.T) *blob.Bucket{
	"memblob": func(t *testing.T) *blob.Bucket {
		b := memblob.OpenBucket(nil)
		t.Cleanup(func() { b.Close() })
		return b
	},
	"fileblob": openFileBucket,
}

// optionalColumn reports whether a top-level column of schema.Trajectory
// is optional (nullable).
func optionalColumn(name string) bool {
	for _, f := range parquet.SchemaOf(new(schema.Trajectory)).Fields() {
		if f.Name() == name {
			return f.Optional()
		}
	}
	return false
}

// TestStrippedTrajectoryRoundTrip writes trajectories stripped of their
// tokens (nil, which Validate accepts) and wants them to read back nil and
// still validate. A required Parquet list reads back empty, not nil, so
// this needs the token lists tagged optional in schema.go.
func TestStrippedTrajectoryRoundTrip(t *testing.T) {
	if !optionalColumn("final_tokens") {
		t.Error(`schema.go tags final_tokens as a required list: a nil token list reads back empty and fails Validate; tag it "final_tokens,optional,list" (and attempts' "tokens,optional,list")`)
	}
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	rows := testRows(3, schema.StatusAccepted)
	for i := range rows {
		rows[i].FinalTokens = nil
		for r := range rows[i].Regions {
			rows[i].Regions[r].Attempts[0].Tokens = nil
		}
	}
	if _, err := WriteShard(ctx, bucket, "", "x.parquet", rows, ShardOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadShard[schema.Trajectory](ctx, bucket, "", "x.parquet")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].FinalTokens != nil || got[i].Regions[0].Attempts[0].Tokens != nil {
			t.Errorf("row %d: nil tokens read back non-nil", i)
		}
		if err := got[i].Validate(); err != nil {
			t.Errorf("row %d read back invalid: %v", i, err)
		}
	}
}

// TestRowGroupsCutBySize: row groups end once their rows' approximate
// size reaches RowGroupBytes, or at RowGroupRows, whichever comes first,
// and the shard's rows read back whole either way.
func TestRowGroupsCutBySize(t *testing.T) {
	const image = 64 << 10
	for _, tt := range []struct {
		name       string
		opts       ShardOptions
		wantGroups []int64 // rows per row group
	}{
		{"bytes", ShardOptions{RowGroupBytes: 4*image - 1}, []int64{4, 4, 2}},
		{"rows first", ShardOptions{RowGroupBytes: 4*image - 1, RowGroupRows: 3}, []int64{3, 3, 3, 1}},
		{"bytes first", ShardOptions{RowGroupBytes: 2*image - 1, RowGroupRows: 3}, []int64{2, 2, 2, 2, 2}},
		{"default", ShardOptions{}, []int64{10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			bucket := memblob.OpenBucket(nil)
			defer bucket.Close()
			rows := testRows(10, schema.StatusAccepted)
			for i := range rows {
				rows[i].FinalImage.Bytes = bytes.Repeat([]byte{byte(i)}, image)
			}
			if _, err := WriteShard(ctx, bucket, "", "x.parquet", rows, tt.opts); err != nil {
				t.Fatal(err)
			}
			b, err := bucket.ReadAll(ctx, "x.parquet")
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, rg := range f.RowGroups() {
				got = append(got, rg.NumRows())
			}
			if !reflect.DeepEqual(got, tt.wantGroups) {
				t.Errorf("rows per row group = %v, want %v", got, tt.wantGroups)
			}
			back, err := ReadShard[schema.Trajectory](ctx, bucket, "", "x.parquet")
			if err != nil || !sameRows(back, rows) {
				t.Errorf("rows read back differ (err %v)", err)
			}
		})
	}
}
