package version

import (
	"reflect"
	"testing"

	"github.com/twigdata/twig/exporters"
)

func TestPlan(t *testing.T) {
	acc := func(id string, bytes int64) Row { return Row{ID: id, Bytes: bytes, Accepted: true} }
	rej := func(id string, bytes int64) Row { return Row{ID: id, Bytes: bytes} }
	tests := []struct {
		name  string
		rows  []Row
		rules Rules
		want  []Task
	}{
		{name: "no rows", rules: Rules{Split: "train"}},
		{
			name:  "one shard each, sorted by id",
			rows:  []Row{rej("r2", 1), acc("a3", 1), rej("r1", 1), acc("a1", 1), acc("a2", 1)},
			rules: Rules{ShardBytes: 100, Split: "train"},
			want: []Task{
				{Config: exporters.ConfigTrajectories, Path: "data/trajectories/train-00000-of-00001.parquet", IDs: []string{"a1", "a2", "a3"},
					SFTPath: "data/sft/train-00000-of-00001.parquet"},
				{Config: exporters.ConfigRejected, Path: "rejected/rejected-00000-of-00001.parquet", IDs: []string{"r1", "r2"}},
			},
		},
		{
			name:  "cut by size, split and webdataset",
			rows:  []Row{acc("c", 6), acc("a", 6), acc("b", 6), rej("x", 30)},
			rules: Rules{ShardBytes: 12, Split: "dev", WebDataset: true},
			want: []Task{
				{Config: exporters.ConfigTrajectories, Path: "data/trajectories/dev-00000-of-00002.parquet", IDs: []string{"a", "b"},
					SFTPath: "data/sft/dev-00000-of-00002.parquet", TarPath: "data/webdataset/dev-00000-of-00002.tar"},
				{Config: exporters.ConfigTrajectories, Path: "data/trajectories/dev-00001-of-00002.parquet", IDs: []string{"c"},
					SFTPath: "data/sft/dev-00001-of-00002.parquet", TarPath: "data/webdataset/dev-00001-of-00002.tar"},
				// a row over the bound gets a shard of its own; the
				// rejected config keeps its own split name
				{Config: exporters.ConfigRejected, Path: "rejected/rejected-00000-of-00001.parquet", IDs: []string{"x"}},
			},
		},
		{
			name:  "rejected only",
			rows:  []Row{rej("b", 1), rej("a", 1)},
			rules: Rules{Split: "train", WebDataset: true},
			want:  []Task{{Config: exporters.ConfigRejected, Path: "rejected/rejected-00000-of-00001.parquet", IDs: []string{"a", "b"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plan(tt.rows, tt.rules); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"v1": true, "v1-strict_2.0": true, "9": true,
		"": false, ".": false, "..": false, "-v": false, "a/b": false, "a b": false,
		string(make([]byte, 129)): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
