package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// reportStore writes two small runs and returns the store's path and the
// run IDs.
func reportStore(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	for i, n := range []int{1, 4} {
		cfg := run.Config{Model: "m", Dataset: "synth", Strategy: "self-consistency", Options: strategy.Options{N: n}, Seeds: 1}
		raw, _ := json.Marshal(cfg)
		r, err := db.EnsureRun(ctx, store.Run{ID: cfg.ID(), CreatedAt: time.Unix(int64(i), 0), Model: cfg.Model, Dataset: cfg.Dataset,
			Strategy: cfg.Strategy, Config: raw, Questions: 4, Seeds: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		for q := range 4 {
			u := pareto.Usage{Calls: n, DecodeFLOPs: float64(n) * 1e11}
			detail, _ := json.Marshal(strategy.Result{Answer: "1", Candidates: []strategy.Candidate{{Text: "so 1", Answer: "1"}}})
			err := db.PutResult(ctx, store.Result{RunID: r.ID, QuestionID: fmt.Sprint(q), Position: q, Level: 1 + q%2,
				Correct: q < n, Predicted: "1", Gold: "1", Detail: detail, Usage: u, Wall: time.Duration(n) * time.Second})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return path, ids
}

func runReport(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newReportCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestReportCommand(t *testing.T) {
	path, ids := reportStore(t)
	dir := t.TempDir()

	html := filepath.Join(dir, "r.html")
	if _, err := runReport(t, "--store", path, "--out", html, "--budget-flops", "2e11"); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "self-consistency n=4", "Best within budget: self-consistency", "level 2"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("html lacks %q", want)
		}
	}

	md, err := runReport(t, "--store", path, "--out", "-", "--format", "markdown", "--run", ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "| m | synth | self-consistency | n=4 |") || strings.Contains(md, "| n=1 |") {
		t.Errorf("markdown for one run:\n%s", md)
	}

	// The format follows the extension.
	csvPath := filepath.Join(dir, "t.csv")
	if _, err := runReport(t, "--store", path, "--out", csvPath); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Errorf("csv: %d records, err %v; want header + 2", len(recs), err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", path, "--format", "pdf"}, "pdf"},
		{[]string{"--store", filepath.Join(dir, "missing.db")}, "missing.db"},
		{[]string{"--store", path, "--run", "nope", "--out", filepath.Join(dir, "x.html")}, "nope"},
	} {
		if _, err := runReport(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one naming %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.html")); err == nil {
		t.Error("a failed report left a file behind")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("a missing --store was created")
	}
}
