// Package s3test starts a real S3-compatible server for tests: a versitygw
// process (github.com/versity/versitygw, installed by .ci/versitygw.sh)
// serving a temporary directory on 127.0.0.1.
//
// A test calls Start and gets a gocloud.dev/blob URL of a fresh, empty
// bucket. Where the versitygw binary is missing the test is skipped, unless
// TWIG_REQUIRE_S3=1 (as in .ci/run), where it fails.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The credentials of the test server's root user. They reach the S3 clients
// through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never through URLs.
const (
	AccessKey = "twigtestaccess"
	SecretKey = "twigtestsecret0123456789"
	Region    = "us-east-1"
	Bucket    = "twig-test"
)

// Binary returns the path of the versitygw binary: $TWIG_VERSITYGW, then
// versitygw on $PATH, then $(go env GOPATH)/bin/versitygw; "" where none
// exists.
func Binary() string {
	if p := os.Getenv("TWIG_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	for _, gopath := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gopath, "bin", "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// Server is a running versitygw process.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Dir is the directory the posix backend serves: Dir/BUCKET/KEY.
	Dir string
}

// URL returns the gocloud.dev/blob URL of a bucket on the server, with
// optional extra query parameters (e.g. "prefix=a/").
func (s *Server) URL(bucket string, extra ...string) string {
	q := url.Values{
		"endpoint":       {s.Endpoint},
		"region":         {Region},
		"use_path_style": {"true"},
		"disable_https":  {"true"},
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		q.Set(k, v)
	}
	return "s3://" + bucket + "?" + q.Encode()
}

// Start starts a versitygw server with one empty bucket and returns the
// gocloud.dev/blob URL of that bucket, e.g.
//
//	s3://twig-test?disable_https=true&endpoint=http%3A%2F%2F127.0.0.1%3A40123&region=us-east-1&use_path_style=true
//
// It sets the AWS credential variables for the test with t.Setenv, so the
// calling test must not run in parallel. The server stops when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t).URL(Bucket)
}

// StartServer is Start returning the Server, for tests that want the
// endpoint or the directory behind the bucket.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		msg := "versitygw is not installed (run bash .ci/versitygw.sh)"
		if os.Getenv("TWIG_REQUIRE_S3") == "1" {
			t.Fatal(msg + "; TWIG_REQUIRE_S3=1 requires the S3 tests to run")
		}
		t.Skip(msg)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	// Keep a developer's ~/.aws settings out of the tests.
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)

	var lastErr error
	for range 3 { // a free port can be taken between finding and binding it
		s, err := start(t, bin)
		if err == nil {
			if err := createBucket(s.Endpoint, Bucket); err != nil {
				t.Fatalf("s3test: create bucket: %v", err)
			}
			return s
		}
		lastErr = err
	}
	t.Fatalf("s3test: start versitygw: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func start(t testing.TB, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, meta := t.TempDir(), t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// The sidecar keeps object metadata in files, so the server also runs on
	// file systems without user extended attributes.
	cmd := exec.Command(bin,
		"--access", AccessKey, "--secret", SecretKey,
		"--region", Region, "--port", addr, "--quiet",
		"posix", "--sidecar", meta, dir)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	endpoint := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("versitygw exited early: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if resp, err := client.Get(endpoint + "/"); err == nil {
			resp.Body.Close() // any answer, 403 included, means it is serving
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("versitygw did not answer on %s within 20s\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("versitygw output:\n%s", out.String())
		}
	})
	return &Server{Endpoint: endpoint, Dir: dir}, nil
}

// Client returns a path-style S3 client of the server, for tests that
// look at what the server stored (ETags, checksums).
func (s *Server) Client() *s3.Client { return newClient(s.Endpoint) }

func newClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// createBucket creates a bucket with a path-style S3 client.
func createBucket(endpoint, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := newClient(endpoint)
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned interface{ ErrorCode() string }
	if errors.As(err, &owned) && owned.ErrorCode() == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return err
}
