package exporters

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"gocloud.dev/blob"

	"github.com/twigdata/twig/schema"
)

// Fixed writer settings. Changing any of them changes the bytes of every
// shard, and so the SHA-256 in every manifest: treat them as part of the
// format.
const (
	// DefaultRowGroupBytes is the size at which a row group is cut, by
	// the rows' approximate unencoded size (their strings and byte slices
	// plus 8 bytes per other field): small enough for a reader to stream
	// and for the writer, which holds one row group, and large enough that
	// the per-row-group metadata the writer keeps until the file closes
	// (column chunks, column and offset indexes) stays small. A fixed row
	// count cannot do both: a simulated trajectory is 5 KB, a real one with
	// its PNG canvases 1 MB or more, an sft row 500 bytes.
	DefaultRowGroupBytes = 8 << 20
	// DefaultRowGroupRows caps the rows of a row group.
	DefaultRowGroupRows = 10000
	// PageBufferBytes is the size at which the writer cuts a data page.
	PageBufferBytes = 256 << 10
	// writeBufferBytes buffers the writes to the bucket (does not change the bytes).
	writeBufferBytes = 1 << 20
	// UploadPartBytes is the part size of uploads to object storage: a
	// shard larger than this goes up as a multipart upload, parts in
	// parallel (UploadConcurrency), each part with the SDK's CRC32
	// checksum; 16 MiB parts keep a 500 MB shard at 32 parts, far below
	// S3's 10,000.
	UploadPartBytes   = 16 << 20
	UploadConcurrency = 4
	// ContentTypeParquet is the media type shards are written with.
	ContentTypeParquet = "application/vnd.apache.parquet"
	// createdBy is the created_by field of every shard: fixed, so it does
	// not vary with the build.
	createdBy = "twig exporters (parquet-go)"
	// MetadataSchemaVersion is the key/value metadata key holding schema.Version.
	MetadataSchemaVersion = "twig.schema_version"
)

// Compression codecs of ShardOptions.Compression.
const (
	CompressionZstd   = "zstd"
	CompressionSnappy = "snappy"
	CompressionNone   = "none"
)

// ShardOptions are the settings of a shard writer. The zero value is the
// default: zstd, row groups cut at DefaultRowGroupBytes or
// DefaultRowGroupRows rows, whichever comes first.
type ShardOptions struct {
	// RowGroupRows is the most rows per row group; 0 means
	// DefaultRowGroupRows.
	RowGroupRows int64
	// RowGroupBytes is the approximate unencoded size at which a row
	// group is cut; 0 means DefaultRowGroupBytes.
	RowGroupBytes int64
	// Compression is CompressionZstd (the default when empty),
	// CompressionSnappy or CompressionNone.
	Compression string
	// Metadata is extra key/value metadata written into the file footer.
	// It must not hold run-varying values (times, hosts), or identical
	// rows no longer give identical files.
	Metadata map[string]string
}

func (o ShardOptions) writerOptions(rowType reflect.Type) ([]parquet.WriterOption, error) {
	rows := cmp.Or(max(o.RowGroupRows, 0), DefaultRowGroupRows)
	var codec compress.Codec
	switch o.Compression {
	case "", CompressionZstd:
		codec = pageZstd
	case CompressionSnappy:
		codec = &parquet.Snappy
	case CompressionNone:
		codec = &parquet.Uncompressed
	default:
		return nil, fmt.Errorf("unknown compression %q, want %q, %q or %q", o.Compression, CompressionZstd, CompressionSnappy, CompressionNone)
	}
	opts := []parquet.WriterOption{
		&parquet.WriterConfig{CreatedBy: createdBy},
		parquet.MaxRowsPerRowGroup(rows),
		parquet.PageBufferSize(PageBufferBytes),
		parquet.WriteBufferSize(writeBufferBytes),
		parquet.DataPageVersion(2),
		parquet.Compression(codec),
		parquet.KeyValueMetadata(MetadataSchemaVersion, schema.Version),
	}
	// Image bytes get neither page bounds in the column index nor page
	// statistics: a PNG's min and max mean nothing, and the writer would
	// hold both for every page until the file closes (memory growing with
	// the shard).
	for _, path := range parquet.SchemaOf(reflect.New(rowType).Elem().Interface()).Columns() {
		if path[len(path)-1] == "bytes" {
			opts = append(opts, parquet.SkipPageBounds(path...), parquet.SkipPageStatistics(path...))
		}
	}
	if md := hfMetadata(rowType); md != "" {
		opts = append(opts, parquet.KeyValueMetadata("huggingface", md))
	}
	for k, v := range o.Metadata {
		opts = append(opts, parquet.KeyValueMetadata(k, v))
	}
	return opts, nil
}

// uploadOptions are the blob writer options of every shard.
func uploadOptions(contentType string) *blob.WriterOptions {
	return &blob.WriterOptions{ContentType: contentType, BufferSize: UploadPartBytes, MaxConcurrency: UploadConcurrency}
}

// ShardInfo describes a written shard as the manifest lists it.
type ShardInfo struct {
	// Path is the shard's path relative to the version prefix.
	Path string `json:"path"`
	// Rows is the number of rows.
	Rows int64 `json:"rows"`
	// Bytes is the size of the file.
	Bytes int64 `json:"bytes"`
	// SHA256 is the lower-case hex SHA-256 of the file.
	SHA256 string `json:"sha256"`
}

// validator is implemented by row types with invariants, as
// *schema.Trajectory.
type validator interface{ Validate() error }

// A ShardWriter streams rows into one Parquet shard in a bucket. The
// object appears only when Close succeeds: on any error, or on Abort, the
// write is cancelled and nothing is committed. A ShardWriter holds about
// one row group in memory, whatever the number of rows.
//
// A ShardWriter keeps the context it was created with, like blob.Writer:
// cancelling it aborts the write.
type ShardWriter[T any] struct {
	path   string
	cancel context.CancelFunc
	bw     *blob.Writer
	pw     *parquet.GenericWriter[T]
	hash   hash.Hash
	out    *asyncWriter
	rows   int64
	// The open row group: its rows and approximate size, and the limits.
	groupRows, groupBytes int64
	maxRows, maxBytes     int64
	err                   error // sticky: the first error, after which the write is aborted
	closed                bool
}

// NewShardWriter starts writing the shard at path, relative to prefix, in
// bucket. Rows must be written in their final order (sorted by id); if T
// has a Validate method, as schema.Trajectory has, each row is validated
// before it is written.
func NewShardWriter[T any](ctx context.Context, bucket *blob.Bucket, prefix, path string, opts ShardOptions) (*ShardWriter[T], error) {
	popts, err := opts.writerOptions(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("write shard %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	bw, err := bucket.NewWriter(ctx, Key(prefix, path), uploadOptions(ContentTypeParquet))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write shard %s: %w", path, err)
	}
	w := &ShardWriter[T]{path: path, cancel: cancel, bw: bw, hash: sha256.New(),
		maxRows: cmp.Or(max(opts.RowGroupRows, 0), DefaultRowGroupRows), maxBytes: cmp.Or(max(opts.RowGroupBytes, 0), DefaultRowGroupBytes)}
	w.out = newAsyncWriter(bw, w.hash, 4)
	err = catch(func() error {
		w.pw = parquet.NewGenericWriter[T](w.out, popts...)
		return nil
	})
	if err != nil {
		return nil, w.fail(err)
	}
	return w, nil
}

// Write validates and writes rows. After an error the shard is aborted and
// every later call returns the same error.
func (w *ShardWriter[T]) Write(rows []T) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("write shard %s: writer is closed", w.path)
	}
	for i := range rows {
		if v, ok := any(&rows[i]).(validator); ok {
			if err := v.Validate(); err != nil {
				return w.fail(fmt.Errorf("row %d: %w", w.rows+int64(i), err))
			}
		}
	}
	for i := range rows {
		err := catch(func() error {
			if _, err := w.pw.Write(rows[i : i+1]); err != nil {
				return err
			}
			w.groupRows++
			w.groupBytes += int64(approxSize(reflect.ValueOf(&rows[i]).Elem()))
			switch {
			case w.groupRows >= w.maxRows:
				// The parquet writer cuts the row group itself at maxRows.
				w.groupRows, w.groupBytes = 0, 0
			case w.groupBytes >= w.maxBytes:
				w.groupRows, w.groupBytes = 0, 0
				return w.pw.Flush()
			}
			return nil
		})
		if err != nil {
			return w.fail(err)
		}
		w.rows++
	}
	return nil
}

// approxSize is the unencoded size of v as row groups are cut by: the
// bytes of its strings and byte slices, 8 per other scalar.
func approxSize(v reflect.Value) int {
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Len()
		}
		n := 0
		for i := range v.Len() {
			n += approxSize(v.Index(i))
		}
		return n
	case reflect.Array:
		n := 0
		for i := range v.Len() {
			n += approxSize(v.Index(i))
		}
		return n
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += approxSize(v.Field(i))
			}
		}
		return n
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return approxSize(v.Elem())
	case reflect.Map:
		n := 0
		for it := v.MapRange(); it.Next(); {
			n += approxSize(it.Key()) + approxSize(it.Value())
		}
		return n
	}
	return 8
}

// Close finishes the file, commits the object and returns its ShardInfo.
// The object exists only if Close returns no error.
func (w *ShardWriter[T]) Close() (ShardInfo, error) {
	if w.err != nil {
		return ShardInfo{}, w.err
	}
	if w.closed {
		return ShardInfo{}, fmt.Errorf("write shard %s: writer is closed", w.path)
	}
	w.closed = true
	if err := catch(w.pw.Close); err != nil {
		return ShardInfo{}, w.fail(err)
	}
	if err := w.out.Wait(); err != nil {
		return ShardInfo{}, w.fail(err)
	}
	err := w.bw.Close()
	w.cancel()
	if err != nil {
		w.err = fmt.Errorf("write shard %s: %w", w.path, err)
		return ShardInfo{}, w.err
	}
	return ShardInfo{
		Path:   w.path,
		Rows:   w.rows,
		Bytes:  w.out.n,
		SHA256: hex.EncodeToString(w.hash.Sum(nil)),
	}, nil
}

// Abort cancels the write: nothing is committed. It is a no-op after Close
// or an error.
func (w *ShardWriter[T]) Abort() {
	if w.err == nil && !w.closed {
		w.fail(errAborted)
	}
}

var errAborted = errors.New("aborted")

// fail aborts the write and records err as the writer's error.
func (w *ShardWriter[T]) fail(err error) error {
	w.cancel() // before Close, so the blob writer discards the object
	if w.out != nil {
		_ = w.out.Wait()
	}
	_ = w.bw.Close()
	w.closed = true
	w.err = fmt.Errorf("write shard %s: %w", w.path, err)
	return w.err
}

// WriteShard writes rows as one Parquet shard at path, relative to prefix,
// in bucket, and returns what the manifest lists about it. Rows must be in
// their final order (sorted by id). If T has a Validate method, as
// schema.Trajectory has, every row is validated first and an invalid one
// fails the write with its id in the error (a *schema.ValidationError in
// the chain). The same rows and options always give the same bytes.
//
// On any error nothing is committed: gocloud writers commit only on a
// successful Close, and a failed write cancels its context first.
func WriteShard[T any](ctx context.Context, bucket *blob.Bucket, prefix, path string, rows []T, opts ShardOptions) (ShardInfo, error) {
	w, err := NewShardWriter[T](ctx, bucket, prefix, path, opts)
	if err != nil {
		return ShardInfo{}, err
	}
	if err := w.Write(rows); err != nil {
		return ShardInfo{}, err
	}
	return w.Close()
}

// catch runs f and turns a panic into an error: parquet-go panics on a
// row type it cannot map and on some corrupt input.
func catch(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parquet: %v", r)
		}
	}()
	return f()
}
