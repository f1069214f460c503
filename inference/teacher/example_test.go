package teacher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/teacher"
)

// Example builds a critic the way cmd does: a client, inside a limiter,
// inside retries, inside a budget, here against a local server that
// answers like OpenAI's chat completions API.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-2024-08-06",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": "SCORE: 92\nIMPROVED_DESCRIPTION: A red apple on a wooden table."}}},
			"usage": map[string]any{"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020},
		})
	}))
	defer srv.Close()

	cfg := teacher.Config{BaseURL: srv.URL + "/v1", Model: "gpt-4o", APIKey: "sk-from-the-environment", Timeout: 30 * time.Second}
	client, err := teacher.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	lim := teacher.SharedLimiter(cfg.BaseURL, cfg.Model, teacher.Limits{Requests: 500, InputTokens: 30000, MaxConcurrent: 8})
	budget := &teacher.Budget{Name: "critique", MaxDollars: 5, Prices: teacher.Prices{InputPerMillion: 2.5, OutputPerMillion: 10}}
	var critic inference.Reasoner = teacher.NewLimitReasoner(client, lim)
	critic = teacher.NewRetryReasoner(critic, teacher.RetryPolicy{})
	critic = teacher.NewBudgetReasoner(critic, budget)

	reply, err := critic.Critique(context.Background(), inference.CritiqueRequest{
		Instruction: "Judge the middle third (band 2 of 3)...", Canvas: []byte("png bytes"), MaxTokens: 512,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := inference.ParseCritique(reply.Text)
	fmt.Println(reply.Model, p.Score, p.Revised)
	s := budget.Spent()
	fmt.Printf("spent %d+%d tokens, $%.4f\n", s.InputTokens, s.OutputTokens, s.Dollars)
	// Output:
	// gpt-4o-2024-08-06 92 A red apple on a wooden table.
	// spent 1000+20 tokens, $0.0027
}
