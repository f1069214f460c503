package filters

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Canvas checks the finished canvas:
//
//   - FinalTokens has Schedule.NumTokens tokens;
//   - no position is left unfilled: a position holding the Placeholder
//     token counts as unfilled unless the kept attempt of its region
//     generated that token there (token 0 is also a real codebook entry);
//     when the kept attempt carries no tokens, every placeholder counts;
//   - each region's tokens in FinalTokens are those of its kept attempt;
//   - FinalImage decodes as a PNG of Schedule.ImageSize by ImageSize;
//   - no region is a blank band: the pixel rows under each region's span
//     (its token rows times PatchSize) are not near-uniform, that is, some
//     colour channel has a standard deviation of at least MinStdDev (on the
//     0..255 scale).
//
// Its score is the share of regions with no problem, or 0 when the
// image or the token count is wrong as a whole; it passes iff there is
// no problem at all.
type Canvas struct {
	// Placeholder is the token that marks a position not generated yet.
	Placeholder int32 `json:"placeholder"`
	// MinStdDev is the smallest per-channel standard deviation (0..255) a
	// region's band must reach in some channel not to count as blank.
	MinStdDev float64 `json:"min_std_dev"`
}

// NewCanvas returns the judge with its defaults: placeholder token 0 (as
// the reference loop renders not-yet-generated positions) and MinStdDev 2.
func NewCanvas() *Canvas { return &Canvas{Placeholder: 0, MinStdDev: 2} }

var _ Judge = (*Canvas)(nil)

// Name returns "canvas_sanity".
func (*Canvas) Name() string { return JudgeCanvas }

// Version returns the judge's version.
func (*Canvas) Version() string { return "1" }

// Judge implements Judge.
func (c *Canvas) Judge(_ context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	s := t.Schedule
	var global []string
	if int32(len(t.FinalTokens)) != s.NumTokens {
		global = append(global, fmt.Sprintf("final tokens: %d, want %d", len(t.FinalTokens), s.NumTokens))
	}
	img, err := png.Decode(bytes.NewReader(t.FinalImage.Bytes))
	switch {
	case err != nil:
		global = append(global, fmt.Sprintf("final image does not decode as PNG: %v", err))
		img = nil
	case img.Bounds().Dx() != int(s.ImageSize) || img.Bounds().Dy() != int(s.ImageSize):
		global = append(global, fmt.Sprintf("final image is %dx%d, want %dx%d",
			img.Bounds().Dx(), img.Bounds().Dy(), s.ImageSize, s.ImageSize))
		img = nil
	}
	var problems []string
	fine := 0
	for k, span := range s.Spans {
		var region *schema.Region
		if k < len(t.Regions) {
			region = &t.Regions[k]
		}
		p := c.regionProblems(t, span, region, img)
		if len(p) == 0 {
			fine++
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: %s", regionLabel(k), strings.Join(p, ", ")))
	}
	res := schema.JudgeResult{Score: 1, Pass: true, Reason: fmt.Sprintf("all %d regions complete and not blank", len(s.Spans))}
	if len(s.Spans) > 0 {
		res.Score = float64(fine) / float64(len(s.Spans))
	}
	if len(global) > 0 {
		res.Score = 0
	}
	if all := append(global, problems...); len(all) > 0 {
		res.Pass = false
		res.Reason = strings.Join(all, "; ")
	}
	return res, nil
}

// regionProblems lists what is wrong with one region; img is nil when the
// final image could not be checked.
func (c *Canvas) regionProblems(t *schema.Trajectory, span schema.Span, r *schema.Region, img image.Image) []string {
	var out []string
	var kept []int32
	if r != nil && len(r.Attempts) > 0 {
		kept = r.Attempts[len(r.Attempts)-1].Tokens
	}
	n := int(span.End - span.Start)
	if span.Start < 0 || int(span.End) > len(t.FinalTokens) || n < 0 {
		return append(out, fmt.Sprintf("span [%d, %d) outside the final tokens", span.Start, span.End))
	}
	final := t.FinalTokens[span.Start:span.End]
	if len(kept) > 0 && len(kept) != n {
		out = append(out, fmt.Sprintf("kept attempt has %d tokens, want %d", len(kept), n))
		kept = nil
	}
	unfilled, differ := 0, 0
	for i, tok := range final {
		if kept != nil && tok != kept[i] {
			differ++
		}
		if tok == c.Placeholder && (kept == nil || kept[i] != c.Placeholder) {
			unfilled++
		}
	}
	if unfilled > 0 {
		out = append(out, fmt.Sprintf("%d placeholder tokens left", unfilled))
	}
	if differ > 0 {
		out = append(out, fmt.Sprintf("%d final tokens differ from the kept attempt", differ))
	}
	if img != nil && t.Schedule.GridSize > 0 {
		patch := int(t.Schedule.PatchSize)
		if patch <= 0 {
			patch = int(t.Schedule.ImageSize / t.Schedule.GridSize)
		}
		grid := int(t.Schedule.GridSize)
		b := img.Bounds()
		y0 := b.Min.Y + int(span.Start)/grid*patch
		y1 := min(b.Min.Y+(int(span.End)+grid-1)/grid*patch, b.Max.Y)
		if sd := maxChannelStdDev(img, image.Rect(b.Min.X, y0, b.Max.X, y1)); sd < c.MinStdDev {
			out = append(out, fmt.Sprintf("blank band (pixel rows %d-%d, std dev %.2f < %.2f)", y0-b.Min.Y, y1-b.Min.Y, sd, c.MinStdDev))
		}
	}
	return out
}

// maxChannelStdDev returns the largest of the R, G and B standard
// deviations (0..255 scale) of the pixels of img inside r; 0 for no pixel.
func maxChannelStdDev(img image.Image, r image.Rectangle) float64 {
	r = r.Intersect(img.Bounds())
	if r.Empty() {
		return 0
	}
	var sum, sq [3]float64
	add := func(v [3]uint32) {
		for i, x := range v {
			f := float64(x)
			sum[i] += f
			sq[i] += f * f
		}
	}
	switch m := img.(type) {
	case *image.RGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):m.PixOffset(r.Max.X, y)]
			for i := 0; i+2 < len(row); i += 4 {
				add([3]uint32{uint32(row[i]), uint32(row[i+1]), uint32(row[i+2])})
			}
		}
	case *image.NRGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):m.PixOffset(r.Max.X, y)]
			for i := 0; i+2 < len(row); i += 4 {
				add([3]uint32{uint32(row[i]), uint32(row[i+1]), uint32(row[i+2])})
			}
		}
	default:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				add([3]uint32{cr >> 8, cg >> 8, cb >> 8})
			}
		}
	}
	n := float64(r.Dx() * r.Dy())
	best := 0.0
	for i := range sum {
		mean := sum[i] / n
		best = max(best, math.Sqrt(max(0, sq[i]/n-mean*mean)))
	}
	return best
}
