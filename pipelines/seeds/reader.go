package seeds

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/twigdata/twig/schema"
)

// Stage is the Failure.Stage of every failure this package reports.
const Stage = schema.StageSeed

// DefaultMaxBytes is the default for [Config.MaxBytes].
const DefaultMaxBytes = 2000

// minLineBytes is the least default for [Config.MaxLineBytes].
const minLineBytes = 64 << 10

// Format is the format of a seed file.
type Format string

// Seed file formats; see the package documentation.
const (
	FormatText  Format = "text"
	FormatJSONL Format = "jsonl"
)

// Config configures a [Reader]. The zero value is ready to use and is the
// same as [DefaultConfig].
type Config struct {
	// MaxBytes is the longest prompt accepted, in bytes after normalising.
	// Zero means DefaultMaxBytes.
	MaxBytes int
	// MaxLineBytes is the longest line read, in bytes before normalising or
	// decoding, not counting the line terminator; longer lines fail as too
	// long and the Reader keeps only this many bytes of them. Zero means
	// 16 times MaxBytes or 64 KiB, whichever is larger.
	MaxLineBytes int
	// Category is the category of every line whose record names none. It
	// is read by ParseCategory. Empty means inferred from the file name by
	// InferCategory.
	Category string
	// Format is the file's format. Empty means FormatJSONL for names ending
	// in .jsonl or .ndjson, FormatText otherwise.
	Format Format
}

// DefaultConfig returns the default configuration: prompts up to
// DefaultMaxBytes bytes, format and category from the file name.
func DefaultConfig() Config {
	return Config{MaxBytes: DefaultMaxBytes}
}

// Validate reports a configuration that cannot work: a negative limit, an
// unknown category or an unknown format.
func (c Config) Validate() error {
	if c.MaxBytes < 0 {
		return fmt.Errorf("seeds config: MaxBytes is %d, want 0 (default) or more", c.MaxBytes)
	}
	if c.MaxLineBytes < 0 {
		return fmt.Errorf("seeds config: MaxLineBytes is %d, want 0 (default) or more", c.MaxLineBytes)
	}
	if c.Category != "" {
		if _, err := ParseCategory(c.Category); err != nil {
			return fmt.Errorf("seeds config: %w", err)
		}
	}
	switch c.Format {
	case "", FormatText, FormatJSONL:
	default:
		return fmt.Errorf("seeds config: unknown format %q (want %q, %q or empty)", c.Format, FormatText, FormatJSONL)
	}
	return nil
}

// maxBytes returns MaxBytes with its default applied.
func (c Config) maxBytes() int {
	if c.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return c.MaxBytes
}

// maxLineBytes returns MaxLineBytes with its default applied.
func (c Config) maxLineBytes() int {
	if c.MaxLineBytes == 0 {
		return max(16*c.maxBytes(), minLineBytes)
	}
	return c.MaxLineBytes
}

// formatOf returns the format of the file at uri, by its extension.
func formatOf(uri string) Format {
	switch strings.ToLower(path.Ext(uri)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL
	}
	return FormatText
}

// Line is one good line of a seed file.
type Line struct {
	// Source is the file and the 1-based line number.
	Source schema.Source
	// Raw is the line's exact bytes, its terminator ("\n" or "\r\n", none
	// on a final line without one) and, on line 1, a byte order mark
	// included.
	Raw []byte
	// Prompt is the prompt as given: for text, the line without its
	// terminator and byte order mark; for JSONL, the decoded "prompt".
	Prompt string
	// Normalized is Normalize(Prompt): non-empty, valid UTF-8, free of NUL
	// and at most Config.MaxBytes bytes long.
	Normalized string
	// Category is one of schema.Categories, or "" when neither the record,
	// the Config nor the file name says.
	Category string
	// ID is the JSONL record's "id"; empty when it has none.
	ID string
}

// A Reader reads the lines of one seed file.
type Reader struct {
	uri      string
	format   Format
	category string // fallback category: Config.Category or inferred
	maxBytes int
	maxLine  int
	br       *bufio.Reader
	line     int64
	err      error // sticky: a config error, an I/O error or io.EOF
}

// readerBufSize is the size of a Reader's buffer; a line longer than that
// is read in pieces.
const readerBufSize = 64 << 10

// NewReader returns a Reader for the seed file uri, whose content r gives.
// The uri names the file in sources and errors, and chooses the format and
// the category when cfg does not. A cfg that fails Validate makes the
// first Next return the error.
func NewReader(r io.Reader, uri string, cfg Config) *Reader {
	return newReaderSize(r, uri, cfg, readerBufSize)
}

// newReaderSize is NewReader with a buffer of the given size, for tests.
func newReaderSize(r io.Reader, uri string, cfg Config, size int) *Reader {
	rd := &Reader{
		uri:      uri,
		format:   cfg.Format,
		maxBytes: cfg.maxBytes(),
		maxLine:  cfg.maxLineBytes(),
		br:       bufio.NewReaderSize(r, size),
	}
	if err := cfg.Validate(); err != nil {
		rd.err = fmt.Errorf("read %s: %w", uri, err)
		return rd
	}
	if rd.format == "" {
		rd.format = formatOf(uri)
	}
	if cfg.Category != "" {
		rd.category, _ = ParseCategory(cfg.Category)
	} else {
		rd.category = InferCategory(uri)
	}
	return rd
}

// Next returns the next line of the file: a good Line and a nil failure,
// or a zero Line and the failure that explains why the line cannot be
// used. At the end of the file it returns io.EOF. An error reading the
// file is returned wrapped, naming the file; after an error, Next returns
// the same error again.
func (r *Reader) Next() (Line, *schema.Failure, error) {
	if r.err != nil {
		return Line{}, nil, r.err
	}
	raw, size, term, err := r.readLine()
	if err == io.EOF {
		r.err = io.EOF
		return Line{}, nil, io.EOF
	}
	if err != nil {
		r.err = fmt.Errorf("read %s: %w", r.uri, err)
		return Line{}, nil, r.err
	}
	r.line++
	l, f := r.parse(raw, size-int64(term), term)
	return l, f, nil
}

// readLine reads the next line. It returns its first maxLine+2 bytes at
// most (enough for the whole of any line short enough to use), the line's
// full size, the length of its terminator (0, 1 or 2), and io.EOF when no
// line is left.
func (r *Reader) readLine() (raw []byte, size int64, term int, err error) {
	keep := r.maxLine + 2
	var prev byte // the last byte of the previous piece
	for {
		piece, err := r.br.ReadSlice('\n')
		if room := keep - len(raw); room > 0 {
			raw = append(raw, piece[:min(room, len(piece))]...)
		}
		size += int64(len(piece))
		switch err {
		case bufio.ErrBufferFull:
			prev = piece[len(piece)-1]
			continue
		case nil:
			// piece ends with '\n'.
			term = 1
			if n := len(piece); n >= 2 && piece[n-2] == '\r' || n == 1 && prev == '\r' {
				term = 2
			}
			return raw, size, term, nil
		case io.EOF:
			if size == 0 {
				return nil, 0, 0, io.EOF
			}
			return raw, size, 0, nil
		default:
			return nil, size, 0, err
		}
	}
}

// parse turns the raw bytes of the current line into a Line or a Failure.
// content is the line's length without its terminator, term the length of
// the terminator.
func (r *Reader) parse(raw []byte, content int64, term int) (Line, *schema.Failure) {
	if content > int64(r.maxLine) {
		raw = raw[:r.maxLine]
		return Line{}, r.fail(raw, r.stripBOM(raw), "line too long: %d bytes, limit %d", content, r.maxLine)
	}
	text := r.stripBOM(raw[:len(raw)-term])
	if r.line == 1 && (bytes.HasPrefix(text, []byte{0xFF, 0xFE}) || bytes.HasPrefix(text, []byte{0xFE, 0xFF})) {
		return Line{}, r.fail(raw, text, "UTF-16 byte order mark: seed files must be UTF-8")
	}
	if i := bytes.IndexByte(text, 0); i >= 0 {
		return Line{}, r.fail(raw, text, "NUL byte at byte %d", i+1)
	}
	if i := invalidUTF8(text); i >= 0 {
		return Line{}, r.fail(raw, text, "invalid UTF-8 at byte %d", i+1)
	}
	l := Line{
		Source:   r.source(),
		Raw:      raw,
		Category: r.category,
	}
	if r.format == FormatJSONL {
		if Normalize(string(text)) == "" {
			return Line{}, r.fail(raw, text, "empty after normalising")
		}
		if reason := r.decode(text, &l); reason != "" {
			return Line{}, r.fail(raw, text, "%s", reason)
		}
	} else {
		l.Prompt = string(text)
		l.Normalized = Normalize(l.Prompt)
		if l.Normalized == "" {
			return Line{}, r.fail(raw, text, "empty after normalising")
		}
	}
	if n := len(l.Normalized); n > r.maxBytes {
		return Line{}, r.fail(raw, text, "prompt too long: %d bytes after normalising, limit %d", n, r.maxBytes)
	}
	return l, nil
}

// decode decodes a JSONL record into l. It returns why the record cannot
// be used, or "".
func (r *Reader) decode(text []byte, l *Line) string {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(text, &rec); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return fmt.Sprintf("invalid JSON at byte %d: %v", max(syn.Offset, 1), syn)
		case errors.As(err, &typ):
			return fmt.Sprintf("want a JSON object, got %s", kindOf(text))
		}
		return fmt.Sprintf("invalid JSON: %v", err)
	}
	if rec == nil {
		return "want a JSON object, got null"
	}

	v, ok := rec["prompt"]
	if !ok {
		return `missing "prompt"`
	}
	if k := kindOf(v); k != "a string" {
		return fmt.Sprintf(`"prompt" is %s, want a string`, k)
	}
	if err := json.Unmarshal(v, &l.Prompt); err != nil {
		return fmt.Sprintf(`"prompt": %v`, err)
	}
	if i := strings.IndexByte(l.Prompt, 0); i >= 0 {
		return `"prompt" contains a NUL character`
	}
	l.Normalized = Normalize(l.Prompt)
	if l.Normalized == "" {
		return `"prompt" is empty after normalising`
	}

	if v, ok := rec["category"]; ok {
		var c string
		switch k := kindOf(v); k {
		case "null":
		case "a string":
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Sprintf(`"category": %v`, err)
			}
		default:
			return fmt.Sprintf(`"category" is %s, want a string`, k)
		}
		if c != "" {
			cat, err := ParseCategory(c)
			if err != nil {
				return err.Error()
			}
			l.Category = cat
		}
	}

	if v, ok := rec["id"]; ok {
		switch k := kindOf(v); k {
		case "null":
		case "a string":
			if err := json.Unmarshal(v, &l.ID); err != nil {
				return fmt.Sprintf(`"id": %v`, err)
			}
		case "a number":
			l.ID = string(v)
		default:
			return fmt.Sprintf(`"id" is %s, want a string or a number`, k)
		}
	}
	return ""
}

// kindOf names the kind of a valid JSON value, with an article.
func kindOf(v []byte) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// stripBOM removes a byte order mark from the start of line 1.
func (r *Reader) stripBOM(b []byte) []byte {
	if r.line == 1 {
		return bytes.TrimPrefix(b, []byte(bom))
	}
	return b
}

// source returns the Source of the current line.
func (r *Reader) source() schema.Source {
	return schema.Source{URI: r.uri, Line: r.line}
}

// fail returns the Failure of the current line, whose exact bytes are raw
// and whose text (raw without terminator and byte order mark) is text.
func (r *Reader) fail(raw, text []byte, format string, args ...any) *schema.Failure {
	return &schema.Failure{
		Stage:    Stage,
		Kind:     schema.FailureInput,
		Source:   r.source(),
		Input:    strings.ToValidUTF8(string(text), "\uFFFD"),
		RawInput: raw,
		Error:    fmt.Sprintf("%s:%d: ", r.uri, r.line) + fmt.Sprintf(format, args...),
	}
}

// invalidUTF8 returns the index of the first byte of b that is not part of
// a valid UTF-8 sequence, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// ReadError is a seed file that could not be read. Its message is the
// underlying error's, which names the file.
type ReadError struct {
	// Path is the file.
	Path string
	// Err is the error opening or reading it.
	Err error
}

func (e *ReadError) Error() string { return e.Err.Error() }

// Unwrap returns the error opening or reading the file.
func (e *ReadError) Unwrap() error { return e.Err }

// ReadFile reads the local seed file at path: its good lines and its
// failures, in file order. The error is a bad cfg, a [*ReadError] for a
// file that cannot be opened or read, or ctx's error when ctx ends first;
// then no lines are returned.
func ReadFile(ctx context.Context, path string, cfg Config) ([]Line, []schema.Failure, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &ReadError{Path: path, Err: err}
	}
	defer f.Close()
	var (
		lines []Line
		fails []schema.Failure
		r     = NewReader(f, path, cfg)
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		l, fail, err := r.Next()
		switch {
		case err == io.EOF:
			return lines, fails, nil
		case err != nil:
			return nil, nil, &ReadError{Path: path, Err: err}
		case fail != nil:
			fails = append(fails, *fail)
		default:
			lines = append(lines, l)
		}
	}
}
