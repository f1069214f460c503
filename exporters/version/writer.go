package version

import (
	"context"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// Writer writes one planned shard of trajectories together with the
// shards derived from it (the sft subtasks, the WebDataset samples) and
// gathers the statistics of its rows. Rows stream through one at a time:
// memory holds a row group, not the shard. Close commits the shards;
// Abort discards them.
type Writer struct {
	config string
	mix    exporters.SFTMix
	w      *exporters.ShardWriter[schema.Trajectory]
	sw     *exporters.ShardWriter[schema.Sample]
	tw     *exporters.TarWriter
	stats  exporters.Stats
}

// Open starts the shards of task under prefix in bucket; the sft shard's
// rows are the subtasks mix derives from each trajectory.
func Open(ctx context.Context, bucket *blob.Bucket, prefix string, task Task, mix exporters.SFTMix) (_ *Writer, err error) {
	w := &Writer{config: task.Config, mix: mix}
	if w.w, err = exporters.NewShardWriter[schema.Trajectory](ctx, bucket, prefix, task.Path, exporters.ShardOptions{}); err != nil {
		return nil, err // it names the shard
	}
	if task.SFTPath != "" {
		if w.sw, err = exporters.NewShardWriter[schema.Sample](ctx, bucket, prefix, task.SFTPath, exporters.ShardOptions{}); err != nil {
			w.Abort()
			return nil, err
		}
	}
	if task.TarPath != "" {
		if w.tw, err = exporters.NewTarWriter(ctx, bucket, prefix, task.TarPath); err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w, nil
}

// Write adds a trajectory to the shard, its subtasks to the sft shard and
// its sample to the WebDataset shard, and counts it in the statistics.
func (w *Writer) Write(t *schema.Trajectory) error {
	if err := w.w.Write([]schema.Trajectory{*t}); err != nil {
		return err
	}
	if w.sw != nil {
		samples := exporters.Subtasks(t, w.mix)
		if err := w.sw.Write(samples); err != nil {
			return err
		}
		for _, x := range samples {
			if w.stats.Subtasks == nil {
				w.stats.Subtasks = map[string]int64{}
			}
			w.stats.Subtasks[x.Task]++
		}
	}
	if w.tw != nil {
		if err := w.tw.Write(t); err != nil {
			return err
		}
	}
	w.stats.Add(t)
	return nil
}

// Close commits the shards and returns what the manifest lists of each,
// by config, and the statistics of the rows written. On an error the
// shards not yet committed are discarded; one committed before the error
// is a leftover that the version's [Commit] removes.
func (w *Writer) Close() (map[string]exporters.ShardInfo, exporters.Stats, error) {
	infos := map[string]exporters.ShardInfo{}
	var err error
	if infos[w.config], err = w.w.Close(); err != nil {
		w.Abort()
		return nil, w.stats, err
	}
	if w.sw != nil {
		if infos[exporters.ConfigSFT], err = w.sw.Close(); err != nil {
			w.Abort()
			return nil, w.stats, err
		}
	}
	if w.tw != nil {
		if infos[exporters.ConfigWebDataset], err = w.tw.Close(); err != nil {
			w.Abort()
			return nil, w.stats, err
		}
	}
	return infos, w.stats, nil
}

// Abort discards the shards being written.
func (w *Writer) Abort() {
	w.w.Abort()
	if w.sw != nil {
		w.sw.Abort()
	}
	if w.tw != nil {
		w.tw.Abort()
	}
}
