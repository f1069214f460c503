package workertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// Environment variables of the tests that run the Python reference worker.
const (
	// EnvJanusPython names the Python interpreter of a virtual
	// environment where inference/janus is installed (with torch and
	// transformers), e.g. /root/.cache/twig/janus-venv-*/bin/python.
	EnvJanusPython = "TWIG_JANUS_PYTHON"
	// EnvRequireJanus, when set, makes a missing EnvJanusPython a failure
	// instead of a skip (for CI jobs that must run these tests).
	EnvRequireJanus = "TWIG_REQUIRE_JANUS"
)

// Timeouts of StartPython.
const (
	// pythonReady bounds the wait for /healthz to answer 200: loading
	// the tiny random model on a CPU takes seconds, importing torch most
	// of them.
	pythonReady = 3 * time.Minute
	// pythonStop bounds the wait for the worker to exit after SIGTERM
	// (it gives a running batch --shutdown-grace-s, 10s by default).
	pythonStop = 30 * time.Second
)

// JanusPython returns the interpreter that EnvJanusPython names. It skips
// the test when the variable is unset, or fails it when EnvRequireJanus is
// set too; it fails the test when the interpreter does not exist.
func JanusPython(t testing.TB) string {
	t.Helper()
	py := os.Getenv(EnvJanusPython)
	if py == "" {
		if os.Getenv(EnvRequireJanus) != "" {
			t.Fatalf("%s is unset but %s is set: name the Janus venv's python (e.g. /root/.cache/twig/janus-venv-*/bin/python)", EnvJanusPython, EnvRequireJanus)
		}
		t.Skipf("%s is unset: set it to the Janus venv's python to run the Python worker", EnvJanusPython)
	}
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s=%s: %v", EnvJanusPython, py, err)
	}
	return py
}

// JanusDir returns the folder of the Python reference worker's package,
// inference/janus, found from this source file.
func JanusDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("workertest: cannot locate its own source file")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "janus")
	if _, err := os.Stat(filepath.Join(dir, "twig_janus", "__main__.py")); err != nil {
		t.Fatalf("workertest: the Python worker is not at %s: %v", dir, err)
	}
	return dir
}

// StartPython starts the Python reference worker, `python -m twig_janus
// --listen 127.0.0.1:PORT args...`, on a free port, in inference/janus,
// with HF_HUB_OFFLINE=1, and returns its base URL once GET /healthz
// answers 200. While the model loads, every answer of /healthz must be
// the protocol's 503 (type overloaded_error, an integer Retry-After if
// any). For a model that needs no download: args "--model",
// "tiny-random".
//
// When the test ends the worker gets SIGTERM and must exit 0 within 30
// seconds (it is killed otherwise, and the test fails). Its output goes to
// a file in the test's temporary folder, whose end is logged when the test
// fails.
func StartPython(t testing.TB, python string, args ...string) string {
	t.Helper()
	dir := JanusDir(t)
	var lastErr error
	for try := 0; try < 3; try++ {
		url, err := startPython(t, python, dir, args)
		if err == nil {
			return url
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("start the Python worker: %v", lastErr)
	return ""
}

var errPortTaken = errors.New("port taken")

// startPython makes one attempt of StartPython.
func startPython(t testing.TB, python, dir string, args []string) (string, error) {
	addr, err := freePort()
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(t.TempDir(), "twig_janus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(python, append([]string{"-m", "twig_janus", "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "PYTHONUNBUFFERED=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", fmt.Errorf("%s: %w", python, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	tail := func() string { return logTail(logPath, 40) }
	url := "http://" + addr
	t.Logf("started %s (pid %d) on %s, log %s", strings.Join(cmd.Args, " "), cmd.Process.Pid, url, logPath)

	if err := waitReady(t, url, exited); err != nil {
		cmd.Process.Kill()
		<-exited
		if strings.Contains(tail(), "Address already in use") {
			return "", fmt.Errorf("%s: %w", addr, errPortTaken)
		}
		return "", fmt.Errorf("%w\n--- worker log (end) ---\n%s", err, tail())
	}
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("stop the Python worker (pid %d): %v", cmd.Process.Pid, err)
			cmd.Process.Kill()
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the Python worker exited after SIGTERM with %v, want status 0", err)
			}
		case <-time.After(pythonStop):
			cmd.Process.Kill()
			<-exited
			t.Errorf("the Python worker did not exit within %v of SIGTERM; killed", pythonStop)
		}
		if t.Failed() {
			t.Logf("--- Python worker log (end) ---\n%s", tail())
		}
	})
	return url, nil
}

// waitReady polls GET /healthz until it answers 200, checking the answers
// that come before (503 while loading).
func waitReady(t testing.TB, url string, exited <-chan error) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(pythonReady)
	loading := 0
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the worker exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s%s did not answer 200 within %v", url, worker.PathHealth, pythonReady)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+worker.PathHealth, nil)
		resp, err := client.Do(req)
		if err == nil {
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			a := answer{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
			switch a.status {
			case http.StatusOK:
				cancel()
				t.Logf("%s ready after %d answers 503 while loading", url, loading)
				return nil
			case http.StatusServiceUnavailable:
				where := fmt.Sprintf("GET %s while loading", worker.PathHealth)
				if loading == 0 && checkErrorBody(t, where, a, worker.ErrorOverloaded) {
					checkRetryAfter(t, where, a)
				}
				loading++
			default:
				t.Errorf("GET %s while loading = %s, want 503 (or 200 once loaded)", worker.PathHealth, a)
			}
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// logTail returns the last n lines of a file.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
