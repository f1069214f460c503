// Package dedup finds near-duplicate prompts and images among trajectories.
// It is a pure library: no I/O, no Beam; the pipeline collects one [Item]
// per trajectory, calls [Find] (or [FindPrompts] and [FindImages]) once over
// the whole dataset, and records each trajectory's result with
// [PromptResult] and [ImageResult] as the judges "dedup_prompt" and
// "dedup_image".
//
// # Prompts
//
// [PromptSignature] is a MinHash signature ([NumHashes] hashes with fixed
// seeds, so it is the same in every process) over the character 4-grams
// of the prompt's canonical text: lower case, every run of characters that
// are not letters or digits collapsed to one space. [Jaccard] estimates
// the Jaccard similarity of two shingle sets from their signatures.
//
// Character shingles alone cannot tell a typo from a different prompt.
// T2I-CompBench-style prompt sets are built from templates, so distinct
// prompts differ by one word ("a computer in front of a cow" / "... a
// cat": Jaccard 0.85 over 5-grams) or swap attributes ("a white paper
// plate ... a green picnic table" / "a green paper plate ... a white
// picnic table": 0.94), while one typo in a short prompt ("a red bowl and
// a bleu car") scores only about 0.6. So a pair of prompts is a
// near-duplicate when both hold:
//
//   - their estimated Jaccard is at least Options.PromptThreshold
//     (default [DefaultPromptThreshold], 0.5): the MinHash bound that
//     selects candidates, low enough that a single typo in a 25-character
//     prompt still qualifies;
//   - their words differ only cosmetically: in case, punctuation, white
//     space (including a split or joined word), the articles "a", "an" and
//     "the", singular versus plural ("car"/"cars", "box"/"boxes",
//     "berry"/"berries"), and at most one typo: one word at edit distance 1
//     from its counterpart, where an edit is swapping two adjacent letters
//     (words of 3 letters or more) or inserting, deleting or changing one
//     letter (words of 5 letters or more, so that "cat"/"car" and
//     "bear"/"pear" stay different prompts).
//
// On the seven T2I-CompBench++ validation sets in shared/data/prompts
// (2,095 distinct prompts after lower-casing and collapsing white space)
// this flags exactly one pair, "a round bagel and a square toaster" and
// the same prompt with a final full stop; pure Jaccard at 0.8 over 5-grams
// would have flagged a dozen distinct prompts (see TestSharedPromptSets).
// Very short prompts (under about 12 characters) have so few shingles
// that a typo in them may be missed.
//
// Samples of the same prompt (items whose normalised prompts are
// identical, samples_per_prompt > 1) are not prompt duplicates of each
// other; they may still be image duplicates.
//
// Candidates come from LSH banding over the signature (32 bands of 4
// hashes; a pair at Jaccard 0.5 becomes a candidate with probability
// 0.87, at 0.6 with 0.99), so Find does not compare every pair: 50,000
// templated prompts from annotators.Compose take about 2 s on two cores
// (BenchmarkFind), most of it comparing the many similar template pairs.
//
// # Images
//
// [ImageHash] is a 64-bit difference hash (dHash) of a PNG: the image is
// reduced to a 9x8 grey grid by area averaging and each bit says whether a
// cell is darker than its right neighbour. [Hamming] counts differing
// bits. Two images are near-duplicates when their hashes are at most
// Options.ImageMaxDistance (default [DefaultImageMaxDistance], 4) bits
// apart: re-encodings, small brightness shifts and a few changed pixels
// stay within 1 or 2 bits, while unrelated images are about 32 bits apart.
// The dHash sees grey levels only, and pictures made of a few flat shapes
// on one background (the simulator's) often share a layout; so items that
// carry a colour thumbnail ([ImagePrint], 4x4 cells) must also be within
// Options.ImageMaxColour (default 12 of 255, mean absolute difference):
// a green shape and a magenta one of equal brightness are not duplicates.
// Blank or near-uniform images all hash alike and are duplicates of each
// other. Candidates come from splitting the hash into ImageMaxDistance+1
// bands: two hashes within the distance agree on at least one band.
//
// # Clusters
//
// Near-duplicate pairs are joined into clusters (union-find, so a chain
// of near-duplicates is one cluster). The representative of a cluster is
// its smallest ID, whatever the input order; every other member is a
// [Duplicate] pointing at it, with its similarity to the representative
// itself. For prompts, the items sharing the representative's exact prompt
// are kept too.
package dedup

import (
	"fmt"

	"github.com/twigdata/twig/schema"
)

// Judge names and version of the two dedup judges.
const (
	PromptJudge = "dedup_prompt"
	ImageJudge  = "dedup_image"
	Version     = "1"
)

// Duplicate kinds.
const (
	KindPrompt = "prompt"
	KindImage  = "image"
)

// Defaults of [Options].
const (
	DefaultPromptThreshold  = 0.5
	DefaultImageMaxDistance = 4
	DefaultImageMaxColour   = 12
)

// Item is one trajectory as dedup sees it.
type Item struct {
	// ID identifies the trajectory; IDs must be unique.
	ID string
	// Prompt is the normalised prompt (schema.Trajectory.PromptNormalized).
	Prompt string
	// Image is the final image's [ImageHash]; HasImage says whether there
	// is one. Thumb is its colour thumbnail from [ImagePrint]; without one
	// only the hashes are compared.
	Image    uint64
	Thumb    []byte
	HasImage bool
}

// Options tunes [Find]. A zero field takes its default.
type Options struct {
	// PromptThreshold is the smallest estimated Jaccard similarity of two
	// prompts' shingles for them to be compared word by word; default
	// DefaultPromptThreshold.
	PromptThreshold float64
	// ImageMaxDistance is the largest Hamming distance between two image
	// hashes that makes them near-duplicates; default
	// DefaultImageMaxDistance. A negative value flags identical hashes only.
	ImageMaxDistance int
	// ImageMaxColour is the largest mean absolute difference (0..255) of
	// two colour thumbnails that still makes near-duplicates; default
	// DefaultImageMaxColour.
	ImageMaxColour float64
}

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() Options {
	return Options{PromptThreshold: DefaultPromptThreshold, ImageMaxDistance: DefaultImageMaxDistance, ImageMaxColour: DefaultImageMaxColour}
}

func (o Options) withDefaults() Options {
	if o.PromptThreshold <= 0 || o.PromptThreshold != o.PromptThreshold {
		o.PromptThreshold = DefaultPromptThreshold
	}
	if o.ImageMaxColour <= 0 || o.ImageMaxColour != o.ImageMaxColour {
		o.ImageMaxColour = DefaultImageMaxColour
	}
	switch {
	case o.ImageMaxDistance == 0:
		o.ImageMaxDistance = DefaultImageMaxDistance
	case o.ImageMaxDistance < 0:
		o.ImageMaxDistance = 0
	case o.ImageMaxDistance > 63:
		o.ImageMaxDistance = 63
	}
	return o
}

// Duplicate says that an item is a near-duplicate of a kept one.
type Duplicate struct {
	// Kind is KindPrompt or KindImage.
	Kind string
	// Kept is the ID of the cluster's representative, which is kept.
	Kept string
	// Similarity is the estimated Jaccard similarity of the prompts, or
	// 1 - Distance/64 for images.
	Similarity float64
	// Distance is the Hamming distance of the image hashes (images only).
	Distance int
}

// Find returns the near-duplicates among items, by item ID: the prompt
// duplicates of [FindPrompts] and the image duplicates of [FindImages].
// An item that is both is reported as a prompt duplicate; the judges need
// the two kinds apart, so the pipeline should call FindPrompts and
// FindImages and pass each map to its judge.
func Find(items []Item, opt Options) map[string]Duplicate {
	out := FindImages(items, opt)
	for id, d := range FindPrompts(items, opt) {
		out[id] = d
	}
	return out
}

// PromptResult is the "dedup_prompt" judge's result for the item id, given
// the prompt duplicates from [FindPrompts]: score 1 and pass for a unique
// prompt or a cluster's representative, score 0 and fail for a
// near-duplicate. Entries of another kind are ignored.
func PromptResult(dups map[string]Duplicate, id string) schema.JudgeResult {
	r := schema.JudgeResult{Name: PromptJudge, Version: Version, Score: 1, Pass: true, Reason: "no earlier near-duplicate prompt"}
	if d, ok := dups[id]; ok && d.Kind == KindPrompt {
		r.Score, r.Pass = 0, false
		r.Reason = fmt.Sprintf("near-duplicate prompt of %s (jaccard %.2f)", d.Kept, d.Similarity)
	}
	return r
}

// ImageResult is the "dedup_image" judge's result for the item id, given
// the image duplicates from [FindImages]: score 1 and pass for a unique
// image or a cluster's representative, score 0 and fail for a
// near-duplicate. Entries of another kind are ignored.
func ImageResult(dups map[string]Duplicate, id string) schema.JudgeResult {
	r := schema.JudgeResult{Name: ImageJudge, Version: Version, Score: 1, Pass: true, Reason: "no earlier near-duplicate image"}
	if d, ok := dups[id]; ok && d.Kind == KindImage {
		r.Score, r.Pass = 0, false
		r.Reason = fmt.Sprintf("near-duplicate image of %s (hamming %d)", d.Kept, d.Distance)
	}
	return r
}

// unionFind is a disjoint-set forest over 0..n-1.
type unionFind []int32

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = int32(i)
	}
	return u
}

func (u unionFind) find(i int32) int32 {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

func (u unionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if ra > rb {
		ra, rb = rb, ra
	}
	u[rb] = ra
}
