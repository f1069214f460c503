package seeds

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitLines splits data into lines as the package documentation says,
// independently of the Reader: each line keeps its "\n", and the empty
// segment after a final "\n" is not a line.
func splitLines(data []byte) [][]byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"",
		"\n",
		"0\r",
		"a red apple\r\nb\n\n",
		"\uFEFFa\r\n \t\n\xff\x00\r",
		"\xff\xfea\x00\n",
		"0123456789012345678901234567890123456789012345678901234567890123456789\r\nx",
		`{"prompt": "a", "category": "color", "id": 1}` + "\n" + `{"prompt": 7}` + "\n[]\n{\"prompt\": \"\\u0000\"}",
		`{"prompt": "a\u00a0b", "category": "Non-Spatial"}` + "\r\n" + `{"prompt": "x"} y`,
	} {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, jsonl, small bool) {
		uri, cfg, size := "fuzz.txt", Config{}, readerBufSize
		if jsonl {
			uri = "fuzz.jsonl"
		}
		if small {
			// Small limits and buffer, so that long lines and lines split
			// across buffer refills are common.
			cfg, size = Config{MaxBytes: 24, MaxLineBytes: 40}, 16
		}
		maxLine := cfg.maxLineBytes()
		items, err := readAll(newReaderSize(bytes.NewReader(data), uri, cfg, size))
		if err != nil {
			t.Fatalf("read: got error %v, want none", err)
		}
		want := splitLines(data)
		if len(items) != len(want) {
			t.Fatalf("got %d items, want one for each of %d lines", len(items), len(want))
		}
		for i, it := range items {
			n := int64(i + 1)
			seg := want[i]
			text := seg // without its terminator: "\n" or "\r\n"
			if t, ok := bytes.CutSuffix(seg, []byte("\n")); ok {
				text = bytes.TrimSuffix(t, []byte("\r"))
			}
			if f := it.Failure; f != nil {
				if !reflect.DeepEqual(it.Line, Line{}) {
					t.Errorf("line %d: got a Line %v with the failure", n, it)
				}
				if f.Stage != "seed" || f.Source.URI != uri || f.Source.Line != n {
					t.Errorf("line %d: got stage %q source %+v", n, f.Stage, f.Source)
				}
				if prefix := fmt.Sprintf("%s:%d: ", uri, n); !strings.HasPrefix(f.Error, prefix) || len(f.Error) == len(prefix) {
					t.Errorf("line %d: got error %q, want %q and a reason", n, f.Error, prefix)
				}
				if !utf8.ValidString(f.Input) {
					t.Errorf("line %d: got invalid UTF-8 input %q", n, f.Input)
				}
				if len(text) > maxLine {
					if !bytes.Equal(f.RawInput, seg[:maxLine]) {
						t.Errorf("line %d: got raw input %q, want the first %d bytes of %q", n, f.RawInput, maxLine, seg)
					}
				} else if !bytes.Equal(f.RawInput, seg) {
					t.Errorf("line %d: got raw input %q, want %q", n, f.RawInput, seg)
				}
				continue
			}
			l := it.Line
			if l.Source.URI != uri || l.Source.Line != n {
				t.Errorf("line %d: got source %+v", n, l.Source)
			}
			if !bytes.Equal(l.Raw, seg) {
				t.Errorf("line %d: got raw %q, want %q", n, l.Raw, seg)
			}
			if !jsonl {
				if n == 1 {
					text = bytes.TrimPrefix(text, []byte(bom))
				}
				if l.Prompt != string(text) {
					t.Errorf("line %d: got prompt %q, want %q", n, l.Prompt, text)
				}
			}
			switch norm := l.Normalized; {
			case norm != Normalize(l.Prompt):
				t.Errorf("line %d: got normalized %q, want Normalize(%q) = %q", n, norm, l.Prompt, Normalize(l.Prompt))
			case norm == "" || len(norm) > cfg.maxBytes():
				t.Errorf("line %d: got normalized %q of %d bytes, want 1 to %d", n, norm, len(norm), cfg.maxBytes())
			case !utf8.ValidString(norm) || strings.ContainsRune(norm, 0):
				t.Errorf("line %d: got normalized %q, want valid UTF-8 without NUL", n, norm)
			}
			if _, err := ParseCategory(l.Category); l.Category != "" && err != nil {
				t.Errorf("line %d: got category %q: %v", n, l.Category, err)
			}
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", " a  b ", "\uFEFF \uFEFFa", "a\u00a0\u3000b\r", "\xff \xfe", "a\uFEFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		if again := Normalize(got); again != got {
			t.Errorf("Normalize(%q) = %q, and Normalize of that = %q, want it unchanged", s, got, again)
		}
		if isNormalized(got) != true || isNormalized(s) != (s == got) {
			t.Errorf("isNormalized disagrees with Normalize on %q", s)
		}
		if strings.Contains(got, "  ") || strings.TrimSpace(got) != got {
			t.Errorf("Normalize(%q) = %q: double or outer spaces", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Errorf("Normalize(%q) = %q: invalid UTF-8 from valid", s, got)
		}
		if strings.Join(strings.Fields(strings.ReplaceAll(got, "\uFEFF", "")), "") != strings.Join(strings.Fields(strings.ReplaceAll(s, "\uFEFF", "")), "") && utf8.ValidString(s) {
			t.Errorf("Normalize(%q) = %q: changed more than white space and byte order marks", s, got)
		}
	})
}
