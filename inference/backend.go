package inference

import (
	"context"

	"github.com/twigdata/twig/schema"
)

// Painter is the image generator: it paints a region's tokens and renders
// token grids as images. A region call is stateless: everything the model
// conditions on is in the request.
type Painter interface {
	// Generate returns req.N new image tokens continuing req.Prior under
	// the text prefix req.Prefix.
	Generate(ctx context.Context, req GenerateRequest) (GenerateResponse, error)
	// Decode renders a full token grid (raster order, placeholder token 0
	// where nothing was generated yet) as a PNG image.
	Decode(ctx context.Context, tokens []int32) (DecodeResponse, error)
}

// GenerateRequest is one region-generation call.
type GenerateRequest struct {
	// Prefix is the text the generator is conditioned on: the thoughts so
	// far, joined by spaces (and the prompt first, when configured).
	Prefix string
	// Prior are the image tokens kept so far, positions [0, len(Prior)).
	Prior []int32
	// N is the number of new tokens to generate.
	N int
	// Sampling parameters.
	CFG         float64
	Temperature float64
	TopK        int
	TopP        float64
	Seed        int64
}

// GenerateResponse is the answer to a GenerateRequest.
type GenerateResponse struct {
	Tokens []int32
	Model  string
	Usage  schema.Usage
}

// DecodeResponse is a rendered token grid.
type DecodeResponse struct {
	PNG   []byte
	Model string
}

// Encoder tokenises an image with the generator's VQ encoder, for routes
// that start from an image drawn elsewhere (the teacher-image route).
type Encoder interface {
	// Encode returns the image's tokens, raster order, one per patch.
	Encode(ctx context.Context, png []byte) ([]int32, error)
}

// Reasoner writes thoughts before regions and critiques after them.
type Reasoner interface {
	// Think writes the thought that guides the next region.
	Think(ctx context.Context, req ThinkRequest) (Reply, error)
	// Critique scores the region just painted and proposes a revised
	// thought, in the critique output format (SCORE: / IMPROVED_DESCRIPTION:).
	Critique(ctx context.Context, req CritiqueRequest) (Reply, error)
}

// ThinkRequest asks for the thought of region Region (0-based) of Regions.
type ThinkRequest struct {
	// Instruction is the rendered think template: exactly what a language
	// model is shown, with Canvas attached as an image when present.
	Instruction string
	// Prompt is the user prompt T; Previous the thoughts of earlier regions.
	Prompt   string
	Previous []string
	// Canvas is the partial canvas as PNG; nil for the first region.
	Canvas      []byte
	Region      int
	Regions     int
	Temperature float64
	MaxTokens   int
	Seed        int64
}

// CritiqueRequest asks for the critique of region Region of Regions.
type CritiqueRequest struct {
	// Instruction is the rendered critique template.
	Instruction string
	Prompt      string
	// Thoughts are the thoughts of regions 0..Region, the last one being
	// the thought the region was painted from.
	Thoughts []string
	// Canvas is the canvas including the region just painted, as PNG.
	Canvas      []byte
	Region      int
	Regions     int
	Temperature float64
	MaxTokens   int
	Seed        int64
	// Unparsed holds the earlier answers to this same critique that could
	// not be parsed, oldest first. A language-model critic turns them into a
	// correction turn ("your answer did not follow the format...").
	Unparsed []string
}

// Reply is a reasoner's raw answer.
type Reply struct {
	Text  string
	Model string
	Usage schema.Usage
}

// JanusPromptWrapper is the text Janus-Pro's generation mode wraps its
// prefix in, with "{prefix}" where the prefix goes, up to and including
// the image-start token: the reference code conditions every region on
// exactly this. GPU workers report their own wrapper in their info
// (worker.Info.PromptWrapper); the simulator stands in for Janus-Pro and
// declares this one.
const JanusPromptWrapper = "User: {prefix}\n\nAssistant:<begin_of_image>"
