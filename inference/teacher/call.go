package teacher

import (
	"context"
	"fmt"
	"strings"

	"github.com/twigdata/twig/inference"
)

// Completer makes one call to a teacher model. The clients ([Client],
// [Drawer]) and the wrappers ([RetryCompleter], [LimitCompleter],
// [BudgetCompleter]) are Completers; [AsReasoner], [AsViewer] and
// [AsDrawer] turn one into the interface the engine and the judges call.
type Completer interface {
	Complete(ctx context.Context, call Call) (Result, error)
}

// Call is one request to a teacher model. Op is its role and says which
// request field is set: Think for inference.RoleThink, Critique for
// RoleCritique, View for RoleJudge and Draw for RoleDraw.
type Call struct {
	Op       string
	Think    inference.ThinkRequest
	Critique inference.CritiqueRequest
	View     inference.ViewRequest
	Draw     inference.DrawRequest
}

// Result is a call's answer: Reply for think, critique and judge calls,
// Image for draw calls.
type Result struct {
	Reply inference.Reply
	Image inference.DrawResponse
}

// chat is what a think, critique or judge call sends: one user message
// with the instruction and, when not nil, the image; then, when the
// call's earlier answers could not be parsed, the correction turn.
type chat struct {
	instruction string
	image       []byte
	temperature float64
	maxTokens   int
	seed        int64
	// answer and reminder are the correction turn: the last unparsed
	// answer, as the assistant's message, and the user's message that
	// restates the format. Both are empty when there is none.
	answer, reminder string
}

// chat returns the parts of a think, critique or judge call, and false
// for any other op.
func (c Call) chat() (chat, bool) {
	switch c.Op {
	case inference.RoleThink:
		r := c.Think
		return chat{instruction: r.Instruction, image: r.Canvas, temperature: r.Temperature, maxTokens: r.MaxTokens, seed: r.Seed}, true
	case inference.RoleCritique:
		r := c.Critique
		ch := chat{instruction: r.Instruction, image: r.Canvas, temperature: r.Temperature, maxTokens: r.MaxTokens, seed: r.Seed}
		ch.answer, ch.reminder = correction(r.Unparsed, FormatReminder)
		return ch, true
	case inference.RoleJudge:
		r := c.View
		ch := chat{instruction: r.Instruction, image: r.Image, temperature: r.Temperature, maxTokens: r.MaxTokens, seed: r.Seed}
		ch.answer, ch.reminder = correction(r.Unparsed, ViewFormatReminder)
		return ch, true
	}
	return chat{}, false
}

// correction is the correction turn that follows answers the caller
// could not parse (unparsed, oldest first): the last of them, or
// "(no answer)" when it is blank, since an assistant message needs
// content, and reminder. Both are empty when unparsed is.
func correction(unparsed []string, reminder string) (answer, rem string) {
	n := len(unparsed)
	if n == 0 {
		return "", ""
	}
	answer = unparsed[n-1]
	if strings.TrimSpace(answer) == "" {
		answer = "(no answer)"
	}
	return answer, reminder
}

// unsupported is the error of a Completer given a call it cannot make.
func unsupported(what string, call Call) error {
	return fmt.Errorf("teacher: %s cannot make a %q call", what, call.Op)
}

// AsReasoner returns the [inference.Reasoner] whose Think and Critique
// are c's think and critique calls.
func AsReasoner(c Completer) inference.Reasoner { return reasonerOf{c} }

// AsViewer returns the [inference.Viewer] whose View is c's judge call.
func AsViewer(c Completer) inference.Viewer { return viewerOf{c} }

// AsDrawer returns the [inference.Drawer] whose Draw is c's draw call.
func AsDrawer(c Completer) inference.Drawer { return drawerOf{c} }

// reasonerOf, viewerOf and drawerOf are the adapters of AsReasoner,
// AsViewer and AsDrawer. Each is a Completer too, so that wrapping one
// again (NewRetryReasoner(NewLimitReasoner(...))) wraps the Completer
// inside.
type (
	reasonerOf struct{ Completer }
	viewerOf   struct{ Completer }
	drawerOf   struct{ Completer }
)

func (r reasonerOf) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	res, err := r.Complete(ctx, Call{Op: inference.RoleThink, Think: req})
	return res.Reply, err
}

func (r reasonerOf) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	res, err := r.Complete(ctx, Call{Op: inference.RoleCritique, Critique: req})
	return res.Reply, err
}

func (v viewerOf) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	res, err := v.Complete(ctx, Call{Op: inference.RoleJudge, View: req})
	return res.Reply, err
}

func (d drawerOf) Draw(ctx context.Context, req inference.DrawRequest) (inference.DrawResponse, error) {
	res, err := d.Complete(ctx, Call{Op: inference.RoleDraw, Draw: req})
	return res.Image, err
}

// reasonerCompleter returns r as a Completer: r itself when it is one (a
// [Client], or a reasoner built by this package), else an adapter that
// calls r's methods.
func reasonerCompleter(r inference.Reasoner) Completer {
	if c, ok := r.(Completer); ok {
		return c
	}
	return reasonerCalls{r}
}

// viewerCompleter is reasonerCompleter for an [inference.Viewer].
func viewerCompleter(v inference.Viewer) Completer {
	if c, ok := v.(Completer); ok {
		return c
	}
	return viewerCalls{v}
}

// drawerCompleter is reasonerCompleter for an [inference.Drawer].
func drawerCompleter(d inference.Drawer) Completer {
	if c, ok := d.(Completer); ok {
		return c
	}
	return drawerCalls{d}
}

// reasonerCalls, viewerCalls and drawerCalls make the calls of a
// reasoner, viewer or drawer of another package (a fake, a cache) through
// its own methods.
type (
	reasonerCalls struct{ r inference.Reasoner }
	viewerCalls   struct{ v inference.Viewer }
	drawerCalls   struct{ d inference.Drawer }
)

func (a reasonerCalls) Complete(ctx context.Context, call Call) (res Result, err error) {
	switch call.Op {
	case inference.RoleThink:
		res.Reply, err = a.r.Think(ctx, call.Think)
	case inference.RoleCritique:
		res.Reply, err = a.r.Critique(ctx, call.Critique)
	default:
		err = unsupported(fmt.Sprintf("a reasoner (%T)", a.r), call)
	}
	return res, err
}

func (a viewerCalls) Complete(ctx context.Context, call Call) (res Result, err error) {
	if call.Op != inference.RoleJudge {
		return res, unsupported(fmt.Sprintf("a viewer (%T)", a.v), call)
	}
	res.Reply, err = a.v.View(ctx, call.View)
	return res, err
}

func (a drawerCalls) Complete(ctx context.Context, call Call) (res Result, err error) {
	if call.Op != inference.RoleDraw {
		return res, unsupported(fmt.Sprintf("a drawer (%T)", a.d), call)
	}
	res.Image, err = a.d.Draw(ctx, call.Draw)
	return res, err
}

// Wrap composes the wrappers around c in the order they must go, and
// skips those whose argument is nil: b's budget outermost (a spent budget
// fails before any wait), then retries under p (nil: none), then the
// limiter lim innermost, so that every attempt waits for the rate limits.
// Turn the result into the interface the caller needs with [AsReasoner],
// [AsViewer] or [AsDrawer].
func Wrap(c Completer, b *Budget, p *RetryPolicy, lim *Limiter) Completer {
	if lim != nil {
		c = NewLimitCompleter(c, lim)
	}
	if p != nil {
		c = NewRetryCompleter(c, *p)
	}
	if b != nil {
		c = NewBudgetCompleter(c, b)
	}
	return c
}
