package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pareto-llm/pareto/store"
)

// testdata/store-v1.db was written by pareto at 26f2748, the commit before
// strategies described themselves in the registry and runs took their
// identity from it, by the commands below (testdata/store-v1-grid.yaml is
// the grid it read). The same commands with today's code must find every
// run done: the same run IDs, no new run, result or generation. If the
// shipped policy is re-trained its digest changes the runs' identity; write
// the store again with the new model then.
func TestStoreOfEarlierBinaryResumes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v1.db")
	copyFile(t, "testdata/store-v1.db", db)
	grid, err := filepath.Abs("testdata/store-v1-grid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := storeCounts(t, db)
	if before.runs != 14 {
		t.Fatalf("fixture has %d runs, want 14", before.runs)
	}
	for _, args := range [][]string{
		{"bench", "--dataset", "synth", "--limit", "2", "--strategies", "direct,greedy,cot,self-consistency,best-of-n,weighted-vote", "--budgets", "2", "--max-tokens", "40", "--report", ""},
		{"bench", "--config", grid, "--report", ""},
		{"run", "--dataset", "synth", "--limit", "2", "--strategy", "best-of-n", "--aggregate", "last", "--n", "3", "--temperature", "0.5", "--top-p", "0.9", "--scorer", "oracle", "--max-tokens", "40"},
		{"run", "--dataset", "synth", "--limit", "2", "--strategy", "weighted-vote", "--n", "2", "--scorer", "judge", "--max-tokens", "40"},
		{"run", "--dataset", "synth", "--limit", "2", "--strategy", "cot", "--n", "5", "--aggregate", "mean", "--max-tokens", "40", "--seed", "7"},
	} {
		// The store's runs took the first questions; --limit alone now
		// takes a sample spread over the levels.
		if _, err := execute(t, append(args, "--store", db, "--exact")...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	after := storeCounts(t, db)
	if !slices.Equal(after.ids, before.ids) || after.results != before.results || after.generations != before.generations {
		t.Errorf("resuming the earlier store did new work:\nbefore %+v\nafter  %+v", before, after)
	}
}

type counts struct {
	runs, results, generations int
	ids                        []string
}

func storeCounts(t *testing.T, path string) counts {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var c counts
	for _, r := range runs {
		c.ids = append(c.ids, r.ID)
		res, err := st.Results(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.results += len(res)
	}
	c.runs = len(runs)
	slices.Sort(c.ids)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow("SELECT count(*) FROM generations").Scan(&c.generations); err != nil {
		t.Fatal(err)
	}
	return c
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
