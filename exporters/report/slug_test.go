package report

import (
	"testing"

	"github.com/twigdata/twig/schema"
)

func TestSlug(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"uuid", "0f8e5d3a-6c1b-5d2e-9a4f-1b2c3d4e5f60", "0f8e5d3a-6c1b-5d2e-9a4f-1b2c3d4e5f60"},
		{"judge", "clip", "clip"},
		{"category", "3d_spatial", "3d_spatial"},
		{"dotted", "judge.v2", "judge.v2"},
		{"upper case", "Clip", "clip-82337888"},
		{"parent", "..", "__-5ec1f7e7"},
		{"traversal", "../x", "___x-d6b96a97"},
		{"slash", "a/b", "a_b-c14cddc0"},
		{"empty", "", "_-e3b0c442"},
		{"leading dot", ".hidden", "_hidden-16924190"},
		{"unicode", "café", "caf__-850f7dc4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := slug(tc.in); got != tc.want {
				t.Errorf("slug(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFunnel(t *testing.T) {
	traj := func(id, status string, judges []string, reasons ...string) *schema.Trajectory {
		tr := &schema.Trajectory{ID: id, Verdict: schema.Verdict{Status: status, Reasons: reasons}}
		for _, j := range judges {
			tr.Judges = append(tr.Judges, schema.JudgeResult{Name: j})
		}
		return tr
	}
	ab := []string{"a", "b"}
	tests := []struct {
		name  string
		rows  []*schema.Trajectory
		order []string
		want  []int64
	}{
		{"none rejected", []*schema.Trajectory{traj("1", "accepted", ab), traj("2", "accepted", ab)}, ab, []int64{2, 2}},
		{"one per judge", []*schema.Trajectory{
			traj("1", "accepted", ab), traj("2", "rejected", ab, "a: x"), traj("3", "rejected", ab, "b: y"),
		}, ab, []int64{2, 1}},
		{"both count at the first", []*schema.Trajectory{
			traj("1", "rejected", ab, "b: y", "a: x"), traj("2", "accepted", ab),
		}, ab, []int64{1, 1}},
		{"reason of a judge without results", []*schema.Trajectory{
			traj("1", "rejected", ab, "policy: no result"), traj("2", "accepted", ab),
		}, []string{"a", "b", "policy"}, []int64{2, 2, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAggregate()
			for _, r := range tc.rows {
				a.add(r)
			}
			var order []string
			for _, j := range a.judgeOrder() {
				order = append(order, j.Name)
			}
			if got := a.funnel(); !equal(got, tc.want) || !equal(order, tc.order) {
				t.Errorf("funnel %v over %v, want %v over %v", got, order, tc.want, tc.order)
			}
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
