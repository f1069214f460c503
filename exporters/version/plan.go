package version

import (
	"cmp"
	"slices"

	"github.com/twigdata/twig/exporters"
)

// Row is what the shard plan knows of one judged trajectory.
type Row struct {
	ID string `json:"id"`
	// Bytes is the trajectory's estimated size in a shard (staged size,
	// or the parent shard's bytes per row in a refilter).
	Bytes int64 `json:"bytes"`
	// Accepted is the trajectory's verdict: it goes into the trajectories
	// config when true, the rejected config when false.
	Accepted bool `json:"accepted"`
}

// Rules are the settings of a version that decide its shards. Their JSON
// names are those of the run's configuration, so that a refilter reads
// them back from its parent's manifest.
type Rules struct {
	// ShardBytes is the target size of a shard (0: the default).
	ShardBytes int64 `json:"shard_bytes"`
	// Split names the split of the accepted trajectories and of the sft
	// and WebDataset shards derived from them.
	Split string `json:"split"`
	// SFT is the mix of subtasks derived into the sft config.
	SFT exporters.SFTMix `json:"sft"`
	// WebDataset also writes each trajectories shard as a WebDataset tar
	// shard.
	WebDataset bool `json:"webdataset,omitempty"`
}

// Task is one planned shard: its config, its path, the ids of its rows
// in order, and for a trajectories shard the sft and WebDataset shards
// derived from it.
type Task struct {
	Config string   `json:"config"`
	Path   string   `json:"path"`
	IDs    []string `json:"ids"`
	// SFTPath, for accepted trajectories, is the sft shard of their
	// subtasks.
	SFTPath string `json:"sft_path,omitempty"`
	// TarPath, when WebDataset shards are on, is their WebDataset shard.
	TarPath string `json:"tar_path,omitempty"`
}

// Plan sorts the rows by id into the trajectories config (accepted) and
// the rejected config, and cuts each into shards by estimated size with
// [exporters.PlanShards]. A trajectories shard gets an sft shard and,
// when the rules ask for it, a WebDataset shard of the same index. It
// returns the trajectories shards, then the rejected ones, each in shard
// order; a config without rows has none. Plan sorts rows in place
// (accepted first, each part by id) rather than copy them.
func Plan(rows []Row, rules Rules) []Task {
	slices.SortFunc(rows, func(a, b Row) int {
		if a.Accepted != b.Accepted {
			if a.Accepted {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	n := 0
	for n < len(rows) && rows[n].Accepted {
		n++
	}
	var tasks []Task
	for _, set := range []struct {
		config string
		rows   []Row
	}{{exporters.ConfigTrajectories, rows[:n]}, {exporters.ConfigRejected, rows[n:]}} {
		sizes := make([]int64, len(set.rows))
		for i, r := range set.rows {
			sizes[i] = r.Bytes
		}
		l, _ := exporters.LayoutOf(set.config)
		sft, _ := exporters.LayoutOf(exporters.ConfigSFT)
		wds, _ := exporters.LayoutOf(exporters.ConfigWebDataset)
		if set.config == exporters.ConfigTrajectories {
			l.Split, sft.Split, wds.Split = rules.Split, rules.Split, rules.Split
		}
		ranges := exporters.PlanShards(sizes, rules.ShardBytes)
		for i, rg := range ranges {
			t := Task{Config: set.config, Path: l.ShardPath(i, len(ranges)), IDs: make([]string, 0, rg.Len())}
			for _, r := range set.rows[rg.Start:rg.End] {
				t.IDs = append(t.IDs, r.ID)
			}
			if set.config == exporters.ConfigTrajectories {
				t.SFTPath = sft.ShardPath(i, len(ranges))
				if rules.WebDataset {
					t.TarPath = wds.ShardPath(i, len(ranges))
				}
			}
			tasks = append(tasks, t)
		}
	}
	return tasks
}
