package inference

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/twigdata/twig/schema"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Template is a versioned prompt template for one role: a built-in one
// shipped under templates/ or one a user supplied from a file.
type Template struct {
	Ref  schema.TemplateRef
	tmpl *template.Template
}

// Built-in template names, as "<id>-<version>.tmpl" files under templates/.
const (
	DefaultThinkTemplate    = "think-v2"
	DefaultCritiqueTemplate = "critique-v2"
	DefaultDrawTemplate     = "draw-v1"
)

// Builtin reports whether name is a built-in template ("think-v2").
func Builtin(name string) bool {
	_, err := templateFS.ReadFile("templates/" + name + ".tmpl")
	return err == nil
}

// BuiltinTemplates lists the built-in template names.
func BuiltinTemplates() []string {
	ents, _ := templateFS.ReadDir("templates")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	return out
}

// ReadTemplateFile reads a user's template file for a role, checks it
// against the role's variables and returns its text. It is what start-up
// calls, before any model call, for every template given as a file.
func ReadTemplateFile(role, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s template: %w", role, err)
	}
	if _, err := ParseTemplate(role, path, string(b), path, SampleData(role)...); err != nil {
		return "", err
	}
	return string(b), nil
}

// LoadTemplate loads the template of a role by name: a built-in template
// ("think-v2"), or, when texts holds the name, the text read from the
// user's file of that name (see ReadTemplateFile). The role is recorded in
// the trajectory's provenance with the id, version, source and SHA-256.
func LoadTemplate(role, name string, texts map[string]string) (*Template, error) {
	if text, ok := texts[name]; ok {
		return ParseTemplate(role, name, text, name, SampleData(role)...)
	}
	src, err := templateFS.ReadFile("templates/" + name + ".tmpl")
	if err != nil {
		return nil, fmt.Errorf("%s template %q: no such built-in template (built-in: %s) and no file read under that name",
			role, name, strings.Join(BuiltinTemplates(), ", "))
	}
	return ParseTemplate(role, name, string(src), "builtin", SampleData(role)...)
}

// ParseTemplate parses text as the template of a role. name identifies it
// in errors and in its reference: a built-in name, or the file's path.
// source is "builtin" or the path. samples are values of the data type the
// template will be executed with, covering its variants (the first band,
// a later band, with and without an image): every field the template
// names must exist in that type, and the template must execute on every
// sample. Errors name the file, line and column.
func ParseTemplate(role, name, text, source string, samples ...any) (*Template, error) {
	label := name
	if source != "builtin" {
		label = source
	}
	t, err := template.New(label).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s template: %w", role, err)
	}
	if t.Tree == nil || t.Tree.Root == nil || len(t.Tree.Root.Nodes) == 0 {
		return nil, fmt.Errorf("%s template %s: the template is empty", role, label)
	}
	if len(samples) > 0 {
		if err := checkFields(t, reflect.TypeOf(samples[0])); err != nil {
			return nil, fmt.Errorf("%s template: %w", role, err)
		}
		for _, d := range samples {
			if err := t.Execute(discard{}, d); err != nil {
				return nil, fmt.Errorf("%s template: %w", role, err)
			}
		}
	}
	sum := sha256.Sum256([]byte(text))
	ref := schema.TemplateRef{Role: role, Source: source, SHA256: hex.EncodeToString(sum[:])}
	ref.ID, ref.Version = templateID(name)
	return &Template{Ref: ref, tmpl: t}, nil
}

var versionRe = regexp.MustCompile(`^(.+)-v(\d+)$`)

// templateID splits a template name into id and version: "think-v2" is
// ("think", "2"); a file "prompts/my-think-v3.tmpl" is ("my-think", "3");
// a file with no version in its name gets version "file".
func templateID(name string) (id, version string) {
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if Builtin(name) {
		base = name
	}
	if m := versionRe.FindStringSubmatch(base); m != nil {
		return m[1], m[2]
	}
	return base, "file"
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// checkFields walks the template and refuses a field of the template's
// data that does not exist in typ (".Promt"), naming the line. Fields
// inside range and with blocks, where the dot changes, are left to the
// sample executions; "$.Field" is checked everywhere.
func checkFields(t *template.Template, typ reflect.Type) error {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct {
		return nil
	}
	var errs []error
	check := func(tree *parse.Tree, n parse.Node, field string) {
		if _, ok := typ.FieldByName(field); ok {
			return
		}
		loc, _ := tree.ErrorContext(n)
		errs = append(errs, fmt.Errorf("%s: unknown variable .%s (known: %s)", loc, field, strings.Join(fieldNames(typ), ", ")))
	}
	for _, tt := range t.Templates() {
		tree := tt.Tree
		if tree == nil {
			continue
		}
		var walk func(n parse.Node, top bool)
		branch := func(b *parse.BranchNode, top, inside bool) {
			walk(b.Pipe, top)
			walk(b.List, inside)
			walk(b.ElseList, top)
		}
		walk = func(n parse.Node, top bool) {
			switch n := n.(type) {
			case *parse.ListNode:
				if n == nil {
					return
				}
				for _, c := range n.Nodes {
					walk(c, top)
				}
			case *parse.ActionNode:
				walk(n.Pipe, top)
			case *parse.PipeNode:
				if n == nil {
					return
				}
				for _, c := range n.Cmds {
					walk(c, top)
				}
			case *parse.CommandNode:
				for _, a := range n.Args {
					walk(a, top)
				}
			case *parse.FieldNode:
				if top {
					check(tree, n, n.Ident[0])
				}
			case *parse.VariableNode:
				if n.Ident[0] == "$" && len(n.Ident) > 1 {
					check(tree, n, n.Ident[1])
				}
			case *parse.ChainNode:
				walk(n.Node, top)
			case *parse.IfNode:
				branch(&n.BranchNode, top, top)
			case *parse.RangeNode: // the dot is an element inside
				branch(&n.BranchNode, top, false)
			case *parse.WithNode: // the dot is the value inside
				branch(&n.BranchNode, top, false)
			case *parse.TemplateNode:
				walk(n.Pipe, top)
			}
		}
		walk(tree.Root, true)
	}
	return errors.Join(errs...)
}

func fieldNames(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		if f.IsExported() {
			out = append(out, "."+f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Execute renders the template with data.
func (t *Template) Execute(data any) (string, error) {
	var b strings.Builder
	if err := t.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s template %s-%s: %w", t.Ref.Role, t.Ref.ID, t.Ref.Version, err)
	}
	return b.String(), nil
}

// ThinkData is what a think template receives (docs/templates.md).
type ThinkData struct {
	// Prompt is the user's text-to-image prompt T.
	Prompt string
	// Previous are the thoughts the earlier bands were painted from (a
	// revised thought where a band was repainted), top band first.
	Previous []string
	// Band is the band to describe, 1-based; Regions is K.
	Band, Regions int
	// BandName names the band for a reader: "top third" for band 1 of 3.
	BandName string
	// First is Band == 1; Last is Band == Regions.
	First, Last bool
	// Image says whether a picture of the canvas so far goes with the
	// request (the interleaved loop after the first band; never on the
	// teacher-image route, whose captions are all written before drawing).
	Image bool
}

// CritiqueData is what a critique template receives (docs/templates.md).
type CritiqueData struct {
	// Prompt is the user's prompt T.
	Prompt string
	// Previous are the thoughts of the earlier bands; Thought the one the
	// band under review was painted from; Thoughts is Previous then Thought.
	Previous []string
	Thought  string
	Thoughts []string
	// Band, Regions, BandName, First and Last as in ThinkData.
	Band, Regions int
	BandName      string
	First, Last   bool
	// Painted says which part of the square canvas holds painted content
	// ("the top third", "the top two thirds", "the whole image"); Unpainted
	// the part still a beige placeholder ("the bottom two thirds"), empty
	// for the last band.
	Painted, Unpainted string
	// Image is always true: the canvas goes with every critique.
	Image bool
}

// DrawData is what a draw template receives on the teacher-image route.
type DrawData struct {
	// Prompt is the user's prompt T.
	Prompt string
	// Parts are the bands' captions, top first.
	Parts []DrawPart
	// Regions is K; Size the side of the square image in pixels.
	Regions, Size int
}

// DrawPart is one band's caption in DrawData.
type DrawPart struct {
	// N is the band, 1-based; Name names it ("top third"); Caption is the
	// teacher's caption for it.
	N       int
	Name    string
	Caption string
}

// SampleData returns values of a role's template data covering its
// variants, for checking a template before any model call.
func SampleData(role string) []any {
	prompt := "a red apple on a wooden table"
	switch role {
	case RoleThink:
		var out []any
		for _, img := range []bool{false, true} {
			for k := range 3 {
				d := thinkData(prompt, []string{"A red apple.", "A wooden table."}[:k], k, 3)
				d.Image = img && k > 0
				out = append(out, d)
			}
		}
		return out
	case RoleCritique:
		var out []any
		for k := range 3 {
			out = append(out, critiqueData(prompt, []string{"A red apple.", "A wooden table.", "A floor."}[:k+1], k, 3))
		}
		return out
	case RoleDraw:
		return []any{drawData(prompt, []string{"A wall.", "A red apple.", "A wooden table."}, 384)}
	}
	return nil
}

// NewThinkData returns the think template data of band k (0-based) of K,
// without a picture (set Image when the canvas goes with the request).
func NewThinkData(prompt string, previous []string, k, K int) ThinkData {
	return thinkData(prompt, previous, k, K)
}

func thinkData(prompt string, previous []string, k, K int) ThinkData {
	return ThinkData{Prompt: prompt, Previous: previous, Band: k + 1, Regions: K, BandName: BandName(k, K),
		First: k == 0, Last: k == K-1}
}

// NewCritiqueData returns the critique template data of band k (0-based)
// of K, where thoughts are the thoughts of bands 0..k.
func NewCritiqueData(prompt string, thoughts []string, k, K int) CritiqueData {
	return critiqueData(prompt, thoughts, k, K)
}

func critiqueData(prompt string, thoughts []string, k, K int) CritiqueData {
	painted, unpainted := CanvasParts(k, K)
	return CritiqueData{Prompt: prompt, Previous: thoughts[:k], Thought: thoughts[k], Thoughts: thoughts,
		Band: k + 1, Regions: K, BandName: BandName(k, K), First: k == 0, Last: k == K-1,
		Painted: painted, Unpainted: unpainted, Image: true}
}

func drawData(prompt string, captions []string, size int) DrawData {
	d := DrawData{Prompt: prompt, Regions: len(captions), Size: size}
	for k, c := range captions {
		d.Parts = append(d.Parts, DrawPart{N: k + 1, Name: BandName(k, len(captions)), Caption: c})
	}
	return d
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

// CanvasParts says which part of the canvas is painted once band k
// (0-based) of K equal bands is, and which part is still placeholder:
// ("the top third", "the bottom two thirds") for k=0, K=3, and
// ("the whole image", "") for the last band.
func CanvasParts(k, K int) (painted, unpainted string) {
	if k >= K-1 {
		return "the whole image", ""
	}
	return "the top " + share(k+1, K), "the bottom " + share(K-k-1, K)
}

// share writes n/K of the image in words: "third", "two thirds", "half".
func share(n, K int) string {
	names := map[int][2]string{2: {"half", "halves"}, 3: {"third", "thirds"}, 4: {"quarter", "quarters"},
		5: {"fifth", "fifths"}, 6: {"sixth", "sixths"}, 8: {"eighth", "eighths"}}
	counts := []string{"", "", "two", "three", "four", "five", "six", "seven"}
	w, ok := names[K]
	if !ok || n >= len(counts) {
		return fmt.Sprintf("%d of %d bands", n, K)
	}
	if n == 1 {
		return w[0]
	}
	return counts[n] + " " + w[1]
}
