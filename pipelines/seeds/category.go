package seeds

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twigdata/twig/schema"
)

// ParseCategory returns the canonical form of a category name: one of
// [schema.Categories]. It ignores case and surrounding space, reads "-"
// and " " as "_", and takes "color" as an alias of "colour". An unknown or
// empty name is an error that lists the known ones.
func ParseCategory(s string) (string, error) {
	k := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	if k == "color" {
		k = "colour"
	}
	if k == "" || !slices.Contains(schema.Categories, k) {
		return "", fmt.Errorf("unknown category %q (want one of %s)", s, strings.Join(schema.Categories, ", "))
	}
	return k, nil
}

// inferred maps file name stems to categories, as T2I-CompBench names its
// files (color_val.txt, 3d_spatial_train.txt, non_spatial_val.txt,
// complex_val_spatial.txt).
var inferred = []struct{ stem, category string }{
	{"color", "colour"},
	{"colour", "colour"},
	{"shape", "shape"},
	{"texture", "texture"},
	{"spatial", "spatial"},
	{"3d_spatial", "3d_spatial"},
	{"numeracy", "numeracy"},
	{"non_spatial", "non_spatial"},
	{"complex", "complex"},
}

// InferCategory guesses a category from a seed file's base name: the name
// without its extension, lower-cased and with "-" read as "_", must be one
// of the T2I-CompBench stems (color or colour, shape, texture, spatial,
// 3d_spatial, numeracy, non_spatial, complex) or start with one followed
// by "_". So color.txt and color_val.txt are "colour" and
// 3d_spatial_train.txt is "3d_spatial". Anything else gives "".
func InferCategory(uri string) string {
	base := path.Base(filepath.ToSlash(uri))
	name := strings.ToLower(strings.TrimSuffix(base, path.Ext(base)))
	name = strings.ReplaceAll(name, "-", "_")
	for _, c := range inferred {
		if name == c.stem || strings.HasPrefix(name, c.stem+"_") {
			return c.category
		}
	}
	return ""
}
