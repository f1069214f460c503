package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/internal/retry"
	"github.com/twigdata/twig/schema"
)

// The operations, as they appear in errors and observations.
const (
	OpGenerate = "generate"
	OpDecode   = "decode"
	OpEncode   = "encode"
	OpInfo     = "info"
	OpHealth   = "health"
)

const (
	// maxAnswer bounds the size of an answer body.
	maxAnswer = 64 << 20
	// maxErrorBody bounds how much of an error body is read.
	maxErrorBody = 64 << 10
	// maxMessage bounds a non-JSON error body quoted in a message.
	maxMessage = 200
)

var (
	_ inference.Painter = (*Client)(nil)
	_ inference.Encoder = (*Client)(nil)
)

// Client calls one worker. Each method makes exactly one HTTP attempt: it
// does not retry, balance or limit concurrency (a [Pool] does). Failures
// are a [*StatusError] when the worker answered with an error status, an
// [*Error] otherwise; [IsTransient] tells which ones may succeed later.
//
// A Client is safe for concurrent use; set its fields before the first
// call.
type Client struct {
	// Endpoint is the worker's base URL, e.g. "http://127.0.0.1:8420",
	// without a trailing slash. The protocol's paths are appended to it.
	Endpoint string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each call, reading the answer included; 0 means
	// that only the caller's context bounds it. A call that runs past it
	// fails with an [*Error] of kind [Timeout].
	Timeout time.Duration
}

// NewClient returns a client of the worker at endpoint, an http or https
// base URL.
func NewClient(endpoint string) (*Client, error) {
	ep, err := normalizeEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	return &Client{Endpoint: ep}, nil
}

// normalizeEndpoint checks that s is an http(s) base URL and drops a
// trailing slash.
func normalizeEndpoint(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("remote: endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("remote: endpoint %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("remote: endpoint %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("remote: endpoint %q: must be a plain base URL", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Generate asks the worker for req.N new tokens. An answer with another
// number of tokens is an [*Error] of kind [BadAnswer].
func (c *Client) Generate(ctx context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	in := worker.GenerateRequest{
		Prefix:      req.Prefix,
		Prior:       nonNil(req.Prior),
		N:           req.N,
		CFG:         req.CFG,
		Temperature: req.Temperature,
		TopK:        req.TopK,
		TopP:        req.TopP,
		Seed:        req.Seed,
	}
	var out worker.GenerateResponse
	if err := c.call(ctx, OpGenerate, http.MethodPost, worker.PathGenerate, in, &out); err != nil {
		return inference.GenerateResponse{}, err
	}
	if len(out.Tokens) != req.N {
		return inference.GenerateResponse{}, c.badAnswer(OpGenerate, fmt.Errorf("%d tokens, want %d", len(out.Tokens), req.N))
	}
	return inference.GenerateResponse{
		Tokens: out.Tokens,
		Model:  out.Model,
		Usage:  schema.Usage{InputTokens: out.Usage.InputTokens, OutputTokens: out.Usage.OutputTokens},
	}, nil
}

// Decode asks the worker to render a full token grid as a PNG.
func (c *Client) Decode(ctx context.Context, tokens []int32) (inference.DecodeResponse, error) {
	var out worker.DecodeResponse
	if err := c.call(ctx, OpDecode, http.MethodPost, worker.PathDecode, worker.DecodeRequest{Tokens: nonNil(tokens)}, &out); err != nil {
		return inference.DecodeResponse{}, err
	}
	if len(out.PNG) == 0 {
		return inference.DecodeResponse{}, c.badAnswer(OpDecode, errors.New("no png"))
	}
	return inference.DecodeResponse{PNG: out.PNG, Model: out.Model}, nil
}

// Encode asks the worker to tokenise a PNG image.
func (c *Client) Encode(ctx context.Context, png []byte) ([]int32, error) {
	var out worker.EncodeResponse
	if err := c.call(ctx, OpEncode, http.MethodPost, worker.PathEncode, worker.EncodeRequest{PNG: png}, &out); err != nil {
		return nil, err
	}
	if len(out.Tokens) == 0 {
		return nil, c.badAnswer(OpEncode, errors.New("no tokens"))
	}
	return out.Tokens, nil
}

// Info asks the worker which model it serves. An answer without a model,
// an image size or a patch size is an [*Error] of kind [BadAnswer].
func (c *Client) Info(ctx context.Context) (worker.Info, error) {
	var out worker.Info
	if err := c.call(ctx, OpInfo, http.MethodGet, worker.PathInfo, nil, &out); err != nil {
		return worker.Info{}, err
	}
	if out.Model == "" || out.ImageSize <= 0 || out.PatchSize <= 0 {
		return worker.Info{}, c.badAnswer(OpInfo, fmt.Errorf("model %q, image_size %d, patch_size %d", out.Model, out.ImageSize, out.PatchSize))
	}
	return out, nil
}

// Health returns nil when the worker answers GET /healthz with 200, and a
// [*StatusError] (503 while the worker loads) or an [*Error] otherwise.
func (c *Client) Health(ctx context.Context) error {
	return c.call(ctx, OpHealth, http.MethodGet, worker.PathHealth, nil, nil)
}

// call makes one HTTP exchange: it sends in as JSON (none if nil) and
// decodes a 2xx answer into out (unless nil).
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("worker %s %s: encode request: %w", c.Endpoint, op, err)
		}
		body = bytes.NewReader(b)
	}
	callCtx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(callCtx, method, c.Endpoint+path, body)
	if err != nil {
		return fmt.Errorf("worker %s %s: %w", c.Endpoint, op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.transportError(ctx, callCtx, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &StatusError{
			Endpoint:   c.Endpoint,
			Op:         op,
			Code:       resp.StatusCode,
			Message:    errorMessage(b),
			RetryAfter: retry.Hint(resp.Header, resp.StatusCode, time.Now()),
		}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return c.transportError(ctx, callCtx, op, err)
	}
	if len(b) > maxAnswer {
		return c.badAnswer(op, fmt.Errorf("answer larger than %d bytes", maxAnswer))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return c.badAnswer(op, err)
	}
	return nil
}

// transportError classifies a failed exchange: the caller's context being
// done, the call's own timeout, or a connection failure.
func (c *Client) transportError(ctx, callCtx context.Context, op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the method and URL
	}
	e := &Error{Endpoint: c.Endpoint, Op: op, Kind: Connection, Err: err}
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		e.Kind, e.Err = Canceled, ctx.Err()
	case callCtx.Err() != nil:
		e.Kind, e.Err = Timeout, fmt.Errorf("no answer within %v", c.Timeout)
	case errors.As(err, &ne) && ne.Timeout():
		e.Kind = Timeout
	}
	return e
}

func (c *Client) badAnswer(op string, err error) error {
	return &Error{Endpoint: c.Endpoint, Op: op, Kind: BadAnswer, Err: err}
}

// errorMessage extracts the message of an error body: the protocol's
// error.message (else its error.type), or else the start of the body as
// text.
func errorMessage(b []byte) string {
	var eb worker.ErrorBody
	if json.Unmarshal(b, &eb) == nil {
		if eb.Error.Message != "" {
			return eb.Error.Message
		}
		if eb.Error.Type != "" {
			return eb.Error.Type
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > maxMessage {
		s = s[:maxMessage]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

// nonNil makes a nil slice encode as [] rather than null.
func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
