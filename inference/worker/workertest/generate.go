package workertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/twigdata/twig/inference/worker"
)

// wireGenerate is a generate answer as sent.
type wireGenerate struct {
	Tokens *[]int64 `json:"tokens"`
	Model  *string  `json:"model"`
	Usage  *struct {
		InputTokens  *int64 `json:"input_tokens"`
		OutputTokens *int64 `json:"output_tokens"`
	} `json:"usage"`
}

// generateBody is a generate request with every field given, as twig's
// client sends it: guidance 5, temperature 1, no top-k or top-p.
func (s *suite) generateBody(prefix string, prior []int32, n int, seed int64) worker.GenerateRequest {
	if prior == nil {
		prior = []int32{}
	}
	return worker.GenerateRequest{Prefix: prefix, Prior: prior, N: n, CFG: 5, Temperature: 1, TopK: 0, TopP: 1, Seed: seed}
}

// priorTokens returns rows of token rows of ids inside the codebook.
func (s *suite) priorTokens(rows int) []int32 {
	p := make([]int32, rows*s.grid)
	for i := range p {
		p[i] = int32((i*31 + 7) % s.info.CodebookSize)
	}
	return p
}

// generateOK posts a generate request that must succeed and returns the
// tokens, or nil after reporting what is wrong.
func (s *suite) generateOK(t testing.TB, name string, req worker.GenerateRequest) []int32 {
	t.Helper()
	where := fmt.Sprintf("POST %s (%s)", worker.PathGenerate, name)
	return s.checkGenerate(t, where, req, s.callOK(t, http.MethodPost, worker.PathGenerate, req))
}

// checkGenerate checks a generate answer to req: 200, n tokens inside the
// codebook, the model of /v1/info and the usage. It returns the tokens,
// or nil.
func (s *suite) checkGenerate(t testing.TB, where string, req worker.GenerateRequest, a answer) []int32 {
	t.Helper()
	var g wireGenerate
	if !wantOK(t, where, a, &g) {
		return nil
	}
	switch {
	case g.Tokens == nil:
		t.Errorf("%s = %s: no tokens", where, a)
		return nil
	case len(*g.Tokens) != req.N:
		t.Errorf("%s: %d tokens, want n = %d", where, len(*g.Tokens), req.N)
		return nil
	}
	tokens := s.codebookTokens(t, where, *g.Tokens)
	if tokens == nil {
		return nil
	}
	if g.Model == nil || *g.Model != s.modelID {
		t.Errorf("%s: model %s, want %q (model@revision of %s)", where, ptrString(g.Model), s.modelID, worker.PathInfo)
	}
	switch u := g.Usage; {
	case u == nil || u.InputTokens == nil || u.OutputTokens == nil:
		t.Errorf("%s = %s: usage without input_tokens and output_tokens", where, a)
	case *u.OutputTokens != int64(req.N):
		t.Errorf("%s: usage.output_tokens %d, want n = %d", where, *u.OutputTokens, req.N)
	case *u.InputTokens < int64(len(req.Prior)):
		t.Errorf("%s: usage.input_tokens %d, fewer than the %d prior tokens conditioned on", where, *u.InputTokens, len(req.Prior))
	}
	return tokens
}

func ptrString(p *string) string {
	if p == nil {
		return "missing"
	}
	return fmt.Sprintf("%q", *p)
}

// genCase is a named generate request.
type genCase struct {
	name string
	req  worker.GenerateRequest
}

// validGenerates are calls every server must answer.
func (s *suite) validGenerates() []genCase {
	g, row := s.grid, s.grid
	all := g * g
	prefix := "A red apple sits on a wooden table."
	with := func(f func(*worker.GenerateRequest)) worker.GenerateRequest {
		r := s.generateBody(prefix, nil, row, 1234567)
		f(&r)
		return r
	}
	cases := []genCase{
		{"first row", with(func(*worker.GenerateRequest) {})},
		{"whole grid", with(func(r *worker.GenerateRequest) { r.N = all })},
		{"greedy", with(func(r *worker.GenerateRequest) { r.Temperature = 0 })},
		{"no guidance", with(func(r *worker.GenerateRequest) { r.CFG = 0 })},
		{"top-k and top-p", with(func(r *worker.GenerateRequest) { r.TopK, r.TopP = 5, 0.9 })},
		{"negative seed", with(func(r *worker.GenerateRequest) { r.Seed = -42 })},
		{"non-ASCII prefix", with(func(r *worker.GenerateRequest) {
			r.Prefix = "Ein grüner Apfel — 🍏 — auf dem Tisch, «très» joli."
		})},
		{"empty prefix", with(func(r *worker.GenerateRequest) { r.Prefix = "" })},
	}
	if g >= 2 {
		cases = append(cases,
			genCase{"after one prior row", with(func(r *worker.GenerateRequest) { r.Prior = s.priorTokens(1) })},
			genCase{"last row", with(func(r *worker.GenerateRequest) { r.Prior = s.priorTokens(g - 1) })},
		)
	}
	return cases
}

// testGenerate checks POST /v1/generate.
func (s *suite) testGenerate(t *testing.T) {
	cases := s.validGenerates()
	got := make([][]int32, len(cases))
	s.run(t, "Valid", func(t *testing.T) {
		for i, c := range cases {
			s.run(t, c.name, func(t *testing.T) { got[i] = s.generateOK(t, c.name, c.req) })
		}
	})
	s.run(t, "Deterministic", func(t *testing.T) {
		// "A call's answer is a function of its request": the same
		// request, again, answers the same tokens.
		for i, c := range cases[:2] {
			if again := s.generateOK(t, c.name+", again", c.req); got[i] != nil && again != nil && !slices.Equal(got[i], again) {
				t.Errorf("POST %s (%s): the same request answered %v, then %v", worker.PathGenerate, c.name, got[i], again)
			}
		}
	})
	s.run(t, "BatchIndependent", func(t *testing.T) {
		// Sent together, the calls share batches; each must still answer
		// what it answered alone.
		conc := make([]answer, len(cases))
		errs := make([]error, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			wg.Go(func() {
				conc[i], errs[i] = s.doRetrying(context.Background(), http.MethodPost, worker.PathGenerate, c.req)
			})
		}
		wg.Wait()
		for i, c := range cases {
			where := fmt.Sprintf("POST %s (%s, with %d others at once)", worker.PathGenerate, c.name, len(cases)-1)
			if errs[i] != nil {
				t.Errorf("%s: %v", where, errs[i])
				continue
			}
			if tokens := s.checkGenerate(t, where, c.req, conc[i]); got[i] != nil && tokens != nil && !slices.Equal(got[i], tokens) {
				t.Errorf("%s answered %v; alone it answered %v", where, tokens, got[i])
			}
		}
	})
	s.run(t, "Invalid", s.testGenerateInvalid)
	s.run(t, "EitherWay", s.testGenerateEitherWay)
}

// body is a JSON request body as a map, to send fields of any type.
type body map[string]any

func (b body) with(kv ...any) body {
	c := maps.Clone(b)
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

func (b body) without(keys ...string) body {
	c := maps.Clone(b)
	for _, k := range keys {
		delete(c, k)
	}
	return c
}

// testGenerateInvalid sends wrong requests, which the protocol answers
// 400 (or 422) with type invalid_request_error.
func (s *suite) testGenerateInvalid(t *testing.T) {
	g, row := s.grid, s.grid
	all, cb := g*g, s.info.CodebookSize
	ok := body{"prefix": "A red apple.", "prior": []int32{}, "n": row, "cfg": 5.0, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 1}
	badRow := func(bad int32) []int32 {
		p := s.priorTokens(1)
		p[len(p)/2] = bad
		return p
	}
	tests := []struct {
		name string
		body any
	}{
		{"not JSON", `{"prefix": "a", "n": `},
		{"empty body", ""},
		{"JSON array", `[1, 2, 3]`},
		{"JSON string", `"generate"`},
		{"n missing", ok.without("n")},
		{"n a string", ok.with("n", fmt.Sprint(row))},
		{"n fractional", ok.with("n", float64(row)+0.5)},
		{"n a boolean", ok.with("n", true)},
		{"n zero", ok.with("n", 0)},
		{"n negative", ok.with("n", -row)},
		{"n past the grid", ok.with("n", all+row)},
		{"prior and n past the grid", ok.with("prior", s.priorTokens(1), "n", all)},
		{"prefix a number", ok.with("prefix", 5)},
		{"prior a string", ok.with("prior", "0 1 2")},
		{"prior an object", ok.with("prior", map[string]int{"0": 1})},
		{"prior token fractional", ok.with("prior", []float64{1.5})},
		{"prior token at codebook_size", ok.with("prior", badRow(int32(cb)))},
		{"prior token negative", ok.with("prior", badRow(-1))},
		{"cfg negative", ok.with("cfg", -1.0)},
		{"cfg a string", ok.with("cfg", "5")},
		{"temperature negative", ok.with("temperature", -0.5)},
		{"top_k negative", ok.with("top_k", -1)},
		{"top_k fractional", ok.with("top_k", 2.5)},
		{"top_p negative", ok.with("top_p", -0.1)},
		{"top_p above 1", ok.with("top_p", 1.5)},
		{"seed fractional", ok.with("seed", 1.5)},
		{"seed a string", ok.with("seed", "1")},
	}
	for _, tt := range tests {
		s.run(t, tt.name, func(t *testing.T) {
			where := fmt.Sprintf("POST %s (%s)", worker.PathGenerate, tt.name)
			wantBadRequest(t, where, s.call(t, http.MethodPost, worker.PathGenerate, tt.body))
		})
	}
}

// testGenerateEitherWay sends requests on which the protocol document is
// silent: the server may answer them or refuse them, properly either way.
func (s *suite) testGenerateEitherWay(t *testing.T) {
	row := s.grid
	full := s.generateBody("A red apple.", nil, row, 1)
	asBody := func(r worker.GenerateRequest) body {
		var b body
		if err := json.Unmarshal([]byte(mustJSON(r)), &b); err != nil {
			panic(err)
		}
		return b
	}
	type eitherCase struct {
		name string
		req  worker.GenerateRequest // what the answer is checked against
		body any
	}
	tests := []eitherCase{
		{"unknown field", full, asBody(full).with("guidance_schedule", "cosine")},
		// The defaults of omitted fields are not documented.
		{"only prefix and n", full, asBody(full).without("prior", "cfg", "temperature", "top_k", "top_p", "seed")},
	}
	if row >= 2 {
		part := full
		part.N = row - 1
		tests = append(tests, eitherCase{"n not whole rows", part, part})
		after := full
		after.Prior = s.priorTokens(1)[:1]
		tests = append(tests, eitherCase{"prior not whole rows", after, after})
	}
	for _, tt := range tests {
		s.run(t, tt.name, func(t *testing.T) {
			where := fmt.Sprintf("POST %s (%s)", worker.PathGenerate, tt.name)
			a := s.callOK(t, http.MethodPost, worker.PathGenerate, tt.body)
			if isBadRequest(a) {
				if wantBadRequest(t, where, a) {
					t.Logf("%s: refused: %s", where, a)
				}
				return
			}
			if s.checkGenerate(t, where, tt.req, a) != nil {
				t.Logf("%s: answered", where)
			}
		})
	}
}
