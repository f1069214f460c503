package teacher

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// scripted is a Completer that answers from a list of errors (nil: an
// answer with usage 10+5) and records the calls.
type scripted struct {
	errs  []error
	calls []Call
}

func (s *scripted) Complete(_ context.Context, call Call) (Result, error) {
	s.calls = append(s.calls, call)
	if n := len(s.calls); n <= len(s.errs) && s.errs[n-1] != nil {
		return Result{}, s.errs[n-1]
	}
	return Result{Reply: inference.Reply{Text: "ok", Model: "m", Usage: schema.Usage{InputTokens: 10, OutputTokens: 5}},
		Image: inference.DrawResponse{PNG: []byte{1}, Model: "m"}}, nil
}

// TestWrap: the budget is checked and charged once per call, the
// retries repeat the call, and every attempt passes the limiter.
func TestWrap(t *testing.T) {
	busy := &Error{Op: "think", StatusCode: 503}
	next := &scripted{errs: []error{busy, busy}}
	b := &Budget{Name: "think", MaxTokens: 15}
	lim := NewLimiter(Limits{Requests: 100})
	r := AsReasoner(Wrap(next, b, &fastRetry, lim))

	reply, err := r.Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
	if err != nil || reply.Text != "ok" {
		t.Fatalf("Think = %+v, %v; want the third attempt's answer", reply, err)
	}
	if len(next.calls) != 3 {
		t.Errorf("%d attempts, want 3", len(next.calls))
	}
	lim.mu.Lock()
	admitted := lim.win[winRequests].sum
	lim.mu.Unlock()
	if admitted != 3 {
		t.Errorf("the limiter admitted %d requests, want 3 (one per attempt)", admitted)
	}
	if s := b.Spent(); s.InputTokens != 10 || s.OutputTokens != 5 {
		t.Errorf("spent %+v, want the one answer's 10+5 tokens", s)
	}
	_, err = r.Critique(context.Background(), inference.CritiqueRequest{Instruction: "x"})
	if !errors.Is(err, ErrBudgetExhausted) || !strings.HasPrefix(err.Error(), "critique: think budget: ") {
		t.Errorf("Critique after the budget = %v, want %v named by the call", err, ErrBudgetExhausted)
	}
	if len(next.calls) != 3 {
		t.Errorf("a call went through a spent budget")
	}

	// Nothing to wrap: c itself.
	if c := Wrap(next, nil, nil, nil); c != Completer(next) {
		t.Errorf("Wrap with nothing = %T, want the Completer itself", c)
	}
}

// fakeReasoner is a reasoner of another package: not a Completer.
type fakeReasoner struct{ critiques int }

func (f *fakeReasoner) Think(context.Context, inference.ThinkRequest) (inference.Reply, error) {
	return inference.Reply{Text: "thought"}, nil
}

func (f *fakeReasoner) Critique(_ context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	f.critiques++
	return inference.Reply{Text: "critique of " + req.Instruction}, nil
}

func TestWrappersOfOtherImplementations(t *testing.T) {
	f := &fakeReasoner{}
	r := NewBudgetReasoner(NewRetryReasoner(NewLimitReasoner(f, NewLimiter(Limits{})), fastRetry), &Budget{})
	got, err := r.Critique(context.Background(), inference.CritiqueRequest{Instruction: "band 1"})
	if err != nil || got.Text != "critique of band 1" || f.critiques != 1 {
		t.Errorf("Critique = %+v, %v after %d calls; want the fake's answer, once", got, err, f.critiques)
	}
	d := NewRetryDrawer(NewBudgetDrawer(stubDrawer{}, &Budget{}), fastRetry)
	if img, err := d.Draw(context.Background(), inference.DrawRequest{Prompt: "x"}); err != nil || img.Model != "stub" {
		t.Errorf("Draw = %+v, %v; want the stub's image", img, err)
	}
	// A wrapper passes on a call its implementation cannot make, which
	// fails permanently (no retry).
	_, err = reasonerCompleter(f).Complete(context.Background(), Call{Op: inference.RoleJudge})
	if err == nil || Transient(err) || !strings.Contains(err.Error(), `cannot make a "judge" call`) {
		t.Errorf("a judge call on a reasoner = %v, want a permanent error", err)
	}
}

func TestClientsRefuseOtherCalls(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1/v1", Model: "gpt-4o", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Complete(context.Background(), Call{Op: inference.RoleDraw}); err == nil {
		t.Error("a chat client made a draw call")
	}
	d, err := NewDrawer(DrawerConfig{BaseURL: "http://127.0.0.1:1/v1", Model: "gpt-image-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Complete(context.Background(), Call{Op: inference.RoleThink}); err == nil {
		t.Error("an image client made a think call")
	}
}

// TestCostCountsTheCorrectionTurn: the limiter charges what the client
// sends, blank answers included.
func TestCostCountsTheCorrectionTurn(t *testing.T) {
	l := Limits{}
	base := l.CritiqueCost(inference.CritiqueRequest{Instruction: "abcd", MaxTokens: 8})
	tests := []struct {
		name     string
		unparsed []string
		extra    int
	}{
		{"none", nil, 0},
		{"last answer", []string{"first", "abcdefgh"}, 2*messageTokens + 2 + EstimateTokens(FormatReminder)},
		{"blank answer", []string{" "}, 2*messageTokens + EstimateTokens("(no answer)") + EstimateTokens(FormatReminder)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.CritiqueCost(inference.CritiqueRequest{Instruction: "abcd", MaxTokens: 8, Unparsed: tt.unparsed})
			if want := (Cost{base.InputTokens + tt.extra, 8}); got != want {
				t.Errorf("CritiqueCost = %+v, want %+v", got, want)
			}
		})
	}
	if got := l.Cost(Call{Op: inference.RoleDraw, Draw: inference.DrawRequest{Prompt: strings.Repeat("x", 400)}}); got != (Cost{}) {
		t.Errorf("draw Cost = %+v, want none", got)
	}
}
