package teacher

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// Limits are an endpoint's quotas for one model, as providers publish
// them: requests, input tokens and output tokens per window (a minute by
// default), and requests in flight. A zero field means no limit.
type Limits struct {
	// Requests, InputTokens and OutputTokens may be sent per Per.
	Requests     int `json:"requests,omitempty"`
	InputTokens  int `json:"input_tokens,omitempty"`
	OutputTokens int `json:"output_tokens,omitempty"`
	// Per is the window (default one minute, so the three fields above
	// are RPM, ITPM and OTPM). Tests use a short one.
	Per time.Duration `json:"per,omitempty"`
	// Margin is how much longer than Per a request counts, to absorb the
	// delay between the client sending a request and the server counting
	// it (default Per/100: 600ms for a minute).
	Margin time.Duration `json:"margin,omitempty"`
	// MaxConcurrent bounds the requests in flight.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// ImageTokens is the estimated input cost of one image (default 800;
	// OpenAI charges 85 tokens for a low-detail image and 255 for a
	// high-detail 384 px canvas, other providers more).
	ImageTokens int `json:"image_tokens,omitempty"`
	// OutputReserve is the output reserved for a request that gives no
	// MaxTokens (default 1024); set it to the client's Config.MaxTokens.
	OutputReserve int `json:"output_reserve,omitempty"`
}

// Defaults of [Limits].
const (
	DefaultImageTokens   = 800
	DefaultOutputReserve = 1024
	// messageTokens is the estimated overhead of one chat message.
	messageTokens = 8
)

func (l Limits) withDefaults() Limits {
	if l.Per <= 0 {
		l.Per = time.Minute
	}
	if l.Margin <= 0 {
		l.Margin = l.Per / 100
	}
	if l.ImageTokens <= 0 {
		l.ImageTokens = DefaultImageTokens
	}
	if l.OutputReserve <= 0 {
		l.OutputReserve = DefaultOutputReserve
	}
	return l
}

// Cost is what a request takes from the token windows before it is sent:
// its estimated input and its reserved output.
type Cost struct {
	InputTokens  int
	OutputTokens int
}

// EstimateTokens estimates the input tokens of text: one token per four
// bytes, rounded up. It is close for English with OpenAI's and Llama's
// tokenisers, and errs high for code-free prose; it needs no tokeniser.
func EstimateTokens(text string) int { return (len(text) + 3) / 4 }

// Cost is what [LimitCompleter] charges for call. A think, critique or
// judge call costs its instruction's [EstimateTokens], ImageTokens for an
// attached image and a fixed per-message overhead, plus, for a correction
// turn, the last unparsed answer and the format reminder (two more
// messages); and its MaxTokens (or OutputReserve) of output. A draw call
// costs no tokens, only its request.
func (l Limits) Cost(call Call) Cost {
	ch, ok := call.chat()
	if !ok {
		return Cost{}
	}
	l = l.withDefaults()
	in := l.input(1, ch.image != nil, ch.instruction)
	if ch.reminder != "" {
		in += l.input(2, false, ch.answer, ch.reminder)
	}
	return Cost{InputTokens: in, OutputTokens: l.output(ch.maxTokens)}
}

// ThinkCost is the [Limits.Cost] of a think call.
func (l Limits) ThinkCost(req inference.ThinkRequest) Cost {
	return l.Cost(Call{Op: inference.RoleThink, Think: req})
}

// CritiqueCost is the [Limits.Cost] of a critique call; a correction turn
// adds the last unparsed answer and [FormatReminder].
func (l Limits) CritiqueCost(req inference.CritiqueRequest) Cost {
	return l.Cost(Call{Op: inference.RoleCritique, Critique: req})
}

// ViewCost is the [Limits.Cost] of a judge call; a correction turn adds
// the last unparsed answer and [ViewFormatReminder].
func (l Limits) ViewCost(req inference.ViewRequest) Cost {
	return l.Cost(Call{Op: inference.RoleJudge, View: req})
}

func (l Limits) input(messages int, image bool, texts ...string) int {
	n := messages * messageTokens
	for _, t := range texts {
		n += EstimateTokens(t)
	}
	if image {
		n += l.ImageTokens
	}
	return n
}

func (l Limits) output(maxTokens int) int {
	if maxTokens > 0 {
		return maxTokens
	}
	return l.OutputReserve
}

// Limiter enforces [Limits] for every request that passes Acquire. Each
// window is a sliding log: a request is admitted only when the requests
// (tokens) counted during the last Per, plus its own, stay within the
// limit. A request counts from its admission until Per (plus
// Limits.Margin, for network delay) after it was sent: when the wrapped
// Completer is a [Client] or [Drawer], "sent" is when the HTTP request
// was written (an httptrace hook), otherwise the admission. So no window of length Per on the server's clock holds more
// than the limit, however long a request waited for a connection.
// Waiters are served in arrival order, so a large request is not starved
// by small ones. A Limiter is safe for concurrent use; share one per
// endpoint and model (see [Limiters]).
type Limiter struct {
	limits Limits
	sem    chan struct{} // requests in flight; nil: no limit
	turn   chan struct{} // held by the one waiter allowed to take capacity

	mu   sync.Mutex
	wake chan struct{} // closed when capacity is given back early
	win  [3]window     // requests, input tokens, output tokens
}

const (
	winRequests = iota
	winInput
	winOutput
)

// window is a sliding log of counted amounts, oldest first.
type window struct {
	limit int
	sum   int
	log   []*charge
}

// charge is one request's amount in one window, counted from at until
// at+Per; live while it is in the log.
type charge struct {
	at   time.Time
	n    int
	live bool
}

// NewLimiter returns a limiter for l.
func NewLimiter(l Limits) *Limiter {
	l = l.withDefaults()
	lim := &Limiter{limits: l, turn: make(chan struct{}, 1), wake: make(chan struct{})}
	if l.MaxConcurrent > 0 {
		lim.sem = make(chan struct{}, l.MaxConcurrent)
	}
	lim.win[winRequests].limit = l.Requests
	lim.win[winInput].limit = l.InputTokens
	lim.win[winOutput].limit = l.OutputTokens
	return lim
}

// Limits returns the limits in force, defaults filled in.
func (l *Limiter) Limits() Limits { return l.limits }

// Permit is an admitted request. Call Done exactly once when the request
// has finished.
type Permit struct {
	l       *Limiter
	cost    Cost
	charges [3]*charge
	sent    bool
	once    sync.Once
}

// Acquire waits until a request of cost c fits every limit, then takes
// its share and returns a permit. It fails only when ctx is done first,
// or when c alone exceeds a window's limit and could never be admitted.
func (l *Limiter) Acquire(ctx context.Context, c Cost) (*Permit, error) {
	if err := l.fits(c); err != nil {
		return nil, err
	}
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a free request slot: %w", ctx.Err())
		}
	}
	p, err := l.admit(ctx, c)
	if err != nil && l.sem != nil {
		<-l.sem
	}
	return p, err
}

func (l *Limiter) fits(c Cost) error {
	for _, w := range []struct {
		name  string
		n     int
		limit int
	}{{"input", c.InputTokens, l.limits.InputTokens}, {"output", c.OutputTokens, l.limits.OutputTokens}} {
		if w.limit > 0 && w.n > w.limit {
			return fmt.Errorf("rate limit: a request of %d %s tokens can never fit the limit of %d per %s",
				w.n, w.name, w.limit, l.limits.Per)
		}
	}
	return nil
}

func (l *Limiter) admit(ctx context.Context, c Cost) (*Permit, error) {
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the rate limit: %w", ctx.Err())
	}
	defer func() { <-l.turn }()
	amounts := [3]int{1, c.InputTokens, c.OutputTokens}
	for {
		l.mu.Lock()
		now := time.Now()
		var wait time.Duration
		for i := range l.win {
			wait = max(wait, l.win[i].waitFor(amounts[i], now, l.span()))
		}
		if wait <= 0 {
			p := &Permit{l: l, cost: c}
			for i := range l.win {
				p.charges[i] = l.win[i].add(amounts[i], now)
			}
			l.mu.Unlock()
			return p, nil
		}
		wake := l.wake
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-wake:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the rate limit: %w", ctx.Err())
		}
	}
}

// span is how long a request counts after it was sent.
func (l *Limiter) span() time.Duration { return l.limits.Per + l.limits.Margin }

// markSent counts the request from now: it was just written to the
// server. Only the first call counts.
func (p *Permit) markSent() {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.sent {
		return
	}
	p.sent = true
	now := time.Now()
	for i, c := range p.charges {
		l.win[i].restamp(c, now)
	}
}

// Done releases the request's slot. With u non-nil (the response's usage)
// the token windows are corrected to what the request actually used,
// which gives back the unused part of the output reservation; with u nil
// (no response) the output reservation is given back and the input
// estimate kept.
func (p *Permit) Done(u *schema.Usage) {
	p.once.Do(func() {
		l := p.l
		l.mu.Lock()
		in, out := p.charges[winInput].n, 0
		if u != nil {
			in, out = int(u.InputTokens), int(u.OutputTokens)
		}
		freed := l.win[winInput].set(p.charges[winInput], in)
		freed = l.win[winOutput].set(p.charges[winOutput], out) || freed
		if freed {
			close(l.wake)
			l.wake = make(chan struct{})
		}
		l.mu.Unlock()
		if l.sem != nil {
			<-l.sem
		}
	})
}

// prune drops the charges that left the window.
func (w *window) prune(now time.Time, per time.Duration) {
	i := 0
	for ; i < len(w.log) && !now.Before(w.log[i].at.Add(per)); i++ {
		w.sum -= w.log[i].n
		w.log[i].live = false
		w.log[i] = nil
	}
	w.log = w.log[i:]
}

// waitFor is how long until n more fit the window; 0 if they fit now.
func (w *window) waitFor(n int, now time.Time, per time.Duration) time.Duration {
	if w.limit <= 0 {
		return 0
	}
	w.prune(now, per)
	over := w.sum + n - w.limit
	if over <= 0 {
		return 0
	}
	for _, c := range w.log {
		over -= c.n
		if over <= 0 {
			return c.at.Add(per).Sub(now)
		}
	}
	return per // cannot happen: n <= limit was checked
}

func (w *window) add(n int, now time.Time) *charge {
	c := &charge{at: now, n: n}
	if w.limit > 0 {
		c.live = true
		w.log = append(w.log, c)
		w.sum += n
	}
	return c
}

// restamp moves c to the end of the log, counted from now (which is not
// before any time in the log). A charge that already left the window,
// because the request waited longer than Per to be sent, comes back.
func (w *window) restamp(c *charge, now time.Time) {
	if w.limit <= 0 {
		return
	}
	if c.live {
		i := len(w.log) - 1
		for i >= 0 && w.log[i] != c {
			i--
		}
		w.log = append(w.log[:i], w.log[i+1:]...)
	} else {
		c.live = true
		w.sum += c.n
	}
	c.at = now
	w.log = append(w.log, c)
}

// set changes a live charge to n and reports whether that freed capacity.
func (w *window) set(c *charge, n int) bool {
	n = max(n, 0)
	if !c.live || n == c.n {
		return false
	}
	w.sum += n - c.n
	freed := n < c.n
	c.n = n
	return freed
}

type permitKey struct{}

// withPermit lets the HTTP layer below tell p when the request is sent.
func withPermit(ctx context.Context, p *Permit) context.Context {
	return context.WithValue(ctx, permitKey{}, p)
}

// traceSent returns req with an httptrace hook that marks the permit in
// its context sent once the request is written.
func traceSent(req *http.Request) *http.Request {
	p, ok := req.Context().Value(permitKey{}).(*Permit)
	if !ok {
		return req
	}
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { p.markSent() }}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
}

// Limiters hands out one [Limiter] per endpoint and model, so that every
// client of a process that calls the same model at the same endpoint
// shares its quotas. The zero value is ready to use.
type Limiters struct {
	mu sync.Mutex
	m  map[string]*Limiter
}

// Get returns the limiter of endpoint and model, creating it with l on
// first use; later calls' l is ignored.
func (s *Limiters) Get(endpoint, model string, l Limits) *Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]*Limiter)
	}
	key := endpoint + "\x00" + model
	if lim, ok := s.m[key]; ok {
		return lim
	}
	lim := NewLimiter(l)
	s.m[key] = lim
	return lim
}

// shared is the process-wide set behind SharedLimiter.
var shared Limiters

// SharedLimiter returns the process-wide limiter of endpoint and model:
// Beam DoFn instances running in one worker process build their clients
// separately, but must share one quota. Limits are per process; divide
// the provider's quota by the number of worker processes.
func SharedLimiter(endpoint, model string, l Limits) *Limiter {
	return shared.Get(endpoint, model, l)
}

// LimitCompleter makes every call of another [Completer] wait for a
// [Limiter]: one request, its estimated input tokens and its output
// reservation ([Limits.Cost]) and a concurrency slot. When the answer
// arrives, its usage replaces the estimates. A draw call takes one
// request and a slot (image endpoints limit images per minute: set
// Limits.Requests to that).
type LimitCompleter struct {
	next Completer
	lim  *Limiter
}

var _ Completer = (*LimitCompleter)(nil)

// NewLimitCompleter returns next limited by lim.
func NewLimitCompleter(next Completer, lim *Limiter) *LimitCompleter {
	return &LimitCompleter{next: next, lim: lim}
}

// Complete waits for the limiter, then makes the call.
func (c *LimitCompleter) Complete(ctx context.Context, call Call) (Result, error) {
	p, err := c.lim.Acquire(ctx, c.lim.limits.Cost(call))
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", call.Op, err)
	}
	res, err := c.next.Complete(withPermit(ctx, p), call)
	done(p, res.Reply.Usage, err)
	return res, err
}

// done settles p with what the call cost: its usage when the server
// reported one, the estimates when it answered without, and no output
// when it did not answer.
func done(p *Permit, u schema.Usage, err error) {
	switch u, ok := usageOf(u, err); {
	case ok && (u.InputTokens > 0 || u.OutputTokens > 0):
		p.Done(&u)
	case err == nil:
		p.Done(&schema.Usage{InputTokens: int32(p.cost.InputTokens), OutputTokens: int32(p.cost.OutputTokens)})
	default:
		p.Done(nil)
	}
}

// NewLimitReasoner returns next limited by lim (see [LimitCompleter]).
func NewLimitReasoner(next inference.Reasoner, lim *Limiter) inference.Reasoner {
	return AsReasoner(NewLimitCompleter(reasonerCompleter(next), lim))
}

// NewLimitDrawer returns next limited by lim: one request and a slot per
// image.
func NewLimitDrawer(next inference.Drawer, lim *Limiter) inference.Drawer {
	return AsDrawer(NewLimitCompleter(drawerCompleter(next), lim))
}

// NewLimitViewer returns next limited by lim.
func NewLimitViewer(next inference.Viewer, lim *Limiter) inference.Viewer {
	return AsViewer(NewLimitCompleter(viewerCompleter(next), lim))
}
