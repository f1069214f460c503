package remote

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twigdata/twig/internal/retry"
)

// StatusError is a call that a worker answered with an error status. It
// never holds the request: Message is what the worker said.
type StatusError struct {
	// Endpoint is the worker's base URL, Op the operation ("generate",
	// "decode", "encode", "info", "health").
	Endpoint string
	Op       string
	// Code is the HTTP status code.
	Code int
	// Message is the worker's error message (the protocol's
	// error.message), or the start of the body when it is not JSON.
	Message string
	// RetryAfter is the wait the worker asked for with a Retry-After (or
	// retry-after-ms) header, as internal/retry's Hint reads it; 0 if none.
	RetryAfter time.Duration
}

// Error says which endpoint and operation failed, with the status and the
// worker's message.
func (e *StatusError) Error() string {
	text := strings.ToLower(http.StatusText(e.Code))
	if text == "" {
		text = "status"
	}
	s := fmt.Sprintf("worker %s %s: %d %s", e.Endpoint, e.Op, e.Code, text)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Temporary reports whether the same call may succeed later: true for 429
// (overloaded), 500, 502, 503 (loading or overloaded) and 504
// ([retry.TemporaryStatus]), false for the other statuses, which say that
// the request is wrong.
func (e *StatusError) Temporary() bool { return retry.TemporaryStatus(e.Code) }

// Kind classifies the calls that got no usable answer.
type Kind int

// The kinds of an [Error].
const (
	// Connection: the connection failed or broke (refused, reset, closed
	// before the answer was complete). Transient.
	Connection Kind = iota + 1
	// Timeout: no answer within the call's timeout. Transient.
	Timeout
	// Canceled: the caller's context was done. Not retried.
	Canceled
	// BadAnswer: the worker answered 2xx with something that breaks the
	// protocol (not JSON, the wrong number of tokens, too large). Permanent.
	BadAnswer
)

// String names the kind as it appears in error messages.
func (k Kind) String() string {
	switch k {
	case Connection:
		return "connection failed"
	case Timeout:
		return "timed out"
	case Canceled:
		return "canceled"
	case BadAnswer:
		return "bad answer"
	}
	return "kind " + strconv.Itoa(int(k))
}

// Error is a call that got no usable answer from a worker.
type Error struct {
	// Endpoint is the worker's base URL, Op the operation, Kind what went
	// wrong.
	Endpoint string
	Op       string
	Kind     Kind
	// Err is the underlying error: the network error, the context's
	// error, or what is wrong with the answer.
	Err error
}

// Error says which endpoint and operation failed, and how.
func (e *Error) Error() string {
	return fmt.Sprintf("worker %s %s: %s: %v", e.Endpoint, e.Op, e.Kind, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later: true for
// connection failures and timeouts.
func (e *Error) Temporary() bool { return e.Kind == Connection || e.Kind == Timeout }

// UnavailableError reports that no endpoint of a [Pool] was healthy for a
// whole call, retries included.
type UnavailableError struct {
	Op       string
	Attempts int
	// Endpoints are the pool's endpoints and Errs the last error each
	// one gave (nil if none is known), in the same order.
	Endpoints []string
	Errs      []error
}

// Error lists the endpoints and why each was unavailable.
func (e *UnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "remote %s: no worker available after %d attempts", e.Op, e.Attempts)
	for i, ep := range e.Endpoints {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep)
		b.WriteString(ep)
		if i < len(e.Errs) && e.Errs[i] != nil {
			b.WriteString(" (")
			b.WriteString(e.Errs[i].Error())
			b.WriteString(")")
		} else {
			b.WriteString(" (unhealthy)")
		}
	}
	return b.String()
}

// Temporary reports true: the workers may come back.
func (e *UnavailableError) Temporary() bool { return true }

// IsTransient reports whether err, or an error it wraps, is a failure that
// may go away if the same call is made again later: a [StatusError] with a
// temporary status, an [Error] of kind [Connection] or [Timeout], or an
// [UnavailableError]. Other errors, including context cancellation and
// errors of other packages, are permanent.
func IsTransient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	var ue *UnavailableError
	return errors.As(err, &ue)
}
