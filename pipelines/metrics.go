package pipelines

import (
	"context"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/twigdata/twig/schema"
)

// MetricsNamespace is the namespace of twig's Beam metrics: they show in
// the Dataflow UI, in Flink's job metrics and in twig run's summary.
const MetricsNamespace = "twig"

// Beam metrics of the stages. Counters named per role or per judge are made
// on use: "calls_<role>", "cache_hits_<role>", "tokens_in_<role>",
// "tokens_out_<role>", "rejected_by_<judge>".
var (
	metricSeeded       = beam.NewCounter(MetricsNamespace, "prompts_seeded")
	metricSeedFailed   = beam.NewCounter(MetricsNamespace, "seed_failures")
	metricTrajectories = beam.NewCounter(MetricsNamespace, "trajectories_done")
	metricGenFailed    = beam.NewCounter(MetricsNamespace, "generate_failures")
	metricRegions      = beam.NewCounter(MetricsNamespace, "regions")
	metricRepaints     = beam.NewCounter(MetricsNamespace, "repaints")
	metricParseFails   = beam.NewCounter(MetricsNamespace, "critique_parse_failures")
	metricLatency      = beam.NewDistribution(MetricsNamespace, "trajectory_ms")
	metricAccepted     = beam.NewCounter(MetricsNamespace, "accepted")
	metricRejected     = beam.NewCounter(MetricsNamespace, "rejected")
	metricShards       = beam.NewCounter(MetricsNamespace, "shards_written")
	metricShardBytes   = beam.NewCounter(MetricsNamespace, "shard_bytes_written")
)

// Progress counts, in this process, the samples seeded and the
// trajectories finished (generated, judged and staged, or failed). On the
// embedded runner, and with LOOPBACK workers, the pipeline runs here, so
// twig run reads it to show progress; on a remote runner it stays at zero
// here and the Beam metrics above tell the same.
var Progress struct {
	Seeded atomic.Int64
	Done   atomic.Int64
}

// countTrajectory adds the metrics of one generated trajectory.
func countTrajectory(ctx context.Context, t *schema.Trajectory, ms int64) {
	metricTrajectories.Inc(ctx, 1)
	metricLatency.Update(ctx, ms)
	for _, r := range t.Regions {
		metricRegions.Inc(ctx, 1)
		if len(r.Attempts) > 1 {
			metricRepaints.Inc(ctx, int64(len(r.Attempts)-1))
		}
		for _, a := range r.Attempts {
			if a.Decision == schema.DecisionParseFailed {
				metricParseFails.Inc(ctx, 1)
			}
		}
	}
	for _, c := range t.Provenance.Calls {
		beam.NewCounter(MetricsNamespace, "tokens_in_"+c.Role).Inc(ctx, int64(c.Usage.InputTokens))
		beam.NewCounter(MetricsNamespace, "tokens_out_"+c.Role).Inc(ctx, int64(c.Usage.OutputTokens))
	}
}

// countVerdict adds the metrics of one decided trajectory.
func countVerdict(ctx context.Context, v schema.Verdict) {
	if v.Status == schema.StatusAccepted {
		metricAccepted.Inc(ctx, 1)
		return
	}
	metricRejected.Inc(ctx, 1)
	for _, judge := range v.ReasonJudges() {
		beam.NewCounter(MetricsNamespace, "rejected_by_"+judge).Inc(ctx, 1)
	}
}
