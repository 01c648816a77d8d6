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

// Load loads the shipped model name in the embedded engine with opts,
// failing t when it cannot.
func Load(t testing.TB, name string, opts ...embedded.Option) *embedded.Backend {
	t.Helper()
	b, err := embedded.Load(Path(t, name), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
