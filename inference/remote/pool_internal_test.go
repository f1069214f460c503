package remote

import (
	"testing"
	"time"

	"github.com/twigdata/twig/internal/retry"
)

// TestPoolRetryPolicy checks the retry policy a pool builds from its
// options (the waits themselves are internal/retry's tests).
func TestPoolRetryPolicy(t *testing.T) {
	tests := []struct {
		name string
		opts PoolOptions
		want retry.Policy
	}{
		{"defaults", PoolOptions{}, retry.Policy{Attempts: 6, Base: 200 * time.Millisecond, Max: 30 * time.Second}},
		{"no retries", PoolOptions{Retries: -1}, retry.Policy{Attempts: 1, Base: 200 * time.Millisecond, Max: 30 * time.Second}},
		{"max below base", PoolOptions{Retries: 2, BackoffBase: time.Second, BackoffMax: time.Millisecond},
			retry.Policy{Attempts: 3, Base: time.Second, Max: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool([]string{"http://127.0.0.1:1"}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.retry != tt.want {
				t.Errorf("policy = %+v, want %+v", p.retry, tt.want)
			}
		})
	}
}
