// Package enginetest makes random-weight engine models for the tests of
// other packages. It lives apart from engine so that the pareto binary does
// not carry it; engine's own tests have their own copy (they cannot import
// a package that imports engine).
package enginetest

import (
	"math"
	"math/rand/v2"

	"github.com/pareto-llm/pareto/engine"
)

// Options shape a random model made by NewRandom.
type Options struct {
	Seed  uint64
	Scale float32 // standard deviation of weights; 0 means 1/sqrt(DModel)
}

// NewRandom builds a float32 model with Gaussian weights and an untied
// output matrix (q/k/v biases for qwen2), for tests that must not depend on
// a file.
func NewRandom(c engine.Config, o Options) (*engine.Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	scale := o.Scale
	if scale == 0 {
		scale = 1 / float32(math.Sqrt(float64(c.DModel)))
	}
	gauss := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64()) * s
		}
		return v
	}
	mat := func(rows, cols int) *engine.Mat { return engine.NewMatF32(rows, cols, gauss(rows*cols, scale)) }
	// Norm weights near 1 (not exactly) so a forward pass that skips them
	// gives other logits.
	norm := func(n int) []float32 {
		v := gauss(n, 0.1)
		for i := range v {
			v[i] += 1
		}
		return v
	}
	w := engine.Weights{Embed: mat(c.Vocab, c.DModel), OutputNorm: norm(c.DModel), Output: mat(c.Vocab, c.DModel)}
	for range c.Layers {
		l := engine.Layer{
			AttnNorm: norm(c.DModel),
			Wq:       mat(c.QDim(), c.DModel), Wk: mat(c.KVDim(), c.DModel), Wv: mat(c.KVDim(), c.DModel),
			Wo:      mat(c.DModel, c.QDim()),
			FFNNorm: norm(c.DModel),
			Gate:    mat(c.FFN, c.DModel), Up: mat(c.FFN, c.DModel), Down: mat(c.DModel, c.FFN),
		}
		if c.Arch == engine.ArchQwen2 {
			l.Bq, l.Bk, l.Bv = gauss(c.QDim(), 0.1), gauss(c.KVDim(), 0.1), gauss(c.KVDim(), 0.1)
		}
		w.Layers = append(w.Layers, l)
	}
	return engine.NewModel(c, w)
}
