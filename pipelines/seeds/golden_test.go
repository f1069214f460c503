package seeds

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/twigdata/twig/internal/golden"
)

// TestGolden reads the hand-written broken fixtures and compares what the
// reader makes of them with the golden files next to them. Regenerate with
//
//	go test ./pipelines/seeds/ -run TestGolden -update
//
// and review the diff: the golden files are the reader's decision table.
func TestGolden(t *testing.T) {
	for _, name := range []string{"broken.txt", "broken.jsonl"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "seeds", name)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			items, err := readAll(NewReader(f, name, Config{}))
			if err != nil {
				t.Fatalf("read: got error %v, want none", err)
			}
			var b bytes.Buffer
			fmt.Fprintf(&b, "# What pipelines/seeds makes of %s, one line per input line.\n", name)
			fmt.Fprintf(&b, "# Written by: go test ./pipelines/seeds/ -run TestGolden -update\n")
			for _, it := range items {
				if fl := it.Failure; fl != nil {
					fmt.Fprintf(&b, "%d fail error=%q input=%q raw=%q\n", fl.Source.Line, fl.Error, fl.Input, fl.RawInput)
					continue
				}
				l := it.Line
				fmt.Fprintf(&b, "%d ok category=%q id=%q normalized=%q prompt=%q raw=%q\n",
					l.Source.Line, l.Category, l.ID, l.Normalized, l.Prompt, l.Raw)
			}
			golden.Check(t, path+".golden", b.Bytes())
		})
	}
}
