package report

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// readBatch is the number of rows read from a shard at once. A trajectory
// row holds its canvases, so keep it small.
const readBatch = 4

// FromVersion returns the Input of the committed version at prefix in
// bucket: its manifest, and functions that stream its accepted and
// rejected trajectories and its failed rows, shard by shard in manifest
// order, with ranged reads. It reads only the manifest now; it returns an
// error wrapping exporters.ErrNotCommitted for a version without one.
func FromVersion(ctx context.Context, bucket *blob.Bucket, prefix string) (Input, error) {
	m, err := exporters.ReadManifest(ctx, bucket, prefix)
	if err != nil {
		return Input{}, fmt.Errorf("report: %w", err)
	}
	in := Input{Manifest: *m}
	in.Trajectories = func(ctx context.Context, yield func(*schema.Trajectory) error) error {
		for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
			for _, s := range m.Shards[config] {
				if err := streamShard(ctx, bucket, prefix, s.Path, yield); err != nil {
					return err
				}
			}
		}
		return nil
	}
	in.Failures = func(ctx context.Context, yield func(*schema.Failure) error) error {
		for _, s := range m.Shards[exporters.ConfigFailed] {
			if err := streamShard(ctx, bucket, prefix, s.Path, yield); err != nil {
				return err
			}
		}
		return nil
	}
	return in, nil
}

// streamShard calls yield with each row of one shard.
func streamShard[T any](ctx context.Context, bucket *blob.Bucket, prefix, path string, yield func(*T) error) error {
	r, err := exporters.OpenShard[T](ctx, bucket, prefix, path)
	if err != nil {
		return err
	}
	defer r.Close()
	rows := make([]T, readBatch)
	for {
		n, err := r.Read(rows)
		for i := range n {
			if err := yield(&rows[i]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("read shard %s: no progress", path)
		}
	}
}
