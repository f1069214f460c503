package exporters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// Example writes a small version, shards first and the manifest last, and
// verifies it.
func Example() {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil) // cmd opens file://, s3:// or gs:// URLs instead
	defer bucket.Close()
	const prefix = "demo/v1"

	// One accepted trajectory: a single-region 16px image.
	t := schema.Trajectory{
		SchemaVersion:    schema.Version,
		ID:               schema.TrajectoryID("demo", "a red cube", 0),
		Dataset:          "demo",
		Prompt:           "a red cube",
		PromptNormalized: "a red cube",
		Category:         "colour",
		Schedule:         schema.Schedule{K: 1, ImageSize: 16, PatchSize: 16, GridSize: 1, NumTokens: 1, Spans: []schema.Span{{Start: 0, End: 1}}},
		Regions: []schema.Region{{
			Thought:  schema.Thought{Text: "a red cube in the middle"},
			Attempts: []schema.Attempt{{Tokens: []int32{4242}, Decision: schema.DecisionAccept}},
		}},
		FinalTokens: []int32{4242},
		Verdict:     schema.Verdict{Status: schema.StatusAccepted},
	}
	failure := schema.Failure{Stage: "seed", Source: schema.Source{URI: "prompts.txt", Line: 2}, Error: "prompts.txt:2: blank line"}

	m := &exporters.Manifest{
		SchemaVersion: schema.Version,
		TwigVersion:   "v0.1.0",
		Dataset:       "demo",
		Version:       "v1",
		Created:       "2026-01-01T00:00:00Z",
		Config:        json.RawMessage(`{}`),
		Counts:        exporters.Counts{Seeded: 2, Accepted: 1, Failed: 1},
		Shards:        map[string][]exporters.ShardInfo{},
	}
	trajectories, _ := exporters.LayoutOf(exporters.ConfigTrajectories)
	info, err := exporters.WriteShard(ctx, bucket, prefix, trajectories.ShardPath(0, 1), []schema.Trajectory{t}, exporters.ShardOptions{})
	if err != nil {
		log.Fatal(err)
	}
	m.Shards[exporters.ConfigTrajectories] = []exporters.ShardInfo{info}
	fmt.Printf("wrote %s: %d rows\n", info.Path, info.Rows)

	failed, _ := exporters.LayoutOf(exporters.ConfigFailed)
	info, err = exporters.WriteShard(ctx, bucket, prefix, failed.ShardPath(0, 1), []schema.Failure{failure}, exporters.ShardOptions{})
	if err != nil {
		log.Fatal(err)
	}
	m.Shards[exporters.ConfigFailed] = []exporters.ShardInfo{info}
	fmt.Printf("wrote %s: %d rows\n", info.Path, info.Rows)

	m.Stats.Add(&t)
	if err := exporters.WriteCard(ctx, bucket, prefix, m); err != nil {
		log.Fatal(err)
	}
	if err := exporters.WriteManifest(ctx, bucket, prefix, m); err != nil {
		log.Fatal(err)
	}

	ok, _ := exporters.Committed(ctx, bucket, prefix)
	fmt.Println("committed:", ok)
	report, err := exporters.Verify(ctx, bucket, prefix)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report)
	// Output:
	// wrote data/trajectories/train-00000-of-00001.parquet: 1 rows
	// wrote failed/failed-00000-of-00001.parquet: 1 rows
	// committed: true
	// demo/v1: 2 shards, 2 rows, OK
}

// ExamplePlanShards cuts five rows into shards of at most 250 bytes.
func ExamplePlanShards() {
	sizes := []int64{100, 100, 100, 300, 50}
	for _, r := range exporters.PlanShards(sizes, 250) {
		fmt.Println(r.Start, r.End)
	}
	// Output:
	// 0 2
	// 2 3
	// 3 4
	// 4 5
}

func ExampleShardName() {
	fmt.Println(exporters.ShardName("data/trajectories", "train", 0, 42))
	// Output: data/trajectories/train-00000-of-00042.parquet
}
