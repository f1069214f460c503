package pipelines

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/version"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/dedup"
	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/internal/configerr"
	"github.com/twigdata/twig/internal/redact"
)

// Config is everything a run needs. It travels inside the Beam job graph,
// so it must never hold a secret: credentials come from the environment of
// the workers.
type Config struct {
	// Dataset and Version name the output: <Output>/<Dataset>/<Version>/.
	Dataset string `json:"dataset"`
	Version string `json:"version"`
	// Split is the split name of the accepted trajectories.
	Split string `json:"split"`
	// Output is the bucket URL the version is written to, e.g.
	// "file:///data/twig?create_dir=1&metadata=skip&no_tmp_dir=1".
	Output string `json:"output"`

	// Prompts are prompt files (already expanded from globs). When empty,
	// Builtin prompts are composed instead.
	Prompts []string `json:"prompts,omitempty"`
	// PromptsDigest is the SHA-256 of the prompt files' names and contents
	// (see DigestFiles), so that the config hash changes with them.
	PromptsDigest string `json:"prompts_digest,omitempty"`
	// Builtin is the number of composed T2I-CompBench-style prompts.
	Builtin int `json:"builtin,omitempty"`
	// Limit keeps the first Limit distinct prompts (0: all).
	Limit int `json:"limit,omitempty"`
	// SamplesPerPrompt is the number of trajectories per prompt.
	SamplesPerPrompt int `json:"samples_per_prompt"`
	// Seed is the dataset seed; every sample's seed derives from it and the sample's id.
	Seed int64 `json:"seed"`
	// MaxPromptBytes rejects longer prompts into failed/.
	MaxPromptBytes int `json:"max_prompt_bytes"`

	// Engine holds the loop's knobs.
	Engine inference.Config `json:"engine"`
	// Sim configures the simulator backends.
	Sim backends.SimConfig `json:"sim"`
	// Backends chooses real models and the call cache.
	Backends backends.Backends `json:"backends"`
	// ThoughtFormat configures the thought-format judge; Policy the verdicts.
	ThoughtFormat filters.ThoughtFormat `json:"thought_format"`
	// Canvas, VLM and Dedup configure the canvas_sanity, vlm and dedup
	// judges; Policy decides verdicts from every judge's result.
	Canvas filters.Canvas `json:"canvas"`
	VLM    vlm.Config     `json:"vlm"`
	Dedup  dedup.Options  `json:"dedup"`
	Policy filters.Policy `json:"policy"`

	// SFT is the mix of TwiG-50K subtasks derived into the sft config.
	SFT exporters.SFTMix `json:"sft"`
	// WebDataset also writes the accepted trajectories as WebDataset tar
	// shards (data/webdataset), one per trajectories shard.
	WebDataset bool `json:"webdataset,omitempty"`

	// ShardBytes is the target size of a Parquet shard.
	ShardBytes int64 `json:"shard_bytes"`
	// Concurrency is the number of trajectories in flight per bundle; 0
	// (the default) chooses: 128 when a model is remote (twice a worker's
	// batch of 64: while one batch runs, the next one's calls are ready),
	// and 4 per CPU when every model is the in-process simulator, where
	// more in flight only holds more canvases in memory.
	Concurrency int `json:"concurrency"`
	// CodeVersion is the twig version that runs; Created the run's start
	// time (RFC 3339). Neither enters the config hash.
	CodeVersion string `json:"code_version"`
	Created     string `json:"created"`
}

// DefaultConfig returns a configuration that runs anywhere: 200 built-in
// prompts, one sample each, the reference loop and the simulator.
func DefaultConfig() Config {
	return Config{
		Dataset: "twig-sim", Version: "v1", Split: "train",
		Builtin: 200, SamplesPerPrompt: 1, Seed: 1, MaxPromptBytes: 2000,
		Engine:        inference.DefaultConfig(),
		Sim:           backends.SimConfig{MistakeRate: 0.2, MalformedRate: 0.05, DriftRate: 0.05},
		ThoughtFormat: *filters.NewThoughtFormat(),
		Canvas:        *filters.NewCanvas(),
		Dedup:         dedup.DefaultOptions(),
		Policy:        filters.DefaultPolicy(),
		SFT:           exporters.DefaultSFTMix(),
		ShardBytes:    500 << 20,
	}
}

// DefaultRealDataset is the dataset name a run takes when it uses a real
// model and names no dataset: DefaultConfig's "twig-sim" is for runs whose
// every model is the simulator (Backends.Simulated).
const DefaultRealDataset = "twig"

// Validate checks the configuration before any model is called. A
// refused field is a *configerr.FieldError naming it; the engine's, the
// SFT mix's, the policy's and the vlm judge's errors come from their
// own packages.
func (c Config) Validate() error {
	switch {
	case !version.ValidName(c.Dataset) || c.Dataset == "." || c.Dataset == "..":
		return configerr.New("dataset", c.Dataset, "%q must be 1-128 letters, digits, '.', '_' or '-', not starting with a symbol", c.Dataset)
	case !version.ValidName(c.Version):
		return configerr.New("version", c.Version, "%q must be 1-128 letters, digits, '.', '_' or '-', not starting with a symbol", c.Version)
	case !version.ValidName(c.Split):
		return configerr.New("split", c.Split, "%q is not a valid split name", c.Split)
	case c.Output == "":
		return configerr.New("output", c.Output, "no output location")
	case len(c.Prompts) == 0 && c.Builtin <= 0:
		return configerr.New("prompts", nil, "no prompt files and no built-in prompts (builtin = %d)", c.Builtin)
	case c.Limit < 0:
		return configerr.New("limit", c.Limit, "%d must not be negative", c.Limit)
	case c.SamplesPerPrompt <= 0:
		return configerr.New("samples_per_prompt", c.SamplesPerPrompt, "%d must be positive", c.SamplesPerPrompt)
	case c.MaxPromptBytes <= 0:
		return configerr.New("max_prompt_bytes", c.MaxPromptBytes, "%d must be positive", c.MaxPromptBytes)
	case c.ShardBytes <= 0:
		return configerr.New("shard_bytes", c.ShardBytes, "%d must be positive", c.ShardBytes)
	case c.Concurrency < 0:
		return configerr.New("concurrency", c.Concurrency, "%d must not be negative (0 chooses)", c.Concurrency)
	case c.ThoughtFormat.MinWords < 0 || c.ThoughtFormat.MaxWords < c.ThoughtFormat.MinWords:
		return configerr.New("thought_format", nil, "word bounds %d..%d are impossible", c.ThoughtFormat.MinWords, c.ThoughtFormat.MaxWords)
	}
	if err := c.Sim.Validate(); err != nil {
		return err
	}
	if err := c.Backends.Validate(c.Engine.Route); err != nil {
		return err
	}
	if err := c.SFT.Validate(); err != nil {
		return fmt.Errorf("config %w", err)
	}
	if err := c.Policy.Validate(JudgeNames()); err != nil {
		return fmt.Errorf("config %w", err)
	}
	if err := c.Engine.Validate(); err != nil {
		return err
	}
	if err := c.VLM.Validate(); err != nil {
		return fmt.Errorf("config vlm: %w", err)
	}
	return nil
}

// ReadTemplates reads the prompt templates given as files (think,
// critique, draw and the vlm judge's) into the configuration, so that
// their words travel with the job to every worker and enter the config
// hash. A template that cannot be read, does not parse or names an
// unknown variable is refused here, naming the file and line, before
// any model call.
func (c *Config) ReadTemplates() error {
	if err := c.Engine.ReadTemplateFiles(); err != nil {
		return err
	}
	return c.VLM.ReadTemplateFile()
}

// Hash returns the hex SHA-256 of the configuration's canonical JSON,
// leaving out what does not change the data: the output location, the
// version name, the code version, the start time, the concurrency, the
// call cache's location, and the timeouts and retries of the models.
func (c Config) Hash() string {
	c.Output, c.Version, c.CodeVersion, c.Created, c.Concurrency = "", "", "", "", 0
	c.Backends = c.Backends.ForHash()
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("config hash: %v", err)) // plain data always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Shown returns the configuration as the manifest records it: every
// location redacted (no user information, no query values but storage
// settings), so that the manifest can be shared.
func (c Config) Shown() json.RawMessage {
	shown := c
	shown.Output = redact.URL(c.Output)
	shown.Backends = c.Backends.Redacted()
	raw, err := json.Marshal(shown)
	if err != nil {
		panic(fmt.Sprintf("config: %v", err)) // plain data always marshals
	}
	return raw
}

// DigestFiles returns the hex SHA-256 over the names and contents of files.
func DigestFiles(files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("digest prompts: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// judges returns the judges of a configuration, in a fixed order.
// trajectoryJudges are the judges that look at one trajectory at a time,
// in the order they run; the vlm judge asks v.
func trajectoryJudges(c Config, v vlm.Viewer) ([]filters.Judge, error) {
	tf, cv := c.ThoughtFormat, c.Canvas
	js := []filters.Judge{&tf, filters.NewCoverage(), filters.NewReflection(), &cv, filters.NewImprovement()}
	if v != nil {
		j, err := vlm.New(v, c.VLM)
		if err != nil {
			return nil, fmt.Errorf("vlm judge: %w", err)
		}
		js = append(js, j)
	}
	return js, nil
}

// JudgeNames lists every judge a run has: the trajectory judges, then the
// two dedup judges that look at the whole version.
func JudgeNames() []string { return filters.Names() }

// RemoteConcurrency is the default number of trajectories in flight per
// bundle when a model is remote.
const RemoteConcurrency = 128

// InFlight returns the number of trajectories in flight per bundle: the
// configured Concurrency, or the default for the backends when it is 0.
func (c Config) InFlight() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	if c.Backends.Remote() {
		return RemoteConcurrency
	}
	return 4 * runtime.GOMAXPROCS(0)
}
