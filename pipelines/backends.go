package pipelines

import (
	"context"
	"fmt"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/sim"
)

// Backends chooses the models behind the loop and the call cache.
type Backends struct {
	// Cache is the bucket URL of the call cache (a local folder or object
	// storage every worker reaches); empty means no cache.
	Cache string `json:"cache,omitempty"`
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
	if bk.Cache == "" {
		return set, nil
	}
	b, err := blob.OpenBucket(ctx, bk.Cache)
	if err != nil {
		return nil, fmt.Errorf("open call cache %s: %w", redactURL(bk.Cache), err)
	}
	set.closers = append(set.closers, b.Close)
	c := cache.New(b, "")
	simRev := fmt.Sprintf("geometry=%d/%d mistake=%g malformed=%g drift=%g", geo.ImageSize, geo.PatchSize, sc.MistakeRate, sc.MalformedRate, sc.DriftRate)
	set.painter = c.Painter(set.painter, cache.Identity{Kind: "sim", Model: sim.DefaultPainterModel, Revision: simRev})
	set.reasoner = c.Reasoner(set.reasoner, cache.Identity{Kind: "sim", Model: sim.DefaultReasonerModel, Revision: simRev})
	set.drawer = c.Drawer(set.drawer, cache.Identity{Kind: "sim", Model: sim.DefaultDrawerModel, Revision: simRev})
	set.encoder = c.Encoder(set.encoder, cache.Identity{Kind: "sim", Model: "twig-sim-vq", Revision: simRev})
	return set, nil
}
