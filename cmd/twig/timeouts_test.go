package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/pipelines"
)

// parseRun builds the config and options of twig run from a config file
// (optional) and flags, as cmdRun does, on a flag set of its own.
func parseRun(t *testing.T, file string, args ...string) (pipelines.Config, runOptions, error) {
	t.Helper()
	cfg := pipelines.DefaultConfig()
	if file != "" {
		if err := loadConfigFile(file, &cfg); err != nil {
			t.Fatal(err)
		}
	}
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addRunFlags(fs, &cfg, &o)
	if err := fs.Parse(args); err != nil {
		return cfg, o, err
	}
	o.applyTeachers(&cfg.Backends)
	return cfg, o, nil
}

func TestTimeoutAndRetryFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "run.json")
	os.WriteFile(file, []byte(`{
  "backends": {
    "generator": ["http://gpu0:8420"],
    "generator_timeout": "90s",
    "thinker": {"base_url": "http://llm:8000/v1", "model": "m", "timeout": "3m", "retries": 2},
    "critic": {"base_url": "http://llm:8000/v1", "model": "m", "timeout": "1m"},
    "judge": {"base_url": "http://vlm:8000/v1", "model": "v", "timeout": "4m", "retries": 9}
  }
}
`), 0o644)
	sec := func(n int) backends.Duration { return backends.Duration(time.Duration(n) * time.Second) }

	t.Run("config file only", func(t *testing.T) {
		cfg, _, err := parseRun(t, file)
		if err != nil {
			t.Fatal(err)
		}
		b := cfg.Backends
		if b.GeneratorTimeout != sec(90) || b.GeneratorRetries != 0 {
			t.Errorf("generator %v/%d, want 1m30s/0", b.GeneratorTimeout, b.GeneratorRetries)
		}
		if b.Thinker.Timeout != sec(180) || b.Thinker.Retries != 2 || b.Critic.Timeout != sec(60) || b.Judge.Timeout != sec(240) || b.Judge.Retries != 9 {
			t.Errorf("teachers %+v", b)
		}
		if got := b.PoolOptions(); got.Timeout != 90*time.Second || got.Retries != 5 {
			t.Errorf("pool options %v/%d, want 1m30s and the default 5 retries", got.Timeout, got.Retries)
		}
	})

	t.Run("flags win over the file, for every role", func(t *testing.T) {
		cfg, _, err := parseRun(t, file, "--generator-timeout", "2s", "--generator-retries", "1", "--teacher-timeout", "45s")
		if err != nil {
			t.Fatal(err)
		}
		b := cfg.Backends
		if b.GeneratorTimeout != sec(2) || b.GeneratorRetries != 1 {
			t.Errorf("generator %v/%d, want 2s/1", b.GeneratorTimeout, b.GeneratorRetries)
		}
		for role, r := range map[string]backends.Teacher{"thinker": b.Thinker, "critic": b.Critic, "judge": b.Judge} {
			if r.Timeout != sec(45) {
				t.Errorf("%s timeout %v, want 45s from --teacher-timeout", role, r.Timeout)
			}
		}
		// --teacher-retries not given: each role keeps its own.
		if b.Thinker.Retries != 2 || b.Critic.Retries != 0 || b.Judge.Retries != 9 {
			t.Errorf("retries %d/%d/%d, want the file's 2/0/9", b.Thinker.Retries, b.Critic.Retries, b.Judge.Retries)
		}
		// No drawer is configured: it gets nothing.
		if b.Drawer != (backends.Teacher{}) {
			t.Errorf("drawer %+v, want none", b.Drawer)
		}
	})

	t.Run("roles from flags keep the file's settings", func(t *testing.T) {
		cfg, _, err := parseRun(t, file, "--teacher", "http://other:8000/v1", "--teacher-model", "n", "--teacher-retries", "7",
			"--drawer", "http://img:8000/v1", "--judge", "http://vlm2:8000/v1")
		if err != nil {
			t.Fatal(err)
		}
		b := cfg.Backends
		if b.Thinker.BaseURL != "http://other:8000/v1" || b.Thinker.Timeout != sec(180) || b.Critic.Timeout != sec(60) || b.Judge.Timeout != sec(240) {
			t.Errorf("teachers %+v, want the flags' URLs with the file's timeouts", b)
		}
		for role, r := range map[string]backends.Teacher{"thinker": b.Thinker, "critic": b.Critic, "drawer": b.Drawer, "judge": b.Judge} {
			if r.Retries != 7 {
				t.Errorf("%s retries %d, want 7 from --teacher-retries", role, r.Retries)
			}
		}
		if b.Drawer.Timeout != 0 {
			t.Errorf("drawer timeout %v, want 0 (its default, 5m)", b.Drawer.Timeout)
		}
	})

	t.Run("flags without a file", func(t *testing.T) {
		cfg, _, err := parseRun(t, "", "--teacher", "http://llm:8000/v1", "--teacher-model", "m", "--teacher-timeout", "1m30s", "--teacher-retries", "3")
		if err != nil {
			t.Fatal(err)
		}
		b := cfg.Backends
		if b.Thinker.Timeout != sec(90) || b.Thinker.Retries != 3 || b.Critic.Timeout != sec(90) || b.Critic.Retries != 3 {
			t.Errorf("thinker %+v critic %+v", b.Thinker, b.Critic)
		}
		// The vlm judge follows the teacher, with the teacher's settings.
		if b.Judge.BaseURL != "http://llm:8000/v1" || b.Judge.Model != "m" || b.Judge.Timeout != sec(90) || b.Judge.Retries != 3 {
			t.Errorf("judge %+v, want the teacher with its timeout and retries", b.Judge)
		}
	})

	t.Run("defaults leave the config as it was", func(t *testing.T) {
		cfg, _, err := parseRun(t, "")
		if err != nil {
			t.Fatal(err)
		}
		def := pipelines.DefaultConfig().Backends
		if cfg.Backends.GeneratorTimeout != 0 || cfg.Backends.GeneratorRetries != 0 || cfg.Backends.Thinker != def.Thinker || cfg.Backends.Judge != def.Judge {
			t.Errorf("no flag, yet the backends changed: %+v", cfg.Backends)
		}
	})

	for _, args := range [][]string{
		{"--generator-timeout", "2x"},
		{"--teacher-timeout", "90"},
		{"--generator-retries", "many"},
	} {
		if _, _, err := parseRun(t, "", args...); err == nil {
			t.Errorf("%q: parsed, want an error", args)
		} else if strings.HasSuffix(args[0], "timeout") && !strings.Contains(err.Error(), "not a duration") {
			t.Errorf("%q: error %q does not say it is not a duration", args, err)
		}
	}

	// The help lists the flags, without a "(default 0s)".
	var help bytes.Buffer
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	addRunFlags(fs, new(pipelines.Config), new(runOptions))
	fs.VisitAll(func(f *flag.Flag) { printFlag(&help, f) })
	for _, w := range []string{"--generator-timeout limit", "--generator-retries int", "--teacher-timeout limit", "--teacher-retries int"} {
		if !strings.Contains(help.String(), w) {
			t.Errorf("help lacks %q", w)
		}
	}
	if strings.Contains(help.String(), "(default 0s)") {
		t.Errorf("help shows a zero duration default:\n%s", help.String())
	}
}
