package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(r *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(std * r.NormFloat64())
	}
	return x
}

// weighted is Σ out·r in float64: a scalar loss whose gradient wrt out is r.
func weighted(out, r []float32) float64 {
	var s float64
	for i := range out {
		s += float64(out[i]) * float64(r[i])
	}
	return s
}

// checkGrad compares analytic gradients with central finite differences of
// loss at a sample of coordinates of x.
func checkGrad(t *testing.T, name string, x, grad []float32, loss func() float64, samples int, tol float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, uint64(len(x))))
	const eps = 1e-2
	var worst float64
	for s := 0; s < samples; s++ {
		i := r.IntN(len(x))
		if s < len(x) && samples >= len(x) {
			i = s
		}
		old := x[i]
		x[i] = old + eps
		lp := loss()
		x[i] = old - eps
		lm := loss()
		x[i] = old
		num := (lp - lm) / (2 * eps)
		diff := math.Abs(num - float64(grad[i]))
		rel := diff / math.Max(1e-2, math.Abs(num)+math.Abs(float64(grad[i])))
		worst = math.Max(worst, rel)
		if rel > tol {
			t.Errorf("%s[%d]: analytic %.6g, numeric %.6g (rel %.3g)", name, i, grad[i], num, rel)
		}
	}
	t.Logf("%s: worst relative error %.3g over %d coordinates", name, worst, samples)
}

func TestGradMatmul(t *testing.T) {
	p := newPool(2)
	defer p.close()
	r := rand.New(rand.NewPCG(1, 2))
	n, in, o := 9, 13, 7
	x, w, dy := randVec(r, n*in, 1), randVec(r, o*in, 1), randVec(r, n*o, 1)
	out := make([]float32, n*o)
	loss := func() float64 { matmulForward(p, out, x, w, n, in, o); return weighted(out, dy) }
	dx, dw := make([]float32, n*in), make([]float32, o*in)
	matmulBackward(p, dx, dw, dy, x, w, n, in, o, false)
	checkGrad(t, "dx", x, dx, loss, 40, 1e-2)
	checkGrad(t, "dw", w, dw, loss, 40, 1e-2)
	// The product itself against a plain triple loop.
	matmulForward(p, out, x, w, n, in, o)
	for i := 0; i < n; i++ {
		for j := 0; j < o; j++ {
			var s float64
			for k := 0; k < in; k++ {
				s += float64(x[i*in+k]) * float64(w[j*in+k])
			}
			if math.Abs(s-float64(out[i*o+j])) > 1e-4 {
				t.Fatalf("out[%d,%d] = %g, want %g", i, j, out[i*o+j], s)
			}
		}
	}
}

func TestGradEmbedding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	v, d := 6, 5
	tokens := []int32{3, 1, 3, 0, 5}
	emb, dy := randVec(r, v*d, 1), randVec(r, len(tokens)*d, 1)
	out := make([]float32, len(tokens)*d)
	loss := func() float64 { embeddingForward(out, tokens, emb, d); return weighted(out, dy) }
	demb := make([]float32, v*d)
	embeddingBackward(demb, dy, tokens, d)
	checkGrad(t, "demb", emb, demb, loss, v*d, 1e-2)
}

func TestGradRMSNorm(t *testing.T) {
	p := newPool(2)
	defer p.close()
	r := rand.New(rand.NewPCG(1, 4))
	n, d := 5, 8
	x, g, dy := randVec(r, n*d, 1), randVec(r, d, 1), randVec(r, n*d, 1)
	out, rstd := make([]float32, n*d), make([]float32, n)
	loss := func() float64 { rmsnormForward(p, out, rstd, x, g, n, d); return weighted(out, dy) }
	loss()
	dx, dg := make([]float32, n*d), make([]float32, d)
	rmsnormBackward(p, dx, dg, dy, x, g, rstd, n, d)
	checkGrad(t, "dx", x, dx, loss, n*d, 2e-2)
	checkGrad(t, "dg", g, dg, loss, d, 2e-2)
}

func TestGradRope(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 5))
	n, T, heads, hd := 6, 3, 2, 4
	cos, sin := ropeTable(T, hd, 10000)
	x0, dy := randVec(r, n*heads*hd, 1), randVec(r, n*heads*hd, 1)
	x := append([]float32(nil), x0...)
	out := make([]float32, len(x))
	loss := func() float64 {
		copy(out, x)
		ropeForward(out, n, T, heads, hd, cos, sin)
		return weighted(out, dy)
	}
	dx := append([]float32(nil), dy...)
	ropeBackward(dx, n, T, heads, hd, cos, sin)
	checkGrad(t, "dx", x, dx, loss, len(x), 1e-2)
	// Position 0 is the identity; position 1 turns pair 0 by exactly 1 radian.
	copy(out, x0)
	ropeForward(out, n, T, heads, hd, cos, sin)
	for i := 0; i < heads*hd; i++ {
		if out[i] != x0[i] {
			t.Fatalf("position 0 changed element %d: %g -> %g", i, x0[i], out[i])
		}
	}
	row := heads * hd
	a, b := float64(x0[row]), float64(x0[row+1])
	want0, want1 := a*math.Cos(1)-b*math.Sin(1), a*math.Sin(1)+b*math.Cos(1)
	if math.Abs(float64(out[row])-want0) > 1e-5 || math.Abs(float64(out[row+1])-want1) > 1e-5 {
		t.Fatalf("position 1 pair 0 = (%g, %g), want (%g, %g)", out[row], out[row+1], want0, want1)
	}
}

func TestGradAttention(t *testing.T) {
	p := newPool(2)
	defer p.close()
	r := rand.New(rand.NewPCG(1, 6))
	sh := attnShape{b: 2, t: 5, heads: 4, kvHeads: 2, hd: 3}
	n := sh.b * sh.t
	for _, starts := range [][]int32{
		make([]int32, n),               // plain causal
		{0, 0, 2, 2, 2, 0, 1, 1, 1, 4}, // examples packed: [0,2) [2,5) | [0,1) [1,4) [4,5)
	} {
		q, k, v := randVec(r, n*sh.heads*sh.hd, 1), randVec(r, n*sh.kvHeads*sh.hd, 1), randVec(r, n*sh.kvHeads*sh.hd, 1)
		dy := randVec(r, n*sh.heads*sh.hd, 1)
		out, att := make([]float32, len(q)), make([]float32, sh.b*sh.heads*sh.t*sh.t)
		loss := func() float64 { attentionForward(p, out, att, q, k, v, starts, sh); return weighted(out, dy) }
		loss()
		dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
		attentionBackward(p, dq, dk, dv, dy, att, q, k, v, starts, sh)
		checkGrad(t, "dq", q, dq, loss, len(q), 2e-2)
		checkGrad(t, "dk", k, dk, loss, len(k), 2e-2)
		checkGrad(t, "dv", v, dv, loss, len(v), 2e-2)
		// Causality: changing token j of sequence 0 moves only the outputs
		// of later positions whose window holds j.
		for j := range sh.t {
			before := append([]float32(nil), out...)
			k[j*sh.kvHeads*sh.hd] += 5
			v[j*sh.kvHeads*sh.hd] += 5
			loss()
			for i := range sh.t {
				moved := false
				for x := i * sh.heads * sh.hd; x < (i+1)*sh.heads*sh.hd; x++ {
					moved = moved || out[x] != before[x]
				}
				if sees := i >= j && int(starts[i]) <= j; moved && !sees {
					t.Fatalf("starts %v: output %d moved when token %d changed", starts, i, j)
				}
			}
		}
	}
}

// TestMatmulBackwardMatchesLoops checks both products of the backward pass
// against float64 loops on shapes that use the 4×24 kernel, its row and
// column tails and more than one block of the summed dimension.
func TestMatmulBackwardMatchesLoops(t *testing.T) {
	p := newPool(2)
	defer p.close()
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][3]int{{30, 53, 29}, {300, 48, 50}, {9, 13, 7}} {
		n, in, o := sh[0], sh[1], sh[2]
		x, w, dy := randVec(r, n*in, 1), randVec(r, o*in, 1), randVec(r, n*o, 1)
		dx0, dw0 := randVec(r, n*in, 1), randVec(r, o*in, 1)
		for _, accIn := range []bool{false, true} {
			dx, dw := append([]float32{}, dx0...), append([]float32{}, dw0...)
			matmulBackward(p, dx, dw, dy, x, w, n, in, o, accIn)
			for i := range n {
				for j := range in {
					var s float64
					if accIn {
						s = float64(dx0[i*in+j])
					}
					for k := range o {
						s += float64(dy[i*o+k]) * float64(w[k*in+j])
					}
					if math.Abs(s-float64(dx[i*in+j])) > 1e-4*(1+math.Abs(s)) {
						t.Fatalf("%v accIn %v: dx[%d,%d] = %g, want %g", sh, accIn, i, j, dx[i*in+j], s)
					}
				}
			}
			for k := range o {
				for j := range in {
					s := float64(dw0[k*in+j])
					for i := range n {
						s += float64(dy[i*o+k]) * float64(x[i*in+j])
					}
					if math.Abs(s-float64(dw[k*in+j])) > 1e-4*(1+math.Abs(s)) {
						t.Fatalf("%v: dw[%d,%d] = %g, want %g", sh, k, j, dw[k*in+j], s)
					}
				}
			}
		}
	}
}

func TestGradSwiGLU(t *testing.T) {
	p := newPool(2)
	defer p.close()
	r := rand.New(rand.NewPCG(1, 7))
	n := 20
	g, u, dy := randVec(r, n, 2), randVec(r, n, 1), randVec(r, n, 1)
	h := make([]float32, n)
	loss := func() float64 { swigluForward(p, h, g, u); return weighted(h, dy) }
	dg, du := make([]float32, n), make([]float32, n)
	swigluBackward(p, dg, du, dy, g, u)
	checkGrad(t, "dg", g, dg, loss, n, 1e-2)
	checkGrad(t, "du", u, du, loss, n, 1e-2)
}

func TestGradCrossEntropy(t *testing.T) {
	p := newPool(2)
	defer p.close()
	r := rand.New(rand.NewPCG(1, 8))
	n, v := 6, 9
	logits := randVec(r, n*v, 2)
	targets := []int32{0, 8, 3, 3, 5, 1}
	weights := []float32{1, 0, 1, 1, 0, 1}
	losses, dl := make([]float32, n), make([]float32, n*v)
	loss := func() float64 {
		crossEntropy(p, losses, make([]float32, n*v), logits, targets, weights, 0.25, v)
		var s float64
		for i, l := range losses {
			s += float64(weights[i]) * float64(l) * 0.25
		}
		return s
	}
	crossEntropy(p, losses, dl, logits, targets, weights, 0.25, v)
	checkGrad(t, "dlogits", logits, dl, loss, n*v, 1e-2)
	// The loss of a row is -log softmax at the target, checked in float64.
	var z float64
	for i := 0; i < v; i++ {
		z += math.Exp(float64(logits[i]))
	}
	if want := math.Log(z) - float64(logits[0]); math.Abs(want-float64(losses[0])) > 1e-5 {
		t.Fatalf("loss[0] = %g, want %g", losses[0], want)
	}
}

func TestExp32(t *testing.T) {
	var worst float64
	for x := -87.0; x < 88.5; x += 0.01237 {
		got, want := float64(exp32(float32(x))), math.Exp(float64(float32(x)))
		rel := math.Abs(got-want) / want
		worst = math.Max(worst, rel)
		if rel > 3e-7 {
			t.Fatalf("exp32(%g) = %g, want %g (rel %g)", x, got, want, rel)
		}
	}
	if exp32(-100) != 0 || !math.IsInf(float64(exp32(100)), 1) || exp32(0) != 1 {
		t.Fatalf("edges: exp32(-100)=%g exp32(100)=%g exp32(0)=%g", exp32(-100), exp32(100), exp32(0))
	}
	t.Logf("worst relative error %.3g", worst)
}
