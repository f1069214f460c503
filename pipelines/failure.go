package pipelines

import (
	"errors"

	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/pipelines/seeds"
	"github.com/twigdata/twig/schema"
)

// KindOf says what kind of failure err is, from the errors it wraps
// (errors.Is and errors.As, never its text). The first that applies, in
// this order, decides:
//
//   - budget: it wraps teacher.ErrBudgetExhausted;
//   - input: a seed file that could not be read (*seeds.ReadError);
//   - storage: an error of a Go CDK bucket (every one carries a
//     gcerrors code);
//   - model: a model gave no usable answer: a remote worker's or a
//     teacher's error (*remote.Error, *remote.StatusError,
//     *remote.UnavailableError, *worker.RequestError, *teacher.Error, an
//     empty or truncated teacher reply) or a critique that could not be
//     parsed (inference.ErrParseFailed);
//   - judge: any other error of a judge (*filters.JudgeError).
//
// So a judge whose model call failed is a model failure, and one whose
// budget ran out a budget failure: the failure's stage says where it
// happened. Any other error, and nil, have no kind ("").
func KindOf(err error) schema.FailureKind {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, teacher.ErrBudgetExhausted):
		return schema.FailureBudget
	case as[*seeds.ReadError](err):
		return schema.FailureInput
	case storageError(err):
		return schema.FailureStorage
	case modelError(err):
		return schema.FailureModel
	case as[*filters.JudgeError](err):
		return schema.FailureJudge
	}
	return ""
}

// as reports whether err wraps an error of type E.
func as[E error](err error) bool {
	var target E
	return errors.As(err, &target)
}

// storageCodes are the errors every Go CDK error wraps, one per code.
var storageCodes = []error{
	gcerrors.ErrUnknown, gcerrors.ErrNotFound, gcerrors.ErrAlreadyExists, gcerrors.ErrInvalidArgument,
	gcerrors.ErrInternal, gcerrors.ErrUnimplemented, gcerrors.ErrFailedPrecondition,
	gcerrors.ErrPermissionDenied, gcerrors.ErrResourceExhausted, gcerrors.ErrCanceled, gcerrors.ErrDeadlineExceeded,
}

// storageError reports whether err is, or wraps, an error of a Go CDK
// bucket. A bare context error is not: the Go CDK passes those through
// unwrapped.
func storageError(err error) bool {
	for _, code := range storageCodes {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

// modelError reports whether err is, or wraps, a model call that got no
// usable answer.
func modelError(err error) bool {
	return errors.Is(err, inference.ErrParseFailed) ||
		as[*remote.Error](err) || as[*remote.StatusError](err) || as[*remote.UnavailableError](err) ||
		as[*worker.RequestError](err) ||
		as[*teacher.Error](err) || as[*teacher.EmptyReplyError](err) || as[*teacher.TruncatedReplyError](err)
}
