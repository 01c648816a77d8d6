package enginebench

import (
	"math/rand/v2"
	"time"

	"github.com/pareto-llm/pareto/engine"
)

// Kernel is the speed of one matrix product shape: Y (M x N) = X (M x K)
// times W^T, W being N x K as the model stores its weights (M is the
// batch of tokens).
type Kernel struct {
	Name     string  `json:"name"`
	M        int     `json:"m"`
	N        int     `json:"n"`
	K        int     `json:"k"`
	Engine   float64 `json:"engine_gflops"`             // median over runs
	OpenBLAS float64 `json:"openblas_gflops,omitempty"` // 0 when not built with -tags openblas
	Ratio    float64 `json:"ratio,omitempty"`           // Engine / OpenBLAS
}

// sgemm, set when built with -tags openblas, computes y = x w^T with
// OpenBLAS (cblas_sgemm, or cblas_sgemv when m is 1): x is m x k, w n x k,
// y m x n, all row-major.
var sgemm func(m, n, k int, x, w, y []float32)

// blasConfig describes the OpenBLAS library linked, when there is one.
var blasConfig func() string

// HaveOpenBLAS reports whether this binary can compare with OpenBLAS.
func HaveOpenBLAS() bool { return sgemm != nil }

// kernelShapes are the products a forward pass of c does at batch 1
// (decoding one sequence) and 16 (decoding a search's samples together),
// and the customary 512x512x512.
func kernelShapes(c engine.Config) []Kernel {
	var ks []Kernel
	for _, m := range []int{1, 16} {
		ks = append(ks,
			Kernel{Name: "attn_q", M: m, N: c.QDim(), K: c.DModel},
			Kernel{Name: "ffn_up", M: m, N: c.FFN, K: c.DModel},
			Kernel{Name: "ffn_down", M: m, N: c.DModel, K: c.FFN},
			Kernel{Name: "output", M: m, N: c.Vocab, K: c.DModel},
		)
	}
	return append(ks, Kernel{Name: "square", M: 512, N: 512, K: 512})
}

// measureKernels times every shape with the engine's kernels and, when
// linked, OpenBLAS: the median of runs, each at least minTime long.
func measureKernels(ks []Kernel, runs int, minTime time.Duration) []Kernel {
	rng := rand.New(rand.NewPCG(7, 7))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	out := make([]Kernel, len(ks))
	for i, k := range ks {
		w := engine.NewMatF32(k.N, k.K, fill(k.N*k.K))
		x, y := fill(k.M*k.K), make([]float32, k.M*k.N)
		flops := 2 * float64(k.M) * float64(k.N) * float64(k.K)
		k.Engine = gflops(flops, runs, minTime, func() { engine.MatMul(w, x, y, k.M) })
		if sgemm != nil {
			k.OpenBLAS = gflops(flops, runs, minTime, func() { sgemm(k.M, k.N, k.K, x, w.F, y) })
			k.Ratio = k.Engine / k.OpenBLAS
		}
		out[i] = k
	}
	return out
}

// gflops is the median speed of f over runs timed runs, each repeating f
// for at least minTime after one warm-up call.
func gflops(flops float64, runs int, minTime time.Duration, f func()) float64 {
	f()
	rates := make([]float64, runs)
	for r := range rates {
		n := 0
		start := time.Now()
		for time.Since(start) < minTime {
			f()
			n++
		}
		rates[r] = flops * float64(n) / time.Since(start).Seconds() / 1e9
	}
	return median(rates)
}
