package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/internal/retry"
)

// Bulk data between stages (seed blocks, dedup fingerprints) is staged as
// objects under the staging prefix; only references to them travel
// through the runner. The embedded runner keeps every pending element in
// memory and hands a stage all of its input at once, so what travels
// there is what a run's memory grows with.

// stagedRef names a staged object and the number of records in it.
type stagedRef struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// stagingRetry is the retry policy of staged objects: eleven attempts,
// with full-jitter waits from 250ms doubling to 32s, about a minute in
// all on average (at most about two). A staged object is the only copy of
// what it holds, so a short outage of the object store is waited out.
var stagingRetry = retry.Policy{Attempts: 11, Base: 250 * time.Millisecond, Max: 32 * time.Second}

// retryStaging runs op until it succeeds, fails permanently (a missing
// object, a full disk or a refused permission: see transient), the
// context ends, or stagingRetry gives up.
func retryStaging(ctx context.Context, op func() error) error {
	return stagingRetry.Do(ctx, retry.Classifier{Transient: transient}, op)
}

// stageJSON writes v as JSON under dir, named by the hash of its content
// (so a retried bundle writes the same object again), and returns its
// reference.
func stageJSON(ctx context.Context, b *blob.Bucket, dir string, v any, count int) (stagedRef, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return stagedRef{}, err
	}
	sum := sha256.Sum256(data)
	ref := stagedRef{Key: dir + "/" + hex.EncodeToString(sum[:12]) + ".json", Count: count}
	err = retryStaging(ctx, func() error {
		return b.WriteAll(ctx, ref.Key, data, &blob.WriterOptions{ContentType: "application/json"})
	})
	if err != nil {
		return ref, fmt.Errorf("stage %s: %w", ref.Key, err)
	}
	return ref, nil
}

// readJSON reads the staged object of ref into v.
func readJSON(ctx context.Context, b *blob.Bucket, ref stagedRef, v any) error {
	var data []byte
	err := retryStaging(ctx, func() (err error) {
		data, err = b.ReadAll(ctx, ref.Key)
		return err
	})
	if err != nil {
		return fmt.Errorf("read staged %s: %w", ref.Key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read staged %s: %w", ref.Key, err)
	}
	return nil
}

// transient reports whether a storage error may go away by itself.
func transient(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.InvalidArgument, gcerrors.FailedPrecondition:
		return false
	}
	return !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) && !errors.Is(err, syscall.EROFS)
}

// bucketFn gives a DoFn the output bucket, opened once per DoFn instance:
// embed it, and set Output.
type bucketFn struct {
	Output string `json:"output"`
	bucket *blob.Bucket
}

func (fn *bucketFn) Setup(ctx context.Context) (err error) {
	fn.bucket, err = blob.OpenBucket(ctx, fn.Output)
	if err != nil {
		return fmt.Errorf("open %s: %w", redact.URL(fn.Output), err)
	}
	return nil
}

func (fn *bucketFn) Teardown() {
	if fn.bucket != nil {
		fn.bucket.Close()
	}
}
