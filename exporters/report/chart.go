package report

import (
	"fmt"
	"strconv"
)

// chart is a horizontal bar chart, laid out for the "chart" template: one
// bar per row, each bar a stack of segments, a label on the left and the
// total on the right.
type chart struct {
	Title         string
	Width, Height int
	LabelX        int
	Bars          []chartBar
	Legend        []chartSeg
}

type chartBar struct {
	Label   string
	LabelY  int
	Y, H    int
	Segs    []chartSeg
	Value   string
	ValueX  string
	Tooltip string
}

type chartSeg struct {
	X, W  string
	Class string
	Name  string
	// LegendX and LegendY place the segment's legend entry.
	LegendX, LegendY int
}

// part is one segment of a bar before layout.
type part struct {
	Value int64
	Class string // bar, acc or rej: the CSS class that colours it
	Name  string
}

// bar is one bar before layout.
type bar struct {
	Label string
	Parts []part
}

// Geometry of a chart, in pixels.
const (
	chartWidth  = 640
	chartLabelW = 170
	chartValueW = 70
	chartBarH   = 18
	chartGap    = 6
	chartTop    = 4
	chartLegend = 22
)

// newChart lays bars out; legend lists the segment kinds when a bar has
// more than one.
func newChart(title string, bars []bar, legend []part) chart {
	c := chart{Title: title, Width: chartWidth, LabelX: chartLabelW - 8}
	var top int64
	for _, b := range bars {
		var sum int64
		for _, p := range b.Parts {
			sum += p.Value
		}
		top = max(top, sum)
	}
	plotW := float64(chartWidth - chartLabelW - chartValueW)
	y := chartTop
	if len(legend) > 0 {
		x := chartLabelW
		for _, p := range legend {
			c.Legend = append(c.Legend, chartSeg{Class: p.Class, Name: p.Name, LegendX: x, LegendY: y})
			x += 110
		}
		y += chartLegend
	}
	for _, b := range bars {
		cb := chartBar{Label: truncate(b.Label, 26), Y: y, H: chartBarH, LabelY: y + chartBarH - 5}
		x := float64(chartLabelW)
		var sum int64
		for _, p := range b.Parts {
			sum += p.Value
			if p.Value == 0 || top == 0 {
				continue
			}
			w := plotW * float64(p.Value) / float64(top)
			cb.Segs = append(cb.Segs, chartSeg{X: px(x), W: px(w), Class: p.Class, Name: fmt.Sprintf("%s: %d", p.Name, p.Value)})
			x += w
		}
		cb.Value = strconv.FormatInt(sum, 10)
		cb.ValueX = px(x + 6)
		cb.Tooltip = b.Label + ": " + cb.Value
		c.Bars = append(c.Bars, cb)
		y += chartBarH + chartGap
	}
	c.Height = y + chartTop
	return c
}

// px formats a coordinate with one decimal, for stable output.
func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
