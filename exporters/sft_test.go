package exporters

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twigdata/twig/schema"
)

// janusWrapper is the prompt wrapper Janus-Pro's generation mode reports.
const janusWrapper = "User: {prefix}\n\nAssistant:<begin_of_image>"

// repaintedTrajectory returns a test trajectory on the interleaved route
// whose region 2 was repainted: its first attempt scored 40 and the
// critic's revision was painted instead.
func repaintedTrajectory(n int) schema.Trajectory {
	tr := testTrajectory(n, schema.StatusAccepted)
	tr.Provenance.Route, tr.Provenance.PromptWrapper = routeInterleaved, janusWrapper
	r := &tr.Regions[1]
	first := r.Attempts[0]
	first.Decision = schema.DecisionRepaint
	first.Critique.Score = score(40)
	first.Critique.Revised = "A better thought."
	second := first
	second.Index, second.Thought, second.Critiqued, second.Decision = 1, "A better thought.", false, schema.DecisionNotCritiqued
	second.Critique = schema.Critique{}
	second.Prefix = tr.Regions[0].Thought.Text + " A better thought."
	second.Tokens = slices.Clone(first.Tokens)
	for i := range second.Tokens {
		second.Tokens[i] = (second.Tokens[i] + 1) % 16384
	}
	copy(tr.FinalTokens[192:384], second.Tokens)
	r.Attempts = []schema.Attempt{first, second}
	r.Status = "repainted"
	return tr
}

func tasks(ss []schema.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Task)
	}
	return out
}

func byTask(ss []schema.Sample) map[string]schema.Sample {
	m := map[string]schema.Sample{}
	for _, s := range ss {
		m[s.Task] = s
	}
	return m
}

func TestSubtasks(t *testing.T) {
	tr := repaintedTrajectory(1)
	tests := []struct {
		name string
		mix  SFTMix
		want []string
	}{
		{"default: think and gen", DefaultSFTMix(), []string{"think_1", "gen_1", "think_2", "gen_2", "think_3", "gen_3"}},
		{"all kinds", SFTMix{Think: 1, Gen: 1, Reflect: 1}, []string{"think_1", "gen_1", "reflect_1", "think_2", "gen_2", "reflect_2", "think_3", "gen_3", "reflect_3"}},
		{"reflect only", SFTMix{Reflect: 1}, []string{"reflect_1", "reflect_2", "reflect_3"}},
		{"nothing", SFTMix{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tasks(Subtasks(&tr, tc.mix)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tasks = %v, want %v", got, tc.want)
			}
		})
	}

	all := Subtasks(&tr, SFTMix{Think: 1, Gen: 1, Reflect: 1})
	s := byTask(all)
	first, second := tr.Regions[1].Attempts[0], tr.Regions[1].Attempts[1]
	if got := tr.Regions[2].Attempts[0].Thought; tr.Regions[2].Thought.Text != got {
		t.Fatalf("test trajectory: region 3's thought %q differs from its attempt's %q", tr.Regions[2].Thought.Text, got)
	}
	if again := Subtasks(&tr, SFTMix{Think: 1, Gen: 1, Reflect: 1}); !reflect.DeepEqual(again, all) {
		t.Errorf("Subtasks is not deterministic")
	}
	if gen2, reflect2 := s["gen_2"], s["reflect_2"]; !reflect.DeepEqual(gen2.PriorTokens, tr.FinalTokens[:192]) || !reflect.DeepEqual(gen2.TargetTokens, second.Tokens) {
		t.Errorf("gen_2 tokens: prior %d, target %d: want region 1's kept tokens before the repaint's", len(gen2.PriorTokens), len(gen2.TargetTokens))
	} else if reflect2.Attempt != 0 || reflect2.Target != "SCORE: 40\nIMPROVED_DESCRIPTION: A better thought." || reflect2.Messages[1].Content != reflect2.Target {
		t.Errorf("reflect_2 = %+v: want the first attempt's critique in the output format", reflect2)
	}

	// think_k learns the thinker's own thought; the thoughts it is shown are
	// the ones the loop kept, the critic's revision for a repainted region.
	thinks := []struct {
		task     string
		target   string
		thoughts []string
		images   int
	}{
		{"think_1", tr.Regions[0].Thought.Text, []string{}, 0},
		{"think_2", tr.Regions[1].Thought.Text, []string{tr.Regions[0].Thought.Text}, 1},
		{"think_3", tr.Regions[2].Thought.Text, []string{tr.Regions[0].Thought.Text, "A better thought."}, 1},
	}
	for _, w := range thinks {
		got := s[w.task]
		if got.Target != w.target || got.Messages[1].Content != w.target || got.Attempt != 0 ||
			!reflect.DeepEqual(got.Thoughts, w.thoughts) || len(got.Images) != w.images {
			t.Errorf("%s: target %q, thoughts %q, %d images, attempt %d; want target %q, thoughts %q, %d images, attempt 0",
				w.task, got.Target, got.Thoughts, len(got.Images), got.Attempt, w.target, w.thoughts, w.images)
		}
	}
	if got, want := s["think_3"].Images[0].Path, second.Canvas.Path; got != want {
		t.Errorf("think_3 shows canvas %s, want the repaint's %s", got, want)
	}
	for _, x := range all {
		if x.Kind == "think" && x.Target == first.Critique.Revised {
			t.Errorf("%s learns the critic's revision %q", x.Task, x.Target)
		}
	}
}

// TestSubtasksGenMessages checks that a gen_k sample carries everything the
// generator conditioned on, in a form that splits back unambiguously.
func TestSubtasksGenMessages(t *testing.T) {
	tests := []struct {
		name    string
		wrapper string
		// prefix replaces region 2's prefix when not empty.
		prefix string
		want   func(prefix string) string
	}{
		{"janus wrapper", janusWrapper, "", func(p string) string { return "User: " + p + "\n\nAssistant:<begin_of_image>" }},
		{"no wrapper recorded", "", "", func(p string) string { return p }},
		{"prefix holding the marker", janusWrapper, "a sign reading <image_tokens> 7 8",
			func(p string) string { return "User: " + p + "\n\nAssistant:<begin_of_image>" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := repaintedTrajectory(2)
			tr.Provenance.PromptWrapper = tc.wrapper
			if tc.prefix != "" {
				tr.Regions[1].Attempts[1].Prefix = tc.prefix
			}
			gens := 0
			for _, s := range Subtasks(&tr, DefaultSFTMix()) {
				if s.Kind != "gen" {
					continue
				}
				gens++
				r := tr.Regions[s.Region-1]
				last := r.Attempts[len(r.Attempts)-1]
				span := tr.Schedule.Spans[s.Region-1]
				if want := tc.want(last.Prefix); s.Conditioning != want || s.Prefix != last.Prefix {
					t.Errorf("%s: conditioning %q, prefix %q; want %q, %q", s.Task, s.Conditioning, s.Prefix, want, last.Prefix)
				}
				if s.Attempt != last.Index || !slices.Equal(s.PriorTokens, tr.FinalTokens[:span.Start]) || !slices.Equal(s.TargetTokens, last.Tokens) {
					t.Errorf("%s: attempt %d, %d prior and %d target tokens; want attempt %d, %d and %d", s.Task,
						s.Attempt, len(s.PriorTokens), len(s.TargetTokens), last.Index, span.Start, len(last.Tokens))
				}
				cond, prior, target, err := splitGen(s.Messages)
				if err != nil {
					t.Fatalf("%s: %v", s.Task, err)
				}
				if cond != s.Conditioning || !slices.Equal(prior, s.PriorTokens) || !slices.Equal(target, s.TargetTokens) {
					t.Errorf("%s: messages give conditioning %q, %d prior, %d target tokens; want %q, %d, %d", s.Task,
						cond, len(prior), len(target), s.Conditioning, len(s.PriorTokens), len(s.TargetTokens))
				}
			}
			if gens != 3 {
				t.Errorf("%d gen samples, want 3", gens)
			}
		})
	}
}

// splitGen reads a gen sample's messages back as documented on
// schema.Sample: the user turn is the conditioning text, then the prior
// tokens after its last "<image_tokens>"; the assistant turn the target.
func splitGen(msgs []schema.Message) (cond string, prior, target []int32, err error) {
	if len(msgs) != 2 || msgs[0].Role != "user" || msgs[1].Role != "assistant" {
		return "", nil, nil, fmt.Errorf("messages %+v: want a user and an assistant turn", msgs)
	}
	i := strings.LastIndex(msgs[0].Content, imageTokens)
	if i < 0 || !strings.HasPrefix(msgs[1].Content, imageTokens) {
		return "", nil, nil, fmt.Errorf("messages %+v: no %s", msgs, imageTokens)
	}
	ints := func(s string) ([]int32, error) {
		var out []int32
		for _, f := range strings.Fields(s) {
			v, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				return nil, err
			}
			out = append(out, int32(v))
		}
		return out, nil
	}
	if prior, err = ints(msgs[0].Content[i+len(imageTokens):]); err != nil {
		return "", nil, nil, err
	}
	if target, err = ints(msgs[1].Content[len(imageTokens):]); err != nil {
		return "", nil, nil, err
	}
	return msgs[0].Content[:i], prior, target, nil
}

// TestSubtasksTeacherImageFilter: on the teacher-image route a band that
// its critique does not accept gives no gen_k sample; its think and
// reflect samples stay. Interleaved trajectories keep every gen_k sample.
func TestSubtasksTeacherImageFilter(t *testing.T) {
	type band struct {
		score      *int32
		parse      string
		threshold  int32
		comparator string
	}
	ok := func(s, th int32, cmp string) band { return band{score(s), schema.ParseOK, th, cmp} }
	tests := []struct {
		name  string
		route string
		bands [3]band
		gens  []string
	}{
		{"teacher-image, all accepted", routeTeacherImage,
			[3]band{ok(95, 90, ">="), ok(90, 90, ">="), ok(100, 90, ">")}, []string{"gen_1", "gen_2", "gen_3"}},
		{"teacher-image, below threshold", routeTeacherImage,
			[3]band{ok(89, 90, ">="), ok(90, 90, ">"), ok(91, 90, ">")}, []string{"gen_3"}},
		{"teacher-image, unparsed critiques", routeTeacherImage,
			[3]band{{nil, schema.ParseMissingScore, 90, ">="}, ok(95, 90, ">="), {score(95), schema.ParseMissingRevised, 90, ">="}}, []string{"gen_2"}},
		{"teacher-image, empty comparator is >=", routeTeacherImage,
			[3]band{ok(90, 90, ""), ok(89, 90, ""), ok(0, 0, "")}, []string{"gen_1", "gen_3"}},
		{"interleaved keeps every band", routeInterleaved,
			[3]band{ok(10, 90, ">="), {nil, schema.ParseBadScore, 90, ">="}, ok(90, 90, ">")}, []string{"gen_1", "gen_2", "gen_3"}},
		{"no route recorded is interleaved", "",
			[3]band{ok(10, 90, ">="), {nil, schema.ParseBadScore, 90, ">="}, ok(90, 90, ">")}, []string{"gen_1", "gen_2", "gen_3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTrajectory(3, schema.StatusAccepted)
			tr.Provenance.Route, tr.Provenance.PromptWrapper = tc.route, janusWrapper
			for k, b := range tc.bands {
				a := &tr.Regions[k].Attempts[0]
				a.Critique.Score, a.Critique.Parse, a.Critique.Threshold, a.Critique.Comparator = b.score, b.parse, b.threshold, b.comparator
				a.Decision = schema.DecisionKeepLimit
			}
			all := Subtasks(&tr, SFTMix{Think: 1, Gen: 1, Reflect: 1})
			var gens, thinks []string
			for _, s := range all {
				switch s.Kind {
				case "gen":
					gens = append(gens, s.Task)
				case "think":
					thinks = append(thinks, s.Task)
				}
			}
			if !slices.Equal(gens, tc.gens) {
				t.Errorf("gen samples %v, want %v", gens, tc.gens)
			}
			if want := []string{"think_1", "think_2", "think_3"}; !slices.Equal(thinks, want) {
				t.Errorf("think samples %v, want %v", thinks, want)
			}
		})
	}
}

func TestSubtasksShare(t *testing.T) {
	// Shares keep a deterministic fraction of samples.
	kept := 0
	for i := range 400 {
		x := testTrajectory(i, schema.StatusAccepted)
		kept += len(Subtasks(&x, SFTMix{Think: 0.5}))
	}
	if kept < 500 || kept > 700 {
		t.Errorf("a think share of 0.5 kept %d of 1200 think samples", kept)
	}
}

// TestThinkSampleInput: a think_k sample shows the instruction that goes
// with the canvas it carries: SampleInput when the trajectory recorded one
// (the teacher-image route), else the instruction the thinker saw.
func TestThinkSampleInput(t *testing.T) {
	tr := testTrajectory(3, schema.StatusAccepted)
	tr.Regions[1].Thought.Input = "describe band 2"
	tr.Regions[2].Thought.Input = "describe band 3"
	tr.Regions[2].Thought.SampleInput = "describe band 3; the canvas is attached"
	got := byTask(Subtasks(&tr, SFTMix{Think: 1}))
	for task, want := range map[string]string{
		"think_2": "<image>\ndescribe band 2",
		"think_3": "<image>\ndescribe band 3; the canvas is attached",
	} {
		if s := got[task]; len(s.Messages) != 2 || s.Messages[0].Content != want || len(s.Images) != 1 {
			t.Errorf("%s: messages %+v, %d images; want user %q and one image", task, s.Messages, len(s.Images), want)
		}
	}
}
