package report_test

import (
	"context"
	"fmt"
	"log"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/report"
	"github.com/twigdata/twig/schema"
)

// Example writes the report of a one-sample version. twig audit reads the
// version with report.FromVersion instead and writes to a folder opened
// with fileblob (metadata=skip, so no .attrs files sit beside the pages).
func Example() {
	ctx := context.Background()
	out := memblob.OpenBucket(nil)
	defer out.Close()

	t := schema.Trajectory{
		ID:       schema.TrajectoryID("demo", "a red cube", 0),
		Prompt:   "a red cube",
		Category: "colour",
		Regions: []schema.Region{{
			Thought:  schema.Thought{Text: "a red cube in the middle"},
			Attempts: []schema.Attempt{{Thought: "a red cube in the middle", Decision: schema.DecisionAccept}},
		}},
		Judges:  []schema.JudgeResult{{Name: "clip", Version: "1", Score: 0.12, Reason: "similarity 0.12"}},
		Verdict: schema.Verdict{Status: schema.StatusRejected, Reasons: []string{"clip: similarity 0.12"}},
	}
	in := report.Input{
		Manifest: exporters.Manifest{Dataset: "demo", Version: "v1", Counts: exporters.Counts{Seeded: 1, Rejected: 1}},
		Trajectories: func(ctx context.Context, yield func(*schema.Trajectory) error) error {
			return yield(&t)
		},
	}
	sum, err := report.Write(ctx, out, "audit/demo-v1", in, report.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d samples, %d rejected, %d pages\n", sum.Samples, sum.Rejected, sum.Pages)
	for _, page := range []string{"index.html", "reasons/clip.html", "categories/colour.html", "samples/" + t.ID + ".html"} {
		ok, _ := out.Exists(ctx, "audit/demo-v1/"+page)
		fmt.Println(page, ok)
	}
	// Output:
	// 1 samples, 1 rejected, 6 pages
	// index.html true
	// reasons/clip.html true
	// categories/colour.html true
	// samples/9618298c-7ccb-575d-a020-c8dcb2e08dc3.html true
}
