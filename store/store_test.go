package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto"
)

func TestRunsResultsAndCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.EnsureRun(ctx, Run{ID: "r1", Model: "m", Dataset: "d", Strategy: "greedy", Config: json.RawMessage(`{"n":1}`), Questions: 2, Seeds: 1})
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.EnsureRun(ctx, Run{ID: "r1", Model: "other", Config: json.RawMessage(`{}`)})
	if err != nil || again.Model != "m" || !again.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("EnsureRun replaced an existing run: %+v %v", again, err)
	}
	res := Result{RunID: "r1", Seed: 42, QuestionID: "q0", Correct: true, Predicted: "5", Gold: "5", Usage: pareto.Usage{PromptTokens: 3, CompletionTokens: 4}}
	if err := db.PutResult(ctx, res); err != nil {
		t.Fatal(err)
	}
	res.Correct = false
	if err := db.PutResult(ctx, res); err != nil {
		t.Fatal(err)
	}
	got, err := db.Results(ctx, "r1")
	if err != nil || len(got) != 1 || !got[0].Correct || got[0].Usage.CompletionTokens != 4 {
		t.Fatalf("results %+v %v", got, err)
	}
	done, _ := db.Done(ctx, "r1")
	if !done[DoneKey{42, "q0"}] || len(done) != 1 {
		t.Fatalf("done %v", done)
	}
	comps := []pareto.Completion{{Text: "hi", Usage: pareto.Usage{CompletionTokens: 1}}}
	if err := db.PutGeneration(ctx, "k", "m", pareto.Request{Prompt: "p"}, comps); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, ok, err := db.Generation(ctx, "k")
	if err != nil || !ok || c[0].Text != "hi" {
		t.Fatalf("cache after reopen: %v %v %v", c, ok, err)
	}
	if _, ok, _ := db.Generation(ctx, "missing"); ok {
		t.Fatal("missing key found")
	}
	runs, _ := db.Runs(ctx)
	if len(runs) != 1 || runs[0].ID != "r1" {
		t.Fatalf("runs %+v", runs)
	}
}
