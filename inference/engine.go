package inference

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Roles of model calls, as recorded in schema.Call.Role and schema.RoleModel.
const (
	RoleThink    = "think"
	RoleGenerate = "generate"
	RoleDecode   = "decode"
	RoleCritique = "critique"
)

// Region statuses (schema.Region.Status).
const (
	RegionAccepted           = "accepted"
	RegionRepainted          = "repainted"
	RegionParseFailed        = "parse_failed"
	RegionKeptBelowThreshold = "kept_below_threshold"
)

// ErrParseFailed is returned by Run, wrapped, when a critique cannot be
// parsed and Config.OnParseFailure is OnParseFailureFail.
var ErrParseFailed = errors.New("critique could not be parsed")

// Engine runs the TwiG loop for one prompt at a time. It is safe for
// concurrent use when its Painter and Reasoner are.
type Engine struct {
	cfg      Config
	sched    schema.Schedule
	painter  Painter
	reasoner Reasoner
	think    *Template
	critique *Template
	draw     *Template
	// wrapper is the generator's prompt wrapper, for the provenance.
	wrapper string
	// drawer and encoder serve the teacher-image route.
	drawer  Drawer
	encoder Encoder
}

// New returns an engine for a validated configuration.
func New(cfg Config, p Painter, r Reasoner) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, sched: cfg.Schedule(), painter: p, reasoner: r}
	for _, t := range []struct {
		dst  **Template
		role string
		name string
	}{{&e.think, RoleThink, cfg.ThinkTemplate}, {&e.critique, RoleCritique, cfg.CritiqueTemplate}, {&e.draw, RoleDraw, cfg.drawTemplate()}} {
		tmpl, err := LoadTemplate(t.role, t.name, cfg.TemplateTexts)
		if err != nil {
			return nil, err
		}
		*t.dst = tmpl
	}
	return e, nil
}

// SetPromptWrapper records the text the generator wraps its prefix in
// ("{prefix}" where the prefix goes), as its worker reports it, in every
// trajectory's provenance. Call it before the first Run.
func (e *Engine) SetPromptWrapper(w string) { e.wrapper = w }

// Schedule returns the engine's canvas geometry and band spans.
func (e *Engine) Schedule() schema.Schedule { return e.sched }

// Templates returns the references of the templates the engine renders:
// think and critique, and draw on the teacher-image route.
func (e *Engine) Templates() []schema.TemplateRef {
	refs := []schema.TemplateRef{e.think.Ref, e.critique.Ref}
	if e.cfg.Route == RouteTeacherImage {
		refs = append(refs, e.draw.Ref)
	}
	return refs
}

// route is the configured route, RouteInterleaved when unset.
func (c Config) route() string {
	if c.Route == "" {
		return RouteInterleaved
	}
	return c.Route
}

// Run paints one trajectory for a seed: for each region, a thought, a
// generation, a critique and, below the threshold, a repaint. It fills
// every field but the judges and the verdict, and the provenance's code
// version and config hash, which belong to the pipeline. Run is
// deterministic given the seed and the backends' answers.
func (e *Engine) Run(ctx context.Context, seed schema.Seed) (*schema.Trajectory, error) {
	cfg, sched := e.cfg, e.sched
	t := &schema.Trajectory{
		SchemaVersion: schema.Version, ID: seed.ID, Dataset: seed.Dataset, Split: seed.Split,
		Prompt: seed.Prompt, PromptNormalized: seed.PromptNormalized, Source: seed.Source,
		Category: seed.Category, SampleIndex: seed.SampleIndex, Seed: seed.Seed,
		Schedule: sched,
		Provenance: schema.Provenance{
			Route: cfg.route(), PromptWrapper: e.wrapper,
			Templates: e.Templates(),
			Sampling: schema.Sampling{
				CFG: cfg.CFG, Temperature: cfg.Temperature, TopK: int32(cfg.TopK), TopP: cfg.TopP,
				ReasonTemperature: cfg.ReasonTemperature, ReasonMaxTokens: int32(cfg.ReasonMaxTokens),
			},
		},
	}
	if cfg.Route == RouteTeacherImage {
		if e.drawer == nil || e.encoder == nil {
			return nil, fmt.Errorf("trajectory %s: the teacher-image route needs a drawer and an encoder (NewTeacherImage)", seed.ID)
		}
		if err := e.runTeacherImage(ctx, t, seed); err != nil {
			return nil, fmt.Errorf("trajectory %s: %w", seed.ID, err)
		}
		return t, nil
	}
	r := run{e: e, t: t, seed: seed, tokens: make([]int32, sched.NumTokens)}
	var canvas []byte // the canvas after the last kept attempt
	for k := range int(sched.K) {
		c, err := r.region(ctx, k, canvas)
		if err != nil {
			return nil, fmt.Errorf("trajectory %s: region %d: %w", seed.ID, k+1, err)
		}
		canvas = c
	}
	t.FinalTokens = r.tokens
	t.FinalImage = schema.Image{Bytes: canvas, Path: seed.ID + "/final.png"}
	return t, nil
}

// run is the state of one Run.
type run struct {
	e        *Engine
	t        *schema.Trajectory
	seed     schema.Seed
	tokens   []int32  // the canvas's tokens; 0 where not generated yet
	thoughts []string // the kept thoughts of finished regions
}

// region runs region k and returns the canvas after its kept attempt.
func (r *run) region(ctx context.Context, k int, canvas []byte) ([]byte, error) {
	cfg, K := r.e.cfg, int(r.e.sched.K)
	span := r.e.sched.Spans[k]
	data := thinkData(r.seed.Prompt, r.thoughts, k, K)
	data.Image = canvas != nil
	instr, err := r.e.think.Execute(data)
	if err != nil {
		return nil, err
	}
	reply, err := r.e.reasoner.Think(ctx, ThinkRequest{
		Instruction: instr, Prompt: r.seed.Prompt, Previous: r.thoughts, Canvas: canvas,
		Region: k, Regions: K, Temperature: cfg.ReasonTemperature, MaxTokens: cfg.ReasonMaxTokens,
		Seed: r.callSeed(RoleThink, k, 0, 0),
	})
	if err != nil {
		return nil, fmt.Errorf("think: %w", err)
	}
	r.call(RoleThink, k, 0, reply.Model, reply.Usage)
	region := schema.Region{Index: int32(k), Thought: schema.Thought{
		Input: instr, Raw: reply.Text, Text: CleanThought(reply.Text), Usage: reply.Usage,
	}}
	if region.Thought.Text == "" {
		return nil, fmt.Errorf("think: the reasoner returned an empty thought")
	}
	thought := region.Thought.Text
	for a := 0; ; a++ {
		at, err := r.paint(ctx, k, a, thought, span)
		if err != nil {
			return nil, err
		}
		if a > 0 && !cfg.CritiqueRepaints {
			at.Decision = schema.DecisionNotCritiqued
			region.Attempts = append(region.Attempts, at)
			break
		}
		crit, err := r.critiqueAttempt(ctx, k, a, append(r.thoughts[:len(r.thoughts):len(r.thoughts)], thought), at.Canvas.Bytes)
		if err != nil {
			return nil, err
		}
		at.Critiqued, at.Critique = true, crit
		parsed := crit.Parse == schema.ParseOK
		switch {
		case parsed && cfg.accepts(int(*crit.Score)):
			at.Decision = schema.DecisionAccept
		case !parsed && cfg.OnParseFailure == OnParseFailureAccept:
			at.Decision = schema.DecisionAccept
		case !parsed && cfg.OnParseFailure == OnParseFailureFail:
			return nil, fmt.Errorf("attempt %d: %w (%s): %q", a+1, ErrParseFailed, crit.Parse, crit.Raw)
		case !parsed && cfg.OnParseFailure == OnParseFailureKeep, !parsed && a >= cfg.MaxRepaints:
			at.Decision = schema.DecisionParseFailed
		case a >= cfg.MaxRepaints:
			at.Decision = schema.DecisionKeepLimit
		default:
			at.Decision = schema.DecisionRepaint
			if crit.Revised != "" {
				thought = crit.Revised
			}
		}
		region.Attempts = append(region.Attempts, at)
		if at.Decision != schema.DecisionRepaint {
			break
		}
	}
	region.Status = regionStatus(region.Attempts)
	r.t.Regions = append(r.t.Regions, region)
	r.thoughts = append(r.thoughts, thought)
	last := region.Attempts[len(region.Attempts)-1]
	copy(r.tokens[span.Start:span.End], last.Tokens)
	return last.Canvas.Bytes, nil
}

func regionStatus(attempts []schema.Attempt) string {
	last := attempts[len(attempts)-1]
	switch {
	case last.Decision == schema.DecisionParseFailed:
		return RegionParseFailed
	case len(attempts) > 1:
		return RegionRepainted
	case last.Decision == schema.DecisionKeepLimit:
		return RegionKeptBelowThreshold
	}
	return RegionAccepted
}

// paint generates attempt a of region k from thought and decodes the canvas.
func (r *run) paint(ctx context.Context, k, a int, thought string, span schema.Span) (schema.Attempt, error) {
	cfg := r.e.cfg
	prefix := strings.Join(append(r.thoughts[:len(r.thoughts):len(r.thoughts)], thought), " ")
	if cfg.PromptInPrefix {
		prefix = r.seed.Prompt + " " + prefix
	}
	seed := r.callSeed(RoleGenerate, k, a, 0)
	n := int(span.End - span.Start)
	gen, err := r.e.painter.Generate(ctx, GenerateRequest{
		Prefix: prefix, Prior: r.tokens[:span.Start], N: n,
		CFG: cfg.CFG, Temperature: cfg.Temperature, TopK: cfg.TopK, TopP: cfg.TopP, Seed: seed,
	})
	if err != nil {
		return schema.Attempt{}, fmt.Errorf("attempt %d: generate: %w", a+1, err)
	}
	if len(gen.Tokens) != n {
		return schema.Attempt{}, fmt.Errorf("attempt %d: generate: got %d tokens, want %d", a+1, len(gen.Tokens), n)
	}
	r.call(RoleGenerate, k, a, gen.Model, gen.Usage)
	grid := make([]int32, len(r.tokens))
	copy(grid, r.tokens[:span.Start])
	copy(grid[span.Start:], gen.Tokens)
	dec, err := r.e.painter.Decode(ctx, grid)
	if err != nil {
		return schema.Attempt{}, fmt.Errorf("attempt %d: decode: %w", a+1, err)
	}
	r.call(RoleDecode, k, a, dec.Model, schema.Usage{})
	return schema.Attempt{
		Index: int32(a), Thought: thought, Prefix: prefix, Seed: seed, Tokens: gen.Tokens,
		Canvas: schema.Image{Bytes: dec.PNG, Path: canvasPath(r.seed.ID, k, a)},
		Usage:  gen.Usage,
	}, nil
}

// critiqueAttempt asks for a critique, retrying unparseable answers.
func (r *run) critiqueAttempt(ctx context.Context, k, a int, thoughts []string, canvas []byte) (schema.Critique, error) {
	cfg, K := r.e.cfg, int(r.e.sched.K)
	instr, err := r.e.critique.Execute(critiqueData(r.seed.Prompt, thoughts, k, K))
	if err != nil {
		return schema.Critique{}, err
	}
	c := schema.Critique{Input: instr, Threshold: int32(cfg.Theta), Comparator: cfg.Comparator}
	for try := 0; ; try++ {
		reply, err := r.e.reasoner.Critique(ctx, CritiqueRequest{
			Instruction: instr, Prompt: r.seed.Prompt, Thoughts: thoughts, Canvas: canvas,
			Region: k, Regions: K, Temperature: cfg.ReasonTemperature, MaxTokens: cfg.ReasonMaxTokens,
			Seed: r.callSeed(RoleCritique, k, a, try), Unparsed: slices.Clone(c.Retries),
		})
		if err != nil {
			return c, fmt.Errorf("attempt %d: critique: %w", a+1, err)
		}
		r.call(RoleCritique, k, a, reply.Model, reply.Usage)
		p := ParseCritique(reply.Text)
		c.Raw, c.Score, c.Revised, c.Parse, c.Usage = reply.Text, nil, p.Revised, p.Status, reply.Usage
		if p.HasScore {
			c.Score = new(int32(p.Score))
		}
		if p.Status == schema.ParseOK || try >= cfg.CritiqueRetries {
			return c, nil
		}
		c.Retries = append(c.Retries, reply.Text)
	}
}

// call records a model call in the provenance, and the model per role.
func (r *run) call(role string, k, a int, model string, u schema.Usage) {
	p := &r.t.Provenance
	p.Calls = append(p.Calls, schema.Call{Role: role, Region: int32(k), Attempt: int32(a), Model: model, Usage: u})
	for _, m := range p.Models {
		if m.Role == role && m.Model == model {
			return
		}
	}
	p.Models = append(p.Models, schema.RoleModel{Role: role, Model: model})
}

// callSeed derives a call's seed from the sample seed and its place in the loop.
func (r *run) callSeed(role string, k, a, try int) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d/%d/%d", r.seed.Seed, role, k, a, try)
	return int64(h.Sum64() >> 1)
}

// canvasPath names the canvas of attempt a of region k (both 0-based) the
// way a reader counts them: "<id>/region1-attempt1.png" is the first pass
// of the top band.
func canvasPath(id string, k, a int) string {
	return fmt.Sprintf("%s/region%d-attempt%d.png", id, k+1, a+1)
}
