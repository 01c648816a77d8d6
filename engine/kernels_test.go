package engine

import (
	"fmt"
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
	// blocked4 (4x4 rows, columns a multiple of 16, batches from 2) with
	// its remainders. Compare with a serial float64 product.
	for _, sh := range []struct{ rows, cols, b int }{
		{37, 45, 3}, {37, 45, 9}, {38, 64, 4}, {37, 100, 7}, {45, 130, 21}, {66, 768, 17}, {40, 32, 2}, {41, 48, 3},
	} {
		rows, cols, b := sh.rows, sh.cols, sh.b
		w := NewMatF32(rows, cols, randVec(rows*cols, 1))
		x := randVec(b*cols, 2)
		y := make([]float32, b*rows)
		for _, wide := range []bool{false, vec.HasAVX512 && cols%16 == 0} {
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

// TestBlocked4RowsAloneAlike checks that a batch row's products do not
// depend on the rows beside it (tinyBLAS's do not: a prompt's values are
// the same whatever the batch): each row of a batch of 7 equals, to the
// bit, the row in a batch of 2 (the smallest blocked4 takes).
func TestBlocked4RowsAloneAlike(t *testing.T) {
	if !vec.HasAVX512 {
		t.Skip("blocked4 needs AVX-512; this CPU has none")
	}
	rows, cols, b := 24, 96, 7
	w := NewMatF32(rows, cols, randVec(rows*cols, 11))
	x := randVec(b*cols, 12)
	y := make([]float32, b*rows)
	(&matmulJob{w: w, x: x, y: y, b: b, wide: true}).run(0, 0, rows)
	for i := range b {
		pair := append(append([]float32{}, x[i*cols:(i+1)*cols]...), randVec(cols, uint64(i))...)
		y2 := make([]float32, 2*rows)
		(&matmulJob{w: w, x: pair, y: y2, b: 2, wide: true}).run(0, 0, rows)
		for r := range rows {
			if math.Float32bits(y2[r]) != math.Float32bits(y[i*rows+r]) {
				t.Fatalf("row %d, output %d: %v in a batch of %d, %v in a batch of 2", i, r, y[i*rows+r], b, y2[r])
			}
		}
	}
}

func benchMatmul(b *testing.B, rows, cols, batch int, kind Kind) {
	m := &Model{GGMLNumerics: true}
	w := testMat(rows, cols, kind, 1)
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

// randQ8Rows returns rows Q8_0 rows of nb blocks: quants over the whole
// int8 range (-128 included, which no quantizer writes but the kernels
// must still treat alike) and scales of mixed signs and magnitudes.
func randQ8Rows(rows, nb int, seed uint64) ([]int8, []float32) {
	rng := rand.New(rand.NewPCG(seed, 9))
	q := make([]int8, rows*nb*q8Block)
	for i := range q {
		switch rng.IntN(16) {
		case 0:
			q[i] = -128
		case 1:
			q[i] = 127
		case 2:
			q[i] = 0
		default:
			q[i] = int8(rng.IntN(256) - 128)
		}
	}
	d := make([]float32, rows*nb)
	for i := range d {
		d[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(24)-16)))
	}
	return q, d
}

// TestDotQ8Q8x4x4MatchesPerPair: the batched Q8_0 x Q8_0 kernel (4 weight
// rows against 4 activation rows) gives, for every pair, dotQ8Q8Impl's
// float32 to the bit, with the AVX-512 VNNI kernel, the AVX2 kernel and
// the portable fallback (which must match the portable dotQ8Q8).
func TestDotQ8Q8x4x4MatchesPerPair(t *testing.T) {
	vnni := hasVNNI
	defer func() { hasVNNI = vnni }()
	for _, nb := range []int{1, 2, 3, 7, 24, 64, 100} {
		n := nb * q8Block
		for seed := range uint64(4) {
			q, d := randQ8Rows(4, nb, 2*seed+1)
			xq, xd := randQ8Rows(4, nb, 2*seed+2)
			if seed == 0 { // quantized data, as the forward pass makes it
				quantizeQ8(randVec(4*n, 11), q, d)
				quantizeQ8(randVec(4*n, 12), xq, xd)
			}
			var want, wantGo [16]float32
			for a := range 4 {
				for c := range 4 {
					qa, da := q[a*n:(a+1)*n], d[a*nb:(a+1)*nb]
					xc, xdc := xq[c*n:(c+1)*n], xd[c*nb:(c+1)*nb]
					want[4*a+c] = dotQ8Q8Impl(qa, da, xc, xdc)
					wantGo[4*a+c] = dotQ8Q8(qa, da, xc, xdc)
				}
			}
			check := func(name string, got, want *[16]float32) {
				t.Helper()
				for k := range got {
					if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
						t.Fatalf("nb=%d seed %d, %s: pair (w%d, x%d) = %v (%#08x), per pair %v (%#08x)",
							nb, seed, name, k/4, k%4, got[k], math.Float32bits(got[k]), want[k], math.Float32bits(want[k]))
					}
				}
			}
			for _, v := range []bool{false, vnni} {
				hasVNNI = v
				var got [16]float32
				dotQ8Q8x4x4(q, d, xq, xd, &got)
				check(fmt.Sprintf("kernel (asm %v, vnni %v)", hasAsm, v), &got, &want)
			}
			var got [16]float32
			dotQ8Q8x4x4Go(q, d, xq, xd, &got)
			check("portable", &got, &wantGo)
		}
	}
}

// TestMatmulQ8Q8Blocked: the ggml-numerics Q8_0 matmul, whose batches of
// 4 and more take the 4x8 kernel (activations without -128) and the 4x4
// kernel in cache blocks (remainder rows and batch rows per pair), gives y[i][r] = dotQ8Q8Impl(row r, x[i]) to the bit, for
// odd shapes split over a pool, with and without the VNNI kernel.
func TestMatmulQ8Q8Blocked(t *testing.T) {
	vnni := hasVNNI
	defer func() { hasVNNI = vnni }()
	p := testPool(t, 3)
	for _, sh := range []struct{ rows, cols, b int }{
		{37, 32, 3}, {37, 64, 4}, {38, 96, 9}, {41, 224, 21}, {66, 768, 17}, {13, 64, 70}, {64, 320, 200},
	} {
		rows, cols, b := sh.rows, sh.cols, sh.b
		nb := cols / q8Block
		q, d := randQ8Rows(rows, nb, 1)
		w := &Mat{Rows: rows, Cols: cols, Kind: KindQ8_0, Q: q, D: d}
		xq, xd := randQ8Rows(b, nb, 2)
		matchesPerPair(t, p, vnni, w, xq, xd, b, fmt.Sprintf("%dx%d, batch %d", rows, cols, b))
		// Without -128, as quantizeQ8 writes them: batches of eight rows
		// and more take the 4x8 kernel.
		noInt8Min(xq, 3)
		matchesPerPair(t, p, vnni, w, xq, xd, b, fmt.Sprintf("%dx%d, batch %d, no -128", rows, cols, b))
	}
}

// matchesPerPair runs w x over a batch of b quantized rows (xq, xd) through
// matmulJob, serially and on p, without and (where the CPU has it,
// vnni) with the VNNI kernels, and fails unless every y[i][r] is
// dotQ8Q8Impl(row r, x[i]) to the bit.
func matchesPerPair(t *testing.T, p *pool, vnni bool, w *Mat, xq []int8, xd []float32, b int, name string) {
	t.Helper()
	rows, cols, nb := w.Rows, w.Cols, w.Cols/q8Block
	want := make([]float32, b*rows)
	for i := range b {
		for r := range rows {
			want[i*rows+r] = dotQ8Q8Impl(w.Q[r*cols:(r+1)*cols], w.D[r*nb:(r+1)*nb], xq[i*cols:(i+1)*cols], xd[i*nb:(i+1)*nb])
		}
	}
	y := make([]float32, b*rows)
	for _, v := range []bool{false, vnni} {
		hasVNNI = v
		for _, workers := range []int{1, 3} {
			clear(y)
			j := &matmulJob{w: w, y: y, b: b, q8q8: true, xq: xq, xd: xd, x8: v && !hasInt8Min(xq[:b*cols])} // as matmulOf sets it
			if workers == 1 {
				j.run(0, 0, rows)
			} else {
				var wg group
				p.do(&wg, rows, 4, j)
			}
			for k := range y {
				if math.Float32bits(y[k]) != math.Float32bits(want[k]) {
					t.Fatalf("%s, vnni %v, %d workers: y[%d][%d] = %v, per pair %v", name, v, workers, k/rows, k%rows, y[k], want[k])
				}
			}
		}
	}
}

// noInt8Min replaces every -128 of q by a random value in [-127, 127]:
// activations as quantizeQ8 writes them (it never writes -128), which the
// batch-1 VNNI kernel takes; rows holding -128 go pair by pair.
func noInt8Min(q []int8, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 17))
	for i, v := range q {
		if v == -128 {
			q[i] = int8(rng.IntN(255) - 127)
		}
	}
}

// TestDotQ8Q8RowsMatchesPerPair: the batch-1 Q8_0 x Q8_0 kernel (weight
// rows eight, then four, at a time against one activation row, the rest
// pair by pair) gives every row dotQ8Q8Impl's float32 to the bit, with the
// AVX-512 VNNI kernel and without, for weights over the whole int8 range
// (-128 included) and activations without -128 (which take the kernel)
// and with it (which must not).
func TestDotQ8Q8RowsMatchesPerPair(t *testing.T) {
	vnni := hasVNNI
	defer func() { hasVNNI = vnni }()
	for _, nb := range []int{1, 2, 3, 7, 24, 64, 100} {
		n := nb * q8Block
		for seed := range uint64(4) {
			for _, rows := range []int{1, 3, 4, 5, 8, 12, 13, 16, 23, 37} {
				q, d := randQ8Rows(rows, nb, 3*seed+1)
				xq, xd := randQ8Rows(1, nb, 3*seed+2)
				if seed == 0 { // quantized data, as the forward pass makes it
					quantizeQ8(randVec(rows*n, 11), q, d)
					quantizeQ8(randVec(n, 12), xq, xd)
				}
				for _, min128 := range []bool{false, true} {
					x := slices.Clone(xq)
					if !min128 {
						noInt8Min(x, seed)
					} else if seed == 0 {
						continue // quantized activations hold no -128
					} else {
						x[nb*q8Block/2] = -128
					}
					want := make([]float32, rows)
					for r := range rows {
						want[r] = dotQ8Q8Impl(q[r*n:(r+1)*n], d[r*nb:(r+1)*nb], x, xd)
					}
					for _, v := range []bool{false, vnni} {
						hasVNNI = v
						got := make([]float32, rows)
						k := dotQ8Q8Rows(q, d, x, xd, got)
						if wantK := rows &^ 3; v && !min128 && k != wantK {
							t.Fatalf("nb=%d rows=%d: the kernel took %d rows, want %d", nb, rows, k, wantK)
						} else if (!v || min128) && k != 0 {
							t.Fatalf("nb=%d rows=%d, vnni %v, -128 %v: the kernel took %d rows, want 0", nb, rows, v, min128, k)
						}
						for r := range got {
							if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
								t.Fatalf("nb=%d seed %d rows=%d, vnni %v, -128 %v: row %d = %v (%#08x), per pair %v (%#08x)",
									nb, seed, rows, v, min128, r, got[r], math.Float32bits(got[r]), want[r], math.Float32bits(want[r]))
							}
						}
					}
				}
			}
		}
	}
}

// TestMatmulQ8Q8Batch1: the ggml-numerics Q8_0 matmul of one to three
// batch rows (decoding), which takes the batch-1 kernel row block by row
// block, gives y[i][r] = dotQ8Q8Impl(row r, x[i]) to the bit, for odd
// shapes, serially and split over a pool, with and without the VNNI
// kernel; activations with a -128 (no kernel) included.
func TestMatmulQ8Q8Batch1(t *testing.T) {
	vnni := hasVNNI
	defer func() { hasVNNI = vnni }()
	p := testPool(t, 3)
	for _, sh := range []struct{ rows, cols, b int }{
		{37, 32, 1}, {37, 64, 2}, {38, 96, 3}, {41, 224, 1}, {131, 768, 1}, {133, 768, 2}, {203, 320, 3}, {13, 64, 1}, {7, 2048, 1},
	} {
		rows, cols, b := sh.rows, sh.cols, sh.b
		nb := cols / q8Block
		q, d := randQ8Rows(rows, nb, 1)
		w := &Mat{Rows: rows, Cols: cols, Kind: KindQ8_0, Q: q, D: d}
		xq, xd := randQ8Rows(b, nb, 2)
		for _, min128 := range []bool{false, true} {
			x := slices.Clone(xq)
			noInt8Min(x, 5)
			if min128 {
				x[(b-1)*cols+cols/3] = -128 // in the last batch row only
			}
			matchesPerPair(t, p, vnni, w, x, xd, b, fmt.Sprintf("%dx%d, batch %d, -128 %v", rows, cols, b, min128))
		}
	}
}

// quantizeQ8Ref is quantizeQ8 as ggml's reference writes it: the tests' oracle.
func quantizeQ8Ref(x []float32, q []int8, d []float32) {
	for b := 0; b < len(x)/q8Block; b++ {
		blk := x[b*q8Block : (b+1)*q8Block]
		var amax float32
		for _, v := range blk {
			amax = max(amax, abs32(v))
		}
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		d[b] = f16ToF32(f32ToF16(amax / 127))
		for i, v := range blk {
			q[b*q8Block+i] = int8(math.RoundToEven(float64(v * id)))
		}
	}
}

// TestQuantizeQ8MatchesReference checks the fast rounding against
// math.RoundToEven, on values whose scaled quants fall on and near every
// half-integer tie, and a block of zeros.
func TestQuantizeQ8MatchesReference(t *testing.T) {
	x := randVec(64*q8Block, 21)
	for b := 0; b < 16; b++ { // blocks whose quants are exact ties k+0.5
		for i := range q8Block {
			x[b*q8Block+i] = float32(i%16*16+b) + 0.5 - 127
		}
		x[b*q8Block] = 127 // amax 127: id = 1, ties stay ties
	}
	for i := range q8Block {
		x[20*q8Block+i] = 0
	}
	rq, rd := make([]int8, len(x)), make([]float32, len(x)/q8Block)
	quantizeQ8Ref(x, rq, rd)
	for _, k := range []struct {
		name string
		f    func([]float32, []int8, []float32)
	}{{"quantizeQ8", quantizeQ8}, {"quantizeQ8Go", quantizeQ8Go}} {
		q, d := make([]int8, len(x)), make([]float32, len(x)/q8Block)
		k.f(x, q, d)
		for i := range q {
			if q[i] != rq[i] {
				t.Fatalf("%s: x[%d] = %v: quant %d, reference %d", k.name, i, x[i], q[i], rq[i])
			}
		}
		for b := range d {
			if math.Float32bits(d[b]) != math.Float32bits(rd[b]) {
				t.Fatalf("%s: block %d: scale %v, reference %v", k.name, b, d[b], rd[b])
			}
		}
	}
}

func BenchmarkQuantizeQ8(b *testing.B) {
	x := randVec(200*768, 1)
	q, d := make([]int8, len(x)), make([]float32, len(x)/q8Block)
	for _, k := range []struct {
		name string
		f    func([]float32, []int8, []float32)
	}{{"asm", quantizeQ8}, {"go", quantizeQ8Go}, {"ref", quantizeQ8Ref}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.f(x, q, d)
			}
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
		})
	}
}

// TestDotQ8Q8x4xRowsMatchesPerPair: the 4x8 VNNI kernel over a batch
// gives, for every pair, dotQ8Q8Impl's float32 to the bit, written where
// the product's outputs go, on weights with every quant (-128 included)
// and on activations as quantizeQ8 writes them (never -128, which the
// kernel's bias trick needs); it takes the rows in eights and leaves the
// rest.
func TestDotQ8Q8x4xRowsMatchesPerPair(t *testing.T) {
	if !hasVNNI {
		t.Skip("the 4x8 kernel needs AVX-512 VNNI; this CPU has none")
	}
	for _, nb := range []int{1, 2, 3, 7, 24, 64} {
		n := nb * q8Block
		for seed, rows := range []int{8, 13, 16, 27} {
			q, d := randQ8Rows(4, nb, 2*uint64(seed)+1)
			xq, xd := make([]int8, rows*n), make([]float32, rows*nb)
			quantizeQ8(randVec(rows*n, 2*uint64(seed)+2), xq, xd)
			if seed == 1 {
				for i := range q {
					q[i] = -128 // the weights' extreme, which the bias handles
				}
			}
			const ystride = 6
			y := make([]float32, rows*ystride)
			if got := dotQ8Q8x4xRows(q, d, xq, xd, rows, y, ystride); got != rows&^7 {
				t.Fatalf("%d rows: the kernel took %d, want %d", rows, got, rows&^7)
			}
			for c := range rows {
				for a := range 6 {
					want := float32(0)
					if a < 4 && c < rows&^7 {
						want = dotQ8Q8Impl(q[a*n:(a+1)*n], d[a*nb:(a+1)*nb], xq[c*n:(c+1)*n], xd[c*nb:(c+1)*nb])
					}
					if got := y[c*ystride+a]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("nb=%d, %d rows: y[%d][%d] = %v, want %v", nb, rows, c, a, got, want)
					}
				}
			}
		}
	}
}

// testMat is a random rows x cols matrix of kind (F32 or Q8_0).
func testMat(rows, cols int, kind Kind, seed uint64) *Mat {
	w := &Mat{Rows: rows, Cols: cols, Kind: kind, F: randVec(rows*cols, seed)}
	if kind == KindQ8_0 {
		w.Q, w.D = make([]int8, rows*cols), make([]float32, rows*cols/q8Block)
		quantizeQ8(w.F, w.Q, w.D)
		w.F = nil
	}
	return w
}

// TestMatmulsAlikeApart: matrices that read one input, multiplied in one
// dispatch (q, k and v), give each its own product to the bit, also when
// their kinds differ and they go one after another, at batches that take
// each kernel.
func TestMatmulsAlikeApart(t *testing.T) {
	const cols = 256
	for _, kinds := range [][3]Kind{{KindF32, KindF32, KindF32}, {KindQ8_0, KindQ8_0, KindQ8_0}, {KindQ8_0, KindF32, KindQ8_0}} {
		for _, b := range []int{1, 3, 16, 70} {
			m := &Model{GGMLNumerics: true}
			ws := [3]*Mat{testMat(192, cols, kinds[0], 1), testMat(68, cols, kinds[1], 2), testMat(64, cols, kinds[2], 3)}
			st := &runState{xq: make([]int8, b*cols), xd: make([]float32, b*cols/q8Block), xr: make([]float32, b*cols)}
			x := randVec(b*cols, 4)
			var ps []product
			for _, w := range ws {
				ps = append(ps, product{w, make([]float32, b*w.Rows)})
			}
			m.matmuls(st, x, b, ps...)
			for k, w := range ws {
				want := make([]float32, b*w.Rows)
				m.matmul(st, w, x, want, b)
				for i := range want {
					if math.Float32bits(ps[k].y[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kinds %v batch %d: matrix %d output %d = %g together, %g alone", kinds, b, k, i, ps[k].y[i], want[i])
					}
				}
			}
		}
	}
}
