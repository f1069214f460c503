// Package pipelines wires twig's stages into one Beam pipeline:
//
//	Seed -> Generate -> Dedup -> Export
//
// Every stage's logic lives in a plain Go package (pipelines/seeds,
// inference, filters, filters/dedup, exporters); this package only wires
// it.
//
// # Data flow
//
// Seed reads or composes the prompts and plans the samples (seeds.Plan:
// exact duplicates dropped, the limit applied, each prompt expanded into
// its samples). Generate runs the TwiG loop on many samples at once within
// a bundle, runs the trajectory judges on each result, and stages each
// full trajectory (images and tokens included) in the version's staging
// area, emitting only a text summary and a fingerprint. Dedup gathers the
// fingerprints and finds the near-duplicate prompts and images. Export
// decides every verdict from the summaries and the near-duplicates, plans
// shards, streams the staged records into Parquet shards, writes the
// failures, and commits the version with the manifest, written last.
//
// Images and tokens never cross a shuffle: memory does not grow with the
// dataset. Every per-sample error goes to the failed output with its
// reason, its stage and its kind ([KindOf]); a bundle never fails for one
// bad sample.
package pipelines

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/internal/redact"
	"github.com/twigdata/twig/pipelines/seeds"
	"github.com/twigdata/twig/schema"
)

func init() {
	// Element types travel with Beam's schema (row) coder.
	for _, t := range []reflect.Type{
		reflect.TypeFor[seeds.Line](), reflect.TypeFor[schema.Seed](), reflect.TypeFor[stagedRef](), reflect.TypeFor[schema.Failure](),
		reflect.TypeFor[summary](), reflect.TypeFor[summaries](),
		reflect.TypeFor[dupResult](), reflect.TypeFor[shardTask](),
		reflect.TypeFor[commitPart](),
	} {
		beam.RegisterType(t)
	}
}

// Build adds the whole pipeline to s and returns the PCollection of the
// committed manifest's key.
func Build(s beam.Scope, cfg Config) beam.PCollection {
	seedCol, seedFailed, seedParts := Seed(s, cfg)
	gen := Generate(s, cfg, seedCol)
	dups := Dedup(s, cfg, gen.Prints)
	failed := beam.Flatten(s, seedFailed, gen.Failed)
	return Export(s, cfg, gen.Summaries, dups, failed, beam.Flatten(s, seedParts, gen.Calls))
}

// ErrUpToDate is returned by Prepare when the version is already committed
// with the same configuration: there is nothing to do.
var ErrUpToDate = errors.New("version already committed with this configuration")

// Prepare checks the output before a run: that it is writable, and that
// the version is not committed already. A committed version with the same
// config hash gives ErrUpToDate; with another one it is an error unless
// overwrite is set, in which case the old manifest is removed first so
// the old version stops existing before any new shard is written.
func Prepare(ctx context.Context, b *blob.Bucket, cfg Config, overwrite bool) error {
	prefix := VersionPrefix(cfg)
	probe := prefix + "/_staging/.write-probe"
	if err := b.WriteAll(ctx, probe, []byte("ok"), nil); err != nil {
		return fmt.Errorf("output %s is not writable: %w", redact.URL(cfg.Output), err)
	}
	if err := b.Delete(ctx, probe); err != nil {
		return fmt.Errorf("output %s: %w", redact.URL(cfg.Output), err)
	}
	ok, err := exporters.Committed(ctx, b, prefix)
	if err != nil || !ok {
		return err
	}
	m, err := exporters.ReadManifest(ctx, b, prefix)
	if err != nil {
		return err
	}
	switch {
	case overwrite:
		return b.Delete(ctx, exporters.Key(prefix, exporters.ManifestFile))
	case m.ConfigHash == cfg.Hash():
		return ErrUpToDate
	}
	return fmt.Errorf("version %s is already committed with another configuration (hash %.12s, now %.12s): choose a new --version or pass --overwrite",
		prefix, m.ConfigHash, cfg.Hash())
}
