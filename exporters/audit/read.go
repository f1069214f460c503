package audit

import (
	"context"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
)

// Read returns the Audit of the committed version at prefix in bucket: it
// reads the manifest, then streams the Row columns of the accepted and
// rejected trajectories and the stage of the failed rows, shard by shard
// in manifest order, with ranged reads. Its errors are those of
// exporters.ReadManifest and exporters.Rows; the caller says which
// version it read.
func Read(ctx context.Context, bucket *blob.Bucket, prefix string) (*Audit, error) {
	m, err := exporters.ReadManifest(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	an := NewAnalyzer()
	var shards []exporters.ShardInfo
	for _, config := range []string{exporters.ConfigTrajectories, exporters.ConfigRejected} {
		shards = append(shards, m.Shards[config]...)
	}
	if err := each(ctx, bucket, prefix, shards, an.Add); err != nil {
		return nil, err
	}
	err = each(ctx, bucket, prefix, m.Shards[exporters.ConfigFailed], func(f *failure) { an.AddFailure(f.Stage) })
	if err != nil {
		return nil, err
	}
	return an.Audit(m), nil
}

// each calls f with every row of the shards, in order.
func each[T any](ctx context.Context, bucket *blob.Bucket, prefix string, shards []exporters.ShardInfo, f func(*T)) error {
	it := exporters.NewRows[T](ctx, bucket, prefix, shards)
	defer it.Close()
	for {
		row, err := it.Next()
		if err != nil || row == nil {
			return err
		}
		f(row)
	}
}
