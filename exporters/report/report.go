package report

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"gocloud.dev/blob"
	"golang.org/x/sync/errgroup"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/audit"
	"github.com/twigdata/twig/schema"
)

// Files at the top of a report.
const (
	// IndexFile is the report's entry page, written last.
	IndexFile = "index.html"
	// SearchFile is the search page.
	SearchFile = "search.html"
	// FailuresFile lists the failed rows.
	FailuresFile = "failures.html"
)

// Defaults of Options.
const (
	// DefaultPageSize is the default number of samples on one reason or
	// category page.
	DefaultPageSize = 500
	// DefaultParallel is the default number of objects written at once.
	DefaultParallel = 8
)

// Input is what a report shows: a version's manifest and its rows.
// FromVersion builds it from a version in a bucket.
type Input struct {
	// Manifest gives the dataset, version, counts, models and templates.
	Manifest exporters.Manifest
	// Trajectories calls yield with every accepted and rejected trajectory,
	// full rows with their canvases, one at a time, and returns the first
	// error yield returns. yield does not keep t after it returns, so the
	// caller may reuse it. nil means none.
	Trajectories func(ctx context.Context, yield func(t *schema.Trajectory) error) error
	// Failures calls yield with every failed row in the same way. nil
	// means none.
	Failures func(ctx context.Context, yield func(f *schema.Failure) error) error
}

// Options are the settings of Write. The zero value is the default.
type Options struct {
	// Title is the report's title; "" means "<dataset> <version>".
	Title string
	// PageSize is the most samples a reason or category page lists;
	// longer lists continue on <name>~2.html and so on. 0 means
	// DefaultPageSize.
	PageSize int
	// Parallel is the most objects written at once; 0 means
	// DefaultParallel. Memory holds at most about this many pages and
	// images besides the sample being read.
	Parallel int
}

// Summary says what Write wrote.
type Summary struct {
	// Samples is the number of trajectories shown, Accepted and Rejected
	// of them by verdict; Failures the number of failed rows.
	Samples, Accepted, Rejected, Failures int64
	// Pages and Images are the numbers of HTML pages and PNG files
	// written, Bytes their total size.
	Pages, Images, Bytes int64
}

// Write writes the report of in under prefix in bucket and returns what it
// wrote. It streams the input: memory holds a short summary per sample,
// not the images. index.html is written last, after every other object
// has been written, so a report with an index is complete. To abort,
// cancel ctx.
func Write(ctx context.Context, bucket *blob.Bucket, prefix string, in Input, opt Options) (Summary, error) {
	if opt.PageSize <= 0 {
		opt.PageSize = DefaultPageSize
	}
	if opt.Parallel <= 0 {
		opt.Parallel = DefaultParallel
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Parallel)
	w := &writer{bucket: bucket, prefix: prefix, opt: opt, g: g, agg: newAggregate()}
	w.title = opt.Title
	if w.title == "" {
		w.title = in.Manifest.Dataset + " " + in.Manifest.Version
	}
	err := w.stream(gctx, in)
	if werr := g.Wait(); werr != nil {
		err = werr // the first write error is the cause of any later one
	}
	if err != nil {
		return w.sum, err
	}
	// The index goes last, alone, once everything it links to is there.
	b, err := w.render("index", w.indexPage(&in.Manifest, w.audit))
	if err != nil {
		return w.sum, err
	}
	w.sum.Pages++
	w.sum.Bytes += int64(len(b))
	if err := bucket.WriteAll(ctx, exporters.Key(prefix, IndexFile), b, &blob.WriterOptions{ContentType: contentTypeHTML}); err != nil {
		return w.sum, fmt.Errorf("report: write %s: %w", IndexFile, err)
	}
	return w.sum, nil
}

const (
	contentTypeHTML = "text/html; charset=utf-8"
	contentTypePNG  = "image/png"
)

// writer holds the state of one Write.
type writer struct {
	bucket *blob.Bucket
	prefix string
	opt    Options
	title  string
	g      *errgroup.Group
	sum    Summary
	agg    *aggregate
	// audit is the version's statistics, once every row has been read.
	audit *audit.Audit
}

// stream writes every sample page and image and the failures page, and
// then the list pages and the search page.
func (w *writer) stream(ctx context.Context, in Input) error {
	if in.Trajectories != nil {
		err := in.Trajectories(ctx, func(t *schema.Trajectory) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return w.sample(ctx, t)
		})
		if err != nil {
			return fmt.Errorf("report: trajectories: %w", err)
		}
	}
	if err := w.failures(ctx, in.Failures); err != nil {
		return err
	}
	w.audit = w.agg.an.Audit(&in.Manifest)
	return w.lists(ctx)
}

// sample writes one trajectory's images and page and keeps its summary.
func (w *writer) sample(ctx context.Context, t *schema.Trajectory) error {
	s := w.agg.add(t)
	w.sum.Samples++
	switch t.Verdict.Status {
	case schema.StatusAccepted:
		w.sum.Accepted++
	case schema.StatusRejected:
		w.sum.Rejected++
	}
	page := w.samplePage(t, s)
	for i, r := range t.Regions {
		for j, a := range r.Attempts {
			if isPNG(a.Canvas.Bytes) {
				w.putImage(ctx, canvasPath(s.Slug, i, j), a.Canvas.Bytes)
			}
		}
	}
	if isPNG(t.FinalImage.Bytes) {
		w.putImage(ctx, finalPath(s.Slug), t.FinalImage.Bytes)
	}
	return w.putPage(ctx, samplePath(s.Slug), "sample", page)
}

// failures streams the failures page straight to the bucket.
func (w *writer) failures(ctx context.Context, each func(context.Context, func(*schema.Failure) error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	key := exporters.Key(w.prefix, FailuresFile)
	bw, err := w.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentTypeHTML})
	if err != nil {
		return fmt.Errorf("report: write %s: %w", FailuresFile, err)
	}
	cw := &countingWriter{w: bw}
	err = func() error {
		if err := tmpl.ExecuteTemplate(cw, "failures-head", w.page("Failed rows", "")); err != nil {
			return err
		}
		if each != nil {
			err := each(ctx, func(f *schema.Failure) error {
				w.agg.addFailure(f)
				return tmpl.ExecuteTemplate(cw, "failure-row", failureRow(f))
			})
			if err != nil {
				return err
			}
		}
		return tmpl.ExecuteTemplate(cw, "failures-foot", w.agg.failureCount())
	}()
	if err != nil {
		cancel() // discard the partial page
		bw.Close()
		return fmt.Errorf("report: write %s: %w", FailuresFile, err)
	}
	if err := bw.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", FailuresFile, err)
	}
	w.sum.Failures = w.agg.failures
	w.sum.Pages++
	w.sum.Bytes += cw.n
	return nil
}

// lists writes the reason and category pages and the search page.
func (w *writer) lists(ctx context.Context) error {
	a := w.agg
	slices.SortFunc(a.samples, func(x, y sampleInfo) int {
		if c := strings.Compare(x.ID, y.ID); c != 0 {
			return c
		}
		return strings.Compare(x.Slug, y.Slug)
	})
	for _, j := range w.audit.RejectedByJudge {
		var rows []listRow
		for i := range a.samples {
			s := &a.samples[i]
			if s.Status != schema.StatusRejected {
				continue
			}
			if rs := s.reasonsBy(j.Judge); len(rs) > 0 {
				rows = append(rows, w.listRow(s, rs))
			}
		}
		if err := w.listPages(ctx, "reasons", slug(j.Judge), "Rejected by "+cmp.Or(j.Judge, "(none)"), rows); err != nil {
			return err
		}
	}
	for _, name := range audit.CategoryOrder(w.audit.Categories) {
		var rows []listRow
		for i := range a.samples {
			s := &a.samples[i]
			if s.Category == name {
				rows = append(rows, w.listRow(s, s.Reasons))
			}
		}
		if err := w.listPages(ctx, "categories", slug(name), "Category "+cmp.Or(name, "(none)"), rows); err != nil {
			return err
		}
	}
	return w.putPage(ctx, SearchFile, "search", w.searchPage())
}

// listPages writes rows on pages of at most PageSize rows: dir/slug.html,
// dir/slug~2.html and so on. It writes nothing for no rows.
func (w *writer) listPages(ctx context.Context, dir, slug, title string, rows []listRow) error {
	n := (len(rows) + w.opt.PageSize - 1) / w.opt.PageSize
	for p := range n {
		lo, hi := p*w.opt.PageSize, min((p+1)*w.opt.PageSize, len(rows))
		lp := listPage{page: w.page(title, "../"), Rows: rows[lo:hi], Total: len(rows), From: lo + 1, To: hi}
		if n > 1 {
			for q := range n {
				lp.Pages = append(lp.Pages, pageLink{N: q + 1, Href: listFile(slug, q), Current: q == p})
			}
		}
		if err := w.putPage(ctx, dir+"/"+listFile(slug, p), "list", lp); err != nil {
			return err
		}
	}
	return nil
}

// listFile names page p (0-based) of a list.
func listFile(slug string, p int) string {
	if p == 0 {
		return slug + ".html"
	}
	return fmt.Sprintf("%s~%d.html", slug, p+1)
}

func (w *writer) render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("report: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// putPage renders a page and writes it in the background.
func (w *writer) putPage(ctx context.Context, path, name string, data any) error {
	b, err := w.render(name, data)
	if err != nil {
		return err
	}
	w.sum.Pages++
	w.put(ctx, path, contentTypeHTML, b)
	return nil
}

// putImage writes a copy of a PNG in the background.
func (w *writer) putImage(ctx context.Context, path string, png []byte) {
	w.sum.Images++
	w.put(ctx, path, contentTypePNG, bytes.Clone(png))
}

// put writes b to path in the background, waiting while Parallel writes
// are in flight. b must not change afterwards.
func (w *writer) put(ctx context.Context, path, contentType string, b []byte) {
	w.sum.Bytes += int64(len(b))
	key := exporters.Key(w.prefix, path)
	w.g.Go(func() error {
		if err := w.bucket.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: contentType}); err != nil {
			return fmt.Errorf("report: write %s: %w", path, err)
		}
		return nil
	})
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// isPNG reports whether b starts with the PNG signature. Other bytes are
// not written as images.
func isPNG(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n"))
}
