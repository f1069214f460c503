package teacher

import (
	"context"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/twigdata/twig/inference"
)

// ViewFormatReminder is the user message of a judge's correction turn: it
// follows the unparsed answer and restates the output format of the
// filters/vlm judge template.
const ViewFormatReminder = "Your answer did not follow the required format. " +
	"Answer again in exactly the format the first message asks for and nothing else: " +
	"a line SCORE: <integer 0-100>, then one line Q<n>: yes or Q<n>: no for every question, in order."

var _ inference.Viewer = (*Client)(nil)

// View sends one chat completion for the VLM judge (op "judge"): a user
// message with the instruction and the image as a PNG data URL, as
// Critique sends the canvas. When req.Unparsed is not empty it sends a
// correction conversation instead: the instruction, the last unparsed
// answer as the assistant's, and [ViewFormatReminder].
func (c *Client) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	msgs := []openai.ChatCompletionMessage{c.userMessage(req.Instruction, req.Image)}
	if n := len(req.Unparsed); n > 0 {
		last := req.Unparsed[n-1]
		if strings.TrimSpace(last) == "" {
			last = "(no answer)" // an assistant message needs content
		}
		msgs = append(msgs,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: last},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: ViewFormatReminder})
	}
	return c.complete(ctx, inference.RoleJudge, msgs, req.Temperature, req.MaxTokens, req.Seed)
}

// ViewCost is ThinkCost for a judge call: the instruction and the image;
// a correction turn adds the last unparsed answer and [ViewFormatReminder].
func (l Limits) ViewCost(req inference.ViewRequest) Cost {
	l = l.withDefaults()
	in := l.input(1, req.Image != nil, req.Instruction)
	if n := len(req.Unparsed); n > 0 {
		in += l.input(2, false, req.Unparsed[n-1], ViewFormatReminder)
	}
	return Cost{InputTokens: in, OutputTokens: l.output(req.MaxTokens)}
}

// BudgetViewer is [BudgetReasoner] for an [inference.Viewer].
type BudgetViewer struct {
	next   inference.Viewer
	budget *Budget
}

var _ inference.Viewer = (*BudgetViewer)(nil)

// NewBudgetViewer returns next spending b.
func NewBudgetViewer(next inference.Viewer, b *Budget) *BudgetViewer {
	return &BudgetViewer{next: next, budget: b}
}

// View checks the budget, calls next.View and charges its usage.
func (v *BudgetViewer) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	if err := v.budget.Check(); err != nil {
		return inference.Reply{}, fmt.Errorf("%s: %w", inference.RoleJudge, err)
	}
	reply, err := v.next.View(ctx, req)
	if u, ok := usageOf(reply.Usage, err); ok {
		v.budget.Charge(u)
	}
	return reply, err
}

// RetryViewer is [RetryReasoner] for an [inference.Viewer].
type RetryViewer struct {
	next   inference.Viewer
	policy RetryPolicy
}

var _ inference.Viewer = (*RetryViewer)(nil)

// NewRetryViewer returns next with retries under policy.
func NewRetryViewer(next inference.Viewer, policy RetryPolicy) *RetryViewer {
	return &RetryViewer{next: next, policy: policy}
}

// View calls next.View until it succeeds or the policy gives up.
func (v *RetryViewer) View(ctx context.Context, req inference.ViewRequest) (reply inference.Reply, err error) {
	err = v.policy.do(ctx, func(ctx context.Context) (err error) {
		reply, err = v.next.View(ctx, req)
		return err
	})
	return reply, err
}

// LimitViewer is [LimitReasoner] for an [inference.Viewer]: every call
// waits for the limiter with its [Limits.ViewCost].
type LimitViewer struct {
	next inference.Viewer
	lim  *Limiter
}

var _ inference.Viewer = (*LimitViewer)(nil)

// NewLimitViewer returns next limited by lim.
func NewLimitViewer(next inference.Viewer, lim *Limiter) *LimitViewer {
	return &LimitViewer{next: next, lim: lim}
}

// View waits for the limiter, then calls next.View.
func (v *LimitViewer) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	p, err := v.lim.Acquire(ctx, v.lim.limits.ViewCost(req))
	if err != nil {
		return inference.Reply{}, fmt.Errorf("%s: %w", inference.RoleJudge, err)
	}
	reply, err := v.next.View(withPermit(ctx, p), req)
	done(p, reply.Usage, err)
	return reply, err
}
