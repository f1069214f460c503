package worker_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/schema"
)

// versions are the built-in template versions the simulated worker reads.
var versions = []string{"v1", "v2"}

// render renders a built-in template of a role with data, as the engine does.
func render(t *testing.T, role, name string, data any) string {
	t.Helper()
	tmpl, err := inference.LoadTemplate(role, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tmpl.Execute(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func thinkInstruction(t *testing.T, version, prompt string, previous []string, k, K int, image bool) string {
	d := inference.NewThinkData(prompt, previous, k, K)
	d.Image = image
	return render(t, inference.RoleThink, "think-"+version, d)
}

func critiqueInstruction(t *testing.T, version, prompt string, thoughts []string, k, K int) string {
	return render(t, inference.RoleCritique, "critique-"+version, inference.NewCritiqueData(prompt, thoughts, k, K))
}

func dataURL(png []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

// userTurn is a user message with the instruction and, if any, the canvas.
func userTurn(text string, png []byte) worker.ChatMessage {
	c := worker.Content{{Type: "text", Text: text}}
	if png != nil {
		c = append(c, worker.ContentPart{Type: "image_url", ImageURL: &worker.ImageURL{URL: dataURL(png)}})
	}
	return worker.ChatMessage{Role: "user", Content: c}
}

func chat(t *testing.T, url string, req worker.ChatRequest) worker.ChatResponse {
	t.Helper()
	var resp worker.ChatResponse
	call(t, url+worker.PathChat, req, &resp)
	if resp.Object != "chat.completion" || len(resp.Choices) != 1 || resp.Choices[0].Message.Role != "assistant" ||
		resp.Choices[0].FinishReason != "stop" || !strings.HasPrefix(resp.ID, "chatcmpl-") ||
		resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
		t.Errorf("answer is not a chat completion: %+v", resp)
	}
	return resp
}

// paintedCanvas paints band 0 and 1 of a prompt with the simulator and
// returns the thoughts and the PNG after band 1.
func paintedCanvas(t *testing.T, prompt string) ([]string, []byte) {
	ctx := context.Background()
	r := sim.NewReasoner(sim.ReasonerConfig{})
	p := sim.NewPainter(sim.PainterConfig{})
	var thoughts []string
	var tokens []int32
	for k := range 2 {
		th, err := r.Think(ctx, inference.ThinkRequest{Prompt: prompt, Region: k, Regions: 3})
		if err != nil {
			t.Fatal(err)
		}
		thoughts = append(thoughts, th.Text)
		gen, err := p.Generate(ctx, inference.GenerateRequest{Prefix: strings.Join(thoughts, " "), Prior: tokens, N: 192, CFG: 5})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, gen.Tokens...)
	}
	dec, err := p.Decode(ctx, append(tokens, make([]int32, 192)...))
	if err != nil {
		t.Fatal(err)
	}
	return thoughts, dec.PNG
}

const prompt = `a red apple on the left of a green train, under a "blue" sky`

// TestChatThink sends rendered think instructions and checks that the
// answer is the simulated reasoner's one-sentence thought.
func TestChatThink(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	cfg.DriftRate = 0
	b := worker.NewSimBackend(cfg)
	ts, _ := serve(t, b, worker.Options{})
	thoughts, canvas := paintedCanvas(t, prompt)
	seed := int64(42)

	tests := []struct {
		name     string
		previous []string
		canvas   []byte
		k, K     int
	}{
		{"first band", nil, nil, 0, 3},
		{"middle band with canvas", thoughts[:1], canvas, 1, 3},
		{"last band", thoughts, canvas, 2, 3},
		{"band 3 of 5", thoughts, nil, 2, 5},
	}
	for _, v := range versions {
		for _, tt := range tests {
			t.Run(v+" "+tt.name, func(t *testing.T) {
				instr := thinkInstruction(t, v, prompt, tt.previous, tt.k, tt.K, tt.canvas != nil)
				got := chat(t, ts.URL, worker.ChatRequest{
					Model: "anything", Messages: []worker.ChatMessage{userTurn(instr, tt.canvas)}, MaxTokens: 512, Seed: &seed,
				})
				want, err := b.Think(context.Background(), inference.ThinkRequest{
					Instruction: instr, Prompt: prompt, Region: tt.k, Regions: tt.K, MaxTokens: 512, Seed: seed,
				})
				if err != nil {
					t.Fatal(err)
				}
				text := got.Choices[0].Message.Content.Text()
				if text != want.Text || got.Model != want.Model {
					t.Errorf("thought = %q from %q, want %q from %q", text, got.Model, want.Text, want.Model)
				}
				if !strings.HasSuffix(text, ".") || strings.Count(text, ". ") > 0 {
					t.Errorf("thought %q is not one sentence", text)
				}
				if got.Usage.PromptTokens != int(want.Usage.InputTokens) || got.Usage.CompletionTokens != int(want.Usage.OutputTokens) {
					t.Errorf("usage = %+v, want %+v", got.Usage, want.Usage)
				}
			})
		}
	}
}

var critiqueFormat = regexp.MustCompile(`^SCORE: \d+\nIMPROVED_DESCRIPTION: \S.*$`)

// TestChatCritique sends rendered critique instructions and checks the
// answer against the simulated critic's.
func TestChatCritique(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	cfg.MalformedRate = 0
	b := worker.NewSimBackend(cfg)
	ts, _ := serve(t, b, worker.Options{})
	thoughts, canvas := paintedCanvas(t, prompt)
	seed := int64(7)

	for _, v := range versions {
		for k := range 2 {
			t.Run(fmt.Sprintf("%s band %d", v, k+1), func(t *testing.T) {
				instr := critiqueInstruction(t, v, prompt, thoughts[:k+1], k, 3)
				got := chat(t, ts.URL, worker.ChatRequest{Messages: []worker.ChatMessage{
					{Role: "system", Content: worker.Content{{Type: "text", Text: "You are a careful critic."}}},
					userTurn(instr, canvas),
				}, Seed: &seed})
				want, err := b.Critique(context.Background(), inference.CritiqueRequest{
					Instruction: instr, Prompt: prompt, Thoughts: thoughts[:k+1], Canvas: canvas, Region: k, Regions: 3, Seed: seed,
				})
				if err != nil {
					t.Fatal(err)
				}
				text := got.Choices[0].Message.Content.Text()
				if text != want.Text {
					t.Errorf("critique = %q, want %q", text, want.Text)
				}
				if !critiqueFormat.MatchString(text) {
					t.Errorf("critique %q is not in the SCORE / IMPROVED_DESCRIPTION format", text)
				}
				if p := inference.ParseCritique(text); p.Status != schema.ParseOK || p.Score < 80 {
					t.Errorf("critique of a band painted without mistakes = %+v, want parsed and >= 80", p)
				}
			})
		}
	}
}

// dataURLCanvas is a painted canvas, for requests that must get past the image checks.
func dataURLCanvas(t *testing.T) []byte {
	_, canvas := paintedCanvas(t, prompt)
	return canvas
}

// TestChatCorrectionTurn checks that a conversation with a correction
// turn is answered as a retry of the critique, with a new draw.
func TestChatCorrectionTurn(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	cfg.MalformedRate = 0
	ts, _ := serve(t, worker.NewSimBackend(cfg), worker.Options{})
	thoughts, canvas := paintedCanvas(t, prompt)
	instr := critiqueInstruction(t, "v2", prompt, thoughts, 1, 3)
	seed := int64(3)
	first := chat(t, ts.URL, worker.ChatRequest{Messages: []worker.ChatMessage{userTurn(instr, canvas)}, Seed: &seed})
	msgs := []worker.ChatMessage{
		userTurn(instr, canvas),
		{Role: "assistant", Content: worker.Content{{Type: "text", Text: "SCORE: high"}}},
		{Role: "user", Content: worker.Content{{Type: "text", Text: "Your answer did not follow the format. Answer again in exactly this format:\nSCORE: <integer from 0 to 100>\nIMPROVED_DESCRIPTION: <one sentence>"}}},
	}
	retry := chat(t, ts.URL, worker.ChatRequest{Messages: msgs, Seed: &seed})
	again := chat(t, ts.URL, worker.ChatRequest{Messages: msgs, Seed: &seed})
	text := retry.Choices[0].Message.Content.Text()
	if !critiqueFormat.MatchString(text) {
		t.Errorf("retry answer %q is not a critique", text)
	}
	if retry.ID == first.ID {
		t.Errorf("retry has the first call's id %s: not a new draw", retry.ID)
	}
	if !reflect.DeepEqual(retry, again) {
		t.Errorf("the same retry answered %+v, then %+v", retry, again)
	}
}

// TestChatErrors checks that requests the simulator cannot interpret are
// answered 400 with an OpenAI-style error body.
func TestChatErrors(t *testing.T) {
	ts, _ := serve(t, quietSim(), worker.Options{})
	think := thinkInstruction(t, "v2", prompt, nil, 0, 3, false)
	crit := critiqueInstruction(t, "v2", prompt, []string{"A red apple."}, 0, 3)
	req := func(msgs ...worker.ChatMessage) worker.ChatRequest { return worker.ChatRequest{Messages: msgs} }
	image := func(url string) worker.ChatMessage {
		return worker.ChatMessage{Role: "user", Content: worker.Content{{Type: "text", Text: think}, {Type: "image_url", ImageURL: &worker.ImageURL{URL: url}}}}
	}
	tests := []struct {
		name   string
		method string
		body   any
		status int
		want   string
	}{
		{"not an instruction", "POST", req(userTurn("Describe a cat.", nil)), 400, "cannot interpret"},
		{"no band", "POST", req(userTurn(strings.ReplaceAll(think, "the first of 3 horizontal sections", "the first section"), nil)), 400, "it names no band"},
		{"no bands", "POST", req(userTurn(strings.ReplaceAll(think, "the first of 3 horizontal sections", "the first of 0 horizontal sections"), nil)), 400, "band 1 of 0"},
		{"v1 band out of range", "POST", req(userTurn(strings.ReplaceAll(thinkInstruction(t, "v1", prompt, nil, 0, 3, false), "band 1 of 3", "band 4 of 3"), nil)), 400, "band 4 of 3"},
		{"critique without its description", "POST", req(userTurn(strings.ReplaceAll(crit, "was painted from", "came from"), dataURLCanvas(t))), 400, "painted from"},
		{"no messages", "POST", req(), 400, "no messages"},
		{"instruction only in an answer", "POST", req(worker.ChatMessage{Role: "assistant", Content: worker.Content{{Type: "text", Text: think}}}), 400, "cannot interpret"},
		{"stream", "POST", worker.ChatRequest{Messages: []worker.ChatMessage{userTurn(think, nil)}, Stream: true}, 400, "streaming"},
		{"n 2", "POST", worker.ChatRequest{Messages: []worker.ChatMessage{userTurn(think, nil)}, N: 2}, 400, "one choice"},
		{"http image", "POST", req(image("https://example.com/canvas.png")), 400, "fetches nothing"},
		{"jpeg image", "POST", req(image("data:image/jpeg;base64,AAAA")), 400, "want image/png"},
		{"bad base64", "POST", req(image("data:image/png;base64,!!!")), 400, "illegal base64"},
		{"canvas not a PNG", "POST", req(image(dataURL([]byte("GIF89a")))), 400, "canvas"},
		{"critique without canvas", "POST", req(userTurn(crit, nil)), 400, "canvas"},
		{"image part without url", "POST", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "without an image_url"},
		{"content a number", "POST", `{"messages":[{"role":"user","content":42}]}`, 400, "want a string or an array"},
		{"bad JSON", "POST", `{"messages":`, 400, "bad JSON"},
		{"GET", "GET", nil, 405, "wants POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := do(t, tt.method, ts.URL+worker.PathChat, tt.body)
			if status != tt.status {
				t.Fatalf("status = %d %s, want %d", status, b, tt.status)
			}
			e := errorBody(t, b)
			if e.Error.Type != worker.ErrorInvalidRequest || !strings.Contains(e.Error.Message, tt.want) {
				t.Errorf("error = %+v, want type %s and a message with %q", e.Error, worker.ErrorInvalidRequest, tt.want)
			}
		})
	}
}

// TestContentJSON checks both wire forms of message content.
func TestContentJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want worker.Content
		out  string
	}{
		{"string", `"hi"`, worker.Content{{Type: "text", Text: "hi"}}, `"hi"`},
		{"null", `null`, nil, `""`},
		{"parts", `[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:x"}}]`,
			worker.Content{{Type: "text", Text: "a"}, {Type: "image_url", ImageURL: &worker.ImageURL{URL: "data:x"}}},
			`[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:x"}}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got worker.Content
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read %s = %+v, want %+v", tt.in, got, tt.want)
			}
			out, err := json.Marshal(got)
			if err != nil || string(out) != tt.out {
				t.Errorf("write = %s (%v), want %s", out, err, tt.out)
			}
		})
	}
}

// TestEngineOverHTTP runs the TwiG loop with the painter and the reasoner
// behind HTTP, the reasoner seeing only the rendered instructions and the
// canvas, and checks that the trajectories equal those of the simulator
// called directly.
func TestEngineOverHTTP(t *testing.T) {
	cfg := worker.DefaultSimConfig()
	cfg.MalformedRate = 0 // a retry over HTTP draws with another seed
	b := worker.NewSimBackend(cfg)
	ts, _ := serve(t, b, worker.Options{MaxWait: -1}) // calls come one at a time
	remote := httpModel{url: ts.URL}

	probe, err := b.Think(context.Background(), inference.ThinkRequest{Prompt: "a cat", Region: 0, Regions: 1})
	if err != nil {
		t.Fatal(err)
	}
	painter := sim.NewPainter(sim.PainterConfig{Geometry: cfg.Geometry, MistakeRate: cfg.MistakeRate, Model: b.Info().ModelID()})
	reasoner := sim.NewReasoner(sim.ReasonerConfig{Geometry: cfg.Geometry, MalformedRate: cfg.MalformedRate, DriftRate: cfg.DriftRate, Model: probe.Model})

	ecfg := inference.DefaultConfig()
	overHTTP, err := inference.New(ecfg, remote, remote)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := inference.New(ecfg, painter, reasoner)
	if err != nil {
		t.Fatal(err)
	}
	prompts := []string{
		"a red apple on the left of a green train",
		"three yellow cats below a blue kite",
		"a wooden table and a round glass vase on the top of a rug",
		`a sign that says "open"`,
	}
	for i, p := range prompts {
		for s := range int64(3) {
			seed := schema.Seed{ID: fmt.Sprintf("p%d-s%d", i, s), Prompt: p, Seed: 1000*int64(i) + s}
			got, err := overHTTP.Run(context.Background(), seed)
			if err != nil {
				t.Fatalf("%s over HTTP: %v", seed.ID, err)
			}
			want, err := direct.Run(context.Background(), seed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got.Regions)
				wj, _ := json.Marshal(want.Regions)
				t.Errorf("%s: trajectory over HTTP differs:\ngot  %.2000s\nwant %.2000s", seed.ID, gj, wj)
			}
		}
	}
}

// httpModel is a minimal client of the protocol: an inference.Painter and
// an inference.Reasoner that send the reasoner only the instruction and
// the canvas, as an OpenAI client would.
type httpModel struct{ url string }

func (m httpModel) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

func (m httpModel) Generate(ctx context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	var resp worker.GenerateResponse
	err := m.post(ctx, worker.PathGenerate, worker.GenerateRequest{
		Prefix: req.Prefix, Prior: req.Prior, N: req.N, CFG: req.CFG,
		Temperature: req.Temperature, TopK: req.TopK, TopP: req.TopP, Seed: req.Seed,
	}, &resp)
	return inference.GenerateResponse{
		Tokens: resp.Tokens, Model: resp.Model,
		Usage: schema.Usage{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens},
	}, err
}

func (m httpModel) Decode(ctx context.Context, tokens []int32) (inference.DecodeResponse, error) {
	var resp worker.DecodeResponse
	err := m.post(ctx, worker.PathDecode, worker.DecodeRequest{Tokens: tokens}, &resp)
	return inference.DecodeResponse{PNG: resp.PNG, Model: resp.Model}, err
}

func (m httpModel) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	return m.chat(ctx, req.Instruction, req.Canvas, nil, req.Temperature, req.MaxTokens, req.Seed)
}

func (m httpModel) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	return m.chat(ctx, req.Instruction, req.Canvas, req.Unparsed, req.Temperature, req.MaxTokens, req.Seed)
}

func (m httpModel) chat(ctx context.Context, instr string, canvas []byte, unparsed []string, temp float64, maxTokens int, seed int64) (inference.Reply, error) {
	msgs := []worker.ChatMessage{userTurn(instr, canvas)}
	for _, u := range unparsed {
		msgs = append(msgs,
			worker.ChatMessage{Role: "assistant", Content: worker.Content{{Type: "text", Text: u}}},
			worker.ChatMessage{Role: "user", Content: worker.Content{{Type: "text", Text: "Answer again in the format."}}})
	}
	var resp worker.ChatResponse
	if err := m.post(ctx, worker.PathChat, worker.ChatRequest{
		Model: "twig-sim", Messages: msgs, Temperature: &temp, MaxTokens: maxTokens, Seed: &seed,
	}, &resp); err != nil {
		return inference.Reply{}, err
	}
	if len(resp.Choices) != 1 {
		return inference.Reply{}, errors.New("no choice")
	}
	return inference.Reply{
		Text: resp.Choices[0].Message.Content.Text(), Model: resp.Model,
		Usage: schema.Usage{InputTokens: int32(resp.Usage.PromptTokens), OutputTokens: int32(resp.Usage.CompletionTokens)},
	}, nil
}
