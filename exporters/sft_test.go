package exporters

import (
	"reflect"
	"testing"

	"github.com/twigdata/twig/schema"
)

func TestSubtasks(t *testing.T) {
	tr := testTrajectory(1, schema.StatusAccepted)
	// Region 2 was repainted: its first attempt was critiqued and replaced.
	r := &tr.Regions[1]
	first := r.Attempts[0]
	first.Decision = schema.DecisionRepaint
	first.Critique.Score = 40
	second := r.Attempts[0]
	second.Index, second.Thought, second.Critiqued, second.Decision = 1, "A better thought.", false, schema.DecisionNotCritiqued
	r.Attempts = []schema.Attempt{first, second}

	tasks := func(ss []schema.Sample) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Task)
		}
		return out
	}
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
	think2, gen2, reflect2 := all[3], all[4], all[5]
	if think2.Target != "A better thought." || !reflect.DeepEqual(think2.Thoughts, []string{tr.Regions[0].Attempts[0].Thought}) || len(think2.Images) != 1 {
		t.Errorf("think_2 = %+v: want the kept thought as target, the first thought as input and the canvas after region 1", think2)
	}
	if !reflect.DeepEqual(gen2.PriorTokens, tr.FinalTokens[:192]) || !reflect.DeepEqual(gen2.TargetTokens, second.Tokens) {
		t.Errorf("gen_2 tokens: prior %d, target %d: want region 1's kept tokens before region 2's", len(gen2.PriorTokens), len(gen2.TargetTokens))
	}
	if reflect2.Attempt != 0 || reflect2.Target != "SCORE: 40\nIMPROVED_DESCRIPTION: "+first.Critique.Revised || reflect2.Messages[1].Content != reflect2.Target {
		t.Errorf("reflect_2 = %+v: want the first attempt's critique in the output format", reflect2)
	}
	if again := Subtasks(&tr, SFTMix{Think: 1, Gen: 1, Reflect: 1}); !reflect.DeepEqual(again, all) {
		t.Errorf("Subtasks is not deterministic")
	}

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
