package pipelines

import (
	"context"
	"fmt"
	"os"
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

// Backends chooses the models behind the loop and the call cache.
type Backends struct {
	// Cache is the bucket URL of the call cache (a local folder or object
	// storage every worker reaches); empty means no cache.
	Cache string `json:"cache,omitempty"`
	// Generator lists the base URLs of GPU workers (docs/worker-protocol.md)
	// that paint, decode and encode; empty means the in-process simulator.
	Generator []string `json:"generator,omitempty"`
	// GeneratorTimeout bounds each attempt of a call to a GPU worker,
	// reading the answer included (zero: 2m, remote.DefaultPoolOptions).
	// GeneratorRetries is the number of retries of a call after its first
	// attempt, for transient failures only: refused or reset connections,
	// timeouts, 429 and 5xx (zero: 5). Neither enters the config hash:
	// like the concurrency, they do not change what a successful call
	// returns, so a rerun with other values resumes the staged work.
	GeneratorTimeout Duration `json:"generator_timeout,omitzero"`
	GeneratorRetries int      `json:"generator_retries,omitempty"`
	// Thinker and Critic are the teacher LLMs of the reasoning roles, on
	// any OpenAI-compatible endpoint; an empty BaseURL means the simulated
	// reasoner.
	Thinker Teacher `json:"thinker,omitzero"`
	Critic  Teacher `json:"critic,omitzero"`
	// Drawer is the image model of the teacher-image route; an empty
	// BaseURL means the simulated drawer.
	Drawer Teacher `json:"drawer,omitzero"`
	// Judge is the vision-language model of the vlm judge; an empty
	// BaseURL means the simulated VLM.
	Judge Teacher `json:"judge,omitzero"`
}

// Teacher is one OpenAI-compatible model for one role.
type Teacher struct {
	BaseURL string `json:"base_url,omitempty"`
	Model   string `json:"model,omitempty"`
	// KeyEnv names the environment variable that holds the API key, read
	// by every worker process. The key itself never enters the
	// configuration, the job graph or the manifest. Empty: the role's
	// variable in TeacherRoles (TWIG_THINK_API_KEY, TWIG_CRITIQUE_API_KEY,
	// TWIG_DRAW_API_KEY, TWIG_JUDGE_API_KEY), else OPENAI_API_KEY.
	KeyEnv string `json:"key_env,omitempty"`
	// Limits are per endpoint and model, per worker process.
	Limits teacher.Limits `json:"limits,omitzero"`
	// MaxTokens and MaxDollars cap the role's spending (per worker
	// process) at Prices; zero: no cap. Once reached, no new trajectory
	// starts; the rest go to failed/ saying so.
	MaxTokens  int64          `json:"max_tokens,omitempty"`
	MaxDollars float64        `json:"max_dollars,omitempty"`
	Prices     teacher.Prices `json:"prices,omitzero"`
	// Timeout bounds one request to the role's endpoint (zero: 2m,
	// teacher.DefaultTimeout; for the drawer 5m, teacher.DefaultDrawTimeout).
	// Retries is the number of retries of a call after its first attempt,
	// for transient failures only: timeouts, broken connections, 408, 429
	// and 5xx (zero: 5). Like Backends.GeneratorTimeout, neither enters the
	// config hash.
	Timeout Duration `json:"timeout,omitzero"`
	Retries int      `json:"retries,omitempty"`
}

// retryPolicy is the role's retry policy: the library's defaults but for
// the number of attempts.
func (t Teacher) retryPolicy() teacher.RetryPolicy {
	var p teacher.RetryPolicy
	if t.Retries > 0 {
		p.MaxAttempts = 1 + t.Retries
	}
	return p
}

// PoolOptions returns the options of the GPU worker pool: the defaults,
// with the configured timeout and retries.
func (b Backends) PoolOptions() remote.PoolOptions {
	o := remote.DefaultPoolOptions()
	if b.GeneratorTimeout > 0 {
		o.Timeout = time.Duration(b.GeneratorTimeout)
	}
	if b.GeneratorRetries > 0 {
		o.Retries = b.GeneratorRetries
	}
	return o
}

// TeacherRole is one row of the table of teacher roles: where the role
// is configured, the role its calls are recorded under, the environment
// variable of its API key and its default timeout. Every place that names
// a role (validation, key lookup, messages, the hash) reads this table, so
// that the names cannot drift apart.
type TeacherRole struct {
	// Field is the role's key under "backends" in the config file.
	Field string
	// Role is the call role (inference.RoleThink, ...).
	Role string
	// KeyEnv is the role's own API-key variable; OPENAI_API_KEY is the
	// fallback of every role.
	KeyEnv string
	// DefaultTimeout is the timeout a zero Teacher.Timeout means.
	DefaultTimeout string
	of             func(*Backends) *Teacher
}

// FallbackKeyEnv is the API-key variable every teacher role falls back to.
const FallbackKeyEnv = "OPENAI_API_KEY"

// TeacherRoles is the table of teacher roles, in config order.
var TeacherRoles = []TeacherRole{
	{"thinker", inference.RoleThink, "TWIG_THINK_API_KEY", "2m", func(b *Backends) *Teacher { return &b.Thinker }},
	{"critic", inference.RoleCritique, "TWIG_CRITIQUE_API_KEY", "2m", func(b *Backends) *Teacher { return &b.Critic }},
	{"drawer", inference.RoleDraw, "TWIG_DRAW_API_KEY", "5m", func(b *Backends) *Teacher { return &b.Drawer }},
	{"judge", inference.RoleJudge, "TWIG_JUDGE_API_KEY", "2m", func(b *Backends) *Teacher { return &b.Judge }},
}

// Of returns the role's teacher in b.
func (r TeacherRole) Of(b *Backends) *Teacher { return r.of(b) }

// KeyHint names where the role's key is read from, for messages.
func (r TeacherRole) KeyHint(t Teacher) string {
	if t.KeyEnv != "" {
		return t.KeyEnv
	}
	return r.KeyEnv + " or " + FallbackKeyEnv
}

// roleOf returns the table row of a call role.
func roleOf(role string) TeacherRole {
	for _, r := range TeacherRoles {
		if r.Role == role {
			return r
		}
	}
	panic("pipelines: no teacher role " + role)
}

// apiKey returns the key of a call role from the environment: the
// teacher's KeyEnv when set, else the role's variable, else
// OPENAI_API_KEY.
func (t Teacher) apiKey(role string) string {
	if t.KeyEnv != "" {
		return os.Getenv(t.KeyEnv)
	}
	if k := os.Getenv(roleOf(role).KeyEnv); k != "" {
		return k
	}
	return os.Getenv(FallbackKeyEnv)
}

// budgets holds one budget per run, role and process, shared by every
// DoFn instance of the run in the process.
var budgets sync.Map // run + role -> *teacher.Budget

func budgetOf(run, role string, t Teacher) *teacher.Budget {
	b, _ := budgets.LoadOrStore(run+"\x00"+role, &teacher.Budget{Name: role, MaxTokens: t.MaxTokens, MaxDollars: t.MaxDollars, Prices: t.Prices})
	return b.(*teacher.Budget)
}

// reasonerOf builds the teacher client of a role with its wrappers:
// budget, then retry, then the shared rate limiter, then the client.
func reasonerOf(run, role string, t Teacher) (inference.Reasoner, error) {
	c, err := teacher.New(teacher.Config{BaseURL: t.BaseURL, Model: t.Model, APIKey: t.apiKey(role), Timeout: time.Duration(t.Timeout)})
	if err != nil {
		return nil, fmt.Errorf("%s teacher: %w", role, err)
	}
	var r inference.Reasoner = teacher.NewLimitReasoner(c, teacher.SharedLimiter(t.BaseURL, t.Model, t.Limits))
	r = teacher.NewRetryReasoner(r, t.retryPolicy())
	return teacher.NewBudgetReasoner(r, budgetOf(run, role, t)), nil
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

// backendSet is what a DoFn builds in Setup from Backends.
type backendSet struct {
	painter  inference.Painter
	reasoner inference.Reasoner
	drawer   inference.Drawer  // the teacher-image route only
	encoder  inference.Encoder // the teacher-image route only
	viewer   inference.Viewer  // the vlm judge
	// wrapper is the text the painter wraps its prefix in.
	wrapper string
	closers []func() error
}

// engine returns the engine of the configured route over the backends.
func (b *backendSet) engine(cfg inference.Config) (*inference.Engine, error) {
	var e *inference.Engine
	var err error
	if cfg.Route == inference.RouteTeacherImage {
		e, err = inference.NewTeacherImage(cfg, b.painter, b.reasoner, b.drawer, b.encoder)
	} else {
		e, err = inference.New(cfg, b.painter, b.reasoner)
	}
	if err != nil {
		return nil, err
	}
	e.SetPromptWrapper(b.wrapper)
	return e, nil
}

func (b *backendSet) Close() {
	for _, c := range b.closers {
		c()
	}
}

// openBackends builds the painter, reasoner, drawer and encoder of a
// configuration, each wrapped in the call cache when one is configured.
// run identifies the run, so that its spending caps are its own.
func openBackends(ctx context.Context, run string, eng inference.Config, sc SimConfig, bk Backends) (_ *backendSet, err error) {
	geo := sim.Geometry{ImageSize: eng.ImageSize, PatchSize: eng.PatchSize}
	set := &backendSet{
		painter:  sim.NewPainter(sim.PainterConfig{Geometry: geo, MistakeRate: sc.MistakeRate}),
		reasoner: sim.NewReasoner(sim.ReasonerConfig{Geometry: geo, MalformedRate: sc.MalformedRate, DriftRate: sc.DriftRate}),
		// The simulated painter stands in for Janus-Pro.
		wrapper: inference.JanusPromptWrapper,
	}
	defer func() {
		if err != nil {
			set.Close()
		}
	}()
	d := sim.NewDrawer(sim.PainterConfig{Geometry: geo, MistakeRate: sc.MistakeRate})
	set.drawer, set.encoder = d, d
	set.viewer = sim.NewVLM(sim.VLMConfig{Geometry: geo})
	simRev := fmt.Sprintf("rules=%s geometry=%d/%d mistake=%g malformed=%g drift=%g", sim.Rules, geo.ImageSize, geo.PatchSize, sc.MistakeRate, sc.MalformedRate, sc.DriftRate)
	painterID := cache.Identity{Kind: "sim", Model: sim.DefaultPainterModel, Revision: simRev}
	if len(bk.Generator) > 0 {
		pool, info, err := OpenWorkers(ctx, bk, eng)
		if err != nil {
			return nil, err
		}
		set.closers = append(set.closers, pool.Close)
		set.painter, set.encoder = pool, pool
		// An older worker that reports no wrapper leaves it unknown.
		set.wrapper = info.PromptWrapper
		painterID = cache.Identity{Kind: "worker", Model: info.Model, Revision: info.Revision}
	}
	thinker, critic := set.reasoner, set.reasoner
	simReasoner := cache.Identity{Kind: "sim", Model: sim.DefaultReasonerModel, Revision: simRev}
	thinkerID, criticID := simReasoner, simReasoner
	if bk.Thinker.BaseURL != "" {
		if thinker, err = reasonerOf(run, inference.RoleThink, bk.Thinker); err != nil {
			return nil, err
		}
		thinkerID = cache.Identity{Kind: "openai", Model: bk.Thinker.Model, Revision: redact.URL(bk.Thinker.BaseURL)}
	}
	if bk.Critic.BaseURL != "" {
		if critic, err = reasonerOf(run, inference.RoleCritique, bk.Critic); err != nil {
			return nil, err
		}
		criticID = cache.Identity{Kind: "openai", Model: bk.Critic.Model, Revision: redact.URL(bk.Critic.BaseURL)}
	}
	drawerID := cache.Identity{Kind: "sim", Model: sim.DefaultDrawerModel, Revision: simRev}
	if bk.Drawer.BaseURL != "" {
		d, err := teacher.NewDrawer(teacher.DrawerConfig{BaseURL: bk.Drawer.BaseURL, Model: bk.Drawer.Model, APIKey: bk.Drawer.apiKey(inference.RoleDraw), Timeout: time.Duration(bk.Drawer.Timeout)})
		if err != nil {
			return nil, fmt.Errorf("drawer: %w", err)
		}
		var dr inference.Drawer = teacher.NewLimitDrawer(d, teacher.SharedLimiter(bk.Drawer.BaseURL, bk.Drawer.Model, bk.Drawer.Limits))
		dr = teacher.NewRetryDrawer(dr, bk.Drawer.retryPolicy())
		set.drawer = teacher.NewBudgetDrawer(dr, budgetOf(run, inference.RoleDraw, bk.Drawer))
		drawerID = cache.Identity{Kind: "openai-image", Model: bk.Drawer.Model, Revision: redact.URL(bk.Drawer.BaseURL)}
	}
	viewerID := cache.Identity{Kind: "sim", Model: sim.DefaultVLMModel, Revision: simRev}
	if bk.Judge.BaseURL != "" {
		c, err := teacher.New(teacher.Config{BaseURL: bk.Judge.BaseURL, Model: bk.Judge.Model, APIKey: bk.Judge.apiKey(inference.RoleJudge), Timeout: time.Duration(bk.Judge.Timeout)})
		if err != nil {
			return nil, fmt.Errorf("judge teacher: %w", err)
		}
		var v inference.Viewer = teacher.NewLimitViewer(c, teacher.SharedLimiter(bk.Judge.BaseURL, bk.Judge.Model, bk.Judge.Limits))
		v = teacher.NewRetryViewer(v, bk.Judge.retryPolicy())
		set.viewer = teacher.NewBudgetViewer(v, budgetOf(run, inference.RoleJudge, bk.Judge))
		viewerID = cache.Identity{Kind: "openai", Model: bk.Judge.Model, Revision: redact.URL(bk.Judge.BaseURL)}
	}
	if bk.Cache == "" {
		set.reasoner = splitReasoner{thinker: thinker, critic: critic}
		return set, nil
	}
	b, err := blob.OpenBucket(ctx, bk.Cache)
	if err != nil {
		return nil, fmt.Errorf("open call cache %s: %w", redact.URL(bk.Cache), err)
	}
	set.closers = append(set.closers, b.Close)
	c := cache.New(b, "")
	set.painter = c.Painter(set.painter, painterID)
	set.reasoner = splitReasoner{thinker: c.Reasoner(thinker, thinkerID), critic: c.Reasoner(critic, criticID)}
	set.drawer = c.Drawer(set.drawer, drawerID)
	set.encoder = c.Encoder(set.encoder, painterID)
	set.viewer = c.Viewer(set.viewer, viewerID)
	return set, nil
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

// DefaultRealDataset is the dataset name a run takes when it uses a real
// model and names no dataset: DefaultConfig's "twig-sim" is for runs whose
// every model is the simulator.
const DefaultRealDataset = "twig"

// simulatedPainter reports whether the painter is the simulator: the
// in-process one (no generator), or a worker serving it (twig worker).
func (c Config) simulatedPainter(painter worker.Info) bool {
	return len(c.Backends.Generator) == 0 || painter.Model == sim.DefaultPainterModel
}

// Simulated reports whether every model of the run is the simulator;
// painter is the GPU workers' info (zero without workers).
func (c Config) Simulated(painter worker.Info) bool {
	b := c.Backends
	return c.simulatedPainter(painter) && b.Thinker.BaseURL == "" && b.Critic.BaseURL == "" &&
		b.Judge.BaseURL == "" && b.Drawer.BaseURL == ""
}

// CheckReaders refuses a run whose canvases some simulated role would have
// to read although a real model paints them: the simulated critic and the
// simulated VLM judge read a canvas back through the simulator's codebook,
// which a real model's image is not, so every sample would fail after its
// GPU work. The simulated thinker never reads the canvas and may plan for
// a real painter. painter is the GPU workers' info (zero without workers);
// call it before the first model call.
func (c Config) CheckReaders(painter worker.Info) error {
	if c.simulatedPainter(painter) {
		return nil
	}
	model := painter.ModelID()
	switch {
	case c.Backends.Critic.BaseURL == "":
		return fmt.Errorf("config backends.critic: the simulated critic cannot read the canvases %s paints; "+
			"give the critic a vision model: --teacher URL --teacher-model NAME (or --critic/--critic-model), "+
			"for instance the worker itself when it serves chat: --teacher %s/v1 --teacher-model %s", model, c.Backends.Generator[0], painter.Model)
	case c.Backends.Judge.BaseURL == "":
		return fmt.Errorf("config backends.judge: the simulated VLM judge cannot read the images %s paints; "+
			"give it a vision model: --judge URL --judge-model NAME (it follows --teacher when that is given)", model)
	}
	return nil
}
