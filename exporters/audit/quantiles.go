package audit

import (
	"math"
	"slices"
)

// Quantiles summarise a sample of scores (nearest rank).
type Quantiles struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	P10  float64 `json:"p10"`
	P25  float64 `json:"p25"`
	P50  float64 `json:"p50"`
	P75  float64 `json:"p75"`
	P90  float64 `json:"p90"`
	Max  float64 `json:"max"`
}

// quantiles returns the quantiles of xs, leaving NaNs out: the value at
// rank ceil(p*n) in sorted order, and the mean summed in sorted order, so
// that the order the rows came in does not change a digit. xs is not
// changed.
func quantiles(xs []float64) Quantiles {
	xs = slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(xs) == 0 {
		return Quantiles{}
	}
	slices.Sort(xs)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return Quantiles{
		N: len(xs), Mean: sum / float64(len(xs)),
		Min: xs[0], P10: at(0.10), P25: at(0.25), P50: at(0.50), P75: at(0.75), P90: at(0.90), Max: xs[len(xs)-1],
	}
}
