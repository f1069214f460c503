package worker_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/inference/worker/workertest"
)

// TestConformance runs the worker protocol's conformance suite against the
// server of `twig worker`: the simulator backend at its default rates
// behind worker.Server, over real HTTP. The server's queue holds one call
// and its batches take a few milliseconds, so that a burst overflows the
// queue (the 503 check); its body limit is small enough to test cheaply.
// Harness.Known lists where the server is known to disagree with the
// protocol document.
func TestConformance(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	cfg.BatchLatency = 5 * time.Millisecond
	const limit = 1 << 20
	srv := worker.NewServer(worker.NewSimBackend(cfg), worker.Options{MaxBatch: 8, Queue: 1, MaxBodyBytes: limit})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	workertest.RunConformance(t, workertest.Harness{
		URL: ts.URL, MaxBodyBytes: limit, Queue: 1, RequireChat: true,
	})
}
