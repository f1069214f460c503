package teacher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twigdata/twig/inference"
)

// RetryPolicy bounds retries. The zero value means the defaults below.
type RetryPolicy struct {
	// MaxAttempts counts the first call too (default 6).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// BaseDelay is the backoff before the second attempt; each further
	// attempt doubles it up to MaxDelay (defaults 1s and 30s). The wait
	// is drawn uniformly from [0, backoff) ("full jitter").
	BaseDelay time.Duration `json:"base_delay,omitempty"`
	MaxDelay  time.Duration `json:"max_delay,omitempty"`
	// MaxWait bounds the total time spent waiting between attempts of one
	// call (default 5m). A server's wait hint that would take the total
	// past it ends the retries at once.
	MaxWait time.Duration `json:"max_wait,omitempty"`
}

// Default retry bounds.
const (
	DefaultMaxAttempts = 6
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 30 * time.Second
	DefaultMaxWait     = 5 * time.Minute
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	return p
}

// backoff is the full-jitter wait before attempt n+1, after n failures.
func (p RetryPolicy) backoff(n int) time.Duration {
	ceiling := p.MaxDelay
	if n-1 < 30 {
		ceiling = min(p.MaxDelay, p.BaseDelay<<(n-1))
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// do runs call until it succeeds, fails permanently (see [Transient]),
// the attempts or the wait budget run out, or ctx is done. A server's wait
// hint is honoured, with up to 10% jitter added so that callers told the
// same wait do not come back together.
func (p RetryPolicy) do(ctx context.Context, call func(context.Context) error) error {
	p = p.withDefaults()
	var waited time.Duration
	for n := 1; ; n++ {
		err := call(ctx)
		if err == nil || ctx.Err() != nil || !Transient(err) {
			return err
		}
		if n >= p.MaxAttempts {
			return fmt.Errorf("gave up after attempt %d: %w", n, err)
		}
		wait := p.backoff(n)
		if h := retryAfter(err); h > 0 {
			wait = h + rand.N(h/10+1)
		}
		if waited+wait > p.MaxWait {
			return fmt.Errorf("gave up after attempt %d (waiting %s more would pass the retry wait limit of %s): %w",
				n, wait.Round(time.Millisecond), p.MaxWait, err)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return fmt.Errorf("gave up after attempt %d (the context ends before the next one): %w", n, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting to retry after attempt %d: %w (last error: %w)", n, ctx.Err(), err)
		}
		waited += wait
	}
}

// RetryReasoner retries the calls of another reasoner that fail
// transiently (see [Transient]): 408, 429, 500, 502, 503 and 504 answers,
// timeouts and broken connections. Put it outside a [LimitReasoner], so
// that every attempt waits for the rate limits.
type RetryReasoner struct {
	next   inference.Reasoner
	policy RetryPolicy
}

var _ inference.Reasoner = (*RetryReasoner)(nil)

// NewRetryReasoner returns next with retries under policy.
func NewRetryReasoner(next inference.Reasoner, policy RetryPolicy) *RetryReasoner {
	return &RetryReasoner{next: next, policy: policy}
}

// Think calls next.Think until it succeeds or the policy gives up.
func (r *RetryReasoner) Think(ctx context.Context, req inference.ThinkRequest) (reply inference.Reply, err error) {
	err = r.policy.do(ctx, func(ctx context.Context) (err error) {
		reply, err = r.next.Think(ctx, req)
		return err
	})
	return reply, err
}

// Critique calls next.Critique until it succeeds or the policy gives up.
func (r *RetryReasoner) Critique(ctx context.Context, req inference.CritiqueRequest) (reply inference.Reply, err error) {
	err = r.policy.do(ctx, func(ctx context.Context) (err error) {
		reply, err = r.next.Critique(ctx, req)
		return err
	})
	return reply, err
}

// RetryDrawer is [RetryReasoner] for an [inference.Drawer].
type RetryDrawer struct {
	next   inference.Drawer
	policy RetryPolicy
}

var _ inference.Drawer = (*RetryDrawer)(nil)

// NewRetryDrawer returns next with retries under policy.
func NewRetryDrawer(next inference.Drawer, policy RetryPolicy) *RetryDrawer {
	return &RetryDrawer{next: next, policy: policy}
}

// Draw calls next.Draw until it succeeds or the policy gives up.
func (r *RetryDrawer) Draw(ctx context.Context, req inference.DrawRequest) (resp inference.DrawResponse, err error) {
	err = r.policy.do(ctx, func(ctx context.Context) (err error) {
		resp, err = r.next.Draw(ctx, req)
		return err
	})
	return resp, err
}
