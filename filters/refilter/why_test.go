package refilter

import (
	"slices"
	"testing"
)

func TestWhy(t *testing.T) {
	tests := []struct {
		name        string
		before, now []string
		want        []string
	}{
		{name: "accepted to rejected", now: []string{"vlm: score 0.40 below 0.97", "coverage: no train"}, want: []string{"coverage", "vlm"}},
		{name: "rejected to accepted", before: []string{"vlm: low", "coverage: no pear"}, want: []string{"no longer coverage", "no longer vlm"}},
		{name: "failed to accepted", before: []string{"generate: boom"}, want: []string{"no longer generate"}},
		{name: "rejected to failed", before: []string{"vlm: low"}, now: []string{"judge: timeout"}, want: []string{"judge"}},
		{name: "a judge named twice counts once", now: []string{"vlm: low", "vlm: blurry"}, want: []string{"vlm"}},
		{name: "same judges", before: []string{"vlm: low"}, now: []string{"vlm: lower"}},
		{name: "no reason either side"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Why(tt.before, tt.now); !slices.Equal(got, tt.want) {
				t.Errorf("Why(%q, %q) = %q, want %q", tt.before, tt.now, got, tt.want)
			}
		})
	}
}
