package engine

import "math"

// The exponentials of attention's softmax and of the feed-forward's SiLU
// are a float32 approximation computed eight at a time (exp_amd64.s), as
// ggml computes them (ggml_v_expf), rather than math.Exp in float64 one at
// a time, which took a quarter of a search step's attention. expf32 is the
// same arithmetic in portable Go: x = n ln2 + r, |r| <= ln2/2, exp(r) by
// its Taylor polynomial of degree 6, times 2^n. Its relative error is
// below 2e-7 (about 2 ulp) for x in [-87, 88]; arguments are clamped there.

const (
	expLo    = -87
	expHi    = 88
	ln2Hi    = 0.693359375
	ln2Lo    = -2.12194440e-4
	invFact3 = float32(1.0 / 6)
	invFact4 = float32(1.0 / 24)
	invFact5 = float32(1.0 / 120)
	invFact6 = float32(1.0 / 720)
)

// expf32 is exp(x) by the kernels' method, for the lanes no kernel covers
// and machines without one.
func expf32(x float32) float32 {
	x = min(max(x, expLo), expHi)
	n := float32(math.RoundToEven(float64(x * math.Log2E)))
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := invFact6
	p = p*r + invFact5
	p = p*r + invFact4
	p = p*r + invFact3
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// softmax turns x into probabilities in place, as ggml does: exps summed in
// float64, then scaled by the reciprocal of the sum.
func softmax(x []float32) {
	maxv := float32(math.Inf(-1))
	for _, v := range x {
		if v > maxv { // not the builtin max, whose NaN and signed-zero care cost 2x here
			maxv = v
		}
	}
	expSub(x, maxv)
	var sum float64
	for _, e := range x {
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// swigluGo is swiglu in portable Go.
func swigluGo(h, u []float32) {
	u = u[:len(h)]
	for i, x := range h {
		h[i] = x / (1 + expf32(-x)) * u[i]
	}
}

// expSubGo is expSub in portable Go.
func expSubGo(x []float32, m float32) {
	for i, v := range x {
		x[i] = expf32(v - m)
	}
}
