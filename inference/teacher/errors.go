package teacher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/twigdata/twig/internal/retry"
	"github.com/twigdata/twig/schema"
)

// ErrBudgetExhausted is returned, wrapped, by every call through a
// [BudgetCompleter] (NewBudgetReasoner, NewBudgetDrawer, NewBudgetViewer)
// once its [Budget] is spent. The
// pipeline branches on it (errors.Is) to stop starting new trajectories.
var ErrBudgetExhausted = errors.New("budget exhausted")

// Error is a call to an OpenAI-compatible endpoint that got no usable
// answer: an error status, a timeout, or a connection that failed. Its
// message and Err never hold the API key: any text that contained it is
// redacted.
type Error struct {
	// Op is the call: "think", "critique" or "draw".
	Op string
	// Model is the configured model; Endpoint the base URL without
	// credentials.
	Model    string
	Endpoint string
	// StatusCode is the HTTP status; 0 when no response arrived.
	StatusCode int
	// Timeout says the attempt ran past the configured timeout.
	Timeout bool
	// RetryAfter is the wait the server asked for (retry-after-ms,
	// Retry-After, or on 429 the x-ratelimit-reset-* headers, as
	// internal/retry's Hint reads them); 0 if none.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

// Error says which call failed, where, and why.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s at %s: ", e.Op, e.Model, e.Endpoint)
	switch {
	case e.Timeout:
		b.WriteString("timed out: ")
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "%d %s: ", e.StatusCode, strings.ToLower(http.StatusText(e.StatusCode)))
	}
	b.WriteString(errorText(e.Err))
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later: timeouts,
// broken connections, and the statuses 408, 429, 500, 502, 503 and 504.
// Other statuses (400, 401, 403, 404, 422, ...) say the request is wrong
// and are never retried.
func (e *Error) Temporary() bool {
	if e.Timeout {
		return true
	}
	if e.StatusCode != 0 {
		return temporaryStatus(e.StatusCode)
	}
	return connectionError(e.Err)
}

// errorText is the readable part of an underlying error: the server's
// message for go-openai's error types, which otherwise repeat the status.
func errorText(err error) string {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case err == nil:
		return "unknown error"
	case errors.As(err, &apiErr):
		s := apiErr.Message
		if apiErr.Type != "" {
			s += " (" + apiErr.Type + ")"
		}
		return s
	case errors.As(err, &reqErr):
		body := strings.Join(strings.Fields(string(reqErr.Body)), " ")
		if len(body) > 200 {
			body = body[:200] + "..."
		}
		if body == "" {
			return "empty error body"
		}
		return body
	}
	return err.Error()
}

// temporaryStatus reports whether an API's answer may change if asked
// again: [retry.TemporaryStatus], or 408, which an API server sends when
// the request body came too slowly.
func temporaryStatus(code int) bool {
	return code == http.StatusRequestTimeout || retry.TemporaryStatus(code)
}

// connectionError reports whether err is a broken or refused connection or
// a network timeout.
func connectionError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's context: an attempt's own timeout is Error.Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, target := range []error{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED,
		syscall.EPIPE, io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Transient reports whether err is worth retrying: an [*Error] that is
// Temporary, or a broken connection. The caller's own context being done,
// [ErrBudgetExhausted], an [*EmptyReplyError] and anything else are not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, ErrBudgetExhausted) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	return connectionError(err)
}

// retryAfter returns the wait the server asked for in err, or 0.
func retryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// EmptyReplyError is a completion that arrived but holds no answer: no
// choices, or a first choice with no text (a refusal, or a reasoning model
// that spent its tokens thinking). It is not retried: the same request
// would most likely come back empty again.
type EmptyReplyError struct {
	// Op, Model and Endpoint are as in [Error].
	Op, Model, Endpoint string
	// Choices is the number of choices in the response.
	Choices int
	// FinishReason and Refusal are the first choice's, when there is one.
	FinishReason string
	Refusal      string
	// Usage is what the call cost; budgets and limiters still count it.
	Usage schema.Usage
}

// Error says which call came back empty, and how.
func (e *EmptyReplyError) Error() string {
	s := fmt.Sprintf("%s %s at %s: empty reply", e.Op, e.Model, e.Endpoint)
	if e.Choices == 0 {
		return s + ": no choices"
	}
	s += ": no content"
	if e.FinishReason != "" {
		s += ", finish reason " + e.FinishReason
	}
	if e.Refusal != "" {
		s += fmt.Sprintf(", refusal %.200q", e.Refusal)
	}
	return s
}

// TruncatedReplyError is a thought cut off by the token limit
// (finish_reason "length"): half a sentence must not guide a region or
// become a training target. It is not retried (the same request would be
// cut again); raise the reasoner's max tokens (--reason-max-tokens).
type TruncatedReplyError struct {
	// Op, Model and Endpoint are as in [Error].
	Op, Model, Endpoint string
	// MaxTokens is the limit the reply hit; Text the truncated reply.
	MaxTokens int
	Text      string
	Usage     schema.Usage
}

// Error says which call was cut off, at which limit.
func (e *TruncatedReplyError) Error() string {
	return fmt.Sprintf("%s %s at %s: reply truncated at the %d-token limit (finish reason length): %.80q",
		e.Op, e.Model, e.Endpoint, e.MaxTokens, e.Text)
}

// usageOf is what a call cost: u when err is nil, an empty reply's usage,
// or false when the call got no answer at all.
func usageOf(u schema.Usage, err error) (schema.Usage, bool) {
	if err == nil {
		return u, true
	}
	var tr *TruncatedReplyError
	if errors.As(err, &tr) {
		return tr.Usage, true
	}
	var e *EmptyReplyError
	if errors.As(err, &e) {
		return e.Usage, true
	}
	return schema.Usage{}, false
}
