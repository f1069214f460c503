package sim

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// paintClean runs the TwiG loop on the simulator without mistakes and
// returns the final tokens.
func paintClean(t testing.TB, prompt string) []int32 {
	t.Helper()
	e, err := inference.New(inference.DefaultConfig(), NewPainter(PainterConfig{}), NewReasoner(ReasonerConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.Run(context.Background(), schema.Seed{ID: "t", Prompt: prompt, PromptNormalized: prompt, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return tr.FinalTokens
}

// judgeInstruction writes an instruction with the judge template's line
// shapes (filters/vlm checks the real template against the simulator).
func judgeInstruction(prompt string, questions []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Judge the attached image made from the prompt: %q.\nScore it.\n", prompt)
	for i, q := range questions {
		fmt.Fprintf(&b, "Q%d. %s\n", i+1, q)
	}
	b.WriteString("Answer in exactly this format:\nSCORE: <integer from 0 to 100>\n")
	for i := range questions {
		fmt.Fprintf(&b, "Q%d: <yes or no>\n", i+1)
	}
	return b.String()
}

// edit changes every token of a noun's class.
func edit(tokens []int32, noun string, f func(Token) Token) []int32 {
	out := append([]int32(nil), tokens...)
	for i, id := range out {
		if tk := Split(id); tk.Class == ClassOf(noun) {
			out[i] = f(tk).ID()
		}
	}
	return out
}

var erase = func(Token) Token { return Token{Colour: ToneNeutral} }

// eraseOne removes the first blob of a noun's class in raster order.
func eraseOne(tokens []int32, noun string, grid int) []int32 {
	out := append([]int32(nil), tokens...)
	class := ClassOf(noun)
	var stack []int
	for i, id := range out {
		if Split(id).Class != class {
			continue
		}
		stack = append(stack, i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if Split(out[j]).Class != class {
				continue
			}
			out[j] = Token{Colour: ToneNeutral}.ID()
			x, y := j%grid, j/grid
			for _, n := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if n[0] >= 0 && n[0] < grid && n[1] >= 0 && n[1] < grid {
					stack = append(stack, n[1]*grid+n[0])
				}
			}
		}
		return out
	}
	return out
}

// swap exchanges two nouns' classes, keeping the other fields.
func swap(tokens []int32, a, b string) []int32 {
	out := append([]int32(nil), tokens...)
	ca, cb := ClassOf(a), ClassOf(b)
	for i, id := range out {
		switch tk := Split(id); tk.Class {
		case ca:
			tk.Class = cb
			out[i] = tk.ID()
		case cb:
			tk.Class = ca
			out[i] = tk.ID()
		}
	}
	return out
}

func TestVLMView(t *testing.T) {
	g := DefaultGeometry()
	grid := g.Grid()
	tests := []struct {
		name   string
		prompt string
		plant  func([]int32) []int32
		// want are the answers, in annotators.Questions order.
		want          []bool
		minScore      int
		maxScore      int
		extraQuestion string
		extraWant     bool
	}{
		{name: "clean colour", prompt: "a green bench and a blue bowl",
			want: []bool{true, true, true, true}, minScore: 95, maxScore: 100},
		{name: "missing object", prompt: "a green bench and a blue bowl",
			plant: func(tk []int32) []int32 { return edit(tk, "bowl", erase) },
			want:  []bool{true, true, false, false}, maxScore: 35},
		{name: "wrong colour", prompt: "a green bench and a blue bowl",
			plant: func(tk []int32) []int32 {
				return edit(tk, "bowl", func(x Token) Token { x.Colour = ColourCode("red"); return x })
			},
			want: []bool{true, true, true, false}, minScore: 40, maxScore: 45},
		{name: "clean count", prompt: "three apples", want: []bool{true}, minScore: 95, maxScore: 100},
		{name: "wrong count", prompt: "three apples",
			plant: func(tk []int32) []int32 { return eraseOne(tk, "apple", grid) },
			want:  []bool{false}, maxScore: 45},
		{name: "clean shape", prompt: "an oblong cucumber and a teardrop plum",
			want: []bool{true, true, true, true}, minScore: 95},
		{name: "wrong shape", prompt: "an oblong cucumber and a teardrop plum",
			plant: func(tk []int32) []int32 {
				return edit(tk, "plum", func(x Token) Token { x.Attribute = AttributeCode("round", ""); return x })
			},
			want: []bool{true, true, true, false}, maxScore: 45},
		{name: "clean relation", prompt: "a cat on the left of a dog",
			want: []bool{true, true, true}, minScore: 95},
		{name: "swapped relation", prompt: "a cat on the left of a dog",
			plant: func(tk []int32) []int32 { return swap(tk, "cat", "dog") },
			want:  []bool{true, true, false}, maxScore: 55},
		{name: "above", prompt: "a girl on the top of a frog", want: []bool{true, true, true}, minScore: 95},
		{name: "in front of", prompt: "a dog in front of a desk", want: []bool{true, true, true}, minScore: 95},
		{name: "verb", prompt: "A woman is holding a yoga mat.", want: []bool{true, true, true}, minScore: 95},
		{name: "placeholder left", prompt: "a green bench and a blue bowl",
			plant: func(tk []int32) []int32 {
				out := append([]int32(nil), tk...)
				clear(out[len(out)-grid*4:])
				return out
			},
			want: []bool{true, true, true, true}, maxScore: 40},
		{name: "question not of the prompt", prompt: "a green bench and a blue bowl",
			want: []bool{true, true, true, true}, minScore: 95, maxScore: 100,
			extraQuestion: "Is there a blue bowl?", extraWant: true},
		{name: "question about something absent", prompt: "a green bench and a blue bowl",
			want: []bool{true, true, true, true}, minScore: 95, maxScore: 100,
			extraQuestion: "Is there a purple elephant?", extraWant: false},
	}
	v := NewVLM(VLMConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := paintClean(t, tt.prompt)
			if tt.plant != nil {
				tokens = tt.plant(tokens)
			}
			png, err := g.Render(tokens)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, q := range annotators.Questions(annotators.Parse(tt.prompt)) {
				texts = append(texts, q.Text)
			}
			want := tt.want
			if tt.extraQuestion != "" {
				texts = append(texts, tt.extraQuestion)
				want = append(append([]bool(nil), want...), tt.extraWant)
			}
			req := inference.ViewRequest{Instruction: judgeInstruction(tt.prompt, texts), Image: png, Seed: 3}
			reply, err := v.View(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			score, got := readJudgeReply(t, reply.Text, len(texts))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("answers to %q: got %v, want %v\n%s", texts, got, want, reply.Text)
			}
			if maxScore := max(tt.maxScore, 100*btoi(tt.maxScore == 0)); score < tt.minScore || score > maxScore {
				t.Errorf("score %d, want %d..%d", score, tt.minScore, maxScore)
			}
			again, _ := v.View(context.Background(), req)
			if again != reply {
				t.Errorf("not deterministic: %q then %q", reply.Text, again.Text)
			}
			if reply.Model != DefaultVLMModel || reply.Usage.InputTokens == 0 || reply.Usage.OutputTokens == 0 {
				t.Errorf("reply %+v: want model %s and usage", reply, DefaultVLMModel)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readJudgeReply reads the simulator's well-formed answers.
func readJudgeReply(t *testing.T, text string, n int) (int, []bool) {
	t.Helper()
	lines := strings.Split(text, "\n")
	if len(lines) != n+1 {
		t.Fatalf("answer %q: want %d lines", text, n+1)
	}
	var score int
	if _, err := fmt.Sscanf(lines[0], "SCORE: %d", &score); err != nil {
		t.Fatalf("answer %q: %v", text, err)
	}
	var yes []bool
	for i, l := range lines[1:] {
		switch l {
		case fmt.Sprintf("Q%d: yes", i+1):
			yes = append(yes, true)
		case fmt.Sprintf("Q%d: no", i+1):
			yes = append(yes, false)
		default:
			t.Fatalf("answer line %q", l)
		}
	}
	return score, yes
}

func TestVLMViewErrors(t *testing.T) {
	png, err := DefaultGeometry().Render(make([]int32, DefaultGeometry().Tokens()))
	if err != nil {
		t.Fatal(err)
	}
	v := NewVLM(VLMConfig{})
	tests := []struct {
		name string
		req  inference.ViewRequest
		want error
	}{
		{"no prompt", inference.ViewRequest{Instruction: "Describe the image.", Image: png}, ErrNotJudgeInstruction},
		{"not a canvas", inference.ViewRequest{Instruction: judgeInstruction("a cat", nil), Image: []byte("jpeg")}, ErrNotCanvas},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.View(context.Background(), tt.req); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.View(ctx, inference.ViewRequest{Instruction: judgeInstruction("a cat", nil), Image: png}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}

// TestVLMMalformed checks that a malformed rate of 1 always breaks the
// format, and that each retry (a new Unparsed) draws again.
func TestVLMMalformed(t *testing.T) {
	prompt := "a green bench and a blue bowl"
	png, err := DefaultGeometry().Render(paintClean(t, prompt))
	if err != nil {
		t.Fatal(err)
	}
	v := NewVLM(VLMConfig{MalformedRate: 1})
	req := inference.ViewRequest{Instruction: judgeInstruction(prompt, []string{"Is there a bench in the image?"}), Image: png}
	seen := map[string]bool{}
	for i := range 20 {
		req.Seed = int64(i)
		reply, err := v.View(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(reply.Text, "\n")
		if len(lines) == 2 && strings.HasPrefix(lines[0], "SCORE: ") && strings.Trim(lines[0][7:], "0123456789") == "" && strings.HasPrefix(lines[1], "Q1: ") {
			t.Errorf("seed %d: well-formed answer %q", i, reply.Text)
		}
		seen[reply.Text] = true
	}
	if len(seen) < 3 {
		t.Errorf("only %d different malformed answers", len(seen))
	}
}
