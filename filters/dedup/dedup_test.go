package dedup_test

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/twigdata/twig/annotators"
	"github.com/twigdata/twig/filters/dedup"
	"github.com/twigdata/twig/schema"
)

func TestPromptPairs(t *testing.T) {
	tests := []struct {
		a, b string
		dup  bool
	}{
		{"a red bowl and a blue car", "A red bowl, and a blue car.", true},
		{"a red bowl and a blue car", "a red bowl and a bleu car", true},             // swapped letters
		{"a red bowl and a blue car", "a red bowl and blue cars", true},              // article, plural
		{"a red bowl and a blue car", "A Red Bowl and a Blue Car", true},             // case only
		{"a wooden table and a glass vase", "a wooden tabel and a glass vase", true}, // typo
		{"a wooden table and a glass vase", "a woden table and a glass vase", true},  // dropped letter
		{"a sun flower in a field", "a sunflower in a field", true},
		{"a red bowl and a blue car", "a blue bowl and a red car", false}, // attributes swapped
		{"a red bowl and a blue car", "a red bowl and a blue cat", false}, // another object
		{"a brown bear and a green leaf", "a brown pear and a green leaf", false},
		{"a wooden tabel and a glass vsae", "a wooden table and a glass vase", false}, // two typos
		{"two boys", "three boys", false},
		{"a computer in front of a cow", "a computer in front of a cat", false},
		{"a cubic block and a cylindrical bottle", "a cubic block and a cylindrical bottle of water", false},
	}
	for _, tc := range tests {
		t.Run(tc.a+" | "+tc.b, func(t *testing.T) {
			got := dedup.Find([]dedup.Item{{ID: "a", Prompt: tc.a}, {ID: "b", Prompt: tc.b}}, dedup.Options{})
			if _, dup := got["b"]; dup != tc.dup || len(got) > 1 {
				t.Errorf("Find = %+v, want duplicate %v (jaccard %.2f)", got, tc.dup,
					dedup.Jaccard(dedup.PromptSignature(tc.a), dedup.PromptSignature(tc.b)))
			}
		})
	}
}

func TestSamplesOfOnePrompt(t *testing.T) {
	items := []dedup.Item{
		{ID: "s1", Prompt: "a red bowl"}, {ID: "s0", Prompt: "a red bowl"},
		{ID: "t0", Prompt: "A red bowl."}, {ID: "t1", Prompt: "A red bowl."},
		{ID: "u0", Prompt: "a green apple"},
	}
	got := dedup.FindPrompts(items, dedup.Options{})
	want := map[string]dedup.Duplicate{
		"t0": {Kind: "prompt", Kept: "s0", Similarity: 1},
		"t1": {Kind: "prompt", Kept: "s0", Similarity: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindPrompts = %+v, want %+v", got, want)
	}
}

// noiseImage returns a PNG of random pixels; tweak changes it slightly.
func noiseImage(t testing.TB, seed uint64, tweak func(*image.RGBA)) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	// Blocks of 12x12 pixels, so the 9x8 grid sees structure.
	for by := 0; by < 8; by++ {
		for bx := 0; bx < 8; bx++ {
			c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			for y := by * 12; y < by*12+12; y++ {
				for x := bx * 12; x < bx*12+12; x++ {
					img.SetRGBA(x, y, c)
				}
			}
		}
	}
	if tweak != nil {
		tweak(img)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImages(t *testing.T) {
	brighter := func(img *image.RGBA) {
		for i := range img.Pix {
			if i%4 != 3 && img.Pix[i] < 250 {
				img.Pix[i] += 5
			}
		}
	}
	dot := func(img *image.RGBA) { img.SetRGBA(40, 40, color.RGBA{255, 0, 0, 255}) }
	pngs := map[string][]byte{
		"a": noiseImage(t, 1, nil), "b": noiseImage(t, 1, nil), "c": noiseImage(t, 1, brighter),
		"d": noiseImage(t, 1, dot), "e": noiseImage(t, 2, nil), "f": noiseImage(t, 3, nil),
	}
	var items []dedup.Item
	for _, id := range []string{"f", "e", "d", "c", "b", "a"} {
		h, err := dedup.ImageHash(pngs[id])
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, dedup.Item{ID: id, Prompt: "p " + id, Image: h, HasImage: true})
	}
	items = append(items, dedup.Item{ID: "0", Prompt: "no image"})
	got := dedup.FindImages(items, dedup.Options{})
	var ids []string
	for id, d := range got {
		ids = append(ids, id)
		if d.Kept != "a" || d.Distance > 2 {
			t.Errorf("%s: %+v, want a duplicate of a within 2 bits", id, d)
		}
	}
	sort.Strings(ids)
	if want := []string{"b", "c", "d"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("duplicates = %v, want %v", ids, want)
	}
	if d := dedup.Hamming(items[0].Image, items[1].Image); d < 16 {
		t.Errorf("unrelated images are %d bits apart, want >= 16", d)
	}
	if _, err := dedup.ImageHash([]byte("not a png")); err == nil {
		t.Errorf("ImageHash accepted a non-PNG")
	}
}

func TestJudgeResults(t *testing.T) {
	prompts := map[string]dedup.Duplicate{"b": {Kind: "prompt", Kept: "a", Similarity: 0.934}}
	images := map[string]dedup.Duplicate{"c": {Kind: "image", Kept: "a", Similarity: 1 - 2.0/64, Distance: 2}}
	tests := []struct {
		got, want schema.JudgeResult
	}{
		{dedup.PromptResult(prompts, "b"), schema.JudgeResult{Name: "dedup_prompt", Version: "1", Score: 0, Reason: "near-duplicate prompt of a (jaccard 0.93)"}},
		{dedup.PromptResult(prompts, "a"), schema.JudgeResult{Name: "dedup_prompt", Version: "1", Score: 1, Pass: true, Reason: "no earlier near-duplicate prompt"}},
		{dedup.ImageResult(images, "c"), schema.JudgeResult{Name: "dedup_image", Version: "1", Score: 0, Reason: "near-duplicate image of a (hamming 2)"}},
		{dedup.ImageResult(prompts, "b"), schema.JudgeResult{Name: "dedup_image", Version: "1", Score: 1, Pass: true, Reason: "no earlier near-duplicate image"}},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%d: got %+v, want %+v", i, tc.got, tc.want)
		}
	}
}

// sharedPrompts reads every prompt file in the repository's copy of the
// T2I-CompBench prompts (testdata/prompts), normalised (trimmed, white
// space collapsed, lower case), exact duplicates dropped.
func sharedPrompts(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "prompts", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no prompt files in ../../testdata/prompts: %v", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			p := strings.ToLower(strings.Join(strings.Fields(sc.Text()), " "))
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// TestSharedPromptSets runs the default options over the real prompt sets
// and checks that what is flagged is a genuine near-duplicate: the one
// pair found differs only in a final full stop.
func TestSharedPromptSets(t *testing.T) {
	ps := sharedPrompts(t)
	var items []dedup.Item
	for i, p := range ps {
		items = append(items, dedup.Item{ID: fmt.Sprintf("p%04d", i), Prompt: p})
	}
	got := dedup.FindPrompts(items, dedup.Options{})
	byID := map[string]string{}
	for _, it := range items {
		byID[it.ID] = it.Prompt
	}
	var pairs []string
	for id, d := range got {
		pair := fmt.Sprintf("%q ~ %q", byID[d.Kept], byID[id])
		t.Logf("%d prompts: %s (jaccard %.2f)", len(ps), pair, d.Similarity)
		pairs = append(pairs, pair)
	}
	want := []string{`"a round bagel and a square toaster" ~ "a round bagel and a square toaster."`}
	if !reflect.DeepEqual(pairs, want) {
		t.Errorf("near-duplicates = %v, want %v", pairs, want)
	}
}

func TestOrderIndependence(t *testing.T) {
	var items []dedup.Item
	for i, c := range annotators.Compose(2000, 7) {
		items = append(items, dedup.Item{ID: fmt.Sprintf("c%05d", i), Prompt: c.Text, Image: uint64(i % 300), HasImage: true})
	}
	// Plant near-duplicates of the first 50 prompts.
	for i := range 50 {
		items = append(items, dedup.Item{ID: fmt.Sprintf("d%05d", i), Prompt: strings.ToUpper(items[i].Prompt[:1]) + items[i].Prompt[1:] + "."})
	}
	want := dedup.Find(items, dedup.Options{})
	if len(want) < 50 {
		t.Fatalf("found %d duplicates, want at least the 50 planted", len(want))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3 {
		r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		if got := dedup.Find(items, dedup.Options{}); !reflect.DeepEqual(got, want) {
			t.Fatalf("Find after shuffling differs")
		}
	}
}

func BenchmarkFind(b *testing.B) {
	composed := annotators.Compose(50000, 1)
	r := rand.New(rand.NewPCG(3, 4))
	items := make([]dedup.Item, len(composed))
	for i, c := range composed {
		items[i] = dedup.Item{ID: fmt.Sprintf("t%06d", i), Prompt: c.Text, Image: r.Uint64(), HasImage: true}
	}
	b.ResetTimer()
	for b.Loop() {
		dedup.Find(items, dedup.Options{})
	}
}

// TestSameLayoutOtherColours: two pictures with the same shapes in
// different colours of equal brightness share a dHash; with their colour
// thumbnails they are not duplicates, while a re-coloured copy within a
// few levels still is.
func TestSameLayoutOtherColours(t *testing.T) {
	picture := func(c color.RGBA) []byte {
		img := image.NewRGBA(image.Rect(0, 0, 96, 96))
		draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{210, 210, 205, 255}}, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(10, 10, 60, 40), &image.Uniform{c}, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(40, 55, 90, 90), &image.Uniform{c}, image.Point{}, draw.Src)
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	green := picture(color.RGBA{0, 160, 0, 255})     // grey level 94
	magenta := picture(color.RGBA{255, 0, 155, 255}) // grey level 94
	greenish := picture(color.RGBA{4, 163, 2, 255})  // the green, a few levels off
	var items []dedup.Item
	for i, p := range [][]byte{green, magenta, greenish} {
		h, thumb, err := dedup.ImagePrint(p)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, dedup.Item{ID: fmt.Sprintf("id-%d", i), Image: h, Thumb: thumb, HasImage: true})
	}
	opt := dedup.DefaultOptions()
	opt.ImageMaxDistance = 8 // float ties between equal grey levels flip a few bits
	if d := dedup.Hamming(items[0].Image, items[1].Image); d > opt.ImageMaxDistance {
		t.Fatalf("the test pictures should have close dHashes: %d bits apart", d)
	}
	dups := dedup.FindImages(items, opt)
	if _, ok := dups["id-1"]; ok {
		t.Errorf("the magenta picture is a duplicate of the green one: %+v", dups)
	}
	if d, ok := dups["id-2"]; !ok || d.Kept != "id-0" {
		t.Errorf("the re-coloured copy: %+v, want a duplicate of id-0", dups)
	}
	// Without thumbnails only the hashes count.
	for i := range items {
		items[i].Thumb = nil
	}
	if _, ok := dedup.FindImages(items, opt)["id-1"]; !ok {
		t.Errorf("without thumbnails the equal hashes should be duplicates")
	}
}
