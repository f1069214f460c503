package remote

import (
	"context"
	"sync"
	"time"
)

// checkLoop probes every endpoint now and then every HealthInterval,
// until Close.
func (p *Pool) checkLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.HealthInterval)
	defer t.Stop()
	for {
		p.probeAll(p.bg, false)
		select {
		case <-p.bg.Done():
			return
		case <-t.C:
		}
	}
}

// probeUnhealthy probes the unhealthy endpoints and waits for the probes
// or ctx.
func (p *Pool) probeUnhealthy(ctx context.Context) { p.probeAll(ctx, true) }

func (p *Pool) probeAll(ctx context.Context, onlyUnhealthy bool) {
	var eps []*endpoint
	p.mu.Lock()
	for _, ep := range p.eps {
		if !onlyUnhealthy || !ep.healthy {
			eps = append(eps, ep)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Go(func() { p.probe(ctx, ep) })
	}
	wg.Wait()
}

// probe checks ep's health, unless a probe of ep is running (then it
// waits for that one) or one ended less than probeGap ago. It returns when
// the probe is done or ctx is.
func (p *Pool) probe(ctx context.Context, ep *endpoint) {
	p.mu.Lock()
	done := ep.probing
	if done == nil {
		if p.closed || !ep.probedAt.IsZero() && time.Since(ep.probedAt) < p.probeGap {
			p.mu.Unlock()
			return
		}
		done = make(chan struct{})
		ep.probing = done
		p.wg.Add(1)
		go p.runProbe(ep, done)
	}
	p.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// runProbe calls ep's /healthz and records the outcome: a pass makes ep
// healthy, a failure unhealthy. A probe cut short by Close records
// nothing.
func (p *Pool) runProbe(ep *endpoint, done chan struct{}) {
	defer p.wg.Done()
	defer close(done)
	c := *ep.client
	c.Timeout = p.healthTimeout
	start := time.Now()
	err := c.Health(p.bg)
	latency := time.Since(start)
	p.mu.Lock()
	ep.probing = nil
	if p.bg.Err() == nil {
		ep.probedAt = time.Now()
		if err == nil {
			ep.healthy = true
		} else {
			ep.healthy = false
			ep.lastErr = err
		}
		p.signalLocked()
	}
	p.mu.Unlock()
	if p.bg.Err() == nil {
		p.observe(Observation{Endpoint: ep.client.Endpoint, Op: OpHealth, Latency: latency, Code: statusOf(err), Err: err})
	}
}
