package vlm_test

import (
	"context"
	"fmt"

	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/schema"
)

// Example judges a simulated trajectory with the simulated VLM, the way
// `twig run` does without an API key.
func Example() {
	e, err := inference.New(inference.DefaultConfig(), sim.NewPainter(sim.PainterConfig{}), sim.NewReasoner(sim.ReasonerConfig{}))
	if err != nil {
		panic(err)
	}
	prompt := "a green bench and a blue bowl"
	t, err := e.Run(context.Background(), schema.Seed{ID: "ex", Prompt: prompt, PromptNormalized: prompt, Seed: 1})
	if err != nil {
		panic(err)
	}
	j, err := vlm.New(sim.NewVLM(sim.VLMConfig{}), vlm.Config{})
	if err != nil {
		panic(err)
	}
	r, err := j.Judge(context.Background(), t)
	if err != nil {
		panic(err)
	}
	fmt.Println(j.Name(), j.Version(), r.Pass, r.Score > 0.95)
	// Output:
	// vlm 1 true true
}

func ExampleParseAnswer() {
	a, err := vlm.ParseAnswer("Here you go.\n**SCORE:** 72\nQ1: Yes\nQ2: no, it is green", 2)
	fmt.Println(a.Score, a.Yes, err, vlm.Score(a))
	// Output:
	// 72 [true false] <nil> 0.61
}
