package exporters

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob"
)

// readBufferBytes is the read buffer of each column reader: each refill is
// one ranged read of the object.
const readBufferBytes = 256 << 10

// A ShardReader streams the rows of one Parquet shard from a bucket,
// reading the object with ranged reads: memory holds the pages being
// decoded, never the whole shard.
//
// A ShardReader keeps the context it was opened with for its reads.
type ShardReader[T any] struct {
	path string
	r    *parquet.GenericReader[T]
}

// OpenShard opens the shard at path, relative to prefix, in bucket.
func OpenShard[T any](ctx context.Context, bucket *blob.Bucket, prefix, path string) (*ShardReader[T], error) {
	key := Key(prefix, path)
	attrs, err := bucket.Attributes(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read shard %s: %w", path, err)
	}
	ra := &blobReaderAt{ctx: ctx, bucket: bucket, key: key, size: attrs.Size}
	r := &ShardReader[T]{path: path}
	err = catch(func() error {
		f, err := parquet.OpenFile(ra, attrs.Size, parquet.ReadBufferSize(readBufferBytes))
		if err != nil {
			return err
		}
		r.r = parquet.NewGenericReader[T](f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read shard %s: %w", path, err)
	}
	return r, nil
}

// NumRows returns the number of rows the shard's footer declares.
func (r *ShardReader[T]) NumRows() int64 { return r.r.NumRows() }

// Read reads up to len(rows) rows into rows, like io.Reader: it returns
// the number read and io.EOF after the last row.
func (r *ShardReader[T]) Read(rows []T) (int, error) {
	clear(rows) // the reader may otherwise reuse slices of earlier rows
	var n int
	err := catch(func() error {
		var err error
		n, err = r.r.Read(rows)
		return err
	})
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read shard %s: %w", r.path, err)
	}
	return n, err
}

// Close releases the reader.
func (r *ShardReader[T]) Close() error {
	if err := r.r.Close(); err != nil {
		return fmt.Errorf("read shard %s: %w", r.path, err)
	}
	return nil
}

// ReadShard reads every row of the shard at path, relative to prefix, in
// bucket. It holds the whole shard in memory: use OpenShard to stream.
func ReadShard[T any](ctx context.Context, bucket *blob.Bucket, prefix, path string) ([]T, error) {
	r, err := OpenShard[T](ctx, bucket, prefix, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rows := make([]T, r.NumRows())
	n := 0
	for n < len(rows) {
		m, err := r.Read(rows[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if n != len(rows) {
		return nil, fmt.Errorf("read shard %s: read %d rows, the footer declares %d", path, n, len(rows))
	}
	return rows, nil
}

// blobReaderAt reads an object with one ranged read per ReadAt. It is
// safe for concurrent use, as parquet-go's column readers need.
type blobReaderAt struct {
	ctx    context.Context
	bucket *blob.Bucket
	key    string
	size   int64
}

func (b *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), b.size-off)
	r, err := b.bucket.NewRangeReader(b.ctx, b.key, off, want, nil)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n, err := io.ReadFull(r, p[:want])
	if err == nil && int64(n) < int64(len(p)) {
		err = io.EOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
