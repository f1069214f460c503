package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/worker"
)

const workerHelp = `Usage: twig worker [flags]

Serves the worker protocol (docs/worker-protocol.md) over HTTP with the
built-in simulator as the model: /v1/generate with dynamic batching,
/v1/decode, /v1/encode, /v1/info, /v1/stats, /healthz and an
OpenAI-compatible /v1/chat/completions backed by the simulated reasoner,
so the whole pipeline runs over HTTP without a GPU or an API key. It
serves until interrupted, then lets the calls in flight finish.

Flags:
`

// workerOptions are the flags of twig worker.
type workerOptions struct {
	listen string
	server worker.Options
	sim    worker.SimConfig
}

func cmdWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	o := workerOptions{listen: "127.0.0.1:8420", sim: worker.DefaultSimConfig()}
	addWorkerFlags(fs, &o)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), workerHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if o.server.MaxWait <= 0 {
		o.server.MaxWait = -1 // worker.Options reads zero as the default
	}
	return runWorker(ctx, o, os.Stdout)
}

func addWorkerFlags(fs *flag.FlagSet, o *workerOptions) {
	fs.StringVar(&o.listen, "listen", o.listen, "`address` to listen on (host:port; port 0 picks a free one)")
	fs.IntVar(&o.server.MaxBatch, "max-batch", worker.DefaultMaxBatch, "generate calls per batch at most")
	fs.DurationVar(&o.server.MaxWait, "max-wait", worker.DefaultMaxWait, "how long a batch waits for more calls after its first (0: no wait)")
	fs.IntVar(&o.server.Queue, "queue", worker.DefaultQueue, "generate calls waiting at most; beyond it calls are answered 503 with Retry-After")
	fs.IntVar(&o.sim.Geometry.ImageSize, "image-size", o.sim.Geometry.ImageSize, "image side in pixels")
	fs.IntVar(&o.sim.Geometry.PatchSize, "patch-size", o.sim.Geometry.PatchSize, "patch side in pixels (one token per patch)")
	fs.Float64Var(&o.sim.MistakeRate, "sim-mistake-rate", o.sim.MistakeRate, "simulated painter: chance of a mistake per object")
	fs.Float64Var(&o.sim.MalformedRate, "sim-malformed-rate", o.sim.MalformedRate, "simulated critic: chance of a malformed answer")
	fs.Float64Var(&o.sim.DriftRate, "sim-drift-rate", o.sim.DriftRate, "simulated reasoner: chance of a thought that breaks the rules")
	fs.DurationVar(&o.sim.BatchLatency, "latency", 0, "simulated time every batch takes, whatever its size, like a GPU forward pass (for benchmarks)")
}

// runWorker serves until ctx is cancelled, then shuts down gracefully:
// it stops accepting connections, lets the calls in flight finish (for up
// to 10 s), stops the batcher and prints the batching counters.
func runWorker(ctx context.Context, o workerOptions, stdout io.Writer) error {
	backend := worker.NewSimBackend(o.sim)
	info := backend.Info()
	if err := (sim.Geometry{ImageSize: info.ImageSize, PatchSize: info.PatchSize}).Validate(); err != nil {
		return fmt.Errorf("--image-size, --patch-size: %w", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	srv := worker.NewServer(backend, o.server)
	defer srv.Close()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	info = srv.Info()
	fmt.Fprintf(stdout, "twig worker: %s, %d px in %d px patches, max batch %d, max wait %d ms\n",
		info.ModelID(), info.ImageSize, info.PatchSize, info.MaxBatch, info.MaxWaitMS)
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	srv.Close()
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	st := srv.Stats()
	fmt.Fprintf(stdout, "twig worker: stopped after %d generate calls in %d batches (mean batch %.1f), %d rejected\n",
		st.Calls, st.Batches, st.MeanBatchSize, st.Rejected)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
