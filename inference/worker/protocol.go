package worker

// Wire types of the worker protocol v1 (docs/worker-protocol.md). The JSON
// field names are the protocol; the Go client in inference/remote and the
// Python reference worker in inference/janus use the same names.

// Paths of the protocol's endpoints.
const (
	PathGenerate = "/v1/generate"
	PathDecode   = "/v1/decode"
	PathEncode   = "/v1/encode"
	PathInfo     = "/v1/info"
	PathHealth   = "/healthz"
	PathChat     = "/v1/chat/completions"
	// PathStats is the batcher's counters, GET: a twig worker's addition
	// to the protocol (see [Stats]).
	PathStats = "/v1/stats"
	// PathModels lists the served model, GET, as OpenAI's API does, on a
	// worker that serves chat.
	PathModels = "/v1/models"
)

// ModelList is the answer of GET /v1/models.
type ModelList struct {
	Object string      `json:"object"` // "list"
	Data   []ModelCard `json:"data"`
}

// ModelCard is one model of a ModelList.
type ModelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// GenerateRequest asks for the next region's tokens.
type GenerateRequest struct {
	Prefix      string  `json:"prefix"`
	Prior       []int32 `json:"prior"`
	N           int     `json:"n"`
	CFG         float64 `json:"cfg"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        float64 `json:"top_p"`
	Seed        int64   `json:"seed"`
}

// Usage counts a call's tokens.
type Usage struct {
	InputTokens  int32 `json:"input_tokens"`
	OutputTokens int32 `json:"output_tokens"`
}

// GenerateResponse is the answer to a GenerateRequest.
type GenerateResponse struct {
	Tokens []int32 `json:"tokens"`
	Model  string  `json:"model"`
	Usage  Usage   `json:"usage"`
}

// DecodeRequest asks for a token grid to be rendered.
type DecodeRequest struct {
	Tokens []int32 `json:"tokens"`
}

// DecodeResponse carries the rendered PNG (base64 in JSON).
type DecodeResponse struct {
	PNG   []byte `json:"png"`
	Model string `json:"model"`
}

// EncodeRequest asks for an image to be tokenised.
type EncodeRequest struct {
	PNG []byte `json:"png"`
}

// EncodeResponse carries the image's tokens.
type EncodeResponse struct {
	Tokens []int32 `json:"tokens"`
	Model  string  `json:"model"`
}

// Info describes the worker's model.
type Info struct {
	Model        string `json:"model"`
	Revision     string `json:"revision"`
	ImageSize    int    `json:"image_size"`
	PatchSize    int    `json:"patch_size"`
	CodebookSize int    `json:"codebook_size"`
	MaxBatch     int    `json:"max_batch"`
	MaxWaitMS    int    `json:"max_wait_ms"`
	// PromptWrapper is the exact text the worker conditions each region
	// on, with "{prefix}" where the request's prefix goes, up to and
	// including the image-start token: for Janus-Pro
	// "User: {prefix}\n\nAssistant:<begin_of_image>" (see
	// inference.JanusPromptWrapper). Datasets record it. Empty when the
	// worker does not say (workers older than this field).
	PromptWrapper string `json:"prompt_wrapper,omitempty"`
	// Chat says the worker also answers OpenAI chat completions
	// (PathChat) and lists its model at PathModels: a teacher, critic or
	// judge can point at it.
	Chat bool `json:"chat,omitempty"`
}

// ModelID is the model name that answers carry: "Model@Revision", or
// Model alone when the revision is empty.
func (i Info) ModelID() string {
	if i.Revision == "" {
		return i.Model
	}
	return i.Model + "@" + i.Revision
}

// Values of ErrorBody's error type.
const (
	// ErrorInvalidRequest: the request is wrong and will fail again
	// (400, 404, 405, 413).
	ErrorInvalidRequest = "invalid_request_error"
	// ErrorOverloaded: the queue is full or the worker is loading or
	// shutting down (503, with Retry-After).
	ErrorOverloaded = "overloaded_error"
	// ErrorServer: transient trouble on the server (500).
	ErrorServer = "server_error"
)

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}
