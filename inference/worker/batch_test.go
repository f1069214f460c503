package worker_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// TestBatching fires concurrent calls at a backend with a fixed batch
// latency and checks that they share a few batches.
func TestBatching(t *testing.T) {
	tests := []struct {
		name       string
		opts       worker.Options
		calls      int
		maxBatches int64
		maxSize    int
	}{
		{"64 calls, max batch 64", worker.Options{MaxBatch: 64}, 64, 4, 64},
		{"64 calls, max batch 16", worker.Options{MaxBatch: 16}, 64, 8, 16},
		{"100 calls, max batch 64", worker.Options{MaxBatch: 64}, 100, 6, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := worker.SimConfig{BatchLatency: 20 * time.Millisecond}
			ts, srv := serve(t, worker.NewSimBackend(cfg), tt.opts)
			var wg sync.WaitGroup
			for i := range tt.calls {
				wg.Go(func() {
					var gen worker.GenerateResponse
					call(t, ts.URL+worker.PathGenerate, band(i%3, "A red apple.", int64(i)), &gen)
				})
			}
			wg.Wait()
			st := srv.Stats()
			if st.Calls != int64(tt.calls) || st.Batches > tt.maxBatches {
				t.Errorf("%d calls in %d batches (sizes %v), want %d calls in at most %d batches",
					st.Calls, st.Batches, st.BatchSizes, tt.calls, tt.maxBatches)
			}
			for size := range st.BatchSizes {
				if size > tt.maxSize {
					t.Errorf("a batch of %d calls, want at most %d", size, tt.maxSize)
				}
			}
		})
	}
}

// TestMaxWait checks that a lone call waits for company at most MaxWait.
func TestMaxWait(t *testing.T) {
	tests := []struct {
		name     string
		maxWait  time.Duration
		min, max time.Duration
	}{
		{"waits up to 50ms", 50 * time.Millisecond, 50 * time.Millisecond, time.Second},
		{"waits up to 200ms", 200 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second},
		{"no wait", -1, 0, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, srv := serve(t, quietSim(), worker.Options{MaxWait: tt.maxWait})
			start := time.Now()
			status, _, b := do(t, http.MethodPost, ts.URL+worker.PathGenerate, band(0, "A red apple.", 1))
			took := time.Since(start)
			if status != http.StatusOK {
				t.Fatalf("status = %d %s", status, b)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("a lone call took %v, want between %v and %v", took, tt.min, tt.max)
			}
			if st := srv.Stats(); st.Batches != 1 || st.BatchSizes[1] != 1 {
				t.Errorf("stats = %+v, want one batch of 1", st)
			}
		})
	}
}
