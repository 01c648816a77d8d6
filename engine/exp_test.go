package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpAccuracy checks the float32 exp of the softmax and SiLU kernels
// against math.Exp, over the range softmax feeds it (x - max <= 0) and
// beyond, at every length so that the kernels' tails are covered.
func TestExpAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 40; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.Float64()*170 - 85) // x - 1.5 within the clamp
		}
		got := append([]float32(nil), x...)
		expSub(got, 1.5)
		goVer := append([]float32(nil), x...)
		expSubGo(goVer, 1.5)
		for i, v := range x {
			want := math.Exp(float64(v - 1.5))
			for _, g := range []float32{got[i], goVer[i]} {
				if rel := math.Abs(float64(g)-want) / want; rel > 3e-7 {
					t.Fatalf("n %d: exp(%g) = %g, want %g (relative error %.2g)", n, v-1.5, g, want, rel)
				}
			}
		}
	}
	// Far below the clamp the result is tiny, never zero, NaN or negative.
	x := []float32{-1000, float32(math.Inf(-1)), 0}
	expSub(x, 0)
	if !(x[0] >= 0 && x[0] < 1e-37 && x[1] >= 0 && x[1] < 1e-37 && x[2] == 1) {
		t.Fatalf("clamped exps: %v", x)
	}
}

// TestSwiglu checks silu(h)*u against float64 arithmetic.
func TestSwiglu(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 9, 64, 77} {
		h, u := make([]float32, n), make([]float32, n)
		for i := range h {
			h[i] = float32(rng.NormFloat64() * 6)
			u[i] = float32(rng.NormFloat64())
		}
		h[0] = -200 // exp(-h) clamps: silu(-200) is -0 in float32 either way
		got := append([]float32(nil), h...)
		swiglu(got, u)
		for i := range h {
			x := float64(h[i])
			want := x / (1 + math.Exp(-x)) * float64(u[i])
			if d := math.Abs(float64(got[i]) - want); d > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("n %d: swiglu(%g, %g) = %g, want %g", n, h[i], u[i], got[i], want)
			}
		}
	}
}

func TestSoftmaxSumsToOne(t *testing.T) {
	x := []float32{1, 2, 3, -50, 0.5, 7, 7, 2, 1}
	softmax(x)
	var s float64
	for i, v := range x {
		s += float64(v)
		if i > 0 && x[5] < v {
			t.Fatalf("softmax not monotone: %v", x)
		}
	}
	if math.Abs(s-1) > 1e-6 {
		t.Fatalf("softmax sums to %g: %v", s, x)
	}
}
