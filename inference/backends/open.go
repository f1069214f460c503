package backends

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/cache"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/internal/redact"
)

// Set is the models one process runs the loop and the vlm judge with.
type Set struct {
	Painter  inference.Painter
	Reasoner inference.Reasoner
	Drawer   inference.Drawer  // the teacher-image route only
	Encoder  inference.Encoder // the teacher-image route only
	Viewer   inference.Viewer  // the vlm judge
	// Wrapper is the text the painter wraps its prefix in; empty when an
	// older worker does not say.
	Wrapper string
	closers []func() error
}

// Engine returns the engine of the configured route over the set.
func (s *Set) Engine(cfg inference.Config) (*inference.Engine, error) {
	var e *inference.Engine
	var err error
	if cfg.Route == inference.RouteTeacherImage {
		e, err = inference.NewTeacherImage(cfg, s.Painter, s.Reasoner, s.Drawer, s.Encoder)
	} else {
		e, err = inference.New(cfg, s.Painter, s.Reasoner)
	}
	if err != nil {
		return nil, err
	}
	e.SetPromptWrapper(s.Wrapper)
	return e, nil
}

// Close closes the GPU worker pool and the call cache's bucket.
func (s *Set) Close() {
	for _, c := range s.closers {
		c()
	}
}

// Open builds the painter, reasoner, drawer, encoder and viewer of the
// backends: the simulator (configured by sc) for every model not
// configured, each teacher behind its rate limit, retries and spending
// cap, all of them behind the call cache when one is configured. run
// identifies the run, so that its spending caps are its own.
func Open(ctx context.Context, run string, eng inference.Config, sc SimConfig, bk Backends) (_ *Set, err error) {
	geo := sim.Geometry{ImageSize: eng.ImageSize, PatchSize: eng.PatchSize}
	set := &Set{
		Painter:  sim.NewPainter(sim.PainterConfig{Geometry: geo, MistakeRate: sc.MistakeRate}),
		Reasoner: sim.NewReasoner(sim.ReasonerConfig{Geometry: geo, MalformedRate: sc.MalformedRate, DriftRate: sc.DriftRate}),
		// The simulated painter stands in for Janus-Pro.
		Wrapper: inference.JanusPromptWrapper,
	}
	defer func() {
		if err != nil {
			set.Close()
		}
	}()
	d := sim.NewDrawer(sim.PainterConfig{Geometry: geo, MistakeRate: sc.MistakeRate})
	set.Drawer, set.Encoder = d, d
	set.Viewer = sim.NewVLM(sim.VLMConfig{Geometry: geo})
	simRev := sc.revision(geo)
	painterID := cache.Identity{Kind: "sim", Model: sim.DefaultPainterModel, Revision: simRev}
	if len(bk.Generator) > 0 {
		pool, info, err := OpenWorkers(ctx, bk, eng)
		if err != nil {
			return nil, err
		}
		set.closers = append(set.closers, pool.Close)
		set.Painter, set.Encoder = pool, pool
		// An older worker that reports no wrapper leaves it unknown.
		set.Wrapper = info.PromptWrapper
		painterID = cache.Identity{Kind: "worker", Model: info.Model, Revision: info.Revision}
	}
	thinker, critic := set.Reasoner, set.Reasoner
	simReasoner := cache.Identity{Kind: "sim", Model: sim.DefaultReasonerModel, Revision: simRev}
	thinkerID, criticID := simReasoner, simReasoner
	if bk.Thinker.BaseURL != "" {
		if thinker, err = reasonerOf(run, ThinkerRole, bk.Thinker); err != nil {
			return nil, err
		}
		thinkerID = teacherID("openai", bk.Thinker)
	}
	if bk.Critic.BaseURL != "" {
		if critic, err = reasonerOf(run, CriticRole, bk.Critic); err != nil {
			return nil, err
		}
		criticID = teacherID("openai", bk.Critic)
	}
	drawerID := cache.Identity{Kind: "sim", Model: sim.DefaultDrawerModel, Revision: simRev}
	if bk.Drawer.BaseURL != "" {
		if set.Drawer, err = drawerOf(run, DrawerRole, bk.Drawer); err != nil {
			return nil, err
		}
		drawerID = teacherID("openai-image", bk.Drawer)
	}
	viewerID := cache.Identity{Kind: "sim", Model: sim.DefaultVLMModel, Revision: simRev}
	if bk.Judge.BaseURL != "" {
		if set.Viewer, err = viewerOf(run, JudgeRole, bk.Judge); err != nil {
			return nil, err
		}
		viewerID = teacherID("openai", bk.Judge)
	}
	if bk.Cache == "" {
		set.Reasoner = splitReasoner{thinker: thinker, critic: critic}
		return set, nil
	}
	b, err := blob.OpenBucket(ctx, bk.Cache)
	if err != nil {
		return nil, fmt.Errorf("open call cache %s: %w", redact.URL(bk.Cache), err)
	}
	set.closers = append(set.closers, b.Close)
	c := cache.New(b, "")
	set.Painter = c.Painter(set.Painter, painterID)
	set.Reasoner = splitReasoner{thinker: c.Reasoner(thinker, thinkerID), critic: c.Reasoner(critic, criticID)}
	set.Drawer = c.Drawer(set.Drawer, drawerID)
	set.Encoder = c.Encoder(set.Encoder, painterID)
	set.Viewer = c.Viewer(set.Viewer, viewerID)
	return set, nil
}

// teacherID is a teacher's identity in the call cache; the endpoint is
// redacted, so that no key reaches the cache.
func teacherID(kind string, t Teacher) cache.Identity {
	return cache.Identity{Kind: kind, Model: t.Model, Revision: redact.URL(t.BaseURL)}
}

// OpenWorkers opens a pool over the GPU workers of bk (bk.Generator, with
// bk.PoolOptions) and checks that they all serve the same model with the
// configured geometry, so that a wrong endpoint fails the run before any
// trajectory starts.
func OpenWorkers(ctx context.Context, bk Backends, eng inference.Config) (*remote.Pool, worker.Info, error) {
	pool, err := remote.NewPool(bk.Generator, bk.PoolOptions())
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

// budgets holds one budget per run, role and process, shared by every
// DoFn instance of the run in the process.
var budgets sync.Map // run + call role -> *teacher.Budget

func budgetOf(run string, r Role, t Teacher) *teacher.Budget {
	b, _ := budgets.LoadOrStore(run+"\x00"+r.Call, &teacher.Budget{Name: r.Call, MaxTokens: t.MaxTokens, MaxDollars: t.MaxDollars, Prices: t.Prices})
	return b.(*teacher.Budget)
}

// The teacher chains: the role's spending cap, then the retries, then the
// rate limiter shared by every role on the same endpoint and model, then
// the client; every attempt of a retried call waits its turn at the
// limiter.

// chatClient is a teacher client, which serves both the reasoning roles
// and the vlm judge.
type chatClient interface {
	inference.Reasoner
	inference.Viewer
}

func clientOf(r Role, t Teacher) (chatClient, error) {
	c, err := teacher.New(teacher.Config{BaseURL: t.BaseURL, Model: t.Model, APIKey: r.apiKey(t), Timeout: time.Duration(t.Timeout)})
	if err != nil {
		return nil, fmt.Errorf("%s teacher: %w", r.Call, err)
	}
	return c, nil
}

func reasonerOf(run string, r Role, t Teacher) (inference.Reasoner, error) {
	c, err := clientOf(r, t)
	if err != nil {
		return nil, err
	}
	var rs inference.Reasoner = teacher.NewLimitReasoner(c, teacher.SharedLimiter(t.BaseURL, t.Model, t.Limits))
	rs = teacher.NewRetryReasoner(rs, t.retryPolicy())
	return teacher.NewBudgetReasoner(rs, budgetOf(run, r, t)), nil
}

func viewerOf(run string, r Role, t Teacher) (inference.Viewer, error) {
	c, err := clientOf(r, t)
	if err != nil {
		return nil, err
	}
	var v inference.Viewer = teacher.NewLimitViewer(c, teacher.SharedLimiter(t.BaseURL, t.Model, t.Limits))
	v = teacher.NewRetryViewer(v, t.retryPolicy())
	return teacher.NewBudgetViewer(v, budgetOf(run, r, t)), nil
}

func drawerOf(run string, r Role, t Teacher) (inference.Drawer, error) {
	d, err := teacher.NewDrawer(teacher.DrawerConfig{BaseURL: t.BaseURL, Model: t.Model, APIKey: r.apiKey(t), Timeout: time.Duration(t.Timeout)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Field, err)
	}
	var dr inference.Drawer = teacher.NewLimitDrawer(d, teacher.SharedLimiter(t.BaseURL, t.Model, t.Limits))
	dr = teacher.NewRetryDrawer(dr, t.retryPolicy())
	return teacher.NewBudgetDrawer(dr, budgetOf(run, r, t)), nil
}

// splitReasoner sends thoughts to one reasoner and critiques to another.
type splitReasoner struct {
	thinker, critic inference.Reasoner
}

func (s splitReasoner) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	return s.thinker.Think(ctx, req)
}

func (s splitReasoner) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	return s.critic.Critique(ctx, req)
}
