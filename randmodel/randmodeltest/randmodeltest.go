// Package randmodeltest writes random-weight models (package randmodel) for
// tests.
package randmodeltest

import (
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto/randmodel"
)

// Write writes a random model of cfg to the file name in a temporary
// directory of t and returns its path, failing t when it cannot. The name
// shows in what the model is called (e.g. "embedded:NAME@…").
func Write(t testing.TB, name string, cfg randmodel.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := randmodel.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}
