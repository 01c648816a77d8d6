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
