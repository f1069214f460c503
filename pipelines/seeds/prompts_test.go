package seeds

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPromptFiles reads the real T2I-CompBench++ prompt files in
// testdata/prompts, kept exactly as published: every line must read, with
// the right category, however the file ends its lines.
func TestPromptFiles(t *testing.T) {
	const dir = "../../testdata/prompts"
	type file struct {
		lines      int
		category   string
		crlf       bool // lines end with CRLF
		finalLF    bool // the last line ends with a newline
		duplicates int  // lines Plan drops as duplicates within the file
	}
	want := map[string]file{
		"3d_spatial.txt":  {300, "3d_spatial", false, false, 0},
		"color.txt":       {300, "colour", true, false, 5},
		"non_spatial.txt": {300, "non_spatial", true, true, 0},
		"numeracy.txt":    {300, "numeracy", false, false, 0},
		"shape.txt":       {300, "shape", true, true, 0},
		"spatial.txt":     {300, "spatial", true, false, 0},
		"texture.txt":     {300, "texture", true, false, 0},
	}
	paths, err := Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if wantNames := []string{"3d_spatial.txt", "color.txt", "non_spatial.txt", "numeracy.txt", "shape.txt", "spatial.txt", "texture.txt"}; !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("Expand(%q): got %q, want %q", dir, names, wantNames)
	}

	var all []Line
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			w := want[name]
			lines, fails, err := ReadFile(context.Background(), p, Config{})
			if err != nil {
				t.Fatalf("ReadFile: got error %v, want none", err)
			}
			for _, f := range fails {
				t.Errorf("got failure %s", f.Error)
			}
			if len(lines) != w.lines {
				t.Fatalf("got %d lines, want %d", len(lines), w.lines)
			}
			for i, l := range lines {
				if l.Source.Line != int64(i+1) || l.Category != w.category || l.Normalized == "" {
					t.Errorf("line %d: got source %+v, category %q, normalized %q; want line %d, category %q, a prompt",
						i+1, l.Source, l.Category, l.Normalized, i+1, w.category)
				}
				if bytes.ContainsAny([]byte(l.Prompt), "\r\n") {
					t.Errorf("line %d: prompt %q holds its line terminator", i+1, l.Prompt)
				}
				last := i == len(lines)-1
				wantCRLF := w.crlf && (!last || w.finalLF)
				if gotCRLF := bytes.HasSuffix(l.Raw, []byte("\r\n")); gotCRLF != wantCRLF {
					t.Errorf("line %d: raw %q: got CRLF %v, want %v", i+1, l.Raw, gotCRLF, wantCRLF)
				}
			}
			if got := bytes.HasSuffix(lines[len(lines)-1].Raw, []byte("\n")); got != w.finalLF {
				t.Errorf("last line: got final newline %v, want %v", got, w.finalLF)
			}
			if _, n := Plan(lines, PlanConfig{Samples: 1}); n.Duplicates != int64(w.duplicates) {
				t.Errorf("Plan: got %d duplicates, want %d", n.Duplicates, w.duplicates)
			}
			all = append(all, lines...)
		})
	}
	// No prompt repeats across files.
	if _, n := Plan(all, PlanConfig{Samples: 1}); n.Prompts != 2095 || n.Duplicates != 5 {
		t.Errorf("Plan over all files: got %d kept and %d duplicates, want 2095 and 5", n.Prompts, n.Duplicates)
	}
}
