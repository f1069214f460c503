// Package exporters writes and checks dataset versions: Parquet shards,
// the manifest and the dataset card, in any gocloud [*blob.Bucket]
// (file://, mem://, s3://, gs://). It is plain Go; Beam DoFns call it.
//
// # Layout
//
// A version lives under a prefix <dataset>/<version>/ in a bucket:
//
//	manifest.json                                  the commit marker, written last
//	README.md                                      dataset card with Hugging Face YAML front matter
//	data/trajectories/train-00000-of-00003.parquet accepted trajectories (config "trajectories")
//	rejected/rejected-00000-of-00001.parquet       rejected trajectories (config "rejected")
//	failed/failed-00000-of-00001.parquet           failed inputs (config "failed")
//
// [ShardName] gives the Hugging Face shard names, {dir}/{split}-{00000}-of-{00042}.parquet;
// [LayoutOf] gives each config's folder, split and expected verdict. Rows of
// the trajectories and rejected configs are [schema.Trajectory], rows of
// the failed config [schema.Failure]; column names come from their parquet
// struct tags. Images are structs of bytes and path, which the datasets
// library reads as Image values.
//
// A run sorts each config's rows by id, cuts them into shards with
// [PlanShards] (at most [DefaultMaxShardBytes] each, by [EstimateBytes]),
// writes each shard with [WriteShard] or a [ShardWriter], then the card
// with [WriteCard], then the manifest with [WriteManifest].
//
// # Atomicity
//
// Shards first, manifest last. A gocloud writer commits an object only
// when Close succeeds (fileblob writes a temporary file and renames it);
// a failed or aborted shard write cancels its context before closing, so
// a half-written shard never appears. The manifest is the commit marker:
// a version without manifest.json does not exist ([Committed] reports
// whether it does), whatever shards a killed run left behind, and a rerun
// simply overwrites them. [WriteManifest] refuses to commit a manifest
// whose counts do not reconcile or that lists a shard the bucket does not
// hold with the listed size.
//
// # Determinism
//
// The same rows give byte-identical shards, so a rerun of the same config
// gives the same SHA-256s. The writer settings are fixed (zstd with a
// one-page window, row groups cut at about 8 MiB of unencoded rows or
// 10,000 rows, 256 KiB pages, data page v2); created_by is a constant and
// the key/value metadata holds only the schema version and the Hugging
// Face features, never a time or a host. The manifest's Created is its only
// run-varying field, and the card does not show it.
//
// # Verification
//
// [Verify] re-reads a version one shard at a time and reports every
// problem it finds: missing or unparsable manifest, missing or altered
// shards (size, SHA-256, row count), invalid trajectories, a verdict in
// the wrong config, duplicate ids, Parquet objects the manifest does not
// list, and counts that disagree with the shards or do not reconcile.
package exporters
