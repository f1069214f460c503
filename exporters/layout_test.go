package exporters

import "testing"

func TestShardName(t *testing.T) {
	tests := []struct {
		dir, split string
		i, n       int
		want       string
	}{
		{"data/trajectories", "train", 0, 3, "data/trajectories/train-00000-of-00003.parquet"},
		{"data/trajectories/", "train", 2, 3, "data/trajectories/train-00002-of-00003.parquet"},
		{"rejected", "rejected", 0, 1, "rejected/rejected-00000-of-00001.parquet"},
		{"failed", "failed", 11, 12, "failed/failed-00011-of-00012.parquet"},
		{"data", "train", 12345, 100000, "data/train-12345-of-100000.parquet"},
	}
	for _, tt := range tests {
		if got := ShardName(tt.dir, tt.split, tt.i, tt.n); got != tt.want {
			t.Errorf("ShardName(%q, %q, %d, %d) = %q, want %q", tt.dir, tt.split, tt.i, tt.n, got, tt.want)
		}
	}
}

func TestLayouts(t *testing.T) {
	tests := []struct {
		config, shard0, glob string
	}{
		{ConfigTrajectories, "data/trajectories/train-00000-of-00003.parquet", "data/trajectories/train-*.parquet"},
		{ConfigRejected, "rejected/rejected-00000-of-00003.parquet", "rejected/rejected-*.parquet"},
		{ConfigFailed, "failed/failed-00000-of-00003.parquet", "failed/failed-*.parquet"},
		{ConfigSFT, "data/sft/train-00000-of-00003.parquet", "data/sft/train-*.parquet"},
		{ConfigWebDataset, "data/webdataset/train-00000-of-00003.tar", "data/webdataset/train-*.tar"},
	}
	for _, tt := range tests {
		l, ok := LayoutOf(tt.config)
		if !ok {
			t.Fatalf("LayoutOf(%q) not found", tt.config)
		}
		if got := l.ShardPath(0, 3); got != tt.shard0 {
			t.Errorf("%s: ShardPath(0, 3) = %q, want %q", tt.config, got, tt.shard0)
		}
		if got := l.Glob(); got != tt.glob {
			t.Errorf("%s: Glob() = %q, want %q", tt.config, got, tt.glob)
		}
	}
	if _, ok := LayoutOf("subtasks"); ok {
		t.Errorf("LayoutOf(subtasks) found a layout")
	}
	if n := len(Layouts()); n != 5 {
		t.Errorf("Layouts() has %d configs, want 5", n)
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ prefix, path, want string }{
		{"ds/v1", "manifest.json", "ds/v1/manifest.json"},
		{"ds/v1/", "/manifest.json", "ds/v1/manifest.json"},
		{"", "manifest.json", "manifest.json"},
		{"ds/v1", "", "ds/v1/"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := Key(tt.prefix, tt.path); got != tt.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tt.prefix, tt.path, got, tt.want)
		}
	}
}
