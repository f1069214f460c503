package audit

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

// Audit is the statistics of a version; `twig audit --json` prints it.
type Audit struct {
	// URI is where the version was read from, as its reader shows it; Read
	// leaves it empty.
	URI     string `json:"uri"`
	Dataset string `json:"dataset"`
	Version string `json:"version"`
	Parent  string `json:"parent,omitempty"`
	// Policy describes the configured policy ("default@1 require=..."), or
	// the one policy the verdicts name when the config records none;
	// Policies counts the trajectories by the verdict's policy name@version.
	Policy   string           `json:"policy"`
	Policies map[string]int64 `json:"policies"`
	Counts   exporters.Counts `json:"counts"`
	// Funnel is seeded, generated, one step per judge, accepted (see the
	// package documentation).
	Funnel []FunnelStep `json:"funnel"`
	// RejectedByJudge counts, per judge in funnel order, the rejected
	// trajectories whose verdict names it, and Only those it alone
	// rejected; judges that rejected nothing are left out.
	RejectedByJudge []JudgeRejections `json:"rejected_by_judge"`
	// Categories counts the trajectories by category and verdict status.
	Categories    map[string]map[string]int64 `json:"categories"`
	FailedByStage map[string]int64            `json:"failed_by_stage"`
	// Critique is the manifest's histogram of critique scores, by bin.
	Critique map[string]int64 `json:"critique_scores"`
	// Overall holds quantiles of the verdicts' overall score, over all
	// trajectories and by status.
	Overall         Quantiles `json:"overall"`
	OverallAccepted Quantiles `json:"overall_accepted"`
	OverallRejected Quantiles `json:"overall_rejected"`
	// Judges holds each judge's results, in funnel order.
	Judges   []JudgeScores `json:"judges"`
	Repaints RepaintStats  `json:"repaints"`
}

// FunnelStep is one step of the filter funnel: the samples left after it.
type FunnelStep struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// JudgeRejections are one judge's rejections.
type JudgeRejections struct {
	Judge    string `json:"judge"`
	Rejected int64  `json:"rejected"`
	Only     int64  `json:"only"`
}

// JudgeScores is one judge's results.
type JudgeScores struct {
	Judge string `json:"judge"`
	// Pass counts the results the judge itself passed (before the policy).
	Pass   int64     `json:"pass"`
	Scores Quantiles `json:"scores"`
	// Results counts the trajectories with a result of the judge (Scores
	// leaves out NaN scores), Versions are the distinct versions of its
	// results, sorted. The report shows them; the JSON form has never
	// carried them and leaves them out.
	Results  int64    `json:"-"`
	Versions []string `json:"-"`
}

// RepaintStats are the repaint statistics.
type RepaintStats struct {
	Regions          int64   `json:"regions"`
	RepaintedRegions int64   `json:"repainted_regions"`
	Share            float64 `json:"share"`
	// Attempts counts attempts; Decisions counts them by decision.
	Attempts  int64            `json:"attempts"`
	Decisions map[string]int64 `json:"decisions"`
	// Repaints counts the attempts after the first; Critiqued those whose
	// critique and the previous attempt's both parsed, and of them
	// Improved, Same and Worse by score; Delta is their score changes.
	Repaints  int64     `json:"repaints"`
	Critiqued int64     `json:"critiqued"`
	Improved  int64     `json:"improved"`
	Same      int64     `json:"same"`
	Worse     int64     `json:"worse"`
	Delta     Quantiles `json:"delta"`
}

// Row is the part of a trajectory the analysis reads: no id, no image, no
// token, no text but the verdict's reasons. As a type parameter of
// [exporters.Rows] it reads only these columns.
type Row struct {
	Category string               `parquet:"category"`
	Regions  []Region             `parquet:"regions,list"`
	Judges   []schema.JudgeResult `parquet:"judges,list"`
	Verdict  schema.Verdict       `parquet:"verdict"`
}

// Region is the part of a region the analysis reads.
type Region struct {
	Index    int32     `parquet:"index"`
	Attempts []Attempt `parquet:"attempts,list"`
}

// Attempt is the part of an attempt the analysis reads.
type Attempt struct {
	Critiqued bool     `parquet:"critiqued"`
	Critique  Critique `parquet:"critique"`
	Decision  string   `parquet:"decision"`
}

// Critique is the part of a critique the analysis reads.
type Critique struct {
	Score *int32 `parquet:"score,optional"`
	Parse string `parquet:"parse"`
}

// failure is the part of a failed row the analysis reads.
type failure struct {
	Stage string `parquet:"stage"`
}

// An Analyzer accumulates the statistics of a version as its rows stream
// past: Add (or AddTrajectory) each accepted and rejected trajectory,
// AddFailure each failed row, then ask for the Audit. It keeps the scores
// it summarises (a few numbers per trajectory) and no row.
type Analyzer struct {
	judges []*judge // funnel order
	index  map[string]int
	// fellAt counts, per judge, the rejected trajectories that leave the
	// funnel there.
	fellAt        []int64
	trajectories  int64
	accepted      int64
	policies      map[string]int64
	categories    map[string]map[string]int64
	failedByStage map[string]int64
	verdict       [3][]float64 // all, accepted, rejected
	repaints      RepaintStats
	deltas        []float64
}

type judge struct {
	name                          string
	results, pass, rejected, only int64
	scores                        []float64
	versions                      map[string]bool
}

// NewAnalyzer returns an empty Analyzer.
func NewAnalyzer() *Analyzer {
	return &Analyzer{
		index:         map[string]int{},
		policies:      map[string]int64{},
		categories:    map[string]map[string]int64{},
		failedByStage: map[string]int64{},
		repaints:      RepaintStats{Decisions: map[string]int64{}},
	}
}

// judge returns the index of the named judge, adding it at the end of the
// funnel order when it is new. A reader may hand out strings that share
// memory with a whole row, so names kept are copies.
func (an *Analyzer) judge(name string) int {
	if k, ok := an.index[name]; ok {
		return k
	}
	name = strings.Clone(name)
	an.index[name] = len(an.judges)
	an.judges = append(an.judges, &judge{name: name, versions: map[string]bool{}})
	an.fellAt = append(an.fellAt, 0)
	return an.index[name]
}

// count adds one to m[key], copying a new key.
func count(m map[string]int64, key string) {
	if _, ok := m[key]; !ok {
		key = strings.Clone(key)
	}
	m[key]++
}

// Add counts a trajectory. It keeps nothing of r.
func (an *Analyzer) Add(r *Row) {
	an.trajectories++
	count(an.policies, r.Verdict.Policy)
	for _, res := range r.Judges {
		j := an.judges[an.judge(res.Name)]
		j.results++
		if res.Pass {
			j.pass++
		}
		j.scores = append(j.scores, res.Score)
		if !j.versions[res.Version] {
			j.versions[strings.Clone(res.Version)] = true
		}
	}
	c := an.categories[r.Category]
	if c == nil {
		c = map[string]int64{}
		an.categories[strings.Clone(r.Category)] = c
	}
	count(c, r.Verdict.Status)
	an.verdict[0] = append(an.verdict[0], r.Verdict.Score)
	switch r.Verdict.Status {
	case schema.StatusAccepted:
		an.accepted++
		an.verdict[1] = append(an.verdict[1], r.Verdict.Score)
	case schema.StatusRejected:
		an.verdict[2] = append(an.verdict[2], r.Verdict.Score)
		an.reject(r.Verdict.ReasonJudges())
	}
	for _, reg := range r.Regions {
		an.addRegion(reg.Attempts)
	}
}

// reject counts the judges a rejected trajectory's verdict names (each
// once): each rejected it, and it leaves the funnel at the first of them
// in funnel order. Judge indexes grow in funnel order, so that is the
// smallest.
func (an *Analyzer) reject(named []string) {
	if len(named) == 0 {
		return
	}
	first := len(an.judges)
	for _, name := range named {
		k := an.judge(name)
		first = min(first, k)
		an.judges[k].rejected++
		if len(named) == 1 {
			an.judges[k].only++
		}
	}
	an.fellAt[first]++
}

func (an *Analyzer) addRegion(attempts []Attempt) {
	rp := &an.repaints
	rp.Regions++
	if len(attempts) > 1 {
		rp.RepaintedRegions++
	}
	for i, at := range attempts {
		rp.Attempts++
		count(rp.Decisions, at.Decision)
		if i == 0 {
			continue
		}
		rp.Repaints++
		prev := attempts[i-1]
		if !parsedScore(prev) || !parsedScore(at) {
			continue
		}
		rp.Critiqued++
		d := *at.Critique.Score - *prev.Critique.Score
		switch {
		case d > 0:
			rp.Improved++
		case d == 0:
			rp.Same++
		default:
			rp.Worse++
		}
		an.deltas = append(an.deltas, float64(d))
	}
}

// parsedScore reports whether an attempt has a parsed critique score, as
// the improvement judge requires.
func parsedScore(a Attempt) bool {
	return a.Critiqued && a.Critique.Parse == schema.ParseOK && a.Critique.Score != nil
}

// AddTrajectory counts a whole trajectory, as Add counts its Row.
func (an *Analyzer) AddTrajectory(t *schema.Trajectory) {
	r := Row{Category: t.Category, Judges: t.Judges, Verdict: t.Verdict, Regions: make([]Region, len(t.Regions))}
	for i, reg := range t.Regions {
		r.Regions[i] = Region{Index: reg.Index, Attempts: make([]Attempt, len(reg.Attempts))}
		for j, a := range reg.Attempts {
			r.Regions[i].Attempts[j] = Attempt{
				Critiqued: a.Critiqued,
				Critique:  Critique{Score: a.Critique.Score, Parse: a.Critique.Parse},
				Decision:  a.Decision,
			}
		}
	}
	an.Add(&r)
}

// AddFailure counts a failed row of the given stage.
func (an *Analyzer) AddFailure(stage string) {
	count(an.failedByStage, stage)
}

// Audit returns the statistics of the rows added so far, with what m, the
// version's manifest, says: the dataset and version, the counts (the
// funnel's seeded step), the critique score histogram and the configured
// policy. URI is left empty.
func (an *Analyzer) Audit(m *exporters.Manifest) *Audit {
	a := &Audit{
		Dataset: m.Dataset, Version: m.Version, Parent: m.Parent, Counts: m.Counts,
		Policy:          configPolicy(m),
		Policies:        maps.Clone(an.policies),
		Categories:      map[string]map[string]int64{},
		FailedByStage:   maps.Clone(an.failedByStage),
		Critique:        maps.Clone(m.Stats.Scores),
		Overall:         quantiles(an.verdict[0]),
		OverallAccepted: quantiles(an.verdict[1]),
		OverallRejected: quantiles(an.verdict[2]),
		Repaints:        an.repaints,
	}
	if a.Policy == "" && len(a.Policies) == 1 {
		for p := range a.Policies {
			a.Policy = p
		}
	}
	for name, c := range an.categories {
		a.Categories[name] = maps.Clone(c)
	}
	if a.Critique == nil {
		a.Critique = map[string]int64{}
	}
	a.Repaints.Decisions = maps.Clone(an.repaints.Decisions)
	if a.Repaints.Regions > 0 {
		a.Repaints.Share = float64(a.Repaints.RepaintedRegions) / float64(a.Repaints.Regions)
	}
	a.Repaints.Delta = quantiles(an.deltas)

	a.Funnel = []FunnelStep{{"seeded", m.Counts.Seeded}, {"generated", an.trajectories}}
	left := an.trajectories
	for k, j := range an.judges {
		left -= an.fellAt[k]
		a.Funnel = append(a.Funnel, FunnelStep{j.name, left})
		if j.rejected > 0 {
			a.RejectedByJudge = append(a.RejectedByJudge, JudgeRejections{Judge: j.name, Rejected: j.rejected, Only: j.only})
		}
		a.Judges = append(a.Judges, JudgeScores{
			Judge: j.name, Pass: j.pass, Scores: quantiles(j.scores),
			Results: j.results, Versions: slices.Sorted(maps.Keys(j.versions)),
		})
	}
	a.Funnel = append(a.Funnel, FunnelStep{"accepted", an.accepted})
	return a
}

// CategoryOrder returns the categories of a count by category:
// schema.Categories' order first, then any others by name.
func CategoryOrder[V any](m map[string]V) []string {
	var out []string
	for _, name := range schema.Categories {
		if _, ok := m[name]; ok {
			out = append(out, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(schema.Categories, name) {
			out = append(out, name)
		}
	}
	return out
}

// configPolicy returns the short form of the policy in a manifest's
// config, "" when it has none.
func configPolicy(m *exporters.Manifest) string {
	var c struct {
		Policy *filters.Policy `json:"policy"`
	}
	if json.Unmarshal(m.Config, &c) != nil || c.Policy == nil || c.Policy.Name == "" {
		return ""
	}
	return c.Policy.String()
}
