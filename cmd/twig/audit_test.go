package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/audit"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/schema"
)

// TestAuditRefilterDiff writes a version, derives a stricter child with
// twig refilter, then audits the parent (text, JSON and the HTML report)
// and diffs the two.
func TestAuditRefilterDiff(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	cfg := smallConfig()
	cfg.Builtin = 40
	cfg.Sim = backends.SimConfig{MistakeRate: 0.3, MalformedRate: 0.15, DriftRate: 0.15}
	var stdout bytes.Buffer
	if err := runPipeline(ctx, cfg, runOptions{out: out}, &stdout); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	parent := filepath.Join(out, "twig-sim", "v1")
	m, err := readManifestAt(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}

	// refilter with a stricter vlm threshold
	policy := filepath.Join(t.TempDir(), "strict.json")
	strict := `{"name": "strict", "version": "2", "judges": {
		"thought_format": {"required": true, "weight": 1}, "coverage": {"required": true, "weight": 1},
		"reflection_consistency": {"required": true, "weight": 1}, "canvas_sanity": {"required": true, "weight": 1},
		"vlm": {"required": true, "threshold": 0.97, "weight": 2},
		"dedup_prompt": {"required": true}, "dedup_image": {"required": true}, "improvement": {}}}`
	if err := os.WriteFile(policy, []byte(strict), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := runRefilter(ctx, parent, refilterOptions{policy: policy}, &stdout); err != nil {
		t.Fatalf("refilter: %v\n%s", err, stdout.String())
	}
	child := filepath.Join(out, "twig-sim", "v1-strict-2")
	for _, want := range []string{"parent v1", "model calls made: 0", "accepted -> rejected", "because vlm:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("refilter output lacks %q:\n%s", want, stdout.String())
		}
	}
	if err := runVerify(ctx, child, new(bytes.Buffer)); err != nil {
		t.Errorf("verify the child: %v", err)
	}

	// audit: text and JSON agree with the manifest
	html := filepath.Join(t.TempDir(), "report")
	stdout.Reset()
	if err := runAudit(ctx, parent, html, false, &stdout); err != nil {
		t.Fatalf("audit: %v", err)
	}
	for name := range m.Stats.JudgeFails {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("audit text does not name judge %s:\n%s", name, stdout.String())
		}
	}
	if !strings.Contains(stdout.String(), "report: "+filepath.Join(html, "index.html")) {
		t.Errorf("audit does not say where the report is:\n%s", stdout.String())
	}
	var a audit.Audit
	stdout.Reset()
	if err := runAudit(ctx, parent, "", true, &stdout); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		t.Fatalf("audit --json: %v\n%s", err, stdout.String())
	}
	f := a.Funnel
	if len(f) < 4 || f[0].Count != m.Counts.Seeded || f[len(f)-1].Count != m.Counts.Accepted || f[len(f)-2].Count != m.Counts.Accepted {
		t.Errorf("funnel %+v: want seeded %d first and accepted %d last, after the last judge", f, m.Counts.Seeded, m.Counts.Accepted)
	}
	for i := 1; i < len(f); i++ {
		if f[i].Count > f[i-1].Count {
			t.Errorf("funnel grows at %s: %+v", f[i].Name, f)
		}
	}
	var rejected int64
	for _, c := range a.Categories {
		rejected += c["rejected"]
	}
	if rejected != m.Counts.Rejected || a.Repaints.Regions == 0 || a.Overall.N != int(m.Counts.Accepted+m.Counts.Rejected) {
		t.Errorf("audit: %d rejected by category (manifest %d), %+v repaints, %+v overall", rejected, m.Counts.Rejected, a.Repaints, a.Overall)
	}
	// The report has an index and a page for a rejected sample.
	if _, err := os.Stat(filepath.Join(html, "index.html")); err != nil {
		t.Errorf("report index: %v", err)
	}
	pages, _ := filepath.Glob(filepath.Join(html, "samples", "*.html"))
	if int64(len(pages)) != m.Counts.Accepted+m.Counts.Rejected {
		t.Errorf("%d sample pages for %d samples", len(pages), m.Counts.Accepted+m.Counts.Rejected)
	}

	// diff: every change is accepted -> rejected because of vlm, and the
	// counts reconcile.
	stdout.Reset()
	if err := runDiff(ctx, parent, child, true, 0, &stdout); err != nil {
		t.Fatal(err)
	}
	var d Diff
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Changed) == 0 || len(d.Added)+len(d.Removed) != 0 {
		t.Fatalf("diff: %d changed, %d added, %d removed; want changes only", len(d.Changed), len(d.Added), len(d.Removed))
	}
	for _, c := range d.Changed {
		if c.From != "accepted" || c.To != "rejected" || len(c.ReasonsTo) == 0 || !strings.HasPrefix(c.ReasonsTo[0], "vlm: score") {
			t.Errorf("change %+v: want accepted -> rejected by vlm", c)
		}
	}
	if d.Unchanged+int64(len(d.Changed)) != m.Counts.Seeded-countNoID(t, parent) {
		t.Errorf("diff: %d unchanged + %d changed != %d samples", d.Unchanged, len(d.Changed), m.Counts.Seeded)
	}
	stdout.Reset()
	if err := runDiff(ctx, parent, child, false, 1, &stdout); err != nil || !strings.Contains(stdout.String(), "because vlm:") || !strings.Contains(stdout.String(), "more (--limit") {
		t.Errorf("diff text: %v\n%s", err, stdout.String())
	}
	// A missing version is an error naming it.
	if err := runDiff(ctx, parent, filepath.Join(out, "twig-sim", "nope"), false, 1, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("diff against a missing version = %v", err)
	}
}

func readManifestAt(ctx context.Context, loc string) (*exporters.Manifest, error) {
	b, err := openBucket(ctx, loc, false)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return exporters.ReadManifest(ctx, b, "")
}

// countNoID counts failed rows without a sample id (input lines).
func countNoID(t *testing.T, loc string) int64 {
	ctx := context.Background()
	b, err := openBucket(ctx, loc, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := exporters.ReadManifest(ctx, b, "")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	it := exporters.NewRows[schema.Failure](ctx, b, "", m.Shards[exporters.ConfigFailed])
	defer it.Close()
	for {
		f, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f == nil {
			return n
		}
		if f.ID == "" {
			n++
		}
	}
}
