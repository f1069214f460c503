package version

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

func TestFinish(t *testing.T) {
	shard := func(path string, rows int64) exporters.ShardInfo { return exporters.ShardInfo{Path: path, Rows: rows} }
	tests := []struct {
		name       string
		shards     map[string][]exporters.ShardInfo
		verdicts   map[string]int64
		wantShards map[string][]exporters.ShardInfo
		wantCounts exporters.Counts
		wantVerd   map[string]int64
	}{
		{
			name: "sorted, counted, failed recorded",
			shards: map[string][]exporters.ShardInfo{
				exporters.ConfigTrajectories: {shard("t-1", 2), shard("t-0", 3)},
				exporters.ConfigSFT:          {shard("s-1", 4), shard("s-0", 6)},
				exporters.ConfigRejected:     {shard("r-0", 1)},
				exporters.ConfigFailed:       {shard("f-0", 2)},
			},
			verdicts: map[string]int64{schema.StatusAccepted: 5, schema.StatusRejected: 1},
			wantShards: map[string][]exporters.ShardInfo{
				exporters.ConfigTrajectories: {shard("t-0", 3), shard("t-1", 2)},
				exporters.ConfigSFT:          {shard("s-0", 6), shard("s-1", 4)},
				exporters.ConfigRejected:     {shard("r-0", 1)},
				exporters.ConfigFailed:       {shard("f-0", 2)},
			},
			wantCounts: exporters.Counts{Seeded: 8, Accepted: 5, Rejected: 1, Failed: 2},
			wantVerd:   map[string]int64{schema.StatusAccepted: 5, schema.StatusRejected: 1, schema.StatusFailed: 2},
		},
		{
			name: "empty sft left out, no failure",
			shards: map[string][]exporters.ShardInfo{
				exporters.ConfigTrajectories: {shard("t-0", 1)},
				exporters.ConfigSFT:          {shard("s-0", 0)},
			},
			wantShards: map[string][]exporters.ShardInfo{exporters.ConfigTrajectories: {shard("t-0", 1)}},
			wantCounts: exporters.Counts{Seeded: 8, Accepted: 1},
		},
		{
			name:       "failures only",
			shards:     map[string][]exporters.ShardInfo{exporters.ConfigFailed: {shard("f-0", 4)}},
			wantShards: map[string][]exporters.ShardInfo{exporters.ConfigFailed: {shard("f-0", 4)}},
			wantCounts: exporters.Counts{Seeded: 8, Failed: 4},
			wantVerd:   map[string]int64{schema.StatusFailed: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &exporters.Manifest{Shards: tt.shards, Counts: exporters.Counts{Seeded: 8}}
			m.Stats.Verdicts = tt.verdicts
			Finish(m)
			if !reflect.DeepEqual(m.Shards, tt.wantShards) {
				t.Errorf("shards %v, want %v", m.Shards, tt.wantShards)
			}
			if m.Counts != tt.wantCounts {
				t.Errorf("counts %+v, want %+v", m.Counts, tt.wantCounts)
			}
			if !reflect.DeepEqual(m.Stats.Verdicts, tt.wantVerd) {
				t.Errorf("verdict stats %v, want %v", m.Stats.Verdicts, tt.wantVerd)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	models := MergeModels([]schema.RoleModel{{Role: "think", Model: "b"}}, []schema.RoleModel{{Role: "judge", Model: "c"}, {Role: "think", Model: "b"}, {Role: "think", Model: "a"}})
	if want := []schema.RoleModel{{Role: "judge", Model: "c"}, {Role: "think", Model: "a"}, {Role: "think", Model: "b"}}; !slices.Equal(models, want) {
		t.Errorf("MergeModels = %v, want %v", models, want)
	}
	tpls := MergeTemplates(nil, []schema.TemplateRef{{Role: "think", ID: "t", Version: "1"}, {Role: "critique", ID: "c", Version: "1"}, {Role: "think", ID: "t", Version: "1"}})
	if want := []schema.TemplateRef{{Role: "critique", ID: "c", Version: "1"}, {Role: "think", ID: "t", Version: "1"}}; !slices.Equal(tpls, want) {
		t.Errorf("MergeTemplates = %v, want %v", tpls, want)
	}
}

// TestCommit commits a version over the leftovers of an earlier run: the
// shards the manifest does not list and stray top-level files go, the
// staging area stays (the Export stage clears it after the commit), and
// the card, stats and manifest are written.
func TestCommit(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	const prefix = "ds/v1"
	put := func(key string) {
		if err := b.WriteAll(ctx, key, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	put(prefix + "/data/trajectories/train-00000-of-00002.parquet") // stale: an earlier plan
	put(prefix + "/.upload-tmp")                                    // stale: a killed upload
	put(prefix + "/_staging/abc.json")                              // not the commit's business
	put("ds/v2/data/trajectories/train-00000-of-00001.parquet")     // another version

	failed, _ := exporters.LayoutOf(exporters.ConfigFailed)
	info, err := exporters.WriteShard(ctx, b, prefix, failed.ShardPath(0, 1), []schema.Failure{{ID: "f1", Stage: "seed", Error: "bad line"}}, exporters.ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := &exporters.Manifest{
		SchemaVersion: schema.Version, Dataset: "ds", Version: "v1", Created: "2026-01-02T03:04:05Z",
		Counts: exporters.Counts{Seeded: 1},
		Shards: map[string][]exporters.ShardInfo{exporters.ConfigFailed: {info}},
	}
	Finish(m)
	if err := Commit(ctx, b, prefix, m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	it := b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		keys = append(keys, obj.Key)
	}
	want := []string{
		"ds/v1/README.md", "ds/v1/_staging/abc.json", "ds/v1/failed/failed-00000-of-00001.parquet",
		"ds/v1/manifest.json", "ds/v1/stats.json", "ds/v2/data/trajectories/train-00000-of-00001.parquet",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("after the commit the bucket holds\n%v\nwant\n%v", keys, want)
	}
	got, err := exporters.ReadManifest(ctx, b, prefix)
	if err != nil || got.Counts != m.Counts {
		t.Errorf("manifest read back: %+v, %v; want counts %+v", got, err, m.Counts)
	}
}

// TestCommitRefuses leaves no manifest when the counts do not reconcile.
func TestCommitRefuses(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	m := &exporters.Manifest{Created: "2026-01-02T03:04:05Z", Counts: exporters.Counts{Seeded: 3}, Shards: map[string][]exporters.ShardInfo{}}
	Finish(m)
	if err := Commit(ctx, b, "ds/v1", m); err == nil {
		t.Fatal("a commit whose counts do not reconcile succeeded")
	}
	if ok, err := exporters.Committed(ctx, b, "ds/v1"); err != nil || ok {
		t.Errorf("committed = %v, %v after a refused commit", ok, err)
	}
}

// TestWriter opens a trajectories shard with its sft and WebDataset
// shards and ends it with no row: closed, every shard exists with no row;
// aborted, none does.
func TestWriter(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(map[bool]string{false: "close", true: "abort"}[abort], func(t *testing.T) {
			ctx := context.Background()
			b := memblob.OpenBucket(nil)
			defer b.Close()
			task := Plan([]Row{{ID: "a", Accepted: true}}, Rules{Split: "train", WebDataset: true})[0]
			w, err := Open(ctx, b, "ds/v1", task, exporters.DefaultSFTMix())
			if err != nil {
				t.Fatal(err)
			}
			paths := map[string]string{exporters.ConfigTrajectories: task.Path, exporters.ConfigSFT: task.SFTPath, exporters.ConfigWebDataset: task.TarPath}
			if abort {
				w.Abort()
				for _, path := range paths {
					if ok, _ := b.Exists(ctx, exporters.Key("ds/v1", path)); ok {
						t.Errorf("%s exists after Abort", path)
					}
				}
				return
			}
			infos, stats, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			for config, path := range paths {
				if info := infos[config]; info.Path != path || info.Rows != 0 {
					t.Errorf("%s shard %+v, want %s with no row", config, info, path)
				}
				if ok, err := b.Exists(ctx, exporters.Key("ds/v1", path)); err != nil || !ok {
					t.Errorf("%s: exists = %v, %v", path, ok, err)
				}
			}
			if stats.Regions != 0 || len(stats.Subtasks) != 0 {
				t.Errorf("stats of no row: %+v", stats)
			}
		})
	}
}
