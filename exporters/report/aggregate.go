package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/schema"
)

// Lengths, in runes, of the texts kept in a sample's summary.
const (
	summaryPromptRunes = 200
	summaryReasonRunes = 300
)

// sampleInfo is what the report keeps of a sample after its page is
// written: enough for the list pages and the search index.
type sampleInfo struct {
	ID, Slug, Prompt, Category, Status string
	Score                              float64
	// Thumb is the path of the sample's thumbnail relative to the report
	// root (its final image, else its last canvas), "" when it has none.
	Thumb   string
	Reasons []reason
}

// reason is one entry of a verdict's reasons, "judge: text".
type reason struct {
	Judge, Text string
}

// parseReason splits a verdict reason "judge: text". A reason without
// the separator is all judge name.
func parseReason(r string) reason {
	name, text, _ := strings.Cut(r, ": ")
	return reason{Judge: strings.TrimSpace(name), Text: text}
}

func (s *sampleInfo) reasonsBy(judge string) []reason {
	var out []reason
	for _, r := range s.Reasons {
		if r.Judge == judge {
			out = append(out, r)
		}
	}
	return out
}

// judgeStats are one judge's numbers over the trajectories.
type judgeStats struct {
	Name, Slug string
	// Judged counts the trajectories with a result of the judge, OwnFail
	// those whose result did not pass, Rejected the rejected trajectories
	// whose verdict names the judge.
	Judged, OwnFail, Rejected int64
	ScoreSum                  float64
	Versions                  map[string]bool
}

// category is one prompt category's numbers.
type category struct {
	Name, Slug         string
	Accepted, Rejected int64
	Other              int64
}

// verdictBins is the number of bins of the verdict score histogram.
const verdictBins = 10

// aggregate accumulates what the index and list pages need while the rows
// stream past.
type aggregate struct {
	stats   exporters.Stats // of the trajectories, as the manifest computes them
	samples []sampleInfo
	slugs   map[string]bool
	// judges in the order they first appear.
	judges     []*judgeStats
	judgeIndex map[string]int
	categories map[string]*category
	policies   map[string]int64
	// verdict score histogram per status: accepted, rejected; out counts
	// scores outside [0, 1].
	verdictAcc, verdictRej [verdictBins]int64
	verdictOut             int64
	failures               int64
	failStages             map[string]int64
}

func newAggregate() *aggregate {
	return &aggregate{
		slugs:      map[string]bool{},
		judgeIndex: map[string]int{},
		categories: map[string]*category{},
		policies:   map[string]int64{},
		failStages: map[string]int64{},
	}
}

// add counts a trajectory and returns its summary.
func (a *aggregate) add(t *schema.Trajectory) sampleInfo {
	a.stats.Add(t)
	// Clone what is kept: a reader may hand out strings that share memory
	// with the row's images.
	s := sampleInfo{
		ID:       strings.Clone(t.ID),
		Slug:     a.uniqueSlug(t.ID),
		Prompt:   strings.Clone(truncate(t.Prompt, summaryPromptRunes)),
		Category: strings.Clone(t.Category),
		Status:   strings.Clone(t.Verdict.Status),
		Score:    t.Verdict.Score,
	}
	if isPNG(t.FinalImage.Bytes) {
		s.Thumb = finalPath(s.Slug)
	} else if i, j, ok := lastCanvas(t); ok {
		s.Thumb = canvasPath(s.Slug, i, j)
	}
	for _, j := range t.Judges {
		js := a.judge(j.Name)
		js.Judged++
		if !j.Pass {
			js.OwnFail++
		}
		js.ScoreSum += j.Score
		if !js.Versions[j.Version] {
			js.Versions[strings.Clone(j.Version)] = true
		}
	}
	for _, r := range t.Verdict.Reasons {
		rr := parseReason(r)
		rr.Judge = strings.Clone(rr.Judge)
		rr.Text = strings.Clone(truncate(rr.Text, summaryReasonRunes))
		s.Reasons = append(s.Reasons, rr)
	}
	if t.Verdict.Status == schema.StatusRejected {
		seen := map[string]bool{}
		for _, r := range s.Reasons {
			if !seen[r.Judge] {
				seen[r.Judge] = true
				a.judge(r.Judge).Rejected++
			}
		}
	}
	c := a.categories[t.Category]
	if c == nil {
		c = &category{Name: s.Category, Slug: slug(s.Category)}
		a.categories[s.Category] = c
	}
	switch t.Verdict.Status {
	case schema.StatusAccepted:
		c.Accepted++
	case schema.StatusRejected:
		c.Rejected++
	default:
		c.Other++
	}
	if _, ok := a.policies[t.Verdict.Policy]; !ok {
		a.policies[strings.Clone(t.Verdict.Policy)] = 0
	}
	a.policies[t.Verdict.Policy]++
	switch v := t.Verdict.Score; {
	case math.IsNaN(v) || v < 0 || v > 1:
		a.verdictOut++
	default:
		bin := min(int(v*verdictBins), verdictBins-1)
		if t.Verdict.Status == schema.StatusAccepted {
			a.verdictAcc[bin]++
		} else {
			a.verdictRej[bin]++
		}
	}
	a.samples = append(a.samples, s)
	return s
}

// lastCanvas returns the region and attempt of the last canvas that is a PNG.
func lastCanvas(t *schema.Trajectory) (int, int, bool) {
	for i := len(t.Regions) - 1; i >= 0; i-- {
		as := t.Regions[i].Attempts
		for j := len(as) - 1; j >= 0; j-- {
			if isPNG(as[j].Canvas.Bytes) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func (a *aggregate) judge(name string) *judgeStats {
	if i, ok := a.judgeIndex[name]; ok {
		return a.judges[i]
	}
	name = strings.Clone(name)
	j := &judgeStats{Name: name, Slug: slug(name), Versions: map[string]bool{}}
	a.judgeIndex[name] = len(a.judges)
	a.judges = append(a.judges, j)
	return j
}

// judgeOrder returns the judges in the order they first appeared.
func (a *aggregate) judgeOrder() []*judgeStats { return a.judges }

// categoryOrder returns the categories: schema.Categories' order first,
// then any others by name.
func (a *aggregate) categoryOrder() []*category {
	var out []*category
	for _, name := range schema.Categories {
		if c := a.categories[name]; c != nil {
			out = append(out, c)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.categories)) {
		if !slices.Contains(schema.Categories, name) {
			out = append(out, a.categories[name])
		}
	}
	return out
}

func (a *aggregate) addFailure(f *schema.Failure) {
	a.failures++
	if _, ok := a.failStages[f.Stage]; !ok {
		a.failStages[strings.Clone(f.Stage)] = 0
	}
	a.failStages[f.Stage]++
}

func (a *aggregate) failureCount() int64 { return a.failures }

// funnel returns the number of generated trajectories left after each
// judge, in judge order: those whose verdict names none of the judges so
// far.
func (a *aggregate) funnel() []int64 {
	fellAt := make([]int64, len(a.judges))
	for i := range a.samples {
		s := &a.samples[i]
		if s.Status != schema.StatusRejected {
			continue
		}
		first := -1
		for _, r := range s.Reasons {
			if k, ok := a.judgeIndex[r.Judge]; ok && (first < 0 || k < first) {
				first = k
			}
		}
		if first >= 0 {
			fellAt[first]++
		}
	}
	left := int64(len(a.samples))
	out := make([]int64, len(a.judges))
	for k := range a.judges {
		left -= fellAt[k]
		out[k] = left
	}
	return out
}

// uniqueSlug returns the file name for a sample id; a second sample with
// the same id (a version that fails twig verify) gets a numbered one.
func (a *aggregate) uniqueSlug(id string) string {
	s := strings.Clone(slug(id))
	for n := 2; a.slugs[s]; n++ {
		s = fmt.Sprintf("%s~%d", slug(id), n)
	}
	a.slugs[s] = true
	return s
}

// slug returns a file name for name that cannot leave its folder: name
// itself when it is a short lower-case identifier ([a-z0-9][a-z0-9._-]*,
// as ids, judge and category names are), else name with every other byte
// replaced by '_', cut to 64 bytes, and the first 8 hex digits of its
// SHA-256 appended, so distinct names give distinct slugs, also on
// case-insensitive file systems.
func slug(name string) string {
	if plain(name) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < 64; i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			c = '_'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		b.WriteByte('_')
	}
	sum := sha256.Sum256([]byte(name))
	return b.String() + "-" + hex.EncodeToString(sum[:4])
}

func plain(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// truncate cuts s to at most n runes, marking a cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Paths of a sample's objects, relative to the report root.

func samplePath(slug string) string { return "samples/" + slug + ".html" }
func finalPath(slug string) string  { return "img/" + slug + "/final.png" }
func canvasPath(slug string, region, attempt int) string {
	return fmt.Sprintf("img/%s/r%da%d.png", slug, region, attempt)
}
