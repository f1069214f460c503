package teacher

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is the API key the tests plant; it must never show in an error.
const testKey = "sk-test-PLANTED-4f9c2a7e1b"

// fakeAPI is an httptest server that answers like OpenAI's API. It
// records every request and lets each test decide the answer of hit n
// (0-based).
type fakeAPI struct {
	*httptest.Server
	t      *testing.T
	answer func(w http.ResponseWriter, r *http.Request, n int, req wireRequest)

	mu   sync.Mutex
	hits []hit
}

// hit is one request the server saw.
type hit struct {
	at   time.Time
	path string
	auth string
	body []byte
	req  wireRequest
}

// wireRequest is a chat completions (or image generations) request as
// the server reads it, independently of go-openai's types.
type wireRequest struct {
	Model               string        `json:"model"`
	Messages            []wireMessage `json:"messages"`
	MaxTokens           int           `json:"max_tokens"`
	MaxCompletionTokens int           `json:"max_completion_tokens"`
	Temperature         *float64      `json:"temperature"`
	Seed                *int64        `json:"seed"`
	Stream              bool          `json:"stream"`
	// Image generations.
	Prompt         string  `json:"prompt"`
	N              int     `json:"n"`
	Size           string  `json:"size"`
	ResponseFormat *string `json:"response_format"`
	OutputFormat   string  `json:"output_format"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
}

// text returns a message's content as a string, or its text parts joined.
func (m wireMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var texts []string
	for _, p := range m.parts() {
		if p.Type == "text" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// parts returns a message's content parts; nil for a string content.
func (m wireMessage) parts() []wirePart {
	var parts []wirePart
	if json.Unmarshal(m.Content, &parts) != nil {
		return nil
	}
	return parts
}

func newFakeAPI(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int, req wireRequest)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "could not parse the JSON body")
		return
	}
	f.mu.Lock()
	n := len(f.hits)
	f.hits = append(f.hits, hit{at: at, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body, req: req})
	f.mu.Unlock()
	f.answer(w, r, n, req)
}

// URL returns the API root, as a Config.BaseURL.
func (f *fakeAPI) URL() string { return f.Server.URL + "/v1" }

func (f *fakeAPI) Hits() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// chatResponse is OpenAI's chat completion object.
func chatResponse(model, text string, in, out int) map[string]any {
	return map[string]any{
		"id": "chatcmpl-123", "object": "chat.completion", "created": 1700000000, "model": model,
		"system_fingerprint": "fp_test",
		"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": text, "refusal": nil},
			"logprobs": nil, "finish_reason": "stop",
		}},
		"usage": map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeAPIError writes OpenAI's error object.
func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

// reply answers every request with text and fixed usage.
func reply(text string) func(http.ResponseWriter, *http.Request, int, wireRequest) {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ wireRequest) {
		writeJSON(w, http.StatusOK, chatResponse("gpt-4o-2024-08-06", text, 120, 30))
	}
}

// testPNG returns a w x h PNG filled with c.
func testPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeDataURL returns the PNG inside a data:image/png;base64 URL.
func decodeDataURL(url string) ([]byte, error) {
	data, ok := strings.CutPrefix(url, "data:image/png;base64,")
	if !ok {
		return nil, fmt.Errorf("%.40q is not a data:image/png;base64 URL", url)
	}
	return base64.StdEncoding.DecodeString(data)
}

// newTestClient returns a client of f with the planted key.
func newTestClient(t *testing.T, f *fakeAPI, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.URL(), Model: "gpt-4o", APIKey: testKey, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
