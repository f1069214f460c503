package sim

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"slices"
	"sync"
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
	// A paletted image: a canvas has at most 16 tones + 15 named colours +
	// 63 natural colours, and a mark colour for each, so at most 188
	// colours; faster to compress and smaller than RGB.
	index := map[rgb]uint8{}
	var palette color.Palette
	idx := func(c rgb) uint8 {
		i, ok := index[c]
		if !ok {
			i = uint8(len(palette))
			index[c] = i
			palette = append(palette, color.RGBA{c[0], c[1], c[2], 255})
		}
		return i
	}
	pix, _ := pixPool.Get().(*[]byte)
	if pix == nil {
		pix = new([]byte)
	}
	defer pixPool.Put(pix)
	if n := g.ImageSize * g.ImageSize; cap(*pix) < n {
		*pix = make([]byte, n)
	} else {
		*pix = (*pix)[:n] // every pixel is written below
	}
	img := &image.Paletted{Pix: *pix, Stride: g.ImageSize, Rect: image.Rect(0, 0, g.ImageSize, g.ImageSize)}
	grid, ps, cell := g.Grid(), g.PatchSize, g.PatchSize/cellsPerSide
	for i, id := range tokens {
		t := Split(id)
		fill := fills[t.Class][t.Colour]
		bits := marks(t)
		var ci [2]uint8
		ci[0] = idx(fill)
		if bits != 0 {
			ci[1] = idx(markOf(fill))
		}
		px, py := (i%grid)*ps, (i/grid)*ps
		for y := range ps {
			row := img.Pix[(py+y)*img.Stride+px : (py+y)*img.Stride+px+ps]
			for cx := range cellsPerSide {
				c := ci[bits>>((y/cell)*cellsPerSide+cx)&1]
				for x := cx * cell; x < (cx+1)*cell; x++ {
					row[x] = c
				}
			}
		}
	}
	if len(palette) > 256 {
		// Cannot happen with the codebook's colours (see TestFillsDistinct).
		return nil, fmt.Errorf("render: %d colours do not fit a palette", len(palette))
	}
	img.Palette = palette
	var b bytes.Buffer
	if err := pngEncoder.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return b.Bytes(), nil
}

// pngEncoder reuses its compressor between images (the default encoder
// allocates a ~1 MB deflate state per image, which adds up with many
// trajectories in flight); its output is the same as png.Encode's.
var pngEncoder = png.Encoder{BufferPool: &encoderPool{}}

type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b
}

func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

// pixPool holds the pixel buffers of canvases being rendered.
var pixPool sync.Pool

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
	// Number the image's colours: ids[p] is pixel p's colour in colours.
	var ids []uint8
	var colours []rgb
	switch img := src.(type) {
	case *image.Paletted:
		if !img.Opaque() {
			return nil, fmt.Errorf("encode: %w: image has transparent pixels", ErrNotCanvas)
		}
		// Map palette entries to their first equal entry.
		canon := make([]uint8, 256)
		for i, c := range img.Palette {
			r, g, b, _ := c.RGBA()
			v := rgb{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
			j := slices.Index(colours, v)
			if j < 0 {
				j = len(colours)
				colours = append(colours, v)
			}
			canon[i] = uint8(j)
		}
		ids = make([]uint8, len(img.Pix))
		for i, v := range img.Pix {
			if int(v) >= len(img.Palette) {
				return nil, fmt.Errorf("encode: %w: pixel outside the palette", ErrNotCanvas)
			}
			ids[i] = canon[v]
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
		index := map[rgb]uint8{}
		ids = make([]uint8, g.ImageSize*g.ImageSize)
		var last rgb
		lastID := -1
		for y := range g.ImageSize {
			for x := range g.ImageSize {
				o := y*rgba.Stride + x*4
				v := rgb{rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2]}
				if v != last || lastID < 0 {
					id, ok := index[v]
					if !ok {
						if len(colours) == 256 {
							return nil, fmt.Errorf("encode: %w: more than 256 colours", ErrNotCanvas)
						}
						id = uint8(len(colours))
						index[v] = id
						colours = append(colours, v)
					}
					last, lastID = v, int(id)
				}
				ids[y*g.ImageSize+x] = uint8(lastID)
			}
		}
	}
	grid, ps, cell, w := g.Grid(), g.PatchSize, g.PatchSize/cellsPerSide, g.ImageSize
	tokens := make([]int32, g.Tokens())
	for i := range tokens {
		px, py := (i%grid)*ps, (i/grid)*ps
		fillID := ids[(py+ps-1)*w+px+ps-1]
		fill := colours[fillID]
		mark := markOf(fill)
		var set uint16
		for c := range cellsPerSide * cellsPerSide {
			cx, cy := px+(c%cellsPerSide)*cell, py+(c/cellsPerSide)*cell
			want := ids[cy*w+cx]
			switch colours[want] {
			case fill:
			case mark:
				set |= 1 << c
			default:
				return nil, patchError(i, grid)
			}
			for y := cy; y < cy+cell; y++ {
				for _, v := range ids[y*w+cx : y*w+cx+cell] {
					if v != want {
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
