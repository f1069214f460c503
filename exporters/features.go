package exporters

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/twigdata/twig/schema"
)

// A feature is the Hugging Face datasets feature of one column, derived
// from a row type's Go types and parquet tags.
type feature struct {
	name   string
	dtype  string    // a Value dtype ("string", "int32", ...) or "image"; "" for lists and structs
	elem   *feature  // a list's element
	fields []feature // a struct's fields
}

var imageType = reflect.TypeFor[schema.Image]()

// featuresOf returns the features of the columns of a row type.
func featuresOf(t reflect.Type) []feature {
	return featureOf("", t).fields
}

func featureOf(name string, t reflect.Type) feature {
	f := feature{name: name}
	switch {
	case t == imageType:
		f.dtype = "image"
	case t.Kind() == reflect.Pointer:
		return featureOf(name, t.Elem())
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		f.dtype = "binary"
	case t.Kind() == reflect.Slice:
		e := featureOf("", t.Elem())
		f.elem = &e
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			col, ok := columnName(sf)
			if !ok {
				continue
			}
			f.fields = append(f.fields, featureOf(col, sf.Type))
		}
	default:
		f.dtype = valueDtype(t.Kind())
	}
	return f
}

// columnName returns a struct field's parquet column name, and false for a
// field that is not written.
func columnName(sf reflect.StructField) (string, bool) {
	if !sf.IsExported() {
		return "", false
	}
	tag, _, _ := strings.Cut(sf.Tag.Get("parquet"), ",")
	switch tag {
	case "-":
		return "", false
	case "":
		return sf.Name, true
	}
	return tag, true
}

func valueDtype(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return "int32"
	case reflect.Int, reflect.Int64:
		return "int64"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return "uint32"
	case reflect.Uint, reflect.Uint64:
		return "uint64"
	case reflect.Float32:
		return "float32"
	case reflect.Float64:
		return "float64"
	}
	panic(fmt.Sprintf("exporters: no Hugging Face dtype for Go kind %s", k))
}

// hfMetadata returns the value of the "huggingface" key/value metadata of
// a shard of rows of type t: the features of its top-level image columns,
// or "" if it has none. The datasets library reads the rest of the
// features from the Parquet schema; it takes a column's feature from this
// metadata only where the column's Arrow type is exactly that of the
// feature (an Image column must be a nullable struct of nullable bytes and
// path), so naming the image columns alone is enough and stays valid for
// every datasets version.
func hfMetadata(t reflect.Type) string {
	feats := map[string]any{}
	for _, f := range featuresOf(t) {
		if f.dtype == "image" {
			feats[f.name] = map[string]string{"_type": "Image"}
		}
	}
	if len(feats) == 0 {
		return ""
	}
	b, err := json.Marshal(map[string]any{"info": map[string]any{"features": feats}})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return string(b)
}

// writeFeaturesYAML writes features as the YAML list a dataset card's
// dataset_info.features holds, each line indented by indent spaces.
func writeFeaturesYAML(b *strings.Builder, feats []feature, indent int) {
	pad := strings.Repeat(" ", indent)
	for _, f := range feats {
		fmt.Fprintf(b, "%s- name: %s\n", pad, f.name)
		writeFeatureBody(b, f, indent+2)
	}
}

// writeFeatureBody writes the type of a feature: "dtype: x", "struct:" with
// its fields, or "list:" with its element.
func writeFeatureBody(b *strings.Builder, f feature, indent int) {
	pad := strings.Repeat(" ", indent)
	switch {
	case f.dtype != "":
		fmt.Fprintf(b, "%sdtype: %s\n", pad, f.dtype)
	case f.elem != nil && f.elem.dtype != "" && f.elem.dtype != "image":
		fmt.Fprintf(b, "%slist: %s\n", pad, f.elem.dtype)
	case f.elem != nil && f.elem.fields != nil:
		fmt.Fprintf(b, "%slist:\n", pad)
		writeFeaturesYAML(b, f.elem.fields, indent)
	case f.elem != nil:
		fmt.Fprintf(b, "%slist:\n", pad)
		writeFeatureBody(b, *f.elem, indent+2)
	default:
		fmt.Fprintf(b, "%sstruct:\n", pad)
		writeFeaturesYAML(b, f.fields, indent)
	}
}
