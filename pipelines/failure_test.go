package pipelines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/pipelines/seeds"
	"github.com/twigdata/twig/schema"
)

func TestKindOf(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	_, notFound := bucket.ReadAll(ctx, "staging/nope.json")
	bucket.Close()
	_, closed := bucket.ReadAll(ctx, "staging/any.json")
	_, _, unreadable := seeds.ReadFile(ctx, filepath.Join(t.TempDir(), "nope.txt"), seeds.Config{})
	teacherErr := &teacher.Error{Op: "think", Model: "m", Endpoint: "http://x/v1", StatusCode: 500, Err: errors.New("boom")}
	judgeErr := func(err error) error { return &filters.JudgeError{Judge: filters.JudgeVLM, ID: "t1", Err: err} }

	for _, tt := range []struct {
		name string
		err  error
		want schema.FailureKind
	}{
		{"nil", nil, ""},
		{"unknown", errors.New("something else"), ""},
		{"caller's context", fmt.Errorf("generate: %w", context.Canceled), ""},
		{"budget", fmt.Errorf("think: %w", teacher.ErrBudgetExhausted), schema.FailureBudget},
		{"budget, not started", fmt.Errorf("%w: not started: %s", teacher.ErrBudgetExhausted, "think budget of 10 calls spent"), schema.FailureBudget},
		{"budget inside a teacher error", &teacher.Error{Op: "think", Err: teacher.ErrBudgetExhausted}, schema.FailureBudget},
		{"seed file unreadable", unreadable, schema.FailureInput},
		{"storage not found", fmt.Errorf("read staged %s: %w", "k", notFound), schema.FailureStorage},
		{"storage closed bucket", fmt.Errorf("stage: %w", closed), schema.FailureStorage},
		{"teacher error", fmt.Errorf("region 1: %w", teacherErr), schema.FailureModel},
		{"teacher empty reply", &teacher.EmptyReplyError{Op: "critique"}, schema.FailureModel},
		{"teacher truncated reply", &teacher.TruncatedReplyError{Op: "think"}, schema.FailureModel},
		{"worker error", &remote.Error{Op: "generate", Kind: remote.Timeout, Err: errors.New("slow")}, schema.FailureModel},
		{"worker status", fmt.Errorf("region 2: %w", &remote.StatusError{Op: "decode", Code: 400}), schema.FailureModel},
		{"no worker", &remote.UnavailableError{Op: "generate", Attempts: 3}, schema.FailureModel},
		{"worker request", &worker.RequestError{Err: errors.New("bad prior")}, schema.FailureModel},
		{"critique unparseable", fmt.Errorf("attempt 1: %w (%s): %q", inference.ErrParseFailed, "missing_score", "??"), schema.FailureModel},
		{"judge", judgeErr(errors.New("cannot judge")), schema.FailureJudge},
		{"judge's model", judgeErr(fmt.Errorf("vlm judge t1: view: %w", teacherErr)), schema.FailureModel},
		{"judge's budget", judgeErr(fmt.Errorf("view: %w", teacher.ErrBudgetExhausted)), schema.FailureBudget},
		{"judge's storage", judgeErr(notFound), schema.FailureStorage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func init() {
	register.DoFn3x0[int, func(*schema.Failure) bool, func(string)](&failureKeysFn{})
}

// failureKeysFn emits "stage kind source error-start" of each failure it
// is given.
type failureKeysFn struct{}

func (*failureKeysFn) ProcessElement(_ int, iter func(*schema.Failure) bool, emit func(string)) {
	var f schema.Failure
	for iter(&f) {
		emit(fmt.Sprintf("%s %s %s:%d", f.Stage, f.Kind, filepath.Base(f.Source.URI), f.Source.Line))
		f = schema.Failure{}
	}
}

// TestFailureKindTravels runs the seed stage's reader over a file with a
// bad line and a file that is gone, through a grouping (where the runner
// encodes every element): each failure keeps its kind.
func TestFailureKindTravels(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	if err := os.WriteFile(good, []byte("a red apple\n\na blue cube\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	_, failed := beam.ParDo2(s, &readFileFn{}, beam.CreateList(s, []string{good, filepath.Join(dir, "gone.txt")}))
	keys := beam.ParDo(s, &failureKeysFn{}, beam.GroupByKey(s, beam.AddFixedKey(s, failed)))
	passert.Equals(s, keys, "seed input good.txt:2", "seed input gone.txt:0")
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}
