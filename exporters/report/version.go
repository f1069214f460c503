package report

import (
	"context"
	"fmt"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// FromVersion returns the Input of the committed version at prefix in
// bucket: its manifest, and functions that stream its accepted and
// rejected trajectories and its failed rows, shard by shard in manifest
// order, with ranged reads, through exporters.Rows. It reads only the
// manifest now; it returns an error wrapping exporters.ErrNotCommitted
// for a version without one.
func FromVersion(ctx context.Context, bucket *blob.Bucket, prefix string) (Input, error) {
	m, err := exporters.ReadManifest(ctx, bucket, prefix)
	if err != nil {
		return Input{}, fmt.Errorf("report: %w", err)
	}
	var trajectories []exporters.ShardInfo
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		trajectories = append(trajectories, m.Shards[config]...)
	}
	failed := m.Shards[exporters.ConfigFailed]
	return Input{
		Manifest: *m,
		Trajectories: func(ctx context.Context, yield func(*schema.Trajectory) error) error {
			return each(ctx, bucket, prefix, trajectories, yield)
		},
		Failures: func(ctx context.Context, yield func(*schema.Failure) error) error {
			return each(ctx, bucket, prefix, failed, yield)
		},
	}, nil
}

// each calls yield with every row of the shards, in order, and returns the
// first error of the reader or of yield.
func each[T any](ctx context.Context, bucket *blob.Bucket, prefix string, shards []exporters.ShardInfo, yield func(*T) error) error {
	it := exporters.NewRows[T](ctx, bucket, prefix, shards)
	defer it.Close()
	for {
		row, err := it.Next()
		if err != nil || row == nil {
			return err
		}
		if err := yield(row); err != nil {
			return err
		}
	}
}
