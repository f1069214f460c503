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

// BudgetCompleter makes the calls of another [Completer] spend a
// [Budget]: a call fails fast once the budget is exhausted; each answer's
// usage is charged, and each image drawn at Prices.PerImage.
type BudgetCompleter struct {
	next   Completer
	budget *Budget
}

var _ Completer = (*BudgetCompleter)(nil)

// NewBudgetCompleter returns next spending b.
func NewBudgetCompleter(next Completer, b *Budget) *BudgetCompleter {
	return &BudgetCompleter{next: next, budget: b}
}

// Complete checks the budget, makes the call and charges what it cost.
func (c *BudgetCompleter) Complete(ctx context.Context, call Call) (Result, error) {
	if err := c.budget.Check(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", call.Op, err)
	}
	res, err := c.next.Complete(ctx, call)
	if call.Op == inference.RoleDraw {
		if err == nil {
			c.budget.ChargeImages(1)
		}
	} else if u, ok := usageOf(res.Reply.Usage, err); ok {
		c.budget.Charge(u)
	}
	return res, err
}

// NewBudgetReasoner returns next spending b (see [BudgetCompleter]).
func NewBudgetReasoner(next inference.Reasoner, b *Budget) inference.Reasoner {
	return AsReasoner(NewBudgetCompleter(reasonerCompleter(next), b))
}

// NewBudgetDrawer returns next spending b, Prices.PerImage per image.
func NewBudgetDrawer(next inference.Drawer, b *Budget) inference.Drawer {
	return AsDrawer(NewBudgetCompleter(drawerCompleter(next), b))
}

// NewBudgetViewer returns next spending b.
func NewBudgetViewer(next inference.Viewer, b *Budget) inference.Viewer {
	return AsViewer(NewBudgetCompleter(viewerCompleter(next), b))
}
