package report_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twigdata/twig/internal/golden"

	"gocloud.dev/blob/memblob"
	"golang.org/x/net/html"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/report"
	"github.com/twigdata/twig/schema"
)

// writeReport writes the report of in to a new memory bucket under prefix
// and returns its objects, keyed relative to prefix.
func writeReport(t *testing.T, prefix string, in report.Input, opt report.Options) (map[string][]byte, report.Summary) {
	t.Helper()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	sum, err := report.Write(context.Background(), b, prefix, in, opt)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{}
	for k, v := range readAll(t, b) {
		rel, ok := strings.CutPrefix(k, prefix)
		if !ok {
			t.Errorf("object %s outside the prefix %s", k, prefix)
		}
		objs[rel] = v
	}
	return objs, sum
}

// TestIndexGolden compares the index page of the test version with
// testdata/index.golden.html. Refresh with
// go test ./exporters/report -run TestIndexGolden -update and review the
// diff (open the file in a browser).
func TestIndexGolden(t *testing.T) {
	objs, _ := writeReport(t, "", newTestVersion().input(), report.Options{})
	golden.Check(t, filepath.Join("testdata", "index.golden.html"), objs[report.IndexFile])
}

func TestLayout(t *testing.T) {
	v := newTestVersion()
	objs, sum := writeReport(t, "reports/test-v1/", v.input(), report.Options{})
	rejected := v.trajectories[1]
	want := []string{
		"index.html", "search.html", "failures.html",
		"reasons/clip.html",
		"categories/colour.html", "categories/shape.html", "categories/texture.html",
		"samples/" + rejected.ID + ".html",
		"img/" + rejected.ID + "/r0a0.png",
		"img/" + rejected.ID + "/r0a1.png",
		"img/" + rejected.ID + "/r1a0.png",
		"img/" + rejected.ID + "/final.png",
	}
	for _, k := range want {
		if _, ok := objs[k]; !ok {
			t.Errorf("no %s; have %v", k, slices.Sorted(maps.Keys(objs)))
		}
	}
	if _, ok := objs["reasons/format.html"]; ok {
		t.Errorf("reasons/format.html written for a judge that rejected nothing")
	}
	if !bytes.Equal(objs["img/"+rejected.ID+"/r0a1.png"], rejected.Regions[0].Attempts[1].Canvas.Bytes) {
		t.Errorf("r0a1.png is not the canvas of region 0 attempt 1")
	}
	var pages, images, size int64
	for k, b := range objs {
		switch {
		case strings.HasSuffix(k, ".html"):
			pages++
		case strings.HasSuffix(k, ".png"):
			images++
		}
		size += int64(len(b))
	}
	wantSum := report.Summary{Samples: 7, Accepted: 4, Rejected: 3, Failures: 2, Pages: pages, Images: images, Bytes: size}
	if sum != wantSum {
		t.Errorf("summary %+v, want %+v", sum, wantSum)
	}
	if images != 7*4 {
		t.Errorf("%d images, want 28 (3 canvases and a final image per sample)", images)
	}
}

// TestLinks checks that every relative link and image of every page
// points at an object of the report.
func TestLinks(t *testing.T) {
	objs, _ := writeReport(t, "", newTestVersion().input(), report.Options{PageSize: 2})
	for key, b := range objs {
		if !strings.HasSuffix(key, ".html") {
			continue
		}
		for _, ref := range refs(t, b) {
			if strings.Contains(ref, ":") {
				t.Errorf("%s: absolute reference %q", key, ref)
				continue
			}
			target := filepath.ToSlash(filepath.Join(filepath.Dir(key), ref))
			if _, ok := objs[target]; !ok {
				t.Errorf("%s: broken reference %q", key, ref)
			}
		}
	}
}

// refs returns the href and src attributes of a page.
func refs(t *testing.T, page []byte) []string {
	t.Helper()
	var out []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if (a.Key == "href" || a.Key == "src") && a.Namespace == "" {
					out = append(out, a.Val)
				}
			}
		}
	}
}

func TestPagination(t *testing.T) {
	v := newTestVersion()
	objs, _ := writeReport(t, "", v.input(), report.Options{PageSize: 2})
	for _, k := range []string{"reasons/clip.html", "reasons/clip~2.html"} {
		if _, ok := objs[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if _, ok := objs["reasons/clip~3.html"]; ok {
		t.Errorf("3 rejected samples on pages of 2 gave a third page")
	}
	// Every rejected sample is on exactly one page of its reason.
	for _, tr := range v.trajectories {
		n := strings.Count(string(objs["reasons/clip.html"])+string(objs["reasons/clip~2.html"]), "../samples/"+tr.ID+".html\" class")
		if want := map[bool]int{true: 1, false: 0}[tr.Verdict.Status == schema.StatusRejected]; n != want {
			t.Errorf("%s (%s) listed %d times on the clip pages, want %d", tr.ID, tr.Verdict.Status, n, want)
		}
	}
}

// TestDeterministic writes the same report twice, with different
// parallelism, and compares every object.
func TestDeterministic(t *testing.T) {
	v := newTestVersion()
	a, _ := writeReport(t, "", v.input(), report.Options{Parallel: 1})
	// Same rows in another order: the lists are sorted, the funnel order
	// follows the judges' order in the rows.
	slices.Reverse(v.trajectories)
	b, _ := writeReport(t, "", v.input(), report.Options{Parallel: 16})
	if len(a) != len(b) {
		t.Fatalf("%d objects, then %d", len(a), len(b))
	}
	for k := range a {
		if !bytes.Equal(a[k], b[k]) {
			t.Errorf("%s differs between runs", k)
		}
	}
}

const planted = `<script>alert(1)</script>`

// TestEscaping plants a script in every model-written and input text and
// checks that no page carries it as markup.
func TestEscaping(t *testing.T) {
	v := newTestVersion()
	tr := &v.trajectories[1] // rejected
	tr.Prompt = "a cube " + planted
	tr.Regions[0].Thought.Text = "thought " + planted
	tr.Regions[0].Thought.Raw = "raw " + planted
	tr.Regions[0].Attempts[0].Thought = "attempt " + planted
	tr.Regions[0].Attempts[0].Critique.Raw = "critique " + planted
	tr.Regions[0].Attempts[0].Critique.Revised = "revised " + planted
	tr.Judges[1].Reason = "judge " + planted
	tr.Verdict.Reasons = []string{"clip: reason " + planted + `</script><!--`}
	tr.Category = "cat\"><script>alert(1)</script>"
	v.failures[0].Error = "error " + planted
	v.failures[0].Input = "input " + planted
	objs, _ := writeReport(t, "", v.input(), report.Options{})

	sample := objs["samples/"+tr.ID+".html"]
	for _, text := range []string{"thought ", "raw ", "attempt ", "critique ", "revised ", "judge ", "reason "} {
		want := text + "&lt;script&gt;alert(1)&lt;/script&gt;"
		if !bytes.Contains(sample, []byte(want)) {
			t.Errorf("sample page lacks the escaped %q", want)
		}
	}
	if !strings.Contains(textOf(t, sample), "thought "+planted) {
		t.Errorf("sample page does not show the planted thought as text")
	}
	for key, b := range objs {
		if !strings.HasSuffix(key, ".html") {
			continue
		}
		scripts := scriptsOf(t, b)
		want := 0
		if key == report.SearchFile {
			want = 1
		}
		if len(scripts) != want {
			t.Errorf("%s has %d script elements, want %d", key, len(scripts), want)
		}
		for _, s := range scripts {
			if strings.Contains(s, "alert(1)</") || strings.Contains(s, "<!--") || strings.Contains(strings.ToLower(s), "</script") {
				t.Errorf("%s: the planted text breaks out of the script: %q", key, s)
			}
		}
		if bytes.Contains(b, []byte(planted)) {
			t.Errorf("%s holds the planted script verbatim", key)
		}
	}
	if !bytes.Contains(objs[report.FailuresFile], []byte("error &lt;script&gt;")) {
		t.Errorf("failures page lacks the escaped error")
	}
}

// scriptsOf returns the text of each script element of a page, as a
// browser's parser sees it.
func scriptsOf(t *testing.T, page []byte) []string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "script" {
			var s strings.Builder
			for c := range n.ChildNodes() {
				s.WriteString(c.Data)
			}
			out = append(out, s.String())
		}
	}
	return out
}

// textOf returns the text content of a page's body.
func textOf(t *testing.T, page []byte) string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	for n := range doc.Descendants() {
		if n.Type == html.TextNode {
			s.WriteString(n.Data)
		}
	}
	return s.String()
}

func TestSamplePage(t *testing.T) {
	v := newTestVersion()
	tr := v.trajectories[1]
	objs, _ := writeReport(t, "", v.input(), report.Options{})
	text := textOf(t, objs["samples/"+tr.ID+".html"])
	for _, want := range []string{
		tr.Prompt,
		"clip: " + tr.Judges[1].Reason + " below 0.5",
		tr.Regions[0].Thought.Text,
		tr.Regions[0].Attempts[0].Critique.Raw,
		"critique score 40",
		schema.DecisionRepaint,
		"revised thought " + tr.Regions[0].Attempts[0].Critique.Revised,
		"prompts.txt:2",
		"format", "clip", "0.350",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("sample page lacks %q", want)
		}
	}
}

// TestNoImages: a sample without canvases gets a page that says so and
// no image objects; bytes that are not a PNG are not written.
func TestNoImages(t *testing.T) {
	v := newTestVersion()
	tr := &v.trajectories[0]
	tr.FinalImage.Bytes = []byte("<svg onload=alert(1)>")
	for i := range tr.Regions {
		for j := range tr.Regions[i].Attempts {
			tr.Regions[i].Attempts[j].Canvas.Bytes = nil
		}
	}
	objs, _ := writeReport(t, "", v.input(), report.Options{})
	for k := range objs {
		if strings.HasPrefix(k, "img/"+tr.ID+"/") {
			t.Errorf("wrote %s for a sample without PNGs", k)
		}
	}
	text := textOf(t, objs["samples/"+tr.ID+".html"])
	for _, want := range []string{"no image", "not a PNG (21 bytes)"} {
		if !strings.Contains(text, want) {
			t.Errorf("sample page lacks %q", want)
		}
	}
}

// TestUnsafeNames: ids, judge and category names that are not plain
// names stay inside their folders.
func TestUnsafeNames(t *testing.T) {
	v := newTestVersion()
	tr := &v.trajectories[1]
	tr.ID = "../../etc/passwd"
	tr.Verdict.Reasons = []string{"../Clip: bad"}
	tr.Category = "/abs"
	objs, _ := writeReport(t, "out/", v.input(), report.Options{})
	for k := range objs {
		if strings.Contains(k, "..") || strings.HasPrefix(k, "/") || strings.Contains(k, "//") {
			t.Errorf("object %s escapes its folder", k)
		}
	}
}

func TestFromVersion(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	v := newTestVersion()
	const prefix = "test/v1"
	m := v.manifest
	m.Shards = map[string][]exporters.ShardInfo{}
	write := func(config string, rows any) {
		l, _ := exporters.LayoutOf(config)
		var info exporters.ShardInfo
		var err error
		switch rows := rows.(type) {
		case []schema.Trajectory:
			info, err = exporters.WriteShard(ctx, b, prefix, l.ShardPath(0, 1), rows, exporters.ShardOptions{})
		case []schema.Failure:
			info, err = exporters.WriteShard(ctx, b, prefix, l.ShardPath(0, 1), rows, exporters.ShardOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Shards[config] = []exporters.ShardInfo{info}
	}
	var acc, rej []schema.Trajectory
	for _, tr := range v.trajectories {
		if tr.Verdict.Status == schema.StatusAccepted {
			acc = append(acc, tr)
		} else {
			rej = append(rej, tr)
		}
	}
	write(exporters.ConfigTrajectories, acc)
	write(exporters.ConfigRejected, rej)
	write(exporters.ConfigFailed, v.failures)
	if err := exporters.WriteManifest(ctx, b, prefix, &m); err != nil {
		t.Fatal(err)
	}

	in, err := report.FromVersion(ctx, b, prefix)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := report.Write(ctx, b, "report", in, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Samples != 7 || sum.Accepted != 4 || sum.Rejected != 3 || sum.Failures != 2 {
		t.Errorf("summary %+v, want 7 samples, 4 accepted, 3 rejected, 2 failures", sum)
	}
	// The same report as from the rows in memory, but for the order.
	want, _ := writeReport(t, "", v.input(), report.Options{})
	got, err := b.ReadAll(ctx, "report/"+report.IndexFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want[report.IndexFile]) {
		t.Errorf("index from the version differs from the index from the rows")
	}

	_, err = report.FromVersion(ctx, b, "test/v2")
	if !errors.Is(err, exporters.ErrNotCommitted) {
		t.Errorf("FromVersion of a missing version: %v, want ErrNotCommitted", err)
	}
}

func TestWriteErrors(t *testing.T) {
	boom := errors.New("boom")
	v := newTestVersion()
	tests := []struct {
		name string
		in   func() report.Input
		ctx  func() context.Context
		want error
	}{
		{
			name: "trajectories fail",
			in: func() report.Input {
				in := v.input()
				in.Trajectories = func(context.Context, func(*schema.Trajectory) error) error { return boom }
				return in
			},
			ctx:  context.Background,
			want: boom,
		},
		{
			name: "failures fail",
			in: func() report.Input {
				in := v.input()
				in.Failures = func(context.Context, func(*schema.Failure) error) error { return boom }
				return in
			},
			ctx:  context.Background,
			want: boom,
		},
		{
			name: "cancelled",
			in:   v.input,
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := memblob.OpenBucket(nil)
			defer b.Close()
			_, err := report.Write(tc.ctx(), b, "", tc.in(), report.Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if ok, _ := b.Exists(context.Background(), report.IndexFile); ok {
				t.Errorf("index.html written by a failed Write")
			}
		})
	}
}

// TestEmpty: a version with no rows still gets a report.
func TestEmpty(t *testing.T) {
	objs, sum := writeReport(t, "", report.Input{Manifest: exporters.Manifest{Dataset: "d", Version: "v"}}, report.Options{})
	for _, k := range []string{report.IndexFile, report.SearchFile, report.FailuresFile} {
		if _, ok := objs[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if sum.Samples != 0 || sum.Pages != 3 {
		t.Errorf("summary %+v, want 0 samples, 3 pages", sum)
	}
}
