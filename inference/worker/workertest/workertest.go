// Package workertest is a conformance suite for servers of the GPU worker
// protocol v1 (docs/worker-protocol.md), in the manner of gocloud's
// drivertest: one set of checks, run over real HTTP against every server
// that claims to speak the protocol, so that the Go server of `twig
// worker` (inference/worker) and the Python reference worker
// (inference/janus) are held to the same document.
//
// A test starts a server, describes it with a [Harness] and calls
// [RunConformance]:
//
//	ts := httptest.NewServer(worker.NewServer(worker.NewSimBackend(worker.DefaultSimConfig()), worker.Options{}))
//	defer ts.Close()
//	workertest.RunConformance(t, workertest.Harness{URL: ts.URL})
//
// The suite reads the server's geometry (image size, patch size, codebook
// size, max_batch) from GET /v1/info itself and sizes every request from
// it, so it runs against the simulator's 24x24 grid as against a tiny
// random Janus model's 4x4 one. The harness only says what the suite
// cannot ask: the body limit, and whether the generate queue is small
// enough to overflow cheaply. Whether the server serves chat completions
// the suite asks the server (see [Harness.RequireChat]).
//
// # What the suite checks
//
//   - GET /v1/info: every documented field, with sane values; the prompt
//     wrapper holds "{prefix}".
//   - GET /healthz: 200 {"status": "ok"}.
//   - POST /v1/generate: valid calls (with and without prior tokens, a
//     whole grid, greedy, without guidance, top-k and top-p, negative
//     seeds, non-ASCII prefixes) answer n tokens inside the codebook, the
//     model as "model@revision" of /v1/info, and usage; the same request
//     answers the same tokens, alone or batched with others; invalid
//     calls (bad JSON, wrong types, n not positive, positions past the
//     grid, negative sampling parameters, tokens outside the codebook)
//     answer 400 (or 422) with the error body and type
//     invalid_request_error.
//   - POST /v1/decode: a full grid, placeholders (token 0) included,
//     renders as a PNG of image_size pixels, the same bytes every time;
//     grids of the wrong length or with ids outside the codebook are 400.
//   - POST /v1/encode: a PNG of image_size, and one of twice that size
//     (the protocol resizes), encode into grid*grid ids inside the
//     codebook (only the shape is checked: a VQ round trip may differ);
//     bytes that are not base64 or not an image are 400.
//   - GET /v1/stats: the documented counters, consistent with each other
//     and counting a generate call.
//   - Routing: a wrong method is 405 with Allow, an unknown path 404, both
//     with the error body; a body over the limit is 413, one at the limit
//     is not. After each of these refusals the same keep-alive connection
//     must serve the next request, unless the answer said
//     "Connection: close": a server must not leave a refused body unread
//     in the connection, nor close it unannounced.
//   - Overload (when [Harness.Queue] is set): a burst of concurrent calls
//     gets some 429 or 503 answers with type overloaded_error and, when
//     present, an integer Retry-After; /v1/stats counts them as rejected.
//   - POST /v1/chat/completions (when the server serves it): think and
//     critique instructions rendered from twig's built-in templates get an
//     OpenAI chat completion (one choice, an assistant message with string
//     content, finish_reason, usage that adds up), the same answer for the
//     same request; stream, n > 1 and an empty conversation are 400; GET
//     /v1/models lists the served model.
//
// Where the protocol document leaves a choice to the server (n that is
// not a whole number of token rows, unknown fields, omitted sampling
// fields, images that are not PNG), the suite accepts either a proper
// answer or a proper 4xx error, and logs which one it got.
//
// A server known to fail some checks lists them in [Harness.Known]: they
// are skipped with the reason, visibly, and the rest still runs.
//
// Every error answer must have the body {"error": {"message", "type"}}
// with a non-empty message; the types are the values of
// worker.ErrorInvalidRequest, worker.ErrorOverloaded and
// worker.ErrorServer.
//
// [StartPython] and [JanusPython] start the Python reference worker for a
// test, so that this suite and end-to-end tests can run against it.
package workertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// Harness describes a running worker to the suite.
type Harness struct {
	// URL is the worker's base URL, e.g. "http://127.0.0.1:8420", with
	// no trailing slash.
	URL string
	// Client sends the suite's requests; nil means a client of the
	// suite's own whose calls time out after two minutes.
	Client *http.Client
	// MaxBodyBytes is the server's limit on request bodies: the suite
	// sends bodies of exactly that size (not to be refused with 413), a
	// byte larger and four times larger (to be refused with 413, the
	// connection still usable or announced closed). Zero skips these
	// checks; keep the limit small (a MiB) for them to be cheap. It must
	// leave room for the suite's own requests, the largest being a PNG of
	// twice the image size to encode (the suite skips that case when it
	// does not fit).
	MaxBodyBytes int64
	// Queue is the length of the server's generate queue, when it is
	// small enough that a burst of Queue + max_batch + 16 concurrent
	// generate calls overflows it: the suite then checks the 429 or 503
	// answers. Zero skips the overload check. With a small queue the
	// suite's other concurrent calls may be answered 503 too; it retries
	// them, as a client would.
	Queue int
	// RequireChat fails the suite when the server does not serve
	// POST /v1/chat/completions. Without it, the suite runs the chat
	// checks exactly when the server says it serves chat: /v1/info's
	// boolean "chat" field when the server reports one, else the answer
	// to a probe (404 means no chat).
	RequireChat bool
	// Known lists the checks the server is known to fail, by subtest
	// name below the suite ("Chat/Models", "Routing/UnknownPath/root"),
	// each with the reason, such as the issue that tracks the fix. The
	// suite skips them, logging the reason, so that a known disagreement
	// with the protocol stays in the test log and the rest still runs.
	// A name that matches no check fails the suite.
	Known map[string]string
}

// suite is one run of the checks against one server.
type suite struct {
	h      Harness
	client *http.Client
	info   worker.Info
	// rawInfo holds /v1/info's fields as sent.
	rawInfo map[string]json.RawMessage
	grid    int // tokens per side
	modelID string

	root  string // the name of the test the suite runs in
	mu    sync.Mutex
	known map[string]bool // the names of Harness.Known that matched a check
}

// run runs a subtest of the suite, skipping it when Harness.Known lists it.
func (s *suite) run(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, func(t *testing.T) {
		rel := strings.TrimPrefix(t.Name(), s.root+"/")
		if why, ok := s.h.Known[rel]; ok {
			s.mu.Lock()
			s.known[rel] = true
			s.mu.Unlock()
			t.Skipf("known failure: %s", why)
		}
		f(t)
	})
}

// RunConformance runs the conformance checks against the worker h
// describes, as subtests of t. The worker must be ready (GET /healthz
// answers 200) and otherwise idle: the suite reads /v1/stats counters
// around its own calls.
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	if h.URL == "" {
		t.Fatal("workertest: Harness.URL is empty")
	}
	h.URL = strings.TrimRight(h.URL, "/")
	s := &suite{h: h, client: h.Client, root: t.Name(), known: map[string]bool{}}
	if s.client == nil {
		s.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	}
	if !s.run(t, "Info", s.testInfo) {
		t.Fatalf("workertest: %s: GET %s failed; the other checks need the geometry it reports", h.URL, worker.PathInfo)
	}
	s.run(t, "Health", s.testHealth)
	s.run(t, "Generate", s.testGenerate)
	s.run(t, "Decode", s.testDecode)
	s.run(t, "Encode", s.testEncode)
	s.run(t, "Stats", s.testStats)
	s.run(t, "Routing", s.testRouting)
	s.run(t, "BodyLimit", s.testBodyLimit)
	s.run(t, "Overload", s.testOverload)
	s.run(t, "Chat", s.testChat)
	for name := range h.Known {
		if !s.known[name] {
			t.Errorf("workertest: Harness.Known names %q, which is no check of the suite", name)
		}
	}
}

// answer is an HTTP answer as the suite saw it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// String describes the answer for error messages, the body cut short.
func (a answer) String() string {
	b := string(bytes.TrimSpace(a.body))
	if len(b) > 300 {
		b = b[:300] + "..."
	}
	return fmt.Sprintf("%d %s", a.status, b)
}

// do sends one request. A body that is a string or []byte goes as is, nil
// sends none, anything else is sent as JSON.
func (s *suite) do(ctx context.Context, method, path string, body any) (answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.h.URL+path, r)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// call sends one request and fails the test when no answer comes.
func (s *suite) call(t testing.TB, method, path string, body any) answer {
	t.Helper()
	a, err := s.do(context.Background(), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// maxRetries bounds the retries of a call answered 429 or 503 (see
// Harness.Queue).
const maxRetries = 20

// callOK sends a request that must succeed, retrying it while the server
// answers 429 or 503 (a small queue), as a client would. It returns the
// last answer.
func (s *suite) callOK(t testing.TB, method, path string, body any) answer {
	t.Helper()
	a, err := s.doRetrying(context.Background(), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// doRetrying is do, retrying 429 and 503 answers after their Retry-After
// (at most a second) or 50ms.
func (s *suite) doRetrying(ctx context.Context, method, path string, body any) (answer, error) {
	for try := 0; ; try++ {
		a, err := s.do(ctx, method, path, body)
		if err != nil || try == maxRetries || (a.status != http.StatusTooManyRequests && a.status != http.StatusServiceUnavailable) {
			return a, err
		}
		wait := 50 * time.Millisecond
		if n, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil && n > 0 {
			wait = time.Second
		}
		time.Sleep(wait)
	}
}

// wantOK checks a successful JSON answer and decodes it into out.
func wantOK(t testing.TB, where string, a answer, out any) bool {
	t.Helper()
	if a.status != http.StatusOK {
		t.Errorf("%s = %s, want 200", where, a)
		return false
	}
	checkJSONType(t, where, a)
	if err := json.Unmarshal(a.body, out); err != nil {
		t.Errorf("%s: answer %s does not decode: %v", where, a, err)
		return false
	}
	return true
}

// checkJSONType checks that an answer says it is JSON.
func checkJSONType(t testing.TB, where string, a answer) {
	t.Helper()
	ct := a.header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", where, ct)
	}
}

// errorBody is the protocol's error body, with pointers to tell a missing
// field from an empty one.
type errorBody struct {
	Error *struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
	} `json:"error"`
}

// wantError checks an error answer: one of the statuses, JSON, the
// protocol's error body with a message and the type typ.
func wantError(t testing.TB, where string, a answer, typ string, statuses ...int) bool {
	t.Helper()
	ok := false
	for _, st := range statuses {
		ok = ok || a.status == st
	}
	if !ok {
		t.Errorf("%s = %s, want status %s", where, a, statusList(statuses))
		return false
	}
	return checkErrorBody(t, where, a, typ)
}

// checkErrorBody checks the body of an error answer.
func checkErrorBody(t testing.TB, where string, a answer, typ string) bool {
	t.Helper()
	checkJSONType(t, where, a)
	var eb errorBody
	if err := json.Unmarshal(a.body, &eb); err != nil {
		t.Errorf("%s: error answer %s is not the protocol's error body: %v", where, a, err)
		return false
	}
	switch {
	case eb.Error == nil:
		t.Errorf(`%s: error answer %s has no "error" object`, where, a)
	case eb.Error.Message == nil || *eb.Error.Message == "":
		t.Errorf(`%s: error answer %s has no error.message`, where, a)
	case eb.Error.Type == nil || *eb.Error.Type != typ:
		t.Errorf(`%s: error answer %s: error.type want %q`, where, a, typ)
	default:
		return true
	}
	return false
}

func statusList(statuses []int) string {
	var s []string
	for _, st := range statuses {
		s = append(s, strconv.Itoa(st))
	}
	return strings.Join(s, " or ")
}

// Statuses of a wrong request: the protocol lists 400 and 422 for it.
var badRequest = []int{http.StatusBadRequest, http.StatusUnprocessableEntity}

// wantBadRequest checks the answer to a wrong request.
func wantBadRequest(t testing.TB, where string, a answer) bool {
	t.Helper()
	return wantError(t, where, a, worker.ErrorInvalidRequest, badRequest...)
}

// isBadRequest reports whether a is a 400 or 422 answer.
func isBadRequest(a answer) bool {
	return a.status == http.StatusBadRequest || a.status == http.StatusUnprocessableEntity
}
