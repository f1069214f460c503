package inference

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/twigdata/twig/schema"
)

// Parse-failure policies: what the loop does with an attempt whose critique
// could not be parsed after Config.CritiqueRetries retries.
const (
	// OnParseFailureKeep keeps the attempt and marks the region parse_failed.
	OnParseFailureKeep = "keep"
	// OnParseFailureRepaint treats the attempt as scoring below the threshold.
	OnParseFailureRepaint = "repaint"
	// OnParseFailureFail fails the whole trajectory.
	OnParseFailureFail = "fail"
	// OnParseFailureAccept accepts the attempt as if it had passed, as
	// the reference code does (it reads a missing score or description as
	// a perfect score). With CritiqueRetries 0 no second call is made:
	// that pair reproduces the paper. The critique's Parse still records
	// the failure, so the reflection judge sees it.
	OnParseFailureAccept = "accept"
)

// Config holds every knob of the loop (twig-method.md section 6). The zero
// value is not useful; start from DefaultConfig, whose values reproduce the
// reference code.
type Config struct {
	// K is the number of regions: horizontal bands of whole token rows.
	K int `json:"k"`
	// BandRows optionally gives each band's height in token rows; it must
	// have K entries summing to the grid size. Empty means equal bands,
	// the last taking any remainder.
	BandRows []int `json:"band_rows,omitempty"`
	// ImageSize and PatchSize give the token grid: (ImageSize/PatchSize)^2 tokens.
	ImageSize int `json:"image_size"`
	PatchSize int `json:"patch_size"`

	// Image-token sampling.
	CFG         float64 `json:"cfg"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        float64 `json:"top_p"`

	// Reasoner decoding: temperature 0 is greedy, as in the reference code.
	ReasonTemperature float64 `json:"reason_temperature"`
	ReasonMaxTokens   int     `json:"reason_max_tokens"`

	// Theta is the acceptance threshold and Comparator the rule (">=" as in
	// the reference code, or ">"): accept iff score Comparator Theta.
	Theta      int    `json:"theta"`
	Comparator string `json:"comparator"`
	// MaxRepaints bounds repaints per region (reference: 1). Above 1 it
	// needs CritiqueRepaints: a repaint that is not critiqued is kept, so
	// a second one could never happen.
	MaxRepaints int `json:"max_repaints"`
	// CritiqueRepaints says whether a repaint is critiqued again (reference: no).
	CritiqueRepaints bool `json:"critique_repaints"`
	// CritiqueRetries is how many more critique calls are made when an
	// answer cannot be parsed, before OnParseFailure applies.
	CritiqueRetries int `json:"critique_retries"`
	// OnParseFailure is one of the OnParseFailure* policies.
	OnParseFailure string `json:"on_parse_failure"`
	// PromptInPrefix puts the prompt T before the thoughts in the
	// generation prefix (reference: no).
	PromptInPrefix bool `json:"prompt_in_prefix"`

	// Route is RouteInterleaved (the default) or RouteTeacherImage.
	Route string `json:"route,omitempty"`

	// ThinkTemplate, CritiqueTemplate and DrawTemplate (the teacher-image
	// route's image request) name built-in templates ("think-v2") or
	// template files the user supplied (docs/templates.md).
	ThinkTemplate    string `json:"think_template"`
	CritiqueTemplate string `json:"critique_template"`
	DrawTemplate     string `json:"draw_template,omitempty"`
	// TemplateTexts holds the text of every template given as a file,
	// keyed by its name above. ReadTemplateFiles fills it at start-up, so
	// that workers that cannot see the file render the same words and the
	// config hash changes with them.
	TemplateTexts map[string]string `json:"template_texts,omitempty"`
}

// DefaultConfig returns the reference code's behaviour: K=3 equal bands of
// a 384 px image in 16 px patches (576 tokens), CFG 5.0, temperature 1.0,
// theta 90 with >=, at most one repaint per region, repaints not critiqued,
// T not in the prefix, one critique retry then keep and mark parse_failed.
func DefaultConfig() Config {
	return Config{
		K: 3, ImageSize: 384, PatchSize: 16,
		CFG: 5.0, Temperature: 1.0, TopP: 1.0,
		ReasonTemperature: 0, ReasonMaxTokens: 512,
		Theta: 90, Comparator: ">=",
		MaxRepaints: 1, CritiqueRepaints: false,
		CritiqueRetries: 1, OnParseFailure: OnParseFailureKeep,
		ThinkTemplate: DefaultThinkTemplate, CritiqueTemplate: DefaultCritiqueTemplate, DrawTemplate: DefaultDrawTemplate,
	}
}

// templates lists the configured templates by role.
func (c Config) templates() [][2]string {
	return [][2]string{{RoleThink, c.ThinkTemplate}, {RoleCritique, c.CritiqueTemplate}, {RoleDraw, c.drawTemplate()}}
}

func (c Config) drawTemplate() string {
	if c.DrawTemplate == "" {
		return DefaultDrawTemplate
	}
	return c.DrawTemplate
}

// ReadTemplateFiles reads every configured template that is not built in
// from its file into TemplateTexts, checking each against its role's
// variables, so that a bad template is refused, naming the file and line,
// before any model call. A file that is gone keeps the text already held
// (a configuration taken from a manifest on another machine); texts no
// template uses any more are dropped, so they do not change the hash.
func (c *Config) ReadTemplateFiles() error {
	texts := map[string]string{}
	for _, rt := range c.templates() {
		role, name := rt[0], rt[1]
		if name == "" || Builtin(name) {
			continue
		}
		text, err := ReadTemplateFile(role, name)
		if old, ok := c.TemplateTexts[name]; ok && errors.Is(err, fs.ErrNotExist) {
			if _, err := ParseTemplate(role, name, old, name, SampleData(role)...); err != nil {
				return err
			}
			text, err = old, nil
		}
		if err != nil {
			return err
		}
		texts[name] = text
	}
	c.TemplateTexts = nil
	if len(texts) > 0 {
		c.TemplateTexts = texts
	}
	return nil
}

// Validate reports the first impossible knob, naming it.
func (c Config) Validate() error {
	bad := func(knob string, format string, args ...any) error {
		return fmt.Errorf("config %s: %s", knob, fmt.Sprintf(format, args...))
	}
	switch {
	case c.PatchSize <= 0:
		return bad("patch_size", "%d must be positive", c.PatchSize)
	case c.ImageSize <= 0 || c.ImageSize%c.PatchSize != 0:
		return bad("image_size", "%d must be a positive multiple of patch_size %d", c.ImageSize, c.PatchSize)
	}
	grid := c.ImageSize / c.PatchSize
	switch {
	case c.K <= 0 || c.K > grid:
		return bad("k", "%d must be between 1 and the grid's %d rows", c.K, grid)
	case c.CFG < 0:
		return bad("cfg", "%g must not be negative", c.CFG)
	case c.Temperature < 0:
		return bad("temperature", "%g must not be negative", c.Temperature)
	case c.TopK < 0:
		return bad("top_k", "%d must not be negative", c.TopK)
	case c.TopP < 0 || c.TopP > 1:
		return bad("top_p", "%g must be in [0,1]", c.TopP)
	case c.ReasonTemperature < 0:
		return bad("reason_temperature", "%g must not be negative", c.ReasonTemperature)
	case c.ReasonMaxTokens <= 0:
		return bad("reason_max_tokens", "%d must be positive", c.ReasonMaxTokens)
	case c.Theta < 0 || c.Theta > 100:
		return bad("theta", "%d must be in 0..100", c.Theta)
	case c.Comparator != ">=" && c.Comparator != ">":
		return bad("comparator", "%q must be \">=\" or \">\"", c.Comparator)
	case c.MaxRepaints < 0:
		return bad("max_repaints", "%d must not be negative", c.MaxRepaints)
	case c.MaxRepaints > 1 && !c.CritiqueRepaints:
		return bad("max_repaints", "%d needs critique_repaints (--critique-repaints): a repaint that is not critiqued is kept as it is, so no second repaint could ever happen", c.MaxRepaints)
	case c.CritiqueRetries < 0:
		return bad("critique_retries", "%d must not be negative", c.CritiqueRetries)
	}
	switch c.OnParseFailure {
	case OnParseFailureKeep, OnParseFailureRepaint, OnParseFailureFail, OnParseFailureAccept:
	default:
		return bad("on_parse_failure", "%q must be %q, %q, %q or %q", c.OnParseFailure, OnParseFailureKeep, OnParseFailureRepaint, OnParseFailureFail, OnParseFailureAccept)
	}
	switch c.Route {
	case "", RouteInterleaved, RouteTeacherImage:
	default:
		return bad("route", "%q must be %q or %q", c.Route, RouteInterleaved, RouteTeacherImage)
	}
	if len(c.BandRows) > 0 {
		if len(c.BandRows) != c.K {
			return bad("band_rows", "has %d entries for k=%d", len(c.BandRows), c.K)
		}
		sum := 0
		for i, r := range c.BandRows {
			if r <= 0 {
				return bad("band_rows", "entry %d is %d, must be positive", i, r)
			}
			sum += r
		}
		if sum != grid {
			return bad("band_rows", "sum to %d rows, the grid has %d", sum, grid)
		}
	}
	for _, rt := range c.templates() {
		if _, err := LoadTemplate(rt[0], rt[1], c.TemplateTexts); err != nil {
			return fmt.Errorf("config %s_template: %w", rt[0], err)
		}
	}
	return nil
}

// Schedule returns the canvas geometry and its band spans.
func (c Config) Schedule() schema.Schedule {
	grid := c.ImageSize / c.PatchSize
	rows := c.BandRows
	if len(rows) == 0 {
		rows = EqualBands(grid, c.K)
	}
	s := schema.Schedule{
		K: int32(c.K), ImageSize: int32(c.ImageSize), PatchSize: int32(c.PatchSize),
		GridSize: int32(grid), NumTokens: int32(grid * grid),
	}
	start := 0
	for _, r := range rows {
		s.Spans = append(s.Spans, schema.Span{Start: int32(start), End: int32(start + r*grid)})
		start += r * grid
	}
	return s
}

// EqualBands splits grid rows into k bands of grid/k rows, the last band
// taking the remainder.
func EqualBands(grid, k int) []int {
	rows := make([]int, k)
	for i := range rows {
		rows[i] = grid / k
	}
	rows[k-1] += grid % k
	return rows
}

// accepts applies the acceptance rule.
func (c Config) accepts(score int) bool {
	if c.Comparator == ">" {
		return score > c.Theta
	}
	return score >= c.Theta
}
