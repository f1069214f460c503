package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/audit"
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

func (s *sampleInfo) reasonsBy(judge string) []reason {
	var out []reason
	for _, r := range s.Reasons {
		if r.Judge == judge {
			out = append(out, r)
		}
	}
	return out
}

// verdictBins is the number of bins of the verdict score histogram.
const verdictBins = 10

// aggregate accumulates what the index and list pages need while the rows
// stream past: the version's statistics, as twig audit computes them, and
// what only the report shows.
type aggregate struct {
	an      *audit.Analyzer
	stats   exporters.Stats // of the trajectories, as the manifest computes them
	samples []sampleInfo
	slugs   map[string]bool
	// verdict score histogram per status: accepted, rejected; out counts
	// scores outside [0, 1].
	verdictAcc, verdictRej [verdictBins]int64
	verdictOut             int64
	failures               int64
}

func newAggregate() *aggregate {
	return &aggregate{an: audit.NewAnalyzer(), slugs: map[string]bool{}}
}

// add counts a trajectory and returns its summary.
func (a *aggregate) add(t *schema.Trajectory) sampleInfo {
	a.an.AddTrajectory(t)
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
	for _, r := range t.Verdict.Reasons {
		judge, text := schema.ParseReason(r)
		s.Reasons = append(s.Reasons, reason{Judge: strings.Clone(judge), Text: strings.Clone(truncate(text, summaryReasonRunes))})
	}
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

func (a *aggregate) addFailure(f *schema.Failure) {
	a.failures++
	a.an.AddFailure(f.Stage)
}

func (a *aggregate) failureCount() int64 { return a.failures }

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
