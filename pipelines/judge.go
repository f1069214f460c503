package pipelines

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

func init() {
	register.DoFn4x0[context.Context, generated, func(summary), func(schema.Failure)](&judgeFn{})
	register.Emitter1[summary]()
}

// summary is what the export stage needs of a judged trajectory: its id,
// verdict and judge results, and the size of its staged record. It is
// small, so the export stage can plan shards over all of them at once;
// the run's statistics are counted from the full rows as shards are written.
type summary struct {
	ID      string               `json:"id"`
	Bytes   int64                `json:"bytes"`
	Judges  []schema.JudgeResult `json:"judges"`
	Verdict schema.Verdict       `json:"verdict"`
	// Calls counts cached and made model calls per role.
	Calls map[string]exporters.CallCount `json:"calls,omitempty"`
}

// Judge runs the configured judges on every trajectory and decides its
// verdict under the policy.
func Judge(s beam.Scope, cfg Config, gen beam.PCollection) (sums, failed beam.PCollection) {
	s = s.Scope("Judge")
	return beam.ParDo2(s, &judgeFn{ThoughtFormat: cfg.ThoughtFormat, Policy: cfg.Policy}, gen)
}

type judgeFn struct {
	ThoughtFormat filters.ThoughtFormat `json:"thought_format"`
	Policy        filters.Policy        `json:"policy"`
	judges        []filters.Judge
}

func (fn *judgeFn) Setup() {
	fn.judges = judges(Config{ThoughtFormat: fn.ThoughtFormat})
}

func (fn *judgeFn) ProcessElement(ctx context.Context, g generated, emit func(summary), fail func(schema.Failure)) {
	t := g.T
	if err := filters.Apply(ctx, fn.judges, fn.Policy, &t); err != nil {
		fail(schema.Failure{ID: t.ID, Stage: "judge", Source: t.Source, Input: t.Prompt,
			RawInput: []byte(t.Prompt), SampleIndex: t.SampleIndex, Error: err.Error()})
		return
	}
	emit(summary{ID: t.ID, Bytes: g.Bytes, Judges: t.Judges, Verdict: t.Verdict, Calls: g.Calls})
}
