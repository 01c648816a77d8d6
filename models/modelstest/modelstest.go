// Package modelstest gives tests the models shipped in the binary (package
// models), failing the test with the reason when one cannot be had.
package modelstest

import (
	"testing"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
)

// Path returns the file of the shipped model name, failing t when the
// binary does not carry it.
func Path(t testing.TB, name string) string {
	t.Helper()
	path, err := models.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Open opens the file of the shipped model name with open (reward.LoadPRM,
// say), failing t when it cannot. It takes the opener rather than
// importing its package, so that the package's own tests can use it too
// (reward's cannot import a helper that imports reward).
func Open[M any](t testing.TB, name string, open func(path string) (M, error)) M {
	t.Helper()
	m, err := open(Path(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Load loads the shipped model name in the embedded engine with opts,
// failing t when it cannot.
func Load(t testing.TB, name string, opts ...embedded.Option) *embedded.Backend {
	t.Helper()
	return Open(t, name, func(path string) (*embedded.Backend, error) { return embedded.Load(path, opts...) })
}
