package cache_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
)

// views counts its calls and answers with the instruction and image size.
type views struct{ calls atomic.Int64 }

func (v *views) View(_ context.Context, req inference.ViewRequest) (inference.Reply, error) {
	v.calls.Add(1)
	return inference.Reply{Text: req.Instruction + "|" + string(req.Image), Model: "vlm"}, nil
}

func TestViewer(t *testing.T) {
	for name, b := range buckets(t) {
		t.Run(name, func(t *testing.T) {
			next := &views{}
			v := cache.New(b, "cache").Viewer(next, cache.Identity{Kind: "sim", Model: "vlm"})
			var counts cache.Counts
			ctx := cache.WithCounts(context.Background(), &counts)
			base := inference.ViewRequest{Instruction: "judge", Image: []byte("png-1"), Seed: 1}
			tests := []struct {
				name string
				req  inference.ViewRequest
				hit  bool
			}{
				{"first", base, false},
				{"same again", base, true},
				{"other image", inference.ViewRequest{Instruction: "judge", Image: []byte("png-2"), Seed: 1}, false},
				{"other instruction", inference.ViewRequest{Instruction: "judge-v2", Image: []byte("png-1"), Seed: 1}, false},
				{"correction turn", inference.ViewRequest{Instruction: "judge", Image: []byte("png-1"), Seed: 1, Unparsed: []string{"?"}}, false},
				{"other image again", inference.ViewRequest{Instruction: "judge", Image: []byte("png-2"), Seed: 1}, true},
			}
			for _, tt := range tests {
				before := next.calls.Load()
				reply, err := v.View(ctx, tt.req)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.req.Instruction + "|" + string(tt.req.Image); reply.Text != want {
					t.Errorf("%s: got %q, want %q", tt.name, reply.Text, want)
				}
				if hit := next.calls.Load() == before; hit != tt.hit {
					t.Errorf("%s: hit %v, want %v", tt.name, hit, tt.hit)
				}
			}
			if got, want := counts.Snapshot()[inference.RoleJudge], (cache.Count{Hits: 2, Misses: 4}); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
		})
	}
}
