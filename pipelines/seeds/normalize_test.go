package seeds

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"already normal", "a red apple", "a red apple"},
		{"trim", "  a red apple \t", "a red apple"},
		{"trailing CR", "a red apple\r", "a red apple"},
		{"CRLF", "a red apple\r\n", "a red apple"},
		{"inner runs", "a  red\t\tapple", "a red apple"},
		{"NBSP and other Unicode spaces", "a\u00a0red\u2003\u3000apple\u202f\u205fpie\u0085x\u1680y", "a red apple pie x y"},
		{"line and paragraph separators", "a\u2028b\u2029c", "a b c"},
		{"vertical tab and form feed", "a\vb\fc", "a b c"},
		{"only spaces", " \t\r\n\u00a0", ""},
		{"BOM", "\uFEFFa red apple", "a red apple"},
		{"BOM after spaces", " \uFEFF a", "a"},
		{"BOMs only", "\uFEFF \uFEFF", ""},
		{"inner BOM is kept", "a\uFEFFb", "a\uFEFFb"},
		{"zero-width space is not white space", "a\u200bb", "a\u200bb"},
		{"case and punctuation are kept", "A Red Apple.", "A Red Apple."},
		{"invalid UTF-8 is kept", " a\xff  b ", "a\xff b"},
		{"U+FFFD is kept", "a \uFFFD b", "a \uFFFD b"},
		{"NUL is kept", "a\x00b", "a\x00b"},
		{"non-ASCII letters", "  café   crème ", "café crème"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q): got %q, want %q", tt.in, got, tt.want)
			}
			if again := Normalize(got); again != got {
				t.Errorf("Normalize(%q): got %q, want it unchanged", got, again)
			}
			if isNormalized(tt.in) != (tt.in == tt.want) {
				t.Errorf("isNormalized(%q): got %v, want %v", tt.in, isNormalized(tt.in), tt.in == tt.want)
			}
		})
	}
}

func TestNormalizeNoAlloc(t *testing.T) {
	s := "a red apple and a green train"
	if n := testing.AllocsPerRun(100, func() { _ = Normalize(s) }); n != 0 {
		t.Errorf("Normalize of a normal string: got %v allocations, want 0", n)
	}
}
