package exporters

import (
	"slices"
	"testing"

	"github.com/twigdata/twig/schema"
)

func TestPlanShards(t *testing.T) {
	tests := []struct {
		name     string
		sizes    []int64
		maxBytes int64
		want     []ShardRange
	}{
		{"no items", nil, 10, nil},
		{"one item", []int64{3}, 10, []ShardRange{{0, 1}}},
		{"all fit", []int64{3, 3, 3}, 10, []ShardRange{{0, 3}}},
		{"exactly full", []int64{5, 5}, 10, []ShardRange{{0, 2}}},
		{"cut when over", []int64{4, 4, 4, 4}, 10, []ShardRange{{0, 2}, {2, 4}}},
		{"item larger than max alone", []int64{2, 25, 2}, 10, []ShardRange{{0, 1}, {1, 2}, {2, 3}}},
		{"first item larger than max", []int64{25, 2, 2}, 10, []ShardRange{{0, 1}, {1, 3}}},
		{"zero sizes", []int64{0, 0, 0}, 10, []ShardRange{{0, 3}}},
		{"negative size counts as zero", []int64{-5, 10}, 10, []ShardRange{{0, 2}}},
		{"default max", []int64{DefaultMaxShardBytes / 2, DefaultMaxShardBytes / 2, 1}, 0, []ShardRange{{0, 2}, {2, 3}}},
		{"one per item", []int64{6, 6, 6}, 10, []ShardRange{{0, 1}, {1, 2}, {2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanShards(tt.sizes, tt.maxBytes)
			if !slices.Equal(got, tt.want) {
				t.Errorf("PlanShards(%v, %d) = %v, want %v", tt.sizes, tt.maxBytes, got, tt.want)
			}
			// Invariants: contiguous cover, under max unless a single item.
			next := 0
			for _, r := range got {
				if r.Start != next || r.Len() <= 0 {
					t.Errorf("range %v does not continue at %d", r, next)
				}
				next = r.End
				var total int64
				for _, s := range tt.sizes[r.Start:r.End] {
					total += max(s, 0)
				}
				limit := tt.maxBytes
				if limit <= 0 {
					limit = DefaultMaxShardBytes
				}
				if total > limit && r.Len() > 1 {
					t.Errorf("range %v holds %d bytes > %d", r, total, limit)
				}
			}
			if next != len(tt.sizes) {
				t.Errorf("ranges cover %d items, want %d", next, len(tt.sizes))
			}
		})
	}
}

func TestEstimateBytes(t *testing.T) {
	img := schema.Image{Bytes: make([]byte, 1000), Path: "abc"}
	if got, want := EstimateBytes(&img), int64(1003); got != want {
		t.Errorf("EstimateBytes(image) = %d, want %d", got, want)
	}
	tr := testTrajectory(0, schema.StatusAccepted)
	got := EstimateBytes(&tr)
	// 576 final tokens + 3*192 attempt tokens, 4 bytes each, plus images and text.
	if min := int64(2 * 576 * 4); got < min {
		t.Errorf("EstimateBytes(trajectory) = %d, want at least %d", got, min)
	}
	tr.FinalImage.Bytes = make([]byte, 100_000)
	if got2 := EstimateBytes(&tr); got2-got != 100_000-int64(len(testTrajectory(0, schema.StatusAccepted).FinalImage.Bytes)) {
		t.Errorf("EstimateBytes does not grow with the image: %d -> %d", got, got2)
	}
}
