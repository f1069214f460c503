package worker_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/schema"
)

// judgeInstruction renders the real VLM judge template for prompt.
func judgeInstruction(t *testing.T, prompt string) (string, int) {
	t.Helper()
	j, err := vlm.New(sim.NewVLM(sim.VLMConfig{}), vlm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	qs := annotators.Questions(annotators.Parse(prompt))
	text, err := j.Instruction(prompt, qs)
	if err != nil {
		t.Fatal(err)
	}
	return text, len(qs)
}

// finalImage paints prompt with the simulator, without mistakes.
func finalImage(t *testing.T, prompt string) []byte {
	t.Helper()
	e, err := inference.New(inference.DefaultConfig(), sim.NewPainter(sim.PainterConfig{}), sim.NewReasoner(sim.ReasonerConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.Run(context.Background(), schema.Seed{ID: "j", Prompt: prompt, PromptNormalized: prompt, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	return tr.FinalImage.Bytes
}

// TestChatJudge sends the judge instruction through the teacher client
// to the worker's chat endpoint: the simulated VLM answers, in the format
// the judge parses, the same as the simulator in process.
func TestChatJudge(t *testing.T) {
	ts, _ := serve(t, quietSim(), worker.Options{})
	client, err := teacher.New(teacher.Config{BaseURL: ts.URL + "/v1", Model: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "a cat on the left of a dog"
	text, n := judgeInstruction(t, prompt)
	img := finalImage(t, prompt)
	tests := []struct {
		name     string
		unparsed []string
	}{
		{"first try", nil},
		{"correction turn", []string{"I like it."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := inference.ViewRequest{Instruction: text, Image: img, Seed: 11, Unparsed: tt.unparsed}
			got, err := client.View(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			a, err := vlm.ParseAnswer(got.Text, n)
			if err != nil || a.Score < 95 || len(a.Yes) != 3 || !a.Yes[0] || !a.Yes[1] || !a.Yes[2] {
				t.Errorf("answer %q: %+v, %v; want a high score and all yes", got.Text, a, err)
			}
			if got.Model != sim.DefaultVLMModel || got.Usage.InputTokens == 0 {
				t.Errorf("reply %+v", got)
			}
			if tt.unparsed == nil {
				local, err := sim.NewVLM(sim.VLMConfig{}).View(context.Background(), req)
				if err != nil || local.Text != got.Text {
					t.Errorf("over HTTP %q, in process %q (%v)", got.Text, local.Text, err)
				}
			}
		})
	}
}

func TestChatJudgeErrors(t *testing.T) {
	ts, _ := serve(t, quietSim(), worker.Options{})
	text, _ := judgeInstruction(t, "a red apple")
	tests := []struct {
		name string
		req  worker.ChatRequest
		want string
	}{
		{"no image", worker.ChatRequest{Model: "sim", Messages: []worker.ChatMessage{userTurn(text, nil)}}, "without an image"},
		{"not a canvas", worker.ChatRequest{Model: "sim", Messages: []worker.ChatMessage{userTurn(text, []byte("\x89PNG junk"))}}, "PNG"},
		{"streaming", worker.ChatRequest{Model: "sim", Stream: true, Messages: []worker.ChatMessage{userTurn(text, nil)}}, "streaming"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, http.MethodPost, ts.URL+worker.PathChat, tt.req)
			if status != http.StatusBadRequest || !strings.Contains(string(body), tt.want) {
				t.Errorf("got %d %s, want 400 mentioning %q", status, body, tt.want)
			}
		})
	}
}

// TestSimBackendView checks the backend's View directly: a canvas is
// judged, and an instruction that is not the judge's is a request error.
func TestSimBackendView(t *testing.T) {
	b := quietSim()
	text, _ := judgeInstruction(t, "three apples")
	img := finalImage(t, "three apples")
	got, err := b.View(context.Background(), inference.ViewRequest{Instruction: text, Image: img})
	if err != nil || !strings.Contains(got.Text, "Q1: yes") {
		t.Fatalf("View: %q, %v", got.Text, err)
	}
	_, err = b.View(context.Background(), inference.ViewRequest{Instruction: "describe", Image: img})
	var re *worker.RequestError
	if !errors.As(err, &re) || !errors.Is(err, sim.ErrNotJudgeInstruction) {
		t.Errorf("got %v, want a request error wrapping sim.ErrNotJudgeInstruction", err)
	}
}
