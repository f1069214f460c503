package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twigdata/twig/inference"
)

// DefaultDrawerModel is the model name the simulated image model reports.
const DefaultDrawerModel = "twig-sim-drawer-v1"

// Drawer simulates the teacher route's image model: it draws one image
// from captions joined into one prompt, painting the i-th of n sentences
// into the i-th of n equal bands with the simulated painter (mistakes
// included), and renders the result. With Encoder (the codebook's exact
// inverse) it serves the teacher-image route without a GPU or an API.
type Drawer struct {
	painter *Painter
}

var (
	_ inference.Drawer  = (*Drawer)(nil)
	_ inference.Encoder = (*Drawer)(nil)
)

// NewDrawer returns a drawer over a painter of the given configuration.
func NewDrawer(cfg PainterConfig) *Drawer { return &Drawer{painter: NewPainter(cfg)} }

// Draw implements inference.Drawer. The request's size must be the
// painter's image size.
func (d *Drawer) Draw(ctx context.Context, req inference.DrawRequest) (inference.DrawResponse, error) {
	g := d.painter.Geometry()
	if req.Size != g.ImageSize {
		return inference.DrawResponse{}, fmt.Errorf("sim draw: size %d, the simulator draws %d px", req.Size, g.ImageSize)
	}
	// The simulator paints from the captions the request was rendered
	// from; a bare prompt (no captions) is split into sentences instead.
	parts := slices.Clone(req.Captions)
	rest := strings.TrimSpace(req.Prompt)
	for len(req.Captions) == 0 && rest != "" {
		loc := sentenceEnd.FindStringIndex(rest)
		if loc == nil {
			parts = append(parts, rest)
			break
		}
		parts = append(parts, strings.TrimSpace(rest[:loc[1]]))
		rest = strings.TrimSpace(rest[loc[1]:])
	}
	if len(parts) == 0 {
		return inference.DrawResponse{}, fmt.Errorf("sim draw: empty prompt")
	}
	n := min(len(parts), g.Grid())
	tokens := make([]int32, 0, g.Tokens())
	for i := range n {
		start, end := g.BandRows(i, n)
		caption := parts[i]
		if i == n-1 {
			caption = strings.Join(parts[i:], " ")
		}
		gen, err := d.painter.Generate(ctx, inference.GenerateRequest{
			Prefix: caption, Prior: tokens, N: (end - start) * g.Grid(),
			CFG: 5, Temperature: 1, Seed: int64(hashOf(req.Seed, i) >> 1),
		})
		if err != nil {
			return inference.DrawResponse{}, fmt.Errorf("sim draw: band %d: %w", i, err)
		}
		tokens = append(tokens, gen.Tokens...)
	}
	png, err := g.Render(tokens)
	if err != nil {
		return inference.DrawResponse{}, fmt.Errorf("sim draw: %w", err)
	}
	return inference.DrawResponse{PNG: png, Model: DefaultDrawerModel}, nil
}

// Encode implements inference.Encoder: the codebook's exact inverse.
func (d *Drawer) Encode(_ context.Context, png []byte) ([]int32, error) {
	return d.painter.Geometry().Encode(png)
}
