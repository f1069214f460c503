package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/worker"
)

// fault is a failure a fakeWorker injects into one request.
type fault struct {
	code       int    // answer this status with the protocol's error body
	retryAfter string // Retry-After header of that answer
	message    string // its error.message
	body       string // answer 200 with this raw body
	reset      bool   // hijack the connection and close it, answering nothing
	// delay holds the request this long (or until the client gives up)
	// before the fault, or before the normal answer when there is none.
	delay time.Duration
}

// fakeWorker speaks the worker protocol (docs/worker-protocol.md) with a
// trivial "model", and injects failures. Its counters tell what reached it.
type fakeWorker struct {
	info worker.Info
	hold time.Duration // every generate call takes this long; set before serving

	down    atomic.Bool // every request, /healthz included, is reset
	loading atomic.Bool // /healthz answers 503

	mu          sync.Mutex
	faults      map[string][]fault // per path, consumed in order
	hits        map[string]int     // per path, resets included
	inFlight    int                // generate calls in flight
	maxInFlight int
}

func testInfo() worker.Info {
	return worker.Info{Model: "fake/Janus", Revision: "test", ImageSize: 384, PatchSize: 16,
		CodebookSize: 16384, MaxBatch: 64, MaxWaitMS: 20, PromptWrapper: inference.JanusPromptWrapper}
}

func newFakeWorker() *fakeWorker {
	return &fakeWorker{info: testInfo(), faults: map[string][]fault{}, hits: map[string]int{}}
}

// start serves w on a test server, closed when the test ends.
func (w *fakeWorker) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return srv.URL
}

// inject queues faults for the next requests to path.
func (w *fakeWorker) inject(path string, fs ...fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults[path] = append(w.faults[path], fs...)
}

func (w *fakeWorker) count(path string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hits[path]
}

func (w *fakeWorker) maxConcurrent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxInFlight
}

func (w *fakeWorker) grid() int {
	g := w.info.ImageSize / w.info.PatchSize
	return g * g
}

func (w *fakeWorker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	// Read the body first: the server notices a client that hangs up (and
	// cancels r.Context()) only once the body is consumed.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	w.mu.Lock()
	w.hits[r.URL.Path]++
	var f fault
	if q := w.faults[r.URL.Path]; len(q) > 0 {
		f, w.faults[r.URL.Path] = q[0], q[1:]
	}
	w.mu.Unlock()
	if w.down.Load() || f.reset {
		resetConn(rw)
		return
	}
	if f.delay > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(f.delay):
		}
	}
	switch {
	case f.code != 0:
		if f.retryAfter != "" {
			rw.Header().Set("Retry-After", f.retryAfter)
		}
		writeError(rw, f.code, f.message)
		return
	case f.body != "":
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprint(rw, f.body)
		return
	}
	switch r.URL.Path {
	case worker.PathGenerate:
		w.generate(rw, r)
	case worker.PathDecode:
		w.decode(rw, r)
	case worker.PathEncode:
		w.encode(rw, r)
	case worker.PathInfo:
		if r.Method != http.MethodGet {
			writeError(rw, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(rw, w.info)
	case worker.PathHealth:
		if w.loading.Load() {
			rw.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(rw, `{"status": "loading"}`)
			return
		}
		writeJSON(rw, map[string]string{"status": "ok"})
	default:
		writeError(rw, http.StatusNotFound, "no such endpoint "+r.URL.Path)
	}
}

func (w *fakeWorker) model() string { return w.info.Model + "@" + w.info.Revision }

func (w *fakeWorker) generate(rw http.ResponseWriter, r *http.Request) {
	var req worker.GenerateRequest
	if !readJSON(rw, r, &req) {
		return
	}
	if req.N <= 0 || len(req.Prior)+req.N > w.grid() {
		writeError(rw, http.StatusBadRequest, fmt.Sprintf("n=%d exceeds the grid", req.N))
		return
	}
	w.mu.Lock()
	w.inFlight++
	w.maxInFlight = max(w.maxInFlight, w.inFlight)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.inFlight--
		w.mu.Unlock()
	}()
	if w.hold > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(w.hold):
		}
	}
	tokens := make([]int32, req.N)
	for i := range tokens {
		tokens[i] = int32((req.Seed+int64(len(req.Prior)+i))%int64(w.info.CodebookSize-1)) + 1
	}
	writeJSON(rw, worker.GenerateResponse{
		Tokens: tokens,
		Model:  w.model(),
		Usage: worker.Usage{
			InputTokens:  int32(len(strings.Fields(req.Prefix)) + len(req.Prior)),
			OutputTokens: int32(req.N),
		},
	})
}

func (w *fakeWorker) decode(rw http.ResponseWriter, r *http.Request) {
	var req worker.DecodeRequest
	if !readJSON(rw, r, &req) {
		return
	}
	if len(req.Tokens) != w.grid() {
		writeError(rw, http.StatusBadRequest, fmt.Sprintf("%d tokens, want %d", len(req.Tokens), w.grid()))
		return
	}
	g := w.info.ImageSize / w.info.PatchSize
	img := image.NewGray(image.Rect(0, 0, g, g))
	for i, t := range req.Tokens {
		img.Pix[i] = uint8(t)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		writeError(rw, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(rw, worker.DecodeResponse{PNG: buf.Bytes(), Model: w.model()})
}

func (w *fakeWorker) encode(rw http.ResponseWriter, r *http.Request) {
	var req worker.EncodeRequest
	if !readJSON(rw, r, &req) {
		return
	}
	img, err := png.Decode(bytes.NewReader(req.PNG))
	if err != nil {
		writeError(rw, http.StatusBadRequest, "png: "+err.Error())
		return
	}
	tokens := make([]int32, w.grid())
	b := img.Bounds()
	for i := range tokens {
		g := color.GrayModel.Convert(img.At(b.Min.X+i%b.Dx(), b.Min.Y+i/b.Dx()%b.Dy())).(color.Gray)
		tokens[i] = int32(g.Y)
	}
	writeJSON(rw, worker.EncodeResponse{Tokens: tokens, Model: w.model()})
}

func readJSON(rw http.ResponseWriter, r *http.Request, v any) bool {
	if r.Method != http.MethodPost {
		writeError(rw, http.StatusMethodNotAllowed, "use POST")
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(rw, http.StatusBadRequest, "bad json: "+err.Error())
		return false
	}
	return true
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(v)
}

// writeError answers the protocol's error body, or no body without msg.
func writeError(rw http.ResponseWriter, code int, msg string) {
	if msg == "" {
		rw.WriteHeader(code)
		return
	}
	var body worker.ErrorBody
	body.Error.Message = msg
	body.Error.Type = "invalid_request"
	if code >= 500 {
		body.Error.Type = "server_error"
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	json.NewEncoder(rw).Encode(body)
}

// resetConn resets the request's connection (RST) without answering.
func resetConn(rw http.ResponseWriter) {
	conn, _, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// closedURL returns the URL of a server that no longer listens.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// ctxTimeout returns a context that is done after d, cancelled when the
// test ends.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
