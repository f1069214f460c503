package teacher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

func TestThinkRequestShape(t *testing.T) {
	canvas := testPNG(t, 24, 24, color.RGBA{200, 180, 140, 255})
	tests := []struct {
		name        string
		canvas      []byte
		detail      string
		temperature float64
		maxTokens   int
		cfgMax      int
		wantTemp    float64
		wantMax     int
	}{
		{name: "first region, greedy", temperature: 0, maxTokens: 512, wantTemp: math.SmallestNonzeroFloat32, wantMax: 512},
		{name: "with canvas", canvas: canvas, temperature: 0.7, maxTokens: 256, wantTemp: 0.7, wantMax: 256},
		{name: "canvas, low detail, config max tokens", canvas: canvas, detail: "low", temperature: 1, cfgMax: 300, wantTemp: 1, wantMax: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, reply("A calm blue sky with soft white clouds."))
			c := newTestClient(t, f, func(cfg *Config) { cfg.ImageDetail, cfg.MaxTokens = tt.detail, tt.cfgMax })
			req := inference.ThinkRequest{
				Instruction: "Write the description for band 1 of 3.", Prompt: "a red apple", Canvas: tt.canvas,
				Region: 0, Regions: 3, Temperature: tt.temperature, MaxTokens: tt.maxTokens, Seed: 4242,
			}
			got, err := c.Think(context.Background(), req)
			if err != nil {
				t.Fatalf("Think: %v", err)
			}
			want := inference.Reply{Text: "A calm blue sky with soft white clouds.", Model: "gpt-4o-2024-08-06",
				Usage: schema.Usage{InputTokens: 120, OutputTokens: 30}}
			if got != want {
				t.Errorf("Think = %+v, want %+v", got, want)
			}
			hits := f.Hits()
			if len(hits) != 1 {
				t.Fatalf("got %d requests, want 1", len(hits))
			}
			h := hits[0]
			if h.path != "/v1/chat/completions" {
				t.Errorf("path = %q, want /v1/chat/completions", h.path)
			}
			if h.auth != "Bearer "+testKey {
				t.Errorf("Authorization = %q, want the bearer key", h.auth)
			}
			r := h.req
			if r.Model != "gpt-4o" || r.Stream {
				t.Errorf("model %q stream %v, want gpt-4o, false", r.Model, r.Stream)
			}
			if r.Temperature == nil || math.Abs(*r.Temperature-tt.wantTemp) > 1e-6 {
				t.Errorf("temperature = %v, want %g", r.Temperature, tt.wantTemp)
			}
			if r.MaxTokens != tt.wantMax || r.MaxCompletionTokens != 0 {
				t.Errorf("max_tokens %d, max_completion_tokens %d, want %d, 0", r.MaxTokens, r.MaxCompletionTokens, tt.wantMax)
			}
			if r.Seed == nil || *r.Seed != 4242 {
				t.Errorf("seed = %v, want 4242", r.Seed)
			}
			if len(r.Messages) != 1 || r.Messages[0].Role != "user" {
				t.Fatalf("messages = %s, want one user message", h.body)
			}
			parts := r.Messages[0].parts()
			wantParts := 1
			if tt.canvas != nil {
				wantParts = 2
			}
			if len(parts) != wantParts {
				t.Fatalf("got %d content parts, want %d: %s", len(parts), wantParts, h.body)
			}
			if parts[0].Type != "text" || parts[0].Text != req.Instruction {
				t.Errorf("part 0 = %+v, want the instruction as text", parts[0])
			}
			if tt.canvas == nil {
				return
			}
			p := parts[1]
			if p.Type != "image_url" || p.ImageURL == nil {
				t.Fatalf("part 1 = %+v, want an image_url", p)
			}
			if p.ImageURL.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", p.ImageURL.Detail, tt.detail)
			}
			img, err := decodeDataURL(p.ImageURL.URL)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(img, tt.canvas) {
				t.Errorf("the data URL holds %d bytes, not the canvas", len(img))
			}
			if _, err := png.Decode(bytes.NewReader(img)); err != nil {
				t.Errorf("the data URL is not a valid PNG: %v", err)
			}
		})
	}
}

func TestRequestOptions(t *testing.T) {
	tests := []struct {
		name         string
		mod          func(*Config)
		seed         int64
		wantMax      int
		wantMaxCompl int
		wantTemp     bool
		wantSeed     int64
	}{
		{name: "defaults", mod: func(*Config) {}, seed: 1<<40 + 7, wantMax: 100, wantTemp: true, wantSeed: 1<<40 + 7},
		{name: "reasoning model", mod: func(c *Config) { c.Model, c.MaxCompletionTokens, c.OmitTemperature = "o3-mini", true, true },
			seed: 9, wantMaxCompl: 100, wantSeed: 9},
		{name: "31-bit seed", mod: func(c *Config) { c.SeedBits = 31 }, seed: 1<<40 + 7, wantMax: 100, wantTemp: true, wantSeed: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, reply("ok"))
			c := newTestClient(t, f, tt.mod)
			if _, err := c.Think(context.Background(), inference.ThinkRequest{Instruction: "x", MaxTokens: 100, Seed: tt.seed}); err != nil {
				t.Fatalf("Think: %v", err)
			}
			r := f.Hits()[0].req
			if r.MaxTokens != tt.wantMax || r.MaxCompletionTokens != tt.wantMaxCompl {
				t.Errorf("max_tokens %d, max_completion_tokens %d, want %d, %d", r.MaxTokens, r.MaxCompletionTokens, tt.wantMax, tt.wantMaxCompl)
			}
			if got := r.Temperature != nil; got != tt.wantTemp {
				t.Errorf("temperature sent: %v, want %v", got, tt.wantTemp)
			}
			if r.Seed == nil || *r.Seed != tt.wantSeed {
				t.Errorf("seed = %v, want %d", r.Seed, tt.wantSeed)
			}
		})
	}
}

func TestModelFallback(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		writeJSON(w, http.StatusOK, chatResponse("", "A sentence.", 5, 3))
	})
	got, err := newTestClient(t, f, nil).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "gpt-4o" {
		t.Errorf("Model = %q, want the configured gpt-4o", got.Model)
	}
}

func TestCritiqueCorrectionTurn(t *testing.T) {
	canvas := testPNG(t, 8, 8, color.White)
	tests := []struct {
		name     string
		unparsed []string
		want     []string // role: text of each message
	}{
		{name: "first try", want: []string{"user: Judge band 2 of 3."}},
		{name: "one failure", unparsed: []string{"Looks good!"},
			want: []string{"user: Judge band 2 of 3.", "assistant: Looks good!", "user: " + FormatReminder}},
		{name: "two failures: the last one is corrected", unparsed: []string{"Looks good!", "Score 80"},
			want: []string{"user: Judge band 2 of 3.", "assistant: Score 80", "user: " + FormatReminder}},
		{name: "empty answer", unparsed: []string{"  "},
			want: []string{"user: Judge band 2 of 3.", "assistant: (no answer)", "user: " + FormatReminder}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, reply("SCORE: 85\nIMPROVED_DESCRIPTION: A red apple on a table."))
			_, err := newTestClient(t, f, nil).Critique(context.Background(), inference.CritiqueRequest{
				Instruction: "Judge band 2 of 3.", Canvas: canvas, Region: 1, Regions: 3, MaxTokens: 64, Unparsed: tt.unparsed,
			})
			if err != nil {
				t.Fatalf("Critique: %v", err)
			}
			msgs := f.Hits()[0].req.Messages
			var got []string
			for _, m := range msgs {
				got = append(got, m.Role+": "+m.text())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("messages:\n got %q\nwant %q", got, tt.want)
			}
			parts := msgs[0].parts()
			if len(parts) != 2 || parts[1].ImageURL == nil {
				t.Fatalf("the first message has %d parts, want the instruction and the canvas", len(parts))
			}
			if img, err := decodeDataURL(parts[1].ImageURL.URL); err != nil || !bytes.Equal(img, canvas) {
				t.Errorf("the first message's image is not the canvas (err %v)", err)
			}
		})
	}
	if !strings.Contains(FormatReminder, "SCORE: <integer 0-100>\nIMPROVED_DESCRIPTION: <one sentence>") {
		t.Errorf("FormatReminder %q does not restate the format", FormatReminder)
	}
}

// TestMalformedCritiquePassesThrough: parsing is the engine's job.
func TestMalformedCritiquePassesThrough(t *testing.T) {
	const text = "I'd give this band an 85 out of 100; the apple is a bit dark."
	f := newFakeAPI(t, reply(text))
	got, err := newTestClient(t, f, nil).Critique(context.Background(), inference.CritiqueRequest{Instruction: "x"})
	if err != nil {
		t.Fatalf("Critique: %v", err)
	}
	if got.Text != text {
		t.Errorf("Text = %q, want %q", got.Text, text)
	}
	if p := inference.ParseCritique(got.Text); p.Status != schema.ParseMissingScore {
		t.Errorf("ParseCritique status = %q, want %q", p.Status, schema.ParseMissingScore)
	}
}

func TestEmptyReply(t *testing.T) {
	tests := []struct {
		name   string
		choice map[string]any // nil: no choices
		want   EmptyReplyError
	}{
		{name: "no choices", want: EmptyReplyError{Choices: 0}},
		{name: "empty content", choice: map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": ""}, "finish_reason": "length"},
			want: EmptyReplyError{Choices: 1, FinishReason: "length"}},
		{name: "null content", choice: map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": nil}, "finish_reason": "stop"},
			want: EmptyReplyError{Choices: 1, FinishReason: "stop"}},
		{name: "whitespace", choice: map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": " \n "}, "finish_reason": "stop"},
			want: EmptyReplyError{Choices: 1, FinishReason: "stop"}},
		{name: "refusal", choice: map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": nil, "refusal": "I can't help with that."}, "finish_reason": "stop"},
			want: EmptyReplyError{Choices: 1, FinishReason: "stop", Refusal: "I can't help with that."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				resp := chatResponse("gpt-4o-2024-08-06", "", 50, 7)
				resp["choices"] = []any{}
				if tt.choice != nil {
					resp["choices"] = []any{tt.choice}
				}
				writeJSON(w, http.StatusOK, resp)
			})
			_, err := newTestClient(t, f, nil).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
			var got *EmptyReplyError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want an *EmptyReplyError", err)
			}
			want := tt.want
			want.Op, want.Model, want.Endpoint, want.Usage = "think", "gpt-4o", f.URL(), schema.Usage{InputTokens: 50, OutputTokens: 7}
			if *got != want {
				t.Errorf("err = %+v, want %+v", *got, want)
			}
			if Transient(err) {
				t.Errorf("Transient(%v) = true, want false", err)
			}
		})
	}
}

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		status    int
		temporary bool
	}{
		{400, false}, {401, false}, {403, false}, {404, false}, {422, false},
		{408, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {501, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
				writeAPIError(w, tt.status, "test_error", "the server says no")
			})
			_, err := newTestClient(t, f, nil).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.StatusCode != tt.status || e.Op != "think" || e.Model != "gpt-4o" || e.Endpoint != f.URL() {
				t.Errorf("err = %+v, want status %d, op think, model gpt-4o, endpoint %s", e, tt.status, f.URL())
			}
			if got := Transient(err); got != tt.temporary {
				t.Errorf("Transient = %v, want %v", got, tt.temporary)
			}
			wantMsg := fmt.Sprintf("think gpt-4o at %s: %d %s: the server says no (test_error)",
				f.URL(), tt.status, strings.ToLower(http.StatusText(tt.status)))
			if err.Error() != wantMsg {
				t.Errorf("message:\n got %q\nwant %q", err.Error(), wantMsg)
			}
		})
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
	})
	_, err := newTestClient(t, f, nil).Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusBadGateway || !e.Temporary() {
		t.Fatalf("err = %v, want a temporary *Error with status 502", err)
	}
	if !strings.Contains(err.Error(), "<html><body>502 Bad Gateway</body></html>") {
		t.Errorf("message %q does not show the body", err.Error())
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no model", cfg: Config{}, want: "teacher: config: no model"},
		{name: "bad scheme", cfg: Config{Model: "m", BaseURL: "ftp://x/v1"}, want: `teacher: config: base URL "ftp://x/v1": want http(s)://host/path`},
		{name: "no host", cfg: Config{Model: "m", BaseURL: "localhost:8000"}, want: `teacher: config: base URL "localhost:8000": want http(s)://host/path`},
		{name: "seed bits", cfg: Config{Model: "m", SeedBits: 64}, want: "teacher: config: seed bits 64: want 0..63"},
		{name: "detail", cfg: Config{Model: "m", ImageDetail: "ultra"}, want: `teacher: config: image detail "ultra": want low, high, auto or nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("New error = %v, want %q", err, tt.want)
			}
		})
	}
}

// messages returns the messages of err and of every error it wraps.
func messages(err error) []string {
	if err == nil {
		return nil
	}
	out := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, messages(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, messages(e)...)
		}
	}
	return out
}

func TestKeyNeverInErrors(t *testing.T) {
	// A server that echoes the key back, as some proxies and OpenAI's own
	// 401 message ("Incorrect API key provided: sk-...") do.
	echo := func(status int, nonJSON bool) func(http.ResponseWriter, *http.Request, int, wireRequest) {
		return func(w http.ResponseWriter, r *http.Request, _ int, _ wireRequest) {
			msg := "Incorrect API key provided: " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if nonJSON {
				w.WriteHeader(status)
				fmt.Fprint(w, msg)
				return
			}
			writeAPIError(w, status, "invalid_request_error", msg)
		}
	}
	closed := newFakeAPI(t, reply("x"))
	closedURL := closed.URL()
	closed.Close()
	tests := []struct {
		name    string
		answer  func(http.ResponseWriter, *http.Request, int, wireRequest)
		baseURL string // overrides the server's
		timeout time.Duration
	}{
		{name: "401 echoing the key", answer: echo(401, false)},
		{name: "500 echoing the key, retried", answer: echo(500, false)},
		{name: "non-JSON body with the key", answer: echo(400, true)},
		{name: "refusal with the key", answer: func(w http.ResponseWriter, r *http.Request, _ int, _ wireRequest) {
			resp := chatResponse("m", "", 1, 1)
			resp["choices"] = []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "refusal": "no " + testKey}, "finish_reason": "stop"}}
			writeJSON(w, http.StatusOK, resp)
		}},
		{name: "timeout", timeout: 50 * time.Millisecond, answer: func(w http.ResponseWriter, r *http.Request, _ int, _ wireRequest) {
			<-r.Context().Done()
		}},
		{name: "connection refused", baseURL: closedURL},
		{name: "key in the base URL", baseURL: closedURL + "?key=" + testKey},
		{name: "key as the base URL's password", baseURL: strings.Replace(closedURL, "http://", "http://user:"+testKey+"@", 1)},
		{name: "invalid base URL with the key", baseURL: "::" + testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Model: "gpt-4o", APIKey: testKey, Timeout: tt.timeout, BaseURL: tt.baseURL}
			if tt.answer != nil {
				cfg.BaseURL = newFakeAPI(t, tt.answer).URL()
			}
			c, err := New(cfg)
			if err == nil {
				r := NewRetryReasoner(c, RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond})
				_, err = r.Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, m := range messages(err) {
				if strings.Contains(m, testKey) {
					t.Errorf("the key is in the error %q", m)
				}
			}
		})
	}
	t.Run("config formatting", func(t *testing.T) {
		cfg := Config{BaseURL: "https://api.openai.com/v1", Model: "gpt-4o", APIKey: testKey}
		dcfg := DrawerConfig{Model: "gpt-image-1", APIKey: testKey}
		js, _ := json.Marshal(cfg)
		djs, _ := json.Marshal(dcfg)
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
		for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), string(js), logged.String(),
			fmt.Sprintf("%+v", dcfg), fmt.Sprintf("%#v", dcfg), string(djs)} {
			if strings.Contains(s, testKey) {
				t.Errorf("the key is in %q", s)
			}
		}
	})
}

func TestTimeout(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int, _ wireRequest) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := c.Think(context.Background(), inference.ThinkRequest{Instruction: "x"})
	var e *Error
	if !errors.As(err, &e) || !e.Timeout || !Transient(err) {
		t.Fatalf("err = %v, want a transient *Error with Timeout set", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the call took %s, want about 100ms", d)
	}

	// The caller's own deadline is not a timeout of the client's, and is
	// not retried.
	c = newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Think(ctx, inference.ThinkRequest{Instruction: "x"})
	if !errors.As(err, &e) || e.Timeout || Transient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a permanent *Error wrapping context.DeadlineExceeded", err)
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"503", &Error{StatusCode: 503}, true},
		{"400", &Error{StatusCode: 400}, false},
		{"timeout", &Error{Timeout: true}, true},
		{"wrapped 429", fmt.Errorf("critique: %w", &Error{StatusCode: 429}), true},
		{"reset", &Error{Err: &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, true},
		{"EOF", &Error{Err: io.EOF}, true},
		{"canceled", &Error{Err: context.Canceled}, false},
		{"budget", fmt.Errorf("think: %w", ErrBudgetExhausted), false},
		{"empty reply", &EmptyReplyError{}, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
