//go:build unix

package pipelines

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/pipelines/seeds"
	"github.com/twigdata/twig/schema"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipeline measures, side by side in one run, the whole pipeline
// on the embedded runner with the simulator, and the simulator alone
// (the engine over the same seeds, serially, no Beam, no I/O).
//
// Metrics:
//   - traj/s: trajectories per second of wall time through the pipeline;
//   - sim-traj/s: the same for the engine and simulator alone, per core;
//   - overhead-share: the share of the pipeline's CPU time spent outside
//     the simulator (Beam, staging, judging, Parquet, commit).
//
// Run: go test ./pipelines -run '^$' -bench Pipeline -benchtime 3x
func BenchmarkPipeline(b *testing.B) {
	const n = 200
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Builtin, cfg.CodeVersion, cfg.Created = n, "bench", "2026-01-01T00:00:00Z"

	var lines []seeds.Line
	for i, c := range annotators.Compose(n, cfg.Seed) {
		lines = append(lines, seeds.Line{Source: schema.Source{URI: BuiltinURI(cfg.Seed), Line: int64(i + 1)},
			Prompt: c.Text, Normalized: seeds.Normalize(c.Text), Category: c.Category})
	}
	seedList, _ := PlanSeeds(lines, cfg.Dataset, cfg.Split, 0, 1, cfg.Seed)
	engine, err := NewSimEngine(cfg.Engine, cfg.Sim)
	if err != nil {
		b.Fatal(err)
	}

	var pipeWall, pipeCPU, simCPU time.Duration
	b.ResetTimer()
	for range b.N {
		cfg.Output = fileURL(b.TempDir())
		cpu0, t0 := cpuTime(b), time.Now()
		p, s := beam.NewPipelineWithRoot()
		Build(s, cfg)
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		pipeWall += time.Since(t0)
		pipeCPU += cpuTime(b) - cpu0

		cpu1 := cpuTime(b)
		for _, sd := range seedList {
			if _, err := engine.Run(ctx, sd); err != nil {
				b.Fatal(err)
			}
		}
		simCPU += cpuTime(b) - cpu1
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/pipeWall.Seconds(), "traj/s")
	b.ReportMetric(float64(n*b.N)/simCPU.Seconds(), "sim-traj/s")
	b.ReportMetric(1-simCPU.Seconds()/pipeCPU.Seconds(), "overhead-share")
}
