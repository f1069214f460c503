package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/pipelines"
	"github.com/twigdata/twig/schema"
)

// Planted secrets: an API key in the environment, a storage credential in
// the environment, and a token in a teacher URL's query.
const (
	plantedKey   = "sk-PLANTED-envkey-5f2b9c71d0"
	plantedAWS   = "PLANTED-aws-secret-8e1d44a0"
	plantedQuery = "sk-PLANTED-query-3a7e90c6b2"
)

// plantedEnv is the environment of the runs: the key under every name a
// role reads it from, and storage credentials.
var plantedEnv = func() []string {
	env := []string{backends.FallbackKeyEnv + "=" + plantedKey, "AWS_ACCESS_KEY_ID=AKIAPLANTED0000", "AWS_SECRET_ACCESS_KEY=" + plantedAWS}
	for _, r := range backends.Roles {
		env = append(env, r.KeyEnv+"="+plantedKey)
	}
	return env
}()

// secretsIn returns the planted secrets found in b.
func secretsIn(b []byte) []string {
	var found []string
	for _, s := range []string{plantedKey, plantedAWS, plantedQuery, "PLANTED"} {
		if bytes.Contains(b, []byte(s)) {
			found = append(found, s)
		}
	}
	return found
}

// checkTree reports every file under dir whose name or bytes hold a
// planted secret.
func checkTree(t *testing.T, what, dir string) (files int) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return 0
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if s := secretsIn([]byte(rel)); s != nil {
			t.Errorf("%s: the name %s holds %v", what, rel, s)
		}
		if d.IsDir() {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if s := secretsIn(b); s != nil {
			t.Errorf("%s: %s holds %v", what, rel, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// shardRows returns every row of every shard of a committed version as
// JSON: shards are zstd-compressed, so their bytes alone prove nothing.
func shardRows(t *testing.T, out string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	b, err := openBucket(ctx, out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	prefix := "twig-sim/v1"
	m, err := exporters.ReadManifest(ctx, b, prefix)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]byte{}
	for config, shards := range m.Shards {
		for _, s := range shards {
			var v any
			switch config {
			case exporters.ConfigTrajectories, exporters.ConfigRejected:
				v, err = exporters.ReadShard[schema.Trajectory](ctx, b, prefix, s.Path)
			case exporters.ConfigSFT:
				v, err = exporters.ReadShard[schema.Sample](ctx, b, prefix, s.Path)
			case exporters.ConfigFailed:
				v, err = exporters.ReadShard[schema.Failure](ctx, b, prefix, s.Path)
			default:
				continue
			}
			if err != nil {
				t.Fatalf("read %s: %v", s.Path, err)
			}
			rows[s.Path], _ = json.Marshal(v)
		}
	}
	return rows
}

// jobGraph builds the pipeline of cfg as twig run does and returns its
// portable pipeline proto, serialized, followed by every base64 payload
// found in it decoded (DoFn configurations travel as base64 of a proto
// holding their JSON), recursively.
func jobGraph(t *testing.T, cfg pipelines.Config) []byte {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	pipelines.Build(s, cfg)
	edges, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := graphx.Marshal(edges, &graphx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	all := append(wire, prototext.Format(pb)...)
	b64 := regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)
	next := all
	for range 3 {
		var decoded []byte
		for _, m := range b64.FindAll(next, -1) {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
				if d, err := enc.DecodeString(string(m)); err == nil {
					decoded = append(decoded, d...)
					decoded = append(decoded, '\n')
					break
				}
			}
		}
		all = append(all, decoded...)
		next = decoded
	}
	return all
}

// remoteConfig is the configuration twig run builds from the flags of
// secretArgs, with teacher base URL teach.
func remoteConfig(t *testing.T, dir, worker, teach string) pipelines.Config {
	t.Helper()
	cfg := pipelines.DefaultConfig()
	cfg.Builtin = 12
	var err error
	if cfg.Output, err = bucketURL(filepath.Join(dir, "out"), true); err != nil {
		t.Fatal(err)
	}
	if cfg.Backends.Cache, err = bucketURL(filepath.Join(dir, "cache"), true); err != nil {
		t.Fatal(err)
	}
	cfg.Backends.Generator = []string{worker}
	o := runOptions{teacher: teach, teacherModel: "twig-sim", judge: teach, judgeModel: "twig-sim"}
	o.applyTeachers(&cfg.Backends)
	cfg.Created = "2026-01-01T00:00:00Z"
	return cfg
}

func secretArgs(out, cache, worker, teach string) []string {
	return []string{"run", "--verbose", "--progress-every", "20ms", "--out", out, "--cache", cache, "--builtin", "12",
		"--generator", worker, "--teacher", teach, "--teacher-model", "twig-sim", "--judge", teach, "--judge-model", "twig-sim", "--dataset", "twig-sim"}
}

// TestSecretsStayOut plants an API key (OPENAI_API_KEY and every role's
// variable of backends.Roles) and storage credentials in the environment, runs
// the real binary with --verbose against a worker and OpenAI endpoint
// over HTTP (the server checks that the key is sent, as a bearer token),
// and looks for the secrets in: the run's stdout and stderr; every file
// of the version (manifest.json, README.md, stats.json, the shards'
// bytes and their rows read back); every cache object and its key (file
// name); the HTML report of twig audit and its output; and the Beam job
// graph (the portable pipeline proto, with the DoFn payloads decoded). It
// then does the same with a token in the teacher URL's query.
func TestSecretsStayOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildTwig(t)
	srv := newCallServer(t)
	srv.authKey = plantedKey

	check := func(t *testing.T, dir, teach string) {
		out, cache, html := filepath.Join(dir, "out"), filepath.Join(dir, "cache"), filepath.Join(dir, "html")
		msg, err := runTwig(t, bin, plantedEnv, secretArgs(out, cache, srv.URL, teach)...)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, msg)
		}
		if !strings.Contains(msg, "seeded:     12") {
			t.Errorf("summary:\n%s", msg)
		}
		if s := secretsIn([]byte(msg)); s != nil {
			t.Errorf("the run's output holds %v:\n%s", s, msg)
		}
		version := filepath.Join(out, "twig-sim", "v1")
		for _, f := range []string{exporters.ManifestFile, "README.md", exporters.StatsFile} {
			b, err := os.ReadFile(filepath.Join(version, f))
			if err != nil {
				t.Fatal(err)
			}
			if s := secretsIn(b); s != nil {
				t.Errorf("%s holds %v", f, s)
			}
		}
		for path, rows := range shardRows(t, out) {
			if s := secretsIn(rows); s != nil && !strings.HasPrefix(path, "failed/") {
				t.Errorf("the rows of %s hold %v", path, s)
			}
		}
		checkTree(t, "version", filepath.Join(out, "twig-sim", "v1", "data"))
		checkTree(t, "version", filepath.Join(out, "twig-sim", "v1", "rejected"))
		checkTree(t, "cache", cache)
		msg, err = runTwig(t, bin, plantedEnv, "audit", version, "--html", html)
		if err != nil {
			t.Fatalf("audit: %v\n%s", err, msg)
		}
		if s := secretsIn([]byte(msg)); s != nil {
			t.Errorf("twig audit's output holds %v", s)
		}
	}

	t.Run("key in the environment", func(t *testing.T) {
		dir := t.TempDir()
		check(t, dir, srv.URL+"/v1")
		if n := checkTree(t, "cache", filepath.Join(dir, "cache")); n == 0 {
			t.Errorf("the cache is empty: nothing was checked")
		}
		srv.mu.Lock()
		authed := srv.authed
		srv.mu.Unlock()
		if authed == 0 {
			t.Errorf("the server never saw the planted key: the test proves nothing")
		}
		// The whole version, failed shard included, and the report.
		checkTree(t, "version", filepath.Join(dir, "out"))
		if n := checkTree(t, "HTML report", filepath.Join(dir, "html")); n == 0 {
			t.Errorf("no HTML report written")
		}

		t.Setenv(backends.FallbackKeyEnv, plantedKey)
		for _, r := range backends.Roles {
			t.Setenv(r.KeyEnv, plantedKey)
		}
		graph := jobGraph(t, remoteConfig(t, dir, srv.URL, srv.URL+"/v1"))
		if !bytes.Contains(graph, []byte(strings.TrimPrefix(srv.URL, "http://")+"/v1")) {
			t.Fatalf("the teacher URL is not in the decoded job graph: the search cannot see DoFn configurations")
		}
		if s := secretsIn(graph); s != nil {
			t.Errorf("the Beam job graph holds %v", s)
		}
	})

	t.Run("token in the teacher URL", func(t *testing.T) {
		// A key in a base URL would travel in the job graph and in error
		// messages: the run refuses it before any call, without echoing it.
		dir := t.TempDir()
		teach := srv.URL + "/v1?key=" + plantedQuery
		out := filepath.Join(dir, "out")
		msg, err := runTwig(t, bin, plantedEnv, secretArgs(out, filepath.Join(dir, "cache"), srv.URL, teach)...)
		if err == nil || !strings.Contains(msg, "must not carry credentials, a query or a fragment") {
			t.Errorf("a teacher URL with a key in its query: %v\n%s", err, msg)
		}
		if s := secretsIn([]byte(msg)); s != nil {
			t.Errorf("the refusal echoes %v:\n%s", s, msg)
		}
		if _, err := os.Stat(filepath.Join(out, "twig-sim", "v1", exporters.ManifestFile)); err == nil {
			t.Errorf("a version was committed")
		}
	})
}

// filePath returns the folder of a file:// bucket URL.
func filePath(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "file" {
		return ""
	}
	return p.Path
}

// TestNoPathEscape checks that names and locations cannot put output
// outside the root they name: dataset, version and split names with
// "..", slashes, absolute paths, fullwidth dots, an RTL override or NUL
// are refused before anything is written; output and cache locations are
// taken literally (odd Unicode stays a folder name inside the working
// folder, ".." is only the user's own path), NUL and unknown schemes are
// refused, and credentials in an s3:// URL are refused without being
// echoed; object keys (shard paths, staged records, cache entries) cannot
// leave the bucket's folder. The HTML report's file names and escaping of
// model text are tested in exporters/report (TestUnsafeNames,
// TestEscaping).
func TestNoPathEscape(t *testing.T) {
	ctx := context.Background()

	t.Run("names", func(t *testing.T) {
		bad := []string{"..", ".", "../x", "x/../../y", "a/b", `a\b`, "/abs", "-x", ".hidden", "",
			"\uff0e\uff0e", "\uff0e\uff0e\uff0fx", "a\u202eb", "\u202e..", "a\x00b", "x\n", strings.Repeat("a", 129)}
		for _, field := range []string{"dataset", "version", "split"} {
			for _, name := range bad {
				t.Run(fmt.Sprintf("%s=%q", field, name), func(t *testing.T) {
					root := t.TempDir()
					cfg := pipelines.DefaultConfig()
					cfg.Builtin = 2
					switch field {
					case "dataset":
						cfg.Dataset = name
					case "version":
						cfg.Version = name
					case "split":
						cfg.Split = name
					}
					err := runPipeline(ctx, cfg, runOptions{out: filepath.Join(root, "out")}, new(bytes.Buffer))
					if err == nil {
						t.Fatalf("%s %q accepted", field, name)
					}
					if entries, _ := os.ReadDir(root); len(entries) != 0 {
						t.Errorf("%s %q refused (%v) but %s was written", field, name, err, entries[0].Name())
					}
				})
			}
		}
	})

	t.Run("locations", func(t *testing.T) {
		root := t.TempDir()
		t.Chdir(root)
		for _, c := range []struct {
			loc  string
			want string // the folder, relative to root; "" means refused
		}{
			{"out", "out"},
			{"a/../out", "out"},
			{"./out/", "out"},
			{"\uff0e\uff0e/out", "\uff0e\uff0e/out"},
			{"\u202etuo", "\u202etuo"},
			{"file://" + root + "/out", "out"},
			{"out\x00x", ""},
			{"../\x00", ""},
			{"ftp://host/out", ""},
			{"http://host/out", ""},
			{"s3://AKIAPLANTED:" + plantedAWS + "@bucket/out", ""},
			{"gs://user:" + plantedAWS + "@bucket/out", ""},
		} {
			u, err := bucketURL(c.loc, true)
			if err == nil {
				// NUL survives bucketURL; opening the folder refuses it.
				var b interface{ Close() error }
				b, err = openBucket(ctx, c.loc, true)
				if err == nil {
					b.Close()
				}
			}
			switch {
			case c.want == "" && err == nil:
				t.Errorf("location %q accepted as %s", c.loc, u)
			case c.want == "" && secretsIn([]byte(err.Error())) != nil:
				t.Errorf("location %q: the error echoes the credential: %v", c.loc, err)
			case c.want != "" && err != nil:
				t.Errorf("location %q: %v", c.loc, err)
			case c.want != "" && filePath(u) != filepath.ToSlash(filepath.Join(root, c.want)):
				t.Errorf("location %q is %s, want the folder %s inside %s", c.loc, u, c.want, root)
			}
		}
		if entries, _ := os.ReadDir(filepath.Dir(root)); len(entries) != 1 {
			t.Errorf("%d entries next to the root, want only the root", len(entries))
		}
	})

	t.Run("file URL with a host", func(t *testing.T) {
		// file://../out would otherwise silently write to /out.
		root := t.TempDir()
		t.Chdir(root)
		for loc, want := range map[string]string{
			"file://../out": filepath.Join(root, "..", "out"),
			"file://out":    filepath.Join(root, "out"),
			"file://data/x": filepath.Join(root, "data", "x"),
		} {
			if u, err := bucketURL(loc, true); err == nil && filePath(u) != filepath.ToSlash(want) {
				t.Errorf("location %q is %s, want it refused or the folder %s", loc, u, want)
			}
		}
		if u, err := bucketURL("file://localhost"+root, true); err != nil || filePath(u) != filepath.ToSlash(root) {
			t.Errorf("file://localhost%s = %s, %v; want the folder", root, u, err)
		}
	})

	t.Run("object keys", func(t *testing.T) {
		// Shard paths, staged records and cache entries are object keys;
		// the bucket keeps every key inside its folder.
		parent := t.TempDir()
		root := filepath.Join(parent, "root")
		b, err := openBucket(ctx, root, true)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for _, key := range []string{"../escape", "a/../../escape", "/escape", "..", "a/\x00/../../escape", "\uff0e\uff0e/escape", "..\\escape"} {
			if err := b.WriteAll(ctx, key, []byte("x"), nil); err != nil {
				continue // refused
			}
		}
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if e.Name() != "root" {
				t.Errorf("a key escaped the bucket: %s", filepath.Join(parent, e.Name()))
			}
		}
		if _, err := os.Stat("/escape"); err == nil {
			t.Errorf("a key escaped to /escape")
		}
	})
}
