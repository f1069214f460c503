package inference_test

import (
	"fmt"

	"github.com/twigdata/twig/inference"
)

func ExampleParseCritique() {
	p := inference.ParseCritique("SCORE: 72\nIMPROVED_DESCRIPTION: A green bench stands beside a blue bowl.")
	fmt.Println(p.Score, p.Status)
	fmt.Println(p.Revised)
	// Output:
	// 72 ok
	// A green bench stands beside a blue bowl.
}

func ExampleConfig_Schedule() {
	s := inference.DefaultConfig().Schedule()
	fmt.Println(s.GridSize, s.NumTokens, s.Spans)
	// Output:
	// 24 576 [{0 192} {192 384} {384 576}]
}
