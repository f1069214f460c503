// Package remote is the Go client of the GPU worker protocol
// (docs/worker-protocol.md): it calls twig workers over HTTP for the
// painter's generate and decode and the encoder's encode.
//
// A [Client] talks to one worker and makes exactly one HTTP attempt per
// call. A [Pool] spreads calls over several workers and implements
// [inference.Painter] and [inference.Encoder], so the TwiG loop runs on it
// as on the simulator:
//
//	pool, err := remote.NewPool([]string{"http://gpu0:8420", "http://gpu1:8420"}, remote.DefaultPoolOptions())
//	...
//	defer pool.Close()
//	if _, err := pool.Info(ctx); err != nil { ... } // reject a bad configuration early
//
// # Pooling
//
// Each call goes to the healthy endpoint with the fewest calls in flight,
// ties broken round robin. At most [PoolOptions].MaxInFlightPerEndpoint
// calls are in flight to one endpoint (default 64, enough to fill a
// worker's dynamic batch); further callers wait for a slot, and give up
// when their context is done. The pool's own HTTP transport keeps that
// many idle connections per endpoint.
//
// # Retries
//
// Failures are classified by [IsTransient]. Transient: 429, 500, 502, 503
// and 504 answers ([*StatusError]), connection failures and timeouts of
// [PoolOptions].Timeout ([*Error] of kind [Connection] or [Timeout]).
// Permanent: the other 4xx answers (the request is wrong and will fail
// again), answers that break the protocol ([BadAnswer]) and the caller's
// context being done ([Canceled]). A permanent failure is returned at
// once; a transient one is retried up to [PoolOptions].Retries times, on
// another endpoint when one is available, after a backoff with full jitter
// (uniform in [0, min(BackoffMax, BackoffBase*2^(r-1))) before retry r;
// the policy and the header parsing are internal/retry's). A Retry-After
// header, capped by BackoffMax, keeps its endpoint out of every call's
// choice until it has passed; a call whose only candidates are cooling
// down waits for them. [Pool.Info], which retries each endpoint on
// itself, waits the Retry-After (capped likewise) instead of the
// backoff. When the retries are spent, the last error is returned,
// wrapped ("remote generate: gave up after 6 attempts: worker
// http://gpu0:8420 generate: 503 service unavailable: loading").
//
// # Health
//
// An endpoint whose call fails with a connection error is marked unhealthy
// and skipped. The background checker ([PoolOptions].HealthInterval,
// default 10s) probes GET /healthz on every endpoint: a pass makes it
// healthy again, a failure (503 while a worker loads, no answer) unhealthy.
// When no endpoint is healthy, a call probes the unhealthy ones itself
// (concurrent callers share one probe per endpoint) and, failing that,
// counts the attempt as failed, backs off and tries again; after the
// retry budget it returns an [*UnavailableError] listing every endpoint
// and its last error. With HealthInterval 0 there is no background
// checker, and an endpoint marked unhealthy comes back only when no
// endpoint is healthy.
//
// [Pool.Info] asks every endpoint for its [worker.Info] and fails, naming
// the odd endpoints out, unless all serve the same model, revision, image
// size, patch size and codebook size, and report the same prompt wrapper
// (the text a region is conditioned on; empty from workers that predate
// the field).
//
// # What is recorded where
//
// A call's result holds only what the worker answered and what determines
// the dataset: the tokens (or PNG), the model string ("model@revision")
// and the token usage. Which endpoint served it, how long it took, how
// many attempts it needed and what failed on the way never enter a result,
// so records do not depend on the pool's luck and the call cache stays
// valid. They go to [PoolOptions].Observer, called after every attempt and
// every health probe with an [Observation], which the pipeline turns into
// metrics and logs. Errors name the endpoint and the operation and carry
// the worker's message, never the request.
package remote
