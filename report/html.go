package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed page.html.tmpl
var pageTemplate string

var funcs = template.FuncMap{
	"pct":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"flops": formatFLOPs,
	"tflops": func(v float64) string {
		return fmt.Sprintf("%.4g", v/1e12)
	},
	"g3":   func(v float64) string { return fmt.Sprintf("%.3g", v) },
	"secs": func(v float64) string { return fmt.Sprintf("%.3g s", v) },
	"usd":  func(v float64) string { return fmt.Sprintf("$%.3g", v) },
	"cost": formatCost,
	"raw":  func(v float64) string { return fmt.Sprintf("%g", v) },
	"score": func(p *float64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf("%.3f", *p)
	},
	"lvl": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f", *p)
	},
	"lvlraw": func(p *float64) string {
		if p == nil {
			return "-1"
		}
		return fmt.Sprintf("%g", *p)
	},
	"indent": func(depth int) template.CSS {
		return template.CSS(fmt.Sprintf("margin-left:%.1fem", 1.2*float64(depth)))
	},
	"axisName": func(a Axis) string {
		return axisName[a]
	},
	"ok": func(a Answer) string {
		switch {
		case a.Seeds == 0:
			return "none"
		case a.Correct == a.Seeds:
			return "right"
		case a.Correct == 0:
			return "wrong"
		}
		return "mixed"
	},
	"join": strings.Join,
}

var page = template.Must(template.New("page").Funcs(funcs).Parse(pageTemplate))

type htmlGroup struct {
	*Group
	Anchor string
	Plots  []htmlPlot
	Level  template.HTML
}

type htmlPlot struct {
	Axis      Axis
	SVG       template.HTML
	Dominated []Dominance
}

// HTML writes the report as one self-contained page: inline CSS, SVG and a
// few lines of script, nothing fetched at view time.
func (d *Data) HTML(w io.Writer) error {
	view := struct {
		*Data
		Runs   int
		Views  []htmlGroup
		Budget []string
	}{Data: d, Runs: len(d.Table)}
	for i, g := range d.Groups {
		hg := htmlGroup{Group: g, Anchor: fmt.Sprintf("g%d", i+1)}
		for _, f := range g.Frontiers {
			// The SVG is built from escaped text only (see esc), so it is
			// safe to mark as HTML.
			hg.Plots = append(hg.Plots, htmlPlot{Axis: f.Axis, SVG: template.HTML(costPlot(g, f)), Dominated: f.Dominated})
		}
		hg.Level = template.HTML(levelPlot(g))
		view.Views = append(view.Views, hg)
	}
	if d.Budget.FLOPs > 0 {
		view.Budget = append(view.Budget, formatCost(AxisFLOPs, d.Budget.FLOPs))
	}
	if d.Budget.LatencyS > 0 {
		view.Budget = append(view.Budget, formatCost(AxisLatency, d.Budget.LatencyS))
	}
	if d.Budget.USD > 0 {
		view.Budget = append(view.Budget, formatCost(AxisUSD, d.Budget.USD))
	}
	if err := page.Execute(w, view); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}
