package workertest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"net/http"
	"slices"
	"testing"

	"github.com/twigdata/twig/inference/worker"
)

// wireDecode is a decode answer as sent. The PNG is a base64 string.
type wireDecode struct {
	PNG   *string `json:"png"`
	Model *string `json:"model"`
}

// decodeOK renders a full grid and returns the PNG, or nil after reporting
// what is wrong with the answer.
func (s *suite) decodeOK(t testing.TB, name string, tokens []int32) []byte {
	t.Helper()
	where := fmt.Sprintf("POST %s (%s)", worker.PathDecode, name)
	a := s.callOK(t, http.MethodPost, worker.PathDecode, worker.DecodeRequest{Tokens: tokens})
	var d wireDecode
	if !wantOK(t, where, a, &d) {
		return nil
	}
	if d.Model == nil || *d.Model != s.modelID {
		t.Errorf("%s: model %s, want %q", where, ptrString(d.Model), s.modelID)
	}
	if d.PNG == nil {
		t.Errorf("%s = %s: no png", where, a)
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(*d.PNG)
	if err != nil {
		t.Errorf("%s: png is not standard base64: %v", where, err)
		return nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	switch {
	case err != nil:
		t.Errorf("%s: png does not decode: %v", where, err)
		return nil
	case format != "png":
		t.Errorf("%s: png is a %s image", where, format)
		return nil
	case cfg.Width != s.info.ImageSize || cfg.Height != s.info.ImageSize:
		t.Errorf("%s: image is %dx%d, want %dx%d (image_size)", where, cfg.Width, cfg.Height, s.info.ImageSize, s.info.ImageSize)
		return nil
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("%s: png does not decode: %v", where, err)
		return nil
	}
	return b
}

// testDecode checks POST /v1/decode.
func (s *suite) testDecode(t *testing.T) {
	all, cb := s.grid*s.grid, s.info.CodebookSize
	painted := s.generateOK(t, "a whole grid to decode", s.generateBody("A green train under a blue sky.", nil, all, 99))
	if painted == nil {
		t.FailNow()
	}
	partial := make([]int32, all)
	copy(partial, painted[:s.grid])
	s.run(t, "Valid", func(t *testing.T) {
		tests := []struct {
			name   string
			tokens []int32
		}{
			{"placeholders only", make([]int32, all)},
			{"one painted row, placeholders after", partial},
			{"painted grid", painted},
			{"every id", func() []int32 {
				g := make([]int32, all)
				for i := range g {
					g[i] = int32(i % cb)
				}
				return g
			}()},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				first := s.decodeOK(t, tt.name, tt.tokens)
				if again := s.decodeOK(t, tt.name+", again", tt.tokens); first != nil && again != nil && !bytes.Equal(first, again) {
					t.Errorf("POST %s (%s): the same grid rendered as two different PNGs", worker.PathDecode, tt.name)
				}
			})
		}
	})
	s.run(t, "Invalid", func(t *testing.T) {
		with := func(i int, id int32) []int32 {
			g := slices.Clone(painted)
			g[i] = id
			return g
		}
		tests := []struct {
			name string
			body any
		}{
			{"not JSON", `{"tokens": [`},
			{"JSON array", `[0, 0]`},
			{"tokens missing", `{}`},
			{"tokens a string", `{"tokens": "0 0 0"}`},
			{"no tokens", worker.DecodeRequest{Tokens: []int32{}}},
			{"one token short", worker.DecodeRequest{Tokens: painted[:all-1]}},
			{"one token too many", worker.DecodeRequest{Tokens: append(slices.Clone(painted), 1)}},
			{"token at codebook_size", worker.DecodeRequest{Tokens: with(all/2, int32(cb))}},
			{"negative token", worker.DecodeRequest{Tokens: with(all-1, -1)}},
			{"fractional token", body{"tokens": func() []any {
				g := make([]any, all)
				for i := range g {
					g[i] = 1
				}
				g[all-1] = 0.5
				return g
			}()}},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				where := fmt.Sprintf("POST %s (%s)", worker.PathDecode, tt.name)
				wantBadRequest(t, where, s.call(t, http.MethodPost, worker.PathDecode, tt.body))
			})
		}
	})
}

// encodeOK tokenises a PNG and returns the grid, or nil after reporting
// what is wrong with the answer: grid*grid ids inside the codebook and
// the model of /v1/info.
func (s *suite) encodeOK(t testing.TB, name string, pngBytes []byte) []int32 {
	t.Helper()
	where := fmt.Sprintf("POST %s (%s)", worker.PathEncode, name)
	return s.checkEncode(t, where, s.callOK(t, http.MethodPost, worker.PathEncode, worker.EncodeRequest{PNG: pngBytes}))
}

func (s *suite) checkEncode(t testing.TB, where string, a answer) []int32 {
	t.Helper()
	var e struct {
		Tokens *[]int64 `json:"tokens"`
		Model  *string  `json:"model"`
	}
	if !wantOK(t, where, a, &e) {
		return nil
	}
	if e.Model == nil || *e.Model != s.modelID {
		t.Errorf("%s: model %s, want %q", where, ptrString(e.Model), s.modelID)
	}
	if e.Tokens == nil || len(*e.Tokens) != s.grid*s.grid {
		t.Errorf("%s = %s: want tokens, the full grid of %d", where, a, s.grid*s.grid)
		return nil
	}
	return s.codebookTokens(t, where, *e.Tokens)
}

// testEncode checks POST /v1/encode. The images are the server's own
// renderings, which a simulator can read back, and resized copies of them.
func (s *suite) testEncode(t *testing.T) {
	all := s.grid * s.grid
	painted := s.generateOK(t, "a whole grid to encode", s.generateBody("A yellow kite over a beach.", nil, all, 5))
	if painted == nil {
		t.FailNow()
	}
	canvas := s.decodeOK(t, "a canvas to encode", painted)
	if canvas == nil {
		t.FailNow()
	}
	big := upscale(t, canvas, 2)
	s.run(t, "Valid", func(t *testing.T) {
		tests := []struct {
			name string
			png  []byte
		}{
			{"decoded canvas", canvas},
			// The protocol resizes images to the model's size.
			{"canvas at twice the size", big},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				// The JSON body holds the PNG in base64: 4/3 of its size.
				if lim := s.h.MaxBodyBytes; lim > 0 && int64(len(tt.png))*4/3+64 > lim {
					t.Skipf("a PNG of %d bytes does not fit the body limit of %d bytes", len(tt.png), lim)
				}
				first := s.encodeOK(t, tt.name, tt.png)
				if again := s.encodeOK(t, tt.name+", again", tt.png); first != nil && again != nil && !slices.Equal(first, again) {
					t.Errorf("POST %s (%s): the same image encoded as %v, then %v", worker.PathEncode, tt.name, first, again)
				}
			})
		}
	})
	s.run(t, "Invalid", func(t *testing.T) {
		tests := []struct {
			name string
			body any
		}{
			{"not JSON", `{"png": "`},
			{"JSON array", `["iVBORw0KGgo="]`},
			{"png missing", `{}`},
			{"png a number", `{"png": 5}`},
			{"png empty", `{"png": ""}`},
			{"png not base64", `{"png": "this is not base64!"}`},
			{"png not an image", worker.EncodeRequest{PNG: []byte("plain text, not an image")}},
			{"png cut short", worker.EncodeRequest{PNG: canvas[:len(canvas)/2]}},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				where := fmt.Sprintf("POST %s (%s)", worker.PathEncode, tt.name)
				wantBadRequest(t, where, s.call(t, http.MethodPost, worker.PathEncode, tt.body))
			})
		}
	})
	s.run(t, "EitherWay", func(t *testing.T) {
		// The field is documented as a PNG; a server may read other
		// formats too, or refuse them.
		img, err := png.Decode(bytes.NewReader(canvas))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := gif.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		where := fmt.Sprintf("POST %s (a GIF)", worker.PathEncode)
		a := s.callOK(t, http.MethodPost, worker.PathEncode, worker.EncodeRequest{PNG: buf.Bytes()})
		if isBadRequest(a) {
			if wantBadRequest(t, where, a) {
				t.Logf("%s: refused: %s", where, a)
			}
			return
		}
		if s.checkEncode(t, where, a) != nil {
			t.Logf("%s: answered", where)
		}
	})
}

// upscale returns the PNG scaled by an integer factor, nearest neighbour.
func upscale(t testing.TB, pngBytes []byte, f int) []byte {
	t.Helper()
	src, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("upscale: %v", err)
	}
	b := src.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx()*f, b.Dy()*f))
	for y := range dst.Rect.Dy() {
		for x := range dst.Rect.Dx() {
			dst.Set(x, y, src.At(b.Min.X+x/f, b.Min.Y+y/f))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		t.Fatalf("upscale: %v", err)
	}
	return buf.Bytes()
}

// codebookTokens returns ids as tokens, or nil after reporting the first
// one outside the worker's codebook.
func (s *suite) codebookTokens(t testing.TB, where string, ids []int64) []int32 {
	t.Helper()
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(s.info.CodebookSize) {
			t.Errorf("%s: token %d is %d, outside the codebook [0,%d)", where, i, id, s.info.CodebookSize)
			return nil
		}
		out[i] = int32(id)
	}
	return out
}
