package remote

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"99999999999", 24 * time.Hour},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if got := parseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := &Pool{opts: PoolOptions{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}}
	tests := []struct {
		retry int
		ceil  time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{60, time.Second},
	}
	for _, tt := range tests {
		var most time.Duration
		for range 200 {
			d := p.backoff(tt.retry)
			if d < 0 || d > tt.ceil {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", tt.retry, d, tt.ceil)
			}
			most = max(most, d)
		}
		if most < tt.ceil/2 {
			t.Errorf("backoff(%d) at most %v in 200 draws, want jitter up to %v", tt.retry, most, tt.ceil)
		}
	}
}
