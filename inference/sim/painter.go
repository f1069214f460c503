package sim

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// DefaultPainterModel is the model name a painter reports by default.
const DefaultPainterModel = "twig-sim-painter-v1"

// Rules versions the simulator's rules (what it paints, how it scores and
// revises, which malformed answers it writes). Call caches key simulated
// answers by it, so that a cache filled by older rules is not replayed.
// Bump it whenever the answers of the same request change.
const Rules = "2"

// PainterConfig configures a simulated painter.
type PainterConfig struct {
	// Geometry is the canvas; zero fields take the defaults (384 px, 16 px).
	Geometry Geometry `json:"geometry"`
	// MistakeRate is the probability, per object, of a seeded mistake at
	// temperature 1 and CFG 5: a wrong colour, a missing object, a wrong
	// count or a wrong shape or texture. Zero paints without mistakes; see
	// DefaultPainterConfig for the usual 0.2.
	MistakeRate float64 `json:"mistake_rate"`
	// Model is the model name in responses; empty means DefaultPainterModel.
	Model string `json:"model"`
}

// DefaultPainterConfig returns the default geometry, a mistake rate of 0.2
// and DefaultPainterModel.
func DefaultPainterConfig() PainterConfig {
	return PainterConfig{Geometry: DefaultGeometry(), MistakeRate: 0.2, Model: DefaultPainterModel}
}

// Painter simulates an autoregressive image generator (Janus-Pro in the
// paper) and its VQ decoder. It is safe for concurrent use.
type Painter struct {
	geo         Geometry
	mistakeRate float64
	model       string
	parse       func(string) annotators.Analysis
}

var _ inference.Painter = (*Painter)(nil)

// NewPainter returns a painter for cfg. A rate outside [0,1] is clamped.
func NewPainter(cfg PainterConfig) *Painter {
	p := &Painter{geo: cfg.Geometry.withDefaults(), mistakeRate: clamp01(cfg.MistakeRate), model: cfg.Model, parse: annotators.Parse}
	if p.model == "" {
		p.model = DefaultPainterModel
	}
	return p
}

// Geometry returns the painter's canvas geometry.
func (p *Painter) Geometry() Geometry { return p.geo }

// MistakeProbability is the probability of a mistake per object under a
// request's sampling parameters:
//
//	MistakeRate * Temperature * (5 / max(CFG, 0.5)) [* TopP when 0 < TopP < 1]
//
// clamped to [0,1]; zero at temperature 0 and with greedy top-k (TopK 1).
func (p *Painter) MistakeProbability(req inference.GenerateRequest) float64 {
	if req.TopK == 1 {
		return 0
	}
	q := p.mistakeRate * req.Temperature * (5.0 / max(req.CFG, 0.5))
	if req.TopP > 0 && req.TopP < 1 {
		q *= req.TopP
	}
	return clamp01(q)
}

// Generate paints the token rows [len(req.Prior), len(req.Prior)+req.N)
// from the last sentence of req.Prefix; see the package documentation.
func (p *Painter) Generate(ctx context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	if err := ctx.Err(); err != nil {
		return inference.GenerateResponse{}, err
	}
	if err := p.geo.Validate(); err != nil {
		return inference.GenerateResponse{}, fmt.Errorf("generate: %w", err)
	}
	grid, start := p.geo.Grid(), len(req.Prior)
	switch {
	case req.N <= 0:
		return inference.GenerateResponse{}, fmt.Errorf("generate: n %d must be positive", req.N)
	case start%grid != 0:
		return inference.GenerateResponse{}, fmt.Errorf("generate: prior of %d tokens does not end on a token row of %d", start, grid)
	case req.N%grid != 0:
		return inference.GenerateResponse{}, fmt.Errorf("generate: n %d is not a whole number of token rows of %d", req.N, grid)
	case start+req.N > p.geo.Tokens():
		return inference.GenerateResponse{}, fmt.Errorf("generate: positions [%d,%d) run past the %d-token canvas", start, start+req.N, p.geo.Tokens())
	case req.Temperature < 0 || req.CFG < 0 || req.TopK < 0 || req.TopP < 0 || req.TopP > 1:
		return inference.GenerateResponse{}, fmt.Errorf("generate: bad sampling parameters: cfg %g, temperature %g, top-k %d, top-p %g", req.CFG, req.Temperature, req.TopK, req.TopP)
	}
	for i, id := range req.Prior {
		if !Valid(id) {
			return inference.GenerateResponse{}, fmt.Errorf("generate: prior token %d at position %d is outside the codebook [0,%d)", id, i, CodebookSize)
		}
	}
	tokens, _ := p.paint(req)
	return inference.GenerateResponse{
		Tokens: tokens,
		Model:  p.model,
		Usage:  schema.Usage{InputTokens: int32(wordCount(req.Prefix) + start), OutputTokens: int32(req.N)},
	}, nil
}

// paint returns the tokens of a validated request and the mistakes made.
func (p *Painter) paint(req inference.GenerateRequest) ([]int32, []mistake) {
	sc := sceneOf(p.parse, lastSentence(req.Prefix))
	rng := rand.New(rand.NewPCG(uint64(req.Seed), hashOf("generate", req.Prefix, len(req.Prior), req.N)))
	made := sc.mistakes(rng, p.MistakeProbability(req))
	grid := p.geo.Grid()
	return layout(sc, req.N/grid, grid, rng), made
}

// Decode renders a full token grid as a PNG; see Geometry.Render.
func (p *Painter) Decode(ctx context.Context, tokens []int32) (inference.DecodeResponse, error) {
	if err := ctx.Err(); err != nil {
		return inference.DecodeResponse{}, err
	}
	png, err := p.geo.Render(tokens)
	if err != nil {
		return inference.DecodeResponse{}, fmt.Errorf("decode: %w", err)
	}
	return inference.DecodeResponse{PNG: png, Model: p.model}, nil
}

func clamp01(x float64) float64 {
	switch {
	case x < 0 || x != x:
		return 0
	case x > 1:
		return 1
	}
	return x
}
