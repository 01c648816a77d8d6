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
	// The tree is built from escaped text only (see esc).
	"treeSVG": func(a Answer) template.HTML { return template.HTML(treeSVG(a)) },
	"add":     func(a, b int) int { return a + b },
	"axisName": func(a Axis) string {
		return axisName[a]
	},
	"ok":   outcome,
	"join": strings.Join,
}

var page = template.Must(template.New("page").Funcs(funcs).Parse(pageTemplate))

type htmlGroup struct {
	*Group
	Anchor string
	Plots  []htmlPlot
	Level  template.HTML
	// Columns are the runs of the question table, Rows its lines.
	Columns []htmlColumn
	Rows    []htmlRow
	// Details are the drill-downs of the questions that fit the page;
	// Left counts the questions left without one.
	Details []template.HTML
	Left    int
}

type htmlColumn struct{ Label, RunID string }

type htmlRow struct {
	Question
	Link string // anchor of the question's drill-down, if it has one
}

// Limits of the drill-down: the page of a 200-question bench must stay
// quick to open (it was 2.6 MB with every question drilled into).
const (
	maxDetailQuestions = 50        // per group
	maxDetailBytes     = 640 << 10 // per page, shared evenly by the groups
)

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
		if err := hg.drillDown(maxDetailBytes / len(d.Groups)); err != nil {
			return err
		}
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

// drillDown fills the question table and renders the drill-downs that fit
// in budget bytes: the questions the runs disagree on first, as they tell
// strategies apart, then the rest, shown in dataset order.
func (hg *htmlGroup) drillDown(budget int) error {
	qs := hg.Questions
	if len(qs) > 0 {
		for _, a := range qs[0].Answers {
			hg.Columns = append(hg.Columns, htmlColumn{a.Label, a.RunID})
		}
	}
	order := make([]int, 0, len(qs))
	for i, q := range qs {
		if disagree(q) {
			order = append(order, i)
		}
	}
	for i, q := range qs {
		if !disagree(q) {
			order = append(order, i)
		}
	}
	detail := map[int]template.HTML{}
	used := 0
	var b strings.Builder
	for _, i := range order {
		if len(detail) == maxDetailQuestions {
			break
		}
		b.Reset()
		id := fmt.Sprintf("%s-q%d", hg.Anchor, i+1)
		if err := page.ExecuteTemplate(&b, "question", struct {
			ID string
			Q  Question
		}{id, qs[i]}); err != nil {
			return fmt.Errorf("report: html: %w", err)
		}
		if used+b.Len() > budget {
			continue // a smaller question may still fit
		}
		used += b.Len()
		detail[i] = template.HTML(b.String())
	}
	hg.Rows = make([]htmlRow, len(qs))
	for i, q := range qs {
		hg.Rows[i].Question = q
		if h, ok := detail[i]; ok {
			hg.Rows[i].Link = fmt.Sprintf("%s-q%d", hg.Anchor, i+1)
			hg.Details = append(hg.Details, h)
		}
	}
	hg.Left = len(qs) - len(hg.Details)
	return nil
}

// disagree reports whether the runs did not all fare alike on q.
func disagree(q Question) bool {
	first := ""
	for _, a := range q.Answers {
		if a.Seeds == 0 {
			continue
		}
		v := outcome(a)
		if first == "" {
			first = v
		} else if v != first {
			return true
		}
	}
	return false
}

// outcome names how a run fared on a question over its seeds; the page
// styles it.
func outcome(a Answer) string {
	switch {
	case a.Seeds == 0:
		return "none"
	case a.Correct == a.Seeds:
		return "right"
	case a.Correct == 0:
		return "wrong"
	}
	return "mixed"
}
