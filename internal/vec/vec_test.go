package vec

import (
	"math"
	"math/rand/v2"
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

func TestDot4x4MatchesFloat64(t *testing.T) {
	for _, n := range []int{1, 15, 16, 17, 40, 64, 100, 768} {
		var w, x [4][]float32
		for i := range 4 {
			w[i], x[i] = randVec(n, uint64(10*n+i)), randVec(n+3, uint64(10*n+i+4)) // x may be longer
		}
		var out [16]float32
		Dot4x4(&w, &x, &out, nil)
		for i := range 4 {
			for j := range 4 {
				var want, mag float64
				for k := range n {
					p := float64(w[i][k]) * float64(x[j][k])
					want += p
					mag += math.Abs(p)
				}
				if d := math.Abs(float64(out[4*i+j]) - want); d > 1e-6*mag+1e-7 {
					t.Fatalf("n=%d: out[%d][%d] = %v, want %v", n, i, j, out[4*i+j], want)
				}
			}
		}
	}
}

func BenchmarkDot4x4(b *testing.B) {
	n := 768
	var w, x [4][]float32
	for i := range 4 {
		w[i], x[i] = randVec(n, uint64(i)), randVec(n, uint64(i+4))
	}
	var out [16]float32
	for b.Loop() {
		Dot4x4(&w, &x, &out, nil)
	}
	b.ReportMetric(32*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestDot4x1SumsAsDot4x4 checks the four-row matrix-vector kernel and
// Dot16 against Dot4x4 to the bit, tails included: a token's products
// must not depend on whether it was decoded alone or in a batch.
func TestDot4x1SumsAsDot4x4(t *testing.T) {
	for _, n := range []int{1, 7, 8, 16, 24, 32, 40, 48, 56, 64, 72, 100, 768, 2048} {
		var w [4][]float32
		for k := range 4 {
			w[k] = randVec(n+5, uint64(30*n+k)) // rows may be longer than x
		}
		x := randVec(n, uint64(30*n+9))
		var out [4]float32
		Dot4x1(&w, x, &out)
		wn := [4][]float32{w[0][:n], w[1][:n], w[2][:n], w[3][:n]}
		xs := [4][]float32{x, x, x, x}
		var block [16]float32
		Dot4x4(&wn, &xs, &block, nil)
		for k := range 4 {
			if want := block[4*k]; math.Float32bits(out[k]) != math.Float32bits(want) {
				t.Fatalf("n=%d: row %d: Dot4x1 %v, Dot4x4 %v", n, k, out[k], want)
			}
			if got := Dot16(w[k][:n], x); math.Float32bits(got) != math.Float32bits(out[k]) {
				t.Fatalf("n=%d: row %d: Dot16 %v, Dot4x1 %v", n, k, got, out[k])
			}
		}
	}
}

// TestDot4x4Prefetch checks that fetching other rows ahead changes nothing.
func TestDot4x4Prefetch(t *testing.T) {
	n := 80
	var w, x [4][]float32
	for i := range 4 {
		w[i], x[i] = randVec(n, uint64(50+i)), randVec(n, uint64(60+i))
	}
	pf := [2][]float32{randVec(n, 70), randVec(n, 71)}
	var plain, fetched [16]float32
	Dot4x4(&w, &x, &plain, nil)
	Dot4x4(&w, &x, &fetched, &pf)
	if plain != fetched {
		t.Fatalf("with prefetch %v, without %v", fetched, plain)
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

// TestDot4x4SumsAsTinyBLAS checks Dot4x4's order of sums to the bit: with
// x all ones every fused multiply-add is a plain float32 add, so lanes
// of values far apart in magnitude give a sum that only the one order
// reproduces (tinyBLAS's, on which prefill's parity with ggml rests).
func TestDot4x4SumsAsTinyBLAS(t *testing.T) {
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
		var out [16]float32
		Dot4x4(&w, &x, &out, nil)
		for i := range 4 {
			var s [16]float32
			for k := 0; k < n; k += 16 {
				for l := range 16 {
					s[l] += w[i][k+l]
				}
			}
			want := Reduce16(&s)
			for j := range 4 {
				if got := out[4*i+j]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("n=%d: out[%d][%d] = %v, want %v (tinyBLAS's order)", n, i, j, got, want)
				}
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

// TestDot4xRowsIsDot4x4 checks the whole-batch kernel against Dot4x4 to
// the bit, for batches of 1 to 13 rows (groups of four and the rest),
// with tails past the last 16 and with rows fetched ahead.
func TestDot4xRowsIsDot4x4(t *testing.T) {
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
					xs := [4][]float32{xc, xc, xc, xc}
					var out [16]float32
					Dot4x4(&w, &xs, &out, nil)
					for a := range 4 {
						if got := y[c*ystride+a]; math.Float32bits(got) != math.Float32bits(out[4*a]) {
							t.Fatalf("n %d, %d rows, prefetch %v: y[%d][%d] = %v, Dot4x4 %v", n, rows, fetch != nil, c, a, got, out[4*a])
						}
					}
				}
			}
		}
	}
}
