package redact_test

import (
	"fmt"
	"testing"

	"github.com/twigdata/twig/internal/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain endpoint", "https://api.openai.com/v1", "https://api.openai.com/v1"},
		{"password", "https://user:sk-secret@api.example.com/v1", "https://api.example.com/v1"},
		{"token as user", "https://sk-secret@api.example.com/v1", "https://api.example.com/v1"},
		{"secret query", "https://host/v1?api_key=sk-secret&sig=abc", "https://host/v1?api_key=REDACTED&sig=REDACTED"},
		{"bucket settings stay", "s3://bkt/runs?endpoint=http://127.0.0.1:7070&region=us-east-1&use_path_style=true",
			"s3://bkt/runs?endpoint=http%3A%2F%2F127.0.0.1%3A7070&region=us-east-1&use_path_style=true"},
		{"bucket with a credential", "s3://bkt/runs?region=us-east-1&access_key_id=AKIA123&secret=s", "s3://bkt/runs?access_key_id=REDACTED&region=us-east-1&secret=REDACTED"},
		{"fragment", "https://host/v1#token=abc", "https://host/v1"},
		{"local path", "/data/out/twig", "/data/out/twig"},
		{"file URL", "file:///data/out?create_dir=1", "file:///data/out?create_dir=1"},
		{"unparseable", "https://host:bad port/", "<unparseable URL>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact.URL(tc.in); got != tc.want {
				t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func ExampleURL() {
	fmt.Println(redact.URL("https://user:sk-123@llm.example.com/v1?token=abc"))
	// Output: https://llm.example.com/v1?token=REDACTED
}
