package exporters

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gocloud.dev/blob"
)

// rowsBatch is the number of rows a Rows iterator decodes at a time.
const rowsBatch = 16

// maxStalls is the number of reads in a row that may return no row and no
// error before a Rows iterator calls the shard broken: a reader that
// stops making progress must not spin forever.
const maxStalls = 3

// Rows reads the rows of a list of shards in order, one row at a time,
// opening each shard when the one before it is done. T may be a
// projection of the row type (a struct of some of its columns); only those
// columns are read. Memory holds one batch of decoded rows.
//
// Every tool that reads a version back (verify, audit, diff, refilter, the
// report) reads it through Rows, so a shard that stops making progress or
// ends early is caught in one place.
type Rows[T any] struct {
	ctx    context.Context
	bucket *blob.Bucket
	prefix string
	shards []ShardInfo

	r      *ShardReader[T]
	shard  ShardInfo // the shard being read
	buf    []T
	next   int   // next row of buf to return
	filled int   // rows in buf
	index  int64 // index within the shard of the row last returned
	stalls int
	err    error
}

// NewRows returns an iterator over the rows of shards, relative to prefix
// in bucket, in the order given. Close it when done.
func NewRows[T any](ctx context.Context, bucket *blob.Bucket, prefix string, shards []ShardInfo) *Rows[T] {
	return &Rows[T]{ctx: ctx, bucket: bucket, prefix: prefix, shards: shards, index: -1}
}

// Next returns the next row, or nil and nil after the last one. The row is
// valid until the following call to Next. After an error, Next keeps
// returning it.
func (it *Rows[T]) Next() (*T, error) {
	for it.err == nil {
		if it.next < it.filled {
			row := &it.buf[it.next]
			it.next++
			it.index++
			return row, nil
		}
		if it.r == nil {
			if len(it.shards) == 0 {
				return nil, nil
			}
			it.shard, it.shards = it.shards[0], it.shards[1:]
			it.r, it.err = OpenShard[T](it.ctx, it.bucket, it.prefix, it.shard.Path)
			it.index, it.stalls = -1, 0
			if it.buf == nil {
				it.buf = make([]T, rowsBatch)
			}
			continue
		}
		n, err := it.r.Read(it.buf)
		it.next, it.filled = 0, n
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			it.err = it.endShard()
		case err != nil && !errors.Is(err, io.EOF):
			it.err = err
		case n == 0:
			if it.stalls++; it.stalls >= maxStalls {
				it.err = fmt.Errorf("read shard %s: no progress after row %d", it.shard.Path, it.index+1)
			}
		default:
			it.stalls = 0
		}
	}
	return nil, it.err
}

// endShard closes the shard being read and checks it held the rows its
// manifest entry (when it gives one) and its footer declare.
func (it *Rows[T]) endShard() error {
	read := it.index + 1
	declared := it.r.NumRows()
	err := it.r.Close()
	it.r = nil
	switch {
	case err != nil:
		return err
	case read != declared:
		return fmt.Errorf("read shard %s: %d rows read, the footer declares %d", it.shard.Path, read, declared)
	}
	return nil
}

// Shard returns the shard of the row Next returned last.
func (it *Rows[T]) Shard() ShardInfo { return it.shard }

// Index returns the index, within its shard, of the row Next returned last.
func (it *Rows[T]) Index() int64 { return it.index }

// Close releases the shard being read.
func (it *Rows[T]) Close() error {
	if it.r == nil {
		return nil
	}
	err := it.r.Close()
	it.r = nil
	return err
}
