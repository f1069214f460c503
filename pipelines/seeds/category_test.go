package seeds

import "testing"

func TestParseCategory(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"colour", "colour", true},
		{"color", "colour", true},
		{"Color", "colour", true},
		{" shape ", "shape", true},
		{"3d_spatial", "3d_spatial", true},
		{"3D-Spatial", "3d_spatial", true},
		{"non-spatial", "non_spatial", true},
		{"non spatial", "non_spatial", true},
		{"numeracy", "numeracy", true},
		{"complex", "complex", true},
		{"other", "other", true},
		{"", "", false},
		{"colours", "", false},
		{"spatial3d", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCategory(tt.in)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("ParseCategory(%q): got %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestInferCategory(t *testing.T) {
	tests := []struct {
		uri, want string
	}{
		{"color.txt", "colour"},
		{"colour.txt", "colour"},
		{"prompts/color_val.txt", "colour"},
		{"color_train.jsonl", "colour"},
		{"Color_Val.TXT", "colour"},
		{"shape_val.txt", "shape"},
		{"texture.txt", "texture"},
		{"spatial_val.txt", "spatial"},
		{"3d_spatial.txt", "3d_spatial"},
		{"3d_spatial_train.txt", "3d_spatial"},
		{"3d-spatial_val.txt", "3d_spatial"},
		{"numeracy_val.txt", "numeracy"},
		{"non_spatial_val.txt", "non_spatial"},
		{"non-spatial.txt", "non_spatial"},
		{"complex_val.txt", "complex"},
		{"complex_val_spatial.txt", "complex"},
		{"gs://bucket/t2i/shape_val.txt", "shape"},
		{"/abs/dir.color/prompts.txt", ""},
		{"colors.txt", ""},
		{"colorful.txt", ""},
		{"my_color.txt", ""},
		{"other.txt", ""},
		{"prompts.txt", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			if got := InferCategory(tt.uri); got != tt.want {
				t.Errorf("InferCategory(%q): got %q, want %q", tt.uri, got, tt.want)
			}
		})
	}
}
