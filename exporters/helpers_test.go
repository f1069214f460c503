package exporters

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/twigdata/twig/schema"
)

// testTrajectory returns a valid trajectory for the n'th prompt of a test
// dataset: K=3 regions over a 384px image with 16px patches (24x24 = 576
// tokens, three spans of 192), one accepted attempt per region. status is
// schema.StatusAccepted or schema.StatusRejected; a rejected trajectory gets
// a reason.
func testTrajectory(n int, status string) schema.Trajectory {
	prompt := fmt.Sprintf("a red cube number %d", n)
	id := schema.TrajectoryID("test", prompt, 0)
	png := testPNG(n)
	const k, span = 3, 192
	tr := schema.Trajectory{
		SchemaVersion:    schema.Version,
		ID:               id,
		Dataset:          "test",
		Split:            "train",
		Prompt:           prompt,
		PromptNormalized: prompt,
		Source:           schema.Source{URI: "builtin:test", Line: int64(n + 1)},
		Category:         schema.Categories[n%len(schema.Categories)],
		SampleIndex:      0,
		Seed:             int64(1000 + n),
		Schedule: schema.Schedule{
			K: k, ImageSize: 384, PatchSize: 16, GridSize: 24, NumTokens: 576,
		},
		FinalImage: schema.Image{Bytes: png, Path: id + ".png"},
		Judges: []schema.JudgeResult{
			{Name: "clip", Version: "1", Score: 0.31, Pass: status == schema.StatusAccepted, Reason: "similarity"},
		},
		Verdict: schema.Verdict{Status: status},
		Provenance: schema.Provenance{
			CodeVersion: "test",
			ConfigHash:  "sha256:0000",
			Models:      []schema.RoleModel{{Role: "painter", Model: "sim"}},
			Templates:   []schema.TemplateRef{{Role: "think", ID: "think", Version: "v1"}},
			Sampling:    schema.Sampling{CFG: 5, Temperature: 1, TopK: 4096, TopP: 1},
			Calls:       []schema.Call{{Role: "generate", Model: "sim", Usage: schema.Usage{OutputTokens: 192}}},
		},
	}
	if status == schema.StatusRejected {
		tr.Verdict.Reasons = []string{"clip: similarity below threshold"}
	}
	for r := 0; r < k; r++ {
		tr.Schedule.Spans = append(tr.Schedule.Spans, schema.Span{Start: int32(r * span), End: int32((r + 1) * span)})
		tokens := make([]int32, span)
		for i := range tokens {
			tokens[i] = int32((n*7 + r*span + i) % 16384)
		}
		tr.FinalTokens = append(tr.FinalTokens, tokens...)
		thought := fmt.Sprintf("region %d of %s", r, prompt)
		tr.Regions = append(tr.Regions, schema.Region{
			Index:   int32(r),
			Thought: schema.Thought{Input: "think", Raw: thought, Text: thought, Usage: schema.Usage{InputTokens: 10, OutputTokens: 5}},
			Attempts: []schema.Attempt{{
				Index:     0,
				Thought:   thought,
				Prefix:    prompt + " " + thought,
				Seed:      int64(n*10 + r),
				Tokens:    tokens,
				Canvas:    schema.Image{Bytes: png, Path: fmt.Sprintf("%s-r%d.png", id, r)},
				Critiqued: true,
				Critique: schema.Critique{
					Input: "critique", Raw: "score: 90", Retries: []string{}, Score: score(90),
					Parse: schema.ParseOK, Threshold: 60, Comparator: ">=",
				},
				Decision: schema.DecisionAccept,
			}},
			Status: "accepted",
		})
	}
	if err := tr.Validate(); err != nil {
		panic(err)
	}
	return tr
}

// score returns a critique score.
func score(v int32) *int32 { return &v }

// testFailure returns the n'th failed input of a test dataset.
func testFailure(n int) schema.Failure {
	return schema.Failure{
		ID:       schema.TrajectoryID("test", fmt.Sprintf("broken prompt %d", n), 0),
		Stage:    "generate",
		Source:   schema.Source{URI: "prompts.txt", Line: int64(n + 1)},
		Input:    fmt.Sprintf("broken prompt %d", n),
		RawInput: []byte(fmt.Sprintf("broken prompt %d", n)),
		Error:    "generate: worker returned 500 after 5 tries",
	}
}

// testPNG returns a small PNG, a different colour for each n.
func testPNG(n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	c := color.RGBA{R: uint8(n * 37), G: uint8(n * 91), B: uint8(n * 13), A: 255}
	for y := range 8 {
		for x := range 8 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
