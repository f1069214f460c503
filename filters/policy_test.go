package filters_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func f64(f float64) *float64 { return &f }

// TestDefaultPolicyGolden checks DefaultPolicy against
// testdata/default_policy.json, which is DefaultPolicy marshalled with
// two-space indentation; regenerate it with go test ./filters -update.
func TestDefaultPolicyGolden(t *testing.T) {
	golden := filepath.Join("testdata", "default_policy.json")
	got, err := json.MarshalIndent(filters.DefaultPolicy(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("DefaultPolicy JSON =\n%s\nwant (%s)\n%s", got, golden, want)
	}
	p, err := filters.LoadPolicy(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, filters.DefaultPolicy()) {
		t.Errorf("LoadPolicy(%s) = %+v, want DefaultPolicy", golden, p)
	}
	if err := p.Validate([]string{"thought_format", "coverage", "reflection_consistency", "canvas_sanity", "vlm", "dedup_prompt", "dedup_image"}); err != nil {
		t.Errorf("Validate: %v", err)
	}
	const wantString = "default@1 require=canvas_sanity,coverage,dedup_image,dedup_prompt,reflection_consistency,thought_format,vlm>=0.6 record=improvement"
	if s := p.String(); s != wantString {
		t.Errorf("String = %q, want %q", s, wantString)
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	p := filters.Policy{Name: "strict", Version: "3", MinOverall: f64(0.5), Judges: map[string]filters.Rule{
		"vlm":      {Required: true, Threshold: f64(0.8), Weight: 2},
		"coverage": {Weight: 0.5},
	}}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := filters.ParsePolicy("p.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("round trip = %+v, want %+v", got, p)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
	}{
		{"syntax", "{\n  \"name\": \"a\",\n  \"version\": \"1\"\n  \"judges\": {}\n}", `p.json:4:3: invalid character '"' after object key:value pair`},
		{"truncated", "{\"name\": \"a\",", `p.json:1:14: unexpected end of input`},
		{"unknown top key", "{\"name\": \"a\", \"version\": \"1\", \"judge\": {}}", `p.json:1:31: unknown key "judge" (want one of name, version, judges, min_overall)`},
		{"unknown rule key", "{\"name\": \"a\", \"version\": \"1\",\n \"judges\": {\"vlm\": {\"treshold\": 0.5}}}", `p.json:2:21: unknown key "judges.vlm.treshold" (want one of required, threshold, weight)`},
		{"wrong type", "{\"name\": \"a\", \"version\": \"1\",\n \"judges\": {\"vlm\": {\"threshold\": \"high\"}}}", `p.json:2:21: judges.vlm.threshold: cannot use JSON string as float64`},
		{"rule not an object", "{\"name\": \"a\", \"version\": \"1\",\n \"judges\": {\"vlm\": true}}", `p.json:2:20: judges.vlm: want an object`},
		{"threshold above 1", "{\"name\": \"a\", \"version\": \"1\",\n \"judges\": {\"vlm\": {\"threshold\": 60}}}", `p.json:2:21: judges.vlm.threshold: 60 is outside [0, 1]`},
		{"negative weight", "{\"name\": \"a\", \"version\": \"1\",\n \"judges\": {\"vlm\": {\"weight\": -1}}}", `p.json:2:21: judges.vlm.weight: -1 is not a finite number >= 0`},
		{"empty judge name", "{\"name\": \"a\", \"version\": \"1\",\n \"judges\": {\"\": {}}}", `p.json:2:13: judges: empty judge name ""`},
		{"min overall", "{\"name\": \"a\", \"version\": \"1\", \"min_overall\": 1.5}", `p.json:1:31: min_overall: 1.5 is outside [0, 1]`},
		{"no name", "{\"version\": \"1\"}", `p.json:1:1: name: missing or empty`},
		{"not an object", "[1]", `p.json:1:1: want a JSON object`},
		{"trailing data", "{\"name\": \"a\", \"version\": \"1\"} {}", `p.json:1:32: trailing data after the policy object`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := filters.ParsePolicy("p.json", []byte(tc.in))
			if err == nil {
				t.Fatalf("ParsePolicy accepted %q", tc.in)
			}
			var pe *filters.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	p := filters.DefaultPolicy()
	if err := p.Validate([]string{"thought_format", "coverage"}); err == nil {
		t.Errorf("Validate accepted a policy requiring judges that are not configured")
	}
	p.Judges["vlm"] = filters.Rule{Required: true, Threshold: f64(math.NaN())}
	if err := p.Validate(nil); err == nil {
		t.Errorf("Validate accepted a NaN threshold")
	}
}

func TestPolicyDecide(t *testing.T) {
	results := []schema.JudgeResult{
		{Name: "thought_format", Score: 1, Pass: true, Reason: "fine"},
		{Name: "coverage", Score: 0.5, Pass: false, Reason: "not in any thought: red apple"},
		{Name: "vlm", Score: 0.72, Pass: true, Reason: "4 of 5 yes"},
		{Name: "extra", Score: 0, Pass: false, Reason: "recorded only"},
	}
	rules := func(kv ...any) map[string]filters.Rule {
		m := map[string]filters.Rule{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(filters.Rule)
		}
		return m
	}
	req := filters.Rule{Required: true, Weight: 1}
	tests := []struct {
		name   string
		policy filters.Policy
		want   schema.Verdict
	}{
		{"all required",
			filters.Policy{Name: "p", Version: "1", Judges: rules("thought_format", req, "coverage", req)},
			schema.Verdict{Status: "rejected", Score: 0.75, Policy: "p@1", Reasons: []string{"coverage: not in any thought: red apple"}}},
		{"coverage recorded only",
			filters.Policy{Name: "p", Version: "1", Judges: rules("thought_format", req, "coverage", filters.Rule{Weight: 1})},
			schema.Verdict{Status: "accepted", Score: 0.75, Policy: "p@1"}},
		{"missing result",
			filters.Policy{Name: "p", Version: "1", Judges: rules("zeta", req, "alpha", req)},
			schema.Verdict{Status: "rejected", Policy: "p@1", Reasons: []string{"alpha: no result", "zeta: no result"}}},
		{"threshold passes a failed judge",
			filters.Policy{Name: "p", Version: "1", Judges: rules("coverage", filters.Rule{Required: true, Threshold: f64(0.5)})},
			schema.Verdict{Status: "accepted", Policy: "p@1"}},
		{"default vlm threshold",
			filters.Policy{Name: "p", Version: "1", Judges: rules("vlm", filters.Rule{Required: true, Threshold: f64(0.6), Weight: 2})},
			schema.Verdict{Status: "accepted", Score: 0.72, Policy: "p@1"}},
		{"stricter vlm threshold re-decides",
			filters.Policy{Name: "p", Version: "2", Judges: rules("vlm", filters.Rule{Required: true, Threshold: f64(0.8), Weight: 2})},
			schema.Verdict{Status: "rejected", Score: 0.72, Policy: "p@2", Reasons: []string{"vlm: score 0.72 < 0.80 (4 of 5 yes)"}}},
		{"threshold close to the score",
			filters.Policy{Name: "p", Version: "1", Judges: rules("vlm", filters.Rule{Required: true, Threshold: f64(0.7201)})},
			schema.Verdict{Status: "rejected", Policy: "p@1", Reasons: []string{"vlm: score 0.7200 < 0.7201 (4 of 5 yes)"}}},
		{"weighted mean and min overall",
			filters.Policy{Name: "p", Version: "1", MinOverall: f64(0.8), Judges: rules(
				"thought_format", filters.Rule{Weight: 1}, "coverage", filters.Rule{Weight: 1}, "vlm", filters.Rule{Weight: 2})},
			schema.Verdict{Status: "rejected", Score: 0.735, Policy: "p@1", Reasons: []string{"overall: score 0.73 < 0.80"}}},
		{"no weights",
			filters.Policy{Name: "p", Version: "1", Judges: rules("thought_format", filters.Rule{Required: true})},
			schema.Verdict{Status: "accepted", Policy: "p@1"}},
		{"empty policy",
			filters.Policy{Name: "none", Version: "0"},
			schema.Verdict{Status: "accepted", Policy: "none@0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.Decide(results)
			if math.Abs(got.Score-tc.want.Score) < 1e-12 {
				got.Score = tc.want.Score
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecideDefaultPolicy(t *testing.T) {
	all := []schema.JudgeResult{
		{Name: "thought_format", Score: 1, Pass: true},
		{Name: "coverage", Score: 1, Pass: true},
		{Name: "reflection_consistency", Score: 1, Pass: true},
		{Name: "canvas_sanity", Score: 1, Pass: true},
		{Name: "vlm", Score: 0.52, Pass: true, Reason: "model says fine"},
		{Name: "dedup_prompt", Score: 0, Pass: false, Reason: "near-duplicate prompt of t0 (jaccard 0.93)"},
		{Name: "dedup_image", Score: 1, Pass: true},
		{Name: "improvement", Score: 0, Pass: false, Reason: "region 2: 80 -> 60 (-20)"},
	}
	got := filters.DefaultPolicy().Decide(all)
	want := schema.Verdict{Status: "rejected", Policy: "default@1", Score: (4 + 2*0.52) / 6, Reasons: []string{
		"dedup_prompt: near-duplicate prompt of t0 (jaccard 0.93)",
		"vlm: score 0.52 < 0.60 (model says fine)",
	}}
	if math.Abs(got.Score-want.Score) < 1e-12 {
		got.Score = want.Score
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decide = %+v, want %+v", got, want)
	}
}

func TestApplyRecordsEveryJudge(t *testing.T) {
	judges := []filters.Judge{filters.NewThoughtFormat(), filters.NewCoverage()}
	tr := withThoughts("a blue bowl", "Part 1: a plain wall.", "A blue bowl rests nearby.", "The ground is even and soft.")
	tr.Judges = []schema.JudgeResult{
		{Name: "vlm", Version: "7", Score: 0.9, Pass: true},
		{Name: "coverage", Version: "0", Score: 0, Pass: false, Reason: "stale"},
	}
	p := filters.Policy{Name: "p", Version: "1", Judges: map[string]filters.Rule{
		"thought_format": {Required: true}, "coverage": {Required: true}, "vlm": {Required: true},
	}}
	if err := filters.Apply(context.Background(), judges, p, tr); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range tr.Judges {
		names = append(names, r.Name+"@"+r.Version)
	}
	if want := []string{"vlm@7", "thought_format@1", "coverage@1"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("judges = %v, want %v", names, want)
	}
	want := []string{`thought_format: region 1 starts with a section label ("Part 1:")`}
	if tr.Verdict.Status != schema.StatusRejected || !reflect.DeepEqual(tr.Verdict.Reasons, want) {
		t.Errorf("verdict = %+v, want rejected with %q", tr.Verdict, want)
	}
	if err := p.Validate([]string{judges[0].Name(), judges[1].Name()}); err == nil {
		t.Errorf("Validate accepted a policy requiring vlm, which is not configured")
	}
}
