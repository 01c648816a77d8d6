package grid

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/strategy"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "grid.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileCellsAndMerge(t *testing.T) {
	f, err := Load(write(t, `dataset: synth
limit: 5
seed: 3
max_tokens: 64
grid:
  - strategy: greedy
  - strategy: self-consistency
    n: [2, 4]
    temperature: 0.5
  - strategy: weighted-vote
    n: [3]
    aggregate: prod
`))
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Dataset: "gsm8k", Limit: 9, Seeds: 1, Seed: 42, Options: strategy.Options{MaxTokens: 384, Temperature: 0.7}}
	// The user gave --limit: the file's limit must not win.
	f.Merge(&s, func(flag string) bool { return flag == "limit" })
	if s.Dataset != "synth" || s.Limit != 9 || s.Seed != 3 || s.Seeds != 1 || s.Options.MaxTokens != 64 || s.Options.Temperature != 0.7 {
		t.Fatalf("merged settings %+v", s)
	}
	cells, err := f.Cells(s.Options)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		n    int
		temp float64
		agg  string
	}{{"greedy", 0, 0.7, ""}, {"self-consistency", 2, 0.5, ""}, {"self-consistency", 4, 0.5, ""}, {"weighted-vote", 3, 0.7, "prod"}}
	if len(cells) != len(want) {
		t.Fatalf("%d cells, want %d: %+v", len(cells), len(want), cells)
	}
	for i, w := range want {
		c := cells[i]
		if c.Strategy != w.name || c.Options.N != w.n || c.Options.Temperature != w.temp || c.Options.Aggregate != w.agg || c.Options.MaxTokens != 64 {
			t.Errorf("cell %d = %+v, want %+v", i, c, w)
		}
	}
}

func TestFileErrorsSayWhere(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"grid:\n  - strategy: greedy\n    bogus: 1\n", ":3:"},
		{"limit: many\ngrid:\n  - strategy: greedy\n", ":1:"},
		{"dataset: synth\n", `no entries under "grid"`},
		{"grid:\n  - strategy: magic\n", `entry 1: unknown strategy "magic"`},
		{"grid:\n  - strategy: greedy\n  - strategy: greedy\n    n: [2]\n", "entry 2: strategy greedy takes no n"},
		{"grid:\n  - strategy: best-of-n\n", "entry 1: strategy best-of-n needs a list of budgets under n"},
		{"grid:\n  - strategy: self-consistency\n    n: [0]\n", "entry 1: n = 0, want at least 1"},
		{"grid:\n  - strategy: best-of-n\n    n: [2]\n    aggregate: median\n", `entry 1: strategy best-of-n: unknown score aggregation "median"`},
	} {
		path := write(t, c.body)
		f, err := Load(path)
		if err == nil {
			_, err = f.Cells(strategy.Options{MaxTokens: 10})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: error %v, want one naming %s and containing %q", c.body, err, path, c.want)
		}
	}
}

func TestFromLists(t *testing.T) {
	cells, err := FromLists("greedy, best-of-n", "4,16", strategy.Options{N: 8, MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 3 || cells[0].Strategy != "greedy" || cells[1].Options.N != 4 || cells[2].Options.N != 16 || cells[2].Strategy != "best-of-n" {
		t.Fatalf("cells %+v", cells)
	}
	for _, c := range []struct{ s, b, want string }{
		{"greedy", "4,x", `--budgets: "x"`},
		{"greedy", "0", `--budgets: "0"`},
		{"greedy,magic", "4", `--strategies: unknown strategy "magic"`},
	} {
		if _, err := FromLists(c.s, c.b, strategy.Options{MaxTokens: 10}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromLists(%q, %q) = %v, want %q", c.s, c.b, err, c.want)
		}
	}
}

func TestFileSearchOptions(t *testing.T) {
	f, err := Load(write(t, "grid:\n  - strategy: beam\n    n: [8]\n    width: 2\n    select: best-of-n\n  - strategy: rebase\n    n: [4]\n    rebase_temperature: 0.5\n    step_tokens: 20\n    max_depth: 6\n"))
	if err != nil {
		t.Fatal(err)
	}
	cells, err := f.Cells(strategy.Options{MaxTokens: 10, Width: 4})
	if err != nil {
		t.Fatal(err)
	}
	b, r := cells[0].Options, cells[1].Options
	if b.Width != 2 || b.Select != "best-of-n" || r.RebaseTemperature != 0.5 || r.StepTokens != 20 || r.MaxDepth != 6 || r.Width != 4 {
		t.Fatalf("cells %+v", cells)
	}
	if _, err := f.Cells(strategy.Options{MaxTokens: 10, Width: 16}); err != nil {
		t.Fatalf("the entry's width 2 should win over the flag's 16: %v", err)
	}
}

func TestPresetPaper(t *testing.T) {
	f, err := Preset("paper")
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Options: strategy.Options{MaxTokens: 160, Temperature: 0.7}}
	f.Merge(&s, func(string) bool { return false })
	cells, err := f.Cells(s.Options)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 3 {
		t.Fatalf("cells %+v", cells)
	}
	for i, n := range []int{3, 6, 16} {
		o := cells[i].Options
		if cells[i].Strategy != "rebase" || o.N != n || o.Temperature != 1 || o.RebaseTemperature != 0.2 || o.MaxTokens != 384 || o.StepTokens != 96 {
			t.Errorf("cell %d = %+v", i, cells[i])
		}
	}
	if _, err := Preset("fast"); err == nil || !strings.Contains(err.Error(), "known: paper") {
		t.Errorf("unknown preset: %v", err)
	}
}
