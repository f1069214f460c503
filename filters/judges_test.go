package filters_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// critiqued returns a critiqued attempt under the rule score >= 90.
func critiqued(i int32, thought string, score int32, decision string) schema.Attempt {
	return schema.Attempt{Index: i, Thought: thought, Critiqued: true, Decision: decision,
		Critique: schema.Critique{Score: &score, Parse: schema.ParseOK, Threshold: 90, Comparator: ">="}}
}

func regions(attempts ...[]schema.Attempt) *schema.Trajectory {
	t := &schema.Trajectory{ID: "t"}
	for k, a := range attempts {
		t.Regions = append(t.Regions, schema.Region{Index: int32(k), Attempts: a})
	}
	return t
}

func TestReflection(t *testing.T) {
	ok := []schema.Attempt{critiqued(0, "A plain wall.", 95, schema.DecisionAccept)}
	repainted := []schema.Attempt{
		critiqued(0, "A red bowl.", 41, schema.DecisionRepaint),
		{Index: 1, Thought: "A bright red bowl on a table.", Decision: schema.DecisionNotCritiqued},
	}
	parseFailed := critiqued(0, "A red bowl.", -1, schema.DecisionParseFailed)
	parseFailed.Critique.Parse = schema.ParseMissingScore
	strict := critiqued(0, "A red bowl.", 90, schema.DecisionAccept)
	strict.Critique.Comparator = ">"
	tests := []struct {
		name string
		t    *schema.Trajectory
		want schema.JudgeResult
	}{
		{"consistent", regions(ok, repainted, []schema.Attempt{critiqued(0, "Grass.", 50, schema.DecisionKeepLimit)}),
			schema.JudgeResult{Score: 1, Pass: true, Reason: "all 3 critiqued steps consistent"}},
		{"nothing critiqued", regions([]schema.Attempt{{Thought: "x"}}),
			schema.JudgeResult{Score: 1, Pass: true, Reason: "no critiqued step"}},
		{"low score accepted", regions(ok, []schema.Attempt{critiqued(0, "A red bowl.", 41, schema.DecisionAccept)}),
			schema.JudgeResult{Score: 0.5, Reason: "region 2 attempt 1: score 41 fails >= 90 but the decision was accept"}},
		{"comparator is the critique's own", regions([]schema.Attempt{strict}),
			schema.JudgeResult{Score: 0, Reason: "region 1 attempt 1: score 90 fails > 90 but the decision was accept"}},
		{"high score repainted", regions([]schema.Attempt{critiqued(0, "A red bowl.", 95, schema.DecisionRepaint), {Index: 1, Thought: "Other."}}),
			schema.JudgeResult{Score: 0, Reason: "region 1 attempt 1: score 95 meets >= 90 but the decision was repaint"}},
		{"same thought repainted", regions(ok, []schema.Attempt{critiqued(0, "A red bowl.", 41, schema.DecisionRepaint), {Index: 1, Thought: "a red  bowl"}}),
			schema.JudgeResult{Score: 0.5, Reason: "region 2 attempt 1: repainted from the same thought (score 41 fails >= 90)"}},
		{"repaint missing", regions([]schema.Attempt{critiqued(0, "A red bowl.", 41, schema.DecisionRepaint)}),
			schema.JudgeResult{Score: 0, Reason: "region 1 attempt 1: score 41 fails >= 90 and was marked for repaint, but no repaint follows"}},
		{"parse failure", regions(ok, []schema.Attempt{parseFailed}),
			schema.JudgeResult{Score: 0.5, Reason: "region 2 attempt 1: critique could not be parsed (missing_score)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filters.NewReflection().Judge(context.Background(), tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Judge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestImprovement(t *testing.T) {
	tests := []struct {
		name string
		t    *schema.Trajectory
		want schema.JudgeResult
	}{
		{"no repaint", regions([]schema.Attempt{critiqued(0, "a", 95, schema.DecisionAccept)}),
			schema.JudgeResult{Score: 1, Pass: true, Reason: "no critiqued repaint"}},
		{"repaint not critiqued", regions([]schema.Attempt{critiqued(0, "a", 40, schema.DecisionRepaint), {Index: 1, Thought: "b"}}),
			schema.JudgeResult{Score: 1, Pass: true, Reason: "no critiqued repaint"}},
		{"better and worse", regions(
			[]schema.Attempt{critiqued(0, "a", 80, schema.DecisionRepaint), critiqued(1, "b", 75, schema.DecisionKeepLimit)},
			[]schema.Attempt{critiqued(0, "a", 95, schema.DecisionAccept)},
			[]schema.Attempt{critiqued(0, "a", 41, schema.DecisionRepaint), critiqued(1, "b", 78, schema.DecisionAccept)}),
			schema.JudgeResult{Score: 0.5, Reason: "region 1: 80 -> 75 (-5); region 3: 41 -> 78 (+37)"}},
		{"all better", regions([]schema.Attempt{critiqued(0, "a", 41, schema.DecisionRepaint), critiqued(1, "b", 78, schema.DecisionAccept)}),
			schema.JudgeResult{Score: 1, Pass: true, Reason: "region 1: 41 -> 78 (+37)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filters.NewImprovement().Judge(context.Background(), tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Judge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// canvasTrajectory builds a 3-region trajectory on a 4x4 grid of 8-pixel
// patches (32x32 pixels); paint draws the final image.
func canvasTrajectory(t *testing.T, paint func(img *image.RGBA)) *schema.Trajectory {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	paint(img)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	tr := &schema.Trajectory{ID: "t", Schedule: schema.Schedule{K: 3, ImageSize: 32, PatchSize: 8, GridSize: 4, NumTokens: 16,
		Spans: []schema.Span{{Start: 0, End: 4}, {Start: 4, End: 8}, {Start: 8, End: 16}}},
		FinalImage: schema.Image{Bytes: buf.Bytes()}}
	for k, s := range tr.Schedule.Spans {
		var toks []int32
		for i := s.Start; i < s.End; i++ {
			toks = append(toks, 100+i)
		}
		tr.FinalTokens = append(tr.FinalTokens, toks...)
		tr.Regions = append(tr.Regions, schema.Region{Index: int32(k), Attempts: []schema.Attempt{{Tokens: toks}}})
	}
	return tr
}

// noise paints every pixel a different colour.
func noise(img *image.RGBA) {
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), uint8((x * y) % 256), 255})
		}
	}
}

func TestCanvas(t *testing.T) {
	tests := []struct {
		name string
		t    func(t *testing.T) *schema.Trajectory
		want schema.JudgeResult
	}{
		{"fine", func(t *testing.T) *schema.Trajectory { return canvasTrajectory(t, noise) },
			schema.JudgeResult{Score: 1, Pass: true, Reason: "all 3 regions complete and not blank"}},
		{"blank lower band", func(t *testing.T) *schema.Trajectory {
			return canvasTrajectory(t, func(img *image.RGBA) {
				noise(img)
				for y := 16; y < 32; y++ {
					for x := range 32 {
						img.Set(x, y, color.RGBA{230, 220, 200, 255})
					}
				}
			})
		}, schema.JudgeResult{Score: 2.0 / 3, Reason: "region 3: blank band (pixel rows 16-32, std dev 0.00 < 2.00)"}},
		{"placeholder left", func(t *testing.T) *schema.Trajectory {
			tr := canvasTrajectory(t, noise)
			tr.FinalTokens[5], tr.FinalTokens[6] = 0, 0
			tr.Regions[1].Attempts[0].Tokens[1] = 0 // generated as 0: not a placeholder
			return tr
		}, schema.JudgeResult{Score: 2.0 / 3, Reason: "region 2: 1 placeholder tokens left, 1 final tokens differ from the kept attempt"}},
		{"token count", func(t *testing.T) *schema.Trajectory {
			tr := canvasTrajectory(t, noise)
			tr.Schedule.NumTokens = 20
			return tr
		}, schema.JudgeResult{Score: 0, Reason: "final tokens: 16, want 20"}},
		{"image size", func(t *testing.T) *schema.Trajectory {
			tr := canvasTrajectory(t, noise)
			tr.Schedule.ImageSize = 64
			return tr
		}, schema.JudgeResult{Score: 0, Reason: "final image is 32x32, want 64x64"}},
		{"not a png", func(t *testing.T) *schema.Trajectory {
			tr := canvasTrajectory(t, noise)
			tr.FinalImage.Bytes = []byte("GIF89a-not-a-png-at-all")
			return tr
		}, schema.JudgeResult{Score: 0, Reason: "final image does not decode as PNG: png: invalid format: not a PNG file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filters.NewCanvas().Judge(context.Background(), tc.t(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Judge = %+v, want %+v", got, tc.want)
			}
		})
	}
}
