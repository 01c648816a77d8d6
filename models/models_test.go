package models

import (
	"os"
	"testing"

	"github.com/pareto-llm/pareto/gguf"
)

func TestShippedModelsLoad(t *testing.T) {
	ms, err := List()
	if err != nil || len(ms) == 0 {
		t.Fatalf("no shipped models: %v", err)
	}
	var total int64
	for _, m := range ms {
		total += m.Bytes
		if m.About == "" {
			t.Errorf("%s: model card missing or empty", m.Name)
		}
		path, err := Path(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if arch, _ := f.String("general.architecture"); arch != "llama" {
			t.Errorf("%s: architecture %q, want llama", m.Name, arch)
		}
		f.Close()
		again, _ := Path(m.Name)
		if st, err := os.Stat(again); again != path || err != nil || st.Size() != m.Bytes {
			t.Errorf("%s: second Path %q (%v), first %q", m.Name, again, err, path)
		}
	}
	if total > 40<<20 {
		t.Errorf("shipped models take %d bytes, the budget is 40 MB", total)
	}
	if _, err := Path("nope"); err == nil {
		t.Error("unknown model accepted")
	}
}
