package retry

import (
	"net/http"
	"testing"
	"time"
)

func TestHint(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header map[string]string
		want   time.Duration
	}{
		{"none", 429, nil, 0},
		{"Retry-After seconds", 429, map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{"Retry-After fraction", 503, map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond},
		{"Retry-After date", 503, map[string]string{"Retry-After": "Thu, 01 May 2025 12:00:07 GMT"}, 7 * time.Second},
		{"Retry-After date in the past", 503, map[string]string{"Retry-After": "Thu, 01 May 2025 11:59:00 GMT"}, 0},
		{"Retry-After garbage", 429, map[string]string{"Retry-After": "soon"}, 0},
		{"Retry-After huge", 503, map[string]string{"Retry-After": "99999999999"}, MaxHint},
		{"retry-after-ms first", 429, map[string]string{"retry-after-ms": "20", "Retry-After": "1"}, 20 * time.Millisecond},
		{"retry-after-ms fraction", 503, map[string]string{"retry-after-ms": "1.5"}, 1500 * time.Microsecond},
		{"retry-after-ms unreadable", 503, map[string]string{"retry-after-ms": "x", "Retry-After": "1"}, time.Second},
		{"retry-after-ms zero", 503, map[string]string{"retry-after-ms": "0", "Retry-After": "1"}, time.Second},
		{"retry-after-ms infinite", 503, map[string]string{"retry-after-ms": "Inf"}, MaxHint},
		{"retry-after-ms NaN", 503, map[string]string{"retry-after-ms": "NaN"}, 0},
		{"reset requests", 429, map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "0"}, time.Second},
		{"reset tokens minutes", 429, map[string]string{"x-ratelimit-reset-tokens": "6m0s"}, 6 * time.Minute},
		{"reset milliseconds", 429, map[string]string{"x-ratelimit-reset-requests": "20ms"}, 20 * time.Millisecond},
		{"later of both", 429, map[string]string{"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1.5s"}, 1500 * time.Millisecond},
		{"only the used-up limit", 429, map[string]string{
			"x-ratelimit-reset-requests": "20ms", "x-ratelimit-remaining-requests": "0",
			"x-ratelimit-reset-tokens": "40s", "x-ratelimit-remaining-tokens": "5000"}, 20 * time.Millisecond},
		{"reset unreadable", 429, map[string]string{"x-ratelimit-reset-requests": "1 second"}, 0},
		{"reset capped", 429, map[string]string{"x-ratelimit-reset-tokens": "48h"}, MaxHint},
		{"Retry-After wins over reset", 429, map[string]string{"Retry-After": "3", "x-ratelimit-reset-tokens": "40s"}, 3 * time.Second},
		{"zero Retry-After falls to reset", 429, map[string]string{"Retry-After": "0", "x-ratelimit-reset-tokens": "40s"}, 40 * time.Second},
		{"reset headers only on 429", 503, map[string]string{"x-ratelimit-reset-requests": "1s"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := Hint(h, tt.status, now); got != tt.want {
				t.Errorf("Hint(%v, %d) = %s, want %s", tt.header, tt.status, got, tt.want)
			}
		})
	}
	if got := Hint(nil, 429, now); got != 0 {
		t.Errorf("Hint(nil) = %s, want 0", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"0.25", 250 * time.Millisecond},
		{"99999999999", MaxHint},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxHint},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			if got := ParseRetryAfter(tt.value, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestTemporaryStatus(t *testing.T) {
	temporary := map[int]bool{429: true, 500: true, 502: true, 503: true, 504: true}
	for code := 100; code < 600; code++ {
		if got := TemporaryStatus(code); got != temporary[code] {
			t.Errorf("TemporaryStatus(%d) = %v, want %v", code, got, temporary[code])
		}
	}
}
