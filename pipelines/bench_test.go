package pipelines

import (
	"context"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"golang.org/x/sync/errgroup"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/pipelines/seeds"
	"github.com/twigdata/twig/schema"
)

// BenchmarkPipeline measures, side by side in one run, the whole pipeline
// on the embedded runner with the simulator, and the simulator alone: the
// engine over the same seeds with the same number in flight, no Beam, no
// I/O, on the same cores.
//
// Metrics:
//   - traj/s: trajectories per second of wall time through the pipeline;
//   - sim-traj/s: the same for the engine and simulator alone;
//   - overhead-share: the share of the pipeline's wall time spent outside
//     the simulator (Beam, staging, judging, Parquet, commit):
//     1 - traj/s / sim-traj/s.
//
// Run: go test ./pipelines -run '^$' -bench 'Pipeline$' -benchtime 5x
func BenchmarkPipeline(b *testing.B) {
	n := 200 // TWIG_BENCH_PROMPTS overrides
	if v, err := strconv.Atoi(os.Getenv("TWIG_BENCH_PROMPTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Builtin, cfg.CodeVersion, cfg.Created = n, "bench", "2026-01-01T00:00:00Z"

	var lines []seeds.Line
	for i, c := range annotators.Compose(n, cfg.Seed) {
		lines = append(lines, seeds.Line{Source: schema.Source{URI: BuiltinURI(cfg.Seed), Line: int64(i + 1)},
			Prompt: c.Text, Normalized: seeds.Normalize(c.Text), Category: c.Category})
	}
	seedList, _ := seeds.Plan(lines, seeds.PlanConfig{Dataset: cfg.Dataset, Split: cfg.Split, Samples: 1, Seed: cfg.Seed})
	set, err := openBackends(ctx, "bench", cfg.Engine, cfg.Sim, Backends{})
	if err != nil {
		b.Fatal(err)
	}
	defer set.Close()
	engine, err := set.engine(cfg.Engine)
	if err != nil {
		b.Fatal(err)
	}

	var pipeWall, simWall time.Duration
	b.ResetTimer()
	for range b.N {
		cfg.Output = fileURL(b.TempDir())
		runtime.GC()
		t0 := time.Now()
		p, s := beam.NewPipelineWithRoot()
		Build(s, cfg)
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		pipeWall += time.Since(t0)

		runtime.GC()
		t1 := time.Now()
		var g errgroup.Group
		g.SetLimit(cfg.InFlight()) // the pipeline's in-flight limit, so both sides run alike
		for _, sd := range seedList {
			g.Go(func() error {
				_, err := engine.Run(ctx, sd)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		simWall += time.Since(t1)
	}
	b.StopTimer()
	pipe, alone := float64(n*b.N)/pipeWall.Seconds(), float64(n*b.N)/simWall.Seconds()
	b.ReportMetric(pipe, "traj/s")
	b.ReportMetric(alone, "sim-traj/s")
	b.ReportMetric(1-pipe/alone, "overhead-share")
}

// BenchmarkInFlight measures, side by side in one run, the pipeline
// against a batching worker whose every batch takes a fixed latency (like
// a GPU forward pass), at 64 trajectories in flight, and the reference
// code's way: one prompt at a time against a worker that does not batch.
//
// Metrics:
//   - efficiency: achieved trajectories/s over what the in-flight limit
//     allows (64 / (generate calls per trajectory x batch latency));
//   - batched-traj/s and serial-traj/s, and their ratio batching-gain.
//
// Run: go test ./pipelines -run '^$' -bench InFlight -benchtime 1x
func BenchmarkInFlight(b *testing.B) {
	const (
		latency  = 250 * time.Millisecond
		inFlight = 64 // calls in flight per worker: the client pool's limit and the worker's batch
		serialN  = 8  // prompts one at a time
	)
	measure := func(prompts, concurrency, maxBatch int) (trajPerSec, callsPerTraj float64) {
		sc := worker.DefaultSimConfig()
		sc.BatchLatency = latency
		srv := worker.NewServer(worker.NewSimBackend(sc), worker.Options{MaxBatch: maxBatch, MaxWait: benchWait(), Queue: 4096})
		ts := httptest.NewServer(srv)
		defer func() { ts.Close(); srv.Close() }()
		cfg := DefaultConfig()
		cfg.Builtin, cfg.Concurrency, cfg.CodeVersion, cfg.Created = prompts, concurrency, "bench", "2026-01-01T00:00:00Z"
		cfg.Backends.Generator = []string{ts.URL}
		cfg.Output = fileURL(b.TempDir())
		t0 := time.Now()
		p, s := beam.NewPipelineWithRoot()
		Build(s, cfg)
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		b.Logf("%d prompts, %d in flight: %v, worker %+v", prompts, concurrency, time.Since(t0).Round(time.Millisecond), srv.Stats())
		return float64(prompts) / time.Since(t0).Seconds(), float64(srv.Stats().Calls) / float64(prompts)
	}
	batched := 4096 // prompts; fewer lose more to the ramp-down (TWIG_BENCH_PROMPTS overrides)
	if n, err := strconv.Atoi(os.Getenv("TWIG_BENCH_PROMPTS")); err == nil && n > 0 {
		batched = n
	}
	var eff, fast, slow float64
	for range b.N {
		// Twice as many trajectories as calls in flight: while one batch
		// runs, the next one's calls wait in the client, ready to go.
		tps, calls := measure(batched, 2*inFlight, inFlight)
		allowed := inFlight / (calls * latency.Seconds())
		eff += tps / allowed
		fast += tps
		slowTPS, _ := measure(serialN, 1, 1)
		slow += slowTPS
	}
	n := float64(b.N)
	b.ReportMetric(eff/n, "efficiency")
	b.ReportMetric(fast/n, "batched-traj/s")
	b.ReportMetric(slow/n, "serial-traj/s")
	b.ReportMetric(fast/slow, "batching-gain")
}

func benchWait() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TWIG_BENCH_WAIT")); err == nil {
		return d
	}
	return 5 * time.Millisecond
}
