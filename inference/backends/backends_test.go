package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/remote"
	"github.com/twigdata/twig/inference/sim"
	"github.com/twigdata/twig/inference/teacher"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/internal/configerr"
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
	// Inside the backends, the error names the field.
	var bk Backends
	err := json.Unmarshal([]byte(`{"critic": {"timeout": "soon"}}`), &bk)
	if err == nil || !strings.Contains(err.Error(), "critic.timeout") || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("a bad duration in the backends: error %v, want one naming critic.timeout and \"soon\"", err)
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
}

func TestShort(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{2 * time.Minute, "2m"},
		{5 * time.Minute, "5m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{time.Hour + time.Minute, "1h1m"},
		{100 * time.Millisecond, "100ms"},
		{0, "0s"},
	} {
		if got := Short(tc.d); got != tc.want {
			t.Errorf("Short(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestKnobsJSON: the timeouts and retries round-trip through the JSON of
// a config (the manifest's "config", the Beam job graph) and are left out
// when zero.
func TestKnobsJSON(t *testing.T) {
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

// TestDefaultsAreTheClients': the defaults the messages name are the ones
// the clients apply.
func TestDefaultsAreTheClients(t *testing.T) {
	if DefaultGeneratorTimeout != remote.DefaultPoolOptions().Timeout || DefaultGeneratorRetries != remote.DefaultPoolOptions().Retries {
		t.Errorf("generator defaults %v/%d, the pool's %+v", DefaultGeneratorTimeout, DefaultGeneratorRetries, remote.DefaultPoolOptions())
	}
	var p teacher.RetryPolicy
	if DefaultTeacherRetries != teacher.DefaultMaxAttempts-1 || (Teacher{}).retryPolicy() != p {
		t.Errorf("teacher retries default %d; a zero Retries must leave the library's policy", DefaultTeacherRetries)
	}
	for _, r := range Roles {
		want := teacher.DefaultTimeout
		if r.Call == inference.RoleDraw {
			want = teacher.DefaultDrawTimeout
		}
		if r.DefaultTimeout != want {
			t.Errorf("%s: default timeout %v, its client's is %v", r.Field, r.DefaultTimeout, want)
		}
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

// TestRolesOneTable: the variable a role's key is read from is the one
// its messages name, for every role (they once disagreed: messages said
// TWIG_THINKER_API_KEY, the code read TWIG_THINK_API_KEY), and every
// place that goes through the roles reaches each of them.
func TestRolesOneTable(t *testing.T) {
	fields := map[string]bool{}
	for _, r := range Roles {
		t.Run(r.Field, func(t *testing.T) {
			if fields[r.Field] {
				t.Fatalf("role %s twice in the table", r.Field)
			}
			fields[r.Field] = true
			t.Setenv(FallbackKeyEnv, "fallback")
			t.Setenv(r.KeyEnv, "role-key-"+r.Field)
			if got := r.apiKey(Teacher{}); got != "role-key-"+r.Field {
				t.Errorf("apiKey = %q, want the value of %s", got, r.KeyEnv)
			}
			t.Setenv("TWIG_TEST_OWN_KEY", "own")
			if got := r.apiKey(Teacher{KeyEnv: "TWIG_TEST_OWN_KEY"}); got != "own" {
				t.Errorf("apiKey with key_env = %q, want the value of key_env", got)
			}
			t.Setenv(r.KeyEnv, "")
			if got := r.apiKey(Teacher{}); got != "fallback" {
				t.Errorf("apiKey without %s = %q, want %s's", r.KeyEnv, got, FallbackKeyEnv)
			}

			var b Backends
			*r.Of(&b) = Teacher{BaseURL: "https://user:secret@api.example.com/v1", Model: "m"}
			err := b.Validate(inference.RouteInterleaved)
			var fe *configerr.FieldError
			if !errors.As(err, &fe) || fe.Field != "backends."+r.Field+".base_url" || !strings.Contains(err.Error(), r.KeyEnv+" or "+FallbackKeyEnv) {
				t.Errorf("Validate = %v, want it to name backends.%s.base_url and %s", err, r.Field, r.KeyEnv)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(fe.Value.(string), "secret") {
				t.Errorf("Validate = %v (value %v): the credentials are echoed", err, fe.Value)
			}

			// The hash leaves out the role's knobs; the manifest redacts
			// its URL; the role makes the backends remote.
			b = Backends{}
			*r.Of(&b) = Teacher{BaseURL: "https://api.example.com/v1?key=secret", Model: "m", Timeout: Duration(time.Minute), Retries: 3}
			hashed, shown := b.ForHash(), b.Redacted()
			if h := r.Of(&hashed); h.Timeout != 0 || h.Retries != 0 || h.BaseURL != r.Of(&b).BaseURL {
				t.Errorf("ForHash: %+v", *h)
			}
			if u := r.Of(&shown).BaseURL; strings.Contains(u, "secret") || !strings.Contains(u, "api.example.com") {
				t.Errorf("Redacted: %s", u)
			}
			if !b.Remote() || b.Simulated(worker.Info{}) {
				t.Errorf("a %s teacher: Remote %v, Simulated %v", r.Field, b.Remote(), b.Simulated(worker.Info{}))
			}
		})
	}
}

// TestValidate: what the backends refuse, and the field and value each
// refusal names.
func TestValidate(t *testing.T) {
	ok := Teacher{BaseURL: "https://api.example.com/v1", Model: "m"}
	for _, tc := range []struct {
		name  string
		b     Backends
		route string
		field string // "" means valid
		value any
		msg   string
	}{
		{"simulator", Backends{}, inference.RouteInterleaved, "", nil, ""},
		{"teachers and workers", Backends{Generator: []string{"http://gpu0:8420"}, Thinker: ok, Critic: ok, Drawer: ok, Judge: ok}, inference.RouteTeacherImage, "", nil, ""},
		{"teacher not http", Backends{Critic: Teacher{BaseURL: "ftp://x/v1", Model: "m"}}, "", "backends.critic.base_url", "ftp://x/v1",
			`config backends.critic.base_url: "ftp://x/v1" is not an http(s) URL`},
		{"teacher with a query", Backends{Thinker: Teacher{BaseURL: "https://x/v1?key=sk-1", Model: "m", KeyEnv: "MY_KEY"}}, "", "backends.thinker.base_url", nil,
			"must not carry credentials, a query or a fragment: put the API key in the environment (MY_KEY)"},
		{"teacher without model", Backends{Judge: Teacher{BaseURL: "https://x/v1"}}, "", "backends.judge.model", "",
			"config backends.judge.model: a model name is required with base_url https://x/v1"},
		{"negative token cap", Backends{Thinker: Teacher{BaseURL: "https://x/v1", Model: "m", MaxTokens: -1}}, "", "backends.thinker", int64(-1),
			"config backends.thinker: negative spending cap"},
		{"negative dollar cap", Backends{Drawer: Teacher{BaseURL: "https://x/v1", Model: "m", MaxDollars: -2}}, "", "backends.drawer", -2.0,
			"config backends.drawer: negative spending cap"},
		{"drawer timeout", Backends{Drawer: Teacher{Timeout: Duration(-time.Second)}}, "", "backends.drawer.timeout", Duration(-time.Second),
			"config backends.drawer.timeout: -1s must not be negative (0: the default, 5m)"},
		{"worker with credentials", Backends{Generator: []string{"http://gpu0:8420", "http://u:p@gpu1:8420"}}, "", "backends.generator[1]", nil,
			"config backends.generator[1]: "},
		{"teacher-image without drawer", Backends{Generator: []string{"http://gpu0:8420"}}, inference.RouteTeacherImage, "backends.drawer", nil,
			"config backends.drawer: the teacher-image route with GPU workers needs an image model (--drawer)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.Validate(tc.route)
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
			if fe.Field != tc.field || (tc.value != nil && fe.Value != tc.value) {
				t.Errorf("Validate refused %s = %#v, want %s = %#v", fe.Field, fe.Value, tc.field, tc.value)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.msg)
			}
			for _, secret := range []string{"sk-1", "u:p"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprint(fe.Value), secret) {
					t.Errorf("Validate = %v (value %v) echoes a credential", err, fe.Value)
				}
			}
		})
	}
}

// TestCheckReaders: a real painter needs real readers of its canvases.
func TestCheckReaders(t *testing.T) {
	janus := worker.Info{Model: "deepseek-community/Janus-Pro-7B", Revision: "main"}
	ok := Teacher{BaseURL: "https://api.example.com/v1", Model: "m"}
	workers := []string{"http://gpu0:8420"}
	for _, tc := range []struct {
		name    string
		b       Backends
		painter worker.Info
		field   string // "" means accepted
	}{
		{"simulator", Backends{}, worker.Info{}, ""},
		{"twig worker", Backends{Generator: workers}, worker.Info{Model: sim.DefaultPainterModel}, ""},
		{"real painter, simulated critic", Backends{Generator: workers, Judge: ok}, janus, "backends.critic"},
		{"real painter, simulated judge", Backends{Generator: workers, Critic: ok}, janus, "backends.judge"},
		{"real painter, real readers", Backends{Generator: workers, Critic: ok, Judge: ok}, janus, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.CheckReaders(tc.painter)
			var fe *configerr.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("CheckReaders = %v, want nil", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Errorf("CheckReaders = %v, want a refusal of %s", err, tc.field)
			}
		})
	}
}

// TestTeacherKnobsReachClients builds every teacher role against a server
// that never answers: each call must give up after Retries+1 attempts of
// Timeout each, not after the default timeout.
func TestTeacherKnobsReachClients(t *testing.T) {
	t.Setenv(FallbackKeyEnv, "")
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		<-r.Context().Done()
	}))
	defer ts.Close()
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 1, 1)))
	knobs := Teacher{BaseURL: ts.URL + "/v1", Model: "m", Timeout: Duration(300 * time.Millisecond), Retries: 1}
	bk := Backends{Thinker: knobs, Critic: knobs, Judge: knobs, Drawer: knobs}
	set, err := Open(context.Background(), t.Name(), inference.DefaultConfig(), SimConfig{}, bk)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, tc := range []struct {
		role string
		call func(context.Context) error
	}{
		{"think", func(ctx context.Context) error {
			_, err := set.Reasoner.Think(ctx, inference.ThinkRequest{Instruction: "x", Prompt: "x", Regions: 1})
			return err
		}},
		{"critique", func(ctx context.Context) error {
			_, err := set.Reasoner.Critique(ctx, inference.CritiqueRequest{Instruction: "x", Prompt: "x", Canvas: pngBuf.Bytes(), Regions: 1})
			return err
		}},
		{"view", func(ctx context.Context) error {
			_, err := set.Viewer.View(ctx, inference.ViewRequest{Instruction: "x", Image: pngBuf.Bytes()})
			return err
		}},
		{"draw", func(ctx context.Context) error {
			_, err := set.Drawer.Draw(ctx, inference.DrawRequest{Prompt: "x", Size: 64})
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
