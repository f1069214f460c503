package teacher

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
)

// stubDrawer draws a 1x1 image.
type stubDrawer struct{}

func (stubDrawer) Draw(context.Context, inference.DrawRequest) (inference.DrawResponse, error) {
	return inference.DrawResponse{PNG: []byte{1}, Model: "stub"}, nil
}

// imageResponse is OpenAI's images response holding img as b64_json.
func imageResponse(img []byte) map[string]any {
	return map[string]any{
		"created": 1700000000,
		"data":    []any{map[string]any{"b64_json": base64.StdEncoding.EncodeToString(img)}},
		"usage":   map[string]any{"total_tokens": 4200, "input_tokens": 50, "output_tokens": 4150},
	}
}

func TestDraw(t *testing.T) {
	tests := []struct {
		name           string
		model          string
		size           int
		wantFormat     string // response_format sent; "" for none
		wantOutFormat  string
		wantW, wantH   int
		srcW, srcH     int
		wantResizedRGB color.RGBA
	}{
		{name: "gpt-image-1, downscaled", model: "gpt-image-1", size: 32, wantOutFormat: "png", srcW: 64, srcH: 64, wantW: 32, wantH: 32},
		{name: "dall-e-3, cropped", model: "dall-e-3", size: 24, wantFormat: "b64_json", srcW: 96, srcH: 48, wantW: 24, wantH: 24},
		{name: "size 0 keeps the image", model: "dall-e-2", size: 0, wantFormat: "b64_json", srcW: 20, srcH: 10, wantW: 20, wantH: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := testPNG(t, tt.srcW, tt.srcH, color.RGBA{10, 120, 230, 255})
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				writeJSON(w, http.StatusOK, imageResponse(src))
			})
			d, err := NewDrawer(DrawerConfig{BaseURL: f.URL(), Model: tt.model, APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Draw(context.Background(), inference.DrawRequest{Prompt: "A calm sky. A red apple. A wooden table.", Size: tt.size, Seed: 7})
			if err != nil {
				t.Fatalf("Draw: %v", err)
			}
			if got.Model != tt.model {
				t.Errorf("Model = %q, want %q", got.Model, tt.model)
			}
			img, err := png.Decode(bytes.NewReader(got.PNG))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Errorf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
			if r, g, b, _ := img.At(tt.wantW/2, tt.wantH/2).RGBA(); r>>8 != 10 || g>>8 != 120 || b>>8 != 230 {
				t.Errorf("centre pixel = %d,%d,%d, want 10,120,230", r>>8, g>>8, b>>8)
			}
			h := f.Hits()[0]
			if h.path != "/v1/images/generations" || h.auth != "Bearer "+testKey {
				t.Errorf("request to %s with %q, want /v1/images/generations with the key", h.path, h.auth)
			}
			r := h.req
			if r.Model != tt.model || r.Prompt != "A calm sky. A red apple. A wooden table." || r.N != 1 || r.Size != "1024x1024" {
				t.Errorf("request = %s", h.body)
			}
			gotFormat := ""
			if r.ResponseFormat != nil {
				gotFormat = *r.ResponseFormat
			}
			if gotFormat != tt.wantFormat || r.OutputFormat != tt.wantOutFormat {
				t.Errorf("response_format %q output_format %q, want %q %q", gotFormat, r.OutputFormat, tt.wantFormat, tt.wantOutFormat)
			}
		})
	}
}

func TestDrawFailures(t *testing.T) {
	tests := []struct {
		name    string
		answer  map[string]any
		wantErr string
	}{
		{name: "no data", answer: map[string]any{"created": 1, "data": []any{}}, wantErr: "draw dall-e-3 at URL: empty reply: no choices"},
		{name: "URL only", answer: map[string]any{"created": 1, "data": []any{map[string]any{"url": "https://example.com/x.png"}}},
			wantErr: "draw dall-e-3 at URL: the server answered a URL, not b64_json"},
		{name: "not an image", answer: map[string]any{"created": 1, "data": []any{map[string]any{"b64_json": base64.StdEncoding.EncodeToString([]byte("hello"))}}},
			wantErr: "draw dall-e-3 at URL: image: image: unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				writeJSON(w, http.StatusOK, tt.answer)
			})
			d, _ := NewDrawer(DrawerConfig{BaseURL: f.URL(), Model: "dall-e-3"})
			_, err := d.Draw(context.Background(), inference.DrawRequest{Prompt: "x", Size: 16})
			if want := strings.Replace(tt.wantErr, "URL", f.URL(), 1); err == nil || err.Error() != want {
				t.Errorf("err = %v, want %q", err, want)
			}
		})
	}
}

// TestDrawWrappers: a 503, then a drawn image, through the retry and
// limit wrappers.
func TestDrawWrappers(t *testing.T) {
	src := testPNG(t, 16, 16, color.White)
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int, _ wireRequest) {
		if n == 0 {
			w.Header().Set("Retry-After", "0")
			writeAPIError(w, http.StatusServiceUnavailable, "server_error", "busy")
			return
		}
		writeJSON(w, http.StatusOK, imageResponse(src))
	})
	dr, err := NewDrawer(DrawerConfig{BaseURL: f.URL(), Model: "gpt-image-1", APIKey: testKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := &Budget{Prices: Prices{PerImage: 0.04}}
	var d inference.Drawer = NewLimitDrawer(dr, NewLimiter(Limits{Requests: 5, MaxConcurrent: 1}))
	d = NewBudgetDrawer(NewRetryDrawer(d, fastRetry), b)
	got, err := d.Draw(context.Background(), inference.DrawRequest{Prompt: "x", Size: 16})
	if err != nil {
		t.Fatalf("Draw: %v", err)
	}
	if len(got.PNG) == 0 || len(f.Hits()) != 2 {
		t.Errorf("got %d bytes after %d requests, want an image after 2", len(got.PNG), len(f.Hits()))
	}
	if s := b.Spent(); s.Images != 1 || s.Dollars != 0.04 {
		t.Errorf("Spent = %+v, want 1 image for $0.04", s)
	}
	var e *Error
	f2 := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "Your request was rejected by the safety system.")
	})
	dr2, _ := NewDrawer(DrawerConfig{BaseURL: f2.URL(), Model: "gpt-image-1", APIKey: testKey})
	if _, err := NewRetryDrawer(dr2, fastRetry).Draw(context.Background(), inference.DrawRequest{Prompt: "x"}); !errors.As(err, &e) || e.StatusCode != 400 || e.Op != "draw" {
		t.Errorf("err = %v, want a 400 *Error of op draw", err)
	}
	if n := len(f2.Hits()); n != 1 {
		t.Errorf("a 400 was sent %d times, want 1", n)
	}
}

func TestSquareResize(t *testing.T) {
	// Left half black, right half white: a box filter gives grey only at
	// the seam.
	src := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			if x >= 4 {
				src.Set(x, y, color.White)
			} else {
				src.Set(x, y, color.Black)
			}
		}
	}
	tests := []struct {
		size int
		want []uint8 // the first row's red values
	}{
		{size: 4, want: []uint8{0, 0, 255, 255}},
		{size: 2, want: []uint8{0, 255}},
		{size: 16, want: []uint8{0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255}},
		{size: 3, want: []uint8{0, 85, 255}},
	}
	for _, tt := range tests {
		got := squareResize(src, tt.size)
		if b := got.Bounds(); b.Dx() != tt.size || b.Dy() != tt.size {
			t.Errorf("size %d: got %v", tt.size, b)
			continue
		}
		var row []uint8
		for x := range tt.size {
			r, _, _, _ := got.At(x, 0).RGBA()
			row = append(row, uint8(r>>8))
		}
		if string(row) != string(tt.want) {
			t.Errorf("size %d: first row %v, want %v", tt.size, row, tt.want)
		}
	}
}
