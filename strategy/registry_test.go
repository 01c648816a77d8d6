package strategy

import (
	"slices"
	"testing"
)

// Every registered strategy describes itself completely, and its canonical
// options keep exactly the options it says it uses.
func TestSpecsCanonical(t *testing.T) {
	all := Options{N: 5, MaxTokens: 99, Temperature: 0.4, TopP: 0.9, Shots: 2, Aggregate: "prod",
		Width: 3, RebaseTemperature: 0.5, Select: "majority", StepTokens: 50, MaxDepth: 9}
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.About == "" || s.Name != name {
			t.Errorf("%s: spec %+v lacks a name or description", name, s)
		}
		c := s.Canonical(all)
		for _, f := range []struct {
			opt  Option
			kept bool
		}{
			{OptN, c.N == 5}, {OptMaxTokens, c.MaxTokens == 99}, {OptTemperature, c.Temperature == 0.4},
			{OptTopP, c.TopP == 0.9}, {OptShots, c.Shots == 2}, {OptAggregate, c.Aggregate == "prod"},
			{OptWidth, c.Width == 3}, {OptRebaseTemperature, c.RebaseTemperature == 0.5}, {OptSelect, c.Select == "majority"},
			{OptStepTokens, c.StepTokens == 50}, {OptMaxDepth, c.MaxDepth == 9},
		} {
			if f.kept != slices.Contains(s.Uses, f.opt) {
				t.Errorf("%s: canonical options %+v: %s kept = %v, but Uses = %v", name, c, f.opt, f.kept, s.Uses)
			}
		}
		if len(options) != 11 {
			t.Fatalf("%d options known, this test checks 11: add the new one", len(options))
		}
		if z := s.Canonical(Options{}); slices.Contains(s.Uses, OptWidth) && z.Width != DefaultWidth ||
			slices.Contains(s.Uses, OptSelect) && z.Select != DefaultSelect {
			t.Errorf("%s: canonical options of zero %+v lack the defaults", name, z)
		}
		if !slices.Contains(s.Uses, OptN) && c.N != 1 {
			t.Errorf("%s: an unused N is 1 in canonical options, got %d", name, c.N)
		}
		if s.Scored != slices.Contains(s.Uses, OptAggregate) {
			t.Errorf("%s: a scored strategy, and only one, reads the score aggregation", name)
		}
		if b := s.BudgetOf(s.WithBudget(all, 7)); s.Budget != "" && b != 7 || s.Budget == "" && b != 0 {
			t.Errorf("%s: budget %q round trip gives %d", name, s.Budget, b)
		}
	}
}

func TestRegisterRefusesIncompleteSpecs(t *testing.T) {
	for _, s := range []Spec{
		{Name: "greedy", Uses: []Option{OptMaxTokens}, New: func(Options) (Strategy, error) { return nil, nil }},
		{Name: "x", Uses: []Option{OptMaxTokens}},
		{Name: "x", New: func(Options) (Strategy, error) { return nil, nil }},
		{Name: "x", Uses: []Option{OptMaxTokens}, Budget: OptN, New: func(Options) (Strategy, error) { return nil, nil }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", s)
				}
			}()
			Register(s)
		}()
	}
	if _, err := Lookup("x"); err == nil {
		t.Error("a refused spec was registered")
	}
}
