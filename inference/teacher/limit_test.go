package teacher

import (
	"context"
	"errors"
	"image/color"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// testMargin absorbs the scheduling jitter of a loaded test machine
// between the client writing a request and the server's handler starting.
const testMargin = 25 * time.Millisecond

// maxInWindow is the largest total weight of hits inside any window
// [t, t+per), measured on the server's clock.
func maxInWindow(hits []hit, weight func(hit) int, per time.Duration) int {
	slices.SortFunc(hits, func(a, b hit) int { return a.at.Compare(b.at) })
	best, sum, j := 0, 0, 0
	for i := range hits {
		sum += weight(hits[i])
		for hits[i].at.Sub(hits[j].at) >= per {
			sum -= weight(hits[j])
			j++
		}
		best = max(best, sum)
	}
	return best
}

// callAll makes calls calls from workers goroutines and fails on any error.
func callAll(t *testing.T, workers, calls int, call func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				if err := call(i); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestRequestLimitUnderLoad: 40 callers make 60 calls through a limit of
// 10 requests per 500ms (1200 per minute). No window of 500ms on the
// server's clock may hold more than 10 requests.
func TestRequestLimitUnderLoad(t *testing.T) {
	t.Parallel()
	const limit, per, calls = 10, 500 * time.Millisecond, 60
	f := newFakeAPI(t, reply("A sentence."))
	lim := NewLimiter(Limits{Requests: limit, Per: per, Margin: testMargin})
	r := NewLimitReasoner(newTestClient(t, f, nil), lim)
	start := time.Now()
	callAll(t, 40, calls, func(i int) error {
		_, err := r.Think(context.Background(), inference.ThinkRequest{Instruction: "x", MaxTokens: 10})
		return err
	})
	elapsed := time.Since(start)
	hits := f.Hits()
	got := maxInWindow(hits, func(hit) int { return 1 }, per)
	span := hits[len(hits)-1].at.Sub(hits[0].at)
	rate := float64(calls-limit) / span.Minutes() // the first window's burst excluded
	t.Logf("%d requests in %s; busiest %s window: %d (limit %d); sustained rate %.0f/min (limit %.0f/min)",
		calls, elapsed.Round(time.Millisecond), per, got, limit, rate, float64(limit)*float64(time.Minute)/float64(per))
	if got > limit {
		t.Errorf("a %s window held %d requests, want at most %d", per, got, limit)
	}
	if min := time.Duration(calls/limit-1) * per; span < min-20*time.Millisecond {
		t.Errorf("%d requests took %s, want at least %s", calls, span, min)
	}
}

// TestInputTokenLimit: each request is estimated at 8 + 400 + 800 (the
// image) = 1208 input tokens and the server reports the same; a limit of
// 5000 per 400ms admits 4 per window.
func TestInputTokenLimit(t *testing.T) {
	t.Parallel()
	const limit, per, calls = 5000, 400 * time.Millisecond, 24
	instruction := strings.Repeat("abcd", 400)
	canvas := testPNG(t, 16, 16, color.Black)
	lim := NewLimiter(Limits{InputTokens: limit, Per: per, Margin: testMargin})
	est := lim.Limits().ThinkCost(inference.ThinkRequest{Instruction: instruction, Canvas: canvas}).InputTokens
	if est != 8+400+800 {
		t.Fatalf("estimate = %d, want %d", est, 8+400+800)
	}
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "A sentence.", est, 5))
	})
	r := NewLimitReasoner(newTestClient(t, f, nil), lim)
	callAll(t, 20, calls, func(i int) error {
		_, err := r.Think(context.Background(), inference.ThinkRequest{Instruction: instruction, Canvas: canvas, MaxTokens: 10})
		return err
	})
	hits := f.Hits()
	got := maxInWindow(hits, func(hit) int { return est }, per)
	span := hits[len(hits)-1].at.Sub(hits[0].at)
	t.Logf("%d requests of %d tokens in %s; busiest %s window: %d tokens (limit %d); sustained %.0f tokens/min",
		calls, est, span.Round(time.Millisecond), per, got, limit, float64((calls-4)*est)/span.Minutes())
	if got > limit {
		t.Errorf("a %s window held %d input tokens, want at most %d", per, got, limit)
	}
	if min := time.Duration(calls/4-1) * per; span < min-20*time.Millisecond {
		t.Errorf("%d requests took %s, want at least %s", calls, span, min)
	}
}

// TestOutputReservation: the output window reserves max_tokens and gives
// back what the answer did not use.
func TestOutputReservation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		used     int  // completion tokens the server reports
		wantDone bool // all calls finish within the window
	}{
		{name: "unused part given back", used: 10, wantDone: true},
		{name: "reservation used up", used: 500, wantDone: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "A sentence.", 10, tt.used))
			})
			// 1000 output tokens per 10s; each call reserves 500.
			lim := NewLimiter(Limits{OutputTokens: 1000, Per: 10 * time.Second})
			r := NewLimitReasoner(newTestClient(t, f, nil), lim)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var done atomic.Int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 5 {
						if _, err := r.Think(ctx, inference.ThinkRequest{Instruction: "x", MaxTokens: 500}); err != nil {
							return
						}
						done.Add(1)
					}
				})
			}
			wg.Wait()
			t.Logf("%d of 20 calls done within 1s", done.Load())
			if got := done.Load() == 20; got != tt.wantDone {
				t.Errorf("all 20 calls done within 1s: %v, want %v (%d done)", got, tt.wantDone, done.Load())
			}
			if !tt.wantDone && done.Load() != 2 {
				t.Errorf("%d calls done, want 2 (1000 tokens / 500 used each)", done.Load())
			}
		})
	}
}

func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "A sentence.", 10, 5))
	})
	r := NewLimitReasoner(newTestClient(t, f, nil), NewLimiter(Limits{MaxConcurrent: 3}))
	callAll(t, 30, 60, func(int) error {
		_, err := r.Critique(context.Background(), inference.CritiqueRequest{Instruction: "x"})
		return err
	})
	if got := peak.Load(); got != 3 {
		t.Errorf("peak requests in flight = %d, want 3", got)
	}
}

// TestLimitAppliesToRetries: with the retry wrapper outside, every attempt
// waits for the limiter.
func TestLimitAppliesToRetries(t *testing.T) {
	t.Parallel()
	const per = 300 * time.Millisecond
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int, _ wireRequest) {
		if n < 4 {
			writeAPIError(w, http.StatusInternalServerError, "server_error", "oops")
			return
		}
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "A sentence.", 10, 5))
	})
	lim := NewLimiter(Limits{Requests: 2, Per: per, Margin: testMargin})
	r := NewRetryReasoner(NewLimitReasoner(newTestClient(t, f, nil), lim), fastRetry)
	if _, err := r.Think(context.Background(), inference.ThinkRequest{Instruction: "x"}); err != nil {
		t.Fatal(err)
	}
	hits := f.Hits()
	if len(hits) != 5 {
		t.Fatalf("got %d requests, want 5", len(hits))
	}
	if got := maxInWindow(hits, func(hit) int { return 1 }, per); got > 2 {
		t.Errorf("a %s window held %d attempts, want at most 2", per, got)
	}
}

func TestAcquire(t *testing.T) {
	t.Run("waits honour the context", func(t *testing.T) {
		lim := NewLimiter(Limits{Requests: 1, Per: time.Hour})
		p, err := lim.Acquire(context.Background(), Cost{})
		if err != nil {
			t.Fatal(err)
		}
		p.Done(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := lim.Acquire(ctx, Cost{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %s, want about 50ms", d)
		}
	})
	t.Run("concurrency slot waits honour the context", func(t *testing.T) {
		lim := NewLimiter(Limits{MaxConcurrent: 1})
		p, _ := lim.Acquire(context.Background(), Cost{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := lim.Acquire(ctx, Cost{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		p.Done(nil)
		p.Done(nil) // a second Done is harmless
		if p, err := lim.Acquire(context.Background(), Cost{}); err != nil {
			t.Errorf("after Done: %v", err)
		} else {
			p.Done(nil)
		}
	})
	t.Run("too large", func(t *testing.T) {
		lim := NewLimiter(Limits{InputTokens: 100})
		_, err := lim.Acquire(context.Background(), Cost{InputTokens: 101})
		want := "rate limit: a request of 101 input tokens can never fit the limit of 100 per 1m0s"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
	t.Run("usage corrects the estimate", func(t *testing.T) {
		lim := NewLimiter(Limits{InputTokens: 100, OutputTokens: 100, Per: time.Hour})
		p, _ := lim.Acquire(context.Background(), Cost{InputTokens: 90, OutputTokens: 90})
		p.Done(&schema.Usage{InputTokens: 30, OutputTokens: 20})
		lim.mu.Lock()
		in, out := lim.win[winInput].sum, lim.win[winOutput].sum
		lim.mu.Unlock()
		if in != 30 || out != 20 {
			t.Errorf("windows hold %d input and %d output tokens, want 30 and 20", in, out)
		}
		p, _ = lim.Acquire(context.Background(), Cost{InputTokens: 70, OutputTokens: 80})
		p.Done(nil) // no answer: output given back, input kept
		lim.mu.Lock()
		in, out = lim.win[winInput].sum, lim.win[winOutput].sum
		lim.mu.Unlock()
		if in != 100 || out != 20 {
			t.Errorf("windows hold %d input and %d output tokens, want 100 and 20", in, out)
		}
	})
}

func TestCosts(t *testing.T) {
	l := Limits{}
	png := []byte{1}
	tests := []struct {
		name string
		got  Cost
		want Cost
	}{
		{"think, no canvas", l.ThinkCost(inference.ThinkRequest{Instruction: strings.Repeat("x", 401), MaxTokens: 512}), Cost{8 + 101, 512}},
		{"think, canvas, no max", l.ThinkCost(inference.ThinkRequest{Instruction: "abcd", Canvas: png}), Cost{8 + 1 + 800, 1024}},
		{"critique", l.CritiqueCost(inference.CritiqueRequest{Instruction: "abcd", Canvas: png, MaxTokens: 64}), Cost{8 + 1 + 800, 64}},
		{"correction turn", l.CritiqueCost(inference.CritiqueRequest{Instruction: "abcd", Canvas: png, MaxTokens: 64, Unparsed: []string{"old", "abcdefgh"}}),
			Cost{3*8 + 1 + 800 + 2 + EstimateTokens(FormatReminder), 64}},
		{"custom image cost", Limits{ImageTokens: 85, OutputReserve: 256}.ThinkCost(inference.ThinkRequest{Canvas: png}), Cost{8 + 85, 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("cost = %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestLimiters(t *testing.T) {
	var s Limiters
	a := s.Get("https://api.openai.com/v1", "gpt-4o", Limits{Requests: 10})
	b := s.Get("https://api.openai.com/v1", "gpt-4o", Limits{Requests: 99})
	c := s.Get("https://api.openai.com/v1", "gpt-4o-mini", Limits{Requests: 10})
	if a != b {
		t.Error("the same endpoint and model got two limiters")
	}
	if a == c {
		t.Error("two models share a limiter")
	}
	if got := b.Limits().Requests; got != 10 {
		t.Errorf("limit = %d, want the first caller's 10", got)
	}
	if SharedLimiter("e", "m", Limits{}) != SharedLimiter("e", "m", Limits{}) {
		t.Error("SharedLimiter returned two limiters")
	}
}

// BenchmarkAcquire measures the limiter's overhead per request when no
// limit makes it wait.
func BenchmarkAcquire(b *testing.B) {
	lim := NewLimiter(Limits{Requests: 1 << 30, InputTokens: 1 << 30, OutputTokens: 1 << 30, Per: time.Millisecond, MaxConcurrent: 64})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := lim.Acquire(context.Background(), Cost{InputTokens: 1000, OutputTokens: 512})
			if err != nil {
				b.Fatal(err)
			}
			p.markSent()
			p.Done(&schema.Usage{InputTokens: 900, OutputTokens: 40})
		}
	})
}
