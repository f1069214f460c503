package cache_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/schema"
)

// counting counts the calls that reach the simulator behind the cache.
type counting struct {
	p     inference.Painter
	r     inference.Reasoner
	calls atomic.Int64
}

func (c *counting) Generate(ctx context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	c.calls.Add(1)
	return c.p.Generate(ctx, req)
}

func (c *counting) Decode(ctx context.Context, t []int32) (inference.DecodeResponse, error) {
	c.calls.Add(1)
	return c.p.Decode(ctx, t)
}

func (c *counting) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	c.calls.Add(1)
	return c.r.Think(ctx, req)
}

func (c *counting) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	c.calls.Add(1)
	return c.r.Critique(ctx, req)
}

func buckets(t *testing.T) map[string]*blob.Bucket {
	fb, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	mb := memblob.OpenBucket(nil)
	t.Cleanup(func() { mb.Close() })
	return map[string]*blob.Bucket{"file": fb, "mem": mb}
}

func newBackend() *counting {
	geo := sim.DefaultGeometry()
	return &counting{
		p: sim.NewPainter(sim.PainterConfig{Geometry: geo, MistakeRate: 0.2}),
		r: sim.NewReasoner(sim.ReasonerConfig{Geometry: geo, MalformedRate: 0.05, DriftRate: 0.05}),
	}
}

var simID = cache.Identity{Kind: "sim", Model: "twig-sim", Revision: "mistake=0.2"}

// TestRunTwice runs the whole loop twice through the cache: the second
// run makes no call and gives the same trajectory.
func TestRunTwice(t *testing.T) {
	for name, b := range buckets(t) {
		t.Run(name, func(t *testing.T) {
			backend := newBackend()
			c := cache.New(b, "cache")
			e, err := inference.New(inference.DefaultConfig(), c.Painter(backend, simID), c.Reasoner(backend, simID))
			if err != nil {
				t.Fatal(err)
			}
			seed := testSeed()
			var first, second cache.Counts
			a, err := e.Run(cache.WithCounts(context.Background(), &first), seed)
			if err != nil {
				t.Fatal(err)
			}
			made := backend.calls.Load()
			bb, err := e.Run(cache.WithCounts(context.Background(), &second), seed)
			if err != nil {
				t.Fatal(err)
			}
			if got := backend.calls.Load(); got != made {
				t.Errorf("second run made %d calls, want 0", got-made)
			}
			if !reflect.DeepEqual(a, bb) {
				t.Errorf("the cached run gave another trajectory")
			}
			for role, n := range first.Snapshot() {
				if n.Hits != 0 || n.Misses == 0 {
					t.Errorf("first run %s = %+v, want only misses", role, n)
				}
				if m := second.Snapshot()[role]; m.Misses != 0 || m.Hits != n.Misses {
					t.Errorf("second run %s = %+v, want %d hits and no miss", role, m, n.Misses)
				}
			}
		})
	}
}

func TestKeys(t *testing.T) {
	base := inference.GenerateRequest{Prefix: "A red apple.", N: 192, CFG: 5, Temperature: 1, Seed: 7}
	key := func(role string, id cache.Identity, req any) string {
		k, err := cache.Key(role, id, req)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ref := key("generate", simID, base)
	other := base
	other.Seed = 8
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"same call", key("generate", simID, base), true},
		{"another seed", key("generate", simID, other), false},
		{"another role", key("decode", simID, base), false},
		{"another model revision", key("generate", cache.Identity{Kind: "sim", Model: "twig-sim", Revision: "mistake=0.3"}, base), false},
		{"another kind", key("generate", cache.Identity{Kind: "worker", Model: "twig-sim", Revision: "mistake=0.2"}, base), false},
	}
	for _, tc := range tests {
		if got := tc.key == ref; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestNewCritiqueTemplate: changing the critique instruction misses the
// cache for critiques only; thoughts and paintings before it still hit.
func TestNewCritiqueTemplate(t *testing.T) {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	c := cache.New(b, "")
	backend := newBackend()
	r := c.Reasoner(backend, simID)
	ctx := context.Background()
	think := inference.ThinkRequest{Instruction: "think v1", Prompt: "a red apple", Region: 0, Regions: 3, Seed: 1}
	crit := inference.CritiqueRequest{Instruction: "critique v1", Prompt: "a red apple", Thoughts: []string{"A red apple sits here."}, Region: 0, Regions: 3, Seed: 2}
	if _, err := r.Think(ctx, think); err != nil {
		t.Fatal(err)
	}
	canvas, err := backend.p.Decode(ctx, make([]int32, 576))
	if err != nil {
		t.Fatal(err)
	}
	crit.Canvas = canvas.PNG
	if _, err := r.Critique(ctx, crit); err != nil {
		t.Fatal(err)
	}
	var counts cache.Counts
	ctx = cache.WithCounts(ctx, &counts)
	crit.Instruction = "critique v2"
	r.Think(ctx, think)
	r.Critique(ctx, crit)
	got := counts.Snapshot()
	want := map[string]cache.Count{"think": {Hits: 1}, "critique": {Misses: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

func testSeed() schema.Seed {
	return schema.Seed{ID: "6f0e4c1a-7a53-5b0e-9c1d-2b7f7e1a9d41", Dataset: "t", Split: "train",
		Prompt: "a red apple and a green train", PromptNormalized: "a red apple and a green train", Category: "colour", Seed: 99}
}
