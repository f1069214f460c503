package worker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
)

// ChatRequest is the part of an OpenAI chat-completions request that the
// worker reads; other fields are ignored.
type ChatRequest struct {
	Model    string        `json:"model"`
	Messages []ChatMessage `json:"messages"`
	// Temperature is nil when not given (OpenAI's default is 1).
	Temperature *float64 `json:"temperature,omitempty"`
	// MaxTokens (or its newer name MaxCompletionTokens) caps the answer.
	MaxTokens           int `json:"max_tokens,omitempty"`
	MaxCompletionTokens int `json:"max_completion_tokens,omitempty"`
	// Seed is nil when not given, which reads as seed 0.
	Seed   *int64 `json:"seed,omitempty"`
	N      int    `json:"n,omitempty"`
	Stream bool   `json:"stream,omitempty"`
}

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a message's content: on the wire either a plain string or
// an array of parts. A string reads as one text part, and one text part
// writes as a string.
type Content []ContentPart

// ContentPart is a text part ({"type": "text", "text": ...}) or an image
// part ({"type": "image_url", "image_url": {"url": ...}}).
type ContentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL holds an image, for the worker a "data:image/png;base64,..."
// URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// UnmarshalJSON reads a string, an array of parts or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*c = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Content{{Type: "text", Text: s}}
		return nil
	}
	var parts []ContentPart
	if err := json.Unmarshal(b, &parts); err != nil {
		return errors.New("content: want a string or an array of content parts")
	}
	*c = parts
	return nil
}

// MarshalJSON writes a lone text part (or nothing) as a string, else the
// array of parts.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case len(c) == 0:
		return []byte(`""`), nil
	case len(c) == 1 && c[0].Type == "text":
		return json.Marshal(c[0].Text)
	}
	return json.Marshal([]ContentPart(c))
}

// Text returns the text parts joined by newlines.
func (c Content) Text() string {
	var texts []string
	for _, p := range c {
		if p.Type == "text" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// ChatResponse is an OpenAI chat completion.
type ChatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   ChatUsage    `json:"usage"`
}

// ChatChoice is one answer of a completion.
type ChatChoice struct {
	Index        int         `json:"index"`
	Message      ChatMessage `json:"message"`
	FinishReason string      `json:"finish_reason"`
}

// ChatUsage counts a completion's tokens.
type ChatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// chat answers a chat completion. A judge instruction (see readJudge) is
// answered by the backend's inference.Viewer; anything else by its
// reasoner, which reads from the conversation what it needs (see
// readInstruction) and calls Think or Critique.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	viewer, _ := s.backend.(inference.Viewer)
	if s.reasoner == nil && viewer == nil {
		writeError(w, http.StatusNotFound, ErrorInvalidRequest, "this worker does not serve chat completions")
		return
	}
	var req ChatRequest
	if !s.read(w, r, &req) {
		return
	}
	if view, ok, err := readJudge(req); ok || err != nil {
		if err != nil {
			s.fail(w, r, &RequestError{Err: err})
			return
		}
		if viewer == nil {
			writeError(w, http.StatusNotFound, ErrorInvalidRequest, "this worker does not serve judge instructions")
			return
		}
		reply, err := viewer.View(r.Context(), view)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeChat(w, reply, view.Instruction, view.Seed)
		return
	}
	if s.reasoner == nil {
		writeError(w, http.StatusNotFound, ErrorInvalidRequest, "this worker serves only judge instructions")
		return
	}
	in, err := readInstruction(req)
	if err != nil {
		s.fail(w, r, &RequestError{Err: err})
		return
	}
	var reply inference.Reply
	if in.critique {
		reply, err = s.reasoner.Critique(r.Context(), inference.CritiqueRequest{
			Instruction: in.text, Prompt: in.prompt, Thoughts: in.thoughts, Canvas: in.canvas,
			Region: in.band, Regions: in.regions, Temperature: in.temperature, MaxTokens: in.maxTokens,
			Seed: in.seed, Unparsed: in.unparsed,
		})
	} else {
		reply, err = s.reasoner.Think(r.Context(), inference.ThinkRequest{
			Instruction: in.text, Prompt: in.prompt, Previous: in.thoughts, Canvas: in.canvas,
			Region: in.band, Regions: in.regions, Temperature: in.temperature, MaxTokens: in.maxTokens,
			Seed: in.seed,
		})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeChat(w, reply, in.text, in.seed)
}

// writeChat answers a chat completion with reply.
func writeChat(w http.ResponseWriter, reply inference.Reply, instruction string, seed int64) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s", reply.Model, instruction, seed, reply.Text)
	prompt, completion := int(reply.Usage.InputTokens), int(reply.Usage.OutputTokens)
	writeJSON(w, http.StatusOK, ChatResponse{
		ID:     fmt.Sprintf("chatcmpl-%016x", h.Sum64()),
		Object: "chat.completion",
		Model:  reply.Model,
		Choices: []ChatChoice{{
			Message:      ChatMessage{Role: "assistant", Content: Content{{Type: "text", Text: reply.Text}}},
			FinishReason: "stop",
		}},
		Usage: ChatUsage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion},
	})
}

// readJudge recovers a VLM judge call from a conversation, and reports
// whether the conversation is one. The filters/vlm judge template is the
// contract: the first system or user message that names the judged
// prompt (`made from the prompt: "..."`, sim.IsJudgeInstruction) is the
// instruction; the image is the last image of a system or user message;
// every assistant message after the instruction answered by a user
// message is a correction turn, whose text goes to ViewRequest.Unparsed,
// and the number of correction turns is mixed into the seed, as for a
// critique.
func readJudge(req ChatRequest) (inference.ViewRequest, bool, error) {
	at := -1
	for i, m := range req.Messages {
		if m.Role != "assistant" && sim.IsJudgeInstruction(m.Content.Text()) {
			at = i
			break
		}
	}
	if at < 0 {
		return inference.ViewRequest{}, false, nil
	}
	v := inference.ViewRequest{Instruction: req.Messages[at].Content.Text(), Temperature: 1, MaxTokens: req.MaxTokens}
	switch {
	case req.Stream:
		return v, true, errors.New("streaming is not supported")
	case req.N > 1:
		return v, true, fmt.Errorf("n %d: the worker answers one choice", req.N)
	}
	if req.Temperature != nil {
		v.Temperature = *req.Temperature
	}
	if v.MaxTokens <= 0 {
		v.MaxTokens = req.MaxCompletionTokens
	}
	if req.Seed != nil {
		v.Seed = *req.Seed
	}
	for i, m := range req.Messages {
		if m.Role == "assistant" {
			if i > at && i+1 < len(req.Messages) && req.Messages[i+1].Role == "user" {
				v.Unparsed = append(v.Unparsed, m.Content.Text())
			}
			continue
		}
		for _, p := range m.Content {
			if p.Type != "image_url" {
				continue
			}
			if p.ImageURL == nil {
				return v, true, fmt.Errorf("message %d: image_url part without an image_url", i)
			}
			png, err := decodeDataURL(p.ImageURL.URL)
			if err != nil {
				return v, true, fmt.Errorf("message %d: %w", i, err)
			}
			v.Image = png
		}
	}
	if v.Image == nil {
		return v, true, errors.New("judge instruction without an image")
	}
	if n := len(v.Unparsed); n > 0 {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/retry/%d", v.Seed, n)
		v.Seed = int64(h.Sum64() >> 1)
	}
	return v, true, nil
}

// View judges an image with the simulated VLM (sim.VLM, model
// sim.DefaultVLMModel) on the backend's geometry, after the same resize as
// Encode, so that the worker's chat endpoint serves the VLM judge too.
// Images that are not canvases are request errors.
func (b *SimBackend) View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error) {
	if err := ctx.Err(); err != nil {
		return inference.Reply{}, err
	}
	img, err := resize(req.Image, b.geo.ImageSize)
	if err != nil {
		return inference.Reply{}, &RequestError{Err: fmt.Errorf("view: read PNG: %w", err)}
	}
	req.Image = img
	reply, err := sim.NewVLM(sim.VLMConfig{Geometry: b.geo}).View(ctx, req)
	if err != nil {
		return inference.Reply{}, b.classify(ctx, err)
	}
	return reply, nil
}

var _ inference.Viewer = (*SimBackend)(nil)

// instruction is what a chat request asks of the reasoner.
type instruction struct {
	text        string // the rendered instruction
	critique    bool
	prompt      string
	thoughts    []string // earlier thoughts (think) or thoughts so far (critique)
	band        int      // 0-based
	regions     int
	canvas      []byte
	unparsed    []string // answers before correction turns, oldest first
	temperature float64
	maxTokens   int
	seed        int64
}

var (
	// promptRe finds the prompt in the built-in think and critique
	// templates of both versions; the prompt runs to the last quote of
	// the line.
	promptRe = regexp.MustCompile(`(?:must show|for the prompt|image prompt|prompt of the picture is|Prompt of the whole picture):? "(.*)"`)
	// bandRe finds "band N of K" (v1 templates); the last one outside the
	// prompt and the thoughts names the band.
	bandRe = regexp.MustCompile(`\bband (\d+) of (\d+)\b`)
	// The v2 templates: the first band is "the first of K horizontal
	// sections"; a later think is "in K horizontal parts", its band one
	// past the thoughts; a critique is "painted in K layers" about
	// "layer N", painted from a quoted description.
	firstRe     = regexp.MustCompile(`\bthe first of (\d+) horizontal sections\b`)
	partsRe     = regexp.MustCompile(`\bin (\d+) horizontal parts\b`)
	layersRe    = regexp.MustCompile(`\bpainted in (\d+) layers\b`)
	layerRe     = regexp.MustCompile(`\bEvaluate how layer (\d+)\b`)
	paintedFrom = regexp.MustCompile(`(?m)^Description layer \d+ was painted from: "(.*)"\s*$`)
	// listHeadRe is a line that introduces a list of thoughts.
	listHeadRe = regexp.MustCompile(`(?i)(?:already written|earlier layers|described as|descriptions used so far):\s*$`)
)

// readInstruction recovers a think or critique call from a conversation.
// The templates in inference/templates are the contract: the first
// system or user message with a prompt line is the instruction; its
// "- " lines are the thoughts; "band N of K" names the band; an
// instruction that asks for IMPROVED_DESCRIPTION is a critique. The
// canvas is the last image of a system or user message. Every assistant
// message after the instruction answered by a user message is a
// correction turn: its text goes
// to CritiqueRequest.Unparsed, and the number of correction turns is
// mixed into the seed, so a retry draws a new answer.
func readInstruction(req ChatRequest) (instruction, error) {
	in := instruction{temperature: 1, maxTokens: req.MaxTokens}
	switch {
	case req.Stream:
		return in, errors.New("streaming is not supported")
	case req.N > 1:
		return in, fmt.Errorf("n %d: the worker answers one choice", req.N)
	case len(req.Messages) == 0:
		return in, errors.New("no messages")
	}
	if req.Temperature != nil {
		in.temperature = *req.Temperature
	}
	if in.maxTokens <= 0 {
		in.maxTokens = req.MaxCompletionTokens
	}
	if req.Seed != nil {
		in.seed = *req.Seed
	}
	at := -1
	for i, m := range req.Messages {
		if m.Role == "assistant" {
			if at >= 0 && i+1 < len(req.Messages) && req.Messages[i+1].Role == "user" {
				in.unparsed = append(in.unparsed, m.Content.Text())
			}
			continue
		}
		for _, p := range m.Content {
			if p.Type != "image_url" {
				continue
			}
			if p.ImageURL == nil {
				return in, fmt.Errorf("message %d: image_url part without an image_url", i)
			}
			png, err := decodeDataURL(p.ImageURL.URL)
			if err != nil {
				return in, fmt.Errorf("message %d: %w", i, err)
			}
			in.canvas = png
		}
		if at < 0 && promptRe.MatchString(m.Content.Text()) {
			at = i
		}
	}
	if at < 0 {
		return in, errors.New(`cannot interpret the conversation: no think or critique instruction (a message with "must show: \"...\"" or "for the prompt: \"...\"")`)
	}
	in.text = req.Messages[at].Content.Text()
	if err := in.parse(); err != nil {
		return in, err
	}
	if n := len(in.unparsed); n > 0 {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/retry/%d", in.seed, n)
		in.seed = int64(h.Sum64() >> 1)
	}
	if !in.critique {
		in.unparsed = nil
	}
	return in, nil
}

// parse reads the prompt, the thoughts, the band and the kind from the
// instruction text, rendered from a built-in template of either version
// (a user's own template cannot be read back: the simulated worker then
// answers 400, saying so).
func (in *instruction) parse() error {
	loc := promptRe.FindStringSubmatchIndex(in.text)
	in.prompt = in.text[loc[2]:loc[3]]
	rest := in.text[:loc[0]] + in.text[loc[1]:]
	var other []string
	inList := false
	for line := range strings.Lines(rest) {
		t, bullet := strings.CutPrefix(strings.TrimSpace(line), "- ")
		switch {
		case bullet && inList:
			in.thoughts = append(in.thoughts, strings.TrimSpace(t))
			continue
		case listHeadRe.MatchString(strings.TrimSpace(line)):
			inList = true
		default:
			inList = false
		}
		other = append(other, line)
	}
	text := strings.Join(other, "")
	in.critique = strings.Contains(in.text, "IMPROVED_DESCRIPTION")
	band, regions := 0, 0
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if bands := bandRe.FindAllStringSubmatch(text, -1); len(bands) > 0 {
		m := bands[len(bands)-1]
		band, regions = atoi(m[1]), atoi(m[2])
	} else if m := firstRe.FindStringSubmatch(text); m != nil && !in.critique {
		band, regions = 1, atoi(m[1])
	} else if m := partsRe.FindStringSubmatch(text); m != nil && !in.critique {
		band, regions = len(in.thoughts)+1, atoi(m[1])
	} else if m, l := layersRe.FindStringSubmatch(text), layerRe.FindStringSubmatch(text); m != nil && l != nil && in.critique {
		band, regions = atoi(l[1]), atoi(m[1])
		d := paintedFrom.FindStringSubmatch(text)
		if d == nil {
			return errors.New(`cannot interpret the critique: no "Description layer N was painted from: \"...\"" line`)
		}
		in.thoughts = append(in.thoughts, d[1])
	} else {
		return errors.New(`cannot interpret the instruction: it names no band ("band N of K", "the first of K horizontal sections", "in K horizontal parts" or "layer N" of "K layers"); the simulated worker reads only the built-in templates`)
	}
	if band < 1 || band > regions {
		return fmt.Errorf("cannot interpret the instruction: band %d of %d", band, regions)
	}
	in.band, in.regions = band-1, regions
	return nil
}

// decodeDataURL returns the PNG of a "data:image/png;base64,..." URL.
func decodeDataURL(url string) ([]byte, error) {
	meta, data, ok := strings.Cut(strings.TrimPrefix(url, "data:"), ",")
	if !ok || !strings.HasPrefix(url, "data:") {
		return nil, fmt.Errorf("image URL %.40q: want a data:image/png;base64 URL (the worker fetches nothing)", url)
	}
	if !strings.EqualFold(meta, "image/png;base64") {
		return nil, fmt.Errorf("image URL of type %q: want image/png;base64", meta)
	}
	png, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if png, err = base64.RawStdEncoding.DecodeString(data); err != nil {
			return nil, fmt.Errorf("image URL: %w", err)
		}
	}
	return png, nil
}
