package seeds_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/twigdata/twig/pipelines/seeds"
)

func ExampleReader() {
	// A text file with a byte order mark, CRLF line ends, a blank line,
	// invalid UTF-8 and a repeated prompt.
	in := "\uFEFFa red  apple\r\n\r\na green\xfftrain\r\nA red\tapple\r\na red apple"
	r := seeds.NewReader(strings.NewReader(in), "color_val.txt", seeds.DefaultConfig())
	var lines []seeds.Line
	for {
		line, failure, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if failure != nil {
			fmt.Println("failed:", failure.Error)
			continue
		}
		fmt.Printf("%s:%d %s %q\n", line.Source.URI, line.Source.Line, line.Category, line.Normalized)
		lines = append(lines, line)
	}
	// Two samples of each prompt; line 5 repeats line 1.
	planned, n := seeds.Plan(lines, seeds.PlanConfig{Dataset: "demo", Samples: 2, Seed: 1})
	fmt.Printf("%d prompts, %d duplicate, %d seeds\n", n.Prompts, n.Duplicates, len(planned))
	for _, s := range planned {
		fmt.Printf("line %d sample %d %q\n", s.Source.Line, s.SampleIndex, s.PromptNormalized)
	}
	// Output:
	// color_val.txt:1 colour "a red apple"
	// failed: color_val.txt:2: empty after normalising
	// failed: color_val.txt:3: invalid UTF-8 at byte 8
	// color_val.txt:4 colour "A red apple"
	// color_val.txt:5 colour "a red apple"
	// 2 prompts, 1 duplicate, 4 seeds
	// line 1 sample 0 "a red apple"
	// line 1 sample 1 "a red apple"
	// line 4 sample 0 "A red apple"
	// line 4 sample 1 "A red apple"
}

func ExampleReader_jsonl() {
	in := `{"prompt": "two cats and a dog", "category": "numeracy", "id": 7}
{"prompt": "a cube", "category": "geometry"}
{"text": "no prompt"}
`
	r := seeds.NewReader(strings.NewReader(in), "seeds.jsonl", seeds.Config{})
	for {
		line, failure, err := r.Next()
		if err != nil {
			break // io.EOF here
		}
		if failure != nil {
			fmt.Println("failed:", failure.Error)
			continue
		}
		fmt.Printf("id %s: %s %q\n", line.ID, line.Category, line.Normalized)
	}
	// Output:
	// id 7: numeracy "two cats and a dog"
	// failed: seeds.jsonl:2: unknown category "geometry" (want one of colour, shape, texture, spatial, 3d_spatial, numeracy, non_spatial, complex, other)
	// failed: seeds.jsonl:3: missing "prompt"
}

func ExampleNormalize() {
	fmt.Printf("%q\n", seeds.Normalize("\uFEFF  a red\u00a0\u00a0apple\tand a  green train \r"))
	// Output:
	// "a red apple and a green train"
}

func ExampleInferCategory() {
	for _, name := range []string{"color_val.txt", "3d_spatial_train.txt", "non_spatial.jsonl", "mine.txt"} {
		fmt.Printf("%s: %q\n", name, seeds.InferCategory(name))
	}
	// Output:
	// color_val.txt: "colour"
	// 3d_spatial_train.txt: "3d_spatial"
	// non_spatial.jsonl: "non_spatial"
	// mine.txt: ""
}
