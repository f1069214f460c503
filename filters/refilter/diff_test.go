package refilter

import (
	"reflect"
	"testing"

	"github.com/twigdata/twig/schema"
)

func TestCompare(t *testing.T) {
	const acc, rej, fail = schema.StatusAccepted, schema.StatusRejected, schema.StatusFailed
	v := func(status string, reasons ...string) Verdict { return Verdict{Status: status, Reasons: reasons} }
	tests := []struct {
		name string
		a, b map[string]Verdict
		want *Diff
	}{
		{
			name: "added removed changed",
			a: map[string]Verdict{
				"s1": v(acc), "s2": v(acc), "s3": v(rej, "vlm: low"), "s4": v(acc),
				"s5": v(fail, "generate: boom"), "s6": v(rej, "coverage: no apple"), "s9": v(rej, "vlm: low"),
			},
			b: map[string]Verdict{
				"s1": v(acc), "s2": v(rej, "vlm: score 0.40 below 0.97", "coverage: no train"), "s3": v(acc), "s5": v(acc),
				"s6": v(rej, "coverage: no pear", "vlm: low"), // same status, other reasons: unchanged
				"s7": v(acc), "s8": v(fail, "generate: boom"), "s9": v(fail, "judge: timeout"),
			},
			want: &Diff{
				Added: []string{"s7", "s8"}, Removed: []string{"s4"},
				Changed: []Change{
					{ID: "s2", From: acc, To: rej, ReasonsTo: []string{"vlm: score 0.40 below 0.97", "coverage: no train"}},
					{ID: "s3", From: rej, To: acc, ReasonsFrom: []string{"vlm: low"}},
					{ID: "s5", From: fail, To: acc, ReasonsFrom: []string{"generate: boom"}},
					{ID: "s9", From: rej, To: fail, ReasonsFrom: []string{"vlm: low"}, ReasonsTo: []string{"judge: timeout"}},
				},
				Unchanged:   2,
				Transitions: map[string]int64{"accepted -> rejected": 1, "rejected -> accepted": 1, "failed -> accepted": 1, "rejected -> failed": 1},
				Because:     map[string]int64{"vlm": 1, "coverage": 1, "no longer vlm": 1, "no longer generate": 1, "judge": 1},
			},
		},
		{
			name: "same verdicts",
			a:    map[string]Verdict{"s1": v(acc), "s2": v(rej, "vlm: low"), "s3": v(fail, "judge: timeout")},
			b:    map[string]Verdict{"s1": v(acc), "s2": v(rej, "vlm: low"), "s3": v(fail, "judge: timeout")},
			want: &Diff{Added: []string{}, Removed: []string{}, Changed: []Change{}, Unchanged: 3, Transitions: map[string]int64{}, Because: map[string]int64{}},
		},
		{
			name: "no id in common",
			a:    map[string]Verdict{"x2": v(rej, "vlm: low"), "x1": v(acc)},
			b:    map[string]Verdict{"y1": v(acc)},
			want: &Diff{Added: []string{"y1"}, Removed: []string{"x1", "x2"}, Changed: []Change{}, Transitions: map[string]int64{}, Because: map[string]int64{}},
		},
		{
			name: "empty",
			want: &Diff{Added: []string{}, Removed: []string{}, Changed: []Change{}, Transitions: map[string]int64{}, Because: map[string]int64{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.a, tt.b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Compare =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
