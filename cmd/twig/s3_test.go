package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/internal/s3test"
)

// TestRunVerifyS3 runs the command end to end with --out s3://bucket/prefix
// on a real S3 server (versitygw), verifies the version by its s3:// URI,
// then breaks a shard and sees verify fail.
func TestRunVerifyS3(t *testing.T) {
	ctx := context.Background()
	srv := s3test.StartServer(t)
	u, err := url.Parse(srv.URL(s3test.Bucket))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/runs"
	out := u.String()

	cfg := smallConfig()
	cfg.WebDataset = true
	var stdout bytes.Buffer
	if err := runPipeline(ctx, cfg, runOptions{out: out}, &stdout); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	version := joinLocation(out, "twig-sim/v1")
	if !strings.HasPrefix(version, "s3://"+s3test.Bucket+"/runs/twig-sim/v1?") {
		t.Fatalf("version location %s", version)
	}
	for _, want := range []string{"seeded:     12", "version:    " + version} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	// The objects are on the server, under the prefix, and nothing staged
	// is left.
	if _, err := os.Stat(filepath.Join(srv.Dir, s3test.Bucket, "runs", "twig-sim", "v1", exporters.ManifestFile)); err != nil {
		t.Errorf("manifest not on the S3 server: %v", err)
	}
	bucket, err := openBucket(ctx, version, false)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	it := bucket.List(&blob.ListOptions{Prefix: "_staging/"})
	if obj, err := it.Next(ctx); err != io.EOF {
		t.Errorf("staged object left behind: %+v, %v", obj, err)
	}

	if err := runVerify(ctx, version, &stdout); err != nil {
		t.Fatalf("verify a fresh version: %v\n%s", err, stdout.String())
	}

	// Independent readers read it over S3: pyarrow's own S3 client, and
	// Hugging Face datasets through s3fs (with the WebDataset tars).
	checkDatasetsS3(t, srv, "s3://"+s3test.Bucket+"/runs/twig-sim/v1")
	py, err := exec.Command(pythonBin(), "../../testdata/check_s3.py", srv.Endpoint, s3test.Bucket+"/runs/twig-sim/v1").Output()
	switch {
	case err != nil && os.Getenv("TWIG_REQUIRE_PYTHON") == "":
		t.Logf("pyarrow over S3 not checked (pip install -r .ci/requirements.txt): %v", err)
	case err != nil:
		t.Errorf("check_s3.py: %v\n%s", err, py)
	default:
		var got struct {
			Configs map[string]int64 `json:"configs"`
			Errors  []string         `json:"errors"`
		}
		if err := json.Unmarshal(py, &got); err != nil || len(got.Errors) > 0 || got.Configs["trajectories"] == 0 {
			t.Errorf("pyarrow over S3: %s (%v)", py, err)
		}
	}

	// A second run with the same configuration makes no model call.
	stdout.Reset()
	if err := runPipeline(ctx, cfg, runOptions{out: out}, &stdout); err != nil || !strings.Contains(stdout.String(), "nothing to do") {
		t.Errorf("rerun: %v\n%s", err, stdout.String())
	}

	shard := "data/trajectories/train-00000-of-00001.parquet"
	b, err := bucket.ReadAll(ctx, shard)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := bucket.WriteAll(ctx, shard, b, nil); err != nil {
		t.Fatal(err)
	}
	var ee *exitError
	if err := runVerify(ctx, version, &stdout); !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("verify a corrupted shard = %v, want exit code 1", err)
	}
}

// pythonBin is the interpreter of the independent readers: $TWIG_TEST_PYTHON
// (.ci/run points it at its virtual environment), else python3.
func pythonBin() string {
	if py := os.Getenv("TWIG_TEST_PYTHON"); py != "" {
		return py
	}
	return "python3"
}

// checkDatasetsS3 loads every config of the version at root (s3://...)
// with Hugging Face datasets over s3fs, and the WebDataset tars with the
// webdataset library, and compares the counts with the manifest.
func checkDatasetsS3(t *testing.T, srv *s3test.Server, root string) {
	t.Helper()
	cmd := exec.Command(pythonBin(), "../../testdata/check_datasets.py", root)
	// botocore rejects an empty AWS_PROFILE (s3test sets it empty to keep
	// a developer's profile out); leave it unset instead.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_PROFILE=") })
	// Not offline: datasets treats s3:// as remote and refuses it offline;
	// only the local S3 server is reached.
	cmd.Env = append(env, "AWS_ENDPOINT_URL="+srv.Endpoint,
		"HF_HOME="+t.TempDir(), "TMPDIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("TWIG_REQUIRE_PYTHON") == "" {
			t.Logf("datasets over S3 not checked (pip install -r .ci/requirements.txt): %v", err)
			return
		}
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("check_datasets.py %s: %v\n%s\n%s", root, err, out, ee.Stderr)
	}
	var got struct {
		Configs map[string]int64 `json:"configs"`
		Errors  []string         `json:"errors"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check_datasets.py output %q: %v", out, err)
	}
	if len(got.Errors) > 0 {
		t.Errorf("datasets over S3 found problems: %v", got.Errors)
	}
	for _, config := range []string{"trajectories", "sft", "webdataset"} {
		if got.Configs[config] == 0 {
			t.Errorf("datasets over S3 loaded no rows of %s: %v", config, got.Configs)
		}
	}
}

func TestBucketURLObjectStores(t *testing.T) {
	tests := []struct{ loc, want, wantErr string }{
		{"s3://bkt", "s3://bkt", ""},
		{"s3://bkt/", "s3://bkt", ""},
		{"s3://bkt/runs/a/?region=eu-west-1&endpoint=http://127.0.0.1:7070&use_path_style=true",
			"s3://bkt?endpoint=http%3A%2F%2F127.0.0.1%3A7070&prefix=runs%2Fa%2F&region=eu-west-1&use_path_style=true", ""},
		{"gs://bkt/runs", "gs://bkt?prefix=runs%2F", ""},
		{"s3://bkt?prefix=x/", "s3://bkt?prefix=x%2F", ""},
		{"s3:///runs", "", "no bucket name"},
		{"s3://bkt/runs?prefix=x/", "", "not both"},
		{"s3://AKIDEXAMPLE:sekrit@bkt/runs", "", "credentials do not belong in the URL"},
		{"ftp://host/x?token=sekrit", "", `scheme "ftp" is not supported`},
	}
	for _, tc := range tests {
		got, err := bucketURL(tc.loc, true)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("bucketURL(%q) = %q, %v; want an error containing %q", tc.loc, got, err, tc.wantErr)
			} else if strings.Contains(err.Error(), "sekrit") {
				t.Errorf("bucketURL(%q): the error repeats a secret: %v", tc.loc, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("bucketURL(%q) = %q, %v; want %q", tc.loc, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ loc, rel, want string }{
		{"s3://bkt/runs?region=us-east-1", "ds/v1", "s3://bkt/runs/ds/v1?region=us-east-1"},
		{"s3://bkt?region=us-east-1", "ds/v1", "s3://bkt/ds/v1?region=us-east-1"},
		{"out", "ds/v1", "out/ds/v1"},
	} {
		if got := joinLocation(tc.loc, tc.rel); got != tc.want {
			t.Errorf("joinLocation(%q, %q) = %q, want %q", tc.loc, tc.rel, got, tc.want)
		}
	}
}

// TestOpenBucketErrorsHideQuery: the drivers quote the whole URL in their
// errors; openBucket's errors name the location without its parameters.
func TestOpenBucketErrorsHideQuery(t *testing.T) {
	_, err := openBucket(context.Background(), "s3://bkt/runs?bogus=sekrit&region=us-east-1", false)
	if err == nil || strings.Contains(err.Error(), "sekrit") || !strings.Contains(err.Error(), "s3://bkt/runs") {
		t.Errorf("openBucket = %v, want an error naming s3://bkt/runs without the query", err)
	}
	if testing.Verbose() {
		t.Log(err)
	}
}
