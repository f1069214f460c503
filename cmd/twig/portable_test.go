package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twigdata/twig/internal/s3test"
)

// startJobService starts Apache Beam's Python local job service (a
// portable runner speaking the Job API and the Fn API) on a free port and
// returns its endpoint. The interpreter comes from $TWIG_BEAM_PYTHON
// (.ci/portable.sh makes it); without it the test is skipped, unless
// TWIG_REQUIRE_PORTABLE=1.
func startJobService(t *testing.T) string {
	t.Helper()
	py := os.Getenv("TWIG_BEAM_PYTHON")
	if py == "" {
		if os.Getenv("TWIG_REQUIRE_PORTABLE") == "1" {
			t.Fatal("TWIG_BEAM_PYTHON is not set (bash .ci/portable.sh prints it); TWIG_REQUIRE_PORTABLE=1 requires this test")
		}
		t.Skip("no Beam job service: set TWIG_BEAM_PYTHON=$(bash .ci/portable.sh)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(py, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Dir = t.TempDir()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("job service output:\n%s", logs.String())
		}
	})
	endpoint := fmt.Sprintf("localhost:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", endpoint, time.Second)
		if err == nil {
			c.Close()
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("job service did not listen on %s: %v\n%s", endpoint, err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// setFlags sets global (Beam) flags for the test and restores them after.
func setFlags(t *testing.T, kv map[string]string) {
	t.Helper()
	for k, v := range kv {
		f := flag.Lookup(k)
		if f == nil {
			t.Fatalf("no flag %q", k)
		}
		old := f.Value.String()
		if err := flag.Set(k, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { flag.Set(k, old) })
	}
}

// TestPortableRunner submits the pipeline to a portable runner other than
// the embedded one (Beam's Python job service, with the Go SDK harness in
// LOOPBACK), writing to the S3 server, as a Flink job server would be
// used; verifies the version over S3 and checks that its shards are
// byte-identical to those of the embedded runner.
func TestPortableRunner(t *testing.T) {
	ctx := context.Background()
	endpoint := startJobService(t)
	srv := s3test.StartServer(t)
	u, err := url.Parse(srv.URL(s3test.Bucket))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/portable"
	out := u.String()
	cfg := smallConfig()
	cfg.Builtin = 30
	func() {
		setFlags(t, map[string]string{"runner": "universal", "endpoint": endpoint, "environment_type": "LOOPBACK"})
		var stdout bytes.Buffer
		if err := runPipeline(ctx, cfg, runOptions{out: out}, &stdout); err != nil {
			t.Fatalf("run on the portable runner: %v\n%s", err, stdout.String())
		}
	}()
	version := joinLocation(out, "twig-sim/v1")
	if err := runVerify(ctx, version, new(bytes.Buffer)); err != nil {
		t.Fatalf("verify: %v", err)
	}

	// The same configuration on the embedded runner gives the same shards.
	local := t.TempDir()
	flag.Set("runner", "")
	if err := runPipeline(ctx, cfg, runOptions{out: local}, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	a, err := readManifestAt(ctx, version)
	if err != nil {
		t.Fatal(err)
	}
	b, err := readManifestAt(ctx, filepath.Join(local, "twig-sim", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Counts != b.Counts {
		t.Errorf("counts on the portable runner %+v, embedded %+v", a.Counts, b.Counts)
	}
	for config, shards := range b.Shards {
		for i, sh := range shards {
			if i >= len(a.Shards[config]) || a.Shards[config][i].SHA256 != sh.SHA256 {
				t.Errorf("%s shard %d differs between the runners", config, i)
			}
		}
	}
}
