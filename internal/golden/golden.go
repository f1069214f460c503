// Package golden compares test output with golden files, the expected
// output checked in under a package's testdata/. Run a package's tests
// with -update to rewrite its golden files from the output, then review
// the diff before committing it.
//
// It registers the -update flag, so a test package that imports it must
// not define its own.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files from the tests' output")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Check compares got with the golden file at path. With -update it writes
// got to path (creating its folder) instead. A difference fails the test
// with both texts, so that the report shows what changed.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run the test with -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("golden %s differs from the output (%d bytes, want %d); run the test with -update and review the diff.\n%s",
			path, len(got), len(want), firstDifference(got, want))
	}
}

// firstDifference describes the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) || (i >= len(g)) != (i >= len(w)) {
			return fmt.Sprintf("first difference at line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "they differ only in the final newline"
}
