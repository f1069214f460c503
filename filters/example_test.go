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
	policy := filters.Policy{Name: "rules", Version: "1", Judges: map[string]filters.Rule{
		"thought_format": {Required: true, Weight: 1},
		"coverage":       {Required: true, Weight: 1},
	}}
	if err := filters.Apply(context.Background(), judges, policy, t); err != nil {
		panic(err)
	}
	fmt.Printf("%s by %s, score %.2f\n", t.Verdict.Status, t.Verdict.Policy, t.Verdict.Score)
	for _, r := range t.Verdict.Reasons {
		fmt.Println(r)
	}
	// Output:
	// rejected by rules@1, score 0.58
	// coverage: not in any thought: green train
	// thought_format: region 2 starts with a section label ("Part 2:")
}

func ExamplePolicy_Decide() {
	// Results recorded earlier; re-deciding needs no model call.
	results := []schema.JudgeResult{
		{Name: "vlm", Score: 0.72, Pass: true, Reason: "4 of 5 questions answered yes"},
		{Name: "coverage", Score: 1, Pass: true},
	}
	p := filters.DefaultPolicy()
	strict := 0.8
	rule := p.Judges["vlm"]
	rule.Threshold = &strict
	p.Judges = map[string]filters.Rule{"vlm": rule, "coverage": p.Judges["coverage"]}
	p.Name, p.Version = "strict", "1"
	fmt.Println(p)
	v := p.Decide(results)
	fmt.Println(v.Status, v.Reasons)
	// Output:
	// strict@1 require=coverage,vlm>=0.8
	// rejected [vlm: score 0.72 < 0.80 (4 of 5 questions answered yes)]
}

func ExampleParsePolicy() {
	_, err := filters.ParsePolicy("policy.json", []byte(`{
  "name": "mine",
  "version": "1",
  "judges": {"vlm": {"required": true, "treshold": 0.7}}
}`))
	fmt.Println(err)
	// Output:
	// policy.json:4:40: unknown key "judges.vlm.treshold" (want one of required, threshold, weight)
}
