package run_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/generatortest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
)

// counting counts the calls that reach a generator.
type counting struct {
	pareto.Generator
	calls atomic.Int64
}

func (c *counting) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	c.calls.Add(1)
	return c.Generator.Generate(ctx, req)
}

// TestCachedConformance runs the conformance suite on the cache and
// accountant wrapper over the shipped policy: without a cache (accounting
// only), and with a store, twice, the second time answered from the cache.
func TestCachedConformance(t *testing.T) {
	b := modelstest.Load(t, models.Default)
	inner := &counting{Generator: b}
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mc := b.Model().Config
	acc := compute.Accountant{Arch: compute.Arch{Params: float64(b.Model().Params()), Layers: mc.Layers, DModel: mc.DModel},
		Price: compute.Price{InPerM: 1, OutPerM: 2}}
	opts := generatortest.ShippedPolicy()
	t.Run("Accountant", func(t *testing.T) {
		generatortest.Run(t, &run.Cached{Inner: inner, Model: models.Default, Accountant: acc}, opts)
	})
	c := &run.Cached{Inner: inner, Cache: db, Model: models.Default, Accountant: acc}
	t.Run("Store", func(t *testing.T) { generatortest.Run(t, c, opts) })
	before := inner.calls.Load()
	t.Run("StoreCached", func(t *testing.T) { generatortest.Run(t, c, opts) })
	// Only the unseeded sampled request, which is not cached, may reach
	// the backend again.
	if n := inner.calls.Load() - before; n > 1 {
		t.Errorf("the second run of the suite made %d calls to the backend, want at most 1: the cache did not answer", n)
	}
}
