package vlm

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		n       int
		want    Answer
		wantErr *ParseError
	}{
		{"plain", "SCORE: 83\nQ1: yes\nQ2: no", 2, Answer{83, []bool{true, false}}, nil},
		{"case and spacing", "  score :83 \r\n q1 :YES\r\nQ 2)   No.", 2, Answer{83, []bool{true, false}}, nil},
		{"markdown and chatter", "Sure! Here is my judgement.\n**SCORE:** 72/100\n- **Q1:** Yes, the apple is red.\n- **Q2**: no - it is green\nThanks.", 2,
			Answer{72, []bool{true, false}}, nil},
		{"equals and decimals", "Overall score = 64.5\nQ1 = y", 1, Answer{64, []bool{true}}, nil},
		{"true and false", "SCORE: 0\nQ1: true\nQ2: false", 2, Answer{0, []bool{true, false}}, nil},
		{"first answer counts", "SCORE: 90\nQ1: no\nQ1: yes", 1, Answer{90, []bool{false}}, nil},
		{"first valid score counts", "SCORE: high\nSCORE: 55\nSCORE: 99", 0, Answer{55, []bool{}}, nil},
		{"extra questions ignored", "SCORE: 50\nQ1: yes\nQ3: no", 1, Answer{50, []bool{true}}, nil},
		{"no questions", "SCORE: 100", 0, Answer{100, []bool{}}, nil},
		{"missing score", "Q1: yes", 1, Answer{-1, []bool{true}}, &ParseError{Score: "missing"}},
		{"word score", "SCORE: good\nQ1: yes", 1, Answer{-1, []bool{true}}, &ParseError{Score: "not a number"}},
		{"negative score", "SCORE: -5\nQ1: yes", 1, Answer{-1, []bool{true}}, &ParseError{Score: "not a number"}},
		{"score out of range", "SCORE: 150\nQ1: yes", 1, Answer{-1, []bool{true}}, &ParseError{Score: "out of range"}},
		{"unanswered", "SCORE: 40\nQ2: no", 3, Answer{40, []bool{false, false, false}}, &ParseError{Missing: []int{1, 3}}},
		{"answer not yes or no", "SCORE: 40\nQ1: maybe", 1, Answer{40, []bool{false}}, &ParseError{Missing: []int{1}}},
		{"empty", "", 1, Answer{-1, []bool{false}}, &ParseError{Score: "missing", Missing: []int{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnswer(tt.raw, tt.n)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseAnswer(%q, %d) = %+v, want %+v", tt.raw, tt.n, got, tt.want)
			}
			var perr *ParseError
			if err != nil {
				perr = err.(*ParseError)
			}
			if !reflect.DeepEqual(perr, tt.wantErr) {
				t.Errorf("ParseAnswer(%q, %d) error = %#v, want %#v", tt.raw, tt.n, perr, tt.wantErr)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	e := &ParseError{Score: "not a number", Missing: []int{2, 4}}
	if got, want := e.Error(), "score not a number; no answer to Q2, Q4"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzParseAnswer checks that the parser never panics, returns one answer
// per question, a score in range exactly when it has no score problem,
// and reads back any well-formed answer embedded in chatter.
func FuzzParseAnswer(f *testing.F) {
	f.Add("SCORE: 83\nQ1: yes\nQ2: no", 2, 83, uint8(1))
	f.Add("**score** = 100/100\n* q1) YES", 1, 0, uint8(0))
	f.Add("SCORE: 999999999999999999999\nQ99999999999999999999: yes", 3, 100, uint8(7))
	f.Add("\xff\xfe SCORE:\tQ1: n", -1, 5, uint8(2))
	f.Fuzz(func(t *testing.T, raw string, n, score int, bits uint8) {
		n = n % 9
		a, err := ParseAnswer(raw, n)
		if len(a.Yes) != max(n, 0) {
			t.Fatalf("%d answers for %d questions", len(a.Yes), n)
		}
		var perr *ParseError
		if err != nil {
			perr = err.(*ParseError)
		}
		if (perr == nil || perr.Score == "") != (a.Score >= 0 && a.Score <= 100) {
			t.Fatalf("score %d with error %v", a.Score, err)
		}
		// A well-formed answer after the fuzzed text's own lines.
		if score < 0 {
			score = -score
		}
		score %= 101
		if n <= 0 || strings.ContainsAny(raw, "\r\n") {
			return
		}
		var b strings.Builder
		b.WriteString("SCORE: ")
		b.WriteString(strconv.Itoa(score))
		want := make([]bool, n)
		for i := range n {
			want[i] = bits>>i&1 == 1
			b.WriteString("\nQ" + strconv.Itoa(i+1) + ": " + map[bool]string{true: "yes", false: "no"}[want[i]])
		}
		got, err := ParseAnswer(b.String()+"\n"+raw, n)
		if err != nil || got.Score != score || !reflect.DeepEqual(got.Yes, want) {
			t.Fatalf("well-formed answer then %q: got %+v, %v; want %d %v", raw, got, err, score, want)
		}
	})
}
