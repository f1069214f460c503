package teacher

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
)

func TestViewRequestShape(t *testing.T) {
	img := testPNG(t, 8, 8, color.White)
	tests := []struct {
		name     string
		unparsed []string
		want     []string // role: text of each message
	}{
		{name: "first try", want: []string{"user: Judge the image."}},
		{name: "correction turn", unparsed: []string{"Nice picture!", "SCORE: good"},
			want: []string{"user: Judge the image.", "assistant: SCORE: good", "user: " + ViewFormatReminder}},
		{name: "empty answer", unparsed: []string{""},
			want: []string{"user: Judge the image.", "assistant: (no answer)", "user: " + ViewFormatReminder}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, reply("SCORE: 80\nQ1: yes"))
			got, err := newTestClient(t, f, nil).View(context.Background(), inference.ViewRequest{
				Instruction: "Judge the image.", Image: img, MaxTokens: 64, Seed: 9, Unparsed: tt.unparsed,
			})
			if err != nil {
				t.Fatalf("View: %v", err)
			}
			if got.Text != "SCORE: 80\nQ1: yes" {
				t.Errorf("reply %q", got.Text)
			}
			req := f.Hits()[0].req
			var msgs []string
			for _, m := range req.Messages {
				msgs = append(msgs, m.Role+": "+m.text())
			}
			if !slices.Equal(msgs, tt.want) {
				t.Errorf("messages:\n got %q\nwant %q", msgs, tt.want)
			}
			parts := req.Messages[0].parts()
			if len(parts) != 2 || parts[1].ImageURL == nil {
				t.Fatalf("the first message has %d parts, want the instruction and the image", len(parts))
			}
			if b, err := decodeDataURL(parts[1].ImageURL.URL); err != nil || !bytes.Equal(b, img) {
				t.Errorf("the first message's image is not the judged image (err %v)", err)
			}
			if req.MaxTokens != 64 || req.Seed == nil || *req.Seed != 9 {
				t.Errorf("max_tokens %d, seed %v", req.MaxTokens, req.Seed)
			}
		})
	}
}

func TestViewErrorNamesJudge(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "bad image")
	})
	_, err := newTestClient(t, f, nil).View(context.Background(), inference.ViewRequest{Instruction: "x", Image: []byte("p")})
	var e *Error
	if !errors.As(err, &e) || e.Op != "judge" || e.StatusCode != http.StatusBadRequest {
		t.Errorf("got %v, want a judge *Error with status 400", err)
	}
}

// TestViewWrappers composes budget, retry and limit around View as cmd
// does: a 503 is retried, usage is charged, and a spent budget fails fast.
func TestViewWrappers(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int, req wireRequest) {
		if n == 0 {
			writeAPIError(w, http.StatusServiceUnavailable, "server_error", "busy")
			return
		}
		writeJSON(w, http.StatusOK, chatResponse("vlm-1", "SCORE: 90", 700, 5))
	})
	lim := NewLimiter(Limits{Requests: 10, MaxConcurrent: 1})
	budget := &Budget{Name: "judge", MaxTokens: 1000}
	var v inference.Viewer = NewLimitViewer(newTestClient(t, f, nil), lim)
	v = NewRetryViewer(v, RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond})
	v = NewBudgetViewer(v, budget)
	req := inference.ViewRequest{Instruction: "Judge.", Image: []byte("png")}
	got, err := v.View(context.Background(), req)
	if err != nil || got.Text != "SCORE: 90" || got.Model != "vlm-1" {
		t.Fatalf("View: %+v, %v", got, err)
	}
	if n := len(f.Hits()); n != 2 {
		t.Errorf("%d requests, want 2 (one retry)", n)
	}
	if s := budget.Spent(); s.InputTokens != 700 || s.OutputTokens != 5 {
		t.Errorf("spent %+v", s)
	}
	if _, err := v.View(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := v.View(context.Background(), req); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("third call: %v, want ErrBudgetExhausted", err)
	}
	if n := len(f.Hits()); n != 3 {
		t.Errorf("%d requests, want 3: a spent budget sends none", n)
	}
}

func TestViewCost(t *testing.T) {
	l := Limits{ImageTokens: 100, OutputReserve: 50}
	tests := []struct {
		name string
		req  inference.ViewRequest
		want Cost
	}{
		{"image", inference.ViewRequest{Instruction: "12345678", Image: []byte("p")}, Cost{8 + 2 + 100, 50}},
		{"no image", inference.ViewRequest{Instruction: "1234", MaxTokens: 7}, Cost{8 + 1, 7}},
		{"correction", inference.ViewRequest{Instruction: "1234", Unparsed: []string{"old", "abcd"}},
			Cost{8 + 1 + 16 + 1 + EstimateTokens(ViewFormatReminder), 50}},
	}
	for _, tt := range tests {
		if got := l.ViewCost(tt.req); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
