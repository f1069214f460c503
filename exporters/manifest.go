package exporters

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/schema"
)

// ErrNotCommitted reports a version without a manifest: it does not exist,
// or its run has not finished.
var ErrNotCommitted = errors.New("version not committed: no " + ManifestFile)

// Manifest describes a committed dataset version. It is written last, as
// the version's commit marker. Every field but Created is a function of the
// config, the code and the inputs, so a rerun gives the same manifest up to
// Created.
type Manifest struct {
	// SchemaVersion is schema.Version of the rows.
	SchemaVersion string `json:"schema_version"`
	// TwigVersion is the version of the code that wrote the version.
	TwigVersion string `json:"twig_version"`
	// Dataset and Version name the version: it lives under <dataset>/<version>/.
	Dataset string `json:"dataset"`
	Version string `json:"version"`
	// Parent is the version this one was derived from (by refilter), if any.
	Parent string `json:"parent,omitempty"`
	// Created is when the version was committed, RFC 3339.
	Created string `json:"created"`
	// License is the dataset card's licence identifier; "" means "other".
	License string `json:"license,omitempty"`
	// Config is the run's configuration, secrets excluded; ConfigHash is
	// its hash, computed by the caller over its canonical form (the
	// manifest re-indents Config, so do not hash the manifest's bytes).
	Config     json.RawMessage `json:"config"`
	ConfigHash string          `json:"config_hash"`
	// Models and Templates are the models and prompt-template versions used.
	Models    []schema.RoleModel   `json:"models"`
	Templates []schema.TemplateRef `json:"templates"`
	Counts    Counts               `json:"counts"`
	// Shards lists each config's shards (ConfigTrajectories, ConfigRejected,
	// ConfigFailed) in shard order. A config without rows has no entry.
	Shards map[string][]ShardInfo `json:"shards"`
	Stats  Stats                  `json:"stats"`
}

// Counts are the numbers of samples at the end of a run.
type Counts struct {
	// Seeded is the number of samples the seeder produced (after
	// duplicates were dropped) plus the input lines that failed before
	// becoming samples.
	Seeded   int64 `json:"seeded"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	Failed   int64 `json:"failed"`
	// DuplicatesDropped is the number of duplicate inputs dropped before
	// seeding; they are not part of Seeded.
	DuplicatesDropped int64 `json:"duplicates_dropped"`
}

// Reconciles reports whether every seeded sample is accounted for:
// Seeded == Accepted + Rejected + Failed.
func (c Counts) Reconciles() bool {
	return c.Seeded == c.Accepted+c.Rejected+c.Failed
}

// Stats are a version's statistics over its trajectories (accepted and
// rejected). They are sums, so partial Stats merge with Merge.
type Stats struct {
	// Verdicts counts trajectories by verdict status.
	Verdicts map[string]int64 `json:"verdicts"`
	// Categories counts trajectories by prompt category and verdict status.
	Categories map[string]map[string]int64 `json:"categories"`
	// Regions is the number of regions; RepaintedRegions of them had more
	// than one attempt. RepaintShare is RepaintedRegions/Regions.
	Regions          int64   `json:"regions"`
	RepaintedRegions int64   `json:"repainted_regions"`
	RepaintShare     float64 `json:"repaint_share"`
	// ParseFailures is the number of attempts whose critique could not be
	// parsed (decision parse_failed); CritiqueRetries the number of
	// critique calls retried because their output did not parse.
	ParseFailures   int64 `json:"parse_failures"`
	CritiqueRetries int64 `json:"critique_retries"`
	// JudgeFails counts, per judge name, the trajectories it failed under
	// the policy (the names in the verdicts' reasons; "overall" for the
	// policy's minimum overall score).
	JudgeFails map[string]int64 `json:"judge_fails"`
	// Calls counts, per role (think, generate, decode, critique, encode),
	// the model calls answered from the call cache (hits) and made
	// (misses). Empty when the run used no cache.
	Calls map[string]CallCount `json:"calls,omitempty"`
	// BudgetStopped counts the samples that failed or never started
	// because a role's spending cap was reached.
	BudgetStopped int64 `json:"budget_stopped,omitempty"`
	// Subtasks counts the sft config's samples per task (think_1, gen_2, ...).
	Subtasks map[string]int64 `json:"subtasks,omitempty"`
	// Scores is the histogram of critique scores, in bins of ten ("00-09"
	// ... "90-100"), of every critiqued attempt; "unparsed" counts the
	// critiques that could not be read.
	Scores map[string]int64 `json:"scores,omitempty"`
}

// ScoreBin names the histogram bin of a critique score; a nil score (a
// critique that could not be read) is "unparsed".
func ScoreBin(score *int32) string {
	if score == nil || *score < 0 {
		return "unparsed"
	}
	return scoreBin(*score)
}

func scoreBin(score int32) string {
	switch {
	case score >= 90:
		return "90-100"
	}
	lo := score / 10 * 10
	return fmt.Sprintf("%02d-%02d", lo, lo+9)
}

// CallCount is one role's cache hits and misses.
type CallCount struct {
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"`
}

// AddCalls adds call counts for a role.
func (s *Stats) AddCalls(role string, c CallCount) {
	if s.Calls == nil {
		s.Calls = map[string]CallCount{}
	}
	n := s.Calls[role]
	n.Hits += c.Hits
	n.Misses += c.Misses
	s.Calls[role] = n
}

// Add counts one trajectory.
func (s *Stats) Add(t *schema.Trajectory) {
	inc(&s.Verdicts, t.Verdict.Status, 1)
	if s.Categories == nil {
		s.Categories = map[string]map[string]int64{}
	}
	cat := s.Categories[t.Category]
	inc(&cat, t.Verdict.Status, 1)
	s.Categories[t.Category] = cat
	for _, r := range t.Regions {
		s.Regions++
		if len(r.Attempts) > 1 {
			s.RepaintedRegions++
		}
		for _, a := range r.Attempts {
			if a.Decision == schema.DecisionParseFailed {
				s.ParseFailures++
			}
			if a.Critiqued {
				inc(&s.Scores, ScoreBin(a.Critique.Score), 1)
			}
			s.CritiqueRetries += int64(len(a.Critique.Retries))
		}
	}
	// A judge failed the trajectory when the verdict names it (the policy
	// may re-decide a judge's pass with its own threshold); a trajectory
	// not yet decided counts its judges' own decisions.
	if len(t.Verdict.Reasons) > 0 || t.Verdict.Policy != "" {
		for _, name := range t.Verdict.ReasonJudges() {
			inc(&s.JudgeFails, name, 1)
		}
	} else {
		for _, j := range t.Judges {
			if !j.Pass {
				inc(&s.JudgeFails, j.Name, 1)
			}
		}
	}
	s.share()
}

// Merge adds the counts of o to s.
func (s *Stats) Merge(o Stats) {
	for k, v := range o.Verdicts {
		inc(&s.Verdicts, k, v)
	}
	for cat, m := range o.Categories {
		if s.Categories == nil {
			s.Categories = map[string]map[string]int64{}
		}
		c := s.Categories[cat]
		for k, v := range m {
			inc(&c, k, v)
		}
		s.Categories[cat] = c
	}
	s.Regions += o.Regions
	s.RepaintedRegions += o.RepaintedRegions
	s.ParseFailures += o.ParseFailures
	s.CritiqueRetries += o.CritiqueRetries
	for k, v := range o.JudgeFails {
		inc(&s.JudgeFails, k, v)
	}
	for k, v := range o.Calls {
		s.AddCalls(k, v)
	}
	s.BudgetStopped += o.BudgetStopped
	for k, v := range o.Subtasks {
		inc(&s.Subtasks, k, v)
	}
	for k, v := range o.Scores {
		inc(&s.Scores, k, v)
	}
	s.share()
}

func (s *Stats) share() {
	s.RepaintShare = 0
	if s.Regions > 0 {
		s.RepaintShare = float64(s.RepaintedRegions) / float64(s.Regions)
	}
}

func inc(m *map[string]int64, k string, n int64) {
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[k] += n
}

// Rows returns the number of rows listed for config.
func (m *Manifest) Rows(config string) int64 {
	var n int64
	for _, s := range m.Shards[config] {
		n += s.Rows
	}
	return n
}

// Marshal returns the manifest as written: indented JSON with a fixed key
// order (struct fields in order, map keys sorted) and a final newline.
func (m *Manifest) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	mm := *m
	if len(mm.Config) == 0 {
		mm.Config = json.RawMessage("{}")
	}
	// Empty, never null, for readers in other languages.
	if mm.Shards == nil {
		mm.Shards = map[string][]ShardInfo{}
	}
	if mm.Models == nil {
		mm.Models = []schema.RoleModel{}
	}
	if mm.Templates == nil {
		mm.Templates = []schema.TemplateRef{}
	}
	if err := enc.Encode(&mm); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteManifest commits a version: it writes m to <prefix>/manifest.json.
// Call it last, after every shard and the card are written: a version
// exists only once its manifest does. It refuses a manifest whose counts
// do not reconcile, whose Created is not RFC 3339, or that lists a shard
// that is missing from the bucket or has another size, so a manifest never
// points at data that is not there.
func WriteManifest(ctx context.Context, bucket *blob.Bucket, prefix string, m *Manifest) error {
	if !m.Counts.Reconciles() {
		c := m.Counts
		return fmt.Errorf("write manifest: counts do not reconcile: seeded %d != accepted %d + rejected %d + failed %d", c.Seeded, c.Accepted, c.Rejected, c.Failed)
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		return fmt.Errorf("write manifest: created %q is not RFC 3339", m.Created)
	}
	for _, config := range slices.Sorted(maps.Keys(m.Shards)) {
		for _, s := range m.Shards[config] {
			attrs, err := bucket.Attributes(ctx, Key(prefix, s.Path))
			if err != nil {
				return fmt.Errorf("write manifest: shard %s: %w", s.Path, err)
			}
			if attrs.Size != s.Bytes {
				return fmt.Errorf("write manifest: shard %s has %d bytes, the manifest says %d", s.Path, attrs.Size, s.Bytes)
			}
		}
	}
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := bucket.WriteAll(ctx, Key(prefix, ManifestFile), b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// StatsFile holds a version's statistics, for tools that want them
// without the manifest.
const StatsFile = "stats.json"

// WriteStats writes <prefix>/stats.json: the counts and the manifest's
// statistics (per verdict, per category, repaints, critique score
// histogram, judge failures, calls). Write it before the manifest.
func WriteStats(ctx context.Context, bucket *blob.Bucket, prefix string, m *Manifest) error {
	b, err := json.MarshalIndent(struct {
		Counts Counts `json:"counts"`
		Stats  Stats  `json:"stats"`
	}{m.Counts, m.Stats}, "", "  ")
	if err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	if err := bucket.WriteAll(ctx, Key(prefix, StatsFile), append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	return nil
}

// ReadManifest reads the manifest of the version at prefix. It returns an
// error wrapping ErrNotCommitted if there is none.
func ReadManifest(ctx context.Context, bucket *blob.Bucket, prefix string) (*Manifest, error) {
	b, err := bucket.ReadAll(ctx, Key(prefix, ManifestFile))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("read manifest %s: %w", Key(prefix, ManifestFile), ErrNotCommitted)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", Key(prefix, ManifestFile), err)
	}
	return m, nil
}

// Committed reports whether the version at prefix is committed, that is
// whether its manifest exists.
func Committed(ctx context.Context, bucket *blob.Bucket, prefix string) (bool, error) {
	ok, err := bucket.Exists(ctx, Key(prefix, ManifestFile))
	if err != nil {
		return false, fmt.Errorf("check manifest: %w", err)
	}
	return ok, nil
}

// schemaMajor returns the major part of a schema version ("1" of "1.0").
func schemaMajor(v string) string {
	major, _, _ := strings.Cut(v, ".")
	return major
}
