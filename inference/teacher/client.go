package teacher

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/internal/retry"
	"github.com/twigdata/twig/schema"
)

// DefaultBaseURL is OpenAI's API root, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.openai.com/v1"

// DefaultTimeout bounds one HTTP request when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// FormatReminder is the user message of a critique's correction turn: it
// follows the unparsed answer and restates the output format that
// inference.ParseCritique reads.
const FormatReminder = "Your answer did not follow the required format. " +
	"Answer again in exactly this format, two lines and nothing else:\n" +
	"SCORE: <integer 0-100>\n" +
	"IMPROVED_DESCRIPTION: <one sentence>"

// Config configures a [Client]. It is JSON-serialisable for Beam DoFns,
// except APIKey, which the caller fills in from the environment where the
// client is built and which is never serialised, printed or logged.
type Config struct {
	// BaseURL is the API root: https://api.openai.com/v1 (the default),
	// http://host:8000/v1 for vLLM, SGLang or twig's worker,
	// http://localhost:11434/v1 for Ollama,
	// https://generativelanguage.googleapis.com/v1beta/openai for Gemini.
	BaseURL string `json:"base_url,omitempty"`
	// Model is sent with every request, and reported when the server
	// names none.
	Model string `json:"model"`
	// APIKey is sent as a bearer token; empty sends none (Ollama, a local
	// vLLM).
	APIKey string `json:"-"`
	// Organization is sent as the OpenAI-Organization header when set.
	Organization string `json:"organization,omitempty"`
	// MaxTokens caps the answer of a request that gives no MaxTokens;
	// zero leaves it to the server.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Timeout bounds one HTTP request (zero: DefaultTimeout; negative:
	// only the caller's context). A request past it fails with an
	// [*Error] whose Timeout is set, which the retry wrapper retries.
	Timeout time.Duration `json:"timeout,omitempty"`
	// ImageDetail is the canvas image's detail ("low", "high", "auto");
	// empty sends none.
	ImageDetail string `json:"image_detail,omitempty"`
	// MaxCompletionTokens sends the token cap as max_completion_tokens
	// instead of max_tokens, as OpenAI's reasoning models (o1, o3, o4,
	// gpt-5) require.
	MaxCompletionTokens bool `json:"max_completion_tokens,omitempty"`
	// OmitTemperature sends no temperature, for reasoning models that
	// accept only their default. Otherwise temperature 0 (greedy) is sent
	// as the smallest positive float32, because go-openai omits a zero.
	OmitTemperature bool `json:"omit_temperature,omitempty"`
	// SeedBits, when 1..63, sends the seed modulo 2^SeedBits, for servers
	// whose seed is narrower than 64 bits (Gemini's is an int32: use 31).
	// Zero sends the seed unchanged.
	SeedBits int `json:"seed_bits,omitempty"`
}

// String describes the configuration without the API key.
func (c Config) String() string {
	key := "none"
	if c.APIKey != "" {
		key = "set"
	}
	return fmt.Sprintf("teacher.Config{BaseURL: %q, Model: %q, APIKey: %s, MaxTokens: %d, Timeout: %s}",
		redact.URL(c.BaseURL), c.Model, key, c.MaxTokens, c.Timeout)
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the key out of slog output.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Option changes how New builds a client.
type Option func(*options)

type options struct {
	httpClient *http.Client
}

// WithHTTPClient sends requests with hc instead of a client of its own.
// hc's Timeout, if any, applies on top of Config.Timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// Client is an [inference.Reasoner] and an [inference.Viewer] backed by an
// OpenAI-compatible chat completions endpoint. Each call is one HTTP
// request; the client never retries, waits or counts: wrap it in
// [RetryCompleter], [LimitCompleter] and [BudgetCompleter] for that (see
// [Wrap], or NewRetryReasoner and the like). A Client is safe for
// concurrent use.
type Client struct {
	cfg     Config
	caller  caller
	timeout time.Duration
}

var _ inference.Reasoner = (*Client)(nil)

// New returns a client for cfg. It checks the configuration but makes no
// request.
func New(cfg Config, opts ...Option) (*Client, error) {
	cl, err := newCaller(cfg.BaseURL, cfg.Model, cfg.APIKey, cfg.Organization, opts)
	if err != nil {
		return nil, err
	}
	if cfg.SeedBits < 0 || cfg.SeedBits > 63 {
		return nil, fmt.Errorf("teacher: config: seed bits %d: want 0..63", cfg.SeedBits)
	}
	switch cfg.ImageDetail {
	case "", "low", "high", "auto":
	default:
		return nil, fmt.Errorf("teacher: config: image detail %q: want low, high, auto or nothing", cfg.ImageDetail)
	}
	return &Client{cfg: cfg, caller: cl, timeout: timeoutOf(cfg.Timeout)}, nil
}

var _ Completer = (*Client)(nil)

// Complete sends one chat completion for a think, critique or judge call:
// a user message with the instruction and, when there is one, the canvas
// (or the judged image) as a PNG data URL. When the request's Unparsed is
// not empty it sends the correction conversation instead: the
// instruction, the last unparsed answer as the assistant's, and
// [FormatReminder] (critique) or [ViewFormatReminder] (judge). A Client
// cannot draw: a draw call fails.
func (c *Client) Complete(ctx context.Context, call Call) (Result, error) {
	ch, ok := call.chat()
	if !ok {
		return Result{}, unsupported("a chat completion client", call)
	}
	msgs := []openai.ChatCompletionMessage{c.userMessage(ch.instruction, ch.image)}
	if ch.reminder != "" {
		msgs = append(msgs,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: ch.answer},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: ch.reminder})
	}
	reply, err := c.complete(ctx, call.Op, msgs, ch.temperature, ch.maxTokens, ch.seed)
	return Result{Reply: reply}, err
}

// Think sends one chat completion (see [Client.Complete]).
func (c *Client) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	return reasonerOf{c}.Think(ctx, req)
}

// Critique sends one chat completion like Think, or the correction
// conversation when req.Unparsed is not empty (see [Client.Complete]).
func (c *Client) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	return reasonerOf{c}.Critique(ctx, req)
}

// userMessage is the instruction, with the canvas attached when non-nil.
func (c *Client) userMessage(instruction string, canvas []byte) openai.ChatCompletionMessage {
	parts := []openai.ChatMessagePart{{Type: openai.ChatMessagePartTypeText, Text: instruction}}
	if canvas != nil {
		parts = append(parts, openai.ChatMessagePart{
			Type: openai.ChatMessagePartTypeImageURL,
			ImageURL: &openai.ChatMessageImageURL{
				URL:    "data:image/png;base64," + base64.StdEncoding.EncodeToString(canvas),
				Detail: openai.ImageURLDetail(c.cfg.ImageDetail),
			},
		})
	}
	return openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, MultiContent: parts}
}

func (c *Client) complete(ctx context.Context, op string, msgs []openai.ChatCompletionMessage,
	temperature float64, maxTokens int, seed int64) (inference.Reply, error) {
	req := openai.ChatCompletionRequest{Model: c.cfg.Model, Messages: msgs}
	if maxTokens <= 0 {
		maxTokens = c.cfg.MaxTokens
	}
	if c.cfg.MaxCompletionTokens {
		req.MaxCompletionTokens = maxTokens
	} else {
		req.MaxTokens = maxTokens
	}
	if !c.cfg.OmitTemperature {
		req.Temperature = float32(temperature)
		if req.Temperature == 0 {
			req.Temperature = math.SmallestNonzeroFloat32
		}
	}
	if c.cfg.SeedBits > 0 {
		seed = int64(uint64(seed) & (1<<c.cfg.SeedBits - 1))
	}
	s := int(seed)
	req.Seed = &s

	var resp openai.ChatCompletionResponse
	err := c.caller.call(ctx, op, c.timeout, func(ctx context.Context) (err error) {
		resp, err = c.caller.api.CreateChatCompletion(ctx, req)
		return err
	})
	if err != nil {
		return inference.Reply{}, err
	}
	usage := schema.Usage{InputTokens: int32(resp.Usage.PromptTokens), OutputTokens: int32(resp.Usage.CompletionTokens)}
	model := resp.Model
	if model == "" {
		model = c.cfg.Model
	}
	empty := &EmptyReplyError{Op: op, Model: c.cfg.Model, Endpoint: c.caller.endpoint, Choices: len(resp.Choices), Usage: usage}
	if len(resp.Choices) == 0 {
		return inference.Reply{}, empty
	}
	ch := resp.Choices[0]
	if strings.TrimSpace(ch.Message.Content) == "" {
		empty.FinishReason, empty.Refusal = string(ch.FinishReason), c.caller.redact(ch.Message.Refusal)
		return inference.Reply{}, empty
	}
	if op == inference.RoleThink && ch.FinishReason == openai.FinishReasonLength {
		// A critique or a judge answer cut short is caught by its parser;
		// a thought has no format to fail, so its truncation is an error.
		return inference.Reply{}, &TruncatedReplyError{Op: op, Model: c.cfg.Model, Endpoint: c.caller.endpoint,
			MaxTokens: maxTokens, Text: c.caller.redact(ch.Message.Content), Usage: usage}
	}
	return inference.Reply{Text: ch.Message.Content, Model: model, Usage: usage}, nil
}

func timeoutOf(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultTimeout
	}
	return d
}

// caller sends one request through go-openai and turns its failures into
// [*Error] values, with the response's status and wait hints and without
// the key.
type caller struct {
	api      *openai.Client
	model    string
	endpoint string // base URL without credentials
	key      string
}

func newCaller(baseURL, model, key, org string, opts []Option) (caller, error) {
	if model == "" {
		return caller{}, errors.New("teacher: config: no model")
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return caller{}, fmt.Errorf("teacher: config: base URL %q: want http(s)://host/path", redactKey(redact.URL(baseURL), key))
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		o.httpClient = &http.Client{Transport: tr}
	}
	oc := openai.DefaultConfig(key)
	oc.BaseURL = baseURL
	oc.OrgID = org
	oc.HTTPClient = recordingDoer{o.httpClient}
	return caller{api: openai.NewClientWithConfig(oc), model: model, endpoint: redactKey(redact.URL(baseURL), key), key: key}, nil
}

// call runs send under the per-request timeout and, on failure, returns
// an [*Error].
func (c caller) call(ctx context.Context, op string, timeout time.Duration, send func(context.Context) error) error {
	x := &exchange{}
	actx := context.WithValue(ctx, exchangeKey{}, x)
	if timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(actx, timeout)
		defer cancel()
	}
	err := send(actx)
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Model: c.model, Endpoint: c.endpoint, Err: c.redactErr(err)}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		e.StatusCode = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		e.StatusCode = reqErr.HTTPStatusCode
	}
	if e.StatusCode == 0 && x.status >= 400 {
		e.StatusCode = x.status // the error body could not be read
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		e.Timeout = true
	}
	if e.StatusCode != 0 {
		e.RetryAfter = retry.Hint(x.header, e.StatusCode, x.at)
	}
	return e
}

// redact removes the key from s.
func (c caller) redact(s string) string { return redactKey(s, c.key) }

// redactErr returns err, or when its message holds the key an error with
// the same message, key removed.
func (c caller) redactErr(err error) error {
	if c.key == "" || !strings.Contains(err.Error(), c.key) {
		return err
	}
	return errors.New(c.redact(err.Error()))
}

func redactKey(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

type exchangeKey struct{}

// exchange is what recordingDoer saw of one request's response.
type exchange struct {
	status int
	header http.Header
	at     time.Time
}

// recordingDoer is the go-openai HTTP client: it records each response's
// status and headers in the request context's exchange, because
// go-openai's errors do not keep the headers (Retry-After), and tells a
// [Limiter] permit in the context when the request was sent.
type recordingDoer struct{ hc *http.Client }

func (d recordingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(traceSent(req))
	if x, ok := req.Context().Value(exchangeKey{}).(*exchange); ok && resp != nil {
		x.status, x.header, x.at = resp.StatusCode, resp.Header.Clone(), time.Now()
	}
	return resp, err
}
