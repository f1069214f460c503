package workertest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/worker"
)

// pathModels lists the served model, OpenAI style, on a worker with chat.
const pathModels = "/v1/models"

// chatPrompt is the picture the chat checks plan.
const chatPrompt = "a red apple on the left of a green train, under a blue sky"

// servesChat asks the server whether it serves chat completions: /v1/info's
// "chat" field when it has one, else a probe with an empty conversation,
// which a server without chat answers 404 (unknown path) and a server with
// chat refuses otherwise.
func (s *suite) servesChat(t *testing.T) (bool, string) {
	if raw, ok := s.rawInfo["chat"]; ok {
		var chat bool
		if err := json.Unmarshal(raw, &chat); err != nil {
			t.Fatalf("GET %s: chat is %s, want a boolean", worker.PathInfo, raw)
		}
		return chat, fmt.Sprintf("GET %s says chat: %v", worker.PathInfo, chat)
	}
	a := s.call(t, http.MethodPost, worker.PathChat, `{"model": "probe", "messages": []}`)
	if a.status == http.StatusNotFound {
		wantError(t, "POST "+worker.PathChat+" (probe)", a, worker.ErrorInvalidRequest, http.StatusNotFound)
		return false, fmt.Sprintf("POST %s with no messages answered 404", worker.PathChat)
	}
	return true, fmt.Sprintf("POST %s with no messages answered %d", worker.PathChat, a.status)
}

// wireChat is a chat completion as sent.
type wireChat struct {
	ID      *string `json:"id"`
	Object  *string `json:"object"`
	Created *int64  `json:"created"`
	Model   *string `json:"model"`
	Choices *[]struct {
		Index   *int `json:"index"`
		Message *struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     *int64 `json:"prompt_tokens"`
		CompletionTokens *int64 `json:"completion_tokens"`
		TotalTokens      *int64 `json:"total_tokens"`
	} `json:"usage"`
}

// chatOK posts a chat request that must succeed and checks that the answer
// is an OpenAI chat completion. It returns the answer's text.
func (s *suite) chatOK(t testing.TB, name string, req body) (string, bool) {
	t.Helper()
	where := fmt.Sprintf("POST %s (%s)", worker.PathChat, name)
	a := s.callOK(t, http.MethodPost, worker.PathChat, req)
	var c wireChat
	if !wantOK(t, where, a, &c) {
		return "", false
	}
	bad := func(what string) (string, bool) {
		t.Errorf("%s = %s: %s", where, a, what)
		return "", false
	}
	switch {
	case c.ID == nil || *c.ID == "":
		return bad("no id")
	case c.Object == nil || *c.Object != "chat.completion":
		return bad(`object is not "chat.completion"`)
	case c.Created == nil || *c.Created < 0:
		return bad("created is not a Unix time")
	case c.Model == nil || *c.Model == "":
		return bad("no model")
	case c.Choices == nil || len(*c.Choices) != 1:
		return bad("want exactly one choice")
	}
	ch := (*c.Choices)[0]
	switch {
	case ch.Index == nil || *ch.Index != 0:
		return bad("choice index is not 0")
	case ch.Message == nil || ch.Message.Role == nil || *ch.Message.Role != "assistant":
		return bad(`the choice's message is not from role "assistant"`)
	case ch.Message.Content == nil:
		return bad("the message has no string content")
	case ch.FinishReason == nil || (*ch.FinishReason != "stop" && *ch.FinishReason != "length"):
		return bad(`finish_reason is not "stop" or "length"`)
	}
	switch u := c.Usage; {
	case u == nil || u.PromptTokens == nil || u.CompletionTokens == nil || u.TotalTokens == nil:
		return bad("usage lacks prompt_tokens, completion_tokens or total_tokens")
	case *u.PromptTokens <= 0:
		return bad("usage.prompt_tokens is not positive")
	case *u.CompletionTokens < 0 || (*u.CompletionTokens == 0 && *ch.Message.Content != ""):
		return bad("usage.completion_tokens does not count the answer")
	case *u.TotalTokens != *u.PromptTokens+*u.CompletionTokens:
		return bad("usage.total_tokens is not prompt_tokens + completion_tokens")
	}
	if *c.Created == 0 {
		t.Logf("%s: created is 0, not the time of the answer", where)
	}
	return *ch.Message.Content, true
}

// render renders a built-in template of twig's, as the engine does.
func render(t testing.TB, role, name string, data any) string {
	t.Helper()
	tmpl, err := inference.LoadTemplate(role, name, nil)
	if err != nil {
		t.Fatalf("template %s: %v", name, err)
	}
	text, err := tmpl.Execute(data)
	if err != nil {
		t.Fatalf("template %s: %v", name, err)
	}
	return text
}

// bands is the number of bands the chat checks plan: 3, or fewer when the
// grid does not split into 3 whole bands.
func (s *suite) bands() int {
	for _, k := range []int{3, 2} {
		if s.grid%k == 0 {
			return k
		}
	}
	return 1
}

func textPart(text string) map[string]any { return map[string]any{"type": "text", "text": text} }

func imagePart(pngBytes []byte) map[string]any {
	return map[string]any{"type": "image_url", "image_url": map[string]any{
		"url": "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)}}
}

// testChat checks POST /v1/chat/completions with instructions rendered from
// twig's built-in templates. It checks the protocol's shape only, not what
// the answers say.
func (s *suite) testChat(t *testing.T) {
	serves, why := s.servesChat(t)
	t.Logf("%s: chat completions served: %v (%s)", s.h.URL, serves, why)
	if !serves {
		if s.h.RequireChat {
			t.Fatalf("Harness.RequireChat is set, but the server does not serve chat completions (%s)", why)
		}
		t.Skip("the server does not serve chat completions")
	}
	K := s.bands()
	think := render(t, inference.RoleThink, "think-v2", inference.NewThinkData(chatPrompt, nil, 0, K))
	thinkReq := body{
		"model": "twig-conformance", "temperature": 0.7, "max_tokens": 256, "seed": 7,
		"messages": []any{map[string]any{"role": "user", "content": think}},
	}
	var thought string
	s.run(t, "Think", func(t *testing.T) {
		var ok bool
		if thought, ok = s.chatOK(t, "think", thinkReq); ok {
			if again, _ := s.chatOK(t, "think, again", thinkReq); again != thought {
				t.Errorf("POST %s: the same think request answered %q, then %q", worker.PathChat, thought, again)
			}
		}
	})
	s.run(t, "ThinkInParts", func(t *testing.T) {
		s.chatOK(t, "think as content parts after a system message", body{
			"model": "twig-conformance", "max_tokens": 256, "seed": 8,
			"messages": []any{
				map[string]any{"role": "system", "content": "You plan pictures band by band."},
				map[string]any{"role": "user", "content": []any{textPart(think)}},
			},
		})
	})
	s.run(t, "Critique", func(t *testing.T) {
		if strings.TrimSpace(thought) == "" {
			thought = "A red apple sits at the left of the band."
		}
		// The canvas: band 1 painted from the thought, the rest
		// placeholders, rendered by the server itself.
		rows := s.grid / K
		band := s.generateOK(t, "band 1 for the critique", s.generateBody(thought, nil, rows*s.grid, 3))
		if band == nil {
			t.FailNow()
		}
		canvas := s.decodeOK(t, "the canvas for the critique", append(band, make([]int32, s.grid*s.grid-len(band))...))
		if canvas == nil {
			t.FailNow()
		}
		critique := render(t, inference.RoleCritique, "critique-v2", inference.NewCritiqueData(chatPrompt, []string{thought}, 0, K))
		s.chatOK(t, "critique with the canvas", body{
			"model": "twig-conformance", "temperature": 0.3, "max_tokens": 256, "seed": 9,
			"messages": []any{map[string]any{"role": "user", "content": []any{textPart(critique), imagePart(canvas)}}},
		})
	})
	s.run(t, "Invalid", func(t *testing.T) {
		tests := []struct {
			name     string
			body     any
			statuses []int
		}{
			{"not JSON", `{"messages": [`, badRequest},
			// The protocol refuses these with 400.
			{"stream", thinkReq.with("stream", true), []int{http.StatusBadRequest}},
			{"n 2", thinkReq.with("n", 2), []int{http.StatusBadRequest}},
			{"no messages", thinkReq.with("messages", []any{}), badRequest},
			{"messages a string", thinkReq.with("messages", think), badRequest},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				where := fmt.Sprintf("POST %s (%s)", worker.PathChat, tt.name)
				wantError(t, where, s.call(t, http.MethodPost, worker.PathChat, tt.body), worker.ErrorInvalidRequest, tt.statuses...)
			})
		}
	})
	s.run(t, "Models", func(t *testing.T) {
		// A worker with chat lists its model as OpenAI lists models.
		where := "GET " + pathModels
		var m struct {
			Object *string `json:"object"`
			Data   *[]struct {
				ID     *string `json:"id"`
				Object *string `json:"object"`
			} `json:"data"`
		}
		a := s.call(t, http.MethodGet, pathModels, nil)
		if !wantOK(t, where, a, &m) {
			return
		}
		if m.Object == nil || *m.Object != "list" || m.Data == nil || len(*m.Data) == 0 {
			t.Errorf(`%s = %s: want an object "list" with data`, where, a)
			return
		}
		for i, d := range *m.Data {
			if d.ID == nil || *d.ID == "" || d.Object == nil || *d.Object != "model" {
				t.Errorf(`%s = %s: data[%d] is not an object "model" with an id`, where, a, i)
			}
		}
	})
	s.run(t, "WrongMethod", func(t *testing.T) {
		where := "GET " + worker.PathChat
		a := s.call(t, http.MethodGet, worker.PathChat, nil)
		if wantError(t, where, a, worker.ErrorInvalidRequest, http.StatusMethodNotAllowed) && !strings.Contains(a.header.Get("Allow"), http.MethodPost) {
			t.Errorf("%s: Allow %q, want POST", where, a.header.Get("Allow"))
		}
	})
}
