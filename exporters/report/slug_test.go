package report

import "testing"

func TestSlug(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"uuid", "0f8e5d3a-6c1b-5d2e-9a4f-1b2c3d4e5f60", "0f8e5d3a-6c1b-5d2e-9a4f-1b2c3d4e5f60"},
		{"judge", "clip", "clip"},
		{"category", "3d_spatial", "3d_spatial"},
		{"dotted", "judge.v2", "judge.v2"},
		{"upper case", "Clip", "clip-82337888"},
		{"parent", "..", "__-5ec1f7e7"},
		{"traversal", "../x", "___x-d6b96a97"},
		{"slash", "a/b", "a_b-c14cddc0"},
		{"empty", "", "_-e3b0c442"},
		{"leading dot", ".hidden", "_hidden-16924190"},
		{"unicode", "café", "caf__-850f7dc4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := slug(tc.in); got != tc.want {
				t.Errorf("slug(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
