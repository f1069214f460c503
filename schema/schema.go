// Package schema is twig's shared vocabulary: the record types that flow
// through the pipeline and land in dataset shards.
//
// # Records
//
// A [Trajectory] is one (prompt, sample index) run of the interleaved
// think / generate / reflect loop: its identity, the schedule, every region
// with its thought and every attempt (a repaint is a second attempt; the
// first is never overwritten), the final image, the judges' results, the
// verdict and the provenance. A [Failure] is an input or sample that could
// not be processed, with the error. Both are written to Parquet by
// package exporters; the struct tags fix the column names.
//
// Records carry no wall-clock time: identical runs give byte-identical
// shards. Timings belong in a run's statistics.
//
// # Vocabulary
//
// A verdict's reasons are "judge: text" strings: [FormatReason] writes
// one, [ParseReason] reads one back. A failure's stage is one of the
// Stage* constants and its kind one of the [FailureKind] constants.
//
// # Validation
//
// [Trajectory.Validate] checks the record's invariants (a region without an
// attempt, a span that does not tile the token grid, a verdict that is not
// one of the known statuses) and returns a [*ValidationError] naming the
// trajectory and the field.
package schema

// Version is the schema version written into every record's SchemaVersion.
// Bump the minor for added fields, the major for removed or changed ones.
const Version = "2.0"

// Verdict statuses.
const (
	StatusAccepted = "accepted"
	StatusRejected = "rejected"
	StatusFailed   = "failed"
)

// Attempt decisions: what the loop did after an attempt.
const (
	// DecisionAccept: the critique scored the attempt at or above the threshold.
	DecisionAccept = "accept"
	// DecisionRepaint: the critique scored it below the threshold and the
	// region was repainted; the next attempt replaces it.
	DecisionRepaint = "repaint"
	// DecisionKeepLimit: below the threshold, but the repaint limit was
	// reached, so the attempt was kept.
	DecisionKeepLimit = "keep_limit"
	// DecisionParseFailed: the critique could not be parsed after the
	// configured retries; the attempt was kept and the region marked.
	DecisionParseFailed = "parse_failed"
	// DecisionNotCritiqued: the attempt was kept without a critique (a
	// repaint, when repaints are not critiqued again, as in the reference code).
	DecisionNotCritiqued = "not_critiqued"
)

// Critique parse statuses.
const (
	ParseOK             = "ok"
	ParseMissingScore   = "missing_score"
	ParseBadScore       = "bad_score"
	ParseScoreRange     = "score_out_of_range"
	ParseMissingRevised = "missing_revised"
)

// Categories of prompts, after T2I-CompBench.
var Categories = []string{
	"colour", "shape", "texture", "spatial", "3d_spatial",
	"numeracy", "non_spatial", "complex", "other",
}

// Image is a PNG image in the layout Hugging Face datasets reads as an
// Image feature: a struct of bytes and path. The bytes column is stored
// uncompressed whatever the shard's codec: PNG is already deflated, and
// compressing it again costs CPU for no space.
type Image struct {
	Bytes []byte `parquet:"bytes,optional,uncompressed" json:"bytes,omitempty"`
	Path  string `parquet:"path,optional" json:"path"`
}

// Source says where a prompt came from.
type Source struct {
	// URI is the file path or URI of the prompt file, or "builtin:..." for
	// the built-in generator.
	URI string `parquet:"uri" json:"uri"`
	// Line is the 1-based line number in URI.
	Line int64 `parquet:"line" json:"line"`
	// ID is the record's own id in a JSONL source, when it has one.
	ID string `parquet:"id" json:"id,omitempty"`
}

// Span is a half-open range [Start, End) of raster-order token positions.
type Span struct {
	Start int32 `parquet:"start" json:"start"`
	End   int32 `parquet:"end" json:"end"`
}

// Schedule is the canvas geometry and its partition into regions.
type Schedule struct {
	// K is the number of regions.
	K int32 `parquet:"k" json:"k"`
	// ImageSize is the side of the square image in pixels.
	ImageSize int32 `parquet:"image_size" json:"image_size"`
	// PatchSize is the side of the square patch one token stands for.
	PatchSize int32 `parquet:"patch_size" json:"patch_size"`
	// GridSize is ImageSize/PatchSize, the tokens per row and per column.
	GridSize int32 `parquet:"grid_size" json:"grid_size"`
	// NumTokens is GridSize*GridSize.
	NumTokens int32 `parquet:"num_tokens" json:"num_tokens"`
	// Spans are the regions' token spans, in order; they tile [0, NumTokens).
	Spans []Span `parquet:"spans,list" json:"spans"`
}

// Usage counts the tokens of one model call.
type Usage struct {
	InputTokens  int32 `parquet:"input_tokens" json:"input_tokens"`
	OutputTokens int32 `parquet:"output_tokens" json:"output_tokens"`
}

// Thought is the reasoner's sub-prompt for one region.
type Thought struct {
	// Input is the instruction the reasoner saw (the rendered template).
	Input string `parquet:"input" json:"input"`
	// Raw is the reasoner's raw output.
	Raw string `parquet:"raw" json:"raw"`
	// Text is the cleaned thought used in the generation prefix.
	Text string `parquet:"text" json:"text"`
	// SampleInput is the instruction a think_k training sample shows when
	// it differs from Input: on the teacher-image route the captions are
	// written before any canvas exists, while the paper's think_k sample
	// shows the partial canvas, so the sample's instruction is the same
	// template rendered with the canvas attached. Empty means Input.
	SampleInput string `parquet:"sample_input" json:"sample_input,omitempty"`
	Usage       Usage  `parquet:"usage" json:"usage"`
}

// Critique is the reflection on one attempt.
type Critique struct {
	// Input is the instruction the critic saw.
	Input string `parquet:"input" json:"input"`
	// Raw is the critic's raw output for the call that was used.
	Raw string `parquet:"raw" json:"raw"`
	// Retries holds the raw outputs of earlier calls that could not be
	// parsed, in order; empty when the first call parsed.
	Retries []string `parquet:"retries,list" json:"retries"`
	// Score is the parsed score, 0..100; null when none could be read
	// (see Parse) and on an attempt that was not critiqued, so that means
	// and histograms of scores count only real scores.
	Score *int32 `parquet:"score,optional" json:"score"`
	// Revised is the parsed revised thought; empty when none.
	Revised string `parquet:"revised" json:"revised"`
	// Parse is one of the Parse* statuses.
	Parse string `parquet:"parse" json:"parse"`
	// Threshold and Comparator are the acceptance rule the decision used:
	// accept iff Score Comparator Threshold.
	Threshold  int32  `parquet:"threshold" json:"threshold"`
	Comparator string `parquet:"comparator" json:"comparator"`
	Usage      Usage  `parquet:"usage" json:"usage"`
}

// Attempt is one generation of a region's tokens.
type Attempt struct {
	// Index is 0 for the first pass, 1 for the first repaint, and so on.
	Index int32 `parquet:"index" json:"index"`
	// Thought is the thought this attempt was generated from (the original,
	// or the revised thought of the previous attempt's critique).
	Thought string `parquet:"thought" json:"thought"`
	// Prefix is the text prefix the generator was conditioned on.
	Prefix string `parquet:"prefix" json:"prefix"`
	// Seed is the sampling seed of the generation call.
	Seed int64 `parquet:"seed" json:"seed"`
	// Tokens are the region's new image tokens, raster order.
	Tokens []int32 `parquet:"tokens,optional,list" json:"tokens,omitempty"`
	// Canvas is the whole canvas after this attempt, with positions not yet
	// generated rendered as placeholders.
	Canvas Image `parquet:"canvas" json:"canvas"`
	// Critiqued says whether Critique holds a critique.
	Critiqued bool     `parquet:"critiqued" json:"critiqued"`
	Critique  Critique `parquet:"critique" json:"critique"`
	// Decision is one of the Decision* constants.
	Decision string `parquet:"decision" json:"decision"`
	Usage    Usage  `parquet:"usage" json:"usage"`
}

// Region is one region of the schedule with its thought and attempts.
type Region struct {
	Index   int32   `parquet:"index" json:"index"`
	Thought Thought `parquet:"thought" json:"thought"`
	// Attempts in order; never empty. The last attempt is the one kept.
	Attempts []Attempt `parquet:"attempts,list" json:"attempts"`
	// Status summarises the region: "accepted" (first attempt passed),
	// "repainted", "parse_failed" or "kept_below_threshold".
	Status string `parquet:"status" json:"status"`
}

// JudgeResult is one quality judge's result on a trajectory.
//
// Score is in [0, 1], higher is better, and Pass is the judge's own
// decision under its default threshold; a policy may re-decide Pass from
// Score with its own threshold (twig refilter does, with no model call).
type JudgeResult struct {
	Name    string  `parquet:"name" json:"name"`
	Version string  `parquet:"version" json:"version"`
	Score   float64 `parquet:"score" json:"score"`
	Pass    bool    `parquet:"pass" json:"pass"`
	Reason  string  `parquet:"reason" json:"reason"`
}

// Verdict is the policy's decision on a trajectory.
type Verdict struct {
	// Status is StatusAccepted, StatusRejected or StatusFailed.
	Status string `parquet:"status" json:"status"`
	// Reasons say why the trajectory was rejected, one per failing judge,
	// each "judge: text" as [FormatReason] writes it and [ParseReason]
	// reads it; empty when accepted.
	Reasons []string `parquet:"reasons,list" json:"reasons"`
	// Score is the policy's overall score, the weighted mean of the judges'
	// scores (each in [0, 1]).
	Score float64 `parquet:"score" json:"score"`
	// Policy names the policy (name@version) that decided.
	Policy string `parquet:"policy" json:"policy"`
}

// RoleModel names the model that played a role (thinker, critic, painter, judge).
type RoleModel struct {
	Role  string `parquet:"role" json:"role"`
	Model string `parquet:"model" json:"model"`
}

// TemplateRef identifies a versioned prompt template.
type TemplateRef struct {
	Role    string `parquet:"role" json:"role"`
	ID      string `parquet:"id" json:"id"`
	Version string `parquet:"version" json:"version"`
	// Source is "builtin" for a template shipped with twig, else the file
	// the user supplied it from.
	Source string `parquet:"source" json:"source"`
	// SHA256 is the hex SHA-256 of the template's text: two runs with the
	// same id but different words differ here.
	SHA256 string `parquet:"sha256" json:"sha256"`
}

// Sampling holds the sampling parameters of the run.
type Sampling struct {
	CFG               float64 `parquet:"cfg" json:"cfg"`
	Temperature       float64 `parquet:"temperature" json:"temperature"`
	TopK              int32   `parquet:"top_k" json:"top_k"`
	TopP              float64 `parquet:"top_p" json:"top_p"`
	ReasonTemperature float64 `parquet:"reason_temperature" json:"reason_temperature"`
	ReasonMaxTokens   int32   `parquet:"reason_max_tokens" json:"reason_max_tokens"`
}

// Call records one model call: its role (think, generate, decode,
// critique), where in the loop it happened, the model and its token counts.
type Call struct {
	Role    string `parquet:"role" json:"role"`
	Region  int32  `parquet:"region" json:"region"`
	Attempt int32  `parquet:"attempt" json:"attempt"`
	Model   string `parquet:"model" json:"model"`
	Usage   Usage  `parquet:"usage" json:"usage"`
}

// Provenance says what produced a trajectory.
type Provenance struct {
	CodeVersion string `parquet:"code_version" json:"code_version"`
	ConfigHash  string `parquet:"config_hash" json:"config_hash"`
	// Route is how the trajectory was made: "interleaved" (the TwiG loop)
	// or "teacher-image" (the paper's TwiG-50K recipe).
	Route string `parquet:"route" json:"route"`
	// PromptWrapper is the text the generator wraps its prefix in, with
	// "{prefix}" where the prefix goes, up to and including the image-start
	// token ("User: {prefix}\n\nAssistant:<begin_of_image>" for Janus-Pro),
	// as the GPU worker reports it; empty when the worker reports none. A
	// gen_k sample's conditioning text is the wrapper with the attempt's
	// prefix put in.
	PromptWrapper string        `parquet:"prompt_wrapper" json:"prompt_wrapper"`
	Models        []RoleModel   `parquet:"models,list" json:"models"`
	Templates     []TemplateRef `parquet:"templates,list" json:"templates"`
	Sampling      Sampling      `parquet:"sampling" json:"sampling"`
	Calls         []Call        `parquet:"calls,list" json:"calls"`
}

// Trajectory is one run of the interleaved loop on one (prompt, sample
// index). It is the row type of the trajectories and rejected configs.
type Trajectory struct {
	SchemaVersion string `parquet:"schema_version" json:"schema_version"`
	// ID is a UUID v5 over dataset name, normalised prompt and sample index.
	ID      string `parquet:"id" json:"id"`
	Dataset string `parquet:"dataset" json:"dataset"`
	Split   string `parquet:"split" json:"split"`
	// Prompt is the prompt as given; PromptNormalized after normalisation.
	Prompt           string `parquet:"prompt" json:"prompt"`
	PromptNormalized string `parquet:"prompt_normalized" json:"prompt_normalized"`
	Source           Source `parquet:"source" json:"source"`
	// Category is one of Categories.
	Category    string   `parquet:"category" json:"category"`
	SampleIndex int32    `parquet:"sample_index" json:"sample_index"`
	Seed        int64    `parquet:"seed" json:"seed"`
	Schedule    Schedule `parquet:"schedule" json:"schedule"`
	Regions     []Region `parquet:"regions,list" json:"regions"`
	// FinalImage is the decoded image of FinalTokens.
	FinalImage  Image         `parquet:"final_image,optional" json:"final_image"`
	FinalTokens []int32       `parquet:"final_tokens,optional,list" json:"final_tokens,omitempty"`
	Judges      []JudgeResult `parquet:"judges,list" json:"judges"`
	Verdict     Verdict       `parquet:"verdict" json:"verdict"`
	Provenance  Provenance    `parquet:"provenance" json:"provenance"`
}

// Seed is one unit of work: a normalised prompt and a sample index.
type Seed struct {
	ID               string `json:"id"`
	Dataset          string `json:"dataset"`
	Split            string `json:"split"`
	Prompt           string `json:"prompt"`
	PromptNormalized string `json:"prompt_normalized"`
	Source           Source `json:"source"`
	Category         string `json:"category"`
	SampleIndex      int32  `json:"sample_index"`
	Seed             int64  `json:"seed"`
}

// Failure is an input line or a sample that could not be processed. It is
// the row type of the failed/ shards.
type Failure struct {
	// ID is the trajectory id when the failure is a sample's; empty for an
	// input line that never became a sample.
	ID string `parquet:"id" json:"id"`
	// Stage is where it failed: one of the Stage* constants.
	Stage string `parquet:"stage" json:"stage"`
	// Kind is what kind of error it was, decided while the error was still
	// an error value; empty when no kind is known. It travels through the
	// pipeline with the failure but is not a column of the failed shards
	// (schema version 2.0 has none), so a failure read back from a shard
	// has none.
	Kind   FailureKind `parquet:"-" json:"kind,omitempty"`
	Source Source      `parquet:"source" json:"source"`
	// Input is the offending input as valid UTF-8 (invalid bytes replaced
	// by U+FFFD); RawInput holds the exact bytes.
	Input       string `parquet:"input" json:"input"`
	RawInput    []byte `parquet:"raw_input" json:"raw_input"`
	SampleIndex int32  `parquet:"sample_index" json:"sample_index"`
	// Error says what went wrong, naming file, line and reason.
	Error string `parquet:"error" json:"error"`
}

// Message is one turn of a chat-format training sample.
type Message struct {
	// Role is "user" (the input) or "assistant" (the target: train on it).
	Role string `parquet:"role" json:"role"`
	// Content is the turn's text. In think and reflect samples "<image>"
	// marks where Sample.Images[0] goes, as LLaVA-style SFT trainers
	// expect. In gen samples image tokens are written as "<image_tokens>"
	// followed by each token id after a space: the user turn is
	// Sample.Conditioning followed at once by the PriorTokens so written,
	// and the assistant turn the TargetTokens so written (see Sample).
	Content string `parquet:"content" json:"content"`
}

// Sample is one supervised example of TwiG-50K's nine subtasks
// (twig-method.md section 3), derived from an accepted trajectory. It is
// the row type of the sft config.
//
// A gen sample's Messages are exactly two turns, the input and the target,
// in the order the generator reads them:
//
//	user:      Conditioning + "<image_tokens>" + " p1 p2 ... pN"   (PriorTokens; none for k=1)
//	assistant: "<image_tokens>" + " t1 t2 ... tM"                  (TargetTokens)
//
// The conditioning text ends where the user turn's last "<image_tokens>"
// begins (what follows it is only digits and spaces), so splitting there
// gives back Conditioning and PriorTokens whatever the text holds.
type Sample struct {
	// ID is a UUID v5 over the trajectory id, the task and the attempt.
	ID           string `parquet:"id" json:"id"`
	TrajectoryID string `parquet:"trajectory_id" json:"trajectory_id"`
	// Task is think_k, gen_k or reflect_k (k = 1..K); Kind is think, gen
	// or reflect; Region is k; Attempt the attempt it was taken from
	// (think: 0, since the thinker's thought precedes every attempt; gen:
	// the kept attempt; reflect: the critiqued attempt).
	Task    string `parquet:"task" json:"task"`
	Kind    string `parquet:"kind" json:"kind"`
	Region  int32  `parquet:"region" json:"region"`
	Attempt int32  `parquet:"attempt" json:"attempt"`
	// Prompt is the user prompt T; Thoughts the thoughts the input shows
	// (think: tau_<k, the thoughts of earlier regions as the loop kept
	// them, a revision where a region was repainted; reflect: tau_<=k;
	// gen: the prefix's thoughts).
	Prompt   string   `parquet:"prompt" json:"prompt"`
	Thoughts []string `parquet:"thoughts,list" json:"thoughts"`
	// Images holds the canvas the input shows (think: after region k-1,
	// none for k=1; reflect: with region k); empty for gen.
	Images []Image `parquet:"images,list" json:"images"`
	// Prefix, PriorTokens and TargetTokens are gen's input and output: the
	// text prefix of the kept attempt, the image tokens of regions before
	// k (raster order) and region k's tokens.
	Prefix string `parquet:"prefix" json:"prefix"`
	// Conditioning is the whole text gen's generator was conditioned on:
	// the trajectory's Provenance.PromptWrapper with Prefix in place of
	// "{prefix}" (Prefix alone when the wrapper was not recorded). The
	// generator read it, then PriorTokens, and produced TargetTokens.
	// Empty for think and reflect.
	Conditioning string  `parquet:"conditioning" json:"conditioning"`
	PriorTokens  []int32 `parquet:"prior_tokens,list" json:"prior_tokens"`
	TargetTokens []int32 `parquet:"target_tokens,list" json:"target_tokens"`
	// Target is think's thought (the thinker's own, Region.Thought.Text,
	// never a critic's revision), or reflect's critique in the output
	// format (SCORE: / IMPROVED_DESCRIPTION:); empty for gen.
	Target string `parquet:"target" json:"target"`
	// Messages is the sample as a chat: the input as a user turn, then
	// the target as an assistant turn.
	Messages []Message `parquet:"messages,list" json:"messages"`
}
