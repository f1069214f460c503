package remote_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/twigdata/twig/internal/testwait"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/worker"
)

// fastOptions are options with short waits and no background checker.
func fastOptions() remote.PoolOptions {
	return remote.PoolOptions{
		Timeout:     5 * time.Second,
		Retries:     5,
		BackoffBase: time.Millisecond,
		BackoffMax:  20 * time.Millisecond,
	}
}

func newPool(t *testing.T, opts remote.PoolOptions, urls ...string) *remote.Pool {
	t.Helper()
	p, err := remote.NewPool(urls, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// recorder collects observations.
type recorder struct {
	mu  sync.Mutex
	obs []remote.Observation
}

func (r *recorder) observe(o remote.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, o)
}

func (r *recorder) calls() []remote.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []remote.Observation
	for _, o := range r.obs {
		if o.Op != remote.OpHealth {
			out = append(out, o)
		}
	}
	return out
}

func TestPoolImplementsPainter(t *testing.T) {
	w := newFakeWorker()
	p := newPool(t, fastOptions(), w.start(t))
	var painter inference.Painter = p
	var encoder inference.Encoder = p
	ctx := context.Background()

	gen, err := painter.Generate(ctx, apple)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(gen.Tokens) != apple.N || gen.Model != "fake/Janus@test" {
		t.Errorf("Generate = %d tokens from %q, want %d from %q", len(gen.Tokens), gen.Model, apple.N, "fake/Janus@test")
	}
	grid := make([]int32, 576)
	copy(grid, append(apple.Prior, gen.Tokens...))
	dec, err := painter.Decode(ctx, grid)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	tokens, err := encoder.Encode(ctx, dec.PNG)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if len(tokens) != 576 {
		t.Errorf("Encode = %d tokens, want 576", len(tokens))
	}
	if _, err := painter.Decode(ctx, grid[:100]); err == nil || remote.IsTransient(err) || w.count(worker.PathDecode) != 2 {
		t.Errorf("Decode(100 tokens) = %v after %d calls, want a permanent error, not retried", err, w.count(worker.PathDecode))
	}
}

func TestPoolRetries(t *testing.T) {
	tests := []struct {
		name     string
		faults   []fault
		opts     func(*remote.PoolOptions)
		hits     int           // generate calls that reach the worker
		wantCode int           // 0: success
		minWait  time.Duration // the call takes at least this long
		maxWait  time.Duration // and at most this long (default 3s)
	}{
		{name: "400 not retried", faults: []fault{{code: 400, message: "n=999 exceeds the grid"}}, hits: 1, wantCode: 400},
		{name: "404 not retried", faults: []fault{{code: 404, message: "no such path"}}, hits: 1, wantCode: 404},
		{name: "422 not retried", faults: []fault{{code: 422, message: "bad"}}, hits: 1, wantCode: 422},
		{name: "500 then success", faults: []fault{{code: 500, message: "oops"}}, hits: 2},
		{name: "502 504 then success", faults: []fault{{code: 502}, {code: 504}}, hits: 3},
		{name: "429 then success", faults: []fault{{code: 429, message: "queue full"}}, hits: 2},
		{name: "reset then success", faults: []fault{{reset: true}}, hits: 2},
		{
			name:    "503 Retry-After honoured",
			faults:  []fault{{code: 503, message: "loading", retryAfter: "1"}},
			opts:    func(o *remote.PoolOptions) { o.BackoffMax = 5 * time.Second },
			hits:    2,
			minWait: 900 * time.Millisecond,
		},
		{
			name:    "Retry-After capped by BackoffMax",
			faults:  []fault{{code: 429, retryAfter: "120"}},
			opts:    func(o *remote.PoolOptions) { o.BackoffMax = 300 * time.Millisecond },
			hits:    2,
			minWait: 250 * time.Millisecond,
		},
		{
			name:     "budget exhausted",
			faults:   []fault{{code: 500}, {code: 500}, {code: 500}, {code: 500}, {code: 500}},
			opts:     func(o *remote.PoolOptions) { o.Retries = 3 },
			hits:     4,
			wantCode: 500,
		},
		{
			name:     "no retries",
			faults:   []fault{{code: 503}},
			opts:     func(o *remote.PoolOptions) { o.Retries = -1 },
			hits:     1,
			wantCode: 503,
		},
		{name: "bad answer not retried", faults: []fault{{body: "nonsense"}}, hits: 1, wantCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFakeWorker()
			url := w.start(t)
			w.inject(worker.PathGenerate, tt.faults...)
			opts := fastOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			p := newPool(t, opts, url)
			start := time.Now()
			_, err := p.Generate(context.Background(), apple)
			elapsed := time.Since(start)

			if got := w.count(worker.PathGenerate); got != tt.hits {
				t.Errorf("worker got %d calls, want %d", got, tt.hits)
			}
			var se *remote.StatusError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Errorf("Generate: %v, want success", err)
			case tt.wantCode > 0 && (!errors.As(err, &se) || se.Code != tt.wantCode):
				t.Errorf("Generate error = %v, want status %d", err, tt.wantCode)
			case tt.wantCode < 0 && (err == nil || remote.IsTransient(err)):
				t.Errorf("Generate error = %v, want a permanent error", err)
			}
			maxWait := tt.maxWait
			if maxWait == 0 {
				maxWait = 3 * time.Second
			}
			if elapsed < tt.minWait || elapsed > maxWait {
				t.Errorf("Generate took %v, want between %v and %v", elapsed, tt.minWait, maxWait)
			}
		})
	}
}

func TestPoolGiveUpMessage(t *testing.T) {
	w := newFakeWorker()
	url := w.start(t)
	w.inject(worker.PathGenerate, fault{code: 500, message: "CUDA out of memory"}, fault{code: 500, message: "CUDA out of memory"})
	opts := fastOptions()
	opts.Retries = 1
	_, err := newPool(t, opts, url).Generate(context.Background(), apple)
	want := "remote generate: gave up after 2 attempts: worker " + url + " generate: 500 internal server error: CUDA out of memory"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	if !remote.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
}

func TestPoolObserver(t *testing.T) {
	w := newFakeWorker()
	url := w.start(t)
	w.inject(worker.PathGenerate, fault{code: 500, message: "oops"})
	var rec recorder
	opts := fastOptions()
	opts.Observer = rec.observe
	if _, err := newPool(t, opts, url).Generate(context.Background(), apple); err != nil {
		t.Fatal(err)
	}
	obs := rec.calls()
	type row struct {
		Endpoint, Op  string
		Attempt, Code int
		Failed        bool
	}
	var got []row
	for _, o := range obs {
		got = append(got, row{o.Endpoint, o.Op, o.Attempt, o.Code, o.Err != nil})
		if o.Latency <= 0 {
			t.Errorf("observation %+v has no latency", o)
		}
	}
	want := []row{{url, "generate", 1, 500, true}, {url, "generate", 2, 200, false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("observations = %+v, want %+v", got, want)
	}
}

func TestPoolConnectionResetRetriedElsewhere(t *testing.T) {
	a, b := newFakeWorker(), newFakeWorker()
	ua, ub := a.start(t), b.start(t)
	a.inject(worker.PathGenerate, fault{reset: true})
	var rec recorder
	opts := fastOptions()
	opts.Observer = rec.observe
	p := newPool(t, opts, ua, ub)
	if _, err := p.Generate(context.Background(), apple); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if ga, gb := a.count(worker.PathGenerate), b.count(worker.PathGenerate); ga != 1 || gb != 1 {
		t.Errorf("calls = %d on the resetting worker, %d on the other; want 1, 1", ga, gb)
	}
	obs := rec.calls()
	if len(obs) != 2 || obs[0].Endpoint != ua || obs[0].Code != 0 || obs[1].Endpoint != ub || obs[1].Err != nil {
		t.Errorf("observations = %+v, want a failure on %s then a success on %s", obs, ua, ub)
	}
	// The resetting endpoint is now unhealthy: with no checker, the
	// other one takes every call.
	for range 10 {
		if _, err := p.Generate(context.Background(), apple); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.count(worker.PathGenerate); got != 1 {
		t.Errorf("unhealthy worker got %d calls, want 1", got)
	}
}

func TestPoolTimeout(t *testing.T) {
	opts := fastOptions()
	opts.Timeout = 100 * time.Millisecond
	opts.Retries = 1

	t.Run("retried elsewhere", func(t *testing.T) {
		slow, fast := newFakeWorker(), newFakeWorker()
		slow.inject(worker.PathGenerate, fault{delay: 10 * time.Second})
		p := newPool(t, opts, slow.start(t), fast.start(t))
		start := time.Now()
		if _, err := p.Generate(context.Background(), apple); err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Generate took %v, want about the timeout", d)
		}
		if got := fast.count(worker.PathGenerate); got != 1 {
			t.Errorf("fast worker got %d calls, want 1", got)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		slow := newFakeWorker()
		slow.inject(worker.PathGenerate, fault{delay: 10 * time.Second}, fault{delay: 10 * time.Second})
		p := newPool(t, opts, slow.start(t))
		start := time.Now()
		_, err := p.Generate(context.Background(), apple)
		var e *remote.Error
		if !errors.As(err, &e) || e.Kind != remote.Timeout || !remote.IsTransient(err) {
			t.Errorf("Generate error = %v, want a transient timeout", err)
		}
		if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
			t.Errorf("Generate took %v, want about two timeouts", d)
		}
		if got := slow.count(worker.PathGenerate); got != 2 {
			t.Errorf("worker got %d calls, want 2", got)
		}
	})
}

func TestPoolAllDown(t *testing.T) {
	urls := []string{closedURL(t), closedURL(t)}
	opts := fastOptions()
	opts.Retries = 3
	start := time.Now()
	_, err := newPool(t, opts, urls...).Generate(context.Background(), apple)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Generate took %v", d)
	}
	var ue *remote.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("Generate error = %v (%T), want an *UnavailableError", err, err)
	}
	if ue.Op != "generate" || ue.Attempts != 4 || !reflect.DeepEqual(ue.Endpoints, urls) {
		t.Errorf("error = {%s %d %v}, want {generate 4 %v}", ue.Op, ue.Attempts, ue.Endpoints, urls)
	}
	msg := err.Error()
	for _, u := range urls {
		if !strings.Contains(msg, u+" (worker "+u+" health: connection failed: ") {
			t.Errorf("message %q does not say why %s is down", msg, u)
		}
	}
	if !strings.HasPrefix(msg, "remote generate: no worker available after 4 attempts: ") {
		t.Errorf("message %q", msg)
	}
	if !remote.IsTransient(err) {
		t.Errorf("IsTransient = false, want true")
	}
}

func TestPoolWaitsForHealth(t *testing.T) {
	w := newFakeWorker()
	w.down.Store(true)
	opts := fastOptions()
	opts.Retries = 50
	opts.BackoffBase = 10 * time.Millisecond
	opts.BackoffMax = 40 * time.Millisecond
	p := newPool(t, opts, w.start(t))
	time.AfterFunc(200*time.Millisecond, func() { w.down.Store(false) })
	start := time.Now()
	if _, err := p.Generate(context.Background(), apple); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("Generate took %v, want it to wait for the worker", d)
	}
}

func TestPoolUnhealthyComesBack(t *testing.T) {
	a, b := newFakeWorker(), newFakeWorker()
	a.down.Store(true)
	opts := fastOptions()
	opts.HealthInterval = 20 * time.Millisecond
	p := newPool(t, opts, a.start(t), b.start(t))
	ctx := context.Background()
	for range 20 {
		if _, err := p.Generate(ctx, apple); err != nil {
			t.Fatalf("Generate: %v", err)
		}
	}
	if got := a.count(worker.PathGenerate); got > 1 {
		t.Errorf("down worker got %d generate calls, want at most 1", got)
	}
	if got := a.count(worker.PathHealth); got == 0 {
		t.Errorf("down worker got no health checks")
	}

	a.down.Store(false)
	before := a.count(worker.PathGenerate)
	deadline := time.Now().Add(3 * time.Second)
	for a.count(worker.PathGenerate) == before {
		if time.Now().After(deadline) {
			t.Fatal("worker back up got no calls within 3s")
		}
		if _, err := p.Generate(ctx, apple); err != nil {
			t.Fatalf("Generate: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolLoadingWorkerSkipped(t *testing.T) {
	a, b := newFakeWorker(), newFakeWorker()
	a.loading.Store(true)
	var rec recorder
	opts := fastOptions()
	opts.HealthInterval = time.Hour // one round, at start
	opts.Observer = rec.observe
	ua, ub := a.start(t), b.start(t)
	p := newPool(t, opts, ua, ub)
	// The pool reports a probe to its observer after it has recorded the
	// probe's outcome: wait for the first round's two reports.
	probed := func(url string, failed bool) bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, o := range rec.obs {
			if o.Op == remote.OpHealth && o.Endpoint == url && (o.Err != nil) == failed {
				return true
			}
		}
		return false
	}
	testwait.For(t, "the loading worker's failed health probe", func() bool { return probed(ua, true) }, 5*time.Second)
	testwait.For(t, "the ready worker's passed health probe", func() bool { return probed(ub, false) }, 5*time.Second)
	for range 10 {
		if _, err := p.Generate(context.Background(), apple); err != nil {
			t.Fatal(err)
		}
	}
	if ga, gb := a.count(worker.PathGenerate), b.count(worker.PathGenerate); ga != 0 || gb != 10 {
		t.Errorf("calls = %d on the loading worker, %d on the ready one; want 0, 10", ga, gb)
	}
}

func TestPoolBalances(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		ws := []*fakeWorker{newFakeWorker(), newFakeWorker(), newFakeWorker()}
		p := newPool(t, fastOptions(), ws[0].start(t), ws[1].start(t), ws[2].start(t))
		for range 30 {
			if _, err := p.Generate(context.Background(), apple); err != nil {
				t.Fatal(err)
			}
		}
		for i, w := range ws {
			if got := w.count(worker.PathGenerate); got != 10 {
				t.Errorf("worker %d got %d calls, want 10 (round robin)", i, got)
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var ws []*fakeWorker
		var urls []string
		for range 3 {
			w := newFakeWorker()
			w.hold = 2 * time.Millisecond
			ws = append(ws, w)
			urls = append(urls, w.start(t))
		}
		p := newPool(t, fastOptions(), urls...)
		const callers, calls = 12, 25
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				for range calls {
					if _, err := p.Generate(context.Background(), apple); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		fair := callers * calls / len(ws)
		for i, w := range ws {
			if got := w.count(worker.PathGenerate); got < fair*6/10 || got > fair*14/10 {
				t.Errorf("worker %d got %d calls, want about %d", i, got, fair)
			}
		}
	})
}

func TestPoolInFlightLimit(t *testing.T) {
	tests := []struct {
		endpoints, limit, callers int
	}{
		{1, 1, 10},
		{1, 4, 40},
		{3, 2, 30},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d endpoints limit %d", tt.endpoints, tt.limit), func(t *testing.T) {
			var ws []*fakeWorker
			var urls []string
			for range tt.endpoints {
				w := newFakeWorker()
				w.hold = 20 * time.Millisecond
				ws = append(ws, w)
				urls = append(urls, w.start(t))
			}
			opts := fastOptions()
			opts.MaxInFlightPerEndpoint = tt.limit
			p := newPool(t, opts, urls...)
			var wg sync.WaitGroup
			for range tt.callers {
				wg.Go(func() {
					if _, err := p.Generate(context.Background(), apple); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			total := 0
			for i, w := range ws {
				total += w.count(worker.PathGenerate)
				if got := w.maxConcurrent(); got > tt.limit {
					t.Errorf("worker %d had %d calls in flight, want at most %d", i, got, tt.limit)
				}
			}
			if total != tt.callers {
				t.Errorf("workers got %d calls, want %d", total, tt.callers)
			}
			if got := ws[0].maxConcurrent(); got != tt.limit {
				t.Errorf("worker 0 had at most %d calls in flight, want the limit %d to be reached", got, tt.limit)
			}
		})
	}
}

func TestPoolContextCancel(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, opts *remote.PoolOptions) []string
		// busy, if set, occupies the pool before the call under test.
		busy bool
		kind remote.Kind // 0: not a *remote.Error
	}{
		{
			name: "during a call",
			setup: func(t *testing.T, opts *remote.PoolOptions) []string {
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{delay: 10 * time.Second})
				return []string{w.start(t)}
			},
			kind: remote.Canceled,
		},
		{
			name: "waiting for a slot",
			setup: func(t *testing.T, opts *remote.PoolOptions) []string {
				opts.MaxInFlightPerEndpoint = 1
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{delay: 10 * time.Second})
				return []string{w.start(t)}
			},
			busy: true,
		},
		{
			name: "waiting out Retry-After",
			setup: func(t *testing.T, opts *remote.PoolOptions) []string {
				opts.BackoffMax = time.Minute
				w := newFakeWorker()
				w.inject(worker.PathGenerate, fault{code: 503, retryAfter: "60"})
				return []string{w.start(t)}
			},
		},
		{
			name: "waiting for health",
			setup: func(t *testing.T, opts *remote.PoolOptions) []string {
				opts.BackoffBase, opts.BackoffMax = 10*time.Second, time.Minute
				return []string{closedURL(t)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fastOptions()
			opts.Timeout = time.Minute
			urls := tt.setup(t, &opts)
			p := newPool(t, opts, urls...)
			if tt.busy {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					p.Generate(ctx, apple)
				}()
				t.Cleanup(func() { cancel(); <-done })
				time.Sleep(50 * time.Millisecond)
			}
			start := time.Now()
			_, err := p.Generate(ctxTimeout(t, 100*time.Millisecond), apple)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Generate returned after %v, want soon after the context's deadline", d)
			}
			if !errors.Is(err, context.DeadlineExceeded) || remote.IsTransient(err) {
				t.Errorf("Generate error = %v, want the context's error, not transient", err)
			}
			var e *remote.Error
			if tt.kind != 0 && (!errors.As(err, &e) || e.Kind != tt.kind) {
				t.Errorf("Generate error = %v, want kind %v", err, tt.kind)
			}
		})
	}
}

func TestPoolInfo(t *testing.T) {
	modify := func(f func(*worker.Info)) func(*fakeWorker) { return func(w *fakeWorker) { f(&w.info) } }
	tests := []struct {
		name string
		// change alters worker i's info; nil: none.
		change  [3]func(*fakeWorker)
		wantErr string // a prefix of the error; "" for success
	}{
		{name: "all agree"},
		{
			name:   "a loading worker is waited for",
			change: [3]func(*fakeWorker){nil, func(w *fakeWorker) { w.inject(worker.PathInfo, fault{code: 503, message: "loading"}) }},
		},
		{
			name:    "model differs",
			change:  [3]func(*fakeWorker){nil, modify(func(in *worker.Info) { in.Model = "deepseek-ai/Janus-Pro-1B" })},
			wantErr: "remote info: workers disagree: URL1 serves deepseek-ai/Janus-Pro-1B@test (384 px images, 16 px patches, 16384 codes); but URL0, URL2 serve fake/Janus@test",
		},
		{
			name:    "image size differs",
			change:  [3]func(*fakeWorker){modify(func(in *worker.Info) { in.ImageSize = 512 })},
			wantErr: "remote info: workers disagree: URL0 serves fake/Janus@test (512 px images, 16 px patches, 16384 codes); but URL1, URL2 serve",
		},
		{
			name:    "patch size differs",
			change:  [3]func(*fakeWorker){nil, nil, modify(func(in *worker.Info) { in.PatchSize = 8 })},
			wantErr: "remote info: workers disagree: URL2 serves fake/Janus@test (384 px images, 8 px patches, 16384 codes); but URL0, URL1 serve",
		},
		{
			name:   "prompt wrapper differs",
			change: [3]func(*fakeWorker){nil, modify(func(in *worker.Info) { in.PromptWrapper = "{prefix}<begin_of_image>" })},
			wantErr: `remote info: workers disagree: URL1 serves fake/Janus@test (384 px images, 16 px patches, 16384 codes) with prompt wrapper "{prefix}<begin_of_image>"; ` +
				`but URL0, URL2 serve fake/Janus@test (384 px images, 16 px patches, 16384 codes) with prompt wrapper "User: {prefix}\n\nAssistant:<begin_of_image>"`,
		},
		{
			name:   "an older worker without a wrapper among newer ones",
			change: [3]func(*fakeWorker){nil, nil, modify(func(in *worker.Info) { in.PromptWrapper = "" })},
			wantErr: `remote info: workers disagree: URL2 serves fake/Janus@test (384 px images, 16 px patches, 16384 codes) with no prompt wrapper; ` +
				`but URL0, URL1 serve fake/Janus@test (384 px images, 16 px patches, 16384 codes) with prompt wrapper "User: {prefix}\n\nAssistant:<begin_of_image>"`,
		},
		{
			name:    "model differs, wrapper the same: the wrapper is not named",
			change:  [3]func(*fakeWorker){modify(func(in *worker.Info) { in.Revision = "other" })},
			wantErr: "remote info: workers disagree: URL0 serves fake/Janus@other (384 px images, 16 px patches, 16384 codes); but URL1, URL2 serve fake/Janus@test (384 px images, 16 px patches, 16384 codes)",
		},
		{
			name:    "permanent failure",
			change:  [3]func(*fakeWorker){nil, nil, func(w *fakeWorker) { w.inject(worker.PathInfo, fault{code: 404, message: "no info"}) }},
			wantErr: "remote info: worker URL2 info: 404 not found: no info",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var urls []string
			for i := range 3 {
				w := newFakeWorker()
				if tt.change[i] != nil {
					tt.change[i](w)
				}
				urls = append(urls, w.start(t))
			}
			info, err := newPool(t, fastOptions(), urls...).Info(context.Background())
			if tt.wantErr == "" {
				if err != nil || info != testInfo() {
					t.Errorf("Info = %+v, %v; want %+v", info, err, testInfo())
				}
				return
			}
			want := tt.wantErr
			for i, u := range urls {
				want = strings.ReplaceAll(want, fmt.Sprintf("URL%d", i), u)
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Info error = %v, want %s...", err, want)
			}
		})
	}
}

// TestPoolInfoOlderWorkers: workers that predate the prompt_wrapper field
// send none; a pool of them agrees, and Info reports an empty wrapper.
func TestPoolInfoOlderWorkers(t *testing.T) {
	var urls []string
	for range 2 {
		w := newFakeWorker()
		w.info.PromptWrapper = ""
		urls = append(urls, w.start(t))
	}
	resp, err := http.Get(urls[0] + worker.PathInfo)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Contains(string(body), "prompt_wrapper") {
		t.Fatalf("an older worker's info = %s (%v), want no prompt_wrapper field", body, err)
	}
	info, err := newPool(t, fastOptions(), urls...).Info(context.Background())
	want := testInfo()
	want.PromptWrapper = ""
	if err != nil || info != want {
		t.Errorf("Info = %+v, %v; want %+v", info, err, want)
	}
}

func TestNewPool(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string
		want      []string // nil: an error
	}{
		{"none", nil, nil},
		{"bad scheme", []string{"tcp://h:1"}, nil},
		{"no scheme", []string{"h:8420"}, nil},
		{"duplicate", []string{"http://h:1", "http://h:1/"}, nil},
		{"normalised", []string{"http://h:1/", " http://h:2 ", "https://h/worker/"}, []string{"http://h:1", "http://h:2", "https://h/worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := remote.NewPool(tt.endpoints, remote.PoolOptions{})
			if tt.want == nil {
				if err == nil {
					p.Close()
					t.Errorf("NewPool(%q) succeeded, want an error", tt.endpoints)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPool(%q): %v", tt.endpoints, err)
			}
			defer p.Close()
			if got := p.Endpoints(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Endpoints() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPoolInfoDeadEndpoint: a worker that cannot be reached does not fail
// Info while another answers (the pool routes around it); when none
// answers, Info fails naming them.
func TestPoolInfoDeadEndpoint(t *testing.T) {
	live := newFakeWorker().start(t)
	dead := "http://127.0.0.1:1"
	info, err := newPool(t, fastOptions(), dead, live, "http://127.0.0.1:2").Info(context.Background())
	if err != nil || info != testInfo() {
		t.Errorf("Info with one live worker = %+v, %v; want %+v", info, err, testInfo())
	}
	if _, err := newPool(t, fastOptions(), dead).Info(context.Background()); err == nil || !strings.Contains(err.Error(), dead) {
		t.Errorf("Info with no live worker = %v, want an error naming %s", err, dead)
	}
}
