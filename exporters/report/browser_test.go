package report_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gocloud.dev/blob/fileblob"

	"github.com/twigdata/twig/exporters/report"
	"github.com/twigdata/twig/schema"
)

// chromiumPath returns the browser the browser test drives: $TWIG_CHROMIUM,
// or the first of the usual names on $PATH; "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("TWIG_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser opens a report from disk in headless Chromium, clicks from
// the index to the clip rejections and on to a rejected sample, and
// checks what the page shows: the prompt, the reason, the planted script
// as text and not as an element, and canvases that loaded. It skips when
// no browser is installed (apt-get install chromium), unless
// TWIG_REQUIRE_CHROMIUM=1. The screenshot goes to the test's artifact
// folder (go test -artifacts keeps it).
func TestBrowser(t *testing.T) {
	exe := chromiumPath()
	if exe == "" {
		const msg = "no chromium binary found (install it with apt-get install chromium, or set TWIG_CHROMIUM to its path)"
		if os.Getenv("TWIG_REQUIRE_CHROMIUM") == "1" {
			t.Fatal(msg + "; TWIG_REQUIRE_CHROMIUM=1 forbids skipping")
		}
		t.Skip(msg)
	}

	dir := t.TempDir()
	bucket, err := fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	v := newTestVersion()
	rejected := &v.trajectories[1]
	if rejected.Verdict.Status != schema.StatusRejected {
		t.Fatal("test version: trajectory 1 is not rejected")
	}
	rejected.Regions[0].Thought.Text = "the top half " + planted
	if _, err := report.Write(context.Background(), bucket, "", v.input(), report.Options{}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1280, 900))
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	defer cancelTab()

	index := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, report.IndexFile))}).String()
	samplePage := "../samples/" + rejected.ID + ".html"
	err = chromedp.Do(ctx,
		chromedp.Navigate(index),
		chromedp.WaitVisible(chromedp.CSS(`a[href="reasons/clip.html"]`)),
		chromedp.Click(chromedp.CSS(`a[href="reasons/clip.html"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.sid[href="`+samplePage+`"]`)),
		chromedp.Click(chromedp.CSS(`a.sid[href="`+samplePage+`"]`)),
		chromedp.WaitVisible(chromedp.ID("prompt")),
	)
	if err != nil {
		t.Fatalf("click through index → reasons/clip.html → sample: %v", err)
	}
	loc := run(t, ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/samples/"+rejected.ID+".html") {
		t.Errorf("at %s, want the sample page of %s", loc, rejected.ID)
	}
	if got := run(t, ctx, chromedp.Text(chromedp.ID("prompt"))); got != rejected.Prompt {
		t.Errorf("prompt shows %q, want %q", got, rejected.Prompt)
	}
	wantReason := "clip: " + rejected.Judges[1].Reason + " below 0.5"
	if got := run(t, ctx, chromedp.Text(chromedp.ID("reasons"))); !strings.Contains(got, wantReason) {
		t.Errorf("reasons show %q, want %q", got, wantReason)
	}
	if got := run(t, ctx, chromedp.Text(chromedp.CSS("#region-1 .thought"))); got != rejected.Regions[0].Thought.Text {
		t.Errorf("thought shows %q, want %q", got, rejected.Regions[0].Thought.Text)
	}
	if n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("script").length`)); n != 0 {
		t.Errorf("the sample page has %d script elements, want none", n)
	}

	// Every image: the three canvases and the final image, loaded from disk.
	run(t, ctx, chromedp.Poll[bool](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(20*time.Second)))
	widths := run(t, ctx, chromedp.Evaluate[[]int](`Array.from(document.images).map(i => i.naturalWidth)`))
	if len(widths) != 4 {
		t.Errorf("%d images on the sample page, want 4 (3 canvases, the final image)", len(widths))
	}
	for i, w := range widths {
		if w != 32 {
			t.Errorf("image %d has naturalWidth %d, want 32: it did not load", i, w)
		}
	}

	shot := run(t, ctx, chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if n := colours(img); n < 8 {
		t.Errorf("screenshot has %d colours: blank", n)
	}
	out := filepath.Join(t.ArtifactDir(), "sample.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s (%dx%d)", loc, out, img.Bounds().Dx(), img.Bounds().Dy())

	// The search page finds the sample by a piece of its id.
	err = chromedp.Do(ctx,
		chromedp.Navigate((&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, report.SearchFile))}).String()),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), rejected.ID[:13]),
		chromedp.WaitVisible(chromedp.CSS(`#results a[href="samples/`+rejected.ID+`.html"]`)),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if got := run(t, ctx, chromedp.Text(chromedp.ID("count"))); got != "1 match" {
		t.Errorf("search count %q, want %q", got, "1 match")
	}
}

// run runs one action and fails the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// colours counts the distinct colours of an image, up to 1000.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}
