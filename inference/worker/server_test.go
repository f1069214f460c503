package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/worker"
)

// TestGenerateMatchesPainter checks that a generate call over HTTP answers
// exactly what sim.Painter answers for the same request.
func TestGenerateMatchesPainter(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	b := worker.NewSimBackend(cfg)
	ts, _ := serve(t, b, worker.Options{})
	painter := sim.NewPainter(sim.PainterConfig{Geometry: cfg.Geometry, MistakeRate: cfg.MistakeRate, Model: b.Info().ModelID()})

	tests := []struct {
		name string
		req  worker.GenerateRequest
	}{
		{"first band", band(0, "The sky is clear and blue.", 1)},
		{"middle band", band(1, "The sky is clear and blue. A red apple sits on the left of a green train.", 7)},
		{"last band, other seed", band(2, "Soft grass covers the ground. Two yellow cats sit on the grass.", 99)},
		{"greedy", worker.GenerateRequest{Prefix: "A blue bowl.", Prior: make([]int32, 192), N: 192, CFG: 5, Seed: 3}},
		{"low cfg, top-p", worker.GenerateRequest{Prefix: "Three round red balls.", N: 384, CFG: 1, Temperature: 1.5, TopP: 0.9, Seed: 4}},
		{"prior tokens", worker.GenerateRequest{Prefix: "A black dog.", Prior: slices.Repeat([]int32{sim.Token{Colour: sim.ToneSky}.ID()}, 96), N: 48, Temperature: 1, CFG: 5, Seed: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got worker.GenerateResponse
			call(t, ts.URL+worker.PathGenerate, tt.req, &got)
			want, err := painter.Generate(context.Background(), inference.GenerateRequest{
				Prefix: tt.req.Prefix, Prior: tt.req.Prior, N: tt.req.N, CFG: tt.req.CFG,
				Temperature: tt.req.Temperature, TopK: tt.req.TopK, TopP: tt.req.TopP, Seed: tt.req.Seed,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Tokens, want.Tokens) {
				t.Errorf("tokens differ from the painter's:\ngot  %v\nwant %v", got.Tokens, want.Tokens)
			}
			wantUsage := worker.Usage{InputTokens: want.Usage.InputTokens, OutputTokens: want.Usage.OutputTokens}
			if got.Model != want.Model || got.Usage != wantUsage {
				t.Errorf("got model %q usage %+v, want %q %+v", got.Model, got.Usage, want.Model, wantUsage)
			}
		})
	}
}

// TestErrors checks the status and the error body of requests that are
// wrong.
func TestErrors(t *testing.T) {
	ts, _ := serve(t, quietSim(), worker.Options{MaxBodyBytes: 8 << 10})
	noReasoner, _ := serve(t, newGate(), worker.Options{})
	full := make([]int32, 576)
	outside := slices.Clone(full)
	outside[100] = sim.CodebookSize
	var blank bytes.Buffer
	white := image.NewGray(image.Rect(0, 0, 384, 384))
	draw.Draw(white, white.Bounds(), image.White, image.Point{}, draw.Src)
	if err := png.Encode(&blank, white); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		url           string
		method        string
		body          any
		status        int
		allow         string
		wantInMessage string
	}{
		{"generate: bad JSON", ts.URL + worker.PathGenerate, "POST", `{"n": 192,`, 400, "", "bad JSON"},
		{"generate: wrong field type", ts.URL + worker.PathGenerate, "POST", `{"n": "all"}`, 400, "", "bad JSON"},
		{"generate: n beyond the grid", ts.URL + worker.PathGenerate, "POST", worker.GenerateRequest{Prior: make([]int32, 480), N: 192, CFG: 5}, 400, "", "past the 576-token canvas"},
		{"generate: n zero", ts.URL + worker.PathGenerate, "POST", worker.GenerateRequest{Prefix: "A cat."}, 400, "", "must be positive"},
		{"generate: prior outside the codebook", ts.URL + worker.PathGenerate, "POST", worker.GenerateRequest{Prior: outside[:192], N: 192, CFG: 5}, 400, "", "outside the codebook"},
		{"generate: partial row", ts.URL + worker.PathGenerate, "POST", worker.GenerateRequest{N: 10, CFG: 5}, 400, "", "token rows"},
		{"generate: body too large", ts.URL + worker.PathGenerate, "POST", worker.GenerateRequest{Prior: make([]int32, 10000), N: 192}, 413, "", "exceeds 8192 bytes"},
		{"generate: GET", ts.URL + worker.PathGenerate, "GET", nil, 405, "POST", "wants POST"},
		{"decode: wrong token count", ts.URL + worker.PathDecode, "POST", worker.DecodeRequest{Tokens: full[:575]}, 400, "", "got 575 tokens, want 576"},
		{"decode: id outside the codebook", ts.URL + worker.PathDecode, "POST", worker.DecodeRequest{Tokens: outside}, 400, "", "outside the codebook"},
		{"decode: PUT", ts.URL + worker.PathDecode, "PUT", nil, 405, "POST", "wants POST"},
		{"encode: not base64", ts.URL + worker.PathEncode, "POST", `{"png": "not base64!"}`, 400, "", "bad JSON"},
		{"encode: not a PNG", ts.URL + worker.PathEncode, "POST", worker.EncodeRequest{PNG: []byte("GIF89a")}, 400, "", "read PNG"},
		{"encode: not a canvas", ts.URL + worker.PathEncode, "POST", worker.EncodeRequest{PNG: blank.Bytes()}, 400, "", sim.ErrNotCanvas.Error()},
		{"info: POST", ts.URL + worker.PathInfo, "POST", "{}", 405, "GET", "wants GET"},
		{"stats: DELETE", ts.URL + worker.PathStats, "DELETE", nil, 405, "GET", "wants GET"},
		{"healthz: POST", ts.URL + worker.PathHealth, "POST", nil, 405, "GET", "wants GET"},
		{"unknown path", ts.URL + "/v1/embeddings", "POST", "{}", 404, "", "no endpoint /v1/embeddings"},
		{"chat without a reasoner", noReasoner.URL + worker.PathChat, "POST", "{}", 404, "", "does not serve chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, b := do(t, tt.method, tt.url, tt.body)
			if status != tt.status {
				t.Fatalf("status = %d %s, want %d", status, b, tt.status)
			}
			e := errorBody(t, b)
			if e.Error.Type != worker.ErrorInvalidRequest {
				t.Errorf("error type = %q, want %q", e.Error.Type, worker.ErrorInvalidRequest)
			}
			if !strings.Contains(e.Error.Message, tt.wantInMessage) {
				t.Errorf("message %q does not say %q", e.Error.Message, tt.wantInMessage)
			}
			if got := h.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
		})
	}
}

// TestPerItemErrors checks that bad requests in a batch fail alone.
func TestPerItemErrors(t *testing.T) {
	ts, srv := serve(t, quietSim(), worker.Options{MaxBatch: 4, MaxWait: 10 * time.Second})
	reqs := []worker.GenerateRequest{
		band(0, "A red apple.", 1),
		{Prefix: "A red apple.", Prior: make([]int32, 576), N: 192}, // past the grid
		band(2, "A green train.", 2),
		{Prefix: "A red apple.", N: -1},
	}
	want := []int{200, 400, 200, 400}
	got := make([]int, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { got[i], _, _ = do(t, http.MethodPost, ts.URL+worker.PathGenerate, req) })
	}
	wg.Wait()
	if !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if st := srv.Stats(); st.Batches != 1 || st.Calls != 4 {
		t.Errorf("stats = %+v, want the 4 calls in 1 batch", st)
	}
}

// TestQueueFull fills the queue behind a blocked batch and checks that
// the next call is answered 503 with Retry-After, and the others served.
func TestQueueFull(t *testing.T) {
	g := newGate()
	ts, srv := serve(t, g, worker.Options{MaxBatch: 1, MaxWait: -1, Queue: 2})
	defer g.release()
	url := ts.URL + worker.PathGenerate

	statuses := make(chan int, 3)
	send := func(seed int64) {
		status, _, _ := do(t, http.MethodPost, url, band(0, "A red apple.", seed))
		statuses <- status
	}
	go send(1)
	<-g.started // the first call's batch runs and blocks
	go send(2)
	go send(3)
	waitFor(t, "two queued calls", func() bool { return srv.Stats().Queued == 2 })

	status, h, b := do(t, http.MethodPost, url, band(0, "A red apple.", 4))
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "1" {
		t.Fatalf("call beyond the queue = %d, Retry-After %q, want 503 and 1", status, h.Get("Retry-After"))
	}
	if e := errorBody(t, b); e.Error.Type != worker.ErrorOverloaded {
		t.Errorf("error type = %q, want %q", e.Error.Type, worker.ErrorOverloaded)
	}

	g.release()
	for range 3 {
		if s := <-statuses; s != http.StatusOK {
			t.Errorf("queued call = %d, want 200", s)
		}
	}
	st := srv.Stats()
	if st.Rejected != 1 || st.Calls != 3 || st.Batches != 3 || st.Queued != 0 {
		t.Errorf("stats = %+v, want 1 rejected, 3 calls in 3 batches", st)
	}
}

// TestClose checks that Close answers queued and running calls 503, and
// every later call too.
func TestClose(t *testing.T) {
	g := newGate()
	ts, srv := serve(t, g, worker.Options{MaxBatch: 1, MaxWait: -1})
	url := ts.URL + worker.PathGenerate
	statuses := make(chan int, 2)
	send := func() {
		status, _, _ := do(t, http.MethodPost, url, band(0, "A red apple.", 1))
		statuses <- status
	}
	go send()
	<-g.started
	go send()
	waitFor(t, "a queued call", func() bool { return srv.Stats().Queued == 1 })
	srv.Close()
	for range 2 {
		if s := <-statuses; s != http.StatusServiceUnavailable {
			t.Errorf("call in flight at Close = %d, want 503", s)
		}
	}
	for _, tt := range []struct{ method, path string }{{"POST", worker.PathGenerate}, {"GET", worker.PathHealth}} {
		status, h, _ := do(t, tt.method, ts.URL+tt.path, band(0, "A red apple.", 1))
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "1" {
			t.Errorf("%s %s after Close = %d, Retry-After %q, want 503 and 1", tt.method, tt.path, status, h.Get("Retry-After"))
		}
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestDecodeEncodeRoundTrip paints a canvas over HTTP, decodes it and
// encodes it back, also from an image twice the size.
func TestDecodeEncodeRoundTrip(t *testing.T) {
	b := quietSim()
	ts, _ := serve(t, b, worker.Options{})
	canvas := make([]int32, 0, 576)
	for k, thought := range []string{"The sky is clear and blue.", "A red apple sits on the left of a green train.", "Soft grass covers the ground."} {
		var gen worker.GenerateResponse
		call(t, ts.URL+worker.PathGenerate, worker.GenerateRequest{Prefix: thought, Prior: canvas, N: 192, CFG: 5, Temperature: 1, Seed: int64(k)}, &gen)
		canvas = append(canvas, gen.Tokens...)
	}
	partial := slices.Concat(canvas[:192], make([]int32, 384))

	for _, tt := range []struct {
		name   string
		tokens []int32
		scale  int
	}{
		{"full canvas", canvas, 1},
		{"partial canvas", partial, 1},
		{"upscaled twice", canvas, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var dec worker.DecodeResponse
			call(t, ts.URL+worker.PathDecode, worker.DecodeRequest{Tokens: tt.tokens}, &dec)
			if dec.Model != b.Info().ModelID() {
				t.Errorf("decode model = %q, want %q", dec.Model, b.Info().ModelID())
			}
			img := dec.PNG
			if tt.scale > 1 {
				img = upscale(t, img, tt.scale)
			}
			var enc worker.EncodeResponse
			call(t, ts.URL+worker.PathEncode, worker.EncodeRequest{PNG: img}, &enc)
			if !slices.Equal(enc.Tokens, tt.tokens) {
				t.Errorf("encode(decode(tokens)) differs from tokens")
			}
		})
	}
}

// upscale returns the PNG scaled by an integer factor.
func upscale(t *testing.T, pngBytes []byte, f int) []byte {
	src, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	sb := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, sb.Dx()*f, sb.Dy()*f))
	for y := range dst.Bounds().Dy() {
		for x := range dst.Bounds().Dx() {
			dst.Set(x, y, src.At(x/f, y/f))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInfoHealthStats(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	cfg.Geometry = sim.Geometry{ImageSize: 256, PatchSize: 16}
	ts, _ := serve(t, worker.NewSimBackend(cfg), worker.Options{MaxBatch: 8, MaxWait: -1})

	var info worker.Info
	status, _, b := do(t, http.MethodGet, ts.URL+worker.PathInfo, nil)
	if err := json.Unmarshal(b, &info); status != 200 || err != nil {
		t.Fatalf("info = %d %s (%v)", status, b, err)
	}
	wantInfo := worker.Info{
		Model: sim.DefaultPainterModel, Revision: "mistake=0.2", ImageSize: 256, PatchSize: 16,
		CodebookSize: 16384, MaxBatch: 8, MaxWaitMS: 0, PromptWrapper: inference.JanusPromptWrapper, Chat: true,
	}
	if info != wantInfo {
		t.Errorf("info = %+v, want %+v", info, wantInfo)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil || fields["prompt_wrapper"] != "User: {prefix}\n\nAssistant:<begin_of_image>" {
		t.Errorf("info prompt_wrapper = %q (%v), want Janus-Pro's wrapper", fields["prompt_wrapper"], err)
	}

	status, _, b = do(t, http.MethodGet, ts.URL+worker.PathHealth, nil)
	if status != 200 || strings.TrimSpace(string(b)) != `{"status":"ok"}` {
		t.Errorf("healthz = %d %s, want 200 {\"status\":\"ok\"}", status, b)
	}

	var gen worker.GenerateResponse
	call(t, ts.URL+worker.PathGenerate, worker.GenerateRequest{Prefix: "A cat.", N: 256, CFG: 5, Temperature: 1}, &gen)
	if len(gen.Tokens) != 256 || gen.Model != "twig-sim-painter-v1@mistake=0.2" {
		t.Errorf("generate = %d tokens from %q, want 256 from twig-sim-painter-v1@mistake=0.2", len(gen.Tokens), gen.Model)
	}
	status, _, b = do(t, http.MethodGet, ts.URL+worker.PathStats, nil)
	want := `{"batches":1,"calls":1,"mean_batch_size":1,"batch_sizes":{"1":1},"rejected":0,"queued":0}`
	if status != 200 || strings.TrimSpace(string(b)) != want {
		t.Errorf("stats = %d %s, want 200 %s", status, b, want)
	}
}

// TestBackendFailure checks that backend trouble is a 500, per batch or
// per item, and that a panic does not stop the batcher.
func TestBackendFailure(t *testing.T) {
	tests := []struct {
		name string
		b    worker.Backend
	}{
		{"batch error", failing{quietSim(), func() ([]worker.Result, error) { return nil, fmt.Errorf("device lost") }}},
		{"item error", failing{quietSim(), func() ([]worker.Result, error) { return []worker.Result{{Err: fmt.Errorf("device lost")}}, nil }}},
		{"too few results", failing{quietSim(), func() ([]worker.Result, error) { return nil, nil }}},
		{"panic", failing{quietSim(), func() ([]worker.Result, error) { panic("device lost") }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := serve(t, tt.b, worker.Options{MaxWait: -1})
			for range 2 {
				status, _, b := do(t, http.MethodPost, ts.URL+worker.PathGenerate, band(0, "A cat.", 1))
				if status != http.StatusInternalServerError {
					t.Fatalf("status = %d %s, want 500", status, b)
				}
				if e := errorBody(t, b); e.Error.Type != worker.ErrorServer {
					t.Errorf("error type = %q, want %q", e.Error.Type, worker.ErrorServer)
				}
			}
		})
	}
}

// failing is a backend whose batches answer what fn returns.
type failing struct {
	worker.Backend
	fn func() ([]worker.Result, error)
}

func (f failing) GenerateBatch(context.Context, []worker.GenerateRequest) ([]worker.Result, error) {
	return f.fn()
}
