package pipelines

// Tests of the configuration's validation and hash where they meet the
// backends: the timeouts and retries of the GPU worker pool and the
// teachers (inference/backends tests the settings themselves), and the
// pinned config hashes. The fault suite (faults_test.go) runs the
// settings end to end against hanging servers.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/internal/configerr"
	"github.com/twigdata/twig/internal/golden"
)

func TestValidateTimeoutsAndRetries(t *testing.T) {
	sec := func(d time.Duration) backends.Duration { return backends.Duration(d) }
	teacherAt := func(c *Config) *backends.Teacher {
		c.Backends.Critic = backends.Teacher{BaseURL: "http://127.0.0.1:9/v1", Model: "m"}
		return &c.Backends.Critic
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // "" means valid
		value any
		msg   string
	}{
		{"defaults", func(*Config) {}, "", nil, ""},
		{"generator set", func(c *Config) { c.Backends.GeneratorTimeout, c.Backends.GeneratorRetries = sec(2*time.Second), 1 }, "", nil, ""},
		{"teacher set", func(c *Config) { p := teacherAt(c); p.Timeout, p.Retries = sec(5*time.Minute), 10 }, "", nil, ""},
		{"generator timeout negative", func(c *Config) { c.Backends.GeneratorTimeout = sec(-time.Second) },
			"backends.generator_timeout", sec(-time.Second), "config backends.generator_timeout: -1s must not be negative (0: the default, 2m)"},
		{"generator timeout in ns", func(c *Config) { c.Backends.GeneratorTimeout = 30 },
			"backends.generator_timeout", backends.Duration(30), "config backends.generator_timeout: 30ns is too short"},
		{"generator timeout a day", func(c *Config) { c.Backends.GeneratorTimeout = sec(24 * time.Hour) },
			"backends.generator_timeout", sec(24 * time.Hour), "config backends.generator_timeout: 24h0m0s is too long"},
		{"generator retries negative", func(c *Config) { c.Backends.GeneratorRetries = -1 },
			"backends.generator_retries", -1, "config backends.generator_retries: -1 must not be negative (0: the default, 5)"},
		{"generator retries absurd", func(c *Config) { c.Backends.GeneratorRetries = 1000 },
			"backends.generator_retries", 1000, "config backends.generator_retries: 1000 is too many"},
		{"critic timeout negative", func(c *Config) { teacherAt(c).Timeout = sec(-2 * time.Minute) },
			"backends.critic.timeout", sec(-2 * time.Minute), "config backends.critic.timeout: -2m0s must not be negative (0: the default, 2m)"},
		{"critic retries negative", func(c *Config) { teacherAt(c).Retries = -3 },
			"backends.critic.retries", -3, "config backends.critic.retries: -3 must not be negative (0: the default, 5)"},
		{"judge timeout too short", func(c *Config) { c.Backends.Judge.Timeout = sec(time.Millisecond) },
			"backends.judge.timeout", sec(time.Millisecond), "config backends.judge.timeout: 1ms is too short"},
		{"drawer timeout too long", func(c *Config) { c.Backends.Drawer.Timeout = sec(2 * time.Hour) },
			"backends.drawer.timeout", sec(2 * time.Hour), "config backends.drawer.timeout: 2h0m0s is too long: at most 1h0m0s (0: the default, 5m)"},
		{"thinker retries absurd", func(c *Config) { c.Backends.Thinker.Retries = backends.MaxRetries + 1 },
			"backends.thinker.retries", backends.MaxRetries + 1, "config backends.thinker.retries: 101 is too many"},
		{"bad dataset", func(c *Config) { c.Dataset = "../x" }, "dataset", "../x", `config dataset: "../x" must be 1-128 letters`},
		{"sim rate", func(c *Config) { c.Sim.DriftRate = 1.5 }, "sim.drift_rate", 1.5, "config sim.drift_rate: 1.5 must be in [0,1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Output = "file:///tmp/x"
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *configerr.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *configerr.FieldError", err)
			}
			if fe.Field != tc.field || fe.Value != tc.value {
				t.Errorf("Validate refused %s = %#v, want %s = %#v", fe.Field, fe.Value, tc.field, tc.value)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.msg)
			}
		})
	}
}

// TestConfigDurationNamesField: a bad duration in a config file names its
// field.
func TestConfigDurationNamesField(t *testing.T) {
	cfg := DefaultConfig()
	err := json.Unmarshal([]byte(`{"backends": {"critic": {"timeout": "soon"}}}`), &cfg)
	if err == nil || !strings.Contains(err.Error(), "backends.critic.timeout") || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("a bad duration in a config: error %v, want one naming backends.critic.timeout and \"soon\"", err)
	}
}

// hashGolden holds the hashes of the default and a remote configuration.
// They change only when what a run produces changes (last: the v2
// templates and draw-v1 as defaults): a changed hash throws away the
// staging and resume of every existing version, so an update (-update)
// must be on purpose.
const hashGolden = "testdata/config-hashes.txt"

// TestConfigHashFollowsTemplateWords: a template given as a file enters
// the hash by its words, not its path.
func TestConfigHashFollowsTemplateWords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "critique.tmpl")
	hashWith := func(text string) string {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig()
		c.Engine.CritiqueTemplate = path
		if err := c.ReadTemplates(); err != nil {
			t.Fatal(err)
		}
		if err := c.Engine.Validate(); err != nil {
			t.Fatal(err)
		}
		return c.Hash()
	}
	def := DefaultConfig().Hash()
	a := hashWith("Score the {{.BandName}} of \"{{.Prompt}}\".\nSCORE: <0-100>\nIMPROVED_DESCRIPTION: <sentence>\n")
	b := hashWith("Score the {{.BandName}} of \"{{.Prompt}}\" strictly.\nSCORE: <0-100>\nIMPROVED_DESCRIPTION: <sentence>\n")
	if a == b || a == def {
		t.Errorf("hashes %s and %s (default %s): a template's words must change the hash", a, b, def)
	}
	if again := hashWith("Score the {{.BandName}} of \"{{.Prompt}}\".\nSCORE: <0-100>\nIMPROVED_DESCRIPTION: <sentence>\n"); again != a {
		t.Errorf("the same words hash to %s, then %s", a, again)
	}
}

func remoteHashConfig() Config {
	c := DefaultConfig()
	c.Backends.Generator = []string{"http://gpu0:8420", "http://gpu1:8420"}
	c.Backends.Thinker = backends.Teacher{BaseURL: "https://api.openai.com/v1", Model: "gpt-4o"}
	c.Backends.Thinker.Limits.Requests = 60
	c.Backends.Critic = c.Backends.Thinker
	c.Backends.Judge = backends.Teacher{BaseURL: "http://vlm:8000/v1", Model: "qwen", MaxTokens: 1000}
	return c
}

// TestConfigHash pins the hashes of the default and a remote
// configuration (hashGolden), and checks that the timeouts, retries and
// the other settings that do not change what a run produces stay out of
// them.
func TestConfigHash(t *testing.T) {
	remote := remoteHashConfig()
	got := fmt.Sprintf("default %s\nremote %s\n", DefaultConfig().Hash(), remote.Hash())
	golden.Check(t, hashGolden, []byte(got))

	// Zero knobs are not in the JSON at all.
	b, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"generator_timeout", "generator_retries", `"timeout"`, `"retries"`} {
		if bytes.Contains(b, []byte(k)) {
			t.Errorf("the default config's JSON holds %s", k)
		}
	}
	// Set, they do not enter the hash either: they do not change what a
	// successful call returns, so a rerun with a longer timeout resumes
	// the staged work. Nor do the output, the version, the cache's
	// location, the concurrency, the code version and the start time.
	want := remote.Hash()
	c := remote
	c.Backends.GeneratorTimeout, c.Backends.GeneratorRetries = backends.Duration(10*time.Second), 2
	for _, r := range backends.Roles {
		tr := r.Of(&c.Backends)
		tr.Timeout, tr.Retries = backends.Duration(time.Minute), 7
	}
	c.Output, c.Version, c.Backends.Cache, c.Concurrency = "file:///elsewhere", "v9", "file:///cache", 3
	c.CodeVersion, c.Created = "v0.0.0-test", "2026-01-01T00:00:00Z"
	if got := c.Hash(); got != want {
		t.Errorf("settings outside the data changed the hash: %s, want %s", got, want)
	}
	if remote.Backends.Thinker.Timeout != 0 || remote.Backends.Generator[0] != "http://gpu0:8420" {
		t.Errorf("Hash changed the config it hashed: %+v", remote.Backends)
	}
}
