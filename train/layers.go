package train

import (
	"math"

	"github.com/pareto-llm/pareto/internal/vec"
)

// Every layer is a forward/backward pair over N = batch*seq_len rows.
// Backward functions add into parameter gradients (they are zeroed once per
// step) and, where noted, into input gradients, which is how the residual
// stream sums its branches.

// ---------------------------------------------------------------- matmul

// gemm sets C[M×Nc] to the product A[M×K]·B[Nc×K]ᵀ: the forward pass,
// where B is a weight matrix in ggml's layout (one output's weights
// contiguous). Rows of C are split among the workers; each element is one
// dot product summed in a fixed order. A 2×4 register block makes every
// load of A and B serve several products.
func gemm(p *pool, c, a, b []float32, m, nc, k int) {
	p.run((m+1)/2, func(lo, hi int) {
		var s [8]float32
		for i0 := lo * 2; i0 < min(hi*2, m); i0 += 2 {
			if i0+2 > m {
				ai := a[i0*k : i0*k+k]
				for j := 0; j < nc; j++ {
					c[i0*nc+j] = vec.Dot(ai, b[j*k:j*k+k])
				}
				continue
			}
			a0, a1 := a[i0*k:i0*k+k], a[(i0+1)*k:(i0+1)*k+k]
			j := 0
			for ; j+4 <= nc; j += 4 {
				vec.Dot2x4(a0, a1, b[j*k:j*k+k], b[(j+1)*k:(j+1)*k+k], b[(j+2)*k:(j+2)*k+k], b[(j+3)*k:(j+3)*k+k], &s)
				copy(c[i0*nc+j:i0*nc+j+4], s[:4])
				copy(c[(i0+1)*nc+j:(i0+1)*nc+j+4], s[4:])
			}
			for ; j < nc; j++ {
				bj := b[j*k : j*k+k]
				c[i0*nc+j] = vec.Dot(a0, bj)
				c[(i0+1)*nc+j] = vec.Dot(a1, bj)
			}
		}
	})
}

// exp32 is e^x in float32 to about one ulp: Cody-Waite reduction by ln 2
// and a degree-6 polynomial (the Cephes expf coefficients). It is several
// times faster than math.Exp, which dominates softmax and SiLU otherwise.
func exp32(x float32) float32 {
	switch {
	case x > 88.72:
		return float32(math.Inf(1))
	case x < -87.3:
		return 0
	case x != x:
		return x
	}
	n := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	r := x - n*0.693359375 - n*-2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	if n > 127 { // 2^128 is not a float32; take one factor 2 apart
		return p * 2 * math.Float32frombits(uint32(int32(n)+126)<<23)
	}
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// matmulForward sets out[N×O] = inp[N×I]·wᵀ, w being O×I (ggml's layout:
// one output's weights contiguous).
func matmulForward(p *pool, out, inp, w []float32, n, in, o int) {
	gemm(p, out, inp, w, n, o, in)
}

// matmulBackward adds doutᵀ·inp to dw and sets (accIn: adds) dinp to
// dout·w. Both are products of the matrices as they lie, read with the
// strides each needs, so nothing is transposed.
func matmulBackward(p *pool, dinp, dw, dout, inp, w []float32, n, in, o int, accIn bool) {
	if dinp != nil {
		if !accIn {
			clear(dinp[:n*in])
		}
		gemmAdd(p, dinp, dout, w, n, in, o, o, 1) // dinp[n][i] += Σ_o dout[n][o]·w[o][i]
	}
	gemmAdd(p, dw, dout, inp, o, in, n, 1, o) // dw[o][i] += Σ_n dout[n][o]·inp[n][i]
}

// gemmAdd adds to C[m×nc] the product A·B, where A's element (r, q) is
// a[r*ar+q*aq] (r < m, q < k) and B is k×nc, row-major. Rows of C go to
// the workers; each sums over q in blocks of gemmKBlock, in order, so the
// result does not depend on the number of workers. Within a block, a
// gemmKBlock×24 tile of B stays in L1 while every 4-row block of the
// worker's rows uses it.
func gemmAdd(p *pool, c, a, b []float32, m, nc, k, ar, aq int) {
	nb := nc - nc%24
	p.run((m+3)/4, func(lo, hi int) {
		rEnd := min(hi*4, m)
		full := lo*4 + (rEnd-lo*4)&^3 // rows [lo*4, full) in whole 4-row blocks
		for q0 := 0; q0 < k; q0 += gemmKBlock {
			kq := min(gemmKBlock, k-q0)
			for j := 0; j < nb; j += 24 {
				bTile := b[q0*nc+j:]
				for r0 := lo * 4; r0 < full; r0 += 4 {
					vec.Outer4x24(c[r0*nc+j:], nc, a[r0*ar+q0*aq:], ar, aq, bTile, nc, kq)
				}
			}
			// The columns past the last whole 24, and the rows past the
			// last whole 4, one row at a time.
			for r := lo * 4; r < rEnd; r++ {
				j0 := nb
				if r >= full {
					j0 = 0
				}
				if j0 == nc {
					continue
				}
				row := c[r*nc+j0 : r*nc+nc]
				for q := q0; q < q0+kq; q++ {
					vec.Axpy(row, a[r*ar+q*aq], b[q*nc+j0:q*nc+nc])
				}
			}
		}
	})
}

// gemmKBlock is how many rows of B one tile holds.
const gemmKBlock = 64

// ---------------------------------------------------------------- embedding

// embeddingForward copies row tokens[n] of emb (V×d) to out row n.
func embeddingForward(out []float32, tokens []int32, emb []float32, d int) {
	for n, t := range tokens {
		copy(out[n*d:(n+1)*d], emb[int(t)*d:int(t+1)*d])
	}
}

// embeddingBackward adds each row's gradient to its token's embedding row,
// in row order (rows sharing a token would race in parallel).
func embeddingBackward(demb, dout []float32, tokens []int32, d int) {
	for n, t := range tokens {
		row := demb[int(t)*d : int(t+1)*d]
		for i, g := range dout[n*d : (n+1)*d] {
			row[i] += g
		}
	}
}

// ---------------------------------------------------------------- rmsnorm

const rmsEps = 1e-5

// rmsnormForward sets out = x / sqrt(mean(x²)+eps) * g per row and keeps
// the reciprocal root in rstd for the backward pass. The mean is summed in
// float64, as ggml does.
func rmsnormForward(p *pool, out, rstd, x, g []float32, n, d int) {
	p.run(n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*d : (r+1)*d]
			var ss float64
			for _, v := range xr {
				ss += float64(v * v)
			}
			s := float32(1 / math.Sqrt(ss/float64(d)+rmsEps))
			rstd[r] = s
			o := out[r*d : (r+1)*d]
			for i, v := range xr {
				o[i] = v * s * g[i]
			}
		}
	})
}

// rmsnormBackward adds to dx and dg. With y = x·s·g and s = (mean(x²)+eps)^-½:
// dx = s·(dy·g) − x·s³/d·Σ(dy·g·x).
func rmsnormBackward(p *pool, dx, dg, dout, x, g, rstd []float32, n, d int) {
	p.run(n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dy, dxr := x[r*d:(r+1)*d], dout[r*d:(r+1)*d], dx[r*d:(r+1)*d]
			s := rstd[r]
			var dot float64
			for i, v := range xr {
				dot += float64(dy[i] * g[i] * v)
			}
			c := float32(dot) * s * s * s / float32(d)
			for i, v := range xr {
				dxr[i] += s*dy[i]*g[i] - c*v
			}
		}
	})
	for r := 0; r < n; r++ {
		xr, dy, s := x[r*d:(r+1)*d], dout[r*d:(r+1)*d], rstd[r]
		for i, v := range xr {
			dg[i] += dy[i] * v * s
		}
	}
}

// ---------------------------------------------------------------- rope

// ropeTable returns cos and sin (T × hd/2) for llama.cpp's NORM rope:
// pair i of position pos turns by pos·base^(-2i/hd); theta advances by
// float32 multiplication as in ggml, so exported models match llama.cpp.
func ropeTable(t, hd int, base float64) (cos, sin []float32) {
	half := hd / 2
	cos, sin = make([]float32, t*half), make([]float32, t*half)
	scale := float32(math.Pow(base, -2.0/float64(hd)))
	for pos := 0; pos < t; pos++ {
		theta := float32(pos)
		for i := 0; i < half; i++ {
			cos[pos*half+i] = float32(math.Cos(float64(theta)))
			sin[pos*half+i] = float32(math.Sin(float64(theta)))
			theta *= scale
		}
	}
	return cos, sin
}

// ropeForward rotates adjacent pairs (2i, 2i+1) of every head of x
// (N rows of heads·hd, row n at position n mod T) in place.
func ropeForward(x []float32, n, t, heads, hd int, cos, sin []float32) {
	rope(x, n, t, heads, hd, cos, sin, 1)
}

// ropeBackward applies the inverse rotation to the gradient in place.
func ropeBackward(dx []float32, n, t, heads, hd int, cos, sin []float32) {
	rope(dx, n, t, heads, hd, cos, sin, -1)
}

func rope(x []float32, n, t, heads, hd int, cos, sin []float32, dir float32) {
	half := hd / 2
	for r := 0; r < n; r++ {
		c, s := cos[(r%t)*half:], sin[(r%t)*half:]
		row := x[r*heads*hd : (r+1)*heads*hd]
		for h := 0; h < heads; h++ {
			v := row[h*hd : (h+1)*hd]
			for i := 0; i < half; i++ {
				x0, x1 := v[2*i], v[2*i+1]
				si := dir * s[i]
				v[2*i] = x0*c[i] - x1*si
				v[2*i+1] = x0*si + x1*c[i]
			}
		}
	}
}

// ---------------------------------------------------------------- attention

// attnShape is causal grouped-query attention over b sequences of t tokens:
// heads query heads share kvHeads key/value heads, hd wide each.
type attnShape struct{ b, t, heads, kvHeads, hd int }

// attentionForward sets out (N × heads·hd) and keeps the softmax
// probabilities in att (b × heads × t × t, row-major, zero outside the
// window). Position i of a sequence attends to positions starts[i]..i. Work is split by (sequence, kv head) so the backward pass can
// give each worker exclusive ownership of its dk and dv.
func attentionForward(p *pool, out, att, q, k, v []float32, starts []int32, sh attnShape) {
	b, t, H, KV, hd := sh.b, sh.t, sh.heads, sh.kvHeads, sh.hd
	group := H / KV
	scale := float32(1 / math.Sqrt(float64(hd)))
	p.run(b*KV, func(lo, hi int) {
		for item := lo; item < hi; item++ {
			bi, kh := item/KV, item%KV
			for h := kh * group; h < (kh+1)*group; h++ {
				for i := 0; i < t; i++ {
					qi := q[(bi*t+i)*H*hd+h*hd:][:hd]
					a := att[((bi*H+h)*t+i)*t:][:t]
					j0 := int(starts[bi*t+i])
					clear(a[:j0])
					maxv := float32(math.Inf(-1))
					for j := j0; j <= i; j++ {
						kj := k[(bi*t+j)*KV*hd+kh*hd:][:hd]
						a[j] = vec.Dot(qi, kj) * scale
						maxv = max(maxv, a[j])
					}
					var sum float32
					for j := j0; j <= i; j++ {
						a[j] = exp32(a[j] - maxv)
						sum += a[j]
					}
					inv := 1 / sum
					for j := j0; j <= i; j++ {
						a[j] *= inv
					}
					for j := i + 1; j < t; j++ {
						a[j] = 0
					}
					o := out[(bi*t+i)*H*hd+h*hd:][:hd]
					clear(o)
					for j := j0; j <= i; j++ {
						vec.Axpy(o, a[j], v[(bi*t+j)*KV*hd+kh*hd:][:hd])
					}
				}
			}
		}
	})
}

// attentionBackward sets dq, dk and dv from dout.
func attentionBackward(p *pool, dq, dk, dv, dout, att, q, k, v []float32, starts []int32, sh attnShape) {
	b, t, H, KV, hd := sh.b, sh.t, sh.heads, sh.kvHeads, sh.hd
	group := H / KV
	scale := float32(1 / math.Sqrt(float64(hd)))
	p.run(b*KV, func(lo, hi int) {
		da := make([]float32, t)
		for item := lo; item < hi; item++ {
			bi, kh := item/KV, item%KV
			for j := 0; j < t; j++ {
				clear(dk[(bi*t+j)*KV*hd+kh*hd:][:hd])
				clear(dv[(bi*t+j)*KV*hd+kh*hd:][:hd])
			}
			for h := kh * group; h < (kh+1)*group; h++ {
				for i := 0; i < t; i++ {
					a := att[((bi*H+h)*t+i)*t:][:t]
					doi := dout[(bi*t+i)*H*hd+h*hd:][:hd]
					j0 := int(starts[bi*t+i])
					// out_i = Σ_j a_ij v_j
					var s float32
					for j := j0; j <= i; j++ {
						vj := v[(bi*t+j)*KV*hd+kh*hd:][:hd]
						da[j] = vec.Dot(doi, vj)
						s += da[j] * a[j]
						vec.Axpy(dv[(bi*t+j)*KV*hd+kh*hd:][:hd], a[j], doi)
					}
					// softmax: dscore_ij = a_ij (da_ij − Σ_j a_ij da_ij)
					qi := q[(bi*t+i)*H*hd+h*hd:][:hd]
					dqi := dq[(bi*t+i)*H*hd+h*hd:][:hd]
					clear(dqi)
					for j := j0; j <= i; j++ {
						ds := a[j] * (da[j] - s) * scale
						vec.Axpy(dqi, ds, k[(bi*t+j)*KV*hd+kh*hd:][:hd])
						vec.Axpy(dk[(bi*t+j)*KV*hd+kh*hd:][:hd], ds, qi)
					}
				}
			}
		}
	})
}

// ---------------------------------------------------------------- swiglu

// swigluForward sets h = silu(g)·u elementwise.
func swigluForward(p *pool, h, g, u []float32) {
	p.run(len(h), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := g[i]
			h[i] = x / (1 + exp32(-x)) * u[i]
		}
	})
}

// swigluBackward sets dg and du from dh: silu'(x) = σ(x)(1 + x(1−σ(x))).
func swigluBackward(p *pool, dg, du, dh, g, u []float32) {
	p.run(len(dh), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := g[i]
			sg := 1 / (1 + exp32(-x))
			du[i] = dh[i] * x * sg
			dg[i] = dh[i] * u[i] * sg * (1 + x*(1-sg))
		}
	})
}

// ---------------------------------------------------------------- loss

// crossEntropy computes, per row, the loss −log softmax(logits)[target]
// into losses and sets dlogits (which may alias logits) to the gradient of
// Σ_n weight_n·loss_n·scale.
func crossEntropy(p *pool, losses, dlogits, logits []float32, targets []int32, weights []float32, scale float32, v int) {
	p.run(len(targets), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			l := logits[r*v : (r+1)*v]
			maxv := float32(math.Inf(-1))
			for _, x := range l {
				maxv = max(maxv, x)
			}
			tgt := int(targets[r])
			lt := l[tgt]
			dl := dlogits[r*v : (r+1)*v]
			// One exp per logit: dl holds exp(x−max) (it may alias l), then
			// is scaled to softmax·w. The sum is kept in float64.
			var sum float64
			for i, x := range l {
				e := exp32(x - maxv)
				dl[i] = e
				sum += float64(e)
			}
			losses[r] = maxv + float32(math.Log(sum)) - lt
			w := weights[r] * scale
			f := w * float32(1/sum)
			for i := range dl {
				dl[i] *= f
			}
			dl[tgt] -= w
		}
	})
}
