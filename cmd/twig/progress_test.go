package main

import (
	"bytes"
	"github.com/twigdata/twig/internal/testwait"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/pipelines"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgress: plain lines when not on a terminal, a bar redrawn in place
// on one, both with counts, rate and ETA.
func TestProgress(t *testing.T) {
	t.Cleanup(func() {
		pipelines.Progress.Seeded.Store(0)
		pipelines.Progress.Done.Store(0)
	})
	for _, tty := range []bool{false, true} {
		pipelines.Progress.Seeded.Store(200)
		pipelines.Progress.Done.Store(50)
		var out lockedBuffer
		stop := startProgress(&out, tty, 20*time.Millisecond)
		// Two reports, so that a bar is seen redrawn.
		testwait.For(t, "two progress reports", func() bool {
			return strings.Count(out.String(), "50/200 trajectories") >= 2
		}, 10*time.Second)
		stop()
		s := out.String()
		if !strings.Contains(s, "50/200 trajectories (25%)") || !strings.Contains(s, "eta ") {
			t.Errorf("tty=%v: progress %q lacks the counts and the ETA", tty, s)
		}
		if tty && (!strings.Contains(s, "\r") || !strings.Contains(s, "[=======")) {
			t.Errorf("tty: progress %q is not a bar redrawn in place", s)
		}
		if !tty && (strings.Contains(s, "\r") || !strings.HasPrefix(s, "progress: ")) {
			t.Errorf("no tty: progress %q should be plain lines", s)
		}
	}
}
