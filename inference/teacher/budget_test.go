package teacher

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// TestBudgetExhausts: each call costs 100 input and 20 output tokens.
// The third call starts below the cap and passes it; the fourth fails
// fast without reaching the server.
func TestBudgetExhausts(t *testing.T) {
	prices := Prices{InputPerMillion: 2.5, OutputPerMillion: 10} // $0.00045 a call
	tests := []struct {
		name    string
		budget  *Budget
		wantErr string
	}{
		{name: "tokens", budget: &Budget{Name: "think", MaxTokens: 250, Prices: prices},
			wantErr: "think: think budget: budget exhausted: spent 360 of 250 tokens"},
		{name: "dollars", budget: &Budget{MaxDollars: 0.001, Prices: prices},
			wantErr: "critique: budget: budget exhausted: spent $0.001350 of $0.001000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "SCORE: 80\nIMPROVED_DESCRIPTION: A sentence.", 100, 20))
			})
			r := NewBudgetReasoner(newTestClient(t, f, nil), tt.budget)
			call := func() error {
				if strings.HasPrefix(tt.wantErr, "think") {
					_, err := r.Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
					return err
				}
				_, err := r.Critique(context.Background(), inference.CritiqueRequest{Instruction: "x"})
				return err
			}
			for i := range 3 {
				if err := call(); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			for range 2 {
				start := time.Now()
				err := call()
				if !errors.Is(err, ErrBudgetExhausted) {
					t.Fatalf("err = %v, want ErrBudgetExhausted", err)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("message:\n got %q\nwant %q", err.Error(), tt.wantErr)
				}
				if d := time.Since(start); d > 10*time.Millisecond {
					t.Errorf("the refused call took %s, want it to fail fast", d)
				}
				if Transient(err) {
					t.Error("an exhausted budget is transient")
				}
			}
			if n := len(f.Hits()); n != 3 {
				t.Errorf("the server was hit %d times, want 3", n)
			}
			got := tt.budget.Spent()
			want := Spend{InputTokens: 300, OutputTokens: 60, Dollars: 3 * 0.00045}
			if got.InputTokens != want.InputTokens || got.OutputTokens != want.OutputTokens || math.Abs(got.Dollars-want.Dollars) > 1e-12 {
				t.Errorf("Spent = %+v, want %+v", got, want)
			}
		})
	}
}

func TestBudgetChargesEmptyReplies(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o", "", 70, 512))
	})
	b := &Budget{}
	_, err := NewBudgetReasoner(newTestClient(t, f, nil), b).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
	var empty *EmptyReplyError
	if !errors.As(err, &empty) {
		t.Fatalf("err = %v, want an *EmptyReplyError", err)
	}
	if got := b.Spent(); got.InputTokens != 70 || got.OutputTokens != 512 {
		t.Errorf("Spent = %+v, want 70 input and 512 output tokens", got)
	}
}

// TestBudgetZeroValue: a Budget with no caps only counts.
func TestBudgetZeroValue(t *testing.T) {
	var b Budget
	for range 1000 {
		b.Charge(schema.Usage{InputTokens: 1000, OutputTokens: 1000})
	}
	if err := b.Check(); err != nil {
		t.Errorf("a Budget with no caps is exhausted: %v", err)
	}
}

func TestBudgetDrawer(t *testing.T) {
	b := &Budget{Name: "draw", MaxDollars: 0.1, Prices: Prices{PerImage: 0.04}}
	d := NewBudgetDrawer(stubDrawer{}, b)
	for i := range 3 {
		if _, err := d.Draw(context.Background(), inference.DrawRequest{Prompt: "x"}); err != nil {
			t.Fatalf("draw %d: %v", i, err)
		}
	}
	_, err := d.Draw(context.Background(), inference.DrawRequest{Prompt: "x"})
	if want := "draw: draw budget: budget exhausted: spent $0.120000 of $0.100000"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if got := b.Spent(); got.Images != 3 {
		t.Errorf("Spent = %+v, want 3 images", got)
	}
}
