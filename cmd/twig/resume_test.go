package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/twigdata/twig/internal/testwait"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/inference/worker"
)

// buildTwig builds the twig binary into a test folder, as BenchmarkScale
// does, so that a run can be killed like a real process.
func buildTwig(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "twig")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// callServer serves the worker protocol and the OpenAI chat endpoint with
// the simulator (worker.NewServer over worker.NewSimBackend) and counts
// every inference call (the POSTs: /v1/generate, /v1/decode, /v1/encode,
// /v1/chat/completions) it has answered, by path and by request: a
// request is its path and the SHA-256 of its body, which is a function of
// the call (its seed included), so a call made again is seen as such.
//
// Hold makes the server stop answering: calls that arrive later wait
// until their client goes away, so that a process killed then has no call
// in flight that the server finished.
type callServer struct {
	*httptest.Server
	sim *worker.Server

	mu      sync.Mutex
	hold    bool
	held    int            // calls that arrived while held
	serving int            // calls being answered now
	done    map[string]int // answered calls by path and body hash
	authKey string         // counts requests whose Authorization carries it
	authed  int
}

func newCallServer(t *testing.T) *callServer {
	t.Helper()
	c := &callServer{sim: worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{}), done: map[string]int{}}
	c.Server = httptest.NewServer(c)
	t.Cleanup(func() { c.Server.Close(); c.sim.Close() })
	return c
}

func (c *callServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		c.sim.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	key := r.URL.Path + " " + hex.EncodeToString(sum[:])
	c.mu.Lock()
	if c.authKey != "" && r.Header.Get("Authorization") == "Bearer "+c.authKey {
		c.authed++
	}
	held := c.hold
	if held {
		c.held++
	} else {
		c.serving++
	}
	c.mu.Unlock()
	if held {
		<-r.Context().Done() // the client was killed
		return
	}
	c.sim.ServeHTTP(w, r)
	c.mu.Lock()
	c.done[key]++
	c.serving--
	c.mu.Unlock()
}

// answered returns the number of calls answered since the last take and
// the number being answered now, forgetting nothing.
func (c *callServer) answered() (done, serving int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return callLog(c.done).total(), c.serving
}

// setHold starts or stops holding calls.
func (c *callServer) setHold(on bool) {
	c.mu.Lock()
	c.hold = on
	c.mu.Unlock()
}

// take returns the answered calls and the number of held calls since the
// last take, and forgets them.
func (c *callServer) take() (callLog, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, held := c.done, c.held
	c.done, c.held = map[string]int{}, 0
	return callLog(d), held
}

// callLog counts answered calls by path and body hash.
type callLog map[string]int

func (l callLog) total() int {
	n := 0
	for _, v := range l {
		n += v
	}
	return n
}

// byPath counts the calls per endpoint.
func (l callLog) byPath() map[string]int {
	out := map[string]int{}
	for k, v := range l {
		p, _, _ := strings.Cut(k, " ")
		out[p] += v
	}
	return out
}

// repeats counts the calls in l that were already answered in before.
func (l callLog) repeats(before callLog) int {
	n := 0
	for k, v := range l {
		n += min(v, before[k])
	}
	return n
}

// resumeArgs are the flags of every run of the resume test: 60 prompts,
// everything over HTTP with the call cache on, and small shards so that
// the export writes many of them.
func resumeArgs(out, cache, url string) []string {
	return []string{"run", "--out", out, "--cache", cache, "--builtin", "60",
		"--generator", url, "--teacher", url + "/v1", "--teacher-model", "twig-sim",
		"--judge", url + "/v1", "--judge-model", "twig-sim", "--dataset", "twig-sim",
		"--concurrency", "4", "--shard-bytes", "60000"}
}

// runTwig runs the binary to its end and returns its combined output.
func runTwig(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// versionFiles lists the files under a version folder, relative to it,
// with their SHA-256.
func versionFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		files[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readManifestFile(t *testing.T, version string) *exporters.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(version, exporters.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m exporters.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// shardList is the manifest's shards as "config path rows sha256" lines.
func shardList(m *exporters.Manifest) []string {
	var out []string
	for config, shards := range m.Shards {
		for _, s := range shards {
			out = append(out, fmt.Sprintf("%s %s rows=%d bytes=%d sha256=%s", config, s.Path, s.Rows, s.Bytes, s.SHA256))
		}
	}
	slices.Sort(out)
	return out
}

// countFiles counts the files under dir whose slash-separated relative
// path satisfies ok.
func countFiles(dir string, ok func(rel string) bool) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if rel, _ := filepath.Rel(dir, p); ok(filepath.ToSlash(rel)) {
				n++
			}
		}
		return nil
	})
	return n
}

// rootTemp matches a temporary file of fileblob in a version's folder.
var rootTemp = regexp.MustCompile(`^[^/]+\.[0-9a-f]+\.tmp$`)

// isCacheEntry reports whether a file of the call cache's folder is a
// committed entry (one per call made), not a temporary file of fileblob.
func isCacheEntry(rel string) bool { return strings.HasSuffix(rel, ".json") }

func isShard(rel string) bool {
	return strings.HasSuffix(rel, ".parquet") && !strings.HasPrefix(rel, "_staging/")
}

// TestResumeAfterKill is the reliability promise "a killed run, rerun with
// the same config, finishes without repeating finished inference calls
// and produces the same dataset as an uninterrupted run", checked on the
// real binary: twig run over HTTP (GPU worker protocol, teacher and judge
// on the OpenAI endpoint, call cache on) is SIGKILLed at three points,
// then rerun with the same flags. For each point the test checks that
//
//   - the rerun succeeds and twig verify accepts the version;
//   - its manifest lists the same shards, byte for byte (SHA-256), with
//     the same counts, as an uninterrupted run in another folder with a
//     fresh cache (only the manifest's created time, config paths and
//     call statistics may differ), and the version folder holds the same
//     files: no staged record, stale shard or temporary file of an
//     interrupted commit is left (the rerun's commit removes them);
//   - the rerun makes no call that the killed run had finished (the
//     server sees no request again), the killed run's and the rerun's
//     calls add up to the uninterrupted run's, and the rerun's manifest
//     counts as made (stats.calls misses) exactly the calls the server
//     answered.
//
// Kill points: mid-generation once 20 of 60 trajectories are staged (the
// server stops answering first, so no answered call is lost to the
// kill); during the export once the first shard exists; and after the
// dataset card but before the manifest (a folder planted at stats.json
// makes the commit stop there; the obstacle is removed before the rerun).
func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildTwig(t)
	srv := newCallServer(t)
	root := t.TempDir()

	// The uninterrupted run.
	refOut, refCache := filepath.Join(root, "ref", "out"), filepath.Join(root, "ref", "cache")
	if out, err := runTwig(t, bin, nil, resumeArgs(refOut, refCache, srv.URL)...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	refCalls, _ := srv.take()
	refVersion := filepath.Join(refOut, "twig-sim", "v1")
	ref := readManifestFile(t, refVersion)
	refFiles := versionFiles(t, refVersion)
	if ref.Counts.Seeded != 60 || len(shardList(ref)) < 4 {
		t.Fatalf("uninterrupted run: counts %+v, %d shards: want 60 seeded in several shards", ref.Counts, len(shardList(ref)))
	}
	t.Logf("uninterrupted run: %d calls %v, %d shards", refCalls.total(), refCalls.byPath(), len(shardList(ref)))

	for _, kp := range []struct {
		name string
		// plant prepares the output folder before the killed run.
		plant func(t *testing.T, version string)
		// reached reports whether the killed run got to the kill point.
		reached func(version string) bool
		// hold stops the server answering before the kill.
		hold bool
	}{
		{
			name: "generating",
			reached: func(v string) bool {
				return countFiles(filepath.Join(v, "_staging"), func(rel string) bool { return strings.HasSuffix(rel, ".json") }) >= 20
			},
			hold: true,
		},
		{
			name:    "first shard",
			reached: func(v string) bool { return countFiles(v, isShard) > 0 },
		},
		{
			name: "card before manifest",
			plant: func(t *testing.T, v string) {
				// stats.json is written after the card and before the
				// manifest: a folder in its place stops the commit there.
				if err := os.MkdirAll(filepath.Join(v, exporters.StatsFile, "obstacle"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			reached: func(v string) bool {
				_, err := os.Stat(filepath.Join(v, "README.md"))
				return err == nil
			},
		},
	} {
		t.Run(kp.name, func(t *testing.T) {
			dir := filepath.Join(root, strings.ReplaceAll(kp.name, " ", "-"))
			out, cache := filepath.Join(dir, "out"), filepath.Join(dir, "cache")
			version := filepath.Join(out, "twig-sim", "v1")
			if kp.plant != nil {
				kp.plant(t, version)
			}
			srv.take()
			cmd := exec.Command(bin, resumeArgs(out, cache, srv.URL)...)
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill() }) // if the test stops before the kill
			deadline := time.After(30 * time.Second)
		wait:
			for !kp.reached(version) {
				select {
				case err := <-exited:
					t.Fatalf("the run ended (%v) before the kill point\n%s", err, log.String())
				case <-deadline:
					cmd.Process.Kill()
					t.Fatalf("the run did not reach the kill point in 30s\n%s", log.String())
				case <-time.After(200 * time.Microsecond):
					continue wait
				}
			}
			if kp.hold {
				// Stop answering, then wait until the calls being answered
				// are done and every answered call is in the cache (one
				// entry per call), so that the kill loses no answered call.
				srv.setHold(true)
				testwait.For(t, "every answered call in the cache", func() bool {
					done, serving := srv.answered()
					return serving == 0 && countFiles(cache, isCacheEntry) >= done
				}, 30*time.Second)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			srv.setHold(false)
			killed, held := srv.take()
			if _, err := os.Stat(filepath.Join(version, exporters.ManifestFile)); err == nil {
				t.Fatalf("the kill came after the manifest: no resume to test")
			}
			staged := countFiles(filepath.Join(version, "_staging"), func(rel string) bool { return strings.HasSuffix(rel, ".json") })
			t.Logf("killed with %d staged trajectories, %d shards, %d calls answered (%d held)",
				staged, countFiles(version, isShard), killed.total(), held)
			if kp.plant != nil {
				if err := os.RemoveAll(filepath.Join(version, exporters.StatsFile)); err != nil {
					t.Fatal(err)
				}
			}

			// The rerun, with the same flags.
			msg, err := runTwig(t, bin, nil, resumeArgs(out, cache, srv.URL)...)
			if err != nil {
				t.Fatalf("rerun: %v\n%s", err, msg)
			}
			rerun, _ := srv.take()
			if err := runVerify(context.Background(), version, new(bytes.Buffer)); err != nil {
				t.Errorf("verify the resumed version: %v", err)
			}

			// The same dataset as the uninterrupted run.
			m := readManifestFile(t, version)
			if got, want := shardList(m), shardList(ref); !slices.Equal(got, want) {
				t.Errorf("shards after the resume differ from the uninterrupted run's:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			if m.Counts != ref.Counts || m.ConfigHash != ref.ConfigHash {
				t.Errorf("counts %+v hash %.12s, uninterrupted %+v hash %.12s", m.Counts, m.ConfigHash, ref.Counts, ref.ConfigHash)
			}
			files := versionFiles(t, version)
			var temps []string
			for f := range files {
				if rootTemp.MatchString(f) {
					temps = append(temps, f)
					delete(files, f)
				}
			}
			if got, want := slices.Sorted(maps.Keys(files)), slices.Sorted(maps.Keys(refFiles)); !slices.Equal(got, want) {
				t.Errorf("files in the resumed version:\n%v\nuninterrupted:\n%v", got, want)
			}
			if len(temps) > 0 {
				t.Errorf("temporary files left in the version: %v", temps)
			}
			if files["README.md"] != refFiles["README.md"] {
				t.Errorf("the dataset card differs from the uninterrupted run's")
			}

			// No finished call made again.
			if n := rerun.repeats(killed); n != 0 {
				t.Errorf("the rerun made %d calls again that the killed run had finished", n)
			}
			if got, want := killed.total()+rerun.total(), refCalls.total(); got != want {
				t.Errorf("killed run %d + rerun %d = %d calls, uninterrupted run %d", killed.total(), rerun.total(), got, want)
			}
			var made int64
			for _, c := range m.Stats.Calls {
				made += c.Misses
			}
			if made != int64(rerun.total()) {
				t.Errorf("the rerun's manifest counts %d calls made, the server answered %d", made, rerun.total())
			}
			t.Logf("rerun: %d calls %v", rerun.total(), rerun.byPath())
		})
	}
}
