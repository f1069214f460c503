package sim

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
)

// Default geometry: Janus-Pro's 384 px images in 16 px patches.
const (
	DefaultImageSize = 384
	DefaultPatchSize = 16
)

// Geometry is the canvas: square images of ImageSize pixels cut into
// PatchSize patches, one token per patch in raster order. A zero field
// takes its default.
type Geometry struct {
	ImageSize int `json:"image_size"`
	PatchSize int `json:"patch_size"`
}

// DefaultGeometry returns 384 px in 16 px patches: a 24x24 grid of 576 tokens.
func DefaultGeometry() Geometry {
	return Geometry{ImageSize: DefaultImageSize, PatchSize: DefaultPatchSize}
}

func (g Geometry) withDefaults() Geometry {
	if g.ImageSize == 0 {
		g.ImageSize = DefaultImageSize
	}
	if g.PatchSize == 0 {
		g.PatchSize = DefaultPatchSize
	}
	return g
}

// Validate reports whether the mark pattern fits: the patch size must be a
// positive multiple of 4 and the image size a positive multiple of it.
func (g Geometry) Validate() error {
	g = g.withDefaults()
	switch {
	case g.PatchSize < cellsPerSide || g.PatchSize%cellsPerSide != 0:
		return fmt.Errorf("geometry: patch size %d must be a positive multiple of %d", g.PatchSize, cellsPerSide)
	case g.ImageSize < g.PatchSize || g.ImageSize%g.PatchSize != 0:
		return fmt.Errorf("geometry: image size %d must be a positive multiple of patch size %d", g.ImageSize, g.PatchSize)
	}
	return nil
}

// Grid is the number of token rows (and columns).
func (g Geometry) Grid() int {
	g = g.withDefaults()
	return g.ImageSize / g.PatchSize
}

// Tokens is the number of tokens of a full canvas.
func (g Geometry) Tokens() int { return g.Grid() * g.Grid() }

// BandRows returns the token rows [start, end) of band k of K: K equal
// bands of Grid()/K rows, the last band taking the remainder, as
// inference.EqualBands does.
func (g Geometry) BandRows(k, K int) (start, end int) {
	per := g.Grid() / K
	start = k * per
	end = start + per
	if k == K-1 {
		end = g.Grid()
	}
	return start, end
}

// ErrNotCanvas is returned, wrapped, by Encode for an image that is not a
// rendering of codebook tokens.
var ErrNotCanvas = errors.New("not a codebook canvas")

// Render draws a full token grid as a PNG: every token becomes one patch,
// its fill from the class and colour fields, its marked cells from the
// class and attribute bits. The bytes depend only on the tokens.
func (g Geometry) Render(tokens []int32) ([]byte, error) {
	g = g.withDefaults()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if len(tokens) != g.Tokens() {
		return nil, fmt.Errorf("render: got %d tokens, want %d (a %dx%d grid)", len(tokens), g.Tokens(), g.Grid(), g.Grid())
	}
	for i, id := range tokens {
		if !Valid(id) {
			return nil, fmt.Errorf("render: token %d at position %d is outside the codebook [0,%d)", id, i, CodebookSize)
		}
	}
	// A paletted image when the canvas has at most 256 colours (it
	// usually has a few dozen): faster to compress and smaller than RGB.
	index := map[rgb]uint8{}
	var palette color.Palette
	for _, id := range tokens {
		t := Split(id)
		fill := fills[t.Class][t.Colour]
		for _, c := range []rgb{fill, markOf(fill)} {
			if _, ok := index[c]; !ok && len(palette) <= 256 {
				index[c] = uint8(len(palette))
				palette = append(palette, color.RGBA{c[0], c[1], c[2], 255})
			}
			if marks(t) == 0 {
				break
			}
		}
	}
	rect := image.Rect(0, 0, g.ImageSize, g.ImageSize)
	var img image.Image
	var set func(x, y int, c rgb)
	if len(palette) <= 256 {
		pi := image.NewPaletted(rect, palette)
		img, set = pi, func(x, y int, c rgb) { pi.Pix[y*pi.Stride+x] = index[c] }
	} else {
		ri := image.NewRGBA(rect)
		img, set = ri, func(x, y int, c rgb) {
			o := y*ri.Stride + x*4
			ri.Pix[o], ri.Pix[o+1], ri.Pix[o+2], ri.Pix[o+3] = c[0], c[1], c[2], 255
		}
	}
	grid, ps, cell := g.Grid(), g.PatchSize, g.PatchSize/cellsPerSide
	for i, id := range tokens {
		t := Split(id)
		fill := fills[t.Class][t.Colour]
		mark := markOf(fill)
		bits := marks(t)
		px, py := (i%grid)*ps, (i/grid)*ps
		for y := range ps {
			for x := range ps {
				c := fill
				if bits&(1<<((y/cell)*cellsPerSide+x/cell)) != 0 {
					c = mark
				}
				set(px+x, py+y, c)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return b.Bytes(), nil
}

// Encode is the inverse of Render, the simulator's VQ encoder: it reads
// the tokens back from a PNG of the geometry's size. Any image that Render
// could not have drawn is an error wrapping ErrNotCanvas.
func (g Geometry) Encode(pngBytes []byte) ([]int32, error) {
	g = g.withDefaults()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	src, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return nil, fmt.Errorf("encode: %w: %w", ErrNotCanvas, err)
	}
	b := src.Bounds()
	if b.Dx() != g.ImageSize || b.Dy() != g.ImageSize {
		return nil, fmt.Errorf("encode: %w: image is %dx%d, want %dx%d", ErrNotCanvas, b.Dx(), b.Dy(), g.ImageSize, g.ImageSize)
	}
	var pixel func(x, y int) rgb
	switch img := src.(type) {
	case *image.Paletted:
		if !img.Opaque() {
			return nil, fmt.Errorf("encode: %w: image has transparent pixels", ErrNotCanvas)
		}
		pal := make([]rgb, len(img.Palette))
		for i, c := range img.Palette {
			r, g, b, _ := c.RGBA()
			pal[i] = rgb{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
		}
		pixel = func(x, y int) rgb {
			i := int(img.Pix[y*img.Stride+x])
			if i >= len(pal) {
				return rgb{} // an index past the palette decodes as black, as image.Paletted.At does
			}
			return pal[i]
		}
	default:
		rgba, ok := src.(*image.RGBA)
		if !ok || b.Min != (image.Point{}) {
			rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
		}
		if !rgba.Opaque() {
			return nil, fmt.Errorf("encode: %w: image has transparent pixels", ErrNotCanvas)
		}
		pixel = func(x, y int) rgb {
			o := y*rgba.Stride + x*4
			return rgb{rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2]}
		}
	}
	grid, ps, cell := g.Grid(), g.PatchSize, g.PatchSize/cellsPerSide
	tokens := make([]int32, g.Tokens())
	for i := range tokens {
		px, py := (i%grid)*ps, (i/grid)*ps
		at := func(x, y int) rgb { return pixel(px+x, py+y) }
		fill := at(ps-1, ps-1)
		mark := markOf(fill)
		var set uint16
		for c := range cellsPerSide * cellsPerSide {
			cx, cy := (c%cellsPerSide)*cell, (c/cellsPerSide)*cell
			want := at(cx, cy)
			switch want {
			case fill:
			case mark:
				set |= 1 << c
			default:
				return nil, patchError(i, grid)
			}
			for y := cy; y < cy+cell; y++ {
				for x := cx; x < cx+cell; x++ {
					if at(x, y) != want {
						return nil, patchError(i, grid)
					}
				}
			}
		}
		if set>>usedCells != 0 {
			return nil, patchError(i, grid)
		}
		t := Token{Class: int(set>>classCell) & MaxClass, Attribute: int(set>>attributeCell) & MaxAttribute}
		colour := -1
		for c, f := range fills[t.Class] {
			if f == fill {
				colour = c
				break
			}
		}
		if colour < 0 {
			return nil, patchError(i, grid)
		}
		t.Colour = colour
		tokens[i] = t.ID()
	}
	return tokens, nil
}

func patchError(i, grid int) error {
	return fmt.Errorf("encode: %w: patch at row %d, column %d is not a codebook patch", ErrNotCanvas, i/grid, i%grid)
}
