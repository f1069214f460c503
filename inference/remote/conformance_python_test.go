package remote_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/worker/workertest"
)

// TestPythonWorker starts the Python reference worker (inference/janus)
// with its tiny random model, runs the worker protocol's conformance suite
// against it, then drives it with this package's client. It needs the
// Janus venv's python in $TWIG_JANUS_PYTHON; without it the test is
// skipped, or fails when $TWIG_REQUIRE_JANUS is set.
//
// The worker's generate queue holds one call, so that a burst overflows it
// (the 503 check), and its body limit is 1 MiB.
func TestPythonWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Python worker")
	}
	py := workertest.JanusPython(t)
	const limit = 1 << 20
	url := workertest.StartPython(t, py, "--model", "tiny-random", "--max-batch", "8", "--max-queue", "1",
		"--max-body-bytes", "1048576")
	t.Run("Conformance", func(t *testing.T) {
		workertest.RunConformance(t, workertest.Harness{URL: url, MaxBodyBytes: limit, Queue: 1})
	})
	t.Run("Pool", func(t *testing.T) { testPoolAgainst(t, url) })
}

// testPoolAgainst drives a worker through a remote.Pool, as twig run does:
// Info, Generate band by band, Decode, Encode, and a wrong call, which
// must fail at once without retries.
func testPoolAgainst(t *testing.T, url string) {
	var mu sync.Mutex
	attempts := map[string]int{}
	opts := remote.DefaultPoolOptions()
	opts.HealthInterval = 0
	opts.BackoffBase = 10 * time.Millisecond
	opts.Observer = func(o remote.Observation) {
		mu.Lock()
		attempts[o.Op]++
		mu.Unlock()
	}
	pool, err := remote.NewPool([]string{url}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	info, err := pool.Info(ctx)
	if err != nil {
		t.Fatalf("Pool.Info: %v", err)
	}
	if info.PromptWrapper == "" || info.CodebookSize <= 0 {
		t.Errorf("Pool.Info = %+v, want a prompt wrapper and a codebook size", info)
	}
	grid := info.ImageSize / info.PatchSize
	model := info.ModelID()

	// Paint the grid in two bands, as the loop does.
	var tokens []int32
	for band, rows := range []int{grid / 2, grid - grid/2} {
		resp, err := pool.Generate(ctx, inference.GenerateRequest{
			Prefix: "A red apple on a table.", Prior: tokens, N: rows * grid, CFG: 5, Temperature: 1, TopP: 1, Seed: int64(band + 1),
		})
		if err != nil {
			t.Fatalf("Pool.Generate band %d: %v", band+1, err)
		}
		if len(resp.Tokens) != rows*grid || resp.Model != model || resp.Usage.OutputTokens != int32(rows*grid) {
			t.Errorf("Pool.Generate band %d = %d tokens from %q, usage %+v; want %d from %q", band+1, len(resp.Tokens), resp.Model, resp.Usage, rows*grid, model)
		}
		tokens = append(tokens, resp.Tokens...)
	}

	dec, err := pool.Decode(ctx, tokens)
	if err != nil {
		t.Fatalf("Pool.Decode: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(dec.PNG))
	if err != nil {
		t.Fatalf("Pool.Decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != info.ImageSize || b.Dy() != info.ImageSize || dec.Model != model {
		t.Errorf("Pool.Decode = %v image from %q, want %dx%d from %q", b, dec.Model, info.ImageSize, info.ImageSize, model)
	}

	enc, err := pool.Encode(ctx, dec.PNG)
	if err != nil {
		t.Fatalf("Pool.Encode: %v", err)
	}
	if len(enc) != grid*grid {
		t.Errorf("Pool.Encode = %d tokens, want %d", len(enc), grid*grid)
	}

	// A wrong request fails with the worker's 400, once.
	mu.Lock()
	before := attempts[remote.OpGenerate]
	mu.Unlock()
	_, err = pool.Generate(ctx, inference.GenerateRequest{Prefix: "x", N: grid*grid + grid, TopP: 1})
	var se *remote.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest || remote.IsTransient(err) || se.Message == "" {
		t.Errorf("Pool.Generate past the grid: %v, want a permanent 400 with the worker's message", err)
	}
	mu.Lock()
	if n := attempts[remote.OpGenerate] - before; n != 1 {
		t.Errorf("Pool.Generate past the grid took %d attempts, want 1 (no retry of a 400)", n)
	}
	mu.Unlock()
}
