package train

import (
	"fmt"
	"math/rand/v2"
	"os"
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
	data, err := os.ReadFile("../configs/policy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := ParseConfig(data)
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
	p := newPool(runtime.NumCPU())
	defer p.close()
	for _, s := range []struct{ m, nc, k int }{
		{2048, 512, 192}, // FFN up, forward
		{2048, 192, 512}, // FFN down, forward
		{2048, 930, 192}, // output head
		{512, 192, 2048}, // a weight gradient: dW = doutᵀ·inp
	} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.nc, s.k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			a, w, c := randVec(r, s.m*s.k, 1), randVec(r, s.nc*s.k, 1), make([]float32, s.m*s.nc)
			for b.Loop() {
				gemm(p, c, a, w, s.m, s.nc, s.k)
			}
			b.ReportMetric(2*float64(s.m*s.nc*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatmulBackward times the backward pass of the FFN's down
// projection and the output head on one step's rows (N = 2048).
func BenchmarkMatmulBackward(b *testing.B) {
	p := newPool(runtime.NumCPU())
	defer p.close()
	for _, s := range []struct{ n, in, o int }{{2048, 512, 192}, {2048, 192, 512}, {2048, 192, 930}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.n, s.in, s.o), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x, w, dy := randVec(r, s.n*s.in, 1), randVec(r, s.o*s.in, 1), randVec(r, s.n*s.o, 1)
			dx, dw := make([]float32, s.n*s.in), make([]float32, s.o*s.in)
			for b.Loop() {
				matmulBackward(p, dx, dw, dy, x, w, s.n, s.in, s.o, false)
			}
			b.ReportMetric(4*float64(s.n*s.in*s.o)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatmulForward times the forward products of the same shapes.
func BenchmarkMatmulForward(b *testing.B) {
	p := newPool(runtime.NumCPU())
	defer p.close()
	for _, s := range []struct{ n, in, o int }{{2048, 512, 192}, {2048, 192, 512}, {2048, 192, 930}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.n, s.in, s.o), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x, w, out := randVec(r, s.n*s.in, 1), randVec(r, s.o*s.in, 1), make([]float32, s.n*s.o)
			for b.Loop() {
				matmulForward(p, out, x, w, s.n, s.in, s.o)
			}
			b.ReportMetric(2*float64(s.n*s.in*s.o)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
