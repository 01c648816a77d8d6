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
		{Slice{Limit: 2}, "0,1"},
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
