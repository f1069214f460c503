package teacher

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // some servers answer JPEG
	"image/png"
	"log/slog"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/internal/redact"
)

// DrawerConfig configures a [Drawer]. Like [Config] it is
// JSON-serialisable, except APIKey.
type DrawerConfig struct {
	// BaseURL is the API root (default https://api.openai.com/v1).
	BaseURL string `json:"base_url,omitempty"`
	// Model is the image model, such as "gpt-image-1" or "dall-e-3".
	Model string `json:"model"`
	// APIKey is sent as a bearer token; never serialised.
	APIKey       string `json:"-"`
	Organization string `json:"organization,omitempty"`
	// Size is the size asked of the API (default "1024x1024", which
	// every OpenAI image model supports); the image is then resized to
	// the request's size.
	Size string `json:"size,omitempty"`
	// Quality is passed through when set ("low", "medium", "high" for GPT
	// Image models; "standard", "hd" for DALL-E 3).
	Quality string `json:"quality,omitempty"`
	// Timeout bounds one request (zero: DefaultDrawTimeout; negative:
	// only the caller's context).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// String describes the configuration without the API key.
func (c DrawerConfig) String() string {
	key := "none"
	if c.APIKey != "" {
		key = "set"
	}
	return fmt.Sprintf("teacher.DrawerConfig{BaseURL: %q, Model: %q, APIKey: %s, Size: %q}",
		redact.URL(c.BaseURL), c.Model, key, c.Size)
}

// GoString is String, so that %#v does not print the key either.
func (c DrawerConfig) GoString() string { return c.String() }

// LogValue keeps the key out of slog output.
func (c DrawerConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// DefaultDrawTimeout bounds one image request when DrawerConfig.Timeout
// is zero: image models take tens of seconds.
const DefaultDrawTimeout = 5 * time.Minute

// Drawer is an [inference.Drawer] backed by an OpenAI-compatible image
// generation endpoint (POST /images/generations), for the teacher-image
// route. Like [Client] it makes one request per call and never retries;
// wrap it in [RetryCompleter], [LimitCompleter] and [BudgetCompleter] (see
// [Wrap], or NewRetryDrawer and the like).
type Drawer struct {
	cfg     DrawerConfig
	caller  caller
	timeout time.Duration
}

var (
	_ inference.Drawer = (*Drawer)(nil)
	_ Completer        = (*Drawer)(nil)
)

// NewDrawer returns a drawer for cfg.
func NewDrawer(cfg DrawerConfig, opts ...Option) (*Drawer, error) {
	cl, err := newCaller(cfg.BaseURL, cfg.Model, cfg.APIKey, cfg.Organization, opts)
	if err != nil {
		return nil, err
	}
	if cfg.Size == "" {
		cfg.Size = openai.CreateImageSize1024x1024
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultDrawTimeout
	}
	return &Drawer{cfg: cfg, caller: cl, timeout: timeout}, nil
}

// Draw asks for one image of req.Prompt and returns it as a PNG of
// req.Size x req.Size pixels (centre-cropped to a square and resized when
// the API's size differs; req.Size 0 keeps it). The image APIs take no
// seed, so req.Seed is not sent and a redraw differs. It asks for
// response_format b64_json, except from GPT Image models, which always
// answer base64 and reject the parameter.
func (d *Drawer) Draw(ctx context.Context, req inference.DrawRequest) (inference.DrawResponse, error) {
	ir := openai.ImageRequest{Prompt: req.Prompt, Model: d.cfg.Model, N: 1, Size: d.cfg.Size, Quality: d.cfg.Quality}
	if gptImage(d.cfg.Model) {
		ir.OutputFormat = openai.CreateImageOutputFormatPNG
	} else {
		ir.ResponseFormat = openai.CreateImageResponseFormatB64JSON
	}
	var resp openai.ImageResponse
	err := d.caller.call(ctx, "draw", d.timeout, func(ctx context.Context) (err error) {
		resp, err = d.caller.api.CreateImage(ctx, ir)
		return err
	})
	if err != nil {
		return inference.DrawResponse{}, err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("draw %s at %s: %s", d.cfg.Model, d.caller.endpoint, fmt.Sprintf(format, args...))
	}
	if len(resp.Data) > 0 && resp.Data[0].B64JSON == "" && resp.Data[0].URL != "" {
		return inference.DrawResponse{}, fail("the server answered a URL, not b64_json")
	}
	if len(resp.Data) == 0 || resp.Data[0].B64JSON == "" {
		return inference.DrawResponse{}, &EmptyReplyError{Op: "draw", Model: d.cfg.Model, Endpoint: d.caller.endpoint, Choices: len(resp.Data)}
	}
	raw, err := base64.StdEncoding.DecodeString(resp.Data[0].B64JSON)
	if err != nil {
		return inference.DrawResponse{}, fail("b64_json: %v", err)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return inference.DrawResponse{}, fail("image: %v", err)
	}
	if req.Size > 0 {
		img = squareResize(img, req.Size)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return inference.DrawResponse{}, fail("encode png: %v", err)
	}
	return inference.DrawResponse{PNG: buf.Bytes(), Model: d.cfg.Model}, nil
}

// Complete makes a draw call with Draw; a Drawer makes no other call.
func (d *Drawer) Complete(ctx context.Context, call Call) (Result, error) {
	if call.Op != inference.RoleDraw {
		return Result{}, unsupported("an image generation client", call)
	}
	img, err := d.Draw(ctx, call.Draw)
	return Result{Image: img}, err
}

func gptImage(model string) bool {
	return strings.HasPrefix(model, "gpt-image") || strings.HasPrefix(model, "chatgpt-image")
}

// squareResize centre-crops img to a square and resizes it to size x size:
// each output pixel averages the source pixels it covers (a box filter),
// or repeats the nearest one when enlarging.
func squareResize(img image.Image, size int) image.Image {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	if side == size && b.Dx() == b.Dy() {
		return img
	}
	src := image.NewRGBA(image.Rect(0, 0, side, side))
	draw.Draw(src, src.Bounds(), img, image.Pt(x0, y0), draw.Src)
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		sy0, sy1 := y*side/size, max((y+1)*side/size, y*side/size+1)
		for x := range size {
			sx0, sx1 := x*side/size, max((x+1)*side/size, x*side/size+1)
			var r, g, bl, a, n uint32
			for sy := sy0; sy < sy1; sy++ {
				for sx := sx0; sx < sx1; sx++ {
					c := src.RGBAAt(sx, sy)
					r, g, bl, a, n = r+uint32(c.R), g+uint32(c.G), bl+uint32(c.B), a+uint32(c.A), n+1
				}
			}
			dst.SetRGBA(x, y, color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), uint8(a / n)})
		}
	}
	return dst
}
