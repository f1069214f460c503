package dedup

import (
	"bytes"
	"cmp"
	"fmt"
	"image"
	"image/png"
	"math/bits"
	"slices"
)

// ImageHash returns the 64-bit difference hash (dHash) of a PNG image: the
// image is reduced to a 9x8 grid of grey levels by area averaging, and bit
// 8*y+x is set when cell (x, y) is darker than cell (x+1, y).
func ImageHash(pngData []byte) (uint64, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, fmt.Errorf("image hash: %w", err)
	}
	return hashImage(img), nil
}

// ThumbSize is the side of the colour thumbnail of [ImagePrint].
const ThumbSize = 4

// ImagePrint returns the [ImageHash] of a PNG image and its colour
// thumbnail: the image reduced to ThumbSize x ThumbSize cells by area
// averaging, 3 bytes (R, G, B) per cell, row by row. The dHash sees only
// grey levels, so two pictures with the same layout in different colours
// (a green blob and a magenta one of the same brightness) hash alike; the
// thumbnail tells them apart.
func ImagePrint(pngData []byte) (uint64, []byte, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, nil, fmt.Errorf("image hash: %w", err)
	}
	return hashImage(img), thumbnail(img), nil
}

func thumbnail(img image.Image) []byte {
	const n = ThumbSize
	b := img.Bounds()
	out := make([]byte, 3*n*n)
	if b.Empty() {
		return out
	}
	var sum [n * n][3]float64
	var cnt [n * n]float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		cy := (y - b.Min.Y) * n / b.Dy()
		for x := b.Min.X; x < b.Max.X; x++ {
			cx := (x - b.Min.X) * n / b.Dx()
			r, g, bl, _ := img.At(x, y).RGBA()
			c := cy*n + cx
			sum[c][0] += float64(r >> 8)
			sum[c][1] += float64(g >> 8)
			sum[c][2] += float64(bl >> 8)
			cnt[c]++
		}
	}
	for c := range sum {
		for k := range 3 {
			out[3*c+k] = byte(mean(sum[c][k], cnt[c]) + 0.5)
		}
	}
	return out
}

// ColourDistance is the mean absolute difference, 0..255, of two colour
// thumbnails of [ImagePrint]; 0 when either is missing.
func ColourDistance(a, b []byte) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	total := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		total += max(d, -d)
	}
	return float64(total) / float64(len(a))
}

func hashImage(img image.Image) uint64 {
	const w, h = 9, 8
	b := img.Bounds()
	if b.Empty() {
		return 0
	}
	var sum, cnt [h][w]float64
	cx := make([]int, b.Dx())
	for x := range cx {
		cx[x] = x * w / b.Dx()
	}
	grey := func(r, g, bl uint32) float64 { return 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl) }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		cy := (y - b.Min.Y) * h / b.Dy()
		switch m := img.(type) {
		case *image.RGBA:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range cx {
				p := row[4*x:]
				sum[cy][cx[x]] += grey(uint32(p[0]), uint32(p[1]), uint32(p[2]))
				cnt[cy][cx[x]]++
			}
		case *image.NRGBA:
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range cx {
				p := row[4*x:]
				sum[cy][cx[x]] += grey(uint32(p[0]), uint32(p[1]), uint32(p[2]))
				cnt[cy][cx[x]]++
			}
		default:
			for x := range cx {
				r, g, bl, _ := img.At(b.Min.X+x, y).RGBA()
				sum[cy][cx[x]] += grey(r>>8, g>>8, bl>>8)
				cnt[cy][cx[x]]++
			}
		}
	}
	var hash uint64
	for y := range h {
		for x := range w - 1 {
			// Compare means; a cell with no pixel (an image narrower than
			// the grid) counts as 0.
			l, r := mean(sum[y][x], cnt[y][x]), mean(sum[y][x+1], cnt[y][x+1])
			if l < r {
				hash |= 1 << (8*y + x)
			}
		}
	}
	return hash
}

func mean(s, n float64) float64 {
	if n == 0 {
		return 0
	}
	return s / n
}

// Hamming returns the number of bits in which a and b differ.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// FindImages returns the image near-duplicates among items that have an
// image, by item ID: hashes at most Options.ImageMaxDistance bits apart
// whose colour thumbnails (when the items have them) are at most
// Options.ImageMaxColour apart, clustered, the smallest ID of each cluster
// kept.
func FindImages(items []Item, opt Options) map[string]Duplicate {
	opt = opt.withDefaults()
	d := opt.ImageMaxDistance
	// Distinct prints; items with the same hash and thumbnail are one node.
	type print struct {
		hash  uint64
		thumb string
	}
	byPrint := map[print]int32{}
	var hashes []uint64
	var thumbs [][]byte
	node := make([]int32, len(items))
	for i, it := range items {
		if !it.HasImage {
			node[i] = -1
			continue
		}
		p := print{it.Image, string(it.Thumb)}
		k, ok := byPrint[p]
		if !ok {
			k = int32(len(hashes))
			byPrint[p] = k
			hashes = append(hashes, it.Image)
			thumbs = append(thumbs, it.Thumb)
		}
		node[i] = k
	}
	near := func(i, j int32) bool {
		return Hamming(hashes[i], hashes[j]) <= d && ColourDistance(thumbs[i], thumbs[j]) <= opt.ImageMaxColour
	}
	u := newUnionFind(len(hashes))
	if d == 0 {
		// Equal hashes whose thumbnails differ are separate nodes; join the
		// ones whose colours are close.
		byHash := map[uint64][]int32{}
		for i, h := range hashes {
			byHash[h] = append(byHash[h], int32(i))
		}
		for _, group := range byHash {
			for x := range group {
				for y := x + 1; y < len(group); y++ {
					if near(group[x], group[y]) {
						u.union(group[x], group[y])
					}
				}
			}
		}
	}
	if d > 0 {
		// d+1 bands: two hashes at most d bits apart agree on one of them.
		type entry struct {
			key uint64
			idx int32
		}
		keys := make([]entry, len(hashes))
		nb := d + 1
		for b := range nb {
			lo, hi := 64*b/nb, 64*(b+1)/nb
			mask := (uint64(1)<<(hi-lo) - 1) << lo
			for i, h := range hashes {
				keys[i] = entry{h & mask, int32(i)}
			}
			slices.SortFunc(keys, func(x, y entry) int { return cmp.Compare(x.key, y.key) })
			for s := 0; s < len(keys); {
				e := s + 1
				for e < len(keys) && keys[e].key == keys[s].key {
					e++
				}
				for x := s; x < e; x++ {
					for y := x + 1; y < e; y++ {
						i, j := keys[x].idx, keys[y].idx
						if u.find(i) != u.find(j) && near(i, j) {
							u.union(i, j)
						}
					}
				}
				s = e
			}
		}
	}
	// Representative: the item with the smallest ID in each cluster.
	rep := map[int32]int{}
	for i, it := range items {
		if node[i] < 0 {
			continue
		}
		r := u.find(node[i])
		if cur, ok := rep[r]; !ok || it.ID < items[cur].ID {
			rep[r] = i
		}
	}
	out := map[string]Duplicate{}
	for i, it := range items {
		if node[i] < 0 {
			continue
		}
		k := rep[u.find(node[i])]
		if k == i {
			continue
		}
		dist := Hamming(it.Image, items[k].Image)
		out[it.ID] = Duplicate{Kind: KindImage, Kept: items[k].ID, Similarity: 1 - float64(dist)/64, Distance: dist}
	}
	return out
}
