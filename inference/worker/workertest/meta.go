package workertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twigdata/twig/inference/worker"
)

// wireInfo is GET /v1/info as sent: pointers tell missing fields.
type wireInfo struct {
	Model         *string `json:"model"`
	Revision      *string `json:"revision"`
	ImageSize     *int    `json:"image_size"`
	PatchSize     *int    `json:"patch_size"`
	CodebookSize  *int    `json:"codebook_size"`
	MaxBatch      *int    `json:"max_batch"`
	MaxWaitMS     *int    `json:"max_wait_ms"`
	PromptWrapper *string `json:"prompt_wrapper"`
}

// testInfo reads and checks GET /v1/info, and keeps the geometry for the
// other checks.
func (s *suite) testInfo(t *testing.T) {
	const where = "GET " + worker.PathInfo
	a := s.call(t, http.MethodGet, worker.PathInfo, nil)
	var w wireInfo
	if !wantOK(t, where, a, &w) {
		t.FailNow()
	}
	if err := json.Unmarshal(a.body, &s.rawInfo); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	missing := func(name string, isNil bool) bool {
		if isNil {
			t.Errorf("%s = %s: no %q", where, a, name)
		}
		return isNil
	}
	if missing("model", w.Model == nil) || missing("revision", w.Revision == nil) ||
		missing("image_size", w.ImageSize == nil) || missing("patch_size", w.PatchSize == nil) ||
		missing("codebook_size", w.CodebookSize == nil) || missing("max_batch", w.MaxBatch == nil) ||
		missing("max_wait_ms", w.MaxWaitMS == nil) || missing("prompt_wrapper", w.PromptWrapper == nil) {
		t.FailNow()
	}
	info := worker.Info{
		Model: *w.Model, Revision: *w.Revision, ImageSize: *w.ImageSize, PatchSize: *w.PatchSize,
		CodebookSize: *w.CodebookSize, MaxBatch: *w.MaxBatch, MaxWaitMS: *w.MaxWaitMS, PromptWrapper: *w.PromptWrapper,
	}
	tests := []struct {
		name string
		bad  bool
	}{
		{"model is empty", info.Model == ""},
		{"image_size is not positive", info.ImageSize <= 0},
		{"patch_size is not positive", info.PatchSize <= 0},
		{"image_size is not a multiple of patch_size", info.PatchSize > 0 && info.ImageSize%info.PatchSize != 0},
		{"codebook_size is below 2", info.CodebookSize < 2},
		{"max_batch is below 1", info.MaxBatch < 1},
		{"max_wait_ms is negative", info.MaxWaitMS < 0},
		{`prompt_wrapper does not hold "{prefix}" once`, strings.Count(info.PromptWrapper, "{prefix}") != 1},
	}
	for _, tt := range tests {
		if tt.bad {
			t.Errorf("%s = %s: %s", where, a, tt.name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	s.info, s.grid, s.modelID = info, info.ImageSize/info.PatchSize, info.ModelID()
	t.Logf("%s: %s, %dx%d grid, codebook %d, max_batch %d", s.h.URL, s.modelID, s.grid, s.grid, info.CodebookSize, info.MaxBatch)

	// A stateless worker reports the same thing every time.
	var again wireInfo
	if wantOK(t, where+" (again)", s.call(t, http.MethodGet, worker.PathInfo, nil), &again) {
		if b1, b2 := mustJSON(w), mustJSON(again); b1 != b2 {
			t.Errorf("%s changed between two calls: %s, then %s", where, b1, b2)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// testHealth checks GET /healthz of a ready worker.
func (s *suite) testHealth(t *testing.T) {
	const where = "GET " + worker.PathHealth
	var body struct {
		Status *string `json:"status"`
	}
	if wantOK(t, where, s.call(t, http.MethodGet, worker.PathHealth, nil), &body) && (body.Status == nil || *body.Status != "ok") {
		t.Errorf(`%s: status %v, want "ok"`, where, body.Status)
	}
}

// wireStats is GET /v1/stats as sent (a server may add fields).
type wireStats struct {
	Batches       *int64            `json:"batches"`
	Calls         *int64            `json:"calls"`
	MeanBatchSize *float64          `json:"mean_batch_size"`
	BatchSizes    map[string]*int64 `json:"batch_sizes"`
	Rejected      *int64            `json:"rejected"`
	Queued        *int64            `json:"queued"`
}

// stats reads and checks GET /v1/stats: every counter present and
// consistent with the others.
func (s *suite) stats(t testing.TB) (wireStats, bool) {
	t.Helper()
	const where = "GET " + worker.PathStats
	a := s.call(t, http.MethodGet, worker.PathStats, nil)
	var st wireStats
	if !wantOK(t, where, a, &st) {
		return st, false
	}
	for name, isNil := range map[string]bool{
		"batches": st.Batches == nil, "calls": st.Calls == nil, "mean_batch_size": st.MeanBatchSize == nil,
		"batch_sizes": st.BatchSizes == nil, "rejected": st.Rejected == nil, "queued": st.Queued == nil,
	} {
		if isNil {
			t.Errorf("%s = %s: no %q", where, a, name)
		}
	}
	if t.Failed() {
		return st, false
	}
	var batches, calls int64
	for k, v := range st.BatchSizes {
		size, err := strconv.Atoi(k)
		if err != nil || size < 1 || v == nil || *v < 0 {
			t.Errorf("%s = %s: batch_sizes entry %q: %v, want a positive size and a count", where, a, k, v)
			continue
		}
		batches += *v
		calls += int64(size) * *v
	}
	mean := 0.0
	if *st.Batches > 0 {
		mean = float64(*st.Calls) / float64(*st.Batches)
	}
	tests := []struct {
		name string
		bad  bool
	}{
		{"a negative counter", *st.Batches < 0 || *st.Calls < 0 || *st.Rejected < 0 || *st.Queued < 0},
		{"batch_sizes does not add up to batches", batches != *st.Batches},
		{"batch_sizes does not add up to calls", calls != *st.Calls},
		{"mean_batch_size is not calls / batches", math.Abs(*st.MeanBatchSize-mean) > 1e-6},
	}
	for _, tt := range tests {
		if tt.bad {
			t.Errorf("%s = %s: %s", where, a, tt.name)
		}
	}
	return st, !t.Failed()
}

// testStats checks the counters and that they count one generate call.
func (s *suite) testStats(t *testing.T) {
	before, ok := s.stats(t)
	if !ok {
		return
	}
	s.generateOK(t, "one call", s.generateBody("A blue vase.", nil, s.grid, 11))
	// A server may count a call just after answering it: wait a little.
	var after wireStats
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if after, ok = s.stats(t); !ok {
			return
		}
		if *after.Calls > *before.Calls || time.Now().After(deadline) {
			break
		}
	}
	if dc, db := *after.Calls-*before.Calls, *after.Batches-*before.Batches; dc != 1 || db != 1 {
		t.Errorf("GET %s: one generate call on an idle worker counted as %d calls in %d batches, want 1 in 1", worker.PathStats, dc, db)
	}
	if *after.Queued != 0 {
		t.Errorf("GET %s: queued %d on an idle worker, want 0", worker.PathStats, *after.Queued)
	}
}

// testRouting checks wrong methods and unknown paths.
func (s *suite) testRouting(t *testing.T) {
	s.run(t, "WrongMethod", func(t *testing.T) {
		tests := []struct {
			name, method, path, allow string
		}{
			{"GET generate", http.MethodGet, worker.PathGenerate, http.MethodPost},
			{"PUT decode", http.MethodPut, worker.PathDecode, http.MethodPost},
			{"DELETE encode", http.MethodDelete, worker.PathEncode, http.MethodPost},
			{"POST info", http.MethodPost, worker.PathInfo, http.MethodGet},
			{"POST healthz", http.MethodPost, worker.PathHealth, http.MethodGet},
			{"PATCH stats", http.MethodPatch, worker.PathStats, http.MethodGet},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				req := rawRequest{method: tt.method, path: tt.path}
				if tt.method != http.MethodGet {
					req.body = []byte("{}")
				}
				where := tt.method + " " + tt.path
				s.checkThenHealthy(t, where, req, func(a answer) {
					if wantError(t, where, a, worker.ErrorInvalidRequest, http.StatusMethodNotAllowed) {
						if allow := a.header.Get("Allow"); !strings.Contains(allow, tt.allow) {
							t.Errorf("%s: Allow %q, want %s (RFC 9110 requires Allow on 405)", where, allow, tt.allow)
						}
					}
				})
			})
		}
	})
	s.run(t, "UnknownPath", func(t *testing.T) {
		tests := []struct {
			name, method, path string
		}{
			{"root", http.MethodGet, "/"},
			{"unknown v1 endpoint", http.MethodGet, "/v1/nothing"},
			{"v2 generate", http.MethodPost, "/v2/generate"},
			{"below generate", http.MethodPost, worker.PathGenerate + "/more"},
			{"trailing slash", http.MethodGet, worker.PathInfo + "/"},
		}
		for _, tt := range tests {
			s.run(t, tt.name, func(t *testing.T) {
				req := rawRequest{method: tt.method, path: tt.path}
				if tt.method == http.MethodPost {
					req.body = []byte("{}")
				}
				where := tt.method + " " + tt.path
				s.checkThenHealthy(t, where, req, func(a answer) {
					wantError(t, where, a, worker.ErrorInvalidRequest, http.StatusNotFound)
				})
			})
		}
	})
}

// testBodyLimit checks that a body over Harness.MaxBodyBytes is 413 and
// one at the limit is read.
func (s *suite) testBodyLimit(t *testing.T) {
	limit := s.h.MaxBodyBytes
	if limit == 0 {
		t.Skip("Harness.MaxBodyBytes is 0")
	}
	// A JSON object padded with spaces to size, asking for n = 0, which
	// is refused cheaply once read.
	pad := func(size int64) []byte {
		head := []byte(`{"prefix": "a", "n": 0}`)
		if size < int64(len(head)) {
			t.Fatalf("Harness.MaxBodyBytes %d is too small for a request", limit)
		}
		return append(head, []byte(strings.Repeat(" ", int(size)-len(head)))...)
	}
	tests := []struct {
		name string
		size int64
		want func(t testing.TB, where string, a answer)
	}{
		{"at the limit", limit, func(t testing.TB, where string, a answer) { wantBadRequest(t, where, a) }},
		{"a byte over", limit + 1, wantTooLarge},
		{"four times over", 4 * limit, wantTooLarge},
	}
	for _, tt := range tests {
		s.run(t, tt.name, func(t *testing.T) {
			b := pad(tt.size)
			// Three times, on new connections: whether a client sees the
			// answer may depend on timing.
			for try := range 3 {
				where := fmt.Sprintf("POST %s with a body of %d bytes (the limit is %d; try %d)", worker.PathGenerate, tt.size, limit, try+1)
				s.checkThenHealthy(t, where, rawRequest{method: http.MethodPost, path: worker.PathGenerate, body: b}, func(a answer) { tt.want(t, where, a) })
			}
		})
	}
}

func wantTooLarge(t testing.TB, where string, a answer) {
	t.Helper()
	wantError(t, where, a, worker.ErrorInvalidRequest, http.StatusRequestEntityTooLarge)
}

// testOverload overflows a small generate queue and checks the answers.
func (s *suite) testOverload(t *testing.T) {
	if s.h.Queue <= 0 {
		t.Skip("Harness.Queue is 0")
	}
	before, ok := s.stats(t)
	if !ok {
		return
	}
	burst := s.h.Queue + s.info.MaxBatch + 16
	body := s.generateBody("A crowded street at noon.", nil, s.grid, 5)
	var refused, answered int
	for round := 0; round < 5 && refused == 0; round++ {
		answers := make([]answer, burst)
		errs := make([]error, burst)
		var wg sync.WaitGroup
		for i := range burst {
			wg.Go(func() { answers[i], errs[i] = s.do(context.Background(), http.MethodPost, worker.PathGenerate, body) })
		}
		wg.Wait()
		for i, a := range answers {
			where := fmt.Sprintf("round %d: POST %s, call %d of a burst of %d", round+1, worker.PathGenerate, i+1, burst)
			switch {
			case errs[i] != nil:
				t.Errorf("%s: %v", where, errs[i])
			case a.status == http.StatusOK:
				answered++
			case a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable:
				refused++
				if checkErrorBody(t, where, a, worker.ErrorOverloaded) {
					checkRetryAfter(t, where, a)
				}
			default:
				t.Errorf("%s = %s, want 200, 429 or 503", where, a)
			}
		}
	}
	t.Logf("%d calls answered, %d refused", answered, refused)
	if refused == 0 {
		t.Errorf("POST %s: 5 bursts of %d concurrent calls on a queue of %d: none refused with 429 or 503", worker.PathGenerate, burst, s.h.Queue)
		return
	}
	after, ok := s.stats(t)
	if ok && *after.Rejected-*before.Rejected != int64(refused) {
		t.Errorf("GET %s: rejected went from %d to %d, want %d more (the refused calls)", worker.PathStats, *before.Rejected, *after.Rejected, refused)
	}
}

// checkRetryAfter checks a Retry-After header, which the protocol makes
// optional ("may say when to come back") but, when present, seconds.
func checkRetryAfter(t testing.TB, where string, a answer) {
	t.Helper()
	ra, ok := a.header["Retry-After"]
	if !ok {
		t.Logf("%s: %d without Retry-After (allowed)", where, a.status)
		return
	}
	if n, err := strconv.Atoi(strings.TrimSpace(ra[0])); err != nil || n < 0 || len(ra) != 1 {
		t.Errorf("%s: Retry-After %q, want one whole number of seconds", where, ra)
	}
}
