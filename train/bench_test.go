package train

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkTrainStep times one optimizer step of the default policy config
// (configs/policy.yaml) and reports tokens per second, with examples
// attending across the pack and isolated.
func BenchmarkTrainStep(b *testing.B) {
	for _, isolate := range []bool{false, true} {
		name := "packed"
		if isolate {
			name = "isolated"
		}
		b.Run(name, func(b *testing.B) { benchTrainStep(b, isolate) })
	}
}

func benchTrainStep(b *testing.B, isolate bool) {
	cfg, err := ParseConfig(configFile(b, "policy.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Optim.Steps = 1 << 30
	cfg.Data.Isolate = isolate
	tr, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	b.Logf("%d parameters, %d tokens per step", tr.Params(), cfg.Optim.BatchSize*cfg.Model.SeqLen)
	tokens := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := tr.Step()
		if err != nil {
			b.Fatal(err)
		}
		tokens += st.Tokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGemm times the forward products of a training step of a
// 2M-parameter model (N = 2048 rows, d 192, ffn 512, vocab 930) and
// reports GFLOP/s.
func BenchmarkGemm(b *testing.B) {
	benchProducts(b, 2, [][3]int{
		{2048, 512, 192}, // FFN up, forward
		{2048, 192, 512}, // FFN down, forward
		{2048, 930, 192}, // output head
		{512, 192, 2048}, // a weight gradient: dW = doutᵀ·inp
	}, func(r *rand.Rand, p *pool, m, nc, k int) func() {
		a, w, c := randVec(r, m*k, 1), randVec(r, nc*k, 1), make([]float32, m*nc)
		return func() { gemm(p, c, a, w, m, nc, k) }
	})
}

// matmulShapes are one step's rows (N = 2048) through the FFN's down
// projection, its up projection and the output head, as n, in, o.
var matmulShapes = [][3]int{{2048, 512, 192}, {2048, 192, 512}, {2048, 192, 930}}

// BenchmarkMatmulBackward times the backward pass of the FFN's down
// projection and the output head on one step's rows (N = 2048).
func BenchmarkMatmulBackward(b *testing.B) {
	benchProducts(b, 4, matmulShapes, func(r *rand.Rand, p *pool, n, in, o int) func() {
		x, w, dy := randVec(r, n*in, 1), randVec(r, o*in, 1), randVec(r, n*o, 1)
		dx, dw := make([]float32, n*in), make([]float32, o*in)
		return func() { matmulBackward(p, dx, dw, dy, x, w, n, in, o, false) }
	})
}

// BenchmarkMatmulForward times the forward products of the same shapes.
func BenchmarkMatmulForward(b *testing.B) {
	benchProducts(b, 2, matmulShapes, func(r *rand.Rand, p *pool, n, in, o int) func() {
		x, w, out := randVec(r, n*in, 1), randVec(r, o*in, 1), make([]float32, n*o)
		return func() { matmulForward(p, out, x, w, n, in, o) }
	})
}

// benchProducts runs a sub-benchmark per shape {x, y, z}, named "XxYxZ", on a
// pool of every CPU and reports GFLOP/s: setup makes the operands from a
// fixed seed and returns the product to time, flops·x·y·z operations.
func benchProducts(b *testing.B, flops float64, shapes [][3]int, setup func(r *rand.Rand, p *pool, x, y, z int) func()) {
	p := newPool(runtime.NumCPU())
	defer p.close()
	for _, s := range shapes {
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) {
			product := setup(rand.New(rand.NewPCG(1, 2)), p, s[0], s[1], s[2])
			for b.Loop() {
				product()
			}
			b.ReportMetric(flops*float64(s[0]*s[1]*s[2])*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
