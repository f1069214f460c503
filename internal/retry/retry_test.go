package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		n      int
		limit  time.Duration // every draw is below it
	}{
		{"first", Policy{Base: 100 * time.Millisecond, Max: time.Second}, 1, 100 * time.Millisecond},
		{"second doubles", Policy{Base: 100 * time.Millisecond, Max: time.Second}, 2, 200 * time.Millisecond},
		{"fourth", Policy{Base: 100 * time.Millisecond, Max: time.Second}, 4, 800 * time.Millisecond},
		{"capped", Policy{Base: 100 * time.Millisecond, Max: time.Second}, 5, time.Second},
		{"far past the cap", Policy{Base: 100 * time.Millisecond, Max: time.Second}, 1000, time.Second},
		{"max below base", Policy{Base: time.Second, Max: time.Millisecond}, 3, time.Second},
		{"no overflow", Policy{Base: time.Hour, Max: 1 << 62}, 200, 1 << 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.policy.Rand = rand.New(rand.NewPCG(1, 2))
			var most time.Duration
			for range 500 {
				d := tt.policy.Backoff(tt.n)
				if d < 0 || d >= tt.limit {
					t.Fatalf("Backoff(%d) = %s, want in [0, %s)", tt.n, d, tt.limit)
				}
				most = max(most, d)
			}
			// Full jitter: the draws reach the top of the range.
			if most < tt.limit*9/10 {
				t.Errorf("Backoff(%d) reached only %s in 500 draws, want close to %s", tt.n, most, tt.limit)
			}
		})
	}
	if d := (Policy{}).Backoff(3); d != 0 {
		t.Errorf("zero Policy: Backoff = %s, want 0", d)
	}
}

func TestBackoffSeeded(t *testing.T) {
	draws := func() []time.Duration {
		p := Policy{Base: time.Second, Max: time.Minute, Rand: rand.New(rand.NewPCG(7, 7))}
		var out []time.Duration
		for n := 1; n <= 8; n++ {
			out = append(out, p.Backoff(n))
		}
		return out
	}
	a, b := draws(), draws()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draws with the same seed differ: %v and %v", a, b)
		}
	}
}

func TestHintJitter(t *testing.T) {
	p := Policy{Base: time.Hour, Max: time.Hour, Rand: rand.New(rand.NewPCG(3, 4))}
	hint := time.Second
	var most time.Duration
	for range 500 {
		w := p.wait(1, hint)
		if w < hint || w > hint+hint/10 {
			t.Fatalf("wait with hint %s = %s, want in [%s, %s]", hint, w, hint, hint+hint/10)
		}
		most = max(most, w)
	}
	if most < hint+hint/20 {
		t.Errorf("hint jitter reached only %s, want up to %s", most, hint+hint/10)
	}
}

var errBusy = errors.New("busy")

func TestDo(t *testing.T) {
	errBad := errors.New("bad request")
	transient := Classifier{Transient: func(err error) bool { return errors.Is(err, errBusy) }}
	fast := Policy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}
	tests := []struct {
		name      string
		policy    Policy
		class     Classifier
		errs      []error // the results of the calls, in order; nil after the end
		wantCalls int
		wantErr   error  // errors.Is target; nil: success
		wantMsg   string // prefix of the error message
	}{
		{name: "success", policy: fast, class: transient, wantCalls: 1},
		{name: "transient then success", policy: fast, class: transient, errs: []error{errBusy, errBusy}, wantCalls: 3},
		{name: "permanent", policy: fast, class: transient, errs: []error{errBusy, errBad}, wantCalls: 2, wantErr: errBad, wantMsg: "bad request"},
		{name: "attempts used up", policy: fast, class: transient, errs: []error{errBusy, errBusy, errBusy, errBusy, errBusy},
			wantCalls: 4, wantErr: errBusy, wantMsg: "gave up after attempt 4: busy"},
		{name: "zero policy makes one attempt", class: transient, errs: []error{errBusy}, wantCalls: 1,
			wantErr: errBusy, wantMsg: "gave up after attempt 1: busy"},
		{name: "no classifier retries nothing", policy: fast, errs: []error{errBusy}, wantCalls: 1, wantErr: errBusy, wantMsg: "busy"},
		{name: "hint past the wait limit", policy: Policy{Attempts: 4, MaxWait: time.Second},
			class:     Classifier{Transient: transient.Transient, Hint: func(error) time.Duration { return time.Minute }},
			errs:      []error{errBusy},
			wantCalls: 1, wantErr: errBusy, wantMsg: "gave up after attempt 1 (waiting 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := tt.policy.Do(context.Background(), tt.class, func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Do = %v, want success", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Do = %v, want it to wrap %v", err, tt.wantErr)
			case tt.wantErr != nil && !strings.HasPrefix(err.Error(), tt.wantMsg):
				t.Errorf("Do = %q, want it to start with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDoHonoursHint(t *testing.T) {
	const hint = 50 * time.Millisecond
	p := Policy{Attempts: 2, Base: time.Hour, Max: time.Hour} // only the hint explains a short wait
	c := Classifier{Transient: func(error) bool { return true }, Hint: func(error) time.Duration { return hint }}
	var at []time.Time
	err := p.Do(context.Background(), c, func() error {
		at = append(at, time.Now())
		if len(at) == 1 {
			return errBusy
		}
		return nil
	})
	if err != nil || len(at) != 2 {
		t.Fatalf("Do = %v after %d calls, want success after 2", err, len(at))
	}
	if gap := at[1].Sub(at[0]); gap < hint || gap > hint+hint/10+time.Second {
		t.Errorf("the retry came %s after the failure, want %s plus up to a tenth", gap, hint)
	}
}

func TestDoContext(t *testing.T) {
	always := Classifier{Transient: func(error) bool { return true }}
	slow := Policy{Attempts: 10, Base: time.Hour, Max: time.Hour}
	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		start := time.Now()
		waitLong := Classifier{Transient: always.Transient, Hint: func(error) time.Duration { return time.Hour }}
		err := slow.Do(ctx, waitLong, func() error {
			calls++
			time.AfterFunc(20*time.Millisecond, cancel)
			return errBusy
		})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errBusy) {
			t.Errorf("Do = %v, want it to wrap context.Canceled and the last error", err)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "waiting to retry after attempt 1: context canceled (last error: busy)") {
			t.Errorf("Do = %v, want it to say it was waiting", err)
		}
		if calls != 1 || time.Since(start) > 5*time.Second {
			t.Errorf("%d calls in %s, want 1 and a prompt return", calls, time.Since(start))
		}
	})
	t.Run("canceled during the call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		err := slow.Do(ctx, always, func() error { cancel(); return errBusy })
		if err != errBusy {
			t.Errorf("Do = %v, want the call's own error, unwrapped", err)
		}
	})
	t.Run("deadline before the next attempt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		err := Policy{Attempts: 10, Base: time.Hour, Max: time.Hour}.Do(ctx,
			Classifier{Transient: always.Transient, Hint: func(error) time.Duration { return 2 * time.Minute }},
			func() error { return errBusy })
		if err == nil || !strings.Contains(err.Error(), "the context ends before the next one") || !errors.Is(err, errBusy) {
			t.Errorf("Do = %v, want a give-up before the deadline", err)
		}
		if time.Since(start) > time.Second {
			t.Errorf("took %s, want no wait for an attempt that cannot happen", time.Since(start))
		}
	})
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep after cancel = %v, want context.Canceled", err)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) after cancel = %v, want context.Canceled", err)
	}
}
