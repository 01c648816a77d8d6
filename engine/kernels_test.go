package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pareto-llm/pareto/internal/vec"
)

func randVec(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func TestF16Conversion(t *testing.T) {
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		if f != f { // NaN
			continue
		}
		if back := f32ToF16(f); back != uint16(h) {
			t.Fatalf("f16 %#04x -> %v -> %#04x", h, f, back)
		}
	}
	// Rounding picks the nearest f16 (ties to even).
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		f := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-25)))
		h := f32ToF16(f)
		got := float64(f16ToF32(h))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 {
				continue
			}
			if d := math.Abs(float64(f16ToF32(nb)) - float64(f)); d < math.Abs(got-float64(f)) {
				t.Fatalf("%v rounded to %v but %v is nearer", f, got, f16ToF32(nb))
			}
		}
	}
	if f32ToF16(70000) != 0x7c00 || f32ToF16(-1e-9) != 0x8000 {
		t.Fatal("overflow or underflow handled wrongly")
	}
}

func TestQuantizeQ8(t *testing.T) {
	x := randVec(128, 5)
	q := make([]int8, 128)
	d := make([]float32, 4)
	quantizeQ8(x, q, d)
	for i, v := range x {
		back := float32(q[i]) * d[i/32]
		if math.Abs(float64(back-v)) > float64(d[i/32])*0.51+1e-3*math.Abs(float64(v)) {
			t.Fatalf("x[%d]=%v dequantizes to %v (d=%v)", i, v, back, d[i/32])
		}
	}
	// dotQ8Q8 equals the float product of the dequantized vectors.
	w := randVec(128, 6)
	wq, wd := make([]int8, 128), make([]float32, 4)
	quantizeQ8(w, wq, wd)
	var want float64
	for i := range 128 {
		want += float64(float32(q[i])*d[i/32]) * float64(float32(wq[i])*wd[i/32])
	}
	if got := dotQ8Q8(wq, wd, q, d); math.Abs(float64(got)-want) > 1e-4*math.Abs(want)+1e-4 {
		t.Fatalf("dotQ8Q8 = %v, want %v", got, want)
	}
	xf := make([]float32, 128)
	for i := range xf {
		xf[i] = float32(q[i]) * d[i/32]
	}
	if got := dotQ8F32(wq, wd, xf); math.Abs(float64(got)-want) > 1e-4*math.Abs(want)+1e-4 {
		t.Fatalf("dotQ8F32 = %v, want %v", got, want)
	}
}

func TestMatmulParallel(t *testing.T) {
	// Odd sizes exercise chunk edges and every kernel: the plain loop
	// (batch below 4), blocked (2x4 rows) and, on AVX-512 machines,
	// blocked4 (4x4 rows, 64 columns and up) with its remainders. Compare
	// with a serial float64 product.
	for _, sh := range []struct{ rows, cols, b int }{
		{37, 45, 3}, {37, 45, 9}, {38, 64, 4}, {37, 100, 7}, {45, 130, 21}, {66, 768, 17},
	} {
		rows, cols, b := sh.rows, sh.cols, sh.b
		w := NewMatF32(rows, cols, randVec(rows*cols, 1))
		x := randVec(b*cols, 2)
		y := make([]float32, b*rows)
		for _, wide := range []bool{false, vec.HasAVX512 && cols >= minAVX512Cols} {
			clear(y)
			j := &matmulJob{w: w, x: x, y: y, b: b, wide: wide}
			var wg group
			newPool(3).do(&wg, rows, 4, j)
			for i := range b {
				for r := range rows {
					var want, mag float64
					for k := range cols {
						p := float64(w.F[r*cols+k]) * float64(x[i*cols+k])
						want += p
						mag += math.Abs(p)
					}
					if math.Abs(float64(y[i*rows+r])-want) > 1e-6*mag+1e-6 {
						t.Fatalf("%dx%d, batch %d, wide %v: y[%d][%d] = %v, want %v", rows, cols, b, wide, i, r, y[i*rows+r], want)
					}
				}
			}
		}
	}
}

func benchMatmul(b *testing.B, rows, cols, batch int, kind Kind) {
	m := &Model{GGMLNumerics: true}
	w := &Mat{Rows: rows, Cols: cols, Kind: kind, F: randVec(rows*cols, 1)}
	if kind == KindQ8_0 {
		w.Q, w.D = make([]int8, rows*cols), make([]float32, rows*cols/q8Block)
		quantizeQ8(w.F, w.Q, w.D)
		w.F = nil
	}
	st := &runState{xq: make([]int8, batch*cols), xd: make([]float32, batch*cols/q8Block), xr: make([]float32, batch*cols)}
	x := randVec(batch*cols, 2)
	y := make([]float32, batch*rows)
	b.ResetTimer()
	var flops float64
	for range b.N {
		flops += m.matmul(st, w, x, y, batch)
	}
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMatVec(b *testing.B)        { benchMatmul(b, 2048, 2048, 1, KindF32) }
func BenchmarkMatVecQ8(b *testing.B)      { benchMatmul(b, 2048, 2048, 1, KindQ8_0) }
func BenchmarkMatMul512(b *testing.B)     { benchMatmul(b, 512, 512, 512, KindF32) }
func BenchmarkMatMulBatch16(b *testing.B) { benchMatmul(b, 1024, 1024, 16, KindF32) }

func TestQ8Asm(t *testing.T) {
	n := 256
	w, x := randVec(n, 7), randVec(n, 8)
	wq, wd, xq, xd := make([]int8, n), make([]float32, n/32), make([]int8, n), make([]float32, n/32)
	quantizeQ8(w, wq, wd)
	quantizeQ8(x, xq, xd)
	wq[0], xq[0] = -127, 127 // extremes: no int16 overflow
	got, want := dotQ8Q8Impl(wq, wd, xq, xd), dotQ8Q8(wq, wd, xq, xd)
	if math.Abs(float64(got-want)) > 1e-4*math.Abs(float64(want))+1e-4 {
		t.Fatalf("dotQ8Q8 asm %v, Go %v", got, want)
	}
}

func TestRoundF16AsmMatchesGo(t *testing.T) {
	for _, n := range []int{1, 8, 13, 64, 100} {
		// Values across the f16 range: normal, subnormal, overflowing.
		v := randVec(n, 3)
		for i := range v {
			v[i] *= float32(math.Pow(2, float64(i%40-26)))
		}
		r := append([]float32{}, v...)
		roundF16Go(r)
		roundF16(v)
		for i := range v {
			if v[i] != r[i] {
				t.Fatalf("n=%d: roundF16[%d] = %v, Go %v", n, i, v[i], r[i])
			}
		}
	}
}

// TestAttnKernelsMatchDotAxpy: the attention kernels give bit for bit what
// a dot product per position and an axpy per position give (so Ollama
// parity does not depend on which ran), for head widths with and without
// a tail of fewer than 8 and a cache stride wider than the head.
func TestAttnKernelsMatchDotAxpy(t *testing.T) {
	for _, hd := range []int{1, 8, 13, 48, 64, 100, 128, 136} {
		for _, n := range []int{1, 5, 37} {
			stride := 3*hd + 5
			q, k, v := randVec(hd, 1), randVec(n*stride, 2), randVec(n*stride, 3)
			got, want := make([]float32, n), make([]float32, n)
			attnScores(got, q, k, stride, 0.125)
			for i := range n {
				want[i] = vec.Dot(q, k[i*stride:i*stride+hd]) * 0.125
			}
			if !slices.Equal(got, want) {
				t.Fatalf("hd=%d n=%d: scores %v, want %v", hd, n, got, want)
			}
			// Values accumulate onto out: in one call, or split in two
			// calls at any position (as attention walks KV blocks), the
			// sums are those of one axpy per position in order.
			w := randVec(n, 4)
			ref := randVec(hd, 5)
			start := append([]float32{}, ref...)
			for i := range n {
				vec.Axpy(ref, w[i], v[i*stride:i*stride+hd])
			}
			for _, cut := range []int{n, n / 2, 1} {
				out := append([]float32{}, start...)
				attnValues(out, w[:cut], v, stride)
				attnValues(out, w[cut:], v[cut*stride:], stride)
				if !slices.Equal(out, ref) {
					t.Fatalf("hd=%d n=%d cut %d: values %v, want %v", hd, n, cut, out, ref)
				}
			}
		}
	}
}
