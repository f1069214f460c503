package inference

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"

	"github.com/twigdata/twig/schema"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Template is a versioned prompt template for one reasoner role.
type Template struct {
	Ref  schema.TemplateRef
	tmpl *template.Template
}

// Built-in template ids, as "<id>-<version>.tmpl" files under templates/.
const (
	DefaultThinkTemplate    = "think-v1"
	DefaultCritiqueTemplate = "critique-v1"
)

// LoadTemplate loads a built-in template by name ("think-v1"). The role is
// recorded in the trajectory's provenance with the id and version.
func LoadTemplate(role, name string) (*Template, error) {
	src, err := templateFS.ReadFile("templates/" + name + ".tmpl")
	if err != nil {
		return nil, fmt.Errorf("template %q for role %s: no such built-in template", name, role)
	}
	id, version := name, ""
	if i := bytes.LastIndexByte([]byte(name), '-'); i > 0 {
		id, version = name[:i], name[i+1:]
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return &Template{Ref: schema.TemplateRef{Role: role, ID: id, Version: version}, tmpl: t}, nil
}

// templateData is what the templates see.
type templateData struct {
	Prompt   string
	Previous []string
	Thoughts []string
	Band     int // 1-based
	Regions  int
	BandName string
}

func (t *Template) render(d templateData) (string, error) {
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render %s-%s: %w", t.Ref.ID, t.Ref.Version, err)
	}
	return b.String(), nil
}

// BandName names band k (0-based) of K for a reader: "top third" for K=3.
func BandName(k, K int) string {
	switch K {
	case 1:
		return "whole image"
	case 2:
		return [...]string{"top half", "bottom half"}[k]
	case 3:
		return [...]string{"top third", "middle third", "bottom third"}[k]
	}
	return fmt.Sprintf("band %d of %d from the top", k+1, K)
}
