package vlm

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// scripted answers each call with the next of its replies and records
// the requests.
type scripted struct {
	replies []string
	err     error
	reqs    []inference.ViewRequest
}

func (s *scripted) View(_ context.Context, req inference.ViewRequest) (inference.Reply, error) {
	s.reqs = append(s.reqs, req)
	if s.err != nil {
		return inference.Reply{}, s.err
	}
	r := s.replies[min(len(s.reqs)-1, len(s.replies)-1)]
	return inference.Reply{Text: r, Model: "scripted"}, nil
}

func trajectory(prompt string) *schema.Trajectory {
	return &schema.Trajectory{ID: "t1", Prompt: prompt, PromptNormalized: prompt, Seed: 42,
		FinalImage: schema.Image{Bytes: []byte("png"), Path: "t1/final.png"}}
}

func TestJudge(t *testing.T) {
	const prompt = "a green bench and a blue bowl" // 4 questions
	tests := []struct {
		name    string
		cfg     Config
		t       *schema.Trajectory
		replies []string
		want    schema.JudgeResult
		calls   int
	}{
		{"all yes", Config{}, trajectory(prompt), []string{"SCORE: 96\nQ1: yes\nQ2: yes\nQ3: yes\nQ4: yes"},
			schema.JudgeResult{Score: 0.98, Pass: true, Reason: "overall 96/100, 4/4 yes"}, 1},
		{"one no fails", Config{}, trajectory(prompt), []string{"SCORE: 40\nQ1: yes\nQ2: yes\nQ3: yes\nQ4: no"},
			schema.JudgeResult{Score: 0.575, Reason: "overall 40/100, 3/4 yes; no: Is the bowl blue?"}, 1},
		{"own threshold", Config{Threshold: 0.5}, trajectory(prompt), []string{"SCORE: 40\nQ1: yes\nQ2: yes\nQ3: yes\nQ4: no"},
			schema.JudgeResult{Score: 0.575, Pass: true, Reason: "overall 40/100, 3/4 yes; no: Is the bowl blue?"}, 1},
		{"fixed by a correction turn", Config{}, trajectory(prompt),
			[]string{"The image looks great!", "SCORE: 90\nQ1: yes\nQ2: yes\nQ3: no\nQ4: no"},
			schema.JudgeResult{Score: 0.7, Pass: true,
				Reason: "overall 90/100, 2/4 yes; no: Is there a bowl in the image?; Is the bowl blue? (parsed at correction turn 1)"}, 2},
		{"unparseable", Config{}, trajectory(prompt), []string{"SCORE: great\nQ1: yes"},
			schema.JudgeResult{Reason: `unparseable: score not a number; no answer to Q2, Q3, Q4, after 2 answers; last "SCORE: great\nQ1: yes"`}, 2},
		{"unparseable without retries", Config{Retries: -1}, trajectory(prompt), []string{"nothing"},
			schema.JudgeResult{Reason: `unparseable: score missing; no answer to Q1, Q2, Q3, Q4, after 1 answers; last "nothing"`}, 1},
		{"three retries", Config{Retries: 3}, trajectory(prompt), []string{"nothing"},
			schema.JudgeResult{Reason: `unparseable: score missing; no answer to Q1, Q2, Q3, Q4, after 4 answers; last "nothing"`}, 4},
		{"no questions", Config{}, trajectory("the of"), []string{"SCORE: 70"},
			schema.JudgeResult{Score: 0.7, Pass: true, Reason: "overall 70/100, 0/0 yes"}, 1},
		{"no final image", Config{}, &schema.Trajectory{ID: "t2", PromptNormalized: prompt}, nil,
			schema.JudgeResult{Reason: "no final image"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &scripted{replies: tt.replies}
			j, err := New(v, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := j.Judge(context.Background(), tt.t)
			if err != nil {
				t.Fatal(err)
			}
			got.Score = float64(int(got.Score*1e6+0.5)) / 1e6
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if len(v.reqs) != tt.calls {
				t.Fatalf("%d calls, want %d", len(v.reqs), tt.calls)
			}
			for i, req := range v.reqs {
				if len(req.Unparsed) != i || req.Seed != 42 || req.MaxTokens != DefaultMaxTokens || string(req.Image) != "png" ||
					req.Instruction != v.reqs[0].Instruction {
					t.Errorf("call %d: request %+v", i, req)
				}
			}
		})
	}
}

func TestJudgeViewerError(t *testing.T) {
	boom := errors.New("connection refused")
	j, err := New(&scripted{err: boom}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Judge(context.Background(), trajectory("a cat")); !errors.Is(err, boom) || !strings.Contains(err.Error(), "vlm judge t1") {
		t.Errorf("got %v, want an error wrapping %v that names the trajectory", err, boom)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name        string
		v           Viewer
		cfg         Config
		wantErr     bool
		wantVersion string
		wantRef     schema.TemplateRef
	}{
		{"defaults", &scripted{}, Config{}, false, "1", schema.TemplateRef{Role: "judge", ID: "judge", Version: "1", Source: "builtin"}},
		{"template file", &scripted{}, Config{Template: "/t/strict-judge-v2.tmpl", TemplateText: "Judge {{.Prompt}}.\nSCORE: <0-100>\n"}, false,
			"1/strict-judge-v2@439b641088e6", schema.TemplateRef{Role: "judge", ID: "strict-judge", Version: "2", Source: "/t/strict-judge-v2.tmpl"}},
		{"template file with an unknown variable", &scripted{}, Config{Template: "/t/j.tmpl", TemplateText: "Judge {{.Promt}}."}, true, "", schema.TemplateRef{}},
		{"no viewer", nil, Config{}, true, "", schema.TemplateRef{}},
		{"unknown template", &scripted{}, Config{Template: "judge-v9"}, true, "", schema.TemplateRef{}},
		{"bad threshold", &scripted{}, Config{Threshold: 1.5}, true, "", schema.TemplateRef{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := New(tt.v, tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			ref := j.Template()
			if len(ref.SHA256) != 64 {
				t.Errorf("template SHA-256 %q, want 64 hex digits", ref.SHA256)
			}
			ref.SHA256 = ""
			if j.Name() != "vlm" || j.Version() != tt.wantVersion || ref != tt.wantRef || j.Threshold() != DefaultThreshold {
				t.Errorf("got %s@%s %+v threshold %g", j.Name(), j.Version(), j.Template(), j.Threshold())
			}
		})
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		a    Answer
		want float64
	}{
		{Answer{100, []bool{true, true}}, 1},
		{Answer{0, []bool{false, false}}, 0},
		{Answer{50, []bool{true, false}}, 0.5},
		{Answer{80, nil}, 0.8},
		{Answer{-1, []bool{true}}, 0.5},
	}
	for _, tt := range tests {
		if got := Score(tt.a); got != tt.want {
			t.Errorf("Score(%+v) = %g, want %g", tt.a, got, tt.want)
		}
	}
}

// TestInstructionGolden checks the rendered judge-v1 template. Regenerate
// with go test ./filters/vlm -run TestInstructionGolden -update.
func TestInstructionGolden(t *testing.T) {
	j, err := New(&scripted{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range []string{"two red cars on the left of a dog", "the of"} {
		s, err := j.Instruction(p, annotators.Questions(annotators.Parse(p)))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("-- " + p + " --\n" + s + "\n")
	}
	golden := filepath.Join("testdata", "judge-v1.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("instruction differs from %s:\n%s", golden, b.String())
	}
}
