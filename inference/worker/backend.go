package worker

import "context"

// Backend is the model behind a Server: the image generator and its VQ
// codec. A Backend must be safe for concurrent use, although the server
// calls GenerateBatch from one goroutine only, one batch at a time, as a
// GPU runs one forward pass at a time.
//
// A Backend that also implements inference.Reasoner serves understanding
// with the same model: the server then answers /v1/chat/completions too.
//
// Errors that are the request's fault (a wrong token count, positions
// past the grid, ids outside the codebook, an image that cannot be read)
// are, or wrap, a *RequestError; the server answers them with 400. Any
// other error is taken for server trouble (500).
type Backend interface {
	// Info describes the model. The server fills in MaxBatch and
	// MaxWaitMS from its own Options.
	Info() Info
	// GenerateBatch answers reqs in one forward pass. It returns one
	// Result per request, in order: an item's error fails that item
	// only. An error return fails the whole batch.
	GenerateBatch(ctx context.Context, reqs []GenerateRequest) ([]Result, error)
	// Decode renders a full token grid (raster order, token 0 where
	// nothing was generated yet) as a PNG.
	Decode(ctx context.Context, tokens []int32) ([]byte, error)
	// Encode tokenises an image, resized to the model's image size if
	// needed, into a full token grid.
	Encode(ctx context.Context, png []byte) ([]int32, error)
}

// Result is the answer to one request of a batch: Resp, or Err when that
// request failed.
type Result struct {
	Resp GenerateResponse
	Err  error
}

// RequestError is an error in a request itself: the call will fail again.
// The server answers it with 400 Bad Request and the message.
type RequestError struct {
	Err error
}

func (e *RequestError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *RequestError) Unwrap() error { return e.Err }
