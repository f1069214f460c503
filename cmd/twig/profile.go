package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// startHeapProfile, when TWIG_HEAP_PROFILE names a file, samples the heap
// every half second and writes the heap profile of the largest heap seen
// there when stop is called: what to look at when a run's memory grows.
func startHeapProfile() (stop func()) {
	file := os.Getenv("TWIG_HEAP_PROFILE")
	if file == "" {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
				if f, err := os.Create(file); err == nil {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
