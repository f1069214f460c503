package retry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxHint caps every wait read from a header: a server that asks for more
// than a day is misconfigured, and a larger number would not fit a
// time.Duration.
const MaxHint = 24 * time.Hour

// Hint reads the wait a response with status asks for, in this order:
// retry-after-ms (milliseconds, OpenAI's SDKs' header), Retry-After
// (seconds or an HTTP date, see [ParseRetryAfter]) and, on 429 only, the
// rate-limit reset headers of OpenAI-compatible servers (see
// [RateLimitReset]). A header that is absent, unreadable, zero or
// negative passes to the next. It returns 0 when none names a wait, and
// at most [MaxHint].
func Hint(h http.Header, status int, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return scaled(ms, time.Millisecond)
		}
	}
	if d := ParseRetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	if status != http.StatusTooManyRequests {
		return 0
	}
	return RateLimitReset(h)
}

// ParseRetryAfter reads the value of a Retry-After header: a number of
// seconds (a fraction is accepted) or an HTTP date. It returns 0 for an
// empty or malformed value, a wait that is not positive and a date that
// is not after now, and at most [MaxHint].
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return scaled(s, time.Second)
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxHint)
	}
	return 0
}

// RateLimitReset reads the reset headers of a 429 from an
// OpenAI-compatible server: x-ratelimit-reset-requests and
// x-ratelimit-reset-tokens, Go durations such as "1s", "6m0s" or "20ms".
// It returns the later reset of the limits that are used up: a limit
// whose x-ratelimit-remaining-* header says some remain is not the one
// that was hit, and a limit without that header counts as used up. It
// returns 0 when neither names a wait, and at most [MaxHint].
func RateLimitReset(h http.Header) time.Duration {
	var d time.Duration
	for _, kind := range []string{"requests", "tokens"} {
		reset, err := time.ParseDuration(strings.TrimSpace(h.Get("x-ratelimit-reset-" + kind)))
		if err != nil || reset <= 0 {
			continue
		}
		if rem := strings.TrimSpace(h.Get("x-ratelimit-remaining-" + kind)); rem != "" {
			if n, err := strconv.Atoi(rem); err == nil && n > 0 {
				continue
			}
		}
		d = max(d, reset)
	}
	return min(d, MaxHint)
}

// scaled is n > 0 units, at most MaxHint.
func scaled(n float64, unit time.Duration) time.Duration {
	if n*float64(unit) >= float64(MaxHint) {
		return MaxHint
	}
	return time.Duration(n * float64(unit))
}

// TemporaryStatus reports whether an HTTP status says that the server
// failed or is overloaded, so that the same request may succeed later:
// 429 Too Many Requests, 500 Internal Server Error, 502 Bad Gateway, 503
// Service Unavailable and 504 Gateway Timeout. Every other status
// (including 501 and the other 4xx, which say the request is wrong) is
// not; a client that also retries 408 Request Timeout says so itself.
func TemporaryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
