package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/schema"
)

var apple = inference.GenerateRequest{
	Prefix: "A red apple sits on a table.", Prior: []int32{5123, 77}, N: 190,
	CFG: 5, Temperature: 1, TopP: 1, Seed: 1234567,
}

func newClient(t *testing.T, url string) *remote.Client {
	t.Helper()
	c, err := remote.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientRoundTrip(t *testing.T) {
	w := newFakeWorker()
	c := newClient(t, w.start(t)+"/")
	ctx := context.Background()

	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info != testInfo() {
		t.Errorf("Info = %+v, want %+v", info, testInfo())
	}

	gen, err := c.Generate(ctx, apple)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(gen.Tokens) != apple.N || gen.Model != "fake/Janus@test" ||
		gen.Usage != (schema.Usage{InputTokens: 7 + 2, OutputTokens: 190}) {
		t.Errorf("Generate = %d tokens, model %q, usage %+v; want %d, %q, {9 190}",
			len(gen.Tokens), gen.Model, gen.Usage, apple.N, "fake/Janus@test")
	}

	grid := make([]int32, 576)
	for i := range grid {
		grid[i] = int32(i % 200)
	}
	dec, err := c.Decode(ctx, grid)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !strings.HasPrefix(string(dec.PNG), "\x89PNG") || dec.Model != "fake/Janus@test" {
		t.Errorf("Decode = %q..., model %q; want a PNG from fake/Janus@test", dec.PNG[:min(8, len(dec.PNG))], dec.Model)
	}
	enc, err := c.Encode(ctx, dec.PNG)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !reflect.DeepEqual(enc, grid) {
		t.Errorf("Encode(Decode(grid)) = %v, want %v", enc, grid)
	}
}

func TestClientStatusErrors(t *testing.T) {
	tests := []struct {
		name      string
		fault     fault
		want      remote.StatusError // Endpoint and Op filled in below
		transient bool
	}{
		{"400", fault{code: 400, message: "n=999 exceeds the grid"},
			remote.StatusError{Code: 400, Message: "n=999 exceeds the grid"}, false},
		{"404", fault{code: 404, message: "no such endpoint"}, remote.StatusError{Code: 404, Message: "no such endpoint"}, false},
		{"413", fault{code: 413, message: "too large"}, remote.StatusError{Code: 413, Message: "too large"}, false},
		{"422", fault{code: 422, message: "bad cfg"}, remote.StatusError{Code: 422, Message: "bad cfg"}, false},
		{"429 with Retry-After", fault{code: 429, message: "queue full", retryAfter: "3"},
			remote.StatusError{Code: 429, Message: "queue full", RetryAfter: 3 * time.Second}, true},
		{"500", fault{code: 500, message: "CUDA error"}, remote.StatusError{Code: 500, Message: "CUDA error"}, true},
		{"502 not JSON", fault{}, remote.StatusError{Code: 502, Message: "<html> bad gateway </html>"}, true},
		{"503 loading", fault{code: 503, message: "loading", retryAfter: "1"},
			remote.StatusError{Code: 503, Message: "loading", RetryAfter: time.Second}, true},
		{"503 bad Retry-After", fault{code: 503, retryAfter: "soon"}, remote.StatusError{Code: 503}, true},
		{"504", fault{code: 504}, remote.StatusError{Code: 504}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			if tt.name == "502 not JSON" {
				// A proxy in front of the worker answers in HTML.
				url = startHandler(t, func(rw http.ResponseWriter, r *http.Request) {
					rw.WriteHeader(502)
					rw.Write([]byte("<html>\n  bad   gateway\n</html>"))
				})
			} else {
				w := newFakeWorker()
				url = w.start(t)
				w.inject(worker.PathGenerate, tt.fault)
			}
			c := newClient(t, url)
			_, err := c.Generate(context.Background(), apple)
			var got *remote.StatusError
			if !errors.As(err, &got) {
				t.Fatalf("Generate error = %v (%T), want a *StatusError", err, err)
			}
			want := tt.want
			want.Endpoint, want.Op = url, "generate"
			if *got != want {
				t.Errorf("error = %+v, want %+v", *got, want)
			}
			if g := remote.IsTransient(err); g != tt.transient {
				t.Errorf("IsTransient = %v, want %v", g, tt.transient)
			}
		})
	}
}

func TestStatusErrorMessage(t *testing.T) {
	err := &remote.StatusError{Endpoint: "http://127.0.0.1:8420", Op: "generate", Code: 400, Message: "n=999 exceeds the grid"}
	got := err.Error()
	want := "worker http://127.0.0.1:8420 generate: 400 bad request: n=999 exceeds the grid"
	if got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestClientErrorKinds(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T) (url string, c func(*remote.Client))
		ctx       func(t *testing.T) context.Context
		kind      remote.Kind
		transient bool
	}{
		{
			name:      "connection refused",
			setup:     func(t *testing.T) (string, func(*remote.Client)) { return closedURL(t), nil },
			kind:      remote.Connection,
			transient: true,
		},
		{
			name: "connection reset",
			setup: func(t *testing.T) (string, func(*remote.Client)) {
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{reset: true})
				return w.start(t), nil
			},
			kind:      remote.Connection,
			transient: true,
		},
		{
			name: "call timeout",
			setup: func(t *testing.T) (string, func(*remote.Client)) {
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{delay: 10 * time.Second})
				return w.start(t), func(c *remote.Client) { c.Timeout = 50 * time.Millisecond }
			},
			kind:      remote.Timeout,
			transient: true,
		},
		{
			name: "caller deadline",
			setup: func(t *testing.T) (string, func(*remote.Client)) {
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{delay: 10 * time.Second})
				return w.start(t), func(c *remote.Client) { c.Timeout = time.Minute }
			},
			ctx:       func(t *testing.T) context.Context { return ctxTimeout(t, 50*time.Millisecond) },
			kind:      remote.Canceled,
			transient: false,
		},
		{
			name: "answer not JSON",
			setup: func(t *testing.T) (string, func(*remote.Client)) {
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{body: "<html>ok</html>"})
				return w.start(t), nil
			},
			kind: remote.BadAnswer,
		},
		{
			name: "wrong number of tokens",
			setup: func(t *testing.T) (string, func(*remote.Client)) {
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{body: `{"tokens": [1, 2, 3], "model": "m"}`})
				return w.start(t), nil
			},
			kind: remote.BadAnswer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, set := tt.setup(t)
			c := newClient(t, url)
			if set != nil {
				set(c)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			start := time.Now()
			_, err := c.Generate(ctx, apple)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Generate took %v", d)
			}
			var got *remote.Error
			if !errors.As(err, &got) {
				t.Fatalf("Generate error = %v (%T), want a *remote.Error", err, err)
			}
			if got.Kind != tt.kind || got.Endpoint != url || got.Op != "generate" {
				t.Errorf("error = {%s %s %v}, want {%s generate %v}", got.Endpoint, got.Op, got.Kind, url, tt.kind)
			}
			if g := remote.IsTransient(err); g != tt.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, g, tt.transient)
			}
			if !strings.HasPrefix(err.Error(), "worker "+url+" generate: "+tt.kind.String()+": ") {
				t.Errorf("message %q does not say where and how", err)
			}
			if tt.kind == remote.Canceled && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap the context's error", err)
			}
		})
	}
}

func TestClientMessagesOmitRequests(t *testing.T) {
	w := newFakeWorker()
	url := w.start(t)
	w.inject(worker.PathGenerate, fault{code: 400, message: "n=999 exceeds the grid"})
	req := apple
	req.Prefix = "SECRET-PREFIX"
	req.N = 999
	_, err := newClient(t, url).Generate(context.Background(), req)
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "5123") {
		t.Errorf("error = %v, want one without the request", err)
	}
}

func TestNewClientRejects(t *testing.T) {
	for _, s := range []string{"", "127.0.0.1:8420", "ftp://host", "http://", "http://h/?a=b", "http://u:p@h"} {
		if c, err := remote.NewClient(s); err == nil {
			t.Errorf("NewClient(%q) = %+v, want an error", s, c)
		}
	}
}

func startHandler(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
