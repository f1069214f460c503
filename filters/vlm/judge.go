package vlm

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/schema"
)

// Viewer is the vision-language model the judge asks: it answers an
// instruction about one image. inference.Viewer has the same method, so
// the simulator (inference/sim.VLM), the teacher client
// (inference/teacher.Client) and their wrappers all serve.
type Viewer interface {
	View(ctx context.Context, req inference.ViewRequest) (inference.Reply, error)
}

// Judge identity and defaults.
const (
	// Name is the judge's name in schema.JudgeResult and policies.
	Name = "vlm"
	// Version is the judge's version with the default template; another
	// template gives Version + "/" + the template name.
	Version = "1"
	// DefaultTemplate is the built-in judge template, templates/judge-v1.tmpl.
	DefaultTemplate = "judge-v1"
	// DefaultThreshold is the score at or above which the judge passes.
	DefaultThreshold = 0.6
	// DefaultRetries is the number of correction turns after an answer
	// that cannot be parsed.
	DefaultRetries = 1
	// DefaultMaxTokens caps the judge's answer.
	DefaultMaxTokens = 512
)

// Config configures a [Judge]. The zero value takes the defaults.
type Config struct {
	// Template is the built-in template name (default DefaultTemplate) or
	// the path of a template file (docs/templates.md lists the variables);
	// TemplateText holds that file's text, which ReadTemplateFile reads at
	// start-up so that workers render the same words without the file.
	Template     string `json:"template,omitempty"`
	TemplateText string `json:"template_text,omitempty"`
	// Threshold is the pass mark for Score, in (0, 1]; zero means
	// DefaultThreshold.
	Threshold float64 `json:"threshold,omitempty"`
	// Retries is the number of correction turns after an unparseable
	// answer: zero means DefaultRetries, a negative value none.
	Retries int `json:"retries,omitempty"`
	// Temperature is the model's sampling temperature (0: greedy).
	Temperature float64 `json:"temperature,omitempty"`
	// MaxTokens caps the answer; zero means DefaultMaxTokens.
	MaxTokens int `json:"max_tokens,omitempty"`
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// Judge scores a trajectory's final image against its prompt with a
// vision-language model: see the package documentation. It implements
// the filters.Judge interface and is safe for concurrent use when its
// Viewer is.
type Judge struct {
	viewer    Viewer
	tmpl      *inference.Template
	ref       schema.TemplateRef
	version   string
	threshold float64
	retries   int
	temp      float64
	maxTokens int
}

// New returns a judge asking v, or an error for a template that is not
// built in or a threshold outside [0, 1].
func New(v Viewer, cfg Config) (*Judge, error) {
	if v == nil {
		return nil, fmt.Errorf("vlm judge: no viewer")
	}
	if cfg.Template == "" {
		cfg.Template = DefaultTemplate
	}
	tmpl, err := cfg.check()
	if err != nil {
		return nil, err
	}
	j := &Judge{viewer: v, tmpl: tmpl, ref: tmpl.Ref, version: Version, threshold: cfg.Threshold, retries: cfg.Retries,
		temp: cfg.Temperature, maxTokens: cfg.MaxTokens}
	switch {
	case tmpl.Ref.Source != "builtin":
		j.version += fmt.Sprintf("/%s-v%s@%.12s", tmpl.Ref.ID, tmpl.Ref.Version, tmpl.Ref.SHA256)
	case cfg.Template != DefaultTemplate:
		j.version += "/" + cfg.Template
	}
	if j.threshold == 0 {
		j.threshold = DefaultThreshold
	}
	switch {
	case j.retries == 0:
		j.retries = DefaultRetries
	case j.retries < 0:
		j.retries = 0
	}
	if j.maxTokens <= 0 {
		j.maxTokens = DefaultMaxTokens
	}
	return j, nil
}

// Validate checks the configuration as New does, without a viewer: the
// template parses and names known variables, and the threshold is a score.
func (c Config) Validate() error {
	if c.Template == "" {
		c.Template = DefaultTemplate
	}
	_, err := c.check()
	return err
}

// check validates c, whose Template is set, and returns its template.
func (c Config) check() (*inference.Template, error) {
	tmpl, err := loadTemplate(c)
	if err != nil {
		return nil, err
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		return nil, fmt.Errorf("vlm judge: threshold %g: want a score in [0, 1]", c.Threshold)
	}
	return tmpl, nil
}

// loadTemplate parses the configured template: the file's text when
// TemplateText is set, else the built-in template of that name.
func loadTemplate(cfg Config) (*inference.Template, error) {
	if cfg.TemplateText != "" {
		t, err := inference.ParseTemplate(inference.RoleJudge, cfg.Template, cfg.TemplateText, cfg.Template, sampleData()...)
		if err != nil {
			return nil, fmt.Errorf("vlm judge: %w", err)
		}
		return t, nil
	}
	src, err := templateFS.ReadFile("templates/" + cfg.Template + ".tmpl")
	if err != nil {
		return nil, fmt.Errorf("vlm judge: template %q: no such built-in template (judge-v1), and no file read under that name", cfg.Template)
	}
	t, err := inference.ParseTemplate(inference.RoleJudge, cfg.Template, string(src), "builtin", sampleData()...)
	if err != nil {
		return nil, fmt.Errorf("vlm judge: %w", err)
	}
	return t, nil
}

// ReadTemplateFile reads the template file that Template names, when it
// is not a built-in template, into TemplateText, and checks it: a template
// that does not parse or uses an unknown variable is refused, naming the
// file and line, before any model call. A file that is gone keeps the text
// already read (a configuration taken from a manifest).
func (c *Config) ReadTemplateFile() error {
	if c.Template == "" {
		return nil
	}
	if _, err := templateFS.ReadFile("templates/" + c.Template + ".tmpl"); err == nil {
		c.TemplateText = ""
		return nil
	}
	b, err := os.ReadFile(c.Template)
	switch {
	case errors.Is(err, fs.ErrNotExist) && c.TemplateText != "":
	case err != nil:
		return fmt.Errorf("vlm judge template: %w", err)
	default:
		c.TemplateText = string(b)
	}
	_, err = loadTemplate(*c)
	return err
}

// sampleData covers the judge template's variants: with and without
// questions.
func sampleData() []any {
	return []any{
		templateData{Prompt: "two red apples on a table", Questions: []numbered{{1, "Are there two apples?"}, {2, "Are the apples red?"}}},
		templateData{Prompt: "a table"},
	}
}

// Name returns "vlm".
func (j *Judge) Name() string { return Name }

// Version returns "1", with the template name appended for a template
// other than the default.
func (j *Judge) Version() string { return j.version }

// Template returns the reference of the template the judge renders, for a
// trajectory's provenance (filters.Prompted).
func (j *Judge) Template() schema.TemplateRef { return j.ref }

// Threshold returns the pass mark.
func (j *Judge) Threshold() float64 { return j.threshold }

type templateData struct {
	Prompt    string
	Questions []numbered
}

type numbered struct {
	N    int
	Text string
}

// Instruction renders the judge template for a prompt and its questions.
func (j *Judge) Instruction(prompt string, questions []annotators.Question) (string, error) {
	d := templateData{Prompt: strings.Join(strings.Fields(prompt), " ")}
	for i, q := range questions {
		d.Questions = append(d.Questions, numbered{N: i + 1, Text: q.Text})
	}
	s, err := j.tmpl.Execute(d)
	if err != nil {
		return "", fmt.Errorf("vlm judge: %w", err)
	}
	return s, nil
}

// Judge asks the viewer about t's final image and scores the answer. A
// trajectory without a final image, and an answer that cannot be parsed
// after the retries, give a failing result with Score 0; only a viewer
// call that fails is an error.
func (j *Judge) Judge(ctx context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	prompt := t.PromptNormalized
	if strings.TrimSpace(prompt) == "" {
		prompt = t.Prompt
	}
	if len(t.FinalImage.Bytes) == 0 {
		return schema.JudgeResult{Reason: "no final image"}, nil
	}
	questions := annotators.Questions(annotators.Parse(prompt))
	instruction, err := j.Instruction(prompt, questions)
	if err != nil {
		return schema.JudgeResult{}, err
	}
	req := inference.ViewRequest{
		Instruction: instruction, Image: t.FinalImage.Bytes,
		Temperature: j.temp, MaxTokens: j.maxTokens, Seed: t.Seed,
	}
	for attempt := 0; ; attempt++ {
		reply, err := j.viewer.View(ctx, req)
		if err != nil {
			return schema.JudgeResult{}, fmt.Errorf("vlm judge %s: view: %w", t.ID, err)
		}
		ans, perr := ParseAnswer(reply.Text, len(questions))
		if perr == nil {
			r := j.score(ans, questions)
			if attempt > 0 {
				r.Reason += fmt.Sprintf(" (parsed at correction turn %d)", attempt)
			}
			return r, nil
		}
		if attempt >= j.retries {
			return schema.JudgeResult{Reason: fmt.Sprintf("unparseable: %v, after %d answers; last %.120q",
				perr, attempt+1, strings.TrimSpace(reply.Text))}, nil
		}
		req.Unparsed = append(req.Unparsed, reply.Text)
	}
}

// Score returns the judge's score for an answer: half the overall score
// over 100, half the share of questions answered yes (all of it the
// overall score when there are no questions).
func Score(a Answer) float64 {
	overall := float64(min(max(a.Score, 0), 100)) / 100
	if len(a.Yes) == 0 {
		return overall
	}
	yes := 0
	for _, y := range a.Yes {
		if y {
			yes++
		}
	}
	return 0.5*overall + 0.5*float64(yes)/float64(len(a.Yes))
}

// score turns a parsed answer into a result.
func (j *Judge) score(a Answer, questions []annotators.Question) schema.JudgeResult {
	r := schema.JudgeResult{Score: Score(a)}
	r.Pass = r.Score >= j.threshold
	var no []string
	for i, y := range a.Yes {
		if !y {
			no = append(no, questions[i].Text)
		}
	}
	r.Reason = fmt.Sprintf("overall %d/100, %d/%d yes", a.Score, len(a.Yes)-len(no), len(a.Yes))
	if len(no) > 0 {
		r.Reason += "; no: " + strings.Join(no, "; ")
	}
	return r
}
