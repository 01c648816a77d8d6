// Package grid says which runs a bench makes: strategies at budgets, from
// two flag lists or from a YAML file that can also set run-wide values.
package grid

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/pareto-llm/pareto/strategy"
)

// Cell is one run of a grid.
type Cell struct {
	Strategy string
	Options  strategy.Options
}

// File is the YAML form of a grid. Run-wide fields it leaves out keep the
// command's values.
type File struct {
	path        string
	Dataset     string   `yaml:"dataset"`
	Limit       int      `yaml:"limit"`
	Seeds       int      `yaml:"seeds"`
	Seed        *int64   `yaml:"seed"`
	MaxTokens   int      `yaml:"max_tokens"`
	Temperature *float64 `yaml:"temperature"`
	Grid        []Entry  `yaml:"grid"`
}

// Entry is one strategy of a grid file and the budgets to run it at.
type Entry struct {
	Strategy string `yaml:"strategy"`
	// N lists the budgets of a strategy that has one (sample counts).
	N           []int    `yaml:"n"`
	Shots       int      `yaml:"shots"`
	Temperature *float64 `yaml:"temperature"`
	Aggregate   string   `yaml:"aggregate"`
	// The tree searches' options (see strategy.Options).
	Width             int      `yaml:"width"`
	RebaseTemperature *float64 `yaml:"rebase_temperature"`
	Select            string   `yaml:"select"`
	StepTokens        int      `yaml:"step_tokens"`
	MaxDepth          int      `yaml:"max_depth"`
}

// Settings are the run-wide values a grid file may set.
type Settings struct {
	Dataset string
	Limit   int
	Seeds   int
	Seed    int64
	Options strategy.Options // the file may set MaxTokens and Temperature
}

// Load reads a grid file. Unknown fields and malformed values are errors
// that name the file, line and column ("grid.yaml:3:5: ..."), so nothing
// starts on a grid that cannot run.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("grid: %w", err)
	}
	f := &File{path: path}
	if err := yaml.UnmarshalWithOptions(data, f, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("grid %s", position(path, yaml.FormatError(err, false, false)))
	}
	if len(f.Grid) == 0 {
		return nil, fmt.Errorf("grid %s: no entries under \"grid\"", path)
	}
	return f, nil
}

// presets are named grids: the settings of a study, to rerun with one flag.
var presets = map[string]func() *File{
	// The study's REBASE arm (arXiv 2412.16260): sampling temperature 1.0,
	// softmax temperature 0.2, widths 3, 6 and 16, at most 384 new tokens
	// and 96 a step.
	"paper": func() *File {
		t, rt := 1.0, 0.2
		return &File{path: "preset paper", MaxTokens: 384, Temperature: &t, Grid: []Entry{
			{Strategy: "rebase", N: []int{3, 6, 16}, RebaseTemperature: &rt, StepTokens: 96},
		}}
	},
}

// Preset returns the named grid (see Presets), to use as a loaded file.
func Preset(name string) (*File, error) {
	p, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(Presets(), ", "))
	}
	return p(), nil
}

// Presets lists the named grids.
func Presets() []string {
	return slices.Sorted(maps.Keys(presets))
}

// Merge copies into s the run-wide values the file sets, except those
// explicit says the user chose on the command line; explicit is asked by
// flag name (dataset, limit, seeds, seed, max-tokens, temperature).
func (f *File) Merge(s *Settings, explicit func(flag string) bool) {
	if f.Dataset != "" && !explicit("dataset") {
		s.Dataset = f.Dataset
	}
	if f.Limit != 0 && !explicit("limit") {
		s.Limit = f.Limit
	}
	if f.Seeds != 0 && !explicit("seeds") {
		s.Seeds = f.Seeds
	}
	if f.Seed != nil && !explicit("seed") {
		s.Seed = *f.Seed
	}
	if f.MaxTokens != 0 && !explicit("max-tokens") {
		s.Options.MaxTokens = f.MaxTokens
	}
	if f.Temperature != nil && !explicit("temperature") {
		s.Options.Temperature = *f.Temperature
	}
}

// Cells expands the file's entries over their budgets, each starting from
// base. A bad entry is an error naming the file and the entry.
func (f *File) Cells(base strategy.Options) ([]Cell, error) {
	var cells []Cell
	for i, e := range f.Grid {
		o := base
		o.Shots = e.Shots
		if e.Temperature != nil {
			o.Temperature = *e.Temperature
		}
		if e.Aggregate != "" {
			o.Aggregate = e.Aggregate
		}
		if e.RebaseTemperature != nil {
			o.RebaseTemperature = *e.RebaseTemperature
		}
		o.Width = cmp.Or(e.Width, o.Width)
		o.Select = cmp.Or(e.Select, o.Select)
		o.StepTokens = cmp.Or(e.StepTokens, o.StepTokens)
		o.MaxDepth = cmp.Or(e.MaxDepth, o.MaxDepth)
		out, err := expand(e.Strategy, o, e.N)
		if err != nil {
			return nil, fmt.Errorf("grid %s: entry %d: %w", f.path, i+1, err)
		}
		cells = append(cells, out...)
	}
	return cells, nil
}

// FromLists makes a grid of comma-separated strategies, each at every
// budget of a comma-separated list; strategies of fixed cost run once.
func FromLists(strategies, budgets string, base strategy.Options) ([]Cell, error) {
	var ns []int
	for _, b := range strings.Split(budgets, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--budgets: %q is not a positive sample count", b)
		}
		ns = append(ns, n)
	}
	var cells []Cell
	for _, name := range strings.Split(strategies, ",") {
		name = strings.TrimSpace(name)
		spec, err := strategy.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("--strategies: %w", err)
		}
		b := ns
		if spec.Budget == "" {
			b = nil
		}
		out, err := expand(name, base, b)
		if err != nil {
			return nil, fmt.Errorf("--strategies: %w", err)
		}
		cells = append(cells, out...)
	}
	return cells, nil
}

// expand makes one cell per budget of a strategy that has a budget, or the
// one cell of a strategy of fixed cost, checking the options.
func expand(name string, o strategy.Options, budgets []int) ([]Cell, error) {
	spec, err := strategy.Lookup(name)
	if err != nil {
		return nil, err
	}
	if spec.Budget == "" {
		if len(budgets) > 0 {
			return nil, fmt.Errorf("strategy %s takes no %s", name, strategy.OptN)
		}
		if _, err := strategy.New(name, o); err != nil {
			return nil, err
		}
		return []Cell{{name, o}}, nil
	}
	if len(budgets) == 0 {
		return nil, fmt.Errorf("strategy %s needs a list of budgets under %s", name, spec.Budget)
	}
	var cells []Cell
	for _, v := range budgets {
		if v < 1 {
			return nil, fmt.Errorf("%s = %d, want at least 1", spec.Budget, v)
		}
		c := Cell{name, spec.WithBudget(o, v)}
		if _, err := strategy.New(name, c.Options); err != nil {
			return nil, err
		}
		cells = append(cells, c)
	}
	return cells, nil
}

// yamlPos matches the "[line:column] message" form of go-yaml's errors.
var yamlPos = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*`)

// position turns go-yaml's "[3:5] unknown field" into the compiler-style
// "file:3:5: unknown field" that editors jump to.
func position(path, msg string) string {
	msg = strings.TrimSpace(msg)
	if m := yamlPos.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s:%s: %s", path, m[1], m[2], msg[len(m[0]):])
	}
	return path + ": " + msg
}
