package seeds

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// bom is the UTF-8 byte order mark.
const bom = "\uFEFF"

// Normalize returns s with a leading byte order mark removed, leading and
// trailing white space trimmed (so a trailing CR goes too), and every inner
// run of white space collapsed to one ASCII space. White space is Unicode's
// White_Space property ([unicode.IsSpace]): tabs, CR, LF, NBSP, NEL, the
// U+2000 spaces, U+3000 and so on. Byte order marks among the leading white
// space are dropped as well, which makes Normalize idempotent. Invalid UTF-8
// bytes are kept as they are.
func Normalize(s string) string {
	if isNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	leading := true // in the leading run of spaces and byte order marks
	space := false  // a space is owed before the next non-space
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case unicode.IsSpace(r):
			space = !leading
		case leading && r == '\uFEFF':
			// Drop a byte order mark in the leading run.
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			leading = false
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isNormalized reports whether Normalize(s) == s, without allocating.
func isNormalized(s string) bool {
	prevSpace := true // true at the start: no leading space allowed
	for i, r := range s {
		switch {
		case r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		case r == utf8.RuneError:
			// Invalid bytes are kept; a real U+FFFD is not a space either.
			prevSpace = false
		case unicode.IsSpace(r):
			return false
		case r == '\uFEFF' && i == 0:
			return false
		default:
			prevSpace = false
		}
	}
	return !prevSpace || s == ""
}
