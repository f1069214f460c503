// Package testwait waits in tests for an observable event instead of
// sleeping a fixed time.
package testwait

import (
	"testing"
	"time"
)

// For polls cond every millisecond until it holds, failing t when timeout
// passes first; what names the event in the failure.
func For(t testing.TB, what string, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
