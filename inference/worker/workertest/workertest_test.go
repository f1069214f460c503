package workertest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/inference/worker/workertest"
)

// envMutant names the mutant that TestMutant serves, in a child process.
const envMutant = "WORKERTEST_MUTANT"

// known are the checks the Go server is known to fail (see TestConformance
// in package worker).
var known = map[string]string{"Chat/Models": "no GET /v1/models"}

// edit changes an answer of the server: the request, the status, the
// headers (in place) and the body in, the status and the body out.
type edit func(r *http.Request, status int, h http.Header, body []byte) (int, []byte)

// editJSON changes the JSON answers of path with status 200.
func editJSON(path string, f func(m map[string]any)) edit {
	return func(r *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
		if r.URL.Path != path || status != http.StatusOK {
			return status, body
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return status, body
		}
		f(m)
		b, _ := json.Marshal(m)
		return status, b
	}
}

// mutants are servers broken on purpose, and what the suite must say
// about each.
var mutants = map[string]struct {
	edit edit
	want string
}{
	"wrong error type": {func(_ *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
		return status, bytes.ReplaceAll(body, []byte(worker.ErrorInvalidRequest), []byte("bad_request"))
	}, `error.type want "invalid_request_error"`},
	"405 without Allow": {func(_ *http.Request, status int, h http.Header, body []byte) (int, []byte) {
		h.Del("Allow")
		return status, body
	}, "RFC 9110 requires Allow"},
	"wrong requests answered 500": {func(_ *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
		if status == http.StatusBadRequest {
			status = http.StatusInternalServerError
		}
		return status, body
	}, "want status 400 or 422"},
	"token outside the codebook": {editJSON(worker.PathGenerate, func(m map[string]any) {
		if ts, _ := m["tokens"].([]any); len(ts) > 0 {
			ts[len(ts)-1] = 1 << 20
		}
	}), "outside the codebook"},
	"answers that change": {editJSON(worker.PathGenerate, func(m map[string]any) {
		if ts, _ := m["tokens"].([]any); len(ts) > 0 {
			ts[0] = rand.IntN(1 << 14)
		}
	}), "the same request answered"},
	"model without revision": {editJSON(worker.PathGenerate, func(m map[string]any) {
		m["model"] = "twig-sim-painter-v1"
	}), `model "twig-sim-painter-v1", want`},
	"stats that do not add up": {editJSON(worker.PathStats, func(m map[string]any) {
		m["calls"] = m["calls"].(float64) + 1
	}), "batch_sizes does not add up to calls"},
	"decode of the wrong size": {editJSON(worker.PathDecode, func(m map[string]any) {
		var buf bytes.Buffer
		png.Encode(&buf, image.NewGray(image.Rect(0, 0, 10, 10)))
		m["png"] = base64.StdEncoding.EncodeToString(buf.Bytes())
	}), "image is 10x10"},
	"chat usage that does not add up": {editJSON(worker.PathChat, func(m map[string]any) {
		u := m["usage"].(map[string]any)
		u["total_tokens"] = u["total_tokens"].(float64) + 1
	}), "usage.total_tokens is not prompt_tokens + completion_tokens"},
}

// serveEdited serves h's answers through e.
func serveEdited(h http.Handler, e edit) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		hdr := rec.Header().Clone()
		status, body := e(r, rec.Code, hdr, rec.Body.Bytes())
		maps.Copy(w.Header(), hdr)
		w.Header().Del("Content-Length")
		w.WriteHeader(status)
		w.Write(body)
	})
}

// TestMutant runs the suite against the mutant $WORKERTEST_MUTANT names;
// TestSuiteCatchesMutants runs it in a child process, where it must fail.
func TestMutant(t *testing.T) {
	name := os.Getenv(envMutant)
	if name == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	m, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{})
	ts := httptest.NewServer(serveEdited(srv, m.edit))
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	workertest.RunConformance(t, workertest.Harness{URL: ts.URL, Known: known})
}

// TestSuiteCatchesMutants checks that the suite fails on servers broken on
// purpose, saying what is wrong, and passes on the server unbroken.
func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	if os.Getenv(envMutant) != "" {
		t.Skip("in a child process")
	}
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v")
			cmd.Env = append(os.Environ(), envMutant+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a server with %s", name)
			}
			if !strings.Contains(string(out), m.want) {
				t.Errorf("the suite failed a server with %s without saying %q:\n%s", name, m.want, out)
			}
		})
	}
}

// TestUnbroken runs the suite against the server without an edit, through
// the same wrapper the mutants use, so that a mutant's failure is its own.
func TestUnbroken(t *testing.T) {
	srv := worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{})
	ts := httptest.NewServer(serveEdited(srv, func(_ *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
		return status, body
	}))
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	workertest.RunConformance(t, workertest.Harness{URL: ts.URL, RequireChat: true, Known: known})
}
