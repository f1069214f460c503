package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// serve starts an HTTP test server for b and stops it with the test.
func serve(t testing.TB, b worker.Backend, opts worker.Options) (*httptest.Server, *worker.Server) {
	t.Helper()
	srv := worker.NewServer(b, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts, srv
}

// quietSim is a simulator that never errs on purpose.
func quietSim() *worker.SimBackend {
	return worker.NewSimBackend(worker.SimConfig{})
}

// client keeps a connection per call in flight, as a pipeline's client
// would, so that benchmarks do not measure TCP handshakes.
var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// do sends a request with a JSON body (raw when body is a string or
// []byte, none when nil) and returns the status, the headers and the body.
func do(t testing.TB, method, url string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewReader([]byte(b))
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// call posts body to url and decodes a 200 answer into out.
func call(t testing.TB, url string, body, out any) {
	t.Helper()
	status, _, b := do(t, http.MethodPost, url, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", url, status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("POST %s: %v in %s", url, err, b)
	}
}

// errorBody decodes an error answer, failing unless it has the protocol's shape.
func errorBody(t testing.TB, b []byte) worker.ErrorBody {
	t.Helper()
	var e worker.ErrorBody
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("error answer %s does not have the protocol's error body (%v)", b, err)
	}
	return e
}

// band returns a generate request for band k of 3 of the default canvas.
func band(k int, prefix string, seed int64) worker.GenerateRequest {
	return worker.GenerateRequest{
		Prefix: prefix, Prior: make([]int32, k*192), N: 192,
		CFG: 5, Temperature: 1, TopP: 1, Seed: seed,
	}
}

// gate is a backend whose batches block until it is opened; it tells
// on started when a batch begins.
type gate struct {
	worker.Backend
	started chan int
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{Backend: quietSim(), started: make(chan int, 100), open: make(chan struct{})}
}

func (g *gate) GenerateBatch(ctx context.Context, reqs []worker.GenerateRequest) ([]worker.Result, error) {
	g.started <- len(reqs)
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Backend.GenerateBatch(ctx, reqs)
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
