package worker

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"runtime"
	"sync"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
)

// SimConfig configures a SimBackend.
type SimConfig struct {
	// Geometry is the canvas; zero fields take the simulator's defaults
	// (384 px images in 16 px patches).
	Geometry sim.Geometry
	// MistakeRate, MalformedRate and DriftRate are the simulator's rates
	// (sim.PainterConfig and sim.ReasonerConfig), used as given: zero
	// never errs. DefaultSimConfig holds the usual rates.
	MistakeRate   float64
	MalformedRate float64
	DriftRate     float64
	// BatchLatency is a fixed time every batch takes, whatever its size,
	// like a GPU forward pass: a batch answers no sooner than this after
	// it starts. Zero answers as fast as the simulator paints.
	BatchLatency time.Duration
}

// DefaultSimConfig returns the default geometry, the simulator's usual
// rates (0.2, 0.05 and 0.05) and no batch latency.
func DefaultSimConfig() SimConfig {
	p, r := sim.DefaultPainterConfig(), sim.DefaultReasonerConfig()
	return SimConfig{
		Geometry:    p.Geometry,
		MistakeRate: p.MistakeRate, MalformedRate: r.MalformedRate, DriftRate: r.DriftRate,
	}
}

// SimBackend serves the CPU simulator of package sim behind the worker
// protocol: sim.Painter paints and decodes, sim.Geometry encodes, and
// sim.Reasoner thinks and critiques, so the server also answers chat
// completions. It is safe for concurrent use.
//
// Answers carry model names with a revision that records the rates,
// "twig-sim-painter-v1@mistake=0.2" and
// "twig-sim-reasoner-v1@malformed=0.05,drift=0.05", so that a call cache
// keyed by model tells simulators with other rates apart.
//
// The simulator fails only on requests it cannot serve, so every error it
// returns, but the context's, is a *RequestError.
type SimBackend struct {
	painter  *sim.Painter
	reasoner *sim.Reasoner
	geo      sim.Geometry
	info     Info
	latency  time.Duration
}

var (
	_ Backend            = (*SimBackend)(nil)
	_ inference.Reasoner = (*SimBackend)(nil)
)

// NewSimBackend returns a simulator backend for cfg.
func NewSimBackend(cfg SimConfig) *SimBackend {
	// The simulator stands in for Janus-Pro, so it declares Janus-Pro's wrapper.
	info := Info{Model: sim.DefaultPainterModel, Revision: fmt.Sprintf("mistake=%g", cfg.MistakeRate),
		PromptWrapper: inference.JanusPromptWrapper}
	painter := sim.NewPainter(sim.PainterConfig{Geometry: cfg.Geometry, MistakeRate: cfg.MistakeRate, Model: info.ModelID()})
	reasoner := sim.NewReasoner(sim.ReasonerConfig{
		Geometry: cfg.Geometry, MalformedRate: cfg.MalformedRate, DriftRate: cfg.DriftRate,
		Model: fmt.Sprintf("%s@malformed=%g,drift=%g", sim.DefaultReasonerModel, cfg.MalformedRate, cfg.DriftRate),
	})
	geo := painter.Geometry()
	info.ImageSize, info.PatchSize, info.CodebookSize = geo.ImageSize, geo.PatchSize, sim.CodebookSize
	return &SimBackend{painter: painter, reasoner: reasoner, geo: geo, info: info, latency: max(cfg.BatchLatency, 0)}
}

// Info describes the simulated painter.
func (b *SimBackend) Info() Info { return b.info }

// GenerateBatch paints every request with sim.Painter.Generate, in
// parallel, and answers no sooner than BatchLatency after it started.
func (b *SimBackend) GenerateBatch(ctx context.Context, reqs []GenerateRequest) ([]Result, error) {
	deadline := time.Now().Add(b.latency)
	results := make([]Result, len(reqs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, req := range reqs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = b.generate(ctx, req)
		})
	}
	wg.Wait()
	if err := sleepUntil(ctx, deadline); err != nil {
		return nil, err
	}
	return results, nil
}

func (b *SimBackend) generate(ctx context.Context, req GenerateRequest) Result {
	resp, err := b.painter.Generate(ctx, inference.GenerateRequest{
		Prefix: req.Prefix, Prior: req.Prior, N: req.N,
		CFG: req.CFG, Temperature: req.Temperature, TopK: req.TopK, TopP: req.TopP, Seed: req.Seed,
	})
	if err != nil {
		return Result{Err: b.classify(ctx, err)}
	}
	return Result{Resp: GenerateResponse{
		Tokens: resp.Tokens, Model: resp.Model,
		Usage: Usage{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens},
	}}
}

// Decode renders a full token grid with sim.Painter.Decode.
func (b *SimBackend) Decode(ctx context.Context, tokens []int32) ([]byte, error) {
	resp, err := b.painter.Decode(ctx, tokens)
	if err != nil {
		return nil, b.classify(ctx, err)
	}
	return resp.PNG, nil
}

// Encode reads the tokens back from a canvas with sim.Geometry.Encode,
// after a nearest-neighbour resize when the image is not of the
// geometry's size (an integer upscale of a canvas encodes exactly).
// Images that are not canvases are request errors wrapping
// sim.ErrNotCanvas.
func (b *SimBackend) Encode(ctx context.Context, pngBytes []byte) ([]int32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pngBytes, err := resize(pngBytes, b.geo.ImageSize)
	if err != nil {
		return nil, &RequestError{Err: fmt.Errorf("encode: read PNG: %w", err)}
	}
	tokens, err := b.geo.Encode(pngBytes)
	if err != nil {
		return nil, &RequestError{Err: err}
	}
	return tokens, nil
}

// Think writes a thought with sim.Reasoner.Think.
func (b *SimBackend) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	reply, err := b.reasoner.Think(ctx, req)
	if err != nil {
		return inference.Reply{}, b.classify(ctx, err)
	}
	return reply, nil
}

// Critique scores a band with sim.Reasoner.Critique.
func (b *SimBackend) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	reply, err := b.reasoner.Critique(ctx, req)
	if err != nil {
		return inference.Reply{}, b.classify(ctx, err)
	}
	return reply, nil
}

// classify marks a simulator error as the request's fault unless the
// context ended.
func (b *SimBackend) classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return &RequestError{Err: err}
}

// resize returns a PNG of size x size pixels: the image itself when it
// has that size, else a nearest-neighbour resampling of it.
func resize(pngBytes []byte, size int) ([]byte, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(pngBytes))
	if err != nil {
		return nil, err
	}
	if cfg.Width == size && cfg.Height == size {
		return pngBytes, nil
	}
	src, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return nil, err
	}
	sb := src.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		sy := sb.Min.Y + (2*y+1)*sb.Dy()/(2*size)
		for x := range size {
			sx := sb.Min.X + (2*x+1)*sb.Dx()/(2*size)
			dst.Set(x, y, src.At(sx, sy))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
