package filters_test

import (
	"context"
	"fmt"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

func ExampleApply() {
	t := &schema.Trajectory{ID: "example", PromptNormalized: "a red apple and a green train"}
	for k, thought := range []string{
		"The background is plain and soft.",
		"Part 2: A red apple sits beside a train.",
		"The ground is smooth and even.",
	} {
		t.Regions = append(t.Regions, schema.Region{Index: int32(k), Attempts: []schema.Attempt{{Thought: thought}}})
	}
	judges := []filters.Judge{filters.NewThoughtFormat(), filters.NewCoverage()}
	if err := filters.Apply(context.Background(), judges, filters.DefaultPolicy(judges), t); err != nil {
		panic(err)
	}
	fmt.Println(t.Verdict.Status)
	for _, r := range t.Verdict.Reasons {
		fmt.Println(r)
	}
	// Output:
	// rejected
	// thought_format: region 1 starts with a section label ("Part 2:")
	// coverage: not in any thought: green train
}
