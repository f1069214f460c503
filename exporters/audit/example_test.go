package audit_test

import (
	"fmt"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/exporters/audit"
	"github.com/twigdata/twig/schema"
)

// An Analyzer fed three trajectories by hand: the funnel drops the
// rejected one at the judge its verdict names.
func ExampleAnalyzer() {
	an := audit.NewAnalyzer()
	for _, status := range []string{schema.StatusAccepted, schema.StatusAccepted, schema.StatusRejected} {
		r := audit.Row{
			Category: "colour",
			Judges:   []schema.JudgeResult{{Name: "vlm", Version: "1", Score: 0.9, Pass: status == schema.StatusAccepted}},
			Verdict:  schema.Verdict{Status: status, Policy: "default@1"},
		}
		if status == schema.StatusRejected {
			r.Verdict.Reasons = []string{schema.FormatReason("vlm", "score 0.40 < 0.50")}
		}
		an.Add(&r)
	}
	an.AddFailure(schema.StageGenerate)
	a := an.Audit(&exporters.Manifest{Counts: exporters.Counts{Seeded: 4, Accepted: 2, Rejected: 1, Failed: 1}})
	for _, s := range a.Funnel {
		fmt.Printf("%-9s %d\n", s.Name, s.Count)
	}
	fmt.Println("failed by stage:", a.FailedByStage)
	// Output:
	// seeded    4
	// generated 3
	// vlm       2
	// accepted  2
	// failed by stage: map[generate:1]
}
