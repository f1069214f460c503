package teacher

import (
	"context"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/internal/retry"
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

// policy is p, defaults filled in, as the retry toolkit's policy.
func (p RetryPolicy) policy() retry.Policy {
	q := retry.Policy{Attempts: p.MaxAttempts, Base: p.BaseDelay, Max: p.MaxDelay, MaxWait: p.MaxWait}
	if q.Attempts <= 0 {
		q.Attempts = DefaultMaxAttempts
	}
	if q.Base <= 0 {
		q.Base = DefaultBaseDelay
	}
	if q.Max <= 0 {
		q.Max = DefaultMaxDelay
	}
	if q.MaxWait <= 0 {
		q.MaxWait = DefaultMaxWait
	}
	return q
}

// classifier is what the teachers retry ([Transient]) and the wait their
// servers ask for ([Error].RetryAfter).
var classifier = retry.Classifier{Transient: Transient, Hint: retryAfter}

// RetryCompleter retries the calls of another [Completer] that fail
// transiently (see [Transient]): 408, 429, 500, 502, 503 and 504 answers,
// timeouts and broken connections. It waits what the server asks for, or
// else a full-jitter backoff (see internal/retry). Put it outside a
// [LimitCompleter], so that every attempt waits for the rate limits.
type RetryCompleter struct {
	next   Completer
	policy retry.Policy
}

var _ Completer = (*RetryCompleter)(nil)

// NewRetryCompleter returns next with retries under p.
func NewRetryCompleter(next Completer, p RetryPolicy) *RetryCompleter {
	return &RetryCompleter{next: next, policy: p.policy()}
}

// Complete makes the call until it succeeds or the policy gives up, and
// returns the last attempt's result and error.
func (r *RetryCompleter) Complete(ctx context.Context, call Call) (res Result, err error) {
	err = r.policy.Do(ctx, classifier, func() (err error) {
		res, err = r.next.Complete(ctx, call)
		return err
	})
	return res, err
}

// NewRetryReasoner returns next with retries under policy (see
// [RetryCompleter]).
func NewRetryReasoner(next inference.Reasoner, policy RetryPolicy) inference.Reasoner {
	return AsReasoner(NewRetryCompleter(reasonerCompleter(next), policy))
}

// NewRetryDrawer returns next with retries under policy.
func NewRetryDrawer(next inference.Drawer, policy RetryPolicy) inference.Drawer {
	return AsDrawer(NewRetryCompleter(drawerCompleter(next), policy))
}

// NewRetryViewer returns next with retries under policy.
func NewRetryViewer(next inference.Viewer, policy RetryPolicy) inference.Viewer {
	return AsViewer(NewRetryCompleter(viewerCompleter(next), policy))
}
