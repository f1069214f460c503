package seeds

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	const dir = "../../testdata/seeds/dir"
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name     string
		patterns []string
		want     []string
		wantErr  string // the whole error message, when wantIs is nil
		wantIs   error
	}{
		{
			name:     "directory",
			patterns: []string{dir},
			want:     []string{dir + "/a.txt", dir + "/b.jsonl", dir + "/c.ndjson"},
		},
		{
			name:     "directory with a trailing slash",
			patterns: []string{dir + "/"},
			want:     []string{dir + "/a.txt", dir + "/b.jsonl", dir + "/c.ndjson"},
		},
		{
			name:     "file URL",
			patterns: []string{"file://" + filepath.ToSlash(abs)},
			want:     []string{abs + "/a.txt", abs + "/b.jsonl", abs + "/c.ndjson"},
		},
		{
			name:     "glob skips hidden files",
			patterns: []string{dir + "/*.txt"},
			want:     []string{dir + "/a.txt"},
		},
		{
			name:     "glob for hidden files",
			patterns: []string{dir + "/.*.txt"},
			want:     []string{dir + "/.hidden.txt"},
		},
		{
			name:     "glob takes the files it matches and expands directories",
			patterns: []string{dir + "/*"},
			want:     []string{dir + "/a.txt", dir + "/b.jsonl", dir + "/c.ndjson", dir + "/notes.md", dir + "/sub/d.txt"},
		},
		{
			name:     "file named explicitly, whatever its extension",
			patterns: []string{dir + "/notes.md"},
			want:     []string{dir + "/notes.md"},
		},
		{
			name:     "sorted and without repeats",
			patterns: []string{dir + "/c.ndjson", dir, dir + "/./a.txt", dir + "/*.txt"},
			want:     []string{dir + "/a.txt", dir + "/b.jsonl", dir + "/c.ndjson"},
		},
		{
			name:     "glob that matches nothing",
			patterns: []string{dir, dir + "/*.csv"},
			wantErr:  `seed pattern "../../testdata/seeds/dir/*.csv" matches no files`,
		},
		{
			name:     "glob that matches only hidden files",
			patterns: []string{dir + "/*hidden*"},
			wantErr:  `seed pattern "../../testdata/seeds/dir/*hidden*" matches no files`,
		},
		{
			name:     "missing file",
			patterns: []string{dir + "/nope.txt"},
			wantIs:   fs.ErrNotExist,
		},
		{
			name:     "bad glob",
			patterns: []string{dir + "/["},
			wantIs:   filepath.ErrBadPattern,
		},
		{
			name:     "directory without seed files",
			patterns: []string{empty},
			wantErr:  `seed pattern "` + empty + `": directory has no .txt, .jsonl, .ndjson files`,
		},
		{
			name:     "gs URL",
			patterns: []string{"gs://bucket/prompts/*.txt"},
			wantErr:  `seed pattern "gs://bucket/prompts/*.txt": scheme "gs" not supported (use a local path or file://)`,
		},
		{
			name:     "file URL with a host",
			patterns: []string{"file://server/prompts.txt"},
			wantErr:  `seed pattern "file://server/prompts.txt": file URL with host "server" (want file:///path)`,
		},
		{
			name:    "no patterns",
			wantErr: "no seed files given",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.patterns)
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("Expand(%q): got error %v, want %v", tt.patterns, err, tt.wantIs)
				}
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Expand(%q): got error %v, want %q", tt.patterns, err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Expand(%q): got error %v, want none", tt.patterns, err)
			}
			if err != nil {
				if got != nil {
					t.Errorf("Expand(%q): got %q with the error, want nil", tt.patterns, got)
				}
				return
			}
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = filepath.FromSlash(w)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Expand(%q):\ngot  %q\nwant %q", tt.patterns, got, want)
			}
		})
	}
}
