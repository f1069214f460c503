package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/internal/retry"
)

var (
	_ inference.Painter = (*Pool)(nil)
	_ inference.Encoder = (*Pool)(nil)
)

// PoolOptions configures a [Pool]. A zero field takes the default that
// [DefaultPoolOptions] shows, except HealthInterval, whose zero disables
// the background health checker.
type PoolOptions struct {
	// MaxInFlightPerEndpoint bounds the calls in flight to one endpoint;
	// callers beyond it wait. Default 64: enough to fill a worker's batch
	// (the worker's max_batch).
	MaxInFlightPerEndpoint int
	// Timeout bounds each attempt, reading the answer included. Default 2m.
	Timeout time.Duration
	// Retries is the number of retries of a call after its first attempt,
	// for transient failures only. Default 5; negative means none.
	Retries int
	// BackoffBase and BackoffMax shape the wait before retry r: a uniform
	// random duration in [0, min(BackoffMax, BackoffBase*2^(r-1))) (full
	// jitter, see internal/retry). BackoffMax also caps a worker's
	// Retry-After. Defaults 200ms and 30s.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// HealthInterval is the period of the background health checker,
	// which probes every endpoint's /healthz; 0 disables it.
	// DefaultPoolOptions sets 10s.
	HealthInterval time.Duration
	// HTTPClient sends the requests; nil means a client of the pool's own
	// whose transport keeps MaxInFlightPerEndpoint idle connections per
	// endpoint.
	HTTPClient *http.Client
	// Observer, if not nil, is called synchronously after every attempt
	// and every health probe, from many goroutines at once. It is where
	// latencies, endpoints and statuses go (metrics, logs): they are never
	// part of a call's result.
	Observer func(Observation)
}

// DefaultPoolOptions returns the default options.
func DefaultPoolOptions() PoolOptions {
	return PoolOptions{
		MaxInFlightPerEndpoint: 64,
		Timeout:                2 * time.Minute,
		Retries:                5,
		BackoffBase:            200 * time.Millisecond,
		BackoffMax:             30 * time.Second,
		HealthInterval:         10 * time.Second,
	}
}

// Observation describes one attempt of a call, or one health probe.
type Observation struct {
	// Endpoint is the worker's base URL; Op the operation (OpGenerate,
	// ..., OpHealth).
	Endpoint string
	Op       string
	// Attempt is 1 for a call's first attempt, 2 for its first retry, and
	// so on; 0 for a health probe.
	Attempt int
	// Latency is the attempt's wall-clock duration.
	Latency time.Duration
	// Code is the HTTP status of the answer; 0 when there was none
	// (connection failure, timeout, cancellation).
	Code int
	// Err is the attempt's error, nil on success.
	Err error
}

// maxHealthTimeout bounds a health probe.
const maxHealthTimeout = 10 * time.Second

// endpoint is one worker of a pool. Fields below client are guarded by
// Pool.mu.
type endpoint struct {
	i      int
	client *Client

	inFlight  int
	healthy   bool
	coolUntil time.Time // Retry-After: not picked before then
	lastErr   error     // last transient failure, for UnavailableError

	probing  chan struct{} // non-nil while a probe runs; closed when done
	probedAt time.Time     // end of the last probe
}

// Pool spreads calls over the workers of several endpoints: it balances
// load, bounds concurrency per endpoint, retries transient failures and
// keeps track of the endpoints' health. It implements [inference.Painter]
// and [inference.Encoder], and is safe for concurrent use. See the package
// documentation for the policies.
type Pool struct {
	opts          PoolOptions
	retry         retry.Policy // from opts: attempts and backoff of one call
	eps           []*endpoint
	ownTransport  *http.Transport // nil when the caller gave HTTPClient
	healthTimeout time.Duration
	probeGap      time.Duration // a probe's result stands this long

	bg     context.Context // done on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the checker and probes

	mu      sync.Mutex
	next    int           // round-robin start
	changed chan struct{} // closed (and replaced) when a slot frees or health or cooldowns change
	closed  bool
}

// NewPool returns a pool over the workers at endpoints (http or https base
// URLs). Zero options take their defaults (see [PoolOptions]). It starts
// the background health checker unless opts.HealthInterval is 0; Close
// stops it. Every endpoint starts healthy.
func NewPool(endpoints []string, opts PoolOptions) (*Pool, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("remote: no endpoints")
	}
	def := DefaultPoolOptions()
	if opts.MaxInFlightPerEndpoint <= 0 {
		opts.MaxInFlightPerEndpoint = def.MaxInFlightPerEndpoint
	}
	if opts.Timeout <= 0 {
		opts.Timeout = def.Timeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = def.Retries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = def.BackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = def.BackoffMax
	}
	if opts.BackoffMax < opts.BackoffBase {
		opts.BackoffMax = opts.BackoffBase
	}
	if opts.HealthInterval < 0 {
		opts.HealthInterval = 0
	}
	p := &Pool{
		opts:          opts,
		retry:         retry.Policy{Attempts: 1 + opts.Retries, Base: opts.BackoffBase, Max: opts.BackoffMax},
		healthTimeout: min(opts.Timeout, maxHealthTimeout),
		probeGap:      min(opts.BackoffBase, time.Second),
		changed:       make(chan struct{}),
	}
	hc := opts.HTTPClient
	if hc == nil {
		p.ownTransport = http.DefaultTransport.(*http.Transport).Clone()
		p.ownTransport.MaxIdleConnsPerHost = opts.MaxInFlightPerEndpoint
		hc = &http.Client{Transport: p.ownTransport}
	}
	seen := make(map[string]bool)
	for i, s := range endpoints {
		ep, err := normalizeEndpoint(s)
		if err != nil {
			return nil, err
		}
		if seen[ep] {
			return nil, fmt.Errorf("remote: endpoint %s listed twice", ep)
		}
		seen[ep] = true
		p.eps = append(p.eps, &endpoint{
			i:       i,
			client:  &Client{Endpoint: ep, HTTPClient: hc, Timeout: opts.Timeout},
			healthy: true,
		})
	}
	p.bg, p.cancel = context.WithCancel(context.Background())
	if opts.HealthInterval > 0 {
		p.wg.Add(1)
		go p.checkLoop()
	}
	return p, nil
}

// Endpoints returns the pool's endpoints, normalised, in order.
func (p *Pool) Endpoints() []string {
	out := make([]string, len(p.eps))
	for i, ep := range p.eps {
		out[i] = ep.client.Endpoint
	}
	return out
}

// Close stops the health checker and waits for it. Calls must be done
// before Close: after it, an unhealthy endpoint never comes back.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	if p.ownTransport != nil {
		p.ownTransport.CloseIdleConnections()
	}
	return nil
}

// Generate implements [inference.Painter] on the pool's workers.
func (p *Pool) Generate(ctx context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	var resp inference.GenerateResponse
	err := p.do(ctx, OpGenerate, func(ctx context.Context, c *Client) error {
		r, err := c.Generate(ctx, req)
		resp = r
		return err
	})
	return resp, err
}

// Decode implements [inference.Painter] on the pool's workers.
func (p *Pool) Decode(ctx context.Context, tokens []int32) (inference.DecodeResponse, error) {
	var resp inference.DecodeResponse
	err := p.do(ctx, OpDecode, func(ctx context.Context, c *Client) error {
		r, err := c.Decode(ctx, tokens)
		resp = r
		return err
	})
	return resp, err
}

// Encode implements [inference.Encoder] on the pool's workers.
func (p *Pool) Encode(ctx context.Context, png []byte) ([]int32, error) {
	var tokens []int32
	err := p.do(ctx, OpEncode, func(ctx context.Context, c *Client) error {
		t, err := c.Encode(ctx, png)
		tokens = t
		return err
	})
	return tokens, err
}

// do runs call on a picked endpoint, retrying transient failures.
func (p *Pool) do(ctx context.Context, op string, call func(context.Context, *Client) error) error {
	attempts := p.retry.Attempts
	tried := make(map[*endpoint]bool, len(p.eps))
	var last error
	for a := 1; a <= attempts; a++ {
		// A Retry-After is not waited here: it cools its endpoint down, and
		// acquire picks another one or waits for the cooldown.
		if a > 1 {
			if err := retry.Sleep(ctx, p.retry.Backoff(a-1)); err != nil {
				return fmt.Errorf("remote %s: waiting to retry: %w", op, err)
			}
		}
		ep, err := p.acquire(ctx, tried)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("remote %s: waiting for a worker: %w", op, ctx.Err())
			}
			last = err
			continue
		}
		start := time.Now()
		err = call(ctx, ep.client)
		latency := time.Since(start)
		p.release(ep, err)
		p.observe(Observation{Endpoint: ep.client.Endpoint, Op: op, Attempt: a, Latency: latency, Code: statusOf(err), Err: err})
		if err == nil {
			return nil
		}
		if !IsTransient(err) {
			return err
		}
		tried[ep] = true
		last = err
	}
	var ue *UnavailableError
	if errors.As(last, &ue) {
		ue.Op, ue.Attempts = op, attempts
		return ue
	}
	return fmt.Errorf("remote %s: gave up after %d attempts: %w", op, attempts, last)
}

// unavailable is acquire's answer when no endpoint is healthy, even after
// probing: the endpoints and their last errors (do fills in the rest).
func (p *Pool) unavailable() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ue := &UnavailableError{}
	for _, ep := range p.eps {
		ue.Endpoints = append(ue.Endpoints, ep.client.Endpoint)
		ue.Errs = append(ue.Errs, ep.lastErr)
	}
	return ue
}

// acquire takes a slot on the best endpoint, waiting while all healthy
// endpoints are full or cooling down. When none is healthy it probes the
// unhealthy ones once, and returns an *UnavailableError if none passes.
func (p *Pool) acquire(ctx context.Context, tried map[*endpoint]bool) (*endpoint, error) {
	probed := false
	for {
		p.mu.Lock()
		ep, wait, anyHealthy := p.pickLocked(tried, time.Now())
		if ep != nil {
			ep.inFlight++
			p.mu.Unlock()
			return ep, nil
		}
		changed := p.changed
		p.mu.Unlock()
		if !anyHealthy {
			if probed {
				return nil, p.unavailable()
			}
			probed = true
			p.probeUnhealthy(ctx)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		var timer *time.Timer
		var expired <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-expired:
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// pickLocked returns the healthy endpoint with a free slot that is not
// cooling down, preferring endpoints not yet tried by this call, then the
// fewest calls in flight, then round robin. With none, wait is how long
// until the first cooldown ends (0: wait for a slot), and anyHealthy
// whether any endpoint is healthy.
func (p *Pool) pickLocked(tried map[*endpoint]bool, now time.Time) (best *endpoint, wait time.Duration, anyHealthy bool) {
	n := len(p.eps)
	for k := range n {
		ep := p.eps[(p.next+k)%n]
		if !ep.healthy {
			continue
		}
		anyHealthy = true
		if ep.inFlight >= p.opts.MaxInFlightPerEndpoint {
			continue
		}
		if now.Before(ep.coolUntil) {
			if w := ep.coolUntil.Sub(now); wait == 0 || w < wait {
				wait = w
			}
			continue
		}
		if best == nil || better(ep, best, tried) {
			best = ep
		}
	}
	if best != nil {
		p.next = (best.i + 1) % n
		wait = 0
	}
	return best, wait, anyHealthy
}

// better reports whether a is a better pick than b: not yet tried by the
// call, then fewer calls in flight.
func better(a, b *endpoint, tried map[*endpoint]bool) bool {
	if tried[a] != tried[b] {
		return !tried[a]
	}
	return a.inFlight < b.inFlight
}

// release frees ep's slot and records what the attempt says about ep: a
// connection failure makes it unhealthy, a Retry-After cools it down.
func (p *Pool) release(ep *endpoint, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ep.inFlight--
	switch {
	case err == nil:
		// An unhealthy endpoint stays so until a probe passes, and keeps
		// the error that made it so: an UnavailableError names that cause.
		if ep.healthy {
			ep.lastErr = nil
		}
	case IsTransient(err):
		ep.lastErr = err
		var e *Error
		if errors.As(err, &e) && e.Kind == Connection {
			ep.healthy = false
		}
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			until := time.Now().Add(min(se.RetryAfter, p.opts.BackoffMax))
			if until.After(ep.coolUntil) {
				ep.coolUntil = until
			}
		}
	}
	p.signalLocked()
}

// signalLocked wakes the callers waiting in acquire.
func (p *Pool) signalLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pool) observe(o Observation) {
	if p.opts.Observer != nil {
		p.opts.Observer(o)
	}
}

// statusOf returns the HTTP status an attempt got: 200 on success or for
// a bad 2xx answer, the error status, or 0 without an answer.
func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	var e *Error
	if errors.As(err, &e) && e.Kind == BadAnswer {
		return http.StatusOK
	}
	return 0
}

// Info asks every endpoint which model it serves, retrying transient
// failures (a worker that is still loading answers 503), and checks that
// all serve the same model, revision, image size, patch size and codebook
// size, and report the same prompt wrapper. It returns the first
// endpoint's answer, or an error naming the endpoints that fail or
// disagree. Call it before a run to reject a bad configuration early.
//
// A worker older than the prompt_wrapper field reports none; a pool of
// such workers agrees, and Info returns an empty PromptWrapper: the caller
// cannot tell what text the workers wrap the prefix in. A pool that mixes
// workers with and without a wrapper disagrees, since a record could not
// say which text its regions were conditioned on.
func (p *Pool) Info(ctx context.Context) (worker.Info, error) {
	infos := make([]worker.Info, len(p.eps))
	errs := make([]error, len(p.eps))
	var wg sync.WaitGroup
	for i, ep := range p.eps {
		wg.Go(func() { infos[i], errs[i] = p.infoFrom(ctx, ep) })
	}
	wg.Wait()
	// Endpoints that cannot be reached (a transient failure: refused,
	// reset, timed out, 5xx) are left to the pool's health checks: a run
	// routes around a dead worker. An endpoint that answers wrongly (a 4xx:
	// not a twig worker) fails, and so does a pool where none answers;
	// every answer must agree.
	var answered []int
	for i, err := range errs {
		switch {
		case err == nil:
			answered = append(answered, i)
		case !IsTransient(err):
			return worker.Info{}, fmt.Errorf("remote info: %w", err)
		}
	}
	if len(answered) == 0 {
		return worker.Info{}, fmt.Errorf("remote info: %w", errors.Join(errs...))
	}
	if len(answered) < len(infos) {
		kept := make([]worker.Info, 0, len(answered))
		eps := make([]*endpoint, 0, len(answered))
		for _, i := range answered {
			kept = append(kept, infos[i])
			eps = append(eps, p.eps[i])
		}
		infos = kept
		return p.agree(infos, eps)
	}
	return p.agree(infos, p.eps)
}

// agree returns the info every endpoint of eps gave, or an error naming
// the endpoints that disagree with the majority.
func (p *Pool) agree(infos []worker.Info, eps []*endpoint) (worker.Info, error) {
	type key struct {
		model, revision                    string
		imageSize, patchSize, codebookSize int
		promptWrapper                      string
	}
	keyOf := func(in worker.Info) key {
		return key{in.Model, in.Revision, in.ImageSize, in.PatchSize, in.CodebookSize, in.PromptWrapper}
	}
	var order []key
	groups := make(map[key][]string)
	wrappers := make(map[string]bool)
	for i, in := range infos {
		k := keyOf(in)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], eps[i].client.Endpoint)
		wrappers[in.PromptWrapper] = true
	}
	if len(order) == 1 {
		return infos[0], nil
	}
	ref := order[0] // the majority, the first endpoint's on ties
	for _, k := range order[1:] {
		if len(groups[k]) > len(groups[ref]) {
			ref = k
		}
	}
	describe := func(k key, eps []string) string {
		verb := "serves"
		if len(eps) > 1 {
			verb = "serve"
		}
		d := fmt.Sprintf("%s %s %s@%s (%d px images, %d px patches, %d codes)",
			strings.Join(eps, ", "), verb, k.model, k.revision, k.imageSize, k.patchSize, k.codebookSize)
		// The wrapper is long: named only when the workers differ in it.
		switch {
		case len(wrappers) == 1:
		case k.promptWrapper == "":
			d += " with no prompt wrapper"
		default:
			d += fmt.Sprintf(" with prompt wrapper %q", k.promptWrapper)
		}
		return d
	}
	var odd []string
	for _, k := range order {
		if k != ref {
			odd = append(odd, describe(k, groups[k]))
		}
	}
	return worker.Info{}, fmt.Errorf("remote info: workers disagree: %s; but %s",
		strings.Join(odd, "; "), describe(ref, groups[ref]))
}

// infoFrom asks one endpoint for its info, retrying transient failures
// with backoff, or after the worker's Retry-After (at most BackoffMax).
func (p *Pool) infoFrom(ctx context.Context, ep *endpoint) (worker.Info, error) {
	var info worker.Info
	a := 0
	err := p.retry.Do(ctx, retry.Classifier{Transient: IsTransient, Hint: p.retryAfter}, func() (err error) {
		a++
		start := time.Now()
		info, err = ep.client.Info(ctx)
		p.observe(Observation{Endpoint: ep.client.Endpoint, Op: OpInfo, Attempt: a, Latency: time.Since(start), Code: statusOf(err), Err: err})
		return err
	})
	if err != nil {
		return worker.Info{}, err
	}
	return info, nil
}

// retryAfter is the wait a worker asked for with err, at most BackoffMax.
func (p *Pool) retryAfter(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return min(se.RetryAfter, p.opts.BackoffMax)
	}
	return 0
}
