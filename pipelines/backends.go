package pipelines

import (
	"context"
	"fmt"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/worker"
)

// Backends chooses the models behind the loop and the call cache.
type Backends struct {
	// Cache is the bucket URL of the call cache (a local folder or object
	// storage every worker reaches); empty means no cache.
	Cache string `json:"cache,omitempty"`
	// Generator lists the base URLs of GPU workers (docs/worker-protocol.md)
	// that paint, decode and encode; empty means the in-process simulator.
	Generator []string `json:"generator,omitempty"`
}

// backendSet is what a DoFn builds in Setup from Backends.
type backendSet struct {
	painter  inference.Painter
	reasoner inference.Reasoner
	drawer   inference.Drawer  // the teacher-image route only
	encoder  inference.Encoder // the teacher-image route only
	closers  []func() error
}

// engine returns the engine of the configured route over the backends.
func (b *backendSet) engine(cfg inference.Config) (*inference.Engine, error) {
	if cfg.Route == inference.RouteTeacherImage {
		return inference.NewTeacherImage(cfg, b.painter, b.reasoner, b.drawer, b.encoder)
	}
	return inference.New(cfg, b.painter, b.reasoner)
}

func (b *backendSet) Close() {
	for _, c := range b.closers {
		c()
	}
}

// openBackends builds the painter and reasoner of a configuration,
// wrapped in the call cache when one is configured.
func openBackends(ctx context.Context, eng inference.Config, sc SimConfig, bk Backends) (*backendSet, error) {
	geo := sim.Geometry{ImageSize: eng.ImageSize, PatchSize: eng.PatchSize}
	set := &backendSet{
		painter:  sim.NewPainter(sim.PainterConfig{Geometry: geo, MistakeRate: sc.MistakeRate}),
		reasoner: sim.NewReasoner(sim.ReasonerConfig{Geometry: geo, MalformedRate: sc.MalformedRate, DriftRate: sc.DriftRate}),
	}
	d := sim.NewDrawer(sim.PainterConfig{Geometry: geo, MistakeRate: sc.MistakeRate})
	set.drawer, set.encoder = d, d
	simRev := fmt.Sprintf("geometry=%d/%d mistake=%g malformed=%g drift=%g", geo.ImageSize, geo.PatchSize, sc.MistakeRate, sc.MalformedRate, sc.DriftRate)
	painterID := cache.Identity{Kind: "sim", Model: sim.DefaultPainterModel, Revision: simRev}
	if len(bk.Generator) > 0 {
		pool, info, err := OpenWorkers(ctx, bk.Generator, eng)
		if err != nil {
			return nil, err
		}
		set.closers = append(set.closers, pool.Close)
		set.painter, set.encoder = pool, pool
		painterID = cache.Identity{Kind: "worker", Model: info.Model, Revision: info.Revision}
	}
	if bk.Cache == "" {
		return set, nil
	}
	b, err := blob.OpenBucket(ctx, bk.Cache)
	if err != nil {
		return nil, fmt.Errorf("open call cache %s: %w", redactURL(bk.Cache), err)
	}
	set.closers = append(set.closers, b.Close)
	c := cache.New(b, "")
	set.painter = c.Painter(set.painter, painterID)
	set.reasoner = c.Reasoner(set.reasoner, cache.Identity{Kind: "sim", Model: sim.DefaultReasonerModel, Revision: simRev})
	set.drawer = c.Drawer(set.drawer, cache.Identity{Kind: "sim", Model: sim.DefaultDrawerModel, Revision: simRev})
	set.encoder = c.Encoder(set.encoder, painterID)
	return set, nil
}

// OpenWorkers opens a pool over GPU workers and checks that they all serve
// the same model with the configured geometry, so that a wrong endpoint
// fails the run before any trajectory starts.
func OpenWorkers(ctx context.Context, endpoints []string, eng inference.Config) (*remote.Pool, worker.Info, error) {
	pool, err := remote.NewPool(endpoints, remote.DefaultPoolOptions())
	if err != nil {
		return nil, worker.Info{}, fmt.Errorf("generator: %w", err)
	}
	info, err := pool.Info(ctx)
	if err != nil {
		pool.Close()
		return nil, worker.Info{}, fmt.Errorf("generator: %w", err)
	}
	if info.ImageSize != eng.ImageSize || info.PatchSize != eng.PatchSize {
		pool.Close()
		return nil, worker.Info{}, fmt.Errorf("generator: the workers serve %s at %d px in %d px patches, the config asks for %d px in %d px patches",
			info.Model, info.ImageSize, info.PatchSize, eng.ImageSize, eng.PatchSize)
	}
	return pool, info, nil
}
