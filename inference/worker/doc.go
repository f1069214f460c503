// Package worker serves an image generator over the worker protocol v1
// (docs/worker-protocol.md): JSON over HTTP, one stateless call per
// region, so that any worker of a pool can serve any call. [Server] is an
// http.Handler in front of a [Backend]; [SimBackend] puts the CPU
// simulator of inference/sim behind it, so that the whole pipeline runs
// over HTTP without a GPU or an API key (the "twig worker" command). The
// wire types in protocol.go are shared with the client in
// inference/remote.
//
// # Endpoints
//
//	POST /v1/generate           the next region's tokens, dynamically batched
//	POST /v1/decode             a token grid as a PNG
//	POST /v1/encode             a PNG as a token grid
//	POST /v1/chat/completions   OpenAI-compatible, when the backend reasons
//	GET  /v1/info               the model, its geometry and the batching limits
//	GET  /v1/stats              the batcher's counters ([Stats])
//	GET  /healthz               {"status": "ok"}
//
// # Dynamic batching
//
// A GPU answers a batch of calls in about the time of one, so concurrent
// generate calls are queued and a batcher goroutine gathers them: it
// takes the first waiting call, waits at most [Options.MaxWait] for more,
// up to [Options.MaxBatch], calls [Backend.GenerateBatch] once and answers
// each caller with its own [Result]. One batch runs at a time; calls that
// arrive meanwhile form the next. When [Options.Queue] calls are already
// waiting, a new one is answered 503 with Retry-After: 1, so that clients
// back off or go to another worker. A caller that hangs up while queued
// is left out of its batch. [Server.Close] stops the batcher; shut the
// http.Server down first to let the calls in flight finish.
//
// # Errors
//
// Every error answer has the protocol's body
// {"error": {"message": ..., "type": ...}}. A request that is wrong (bad
// JSON, a token count that does not fit the grid, ids outside the
// codebook, an image that is not a canvas) is answered 400, and so is a
// backend error that is a [RequestError]; a body over
// [Options.MaxBodyBytes] is 413, a wrong method 405, an unknown path 404;
// a full queue or a closing server 503 with Retry-After; any other
// backend error 500. In a batch each request fails alone: one bad request
// does not fail the others.
//
// # Chat completions
//
// When the backend also implements inference.Reasoner, as [SimBackend]
// does, the server answers OpenAI chat completions with it, so that the
// teacher client can use the worker like any OpenAI-compatible endpoint.
// Messages hold a string or content parts of type "text" and
// "image_url" (data:image/png;base64 URLs only: the worker fetches
// nothing). The rendered instruction (inference/templates) is the
// contract: the first system or user message that holds a prompt line
// (`must show: "..."` in the think template, `for the prompt: "..."` in
// the critique template) is the instruction; its "- " lines are the
// thoughts so far, the last "band N of K" outside them names the band, and
// an instruction that asks for IMPROVED_DESCRIPTION is a critique, any
// other a think. The canvas is the last image. An assistant message after
// the instruction and followed by a user message is a correction turn:
// the call is a retry, its earlier answers go to
// inference.CritiqueRequest.Unparsed and the number of correction turns is
// mixed into the seed, so that the retry draws a new answer. The model named in the request is not checked. A
// conversation the reasoner cannot read is answered 400.
//
// # Simulator
//
// [SimBackend] paints with sim.Painter, decodes with sim.Painter.Decode,
// encodes with sim.Geometry.Encode (after a nearest-neighbour resize to
// the image size) and reasons with sim.Reasoner, so its answers are those
// of the simulator for the same request: HTTP adds nothing. Its
// [SimConfig.BatchLatency] makes every batch take a fixed time whatever
// its size, like a forward pass, to measure batching without a GPU
// (BenchmarkBatching).
package worker
