package dedup_test

import (
	"fmt"

	"github.com/twigdata/twig/filters/dedup"
)

func ExampleFind() {
	items := []dedup.Item{
		{ID: "t3", Prompt: "A red bowl, and a blue car."},
		{ID: "t1", Prompt: "a red bowl and a blue car"},
		{ID: "t2", Prompt: "a blue bowl and a red car"},
		{ID: "t4", Prompt: "a red bowl and a blue car"}, // a second sample of t1's prompt
	}
	prompts := dedup.FindPrompts(items, dedup.Options{})
	for _, it := range items {
		r := dedup.PromptResult(prompts, it.ID)
		fmt.Printf("%s %s %v: %s\n", it.ID, r.Name, r.Pass, r.Reason)
	}
	// Output:
	// t3 dedup_prompt false: near-duplicate prompt of t1 (jaccard 1.00)
	// t1 dedup_prompt true: no earlier near-duplicate prompt
	// t2 dedup_prompt true: no earlier near-duplicate prompt
	// t4 dedup_prompt true: no earlier near-duplicate prompt
}
