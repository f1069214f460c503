package teacher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/internal/retry"
)

// fastRetry retries at once, so tests that do not test the waits are quick.
var fastRetry = RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// TestRetryHonoursServerWait: a 429 with a wait hint, then success; the
// second request must come no earlier than the hint.
func TestRetryHonoursServerWait(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"Retry-After", map[string]string{"Retry-After": "1"}, time.Second},
		{"retry-after-ms", map[string]string{"retry-after-ms": "300"}, 300 * time.Millisecond},
		{"x-ratelimit-reset-requests", map[string]string{"x-ratelimit-reset-requests": "400ms", "x-ratelimit-remaining-requests": "0"}, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int, _ wireRequest) {
				if n == 0 {
					for k, v := range tt.header {
						w.Header().Set(k, v)
					}
					writeAPIError(w, http.StatusTooManyRequests, "requests", "Rate limit reached for gpt-4o")
					return
				}
				writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "A sentence.", 10, 5))
			})
			// BaseDelay is tiny: only the hint can explain a long wait.
			r := NewRetryReasoner(newTestClient(t, f, nil), fastRetry)
			got, err := r.Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
			if err != nil || got.Text != "A sentence." {
				t.Fatalf("Think = %+v, %v; want the second answer", got, err)
			}
			hits := f.Hits()
			if len(hits) != 2 {
				t.Fatalf("got %d requests, want 2", len(hits))
			}
			gap := hits[1].at.Sub(hits[0].at)
			if gap < tt.want || gap > tt.want+tt.want/10+500*time.Millisecond {
				t.Errorf("the retry came %s after the 429, want %s (+ up to 10%% jitter)", gap, tt.want)
			}
			t.Logf("hint %s, retried after %s", tt.want, gap.Round(time.Millisecond))
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name     string
		failures []int // statuses of the first answers; 0: drop the connection
	}{
		{"500s", []int{500, 500}},
		{"gateway errors", []int{502, 503, 504}},
		{"408 and 429", []int{408, 429}},
		{"connection reset", []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int, _ wireRequest) {
				if n < len(tt.failures) {
					if tt.failures[n] == 0 {
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							conn.Close()
						}
						return
					}
					writeAPIError(w, tt.failures[n], "server_error", "try again")
					return
				}
				writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "SCORE: 90\nIMPROVED_DESCRIPTION: Same.", 10, 5))
			})
			r := NewRetryReasoner(newTestClient(t, f, nil), fastRetry)
			got, err := r.Critique(context.Background(), inference.CritiqueRequest{Instruction: "x"})
			if err != nil {
				t.Fatalf("Critique: %v", err)
			}
			if got.Text != "SCORE: 90\nIMPROVED_DESCRIPTION: Same." {
				t.Errorf("Text = %q", got.Text)
			}
			if n, want := len(f.Hits()), len(tt.failures)+1; n != want {
				t.Errorf("got %d requests, want %d", n, want)
			}
		})
	}
}

func TestRetryTimeoutThenSuccess(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int, _ wireRequest) {
		if n == 0 {
			select { // hang past the client's timeout
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "A sentence.", 10, 5))
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 150 * time.Millisecond })
	start := time.Now()
	got, err := NewRetryReasoner(c, fastRetry).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
	if err != nil || got.Text != "A sentence." {
		t.Fatalf("Think = %+v, %v; want the second answer", got, err)
	}
	if n := len(f.Hits()); n != 2 {
		t.Errorf("got %d requests, want 2", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want about the 150ms timeout", d)
	}
}

// TestNoRetryOnClientErrors: a request the server calls wrong is sent once.
func TestNoRetryOnClientErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				writeAPIError(w, status, "invalid_request_error", "bad request")
			})
			_, err := NewRetryReasoner(newTestClient(t, f, nil), fastRetry).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != status {
				t.Fatalf("err = %v, want an *Error with status %d", err, status)
			}
			if n := len(f.Hits()); n != 1 {
				t.Errorf("the server was hit %d times, want 1", n)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		policy   RetryPolicy
		header   string // Retry-After
		wantHits int
		wantMsg  string
		maxTime  time.Duration
	}{
		{name: "attempts", policy: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond}, wantHits: 3,
			wantMsg: "gave up after attempt 3: think gpt-4o at ", maxTime: time.Second},
		{name: "default attempts", policy: fastRetry, wantHits: DefaultMaxAttempts,
			wantMsg: "gave up after attempt 6: ", maxTime: time.Second},
		{name: "wait bound", policy: RetryPolicy{MaxWait: time.Second}, header: "30", wantHits: 1,
			wantMsg: "gave up after attempt 1 (waiting ", maxTime: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				writeAPIError(w, http.StatusServiceUnavailable, "server_error", "overloaded")
			})
			start := time.Now()
			_, err := NewRetryReasoner(newTestClient(t, f, nil), tt.policy).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantMsg)
			}
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 503 {
				t.Errorf("err = %v does not wrap the last *Error", err)
			}
			if n := len(f.Hits()); n != tt.wantHits {
				t.Errorf("got %d requests, want %d", n, tt.wantHits)
			}
			if d := time.Since(start); d > tt.maxTime {
				t.Errorf("took %s, want under %s", d, tt.maxTime)
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		w.Header().Set("Retry-After", "2")
		writeAPIError(w, http.StatusTooManyRequests, "requests", "slow down")
	})
	r := NewRetryReasoner(newTestClient(t, f, nil), RetryPolicy{})
	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := r.Think(ctx, inference.ThinkRequest{Instruction: "x"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 429 {
			t.Errorf("err = %v, want it to keep the last *Error", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %s after the cancel, want at once", d)
		}
	})
	t.Run("deadline before the next attempt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Think(ctx, inference.ThinkRequest{Instruction: "x"})
		if err == nil || !strings.Contains(err.Error(), "the context ends before the next one") {
			t.Errorf("err = %v, want a give-up before the deadline", err)
		}
		if d := time.Since(start); d > 300*time.Millisecond {
			t.Errorf("took %s, want no wait for a retry that cannot happen", d)
		}
	})
}

func TestRetryPolicyDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   RetryPolicy
		want retry.Policy
	}{
		{"zero", RetryPolicy{}, retry.Policy{Attempts: DefaultMaxAttempts, Base: DefaultBaseDelay, Max: DefaultMaxDelay, MaxWait: DefaultMaxWait}},
		{"set", RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Second, MaxWait: time.Minute},
			retry.Policy{Attempts: 2, Base: time.Millisecond, Max: time.Second, MaxWait: time.Minute}},
		{"negative", RetryPolicy{MaxAttempts: -1, BaseDelay: -1, MaxDelay: -1, MaxWait: -1},
			retry.Policy{Attempts: DefaultMaxAttempts, Base: DefaultBaseDelay, Max: DefaultMaxDelay, MaxWait: DefaultMaxWait}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.policy(); got != tt.want {
				t.Errorf("policy() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
