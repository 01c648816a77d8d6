package engine

import (
	"math"
	"math/rand/v2"
)

// randomOptions shape a random model made by newRandom.
type randomOptions struct {
	Seed   uint64
	Tied   bool    // no output matrix: logits use the embedding
	Kind   Kind    // storage of the matrices (F16 values are rounded to f16)
	Scale  float32 // standard deviation of weights; 0 means 1/sqrt(DModel)
	Biases bool    // q/k/v biases (always on for qwen2)
}

// newRandom builds a model with Gaussian weights, for tests and benchmarks
// that must not depend on a file. Other packages' tests use
// internal/enginetest.NewRandom, which makes the same float32 models.
func newRandom(c Config, o randomOptions) (*Model, error) {
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
	mat := func(rows, cols int) *Mat {
		x := &Mat{Rows: rows, Cols: cols, Kind: o.Kind, F: gauss(rows*cols, scale)}
		switch o.Kind {
		case KindF16:
			roundF16(x.F)
		case KindQ8_0:
			x.Q = make([]int8, rows*cols)
			x.D = make([]float32, rows*cols/q8Block)
			quantizeQ8(x.F, x.Q, x.D)
			x.F = nil
		}
		return x
	}
	norm := func(n int) []float32 {
		v := gauss(n, 0.1)
		for i := range v {
			v[i] += 1
		}
		return v
	}
	w := Weights{Embed: mat(c.Vocab, c.DModel), OutputNorm: norm(c.DModel)}
	if !o.Tied {
		w.Output = mat(c.Vocab, c.DModel)
	}
	for range c.Layers {
		l := Layer{
			AttnNorm: norm(c.DModel),
			Wq:       mat(c.QDim(), c.DModel), Wk: mat(c.KVDim(), c.DModel), Wv: mat(c.KVDim(), c.DModel),
			Wo:      mat(c.DModel, c.QDim()),
			FFNNorm: norm(c.DModel),
			Gate:    mat(c.FFN, c.DModel), Up: mat(c.FFN, c.DModel), Down: mat(c.DModel, c.FFN),
		}
		if o.Biases || c.Arch == ArchQwen2 {
			l.Bq, l.Bk, l.Bv = gauss(c.QDim(), 0.1), gauss(c.KVDim(), 0.1), gauss(c.KVDim(), 0.1)
		}
		w.Layers = append(w.Layers, l)
	}
	return NewModel(c, w)
}
