package pipelines

// The names this package's older tests (bench, faults, pipeline, refilter)
// use for what moved to inference/backends. Once those tests spell
// backends.Teacher, backends.Duration and backends.Open, this file goes.

import (
	"context"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/backends"
)

type (
	Teacher   = backends.Teacher
	Duration  = backends.Duration
	Backends  = backends.Backends
	SimConfig = backends.SimConfig
)

// testSet is a backends.Set under the method names the bench uses.
type testSet struct{ *backends.Set }

func (s testSet) engine(cfg inference.Config) (*inference.Engine, error) { return s.Engine(cfg) }

func openBackends(ctx context.Context, run string, eng inference.Config, sc SimConfig, bk Backends) (testSet, error) {
	set, err := backends.Open(ctx, run, eng, sc, bk)
	return testSet{set}, err
}
