package inference

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Routes: how a trajectory is produced.
const (
	// RouteInterleaved is the zero-shot TwiG loop: think, paint, critique,
	// repaint, region by region.
	RouteInterleaved = "interleaved"
	// RouteTeacherImage is how the paper built TwiG-50K: a teacher writes
	// every band's caption, an image model draws one image from them, the
	// generator's VQ encoder tokenises it into bands, and the teacher
	// critiques each band and writes a revised caption. Nothing is
	// repainted; the critiques are recorded.
	RouteTeacherImage = "teacher-image"
)

// Roles of the teacher-image route's extra calls.
const (
	RoleDraw   = "draw"
	RoleEncode = "encode"
)

// Drawer draws one image from a caption (an image model such as
// GPT-Image, or the simulator).
type Drawer interface {
	Draw(ctx context.Context, req DrawRequest) (DrawResponse, error)
}

// DrawRequest asks for one square image.
type DrawRequest struct {
	// Prompt is the rendered draw template: the whole request an image
	// model sees.
	Prompt string
	// Captions are the bands' captions, top first, that Prompt was
	// rendered from (the simulated drawer paints from them).
	Captions []string
	Size     int
	Seed     int64
}

// DrawResponse is a drawn image.
type DrawResponse struct {
	PNG   []byte
	Model string
}

// NewTeacherImage returns an engine for the teacher-image route: r writes
// and critiques the captions, d draws, enc tokenises and p renders the
// partial canvases the critic sees.
func NewTeacherImage(cfg Config, p Painter, r Reasoner, d Drawer, enc Encoder) (*Engine, error) {
	e, err := New(cfg, p, r)
	if err != nil {
		return nil, err
	}
	e.drawer, e.encoder = d, enc
	return e, nil
}

// runTeacherImage produces one trajectory on the teacher-image route.
func (e *Engine) runTeacherImage(ctx context.Context, t *schema.Trajectory, seed schema.Seed) error {
	cfg, sched := e.cfg, e.sched
	K := int(sched.K)
	r := run{e: e, t: t, seed: seed}
	for k := range K {
		// The captions are all written before the image is drawn: no
		// canvas goes with them, and the template is told so (Image false).
		instr, err := e.think.Execute(thinkData(seed.Prompt, r.thoughts, k, K))
		if err != nil {
			return err
		}
		reply, err := e.reasoner.Think(ctx, ThinkRequest{
			Instruction: instr, Prompt: seed.Prompt, Previous: r.thoughts, Region: k, Regions: K,
			Temperature: cfg.ReasonTemperature, MaxTokens: cfg.ReasonMaxTokens, Seed: r.callSeed(RoleThink, k, 0, 0),
		})
		if err != nil {
			return fmt.Errorf("region %d: think: %w", k+1, err)
		}
		r.call(RoleThink, k, 0, reply.Model, reply.Usage)
		text := CleanThought(reply.Text)
		if text == "" {
			return fmt.Errorf("region %d: think: the teacher returned an empty caption", k+1)
		}
		thought := schema.Thought{Input: instr, Raw: reply.Text, Text: text, Usage: reply.Usage}
		if k > 0 {
			// The think_k sample of this band shows the canvas after band
			// k-1: its instruction is the one that goes with a canvas.
			d := thinkData(seed.Prompt, r.thoughts, k, K)
			d.Image = true
			if thought.SampleInput, err = e.think.Execute(d); err != nil {
				return err
			}
		}
		t.Regions = append(t.Regions, schema.Region{Index: int32(k), Thought: thought})
		r.thoughts = append(r.thoughts, text)
	}
	drawSeed := r.callSeed(RoleDraw, 0, 0, 0)
	drawPrompt, err := e.draw.Execute(drawData(seed.Prompt, r.thoughts, cfg.ImageSize))
	if err != nil {
		return err
	}
	drawn, err := e.drawer.Draw(ctx, DrawRequest{Prompt: drawPrompt, Captions: slices.Clone(r.thoughts), Size: cfg.ImageSize, Seed: drawSeed})
	if err != nil {
		return fmt.Errorf("draw: %w", err)
	}
	r.call(RoleDraw, 0, 0, drawn.Model, schema.Usage{})
	tokens, err := e.encoder.Encode(ctx, drawn.PNG)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if len(tokens) != int(sched.NumTokens) {
		return fmt.Errorf("encode: got %d tokens, want %d", len(tokens), sched.NumTokens)
	}
	r.call(RoleEncode, 0, 0, "", schema.Usage{})
	grid := make([]int32, len(tokens))
	var canvas []byte
	for k := range K {
		span := sched.Spans[k]
		copy(grid[span.Start:span.End], tokens[span.Start:span.End])
		dec, err := e.painter.Decode(ctx, grid)
		if err != nil {
			return fmt.Errorf("region %d: decode: %w", k+1, err)
		}
		r.call(RoleDecode, k, 0, dec.Model, schema.Usage{})
		canvas = dec.PNG
		crit, err := r.critiqueAttempt(ctx, k, 0, r.thoughts[:k+1], canvas)
		if err != nil {
			return fmt.Errorf("region %d: %w", k+1, err)
		}
		at := schema.Attempt{
			Thought: r.thoughts[k], Prefix: strings.Join(r.thoughts[:k+1], " "), Seed: drawSeed,
			Tokens:    append([]int32(nil), tokens[span.Start:span.End]...),
			Canvas:    schema.Image{Bytes: canvas, Path: canvasPath(seed.ID, k, 0)},
			Critiqued: true, Critique: crit,
		}
		switch {
		case crit.Parse != schema.ParseOK && cfg.OnParseFailure == OnParseFailureAccept:
			at.Decision = schema.DecisionAccept
		case crit.Parse != schema.ParseOK:
			at.Decision = schema.DecisionParseFailed
		case cfg.accepts(int(*crit.Score)):
			at.Decision = schema.DecisionAccept
		default:
			at.Decision = schema.DecisionKeepLimit // this route never repaints
		}
		t.Regions[k].Attempts = []schema.Attempt{at}
		t.Regions[k].Status = regionStatus(t.Regions[k].Attempts)
	}
	t.FinalTokens = tokens
	t.FinalImage = schema.Image{Bytes: canvas, Path: seed.ID + "/final.png"}
	return nil
}
