package pipelines

// Tests of the timeout and retry settings of the GPU worker pool and the
// teacher clients (Backends.GeneratorTimeout, GeneratorRetries and
// Teacher.Timeout, Retries). The fault suite (faults_test.go) runs them
// end to end against hanging servers.

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
)

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{`"30s"`, 30 * time.Second},
		{`"2m"`, 2 * time.Minute},
		{`"1m30s"`, 90 * time.Second},
		{`"1.5s"`, 1500 * time.Millisecond},
		{`"250ms"`, 250 * time.Millisecond},
		{`" 2m "`, 2 * time.Minute},
		{`"0"`, 0},
		{`"0s"`, 0},
		{`"-5s"`, -5 * time.Second}, // read; Validate rejects it
		{`0`, 0},
		{`1500000000`, 1500 * time.Millisecond}, // nanoseconds, as encoding/json writes a time.Duration
		{`null`, 7},                             // left as it was
	} {
		d := Duration(7)
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if time.Duration(d) != tc.want {
			t.Errorf("Unmarshal(%s) = %v, want %v", tc.in, time.Duration(d), tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{`"2x"`, `string "2x"`},
		{`"30"`, `string "30"`}, // no unit
		{`""`, `string ""`},
		{`"two minutes"`, `string "two minutes"`},
		{`1.5`, `number 1.5`},
		{`1e9`, `number 1e9`},
		{`true`, `bool`},
		{`{}`, `object`},
		{`[]`, `array`},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", tc.in, time.Duration(d))
			continue
		}
		for _, w := range []string{tc.want, `want a duration such as "30s", "2m" or "1m30s"`} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Unmarshal(%s): error %q does not say %q", tc.in, err, w)
			}
		}
	}
	// In a config, the error names the field.
	cfg := DefaultConfig()
	err := json.Unmarshal([]byte(`{"backends": {"critic": {"timeout": "soon"}}}`), &cfg)
	if err == nil || !strings.Contains(err.Error(), "backends.critic.timeout") || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("a bad duration in a config: error %v, want one naming backends.critic.timeout and \"soon\"", err)
	}

	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, `"0s"`},
		{2 * time.Minute, `"2m0s"`},
		{1500 * time.Millisecond, `"1.5s"`},
	} {
		b, err := json.Marshal(Duration(tc.d))
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.d, b, err, tc.want)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != tc.d {
			t.Errorf("round trip of %v: %v, %v", tc.d, time.Duration(back), err)
		}
	}

	// The knobs round-trip through a config's JSON (the manifest's
	// "config", the Beam job graph) and are left out when zero.
	var bk Backends
	bk.GeneratorTimeout, bk.GeneratorRetries = Duration(90*time.Second), 3
	bk.Judge = Teacher{BaseURL: "http://vlm:8000/v1", Model: "m", Timeout: Duration(45 * time.Second), Retries: 2}
	b, err := json.Marshal(bk)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"generator_timeout":"1m30s"`, `"generator_retries":3`, `"timeout":"45s"`, `"retries":2`} {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("%s does not hold %s", b, w)
		}
	}
	var back Backends
	if err := json.Unmarshal(b, &back); err != nil || back.GeneratorTimeout != bk.GeneratorTimeout || back.GeneratorRetries != 3 || back.Judge.Timeout != bk.Judge.Timeout || back.Judge.Retries != 2 {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	b, _ = json.Marshal(Backends{Thinker: Teacher{BaseURL: "http://x/v1", Model: "m"}})
	for _, k := range []string{"generator_timeout", "generator_retries", `"timeout"`, `"retries"`} {
		if bytes.Contains(b, []byte(k)) {
			t.Errorf("zero knobs are written: %s holds %s", b, k)
		}
	}
}

func TestValidateTimeoutsAndRetries(t *testing.T) {
	teacherAt := func(c *Config) *Teacher {
		c.Backends.Critic = Teacher{BaseURL: "http://127.0.0.1:9/v1", Model: "m"}
		return &c.Backends.Critic
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"generator set", func(c *Config) { c.Backends.GeneratorTimeout, c.Backends.GeneratorRetries = Duration(2*time.Second), 1 }, ""},
		{"teacher set", func(c *Config) { p := teacherAt(c); p.Timeout, p.Retries = Duration(5*time.Minute), 10 }, ""},
		{"generator timeout negative", func(c *Config) { c.Backends.GeneratorTimeout = Duration(-time.Second) }, "config backends.generator_timeout: -1s must not be negative"},
		{"generator timeout in ns", func(c *Config) { c.Backends.GeneratorTimeout = 30 }, "config backends.generator_timeout: 30ns is too short"},
		{"generator timeout a day", func(c *Config) { c.Backends.GeneratorTimeout = Duration(24 * time.Hour) }, "config backends.generator_timeout: 24h0m0s is too long"},
		{"generator retries negative", func(c *Config) { c.Backends.GeneratorRetries = -1 }, "config backends.generator_retries: -1 must not be negative"},
		{"generator retries absurd", func(c *Config) { c.Backends.GeneratorRetries = 1000 }, "config backends.generator_retries: 1000 is too many"},
		{"critic timeout negative", func(c *Config) { teacherAt(c).Timeout = Duration(-2 * time.Minute) }, "config backends.critic.timeout: -2m0s must not be negative"},
		{"critic retries negative", func(c *Config) { teacherAt(c).Retries = -3 }, "config backends.critic.retries: -3 must not be negative"},
		{"judge timeout too short", func(c *Config) { c.Backends.Judge.Timeout = Duration(time.Millisecond) }, "config backends.judge.timeout: 1ms is too short"},
		{"drawer timeout too long", func(c *Config) { c.Backends.Drawer.Timeout = Duration(2 * time.Hour) }, "config backends.drawer.timeout: 2h0m0s is too long"},
		{"thinker retries absurd", func(c *Config) { c.Backends.Thinker.Retries = MaxRetries + 1 }, "config backends.thinker.retries: 101 is too many"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Output = "file:///tmp/x"
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// The hashes of configurations that set no timeout or retries, computed
// before the knobs existed: adding them must not change any hash, or
// every existing version's staging and resume would be thrown away.
// These are golden values: if a default elsewhere changes on purpose,
// the hash changes too; update them then, and only then.
// The hashes of the default and a remote configuration. They change only
// when what a run produces changes (last: the v2 templates and draw-v1 as
// defaults).
const (
	defaultConfigHash = "35e46f6d4931f95ef1fe323527a48909be127f09e4738180c957030bad6310a5"
	remoteConfigHash  = "bda076a87a9d2a7e8b676e982c409486bd28cf200233440c4c2a3161d12949ad"
)

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
	a := hashWith("Score the {{.BandName}} of \"{{.Prompt}}\".\nSCORE: <0-100>\nIMPROVED_DESCRIPTION: <sentence>\n")
	b := hashWith("Score the {{.BandName}} of \"{{.Prompt}}\" strictly.\nSCORE: <0-100>\nIMPROVED_DESCRIPTION: <sentence>\n")
	if a == b || a == defaultConfigHash {
		t.Errorf("hashes %s and %s (default %s): a template's words must change the hash", a, b, defaultConfigHash)
	}
	if again := hashWith("Score the {{.BandName}} of \"{{.Prompt}}\".\nSCORE: <0-100>\nIMPROVED_DESCRIPTION: <sentence>\n"); again != a {
		t.Errorf("the same words hash to %s, then %s", a, again)
	}
}

func remoteHashConfig() Config {
	c := DefaultConfig()
	c.Backends.Generator = []string{"http://gpu0:8420", "http://gpu1:8420"}
	c.Backends.Thinker = Teacher{BaseURL: "https://api.openai.com/v1", Model: "gpt-4o"}
	c.Backends.Thinker.Limits.Requests = 60
	c.Backends.Critic = c.Backends.Thinker
	c.Backends.Judge = Teacher{BaseURL: "http://vlm:8000/v1", Model: "qwen", MaxTokens: 1000}
	return c
}

func TestConfigHashUnchangedByKnobs(t *testing.T) {
	if got := DefaultConfig().Hash(); got != defaultConfigHash {
		t.Errorf("DefaultConfig().Hash() = %s, want %s (the hash before the timeout and retry settings)", got, defaultConfigHash)
	}
	c := remoteHashConfig()
	if got := c.Hash(); got != remoteConfigHash {
		t.Errorf("the hash of a config with remote models = %s, want %s", got, remoteConfigHash)
	}
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
	// the staged work.
	c.Backends.GeneratorTimeout, c.Backends.GeneratorRetries = Duration(10*time.Second), 2
	for _, r := range []*Teacher{&c.Backends.Thinker, &c.Backends.Critic, &c.Backends.Drawer, &c.Backends.Judge} {
		r.Timeout, r.Retries = Duration(time.Minute), 7
	}
	if got := c.Hash(); got != remoteConfigHash {
		t.Errorf("timeouts and retries changed the hash: %s, want %s", got, remoteConfigHash)
	}
}

func TestPoolOptionsFromBackends(t *testing.T) {
	def := remote.DefaultPoolOptions()
	if got := (Backends{}).PoolOptions(); got.Timeout != def.Timeout || got.Retries != def.Retries || got.BackoffBase != def.BackoffBase || got.HealthInterval != def.HealthInterval {
		t.Errorf("zero settings: %+v, want the defaults %+v", got, def)
	}
	got := Backends{GeneratorTimeout: Duration(3 * time.Second), GeneratorRetries: 1}.PoolOptions()
	if got.Timeout != 3*time.Second || got.Retries != 1 {
		t.Errorf("timeout %v retries %d, want 3s and 1", got.Timeout, got.Retries)
	}
	if got.BackoffBase != def.BackoffBase || got.BackoffMax != def.BackoffMax || got.MaxInFlightPerEndpoint != def.MaxInFlightPerEndpoint || got.HealthInterval != def.HealthInterval {
		t.Errorf("the other options changed: %+v", got)
	}
}

// TestTeacherKnobsReachClients builds every teacher role against a server
// that never answers: each call must give up after Retries+1 attempts of
// Timeout each, not after the 2-minute default.
func TestTeacherKnobsReachClients(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	var hits atomic.Int64
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		<-r.Context().Done()
	}))
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 1, 1)))
	knobs := Teacher{BaseURL: ts.URL + "/v1", Model: "m", Timeout: Duration(300 * time.Millisecond), Retries: 1}
	bk := Backends{Thinker: knobs, Critic: knobs, Judge: knobs, Drawer: knobs}
	eng := inference.DefaultConfig()
	set, err := openBackends(context.Background(), t.Name(), eng, SimConfig{}, bk)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, tc := range []struct {
		role string
		call func(context.Context) error
	}{
		{"think", func(ctx context.Context) error {
			_, err := set.reasoner.Think(ctx, inference.ThinkRequest{Instruction: "x", Prompt: "x", Regions: 1})
			return err
		}},
		{"critique", func(ctx context.Context) error {
			_, err := set.reasoner.Critique(ctx, inference.CritiqueRequest{Instruction: "x", Prompt: "x", Canvas: pngBuf.Bytes(), Regions: 1})
			return err
		}},
		{"view", func(ctx context.Context) error {
			_, err := set.viewer.View(ctx, inference.ViewRequest{Instruction: "x", Image: pngBuf.Bytes()})
			return err
		}},
		{"draw", func(ctx context.Context) error {
			_, err := set.drawer.Draw(ctx, inference.DrawRequest{Prompt: "x", Size: 64})
			return err
		}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			before := hits.Load()
			// The context is a safety net: the default timeout would run
			// into it and fail the test with "deadline exceeded".
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx)
			took := time.Since(start)
			if err == nil {
				t.Fatal("a call to a server that never answers succeeded")
			}
			for _, w := range []string{"timed out", "gave up after attempt 2"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := hits.Load() - before; n != 2 {
				t.Errorf("the server saw %d requests, want 2 (1 retry)", n)
			}
			// Two 300ms attempts and one backoff of under 1s.
			if took > 5*time.Second {
				t.Errorf("the call took %v, want about 0.6-1.6s", took)
			}
		})
	}
}

// TestTeacherRolesOneTable: the variable a role's key is read from is the
// one its messages name, for every role (they once disagreed: messages
// said TWIG_THINKER_API_KEY, the code read TWIG_THINK_API_KEY).
func TestTeacherRolesOneTable(t *testing.T) {
	for _, r := range TeacherRoles {
		t.Run(r.Field, func(t *testing.T) {
			t.Setenv(FallbackKeyEnv, "fallback")
			t.Setenv(r.KeyEnv, "role-key-"+r.Field)
			if got := (Teacher{}).apiKey(r.Role); got != "role-key-"+r.Field {
				t.Errorf("apiKey(%s) = %q, want the value of %s", r.Role, got, r.KeyEnv)
			}
			t.Setenv(r.KeyEnv, "")
			if got := (Teacher{}).apiKey(r.Role); got != "fallback" {
				t.Errorf("apiKey(%s) without %s = %q, want %s's", r.Role, r.KeyEnv, got, FallbackKeyEnv)
			}
			c := DefaultConfig()
			c.Output = "file:///tmp/x"
			*r.Of(&c.Backends) = Teacher{BaseURL: "https://user:secret@api.example.com/v1", Model: "m"}
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), "backends."+r.Field+".base_url") || !strings.Contains(err.Error(), r.KeyEnv+" or "+FallbackKeyEnv) {
				t.Errorf("Validate = %v, want it to name backends.%s.base_url and %s", err, r.Field, r.KeyEnv)
			}
		})
	}
}
