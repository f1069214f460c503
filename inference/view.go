package inference

import "context"

// RoleJudge is the role of a vision-language judge's calls, as recorded in
// schema.RoleModel and used by call caches and spending wrappers.
const RoleJudge = "judge"

// Viewer is a vision-language model that answers an instruction about one
// image: the VLM judge of a finished trajectory (package filters/vlm).
type Viewer interface {
	// View answers req.Instruction looking at req.Image.
	View(ctx context.Context, req ViewRequest) (Reply, error)
}

// ViewRequest asks a vision-language model about one image.
type ViewRequest struct {
	// Instruction is the rendered judge template: exactly what the model
	// is shown, with Image attached.
	Instruction string
	// Image is the image as PNG.
	Image       []byte
	Temperature float64
	MaxTokens   int
	Seed        int64
	// Unparsed holds the earlier answers to this same request that could
	// not be parsed, oldest first. A language model turns them into a
	// correction turn, as for CritiqueRequest.Unparsed.
	Unparsed []string
}
