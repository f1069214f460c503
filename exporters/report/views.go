package report

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/audit"
	"github.com/twigdata/twig/schema"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var tmpl = template.Must(template.New("report").ParseFS(templateFS, "templates/*.tmpl"))

// page is what every page's frame needs.
type page struct {
	// Title is the page's title, Report the report's.
	Title, Report string
	// Root is the relative path from the page to the report root: "" or "../".
	Root string
	// Script says whether the page runs its inline script; the others
	// forbid scripts.
	Script bool
}

func (w *writer) page(title, root string) page {
	return page{Title: title, Report: w.title, Root: root}
}

// statusClass maps a verdict status to its CSS class.
func statusClass(status string) string {
	switch status {
	case schema.StatusAccepted:
		return "acc"
	case schema.StatusRejected:
		return "rej"
	}
	return "other"
}

// decisionClass maps an attempt decision to its CSS class.
func decisionClass(d string) string {
	switch d {
	case schema.DecisionAccept:
		return "acc"
	case schema.DecisionRepaint:
		return "rep"
	}
	return "other"
}

func score(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// Sample page.

type sampleView struct {
	page
	ID, Prompt, PromptNormalized string
	Category, CategoryHref       string
	Status, StatusClass          string
	Score, Policy                string
	Reasons                      []reasonView
	Source                       string
	SampleIndex                  int32
	Seed                         int64
	Schedule                     string
	Regions                      []regionView
	Final                        imageView
	Judges                       []judgeView
	Provenance                   schema.Provenance
}

type reasonView struct {
	Judge, Text, Href string
}

type regionView struct {
	N                                 int
	Status                            string
	Thought, ThoughtRaw, ThoughtInput string
	Attempts                          []attemptView
}

type attemptView struct {
	N                       int
	Image                   imageView
	Thought                 string
	Seed                    int64
	Critiqued               bool
	Critique, CritiqueInput string
	Retries                 []string
	Score, Parse, Rule      string
	Decision, DecisionClass string
	Revised                 string
}

// imageView is an <img>: Src relative to the page, or Note saying why
// there is none.
type imageView struct {
	Src, Alt, Note string
}

type judgeView struct {
	Name, Version, Score string
	Pass                 bool
	Reason               string
}

func imageOf(img schema.Image, src, alt string) imageView {
	switch {
	case len(img.Bytes) == 0:
		return imageView{Note: "no image"}
	case !isPNG(img.Bytes):
		return imageView{Note: fmt.Sprintf("not a PNG (%d bytes)", len(img.Bytes))}
	}
	return imageView{Src: src, Alt: alt}
}

func (w *writer) samplePage(t *schema.Trajectory, s sampleInfo) sampleView {
	v := sampleView{
		page:         w.page("Sample "+t.ID, "../"),
		ID:           t.ID,
		Prompt:       t.Prompt,
		Category:     t.Category,
		CategoryHref: "../categories/" + slug(t.Category) + ".html",
		Status:       t.Verdict.Status,
		StatusClass:  statusClass(t.Verdict.Status),
		Score:        score(t.Verdict.Score),
		Policy:       t.Verdict.Policy,
		Source:       fmt.Sprintf("%s:%d", t.Source.URI, t.Source.Line),
		SampleIndex:  t.SampleIndex,
		Seed:         t.Seed,
		Schedule: fmt.Sprintf("%d regions, %dpx image, %dpx patches, %d×%d tokens",
			t.Schedule.K, t.Schedule.ImageSize, t.Schedule.PatchSize, t.Schedule.GridSize, t.Schedule.GridSize),
		Final:      imageOf(t.FinalImage, "../"+finalPath(s.Slug), "final image"),
		Provenance: t.Provenance,
	}
	if t.PromptNormalized != t.Prompt {
		v.PromptNormalized = t.PromptNormalized
	}
	for _, r := range t.Verdict.Reasons {
		judge, text := schema.ParseReason(r)
		rv := reasonView{Judge: judge, Text: text}
		if t.Verdict.Status == schema.StatusRejected {
			rv.Href = "../reasons/" + slug(judge) + ".html"
		}
		v.Reasons = append(v.Reasons, rv)
	}
	for i, r := range t.Regions {
		rv := regionView{N: i + 1, Status: r.Status, Thought: r.Thought.Text, ThoughtInput: r.Thought.Input}
		if r.Thought.Raw != r.Thought.Text {
			rv.ThoughtRaw = r.Thought.Raw
		}
		for j, a := range r.Attempts {
			av := attemptView{
				N:             j + 1,
				Image:         imageOf(a.Canvas, "../"+canvasPath(s.Slug, i, j), fmt.Sprintf("canvas after region %d attempt %d", i+1, j+1)),
				Thought:       a.Thought,
				Seed:          a.Seed,
				Critiqued:     a.Critiqued,
				Decision:      a.Decision,
				DecisionClass: decisionClass(a.Decision),
			}
			if a.Critiqued {
				c := a.Critique
				av.Critique, av.CritiqueInput, av.Retries = c.Raw, c.Input, c.Retries
				av.Score = "unparsed"
				if c.Score != nil {
					av.Score = strconv.Itoa(int(*c.Score))
				}
				av.Parse = c.Parse
				av.Rule = fmt.Sprintf("accept if score %s %d", c.Comparator, c.Threshold)
				av.Revised = c.Revised
			}
			rv.Attempts = append(rv.Attempts, av)
		}
		v.Regions = append(v.Regions, rv)
	}
	for _, j := range t.Judges {
		v.Judges = append(v.Judges, judgeView{Name: j.Name, Version: j.Version, Score: score(j.Score), Pass: j.Pass, Reason: j.Reason})
	}
	return v
}

// List pages.

type listPage struct {
	page
	Rows            []listRow
	Total, From, To int
	Pages           []pageLink
}

type pageLink struct {
	N       int
	Href    string
	Current bool
}

type listRow struct {
	Href, Thumb, ID        string
	Status, StatusClass    string
	Category, CategoryHref string
	Score, Prompt          string
	Reasons                []reason
}

func (w *writer) listRow(s *sampleInfo, reasons []reason) listRow {
	r := listRow{
		Href:         "../" + samplePath(s.Slug),
		ID:           s.ID,
		Status:       s.Status,
		StatusClass:  statusClass(s.Status),
		Category:     s.Category,
		CategoryHref: "../categories/" + slug(s.Category) + ".html",
		Score:        score(s.Score),
		Prompt:       s.Prompt,
		Reasons:      reasons,
	}
	if s.Thumb != "" {
		r.Thumb = "../" + s.Thumb
	}
	return r
}

// Search page.

type searchView struct {
	page
	// Index holds, per sample: id, page, status, category, prompt.
	Index [][5]string
}

func (w *writer) searchPage() searchView {
	v := searchView{page: w.page("Search", "")}
	v.Script = true
	v.Index = make([][5]string, 0, len(w.agg.samples))
	for _, s := range w.agg.samples {
		v.Index = append(v.Index, [5]string{s.ID, samplePath(s.Slug), s.Status, s.Category, s.Prompt})
	}
	return v
}

// Failures page.

type failureView struct {
	ID, Stage, Source, Input, Error string
	SampleIndex                     int32
}

// Lengths, in runes, of a failure's texts on the failures page.
const (
	failureInputRunes = 500
	failureErrorRunes = 2000
)

func failureRow(f *schema.Failure) failureView {
	src := f.Source.URI
	if f.Source.Line > 0 {
		src = fmt.Sprintf("%s:%d", f.Source.URI, f.Source.Line)
	}
	return failureView{
		ID:          f.ID,
		Stage:       f.Stage,
		Source:      src,
		Input:       truncate(f.Input, failureInputRunes),
		Error:       truncate(f.Error, failureErrorRunes),
		SampleIndex: f.SampleIndex,
	}
}

// Index page.

type indexView struct {
	page
	M          *exporters.Manifest
	Reconciles bool
	Warnings   []string
	Samples    int64
	Funnel     chart
	Verdicts   chart
	Critiques  chart
	Categories chart
	Judges     []judgeRow
	CatRows    []categoryRow
	Stats      exporters.Stats
	Repaint    string
	Failures   int64
	FailStages []count
	Policies   []count
	Calls      []callRow
}

type judgeRow struct {
	Name, Href, Versions      string
	Judged, OwnFail, Rejected int64
	Mean                      string
}

type categoryRow struct {
	Name, Href                string
	Accepted, Rejected, Total int64
}

type count struct {
	Name string
	N    int64
}

type callRow struct {
	Role         string
	Hits, Misses int64
}

func counts(m map[string]int64) []count {
	var out []count
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, count{k, m[k]})
	}
	return out
}

// indexPage is the index of a version with manifest m and statistics au.
func (w *writer) indexPage(m *exporters.Manifest, au *audit.Audit) indexView {
	a := w.agg
	v := indexView{
		page:       w.page(w.title, ""),
		M:          m,
		Reconciles: m.Counts.Reconciles(),
		Samples:    int64(len(a.samples)),
		Stats:      a.stats,
		Repaint:    fmt.Sprintf("%.1f%%", 100*a.stats.RepaintShare),
		Failures:   a.failures,
		FailStages: counts(au.FailedByStage),
		Policies:   counts(au.Policies),
	}
	v.Title = "Audit of " + w.title

	acc, rej := a.stats.Verdicts[schema.StatusAccepted], a.stats.Verdicts[schema.StatusRejected]
	if !v.Reconciles {
		v.Warnings = append(v.Warnings, fmt.Sprintf("the manifest's counts do not reconcile: seeded %d ≠ accepted %d + rejected %d + failed %d",
			m.Counts.Seeded, m.Counts.Accepted, m.Counts.Rejected, m.Counts.Failed))
	}
	if acc != m.Counts.Accepted || rej != m.Counts.Rejected || a.failures != m.Counts.Failed {
		v.Warnings = append(v.Warnings, fmt.Sprintf("the rows (accepted %d, rejected %d, failed %d) disagree with the manifest (accepted %d, rejected %d, failed %d): run twig verify",
			acc, rej, a.failures, m.Counts.Accepted, m.Counts.Rejected, m.Counts.Failed))
	}
	var noReason int64
	for i := range a.samples {
		if a.samples[i].Status == schema.StatusRejected && len(a.samples[i].Reasons) == 0 {
			noReason++
		}
	}
	if noReason > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d rejected samples have no reason", noReason))
	}

	// Funnel: seeded → generated → after each judge → accepted, as twig
	// audit counts it.
	var bars []bar
	for k, step := range au.Funnel {
		switch {
		case k == len(au.Funnel)-1:
			bars = append(bars, bar{Label: step.Name, Parts: []part{{step.Count, "acc", step.Name}}})
		case k < 2:
			bars = append(bars, bar{Label: step.Name, Parts: []part{{step.Count, "bar", step.Name}}})
		default:
			bars = append(bars, bar{Label: "passed " + step.Name, Parts: []part{{step.Count, "bar", "passed " + step.Name}}})
		}
	}
	v.Funnel = newChart("Funnel: samples left after each stage", bars, nil)

	legend := []part{{Class: "acc", Name: "accepted"}, {Class: "rej", Name: "rejected"}}
	bars = nil
	for i := range verdictBins {
		label := fmt.Sprintf("%.1f–%.1f", float64(i)/verdictBins, float64(i+1)/verdictBins)
		bars = append(bars, bar{Label: label, Parts: []part{{a.verdictAcc[i], "acc", "accepted"}, {a.verdictRej[i], "rej", "rejected"}}})
	}
	if a.verdictOut > 0 {
		bars = append(bars, bar{Label: "outside [0, 1]", Parts: []part{{a.verdictOut, "rej", "outside"}}})
	}
	v.Verdicts = newChart("Verdict scores (weighted mean of the judges' scores)", bars, legend)

	bars = nil
	for i := 0; i < 100; i += 10 {
		bin := exporters.ScoreBin(new(int32(i)))
		bars = append(bars, bar{Label: bin, Parts: []part{{a.stats.Scores[bin], "bar", "attempts"}}})
	}
	if n := a.stats.Scores[exporters.ScoreBin(nil)]; n > 0 {
		bars = append(bars, bar{Label: "unparsed", Parts: []part{{n, "rej", "attempts"}}})
	}
	v.Critiques = newChart("Critique scores of every critiqued attempt", bars, nil)

	bars = nil
	for _, name := range audit.CategoryOrder(au.Categories) {
		c := au.Categories[name]
		var total int64
		for _, n := range c {
			total += n
		}
		acc, rej := c[schema.StatusAccepted], c[schema.StatusRejected]
		bars = append(bars, bar{Label: cmp.Or(name, "(none)"), Parts: []part{{acc, "acc", "accepted"}, {rej, "rej", "rejected"}, {total - acc - rej, "bar", "other"}}})
		v.CatRows = append(v.CatRows, categoryRow{Name: name, Href: "categories/" + slug(name) + ".html",
			Accepted: acc, Rejected: rej, Total: total})
	}
	v.Categories = newChart("Samples by category", bars, legend)

	rejected := map[string]int64{}
	for _, j := range au.RejectedByJudge {
		rejected[j.Judge] = j.Rejected
	}
	for _, j := range au.Judges {
		r := judgeRow{Name: j.Judge, Judged: j.Results, OwnFail: j.Results - j.Pass, Rejected: rejected[j.Judge], Mean: "–",
			Versions: strings.Join(j.Versions, ", ")}
		if r.Rejected > 0 {
			r.Href = "reasons/" + slug(j.Judge) + ".html"
		}
		if j.Scores.N > 0 {
			r.Mean = score(j.Scores.Mean)
		}
		v.Judges = append(v.Judges, r)
	}
	for _, role := range slices.Sorted(maps.Keys(m.Stats.Calls)) {
		c := m.Stats.Calls[role]
		v.Calls = append(v.Calls, callRow{Role: role, Hits: c.Hits, Misses: c.Misses})
	}
	return v
}
