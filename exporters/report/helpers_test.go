package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"testing"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/report"
	"github.com/twigdata/twig/schema"
)

// testTrajectory returns the n'th trajectory of a small test version: two
// regions over a 32px image, the first repainted once (two attempts), two
// judges (clip and format). A rejected one fails clip.
func testTrajectory(n int, status string) schema.Trajectory {
	prompt := fmt.Sprintf("a red cube number %d", n)
	id := schema.TrajectoryID("test", prompt, 0)
	t := schema.Trajectory{
		SchemaVersion:    schema.Version,
		ID:               id,
		Dataset:          "test",
		Split:            "train",
		Prompt:           prompt,
		PromptNormalized: prompt,
		Source:           schema.Source{URI: "prompts.txt", Line: int64(n + 1)},
		Category:         schema.Categories[n%3],
		Seed:             int64(1000 + n),
		Schedule: schema.Schedule{K: 2, ImageSize: 32, PatchSize: 16, GridSize: 2, NumTokens: 4,
			Spans: []schema.Span{{Start: 0, End: 2}, {Start: 2, End: 4}}},
		FinalImage:  schema.Image{Bytes: testPNG(n, 2), Path: id + ".png"},
		FinalTokens: []int32{1, 2, 3, 4},
		Judges: []schema.JudgeResult{
			{Name: "format", Version: "1", Score: 1, Pass: true, Reason: "one sentence per region"},
			{Name: "clip", Version: "2", Score: 0.3 + 0.05*float64(n%5), Pass: status == schema.StatusAccepted, Reason: fmt.Sprintf("similarity %.2f", 0.3+0.05*float64(n%5))},
		},
		Verdict: schema.Verdict{Status: status, Score: 0.5 + 0.04*float64(n%10), Policy: "default@1"},
		Provenance: schema.Provenance{
			CodeVersion: "test",
			ConfigHash:  "sha256:0000",
			Models:      []schema.RoleModel{{Role: "painter", Model: "sim"}},
			Templates:   []schema.TemplateRef{{Role: "think", ID: "think", Version: "v1"}},
		},
	}
	if status == schema.StatusRejected {
		t.Verdict.Reasons = []string{"clip: " + t.Judges[1].Reason + " below 0.5"}
	}
	critique := func(score int32, revised string) schema.Critique {
		return schema.Critique{Input: "rate the band", Raw: fmt.Sprintf("SCORE: %d\nIMPROVED_DESCRIPTION: %s", score, revised),
			Retries: []string{}, Score: &score, Revised: revised, Parse: schema.ParseOK, Threshold: 60, Comparator: ">="}
	}
	thought0 := fmt.Sprintf("the top half of %s", prompt)
	revised := "a brighter " + thought0
	t.Regions = []schema.Region{
		{
			Index:   0,
			Thought: schema.Thought{Input: "think about the top", Raw: thought0, Text: thought0},
			Attempts: []schema.Attempt{
				{Index: 0, Thought: thought0, Seed: 1, Tokens: []int32{1, 2}, Canvas: schema.Image{Bytes: testPNG(n, 0)},
					Critiqued: true, Critique: critique(40, revised), Decision: schema.DecisionRepaint},
				{Index: 1, Thought: revised, Seed: 2, Tokens: []int32{1, 2}, Canvas: schema.Image{Bytes: testPNG(n, 1)},
					Critiqued: true, Critique: critique(75, ""), Decision: schema.DecisionAccept},
			},
			Status: "repainted",
		},
		{
			Index:   1,
			Thought: schema.Thought{Input: "think about the bottom", Raw: "the table below", Text: "the table below"},
			Attempts: []schema.Attempt{
				{Index: 0, Thought: "the table below", Seed: 3, Tokens: []int32{3, 4}, Canvas: schema.Image{Bytes: testPNG(n, 2)},
					Critiqued: true, Critique: critique(88, ""), Decision: schema.DecisionAccept},
			},
			Status: "accepted",
		},
	}
	if err := t.Validate(); err != nil {
		panic(err)
	}
	return t
}

func testFailure(n int) schema.Failure {
	return schema.Failure{
		Stage:  "seed",
		Source: schema.Source{URI: "prompts.txt", Line: int64(100 + n)},
		Input:  fmt.Sprintf("broken line %d", n),
		Error:  fmt.Sprintf("prompts.txt:%d: not valid UTF-8", 100+n),
	}
}

// testPNG returns a 32x32 grey PNG with step+1 stripes of 8 rows painted
// in a colour that depends on n.
func testPNG(n, step int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			c := color.RGBA{200, 200, 200, 255}
			if y < 8*(step+1) {
				c = color.RGBA{uint8(40 + n*23), uint8(120 + step*40), uint8(200 - n*11), 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// testVersion is a small version: 4 accepted, 3 rejected, 2 failed.
type testVersion struct {
	manifest     exporters.Manifest
	trajectories []schema.Trajectory
	failures     []schema.Failure
}

func newTestVersion() *testVersion {
	v := &testVersion{}
	for n := range 7 {
		status := schema.StatusAccepted
		if n%2 == 1 {
			status = schema.StatusRejected
		}
		v.trajectories = append(v.trajectories, testTrajectory(n, status))
	}
	for n := range 2 {
		v.failures = append(v.failures, testFailure(n))
	}
	v.manifest = exporters.Manifest{
		SchemaVersion: schema.Version,
		TwigVersion:   "v0.0.0-test",
		Dataset:       "test",
		Version:       "v1",
		Created:       "2026-01-02T03:04:05Z",
		Config:        json.RawMessage(`{}`),
		ConfigHash:    "sha256:0000",
		Models:        []schema.RoleModel{{Role: "painter", Model: "sim"}},
		Templates:     []schema.TemplateRef{{Role: "think", ID: "think", Version: "v1"}},
		Counts:        exporters.Counts{Seeded: 9, Accepted: 4, Rejected: 3, Failed: 2},
	}
	for i := range v.trajectories {
		v.manifest.Stats.Add(&v.trajectories[i])
	}
	return v
}

// input returns the version as a report.Input over the slices.
func (v *testVersion) input() report.Input {
	return report.Input{
		Manifest: v.manifest,
		Trajectories: func(ctx context.Context, yield func(*schema.Trajectory) error) error {
			for i := range v.trajectories {
				if err := yield(&v.trajectories[i]); err != nil {
					return err
				}
			}
			return nil
		},
		Failures: func(ctx context.Context, yield func(*schema.Failure) error) error {
			for i := range v.failures {
				if err := yield(&v.failures[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// readAll returns every object under the bucket, by key.
func readAll(t *testing.T, b *blob.Bucket) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[string][]byte{}
	it := b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := b.ReadAll(ctx, obj.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[obj.Key] = data
	}
	return out
}
