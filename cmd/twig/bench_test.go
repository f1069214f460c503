package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkScale builds twig, runs it on the simulator with 550 and then
// 5,500 built-in prompts (TwiG-50K's size; TWIG_BENCH_SIZES overrides,
// e.g. "5000,50000"), each in its own process, and reports the peak RSS
// and wall time of each and their ratios, side by side. Targets: memory
// ratio <= 1.5, time ratio <= 11 for a 10x larger run.
//
// Run: go test ./cmd/twig -run '^$' -bench Scale -benchtime 1x
func BenchmarkScale(b *testing.B) {
	sizes := []int{550, 5500}
	if env := os.Getenv("TWIG_BENCH_SIZES"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatalf("TWIG_BENCH_SIZES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "twig")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	rss := map[int]float64{}
	secs := map[int]float64{}
	for b.Loop() {
		for _, n := range sizes {
			out := filepath.Join(dir, fmt.Sprintf("out-%d", n))
			os.RemoveAll(out)
			cmd := exec.Command(bin, "run", "--out", out, "--builtin", strconv.Itoa(n))
			t0 := time.Now()
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("run %d: %v\n%s", n, err, msg)
			}
			secs[n] = time.Since(t0).Seconds()
			rss[n] = float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB -> MiB
			b.Logf("%d prompts: %.1f s, peak RSS %.0f MiB", n, secs[n], rss[n])
		}
	}
	small, large := sizes[0], sizes[len(sizes)-1]
	b.ReportMetric(rss[small], fmt.Sprintf("rss-MiB-%d", small))
	b.ReportMetric(rss[large], fmt.Sprintf("rss-MiB-%d", large))
	b.ReportMetric(rss[large]/rss[small], "rss-ratio")
	b.ReportMetric(secs[large]/secs[small], "time-ratio")
}
