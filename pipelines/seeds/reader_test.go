package seeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/twigdata/twig/schema"
)

// item is one outcome of Reader.Next: a Line, or a Failure.
type item struct {
	Line    Line
	Failure *schema.Failure
}

func (it item) String() string {
	if f := it.Failure; f != nil {
		return fmt.Sprintf("fail{ID:%q Stage:%q Kind:%q Source:%+v Input:%q RawInput:%q SampleIndex:%d Error:%q}",
			f.ID, f.Stage, f.Kind, f.Source, f.Input, f.RawInput, f.SampleIndex, f.Error)
	}
	l := it.Line
	return fmt.Sprintf("line{Source:%+v Raw:%q Prompt:%q Normalized:%q Category:%q ID:%q}",
		l.Source, l.Raw, l.Prompt, l.Normalized, l.Category, l.ID)
}

// readAll reads r to the end.
func readAll(r *Reader) ([]item, error) {
	var items []item
	for {
		l, f, err := r.Next()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return items, err
		}
		items = append(items, item{l, f})
	}
}

// diffItems reports how got differs from want, item by item.
func diffItems(t *testing.T, got, want []item) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("item %d: missing, want %v", i, want[i])
		case i >= len(want):
			t.Errorf("item %d: got extra %v", i, got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("item %d:\ngot  %v\nwant %v", i, got[i], want[i])
		}
	}
}

// good is a good line of text for the want tables.
func good(uri string, n int64, raw, prompt, norm, category string) item {
	return item{Line: Line{
		Source:     schema.Source{URI: uri, Line: n},
		Raw:        []byte(raw),
		Prompt:     prompt,
		Normalized: norm,
		Category:   category,
	}}
}

// goodID is a good JSONL line with an id.
func goodID(uri string, n int64, raw, prompt, norm, category, id string) item {
	it := good(uri, n, raw, prompt, norm, category)
	it.Line.ID = id
	return it
}

// bad is a failed line for the want tables; reason is the error after
// "uri:n: ".
func bad(uri string, n int64, raw, input, reason string) item {
	return item{Failure: &schema.Failure{
		Stage:    "seed",
		Kind:     schema.FailureInput,
		Source:   schema.Source{URI: uri, Line: n},
		Input:    input,
		RawInput: []byte(raw),
		Error:    fmt.Sprintf("%s:%d: %s", uri, n, reason),
	}}
}

func TestReader(t *testing.T) {
	const (
		txt = "color.txt"
		jl  = "seeds.jsonl"
	)
	tests := []struct {
		name string
		uri  string
		cfg  Config
		in   string
		want []item
	}{
		{name: "empty file", uri: txt, in: "", want: nil},
		{
			name: "one line without newline",
			uri:  txt, in: "a red apple",
			want: []item{good(txt, 1, "a red apple", "a red apple", "a red apple", "colour")},
		},
		{
			name: "final newline ends the last line",
			uri:  txt, in: "a\nb\n",
			want: []item{
				good(txt, 1, "a\n", "a", "a", "colour"),
				good(txt, 2, "b\n", "b", "b", "colour"),
			},
		},
		{
			name: "CRLF",
			uri:  txt, in: "a red apple\r\nb\r\nc",
			want: []item{
				good(txt, 1, "a red apple\r\n", "a red apple", "a red apple", "colour"),
				good(txt, 2, "b\r\n", "b", "b", "colour"),
				good(txt, 3, "c", "c", "c", "colour"),
			},
		},
		{
			name: "BOM on line 1 only is the file's",
			uri:  txt, in: "\uFEFFa red apple\n\uFEFFb\n",
			want: []item{
				good(txt, 1, "\uFEFFa red apple\n", "a red apple", "a red apple", "colour"),
				good(txt, 2, "\uFEFFb\n", "\uFEFFb", "b", "colour"),
			},
		},
		{
			name: "blank lines",
			uri:  txt, in: "a\n\n\r\nb\n\n",
			want: []item{
				good(txt, 1, "a\n", "a", "a", "colour"),
				bad(txt, 2, "\n", "", "empty after normalising"),
				bad(txt, 3, "\r\n", "", "empty after normalising"),
				good(txt, 4, "b\n", "b", "b", "colour"),
				bad(txt, 5, "\n", "", "empty after normalising"),
			},
		},
		{
			name: "whitespace only",
			uri:  txt, in: " \t\u00a0\u3000\u2009\v\f\r\n",
			want: []item{bad(txt, 1, " \t\u00a0\u3000\u2009\v\f\r\n", " \t\u00a0\u3000\u2009\v\f", "empty after normalising")},
		},
		{
			name: "BOM alone",
			uri:  txt, in: "\uFEFF",
			want: []item{bad(txt, 1, "\uFEFF", "", "empty after normalising")},
		},
		{
			name: "whitespace collapses",
			uri:  txt, in: "  a\tred\u00a0\u00a0apple \u3000\r\n",
			want: []item{good(txt, 1, "  a\tred\u00a0\u00a0apple \u3000\r\n", "  a\tred\u00a0\u00a0apple \u3000", "a red apple", "colour")},
		},
		{
			name: "CR at the end of the file is not a terminator",
			uri:  txt, in: "a\r",
			want: []item{good(txt, 1, "a\r", "a\r", "a", "colour")},
		},
		{
			name: "lone CR inside a line is a space",
			uri:  txt, in: "a\rred\r\r\n",
			want: []item{good(txt, 1, "a\rred\r\r\n", "a\rred\r", "a red", "colour")},
		},
		{
			name: "invalid UTF-8",
			uri:  txt, in: "ok\na red\xffapple\r\n",
			want: []item{
				good(txt, 1, "ok\n", "ok", "ok", "colour"),
				bad(txt, 2, "a red\xffapple\r\n", "a red\uFFFDapple", "invalid UTF-8 at byte 6"),
			},
		},
		{
			name: "truncated UTF-8 sequence at the end",
			uri:  txt, in: "caf\xc3",
			want: []item{bad(txt, 1, "caf\xc3", "caf\uFFFD", "invalid UTF-8 at byte 4")},
		},
		{
			name: "invalid UTF-8 after BOM counts from after the BOM",
			uri:  txt, in: "\uFEFF\xc0\x80",
			want: []item{bad(txt, 1, "\uFEFF\xc0\x80", "\uFFFD", "invalid UTF-8 at byte 1")},
		},
		{
			name: "surrogate half encoded in UTF-8 is invalid",
			uri:  txt, in: "a\xed\xa0\x80",
			want: []item{bad(txt, 1, "a\xed\xa0\x80", "a\uFFFD", "invalid UTF-8 at byte 2")},
		},
		{
			name: "NUL",
			uri:  txt, in: "a\x00b\n",
			want: []item{bad(txt, 1, "a\x00b\n", "a\x00b", "NUL byte at byte 2")},
		},
		{
			name: "NUL is reported before invalid UTF-8",
			uri:  txt, in: "\xff\x00",
			want: []item{bad(txt, 1, "\xff\x00", "\uFFFD\x00", "NUL byte at byte 2")},
		},
		{
			name: "UTF-16 file",
			uri:  txt, in: "\xff\xfea\x00\n\x00",
			want: []item{
				bad(txt, 1, "\xff\xfea\x00\n", "\uFFFDa\x00", "UTF-16 byte order mark: seed files must be UTF-8"),
				bad(txt, 2, "\x00", "\x00", "NUL byte at byte 1"),
			},
		},
		{
			name: "prompt too long after normalising",
			uri:  txt, cfg: Config{MaxBytes: 10},
			in: "0123456789\n   01234 \t 5678   \n01234567890\n",
			want: []item{
				good(txt, 1, "0123456789\n", "0123456789", "0123456789", "colour"),
				good(txt, 2, "   01234 \t 5678   \n", "   01234 \t 5678   ", "01234 5678", "colour"),
				bad(txt, 3, "01234567890\n", "01234567890", "prompt too long: 11 bytes after normalising, limit 10"),
			},
		},
		{
			name: "line too long",
			uri:  txt, cfg: Config{MaxLineBytes: 8},
			in: "12345678\r\n123456789\r\nab\xffcdefghij",
			want: []item{
				good(txt, 1, "12345678\r\n", "12345678", "12345678", "colour"),
				bad(txt, 2, "12345678", "12345678", "line too long: 9 bytes, limit 8"),
				bad(txt, 3, "ab\xffcdefg", "ab\uFFFDcdefg", "line too long: 11 bytes, limit 8"),
			},
		},
		{
			name: "category from config",
			uri:  "prompts.txt", cfg: Config{Category: " Non-Spatial "},
			in:   "a man holding a cup",
			want: []item{good("prompts.txt", 1, "a man holding a cup", "a man holding a cup", "a man holding a cup", "non_spatial")},
		},
		{
			name: "config beats file name",
			uri:  txt, cfg: Config{Category: "shape"},
			in:   "x",
			want: []item{good(txt, 1, "x", "x", "x", "shape")},
		},
		{
			name: "unknown category",
			uri:  "prompts.txt", in: "x",
			want: []item{good("prompts.txt", 1, "x", "x", "x", "")},
		},
		{
			name: "JSONL",
			uri:  jl,
			in:   `{"prompt": "a  red apple", "category": "color", "id": "c1", "extra": {"k": [1]}}` + "\n",
			want: []item{goodID(jl, 1, `{"prompt": "a  red apple", "category": "color", "id": "c1", "extra": {"k": [1]}}`+"\n", "a  red apple", "a red apple", "colour", "c1")},
		},
		{
			name: "JSONL with BOM, CRLF and escapes",
			uri:  jl,
			in:   "\uFEFF{\"prompt\": \"caf\\u00e9\\tau lait\\r\\n\"}\r\n",
			want: []item{good(jl, 1, "\uFEFF{\"prompt\": \"caf\\u00e9\\tau lait\\r\\n\"}\r\n", "café\tau lait\r\n", "café au lait", "")},
		},
		{
			name: "JSONL numeric id and null or empty category",
			uri:  jl, cfg: Config{Category: "numeracy"},
			in: `{"prompt": "two cats", "id": 42, "category": null}` + "\n" + `{"prompt": "three dogs", "id": -1.5e3, "category": ""}`,
			want: []item{
				goodID(jl, 1, `{"prompt": "two cats", "id": 42, "category": null}`+"\n", "two cats", "two cats", "numeracy", "42"),
				goodID(jl, 2, `{"prompt": "three dogs", "id": -1.5e3, "category": ""}`, "three dogs", "three dogs", "numeracy", "-1.5e3"),
			},
		},
		{
			name: "JSONL category beats config",
			uri:  "numeracy_val.ndjson", cfg: Config{Category: "shape"},
			in:   `{"prompt": "a cube", "category": "3D-Spatial"}`,
			want: []item{good("numeracy_val.ndjson", 1, `{"prompt": "a cube", "category": "3D-Spatial"}`, "a cube", "a cube", "3d_spatial")},
		},
		{
			name: "JSONL blank and whitespace lines",
			uri:  jl, in: "\n \t\r\n",
			want: []item{
				bad(jl, 1, "\n", "", "empty after normalising"),
				bad(jl, 2, " \t\r\n", " \t", "empty after normalising"),
			},
		},
		{
			name: "JSONL malformed",
			uri:  jl, in: `{"prompt": x}` + "\n" + `{"prompt": "a"` + "\n" + `{"prompt": "a"} junk`,
			want: []item{
				bad(jl, 1, `{"prompt": x}`+"\n", `{"prompt": x}`, "invalid JSON at byte 12: invalid character 'x' looking for beginning of value"),
				bad(jl, 2, `{"prompt": "a"`+"\n", `{"prompt": "a"`, "invalid JSON at byte 14: unexpected end of JSON input"),
				bad(jl, 3, `{"prompt": "a"} junk`, `{"prompt": "a"} junk`, "invalid JSON at byte 17: invalid character 'j' after top-level value"),
			},
		},
		{
			name: "JSONL not an object",
			uri:  jl, in: "[1]\n\"a\"\nnull\n3\ntrue",
			want: []item{
				bad(jl, 1, "[1]\n", "[1]", "want a JSON object, got an array"),
				bad(jl, 2, "\"a\"\n", "\"a\"", "want a JSON object, got a string"),
				bad(jl, 3, "null\n", "null", "want a JSON object, got null"),
				bad(jl, 4, "3\n", "3", "want a JSON object, got a number"),
				bad(jl, 5, "true", "true", "want a JSON object, got a boolean"),
			},
		},
		{
			name: "JSONL missing prompt",
			uri:  jl, in: `{"Prompt": "a", "text": "b"}`,
			want: []item{bad(jl, 1, `{"Prompt": "a", "text": "b"}`, `{"Prompt": "a", "text": "b"}`, `missing "prompt"`)},
		},
		{
			name: "JSONL prompt of the wrong type",
			uri:  jl, in: `{"prompt": 7}` + "\n" + `{"prompt": null}` + "\n" + `{"prompt": ["a"]}` + "\n" + `{"prompt": {}}` + "\n" + `{"prompt": false}`,
			want: []item{
				bad(jl, 1, `{"prompt": 7}`+"\n", `{"prompt": 7}`, `"prompt" is a number, want a string`),
				bad(jl, 2, `{"prompt": null}`+"\n", `{"prompt": null}`, `"prompt" is null, want a string`),
				bad(jl, 3, `{"prompt": ["a"]}`+"\n", `{"prompt": ["a"]}`, `"prompt" is an array, want a string`),
				bad(jl, 4, `{"prompt": {}}`+"\n", `{"prompt": {}}`, `"prompt" is an object, want a string`),
				bad(jl, 5, `{"prompt": false}`, `{"prompt": false}`, `"prompt" is a boolean, want a string`),
			},
		},
		{
			name: "JSONL empty prompt",
			uri:  jl, in: `{"prompt": ""}` + "\n" + `{"prompt": " \t\u00a0"}`,
			want: []item{
				bad(jl, 1, `{"prompt": ""}`+"\n", `{"prompt": ""}`, `"prompt" is empty after normalising`),
				bad(jl, 2, `{"prompt": " \t\u00a0"}`, `{"prompt": " \t\u00a0"}`, `"prompt" is empty after normalising`),
			},
		},
		{
			name: "JSONL escaped NUL",
			uri:  jl, in: `{"prompt": "a\u0000b"}`,
			want: []item{bad(jl, 1, `{"prompt": "a\u0000b"}`, `{"prompt": "a\u0000b"}`, `"prompt" contains a NUL character`)},
		},
		{
			name: "JSONL unknown category",
			uri:  jl, in: `{"prompt": "a cube", "category": "geometry"}`,
			want: []item{bad(jl, 1, `{"prompt": "a cube", "category": "geometry"}`, `{"prompt": "a cube", "category": "geometry"}`,
				`unknown category "geometry" (want one of colour, shape, texture, spatial, 3d_spatial, numeracy, non_spatial, complex, other)`)},
		},
		{
			name: "JSONL category and id of the wrong type",
			uri:  jl, in: `{"prompt": "a", "category": 3}` + "\n" + `{"prompt": "a", "id": {"n": 1}}` + "\n" + `{"prompt": "a", "id": true}`,
			want: []item{
				bad(jl, 1, `{"prompt": "a", "category": 3}`+"\n", `{"prompt": "a", "category": 3}`, `"category" is a number, want a string`),
				bad(jl, 2, `{"prompt": "a", "id": {"n": 1}}`+"\n", `{"prompt": "a", "id": {"n": 1}}`, `"id" is an object, want a string or a number`),
				bad(jl, 3, `{"prompt": "a", "id": true}`, `{"prompt": "a", "id": true}`, `"id" is a boolean, want a string or a number`),
			},
		},
		{
			name: "JSONL invalid UTF-8 fails before JSON",
			uri:  jl, in: "{\"prompt\": \"a\xffb\"}",
			want: []item{bad(jl, 1, "{\"prompt\": \"a\xffb\"}", "{\"prompt\": \"a\uFFFDb\"}", "invalid UTF-8 at byte 14")},
		},
		{
			name: "JSONL prompt too long",
			uri:  jl, cfg: Config{MaxBytes: 5},
			in: `{"prompt": " abcde "}` + "\n" + `{"prompt": "abcdef"}`,
			want: []item{
				good(jl, 1, `{"prompt": " abcde "}`+"\n", " abcde ", "abcde", ""),
				bad(jl, 2, `{"prompt": "abcdef"}`, `{"prompt": "abcdef"}`, "prompt too long: 6 bytes after normalising, limit 5"),
			},
		},
		{
			name: "format from config: JSONL in a .txt",
			uri:  "seeds.txt", cfg: Config{Format: FormatJSONL},
			in:   `{"prompt": "a"}`,
			want: []item{good("seeds.txt", 1, `{"prompt": "a"}`, "a", "a", "")},
		},
		{
			name: "format from config: text in a .jsonl",
			uri:  jl, cfg: Config{Format: FormatText},
			in:   `{"prompt": "a"}`,
			want: []item{good(jl, 1, `{"prompt": "a"}`, `{"prompt": "a"}`, `{"prompt": "a"}`, "")},
		},
		{
			name: "extension is case-insensitive",
			uri:  "SEEDS.JSONL", in: `{"prompt": "a"}`,
			want: []item{good("SEEDS.JSONL", 1, `{"prompt": "a"}`, "a", "a", "")},
		},
	}
	for _, tt := range tests {
		// Read with the default buffer and with a tiny one, so that lines
		// and CRLF terminators are split across buffer refills.
		for _, size := range []int{readerBufSize, 16} {
			t.Run(fmt.Sprintf("%s/buf=%d", tt.name, size), func(t *testing.T) {
				r := newReaderSize(strings.NewReader(tt.in), tt.uri, tt.cfg, size)
				got, err := readAll(r)
				if err != nil {
					t.Fatalf("read: got error %v, want none", err)
				}
				diffItems(t, got, tt.want)
			})
		}
	}
}

func TestReaderLongLine(t *testing.T) {
	long := strings.Repeat("a", 3<<20) // 3 MiB
	tests := []struct {
		name string
		in   string
		want []item
	}{
		{
			name: "LF",
			in:   "before\n" + long + "\nafter",
			want: []item{
				good("x.txt", 1, "before\n", "before", "before", ""),
				bad("x.txt", 2, long[:64<<10], long[:64<<10], "line too long: 3145728 bytes, limit 65536"),
				good("x.txt", 3, "after", "after", "after", ""),
			},
		},
		{
			name: "CRLF, last line",
			in:   "before\r\n" + long + "\r\n",
			want: []item{
				good("x.txt", 1, "before\r\n", "before", "before", ""),
				bad("x.txt", 2, long[:64<<10], long[:64<<10], "line too long: 3145728 bytes, limit 65536"),
			},
		},
		{
			name: "line 1 with BOM",
			in:   "\uFEFF" + long,
			want: []item{bad("x.txt", 1, ("\uFEFF" + long)[:64<<10], long[:64<<10-3], "line too long: 3145731 bytes, limit 65536")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(NewReader(strings.NewReader(tt.in), "x.txt", DefaultConfig()))
			if err != nil {
				t.Fatalf("read: got error %v, want none", err)
			}
			diffItems(t, got, tt.want)
		})
	}
}

// lineSource is an io.Reader of n bytes of 'a' then "\nend\n", made up as
// it is read, so that the test itself holds none of it.
type lineSource struct{ n, off int }

func (s *lineSource) Read(p []byte) (int, error) {
	const tail = "\nend\n"
	if s.off >= s.n+len(tail) {
		return 0, io.EOF
	}
	i := 0
	for ; i < len(p) && s.off < s.n+len(tail); i++ {
		if s.off < s.n {
			p[i] = 'a'
		} else {
			p[i] = tail[s.off-s.n]
		}
		s.off++
	}
	return i, nil
}

func TestReaderHugeLineMemory(t *testing.T) {
	const n = 10 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(&lineSource{n: n}, "huge.txt", DefaultConfig())
	got, err := readAll(r)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("read: got error %v, want none", err)
	}
	if len(got) != 2 || got[0].Failure == nil || got[1].Line.Prompt != "end" {
		t.Fatalf("got %d items, want a failure then the line \"end\"", len(got))
	}
	if want := "huge.txt:1: line too long: 10485760 bytes, limit 65536"; got[0].Failure.Error != want {
		t.Errorf("got error %q, want %q", got[0].Failure.Error, want)
	}
	// The reader keeps at most MaxLineBytes+2 of the line, plus its buffer.
	if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(1<<20); alloc > limit {
		t.Errorf("reading a %d-byte line allocated %d bytes, want at most %d", n, alloc, limit)
	}
}

// errReader returns its data, then err.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReaderIOError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	r := NewReader(&errReader{data: "a\nb", err: errDisk}, "f.txt", Config{})
	got, err := readAll(r)
	diffItems(t, got, []item{good("f.txt", 1, "a\n", "a", "a", "")})
	if !errors.Is(err, errDisk) {
		t.Fatalf("got error %v, want %v", err, errDisk)
	}
	if got, want := err.Error(), "read f.txt: disk on fire"; got != want {
		t.Errorf("got error %q, want %q", got, want)
	}
	if _, _, again := r.Next(); again != err {
		t.Errorf("Next after an error: got %v, want the same error %v", again, err)
	}
}

func TestReaderBadConfig(t *testing.T) {
	r := NewReader(strings.NewReader("a\n"), "f.txt", Config{Category: "geometry"})
	_, f, err := r.Next()
	want := `read f.txt: seeds config: unknown category "geometry" (want one of colour, shape, texture, spatial, 3d_spatial, numeracy, non_spatial, complex, other)`
	if err == nil || err.Error() != want || f != nil {
		t.Errorf("got failure %v, error %v; want no failure and error %q", f, err, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" for no error
	}{
		{"zero", Config{}, ""},
		{"default", DefaultConfig(), ""},
		{"everything", Config{MaxBytes: 10, MaxLineBytes: 100, Category: "color", Format: FormatJSONL}, ""},
		{"negative MaxBytes", Config{MaxBytes: -1}, "seeds config: MaxBytes is -1, want 0 (default) or more"},
		{"negative MaxLineBytes", Config{MaxLineBytes: -1}, "seeds config: MaxLineBytes is -1, want 0 (default) or more"},
		{"unknown category", Config{Category: "colours"}, `seeds config: unknown category "colours" (want one of colour, shape, texture, spatial, 3d_spatial, numeracy, non_spatial, complex, other)`},
		{"unknown format", Config{Format: "csv"}, `seeds config: unknown format "csv" (want "text", "jsonl" or empty)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := tt.cfg.Validate(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name              string
		cfg               Config
		maxBytes, maxLine int
	}{
		{"zero", Config{}, 2000, 64 << 10},
		{"default", DefaultConfig(), 2000, 64 << 10},
		{"large MaxBytes", Config{MaxBytes: 10000}, 10000, 160000},
		{"explicit", Config{MaxBytes: 5, MaxLineBytes: 7}, 5, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.maxBytes(); got != tt.maxBytes {
				t.Errorf("maxBytes: got %d, want %d", got, tt.maxBytes)
			}
			if got := tt.cfg.maxLineBytes(); got != tt.maxLine {
				t.Errorf("maxLineBytes: got %d, want %d", got, tt.maxLine)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	ctx := context.Background()
	lines, fails, err := ReadFile(ctx, "../../testdata/seeds/dir/a.txt", Config{})
	if err != nil {
		t.Fatalf("ReadFile: got error %v, want none", err)
	}
	want := []Line{{
		Source:     schema.Source{URI: "../../testdata/seeds/dir/a.txt", Line: 1},
		Raw:        []byte("a red apple\n"),
		Prompt:     "a red apple",
		Normalized: "a red apple",
	}}
	if !reflect.DeepEqual(lines, want) || len(fails) != 0 {
		t.Errorf("got %+v and failures %+v, want %+v and none", lines, fails, want)
	}

	var re *ReadError
	if _, _, err := ReadFile(ctx, "../../testdata/seeds/nope.txt", Config{}); !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &re) || re.Path != "../../testdata/seeds/nope.txt" {
		t.Errorf("missing file: got error %v, want a *ReadError of the file wrapping %v", err, fs.ErrNotExist)
	}
	if _, _, err := ReadFile(ctx, "../../testdata/seeds/dir/a.txt", Config{Format: "csv"}); err == nil {
		t.Errorf("bad config: got no error, want one")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := ReadFile(cancelled, "../../testdata/seeds/dir/a.txt", Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got error %v, want %v", err, context.Canceled)
	}
}
