package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
	_ = args
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		got  string
		fail bool
	}{
		{"a\nb\n", false},
		{"a\nc\n", true},
		{"a\nb", true},
		{"a\nb\n\n", true},
	} {
		r := &recorder{TB: t}
		Check(r, path, []byte(tc.got))
		if failed := len(r.errors) > 0; failed != tc.fail {
			t.Errorf("Check(%q): failed=%v, want %v", tc.got, failed, tc.fail)
		}
	}
}

func TestFirstDifference(t *testing.T) {
	for _, tc := range []struct{ got, want, says string }{
		{"a\nb\n", "a\nc\n", "line 2"},
		{"a\n", "a\nb\n", "line 2"},
		{"x", "y", "line 1"},
	} {
		if d := firstDifference([]byte(tc.got), []byte(tc.want)); !strings.Contains(d, tc.says) {
			t.Errorf("firstDifference(%q, %q) = %q, want it to name %s", tc.got, tc.want, d, tc.says)
		}
	}
}
