package filters

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Rule is a policy's rule for one judge.
type Rule struct {
	// Required says whether the judge must pass (and must have a result)
	// for a trajectory to be accepted. A judge that is not required is
	// recorded only.
	Required bool `json:"required"`
	// Threshold, when set, re-decides pass from the score: pass iff
	// Score >= *Threshold. When nil, the judge's own Pass decides.
	Threshold *float64 `json:"threshold,omitempty"`
	// Weight is the judge's weight in the overall score; 0 leaves the judge
	// out of it.
	Weight float64 `json:"weight,omitempty"`
}

// Policy decides verdicts from judge results. It is plain data: JSON files
// hold policies (see [ParsePolicy]) and a dataset version records the one
// that decided it (Verdict.Policy is Name@Version).
type Policy struct {
	// Name and Version identify the policy; bump Version whenever a rule
	// changes.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Judges holds the rule for each judge, by judge name. Results of
	// judges not listed are recorded only.
	Judges map[string]Rule `json:"judges"`
	// MinOverall, when set, rejects a trajectory whose overall score (the
	// weighted mean, see [Policy.Decide]) is below it.
	MinOverall *float64 `json:"min_overall,omitempty"`
}

// DefaultPolicy returns the built-in policy "default@1". It requires
// thought_format, coverage, reflection_consistency, canvas_sanity, vlm
// (pass iff its score >= 0.6), dedup_prompt and dedup_image, and records
// improvement only. The overall score weighs vlm 2 and the other quality
// judges 1; the dedup judges (0 or 1, not a quality measure) and
// improvement have weight 0. It sets no minimum overall score.
func DefaultPolicy() Policy {
	return Policy{
		Name:    "default",
		Version: "1",
		Judges: map[string]Rule{
			JudgeThoughtFormat: {Required: true, Weight: 1},
			JudgeCoverage:      {Required: true, Weight: 1},
			JudgeReflection:    {Required: true, Weight: 1},
			JudgeCanvas:        {Required: true, Weight: 1},
			JudgeVLM:           {Required: true, Threshold: ptr(0.6), Weight: 2},
			JudgeDedupPrompt:   {Required: true},
			JudgeDedupImage:    {Required: true},
			JudgeImprovement:   {},
		},
	}
}

func ptr(f float64) *float64 { return &f }

// String returns a short form of the policy, such as
// "default@1 require=coverage,vlm>=0.6 record=improvement".
func (p Policy) String() string {
	var req, rec []string
	for _, name := range p.names() {
		r := p.Judges[name]
		s := name
		if r.Threshold != nil {
			s += ">=" + strconv.FormatFloat(*r.Threshold, 'g', -1, 64)
		}
		if r.Required {
			req = append(req, s)
		} else {
			rec = append(rec, s)
		}
	}
	out := p.Name + "@" + p.Version
	if len(req) > 0 {
		out += " require=" + strings.Join(req, ",")
	}
	if len(rec) > 0 {
		out += " record=" + strings.Join(rec, ",")
	}
	if p.MinOverall != nil {
		out += " min_overall=" + strconv.FormatFloat(*p.MinOverall, 'g', -1, 64)
	}
	return out
}

// names returns the configured judge names, sorted.
func (p Policy) names() []string {
	names := make([]string, 0, len(p.Judges))
	for n := range p.Judges {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Validate checks that the policy's values are possible and that every
// required judge is one of judges (the names of the judges that will run,
// including those run by other stages, such as "vlm" or the dedup judges).
func (p Policy) Validate(judges []string) error {
	if _, err := p.check(); err != nil {
		return fmt.Errorf("policy %s@%s: %w", p.Name, p.Version, err)
	}
	for _, name := range p.names() {
		if p.Judges[name].Required && !slices.Contains(judges, name) {
			return fmt.Errorf("policy %s@%s: required judge %q is not configured", p.Name, p.Version, name)
		}
	}
	return nil
}

// check returns the JSON path and the problem of the first impossible
// value, in sorted judge order; path is "" when all is well.
func (p Policy) check() (path string, err error) {
	if p.Name == "" {
		return "name", errors.New("name: missing or empty")
	}
	if p.Version == "" {
		return "version", errors.New("version: missing or empty")
	}
	if p.MinOverall != nil && !unit(*p.MinOverall) {
		return "min_overall", fmt.Errorf("min_overall: %v is outside [0, 1]", *p.MinOverall)
	}
	for _, name := range p.names() {
		r := p.Judges[name]
		path := "judges." + name
		switch {
		case strings.TrimSpace(name) == "":
			return path, fmt.Errorf("judges: empty judge name %q", name)
		case r.Threshold != nil && !unit(*r.Threshold):
			return path + ".threshold", fmt.Errorf("%s.threshold: %v is outside [0, 1]", path, *r.Threshold)
		case r.Weight < 0 || math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0):
			return path + ".weight", fmt.Errorf("%s.weight: %v is not a finite number >= 0", path, r.Weight)
		}
	}
	return "", nil
}

// unit reports whether f is in [0, 1] (NaN is not).
func unit(f float64) bool { return f >= 0 && f <= 1 }

// Decide returns the verdict for a set of judge results. For each judge
// of the policy, in name order:
//
//   - pass is recomputed from the score when the rule has a Threshold
//     (Score >= Threshold), and is the judge's own Pass otherwise;
//   - a required judge that failed adds the reason "name: reason", or
//     "name: score 0.52 < 0.60 (reason)" when its threshold decided;
//   - a required judge with no result adds "name: no result".
//
// Results of judges the policy does not list are recorded only. When a
// judge has several results, the last one counts. Verdict.Score is the
// weighted mean of the scores of the judges with Weight > 0 that have a
// result (0 when there are none; a non-finite score counts as 0). When
// MinOverall is set and the overall score is below it, the reason
// "overall: score X < Y" is added last. The verdict is rejected iff there
// is a reason; Verdict.Policy is Name@Version.
func (p Policy) Decide(results []schema.JudgeResult) schema.Verdict {
	v := schema.Verdict{Status: schema.StatusAccepted, Policy: p.Name + "@" + p.Version}
	var sum, weights float64
	for _, name := range p.names() {
		rule := p.Judges[name]
		i := lastIndex(results, name)
		if i < 0 {
			if rule.Required {
				v.Reasons = append(v.Reasons, schema.FormatReason(name, "no result"))
			}
			continue
		}
		r := results[i]
		score := r.Score
		if math.IsNaN(score) || math.IsInf(score, 0) {
			score = 0
		}
		if rule.Weight > 0 {
			sum += rule.Weight * score
			weights += rule.Weight
		}
		if !rule.Required {
			continue
		}
		switch {
		case rule.Threshold != nil && !(r.Score >= *rule.Threshold):
			why := "score " + below(r.Score, *rule.Threshold)
			if r.Reason != "" {
				why += " (" + r.Reason + ")"
			}
			v.Reasons = append(v.Reasons, schema.FormatReason(name, why))
		case rule.Threshold == nil && !r.Pass:
			v.Reasons = append(v.Reasons, schema.FormatReason(name, r.Reason))
		}
	}
	if weights > 0 {
		v.Score = sum / weights
	}
	if p.MinOverall != nil && v.Score < *p.MinOverall {
		v.Reasons = append(v.Reasons, schema.FormatReason(Overall, "score "+below(v.Score, *p.MinOverall)))
	}
	if len(v.Reasons) > 0 {
		v.Status = schema.StatusRejected
	}
	return v
}

// below formats "score < threshold" with two decimals, or more when two
// would print the same number on both sides.
func below(score, threshold float64) string {
	for prec := 2; ; prec++ {
		s := strconv.FormatFloat(score, 'f', prec, 64)
		t := strconv.FormatFloat(threshold, 'f', prec, 64)
		if s != t || prec >= 17 {
			return s + " < " + t
		}
	}
}

func lastIndex(results []schema.JudgeResult, name string) int {
	for i := len(results) - 1; i >= 0; i-- {
		if results[i].Name == name {
			return i
		}
	}
	return -1
}

// ParseError is an error in a policy file, at a position.
type ParseError struct {
	File   string
	Line   int // 1-based
	Column int // 1-based, in bytes
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// LoadPolicy reads and parses the policy file at path (see [ParsePolicy]).
func LoadPolicy(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("load policy: %w", err)
	}
	return ParsePolicy(path, data)
}

// ParsePolicy parses a policy from JSON; name is the file name used in
// errors. The JSON is one object with the fields of [Policy] (and of [Rule]
// for each judge); unknown keys, trailing data and impossible values (a
// threshold or min_overall outside [0, 1], a negative weight, an empty
// judge, policy name or version) are rejected. Errors are [*ParseError]s
// saying "file:line:col: what is wrong".
func ParsePolicy(name string, data []byte) (Policy, error) {
	keys, err := scanKeys(data)
	if err != nil {
		return Policy{}, err.(*posError).at(name, data)
	}
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		off := dec.InputOffset()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			// te.Field leaves out map keys ("judges.threshold"): name the
			// last key before the offending value instead.
			path, at := te.Field, te.Offset
			best := int64(-1)
			for k, o := range keys {
				if o < te.Offset && (o > best || o == best && k < path) {
					path, at, best = k, o, o
				}
			}
			off = at
			err = fmt.Errorf("%s: cannot use JSON %s as %s", path, te.Value, te.Type)
		}
		return Policy{}, (&posError{off, err}).at(name, data)
	}
	if p.Judges == nil {
		p.Judges = map[string]Rule{}
	}
	if path, err := p.check(); err != nil {
		off, ok := keys[path]
		if !ok {
			off = 0
		}
		return Policy{}, (&posError{off, err}).at(name, data)
	}
	return p, nil
}

// posError is an error at a byte offset of the input.
type posError struct {
	off int64
	err error
}

func (e *posError) Error() string { return e.err.Error() }

func (e *posError) at(file string, data []byte) error {
	line, col := position(data, e.off)
	return &ParseError{File: file, Line: line, Column: col, Err: e.err}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// policyKeys and ruleKeys are the keys a policy file may use.
var (
	policyKeys = []string{"name", "version", "judges", "min_overall"}
	ruleKeys   = []string{"required", "threshold", "weight"}
)

// scanKeys walks the JSON, rejecting syntax errors, unknown keys and
// trailing data, and returns the offset of every key by its path
// ("judges.vlm.threshold").
func scanKeys(data []byte) (map[string]int64, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	keys := map[string]int64{}
	fail := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &posError{se.Offset, err}
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return &posError{int64(len(data)), errors.New("unexpected end of input")}
		}
		return &posError{dec.InputOffset(), err}
	}
	// object reads the members of an object whose '{' was just read; known
	// lists its keys (nil: any key), and sub is called for each value.
	var object func(path string, known []string, sub func(path, key string) error) error
	skip := func() error {
		var v json.RawMessage
		return dec.Decode(&v)
	}
	object = func(path string, known []string, sub func(path, key string) error) error {
		for dec.More() {
			off := dec.InputOffset()
			tok, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			key := tok.(string)
			// InputOffset before the token is at the preceding ',' or '{';
			// point at the key itself.
			off += int64(bytes.IndexByte(data[off:], '"'))
			full := key
			if path != "" {
				full = path + "." + key
			}
			if known != nil && !slices.Contains(known, key) {
				return &posError{off, fmt.Errorf("unknown key %q (want one of %s)", full, strings.Join(known, ", "))}
			}
			keys[full] = off
			if err := sub(full, key); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return fail(err)
		}
		return nil
	}
	openObject := func(path string) (bool, error) {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return false, fail(err)
		}
		if d, ok := tok.(json.Delim); ok && d == '{' {
			return true, nil
		}
		if tok == nil {
			return false, nil // null: the decoder leaves the value empty
		}
		off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n:")))
		if path == "" {
			return false, &posError{off, errors.New("want a JSON object")}
		}
		return false, &posError{off, fmt.Errorf("%s: want an object", path)}
	}
	isObj, err := openObject("")
	if err != nil {
		return nil, err
	}
	if !isObj {
		return nil, &posError{0, errors.New("want a JSON object")}
	}
	err = object("", policyKeys, func(path, key string) error {
		if key != "judges" {
			return skip()
		}
		isObj, err := openObject(path)
		if err != nil || !isObj {
			return err
		}
		return object(path, nil, func(path, _ string) error {
			isObj, err := openObject(path)
			if err != nil || !isObj {
				return err
			}
			return object(path, ruleKeys, func(string, string) error { return skip() })
		})
	})
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n")))
		return nil, &posError{off, errors.New("trailing data after the policy object")}
	}
	return keys, nil
}
