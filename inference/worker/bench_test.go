package worker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// BenchmarkBatching measures, side by side, the generate throughput over
// HTTP of a backend whose every batch takes 20ms, like a GPU forward
// pass: 64 calls in flight on a batching server (max batch 64, max wait
// 20ms) against one call at a time on a server that does not batch
// (max batch 1). It reports both in calls/s and their ratio.
func BenchmarkBatching(b *testing.B) {
	const latency = 20 * time.Millisecond
	backend := worker.NewSimBackend(worker.SimConfig{BatchLatency: latency})
	batched, srv := serve(b, backend, worker.Options{MaxBatch: 64, MaxWait: 20 * time.Millisecond})
	serial, _ := serve(b, backend, worker.Options{MaxBatch: 1})
	req := band(1, "A red apple sits on the left of a green train.", 1)

	var batchedCalls, serialCalls int
	var batchedTime, serialTime time.Duration
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				var gen worker.GenerateResponse
				call(b, batched.URL+worker.PathGenerate, req, &gen)
			})
		}
		wg.Wait()
		batchedTime += time.Since(start)
		batchedCalls += 64

		start = time.Now()
		for range 4 {
			var gen worker.GenerateResponse
			call(b, serial.URL+worker.PathGenerate, req, &gen)
		}
		serialTime += time.Since(start)
		serialCalls += 4
	}
	batchedRate := float64(batchedCalls) / batchedTime.Seconds()
	serialRate := float64(serialCalls) / serialTime.Seconds()
	b.ReportMetric(batchedRate, "batched-calls/s")
	b.ReportMetric(serialRate, "serial-calls/s")
	b.ReportMetric(batchedRate/serialRate, "speedup")
	b.ReportMetric(srv.Stats().MeanBatchSize, "calls/batch")
}
