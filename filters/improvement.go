package filters

import (
	"context"
	"fmt"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Improvement measures whether reflection paid off: for every repaint that
// was critiqued, it compares the repaint's critique score with the score
// of the attempt it replaced (both critiques must have parsed). Its score
// is the share of such repaints that scored strictly better, 1 when there
// is none (as with the reference loop, which does not critique repaints);
// it passes iff every one scored better. The reason lists the deltas,
// "region 2: 41 -> 78 (+37)". The default policy records it only.
type Improvement struct{}

// NewImprovement returns the improvement judge.
func NewImprovement() *Improvement { return &Improvement{} }

var _ Judge = (*Improvement)(nil)

// Name returns "improvement".
func (*Improvement) Name() string { return JudgeImprovement }

// Version returns the judge's version.
func (*Improvement) Version() string { return "1" }

// Judge implements Judge.
func (*Improvement) Judge(_ context.Context, t *schema.Trajectory) (schema.JudgeResult, error) {
	var deltas []string
	repaints, better := 0, 0
	for _, r := range t.Regions {
		for i := 1; i < len(r.Attempts); i++ {
			prev, cur := r.Attempts[i-1], r.Attempts[i]
			if !scored(prev) || !scored(cur) {
				continue
			}
			repaints++
			ps, cs := *prev.Critique.Score, *cur.Critique.Score
			d := cs - ps
			if d > 0 {
				better++
			}
			deltas = append(deltas, fmt.Sprintf("%s: %d -> %d (%+d)", regionLabel(int(r.Index)), ps, cs, d))
		}
	}
	if repaints == 0 {
		return schema.JudgeResult{Score: 1, Pass: true, Reason: "no critiqued repaint"}, nil
	}
	return schema.JudgeResult{
		Score:  float64(better) / float64(repaints),
		Pass:   better == repaints,
		Reason: strings.Join(deltas, "; "),
	}, nil
}

// scored reports whether a has a parsed critique score.
func scored(a schema.Attempt) bool {
	return a.Critiqued && a.Critique.Parse == schema.ParseOK && a.Critique.Score != nil
}
