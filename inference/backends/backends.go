// Package backends composes the models behind a run from its
// configuration: the GPU workers that paint (or the in-process
// simulator), the teacher LLMs of the think, critique, draw and judge
// roles (or their simulated stand-ins), each teacher wrapped in its rate
// limit, retries and spending cap, and the call cache over all of them.
//
// [Backends] is the "backends" object of a run's config file; [Roles] is
// the one table of teacher roles (config field, call role, API-key
// variable, default timeout) that validation, key lookup, messages, the
// config hash and redaction all read. [Open] builds a process's [Set] of
// models; [OpenWorkers] checks the GPU workers before a run starts.
package backends

import (
	"fmt"
	"time"

	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/internal/configerr"
	"github.com/twigdata/twig/internal/redact"
)

// Backends chooses the models behind the loop and the call cache.
type Backends struct {
	// Cache is the bucket URL of the call cache (a local folder or object
	// storage every worker reaches); empty means no cache.
	Cache string `json:"cache,omitempty"`
	// Generator lists the base URLs of GPU workers (docs/worker-protocol.md)
	// that paint, decode and encode; empty means the in-process simulator.
	Generator []string `json:"generator,omitempty"`
	// GeneratorTimeout bounds each attempt of a call to a GPU worker,
	// reading the answer included (zero: DefaultGeneratorTimeout).
	// GeneratorRetries is the number of retries of a call after its first
	// attempt, for transient failures only: refused or reset connections,
	// timeouts, 429 and 5xx (zero: DefaultGeneratorRetries). Neither
	// enters the config hash: like the concurrency, they do not change
	// what a successful call returns, so a rerun with other values
	// resumes the staged work.
	GeneratorTimeout Duration `json:"generator_timeout,omitzero"`
	GeneratorRetries int      `json:"generator_retries,omitempty"`
	// Thinker and Critic are the teacher LLMs of the reasoning roles, on
	// any OpenAI-compatible endpoint; an empty BaseURL means the simulated
	// reasoner.
	Thinker Teacher `json:"thinker,omitzero"`
	Critic  Teacher `json:"critic,omitzero"`
	// Drawer is the image model of the teacher-image route; an empty
	// BaseURL means the simulated drawer.
	Drawer Teacher `json:"drawer,omitzero"`
	// Judge is the vision-language model of the vlm judge; an empty
	// BaseURL means the simulated VLM.
	Judge Teacher `json:"judge,omitzero"`
}

// Teacher is one OpenAI-compatible model for one role.
type Teacher struct {
	BaseURL string `json:"base_url,omitempty"`
	Model   string `json:"model,omitempty"`
	// KeyEnv names the environment variable that holds the API key, read
	// by every worker process. The key itself never enters the
	// configuration, the job graph or the manifest. Empty: the role's
	// Role.KeyEnv, else FallbackKeyEnv.
	KeyEnv string `json:"key_env,omitempty"`
	// Limits are per endpoint and model, per worker process.
	Limits teacher.Limits `json:"limits,omitzero"`
	// MaxTokens and MaxDollars cap the role's spending (per worker
	// process) at Prices; zero: no cap. Once reached, no new trajectory
	// starts; the rest go to failed/ saying so.
	MaxTokens  int64          `json:"max_tokens,omitempty"`
	MaxDollars float64        `json:"max_dollars,omitempty"`
	Prices     teacher.Prices `json:"prices,omitzero"`
	// Timeout bounds one request to the role's endpoint (zero: the role's
	// Role.DefaultTimeout). Retries is the number of retries of a call
	// after its first attempt, for transient failures only: timeouts,
	// broken connections, 408, 429 and 5xx (zero: DefaultTeacherRetries).
	// Like Backends.GeneratorTimeout, neither enters the config hash.
	Timeout Duration `json:"timeout,omitzero"`
	Retries int      `json:"retries,omitempty"`
}

// The defaults that zero timeouts and retries stand for, read from the
// clients that apply them.
var (
	DefaultGeneratorTimeout = remote.DefaultPoolOptions().Timeout
	DefaultGeneratorRetries = remote.DefaultPoolOptions().Retries
	DefaultTeacherRetries   = teacher.DefaultMaxAttempts - 1
)

// retryPolicy is the teacher's retry policy: the library's defaults but
// for the number of attempts.
func (t Teacher) retryPolicy() teacher.RetryPolicy {
	var p teacher.RetryPolicy
	if t.Retries > 0 {
		p.MaxAttempts = 1 + t.Retries
	}
	return p
}

// PoolOptions returns the options of the GPU worker pool: the defaults,
// with the configured timeout and retries.
func (b Backends) PoolOptions() remote.PoolOptions {
	o := remote.DefaultPoolOptions()
	if b.GeneratorTimeout > 0 {
		o.Timeout = time.Duration(b.GeneratorTimeout)
	}
	if b.GeneratorRetries > 0 {
		o.Retries = b.GeneratorRetries
	}
	return o
}

// Remote reports whether any model is reached over the network: a GPU
// worker or a teacher.
func (b Backends) Remote() bool {
	if len(b.Generator) > 0 {
		return true
	}
	for _, r := range Roles {
		if r.Of(&b).BaseURL != "" {
			return true
		}
	}
	return false
}

// ForHash returns b without what does not change what a successful call
// returns, so that it stays out of the config hash: the call cache's
// location and every timeout and retry count.
func (b Backends) ForHash() Backends {
	b.Cache = ""
	b.GeneratorTimeout, b.GeneratorRetries = 0, 0
	for _, r := range Roles {
		t := r.Of(&b)
		t.Timeout, t.Retries = 0, 0
	}
	return b
}

// Redacted returns b with every location redacted (redact.URL), as a
// manifest shows it.
func (b Backends) Redacted() Backends {
	shown := b
	shown.Cache = redact.URL(b.Cache)
	for _, r := range Roles {
		if t := r.Of(&shown); t.BaseURL != "" {
			t.BaseURL = redact.URL(t.BaseURL)
		}
	}
	shown.Generator = nil
	for _, g := range b.Generator {
		shown.Generator = append(shown.Generator, redact.URL(g))
	}
	return shown
}

// simulatedPainter reports whether the painter is the simulator: the
// in-process one (no generator), or a worker serving it (twig worker).
func (b Backends) simulatedPainter(painter worker.Info) bool {
	return len(b.Generator) == 0 || painter.Model == sim.DefaultPainterModel
}

// Simulated reports whether every model is the simulator; painter is the
// GPU workers' info (zero without workers).
func (b Backends) Simulated(painter worker.Info) bool {
	if !b.simulatedPainter(painter) {
		return false
	}
	for _, r := range Roles {
		if r.Of(&b).BaseURL != "" {
			return false
		}
	}
	return true
}

// CheckReaders refuses backends whose canvases some simulated role would
// have to read although a real model paints them: the simulated critic
// and the simulated VLM judge read a canvas back through the simulator's
// codebook, which a real model's image is not, so every sample would fail
// after its GPU work. The simulated thinker never reads the canvas and may
// plan for a real painter. painter is the GPU workers' info (zero without
// workers); call it before the first model call.
func (b Backends) CheckReaders(painter worker.Info) error {
	if b.simulatedPainter(painter) {
		return nil
	}
	model := painter.ModelID()
	switch {
	case b.Critic.BaseURL == "":
		return configerr.New("backends."+CriticRole.Field, nil, "the simulated critic cannot read the canvases %s paints; "+
			"give the critic a vision model: --teacher URL --teacher-model NAME (or --critic/--critic-model), "+
			"for instance the worker itself when it serves chat: --teacher %s/v1 --teacher-model %s", model, b.Generator[0], painter.Model)
	case b.Judge.BaseURL == "":
		return configerr.New("backends."+JudgeRole.Field, nil, "the simulated VLM judge cannot read the images %s paints; "+
			"give it a vision model: --judge URL --judge-model NAME (it follows --teacher when that is given)", model)
	}
	return nil
}

// SimConfig configures the simulated painter, reasoner and drawer.
type SimConfig struct {
	MistakeRate   float64 `json:"mistake_rate"`
	MalformedRate float64 `json:"malformed_rate"`
	DriftRate     float64 `json:"drift_rate"`
}

// Validate checks that every rate is a probability.
func (s SimConfig) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"mistake_rate", s.MistakeRate}, {"malformed_rate", s.MalformedRate}, {"drift_rate", s.DriftRate}} {
		if r.v < 0 || r.v > 1 {
			return configerr.New("sim."+r.name, r.v, "%g must be in [0,1]", r.v)
		}
	}
	return nil
}

// revision is the simulator's identity in the call cache: its rules and
// every setting that changes its answers.
func (s SimConfig) revision(geo sim.Geometry) string {
	return fmt.Sprintf("rules=%s geometry=%d/%d mistake=%g malformed=%g drift=%g", sim.Rules, geo.ImageSize, geo.PatchSize, s.MistakeRate, s.MalformedRate, s.DriftRate)
}
