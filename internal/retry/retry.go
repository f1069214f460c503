// Package retry is the retry toolkit of twig's network clients: a
// [Policy] that bounds the attempts of one call and the waits between
// them, full-jitter exponential backoff, a loop ([Policy.Do]) that stops
// when the caller's context ends and honours the wait a server asks for,
// the parsing of the headers servers ask with ([Hint]), and the HTTP
// statuses that say "try again later" ([TemporaryStatus]).
//
// # Users
//
// Each user keeps its own policy and its own idea of which failures are
// transient (a [Classifier]):
//
//   - inference/teacher retries calls to OpenAI-compatible APIs: 408, 429
//     and 5xx answers, its own timeouts and broken connections, waiting
//     what the server's headers ask;
//   - inference/remote's pool retries calls to GPU workers: 429 and 5xx
//     answers, connection failures and timeouts, on another worker when
//     there is one, and cools a worker down for the Retry-After it sent;
//   - pipelines retries reads and writes of staged objects through short
//     outages of the object store.
//
// # Waits
//
// The wait after the n-th failed attempt is drawn uniformly from
// [0, min(Max, Base*2^(n-1))) ("full jitter": callers that failed together
// do not come back together). When the server named a wait, that wait is
// used instead, plus up to a tenth of it as jitter.
package retry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Policy bounds the attempts of one call and shapes the waits between
// them. The zero value makes one attempt.
type Policy struct {
	// Attempts bounds the calls, the first one included; less than 1
	// counts as 1.
	Attempts int
	// Base is the backoff ceiling after the first failure; each further
	// failure doubles it, up to Max (Max below Base counts as Base).
	Base, Max time.Duration
	// MaxWait bounds the total wait between the attempts of one call: a
	// wait that would take the total past it ends the retries at once.
	// Zero: no bound.
	MaxWait time.Duration
	// Rand draws the jitter; nil uses math/rand/v2's global source. A
	// *rand.Rand is not safe for concurrent use: set it only in tests,
	// with a seeded source, to make the waits reproducible.
	Rand *rand.Rand
}

// Classifier tells [Policy.Do] which failures are worth another attempt
// and how long the server asked to wait.
type Classifier struct {
	// Transient reports whether the call that failed with err may
	// succeed if made again. Nil: no failure is.
	Transient func(err error) bool
	// Hint returns the wait the server asked for with err (see [Hint]),
	// or 0. Nil: servers name no waits.
	Hint func(err error) time.Duration
}

// Backoff returns the full-jitter wait after the n-th failed attempt
// (n >= 1): a uniform draw from [0, min(Max, Base*2^(n-1))).
func (p Policy) Backoff(n int) time.Duration {
	limit := max(p.Max, p.Base)
	ceiling := p.Base
	for i := 1; i < n && ceiling < limit && ceiling <= math.MaxInt64/2; i++ {
		ceiling *= 2
	}
	return p.draw(min(ceiling, limit))
}

// draw returns a uniform duration in [0, d), or 0 when d <= 0.
func (p Policy) draw(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if p.Rand != nil {
		return time.Duration(p.Rand.Int64N(int64(d)))
	}
	return rand.N(d)
}

// wait is how long to wait after the n-th failed attempt: the server's
// hint plus up to a tenth of it, or else the backoff.
func (p Policy) wait(n int, hint time.Duration) time.Duration {
	if hint > 0 {
		return hint + p.draw(hint/10+1)
	}
	return p.Backoff(n)
}

// Do calls call until it succeeds; fails with an error that c does not
// call transient; fails after ctx is done; or the policy gives up: the
// attempts are used up, the next wait would pass MaxWait, or ctx's
// deadline comes before the next attempt could start. The error it
// returns is call's last one, wrapped to say why the retries stopped
// when they did (and wrapping ctx's error too when ctx ended the wait).
func (p Policy) Do(ctx context.Context, c Classifier, call func() error) error {
	attempts := max(p.Attempts, 1)
	var waited time.Duration
	for n := 1; ; n++ {
		err := call()
		if err == nil || ctx.Err() != nil || c.Transient == nil || !c.Transient(err) {
			return err
		}
		if n >= attempts {
			return fmt.Errorf("gave up after attempt %d: %w", n, err)
		}
		var hint time.Duration
		if c.Hint != nil {
			hint = c.Hint(err)
		}
		wait := p.wait(n, hint)
		if p.MaxWait > 0 && waited+wait > p.MaxWait {
			return fmt.Errorf("gave up after attempt %d (waiting %s more would pass the retry wait limit of %s): %w",
				n, wait.Round(time.Millisecond), p.MaxWait, err)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return fmt.Errorf("gave up after attempt %d (the context ends before the next one): %w", n, err)
		}
		if serr := Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("waiting to retry after attempt %d: %w (last error: %w)", n, serr, err)
		}
		waited += wait
	}
}

// Sleep waits d, or until ctx is done and then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
