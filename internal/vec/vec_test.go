package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

func randVec(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestDotMatchesFloat64 checks the dot product (assembly where the CPU has
// it) and the portable one against float64 at many lengths, tails
// included.
func TestDotMatchesFloat64(t *testing.T) {
	if !HasAsm {
		t.Log("no assembly kernel on this CPU: checking the Go path only")
	}
	for n := 0; n < 300; n += 1 + n/8 {
		a, b := randVec(n, uint64(n)), randVec(n, uint64(n)+1000)
		var want, mag float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
			mag += math.Abs(float64(a[i]) * float64(b[i]))
		}
		tol := 1e-6*mag + 1e-6
		if g := float64(Dot(a, b)); math.Abs(g-want) > tol {
			t.Fatalf("n=%d: Dot %v, want %v", n, g, want)
		}
		if g := float64(DotGo(a, b)); math.Abs(g-want) > tol {
			t.Fatalf("n=%d: DotGo %v, want %v", n, g, want)
		}
	}
}

func TestDot2x4MatchesGo(t *testing.T) {
	for _, n := range []int{1, 8, 13, 64, 100, 256} {
		w0, w1 := randVec(n, 1), randVec(n, 2)
		xs := [4][]float32{randVec(n, 3), randVec(n, 4), randVec(n, 5), randVec(n, 6)}
		var out, ref [8]float32
		Dot2x4(w0, w1, xs[0], xs[1], xs[2], xs[3], &out)
		Dot2x4Go(w0, w1, xs[0], xs[1], xs[2], xs[3], &ref)
		for k := range out {
			// out[4*i+j] is wi . xj.
			w := [2][]float32{w0, w1}[k/4]
			if math.Abs(float64(out[k]-ref[k])) > 1e-4*float64(n) || ref[k] != DotGo(w, xs[k%4]) {
				t.Fatalf("n=%d: Dot2x4[%d] = %v, Go %v", n, k, out[k], ref[k])
			}
		}
	}
}

func TestAxpyMatchesGo(t *testing.T) {
	for _, n := range []int{1, 8, 13, 64, 100} {
		x, y := randVec(n, 1), randVec(n, 2)
		want := append([]float32{}, y...)
		AxpyGo(want, 0.37, x)
		Axpy(y, 0.37, x)
		for i := range y {
			if math.Abs(float64(y[i]-want[i])) > 1e-6*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("n=%d: Axpy[%d] = %v, want %v", n, i, y[i], want[i])
			}
		}
	}
}

func BenchmarkDot2x4(b *testing.B) {
	n := 192
	w0, w1 := randVec(n, 1), randVec(n, 2)
	xs := [4][]float32{randVec(n, 3), randVec(n, 4), randVec(n, 5), randVec(n, 6)}
	var out [8]float32
	for b.Loop() {
		Dot2x4(w0, w1, xs[0], xs[1], xs[2], xs[3], &out)
	}
	b.ReportMetric(16*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func TestOuter4x24MatchesGo(t *testing.T) {
	for _, n := range []int{1, 2, 7, 64, 300} {
		// a as a 4×n row-major matrix (ar = n, ap = 1) and as its n×4
		// transpose inside a wider n×5 matrix (ar = 1, ap = 5).
		for _, st := range [][2]int{{n, 1}, {1, 5}} {
			ar, ap := st[0], st[1]
			a := randVec(3*ar+(n-1)*ap+1, uint64(n))
			b := randVec(n*30, uint64(n)+1) // ldb 30
			c := randVec(4*26, 9)           // ldc 26
			want := append([]float32{}, c...)
			Outer4x24(c, 26, a, ar, ap, b, 30, n)
			Outer4x24Go(want, 26, a, ar, ap, b, 30, n)
			for i := range c {
				if math.Abs(float64(c[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("n=%d strides %v: c[%d] = %v, Go %v", n, st, i, c[i], want[i])
				}
			}
			// Against float64, and the columns past 24 untouched.
			c0 := randVec(4*26, 9)
			for r := range 4 {
				for j := range 26 {
					w := float64(c0[r*26+j])
					if j < 24 {
						for p := range n {
							w += float64(a[r*ar+p*ap]) * float64(b[p*30+j])
						}
					}
					if math.Abs(float64(c[r*26+j])-w) > 1e-4*(1+math.Abs(w)) {
						t.Fatalf("n=%d strides %v: c[%d][%d] = %v, want %v", n, st, r, j, c[r*26+j], w)
					}
				}
			}
		}
	}
}

func BenchmarkOuter4x24(b *testing.B) {
	n := 512
	a, bm, c := randVec(4*n, 1), randVec(n*24, 2), make([]float32, 4*24)
	for b.Loop() {
		Outer4x24(c, 24, a, n, 1, bm, 24, n)
	}
	b.ReportMetric(2*4*24*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestDot4xRowsMatchesFloat64 checks the batch kernel (assembly where the
// CPU has it) against float64 at many lengths, tails included.
func TestDot4xRowsMatchesFloat64(t *testing.T) {
	for _, n := range []int{1, 15, 16, 17, 40, 64, 100, 768} {
		var w [4][]float32
		for i := range 4 {
			w[i] = randVec(n, uint64(10*n+i))
		}
		const rows = 5
		x := randVec(rows*(n+3), uint64(10*n+9)) // rows n+3 apart
		y := make([]float32, rows*4)
		Dot4xRows(&w, x, n+3, rows, y, 4, nil)
		for a := range 4 {
			for c := range rows {
				var want, mag float64
				for k := range n {
					p := float64(w[a][k]) * float64(x[c*(n+3)+k])
					want += p
					mag += math.Abs(p)
				}
				if d := math.Abs(float64(y[4*c+a]) - want); d > 1e-6*mag+1e-7 {
					t.Fatalf("n=%d: y[%d][%d] = %v, want %v", n, c, a, y[4*c+a], want)
				}
			}
		}
	}
}

// BenchmarkDot4xRows is the batch kernel with its weights in cache, at a
// search step's 16 rows and at the 1 to 3 rows a tree search's smaller
// batches have.
func BenchmarkDot4xRows(b *testing.B) {
	for _, rows := range []int{1, 2, 3, 16} {
		b.Run(fmt.Sprint("rows", rows), func(b *testing.B) {
			n := 768
			var w [4][]float32
			for i := range 4 {
				w[i] = randVec(n, uint64(i))
			}
			x, y := randVec(rows*n, 9), make([]float32, rows*4)
			for b.Loop() {
				Dot4xRows(&w, x, n, rows, y, 4, nil)
			}
			b.ReportMetric(2*4*float64(rows*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDot4xRowsFromMemory is BenchmarkDot4xRows with weights that
// do not fit in cache: a 16-row batch (a search step) against 384 MiB of
// 768-wide rows, about the 100M random model's F32 weights, the rows split
// over GOMAXPROCS goroutines and each call prefetching the next four rows,
// as the engine's blocked4 runs it, with no pool, attention or sampling
// around it. Its rate is the most a search step's matrix products can
// reach on this machine with this kernel (pareto bench engine's "search's
// matmuls alone" measures the same through the engine).
func BenchmarkDot4xRowsFromMemory(b *testing.B) {
	const n, batch, total = 768, 16, 1 << 17
	procs := runtime.GOMAXPROCS(0)
	w := make([]float32, total*n)
	for i := range w {
		w[i] = float32(i%7) * 0.1
	}
	x := randVec(batch*n, 9)
	y := make([]float32, batch*total)
	for b.Loop() {
		var wg sync.WaitGroup
		for p := range procs {
			wg.Go(func() {
				lo, hi := p*total/procs&^3, (p+1)*total/procs&^3
				var wr [4][]float32
				for r := lo; r < hi; r += 4 {
					for k := range 4 {
						wr[k] = w[(r+k)*n : (r+k+1)*n]
					}
					var next []float32
					if r+8 <= hi {
						next = w[(r+4)*n : (r+8)*n]
					}
					Dot4xRows(&wr, x, n, batch, y[r:], total, next)
				}
			})
		}
		wg.Wait()
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(2*float64(batch)*float64(len(w))*float64(b.N)/s/1e9, "GFLOP/s")
	b.ReportMetric(4*float64(len(w))*float64(b.N)/s/1e9, "GB/s")
}

// TestDot4x1SumsAsDot16 checks the four-row matrix-vector kernel against
// Dot16 to the bit, tails included: a token's products must not depend on
// whether it was decoded alone or in a batch.
func TestDot4x1SumsAsDot16(t *testing.T) {
	for _, n := range []int{1, 7, 8, 16, 24, 32, 40, 48, 56, 64, 72, 100, 768, 2048} {
		var w [4][]float32
		for k := range 4 {
			w[k] = randVec(n+5, uint64(30*n+k)) // rows may be longer than x
		}
		x := randVec(n, uint64(30*n+9))
		var out [4]float32
		Dot4x1(&w, x, &out)
		for k := range 4 {
			if got := Dot16(w[k][:n], x); math.Float32bits(got) != math.Float32bits(out[k]) {
				t.Fatalf("n=%d: row %d: Dot16 %v, Dot4x1 %v", n, k, got, out[k])
			}
		}
	}
}

func BenchmarkDot4x1(b *testing.B) {
	n := 768
	var w [4][]float32
	for k := range 4 {
		w[k] = randVec(n, uint64(k))
	}
	x := randVec(n, 9)
	var out [4]float32
	for b.Loop() {
		Dot4x1(&w, x, &out)
	}
	b.ReportMetric(8*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestDot16SumsAsTinyBLAS checks the 16-lane kernels' order of sums to the bit: with
// x all ones every fused multiply-add is a plain float32 add, so lanes
// of values far apart in magnitude give a sum that only the one order
// reproduces (tinyBLAS's, on which prefill's parity with ggml rests).
func TestDot16SumsAsTinyBLAS(t *testing.T) {
	for _, n := range []int{16, 32, 48, 768} {
		var w, x [4][]float32
		for i := range 4 {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(i)))
			w[i] = make([]float32, n)
			for k := range w[i] {
				// Magnitudes from 1e-4 to 1e4, either sign.
				w[i][k] = float32(math.Pow(10, 8*rng.Float64()-4)) * float32(1-2*rng.IntN(2))
			}
			x[i] = make([]float32, n)
			for k := range x[i] {
				x[i][k] = 1
			}
		}
		y := make([]float32, 4*4)
		Dot4xRows(&w, slices.Concat(x[0], x[1], x[2], x[3]), n, 4, y, 4, nil)
		for i := range 4 {
			var s [16]float32
			for k := 0; k < n; k += 16 {
				for l := range 16 {
					s[l] += w[i][k+l]
				}
			}
			want := Reduce16(&s)
			for j := range 4 {
				if got := y[4*j+i]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("n=%d: out[%d][%d] = %v, want %v (tinyBLAS's order)", n, i, j, got, want)
				}
			}
			if got := Dot16(w[i], x[0]); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n=%d: Dot16 of row %d = %v, want %v (tinyBLAS's order)", n, i, got, want)
			}
		}
		// Another order of the lanes gives another sum, so the check can fail.
		if n == 768 {
			var s [16]float32
			for k := 0; k < n; k += 16 {
				for l := range 16 {
					s[l] += w[0][k+l]
				}
			}
			var seq float32
			for _, v := range s {
				seq += v
			}
			if seq == Reduce16(&s) {
				t.Fatalf("lanes %v sum alike in order and in tinyBLAS's order: the test cannot tell them apart", s)
			}
		}
	}
}

// groupsOf cuts n rows at stride of v into groups of four, each its own
// slice (as KV blocks are), with a gap between groups.
func groupsOf(n, stride, width int, seed uint64) [][]float32 {
	g := make([][]float32, n/4)
	for i := range g {
		g[i] = randVec(3*stride+width+7, seed+uint64(i))
	}
	return g
}

// TestDot4xGIsDot16 checks the group kernels against Dot16 to the bit:
// attention scores must be the same whether a row's keys were met alone
// or beside other rows'.
func TestDot4xGIsDot16(t *testing.T) {
	for _, hd := range []int{16, 40, 64, 128} {
		for _, n := range []int{4, 8, 64, 132, 260} {
			stride := hd + 24
			g := groupsOf(n, stride, hd, uint64(hd+n))
			var x [4][]float32
			for j := range 4 {
				x[j] = randVec(hd, uint64(100*j+hd))
			}
			ostride := n + 5
			out := make([]float32, 4*ostride)
			Dot4xG(&x, g, stride, 0.125, out, ostride)
			one := make([]float32, n)
			for j := range 4 {
				Dot1xG(x[j], g, stride, 0.125, one)
				for tt := range n {
					rows := g[tt/4]
					want := Dot16(x[j], rows[tt%4*stride:tt%4*stride+hd]) * 0.125
					if got := out[j*ostride+tt]; math.Float32bits(got) != math.Float32bits(want) || math.Float32bits(one[tt]) != math.Float32bits(want) {
						t.Fatalf("hd %d, n %d: vector %d, row %d: Dot4xG %v, Dot1xG %v, Dot16 %v", hd, n, j, tt, got, one[tt], want)
					}
				}
			}
		}
	}
}

// TestAxpy4xGIsAxpy checks the group weighted sums against Axpy after
// Axpy, to the bit, with columns past the last 64.
func TestAxpy4xGIsAxpy(t *testing.T) {
	for _, m := range []int{8, 64, 72, 128} {
		for _, n := range []int{4, 8, 132, 260} {
			stride := m + 8
			g := groupsOf(n, stride, m, uint64(m+n))
			var out, w, want [4][]float32
			for j := range 4 {
				out[j] = randVec(m, uint64(7*j+m))
				want[j] = append([]float32(nil), out[j]...)
				w[j] = randVec(n, uint64(9*j+n))
			}
			one := append([]float32(nil), out[0]...)
			Axpy4xG(&out, &w, g, stride)
			Axpy1xG(one, w[0], g, stride)
			for j := range 4 {
				for tt := range n {
					Axpy(want[j], w[j][tt], g[tt/4][tt%4*stride:tt%4*stride+m])
				}
				for d := range m {
					if math.Float32bits(out[j][d]) != math.Float32bits(want[j][d]) || j == 0 && math.Float32bits(one[d]) != math.Float32bits(want[0][d]) {
						t.Fatalf("m %d, n %d: row %d, element %d: %v (one output %v), Axpy after Axpy %v", m, n, j, d, out[j][d], one[d], want[j][d])
					}
				}
			}
		}
	}
}

// TestDot4xRowsIsDot16 checks the whole-batch kernel against Dot16 to
// the bit, for batches of 1 to 13 rows (groups of four and the rest),
// with tails past the last 16 and with rows fetched ahead.
func TestDot4xRowsIsDot16(t *testing.T) {
	for _, n := range []int{16, 48, 768, 770} {
		for rows := 1; rows <= 13; rows++ {
			var w [4][]float32
			for a := range 4 {
				w[a] = randVec(n, uint64(n+a))
			}
			xstride, ystride := n+3, 9
			x := randVec(rows*xstride, uint64(rows))
			pf := randVec(4*n, 77)
			for _, fetch := range [][]float32{nil, pf} {
				y := make([]float32, rows*ystride)
				Dot4xRows(&w, x, xstride, rows, y, ystride, fetch)
				for c := range rows {
					xc := x[c*xstride : c*xstride+n]
					for a := range 4 {
						if got, want := y[c*ystride+a], Dot16(w[a], xc); math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("n %d, %d rows, prefetch %v: y[%d][%d] = %v, Dot16 %v", n, rows, fetch != nil, c, a, got, want)
						}
					}
				}
			}
		}
	}
}
