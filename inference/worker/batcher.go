package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
)

var (
	// errQueueFull is answered with 503 and Retry-After.
	errQueueFull = errors.New("generate queue is full")
	// errClosed is answered with 503 and Retry-After: another worker of
	// the pool may serve the call.
	errClosed = errors.New("worker is shutting down")
)

// Stats are the batcher's counters since the server started.
type Stats struct {
	// Batches is the number of GenerateBatch calls, Calls the number of
	// generate calls they answered, MeanBatchSize their ratio.
	Batches       int64   `json:"batches"`
	Calls         int64   `json:"calls"`
	MeanBatchSize float64 `json:"mean_batch_size"`
	// BatchSizes counts batches by size: BatchSizes[n] batches of n
	// calls. JSON writes the sizes as object keys.
	BatchSizes map[int]int64 `json:"batch_sizes"`
	// Rejected counts the calls answered 503 because the queue was full.
	Rejected int64 `json:"rejected"`
	// Queued is the number of calls waiting now, not yet in a batch.
	Queued int `json:"queued"`
}

// call is one generate call waiting for its batch.
type call struct {
	ctx  context.Context
	req  GenerateRequest
	done chan Result // buffered: the batcher never blocks on a caller
}

// batcher gathers concurrent generate calls into batches, runs one batch
// at a time, and answers each caller.
type batcher struct {
	backend  Backend
	maxBatch int
	maxWait  time.Duration // <= 0: no wait

	queue chan *call
	// mu orders submissions against close: no call enters the queue
	// once closed is set, so the batcher can drain it.
	mu     sync.RWMutex
	closed bool
	stop   chan struct{}
	done   chan struct{}
	// ctx is passed to the backend; cancel ends a running batch on close.
	ctx    context.Context
	cancel context.CancelFunc

	statsMu sync.Mutex
	stats   Stats
}

func newBatcher(b Backend, maxBatch int, maxWait time.Duration, queue int) *batcher {
	ctx, cancel := context.WithCancel(context.Background())
	bt := &batcher{
		backend: b, maxBatch: maxBatch, maxWait: maxWait,
		queue: make(chan *call, queue), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
		stats: Stats{BatchSizes: map[int]int64{}},
	}
	go bt.loop()
	return bt
}

// do queues a call and waits for its answer, or for ctx to end.
func (b *batcher) do(ctx context.Context, req GenerateRequest) (GenerateResponse, error) {
	c := &call{ctx: ctx, req: req, done: make(chan Result, 1)}
	if err := b.submit(c); err != nil {
		return GenerateResponse{}, err
	}
	select {
	case r := <-c.done:
		return r.Resp, r.Err
	case <-ctx.Done():
		return GenerateResponse{}, ctx.Err()
	}
}

func (b *batcher) submit(c *call) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	select {
	case b.queue <- c:
		return nil
	default:
		b.statsMu.Lock()
		b.stats.Rejected++
		b.statsMu.Unlock()
		return errQueueFull
	}
}

func (b *batcher) loop() {
	defer close(b.done)
	for {
		select {
		case c := <-b.queue:
			b.run(b.gather(c))
		case <-b.stop:
			b.drain()
			return
		}
	}
}

// gather returns a batch that starts with first: up to maxBatch calls,
// waiting at most maxWait after the first for the others.
func (b *batcher) gather(first *call) []*call {
	batch := make([]*call, 1, b.maxBatch)
	batch[0] = first
	if b.maxWait <= 0 {
		for len(batch) < b.maxBatch {
			select {
			case c := <-b.queue:
				batch = append(batch, c)
			default:
				return batch
			}
		}
		return batch
	}
	timer := time.NewTimer(b.maxWait)
	defer timer.Stop()
	for len(batch) < b.maxBatch {
		select {
		case c := <-b.queue:
			batch = append(batch, c)
		case <-timer.C:
			return batch
		case <-b.stop:
			return batch
		}
	}
	return batch
}

// run answers a batch with one GenerateBatch call. Calls whose caller
// has gone are left out.
func (b *batcher) run(batch []*call) {
	live := batch[:0]
	for _, c := range batch {
		if c.ctx.Err() == nil {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return
	}
	select {
	case <-b.stop:
		answerAll(live, Result{Err: errClosed})
		return
	default:
	}
	reqs := make([]GenerateRequest, len(live))
	for i, c := range live {
		reqs[i] = c.req
	}
	results, err := b.generate(reqs)
	b.record(len(live))
	switch {
	case err != nil && b.ctx.Err() != nil:
		answerAll(live, Result{Err: errClosed})
	case err != nil:
		answerAll(live, Result{Err: err})
	case len(results) != len(live):
		answerAll(live, Result{Err: fmt.Errorf("generate: backend answered %d results for %d requests", len(results), len(live))})
	default:
		for i, c := range live {
			c.done <- results[i]
		}
	}
}

// generate calls the backend, turning a panic into an error so that one
// bad batch does not stop the batcher.
func (b *batcher) generate(reqs []GenerateRequest) (results []Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			results, err = nil, fmt.Errorf("generate: backend panicked: %v", p)
		}
	}()
	return b.backend.GenerateBatch(b.ctx, reqs)
}

func answerAll(calls []*call, r Result) {
	for _, c := range calls {
		c.done <- r
	}
}

func (b *batcher) record(size int) {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	b.stats.Batches++
	b.stats.Calls += int64(size)
	b.stats.BatchSizes[size]++
}

// drain answers every queued call after close.
func (b *batcher) drain() {
	for {
		select {
		case c := <-b.queue:
			c.done <- Result{Err: errClosed}
		default:
			return
		}
	}
}

// close stops taking calls, answers the queued ones with errClosed, ends
// a running batch and waits for the batcher to stop. It is idempotent.
func (b *batcher) close() {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		close(b.stop)
		b.cancel()
	}
	<-b.done
}

func (b *batcher) isClosed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.closed
}

func (b *batcher) snapshot() Stats {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	s := b.stats
	s.BatchSizes = maps.Clone(b.stats.BatchSizes)
	if s.Batches > 0 {
		s.MeanBatchSize = float64(s.Calls) / float64(s.Batches)
	}
	s.Queued = len(b.queue)
	return s
}
