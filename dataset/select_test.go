package dataset

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
)

func TestSelect(t *testing.T) {
	d := &Dataset{Name: "d"}
	for i := range 12 {
		d.Questions = append(d.Questions, pareto.Question{ID: fmt.Sprint(i), Level: 1 + i/4})
	}
	ids := func(qs []pareto.Question) string {
		var s []string
		for _, q := range qs {
			s = append(s, q.ID)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		s    Slice
		want string
	}{
		{Slice{PerLevel: 2}, "0,1,4,5,8,9"},
		{Slice{Offset: 3, PerLevel: 1}, "3,4,8"},
		{Slice{Offset: 3, PerLevel: 2, Limit: 3}, "3,4,5"},
		{Slice{Limit: 2, Exact: true}, "0,1"},
		{Slice{Offset: 10}, "10,11"},
	} {
		got, err := d.Select(c.s)
		if err != nil || ids(got) != c.want {
			t.Errorf("Select(%+v) = %s, %v; want %s", c.s, ids(got), err, c.want)
		}
	}
	for _, s := range []Slice{{Offset: 12}, {Limit: -1}} {
		if _, err := d.Select(s); err == nil {
			t.Errorf("Select(%+v) did not fail", s)
		}
	}
}

// Limit alone spreads over the levels: a small sample of synth is not all
// level 1. It is the same sample every time.
func TestSelectSpreadsLimitOverLevels(t *testing.T) {
	d, err := Load("synth")
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Select(Slice{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int]int{}
	for i, q := range a {
		levels[q.Level]++
		if i > 0 && q.ID <= a[i-1].ID {
			t.Errorf("sample not in dataset order: %s after %s", q.ID, a[i-1].ID)
		}
	}
	if len(a) != 10 || len(levels) != 5 || levels[1] != 2 || levels[5] != 2 {
		t.Errorf("10 questions spread over levels %v, want 2 of each of 5", levels)
	}
	b, _ := d.Select(Slice{Limit: 10})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("two samples differ")
	}
	first, _ := d.Select(Slice{Limit: 10, Exact: true})
	if first[9].Level != 1 {
		t.Errorf("an exact slice of synth's first 10 should be level 1, got level %d", first[9].Level)
	}
}
