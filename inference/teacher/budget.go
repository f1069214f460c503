package teacher

import (
	"context"
	"fmt"
	"sync"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// Prices are a model's list prices in dollars.
type Prices struct {
	// InputPerMillion and OutputPerMillion price a million tokens.
	InputPerMillion  float64 `json:"input_per_million,omitempty"`
	OutputPerMillion float64 `json:"output_per_million,omitempty"`
	// PerImage prices one drawn image.
	PerImage float64 `json:"per_image,omitempty"`
}

// Spend is what calls have used so far.
type Spend struct {
	InputTokens  int64
	OutputTokens int64
	Images       int64
	Dollars      float64
}

// Budget caps the spending of the calls that share it (typically all the
// calls of one role). Once the spending reaches MaxTokens or MaxDollars,
// every call fails fast with [ErrBudgetExhausted]. Calls in flight when
// the cap is reached still finish and are counted, so the spending can
// pass the cap by at most the cost of the calls in flight. The zero
// value has no cap and only counts. Set the fields before first use; a
// Budget is then safe for concurrent use.
type Budget struct {
	// Name says whose budget it is in errors ("critique").
	Name string `json:"name,omitempty"`
	// MaxTokens caps input plus output tokens; zero: no cap.
	MaxTokens int64 `json:"max_tokens,omitempty"`
	// MaxDollars caps the cost at Prices; zero: no cap.
	MaxDollars float64 `json:"max_dollars,omitempty"`
	Prices     Prices  `json:"prices"`

	mu    sync.Mutex
	spent Spend
}

// Spent returns what has been spent so far.
func (b *Budget) Spent() Spend {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

// Charge counts a call's usage.
func (b *Budget) Charge(u schema.Usage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent.InputTokens += int64(u.InputTokens)
	b.spent.OutputTokens += int64(u.OutputTokens)
	b.spent.Dollars += float64(u.InputTokens)*b.Prices.InputPerMillion/1e6 +
		float64(u.OutputTokens)*b.Prices.OutputPerMillion/1e6
}

// ChargeImages counts n drawn images.
func (b *Budget) ChargeImages(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent.Images += int64(n)
	b.spent.Dollars += float64(n) * b.Prices.PerImage
}

// Check returns an error wrapping [ErrBudgetExhausted] once a cap is
// reached, and nil before.
func (b *Budget) Check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	name := "budget"
	if b.Name != "" {
		name = b.Name + " budget"
	}
	if tokens := b.spent.InputTokens + b.spent.OutputTokens; b.MaxTokens > 0 && tokens >= b.MaxTokens {
		return fmt.Errorf("%s: %w: spent %d of %d tokens", name, ErrBudgetExhausted, tokens, b.MaxTokens)
	}
	if b.MaxDollars > 0 && b.spent.Dollars >= b.MaxDollars {
		return fmt.Errorf("%s: %w: spent $%.6f of $%.6f", name, ErrBudgetExhausted, b.spent.Dollars, b.MaxDollars)
	}
	return nil
}

// BudgetReasoner makes the calls of another reasoner spend a [Budget]:
// a call fails fast once the budget is exhausted, and each answer's
// usage is charged.
type BudgetReasoner struct {
	next   inference.Reasoner
	budget *Budget
}

var _ inference.Reasoner = (*BudgetReasoner)(nil)

// NewBudgetReasoner returns next spending b.
func NewBudgetReasoner(next inference.Reasoner, b *Budget) *BudgetReasoner {
	return &BudgetReasoner{next: next, budget: b}
}

// Think checks the budget, calls next.Think and charges its usage.
func (r *BudgetReasoner) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	if err := r.budget.Check(); err != nil {
		return inference.Reply{}, fmt.Errorf("think: %w", err)
	}
	reply, err := r.next.Think(ctx, req)
	if u, ok := usageOf(reply.Usage, err); ok {
		r.budget.Charge(u)
	}
	return reply, err
}

// Critique checks the budget, calls next.Critique and charges its usage.
func (r *BudgetReasoner) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	if err := r.budget.Check(); err != nil {
		return inference.Reply{}, fmt.Errorf("critique: %w", err)
	}
	reply, err := r.next.Critique(ctx, req)
	if u, ok := usageOf(reply.Usage, err); ok {
		r.budget.Charge(u)
	}
	return reply, err
}

// BudgetDrawer makes the calls of a drawer spend a [Budget] at
// Prices.PerImage per image.
type BudgetDrawer struct {
	next   inference.Drawer
	budget *Budget
}

var _ inference.Drawer = (*BudgetDrawer)(nil)

// NewBudgetDrawer returns next spending b.
func NewBudgetDrawer(next inference.Drawer, b *Budget) *BudgetDrawer {
	return &BudgetDrawer{next: next, budget: b}
}

// Draw checks the budget, calls next.Draw and charges one image.
func (d *BudgetDrawer) Draw(ctx context.Context, req inference.DrawRequest) (inference.DrawResponse, error) {
	if err := d.budget.Check(); err != nil {
		return inference.DrawResponse{}, fmt.Errorf("draw: %w", err)
	}
	resp, err := d.next.Draw(ctx, req)
	if err == nil {
		d.budget.ChargeImages(1)
	}
	return resp, err
}
