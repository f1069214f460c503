package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"

	"github.com/twigdata/twig/pipelines"
)

// startProgress reports the run's progress on w until stop is called: on a
// terminal, a bar redrawn in place with the rate and the ETA; otherwise
// (CI, logs) a plain line every interval. It reads pipelines.Progress,
// which counts in this process: on the embedded runner and with LOOPBACK
// workers; on a remote runner, the runner's UI shows the Beam metrics.
func startProgress(w io.Writer, tty bool, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	line := func(final bool) string {
		seeded, n := pipelines.Progress.Seeded.Load(), pipelines.Progress.Done.Load()
		el := time.Since(start)
		rate := float64(n) / max(el.Seconds(), 1e-9)
		switch {
		case seeded == 0 && n == 0:
			return fmt.Sprintf("seeding... %s", el.Round(time.Second))
		case seeded == 0:
			return fmt.Sprintf("%d trajectories, %.1f/s, %s", n, rate, el.Round(time.Second))
		}
		frac := min(float64(n)/float64(seeded), 1)
		eta := "?"
		if rate > 0 && n < seeded {
			eta = (time.Duration(float64(seeded-n)/rate) * time.Second).Round(time.Second).String()
		} else if n >= seeded {
			eta = "0s"
		}
		s := fmt.Sprintf("%d/%d trajectories (%.0f%%), %.1f/s, elapsed %s, eta %s", n, seeded, 100*frac, rate, el.Round(time.Second), eta)
		if tty {
			const width = 30
			fill := int(frac * width)
			s = "[" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "] " + s
		}
		return s
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprintf(w, "\r\033[K")
				}
				return
			case <-tick.C:
				if tty {
					fmt.Fprintf(w, "\r\033[K%s", line(false))
				} else {
					fmt.Fprintf(w, "progress: %s\n", line(false))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printMetrics prints the twig counters of a finished run, summed over
// steps: what the Dataflow UI and Flink's job metrics show for the job.
func printMetrics(w io.Writer, res metrics.QueryResults) {
	sums := map[string]int64{}
	for _, c := range res.Counters() {
		if c.Namespace() == pipelines.MetricsNamespace {
			sums[c.Name()] += c.Result()
		}
	}
	var dist []string
	for _, d := range res.Distributions() {
		if d.Key.Namespace == pipelines.MetricsNamespace && d.Result().Count > 0 {
			v := d.Result()
			dist = append(dist, fmt.Sprintf("%s mean %d min %d max %d (n %d)", d.Key.Name, v.Sum/v.Count, v.Min, v.Max, v.Count))
		}
	}
	if len(sums) == 0 && len(dist) == 0 {
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, sums[k]))
	}
	fmt.Fprintf(w, "metrics:    %s\n", strings.Join(parts, " "))
	for _, d := range dist {
		fmt.Fprintf(w, "            %s\n", d)
	}
}
