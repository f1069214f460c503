package dedup_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/filters/dedup"
)

// BenchmarkFindPromptsMemory reports the heap FindPrompts holds at its
// peak over 50,000 composed prompts (peak-heap-MB, with the input's own
// heap subtracted), sampled every millisecond while the collector runs at
// GOGC=5 so the heap stays close to what is live. The Judge stage holds
// this for the whole version at once, so it is what bounds the memory of
// a large run's end.
func BenchmarkFindPromptsMemory(b *testing.B) {
	composed := annotators.Compose(50000, 1)
	items := make([]dedup.Item, len(composed))
	for i, c := range composed {
		items[i] = dedup.Item{ID: fmt.Sprintf("t%06d", i), Prompt: c.Text}
	}
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	var peak float64
	for b.Loop() {
		runtime.GC()
		base := read()
		done, max := make(chan struct{}), make(chan uint64)
		go func() {
			var m uint64
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					max <- m
					return
				case <-t.C:
					m = maxU(m, read())
				}
			}
		}()
		dups := dedup.FindPrompts(items, dedup.Options{})
		close(done)
		m := <-max
		runtime.KeepAlive(dups)
		if m > base {
			peak = float64(m-base) / (1 << 20)
		}
	}
	b.ReportMetric(peak, "peak-heap-MB")
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
