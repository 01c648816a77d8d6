//go:build amd64

package engine

import (
	"golang.org/x/sys/cpu"

	"github.com/pareto-llm/pareto/internal/vec"
)

// hasAsm reports whether the AVX2/FMA kernels are in use.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dotQ8Q8AVX2(q *int8, d *float32, xq *int8, xd *float32, nb int) float32

func dotQ8Q8Impl(q []int8, d []float32, xq []int8, xd []float32) float32 {
	if hasAsm && len(d) > 0 {
		_, _ = q[len(d)*q8Block-1], xq[len(d)*q8Block-1]
		_ = xd[len(d)-1]
		return dotQ8Q8AVX2(&q[0], &d[0], &xq[0], &xd[0], len(d))
	}
	return dotQ8Q8(q, d, xq, xd)
}

// hasVNNI reports whether the Q8_0 x Q8_0 products of several rows run
// the AVX-512 kernels (BW, VL and VNNI; 512-bit registers): dotQ8Q8x4xRows
// (otherwise none), dotQ8Q8x4x4 (otherwise two AVX2 kernels of two weight
// rows each) and dotQ8Q8Rows (otherwise pair by pair).
var hasVNNI = hasAsm && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

//go:noescape
func dotQ8Q8x2x4AVX2(q *int8, d *float32, x *int8, xd *float32, nb int, out *[8]float32)

//go:noescape
func dotQ8Q8x4x4AVX512(q *int8, d *float32, x *int8, xd *float32, nb int, out *[16]float32)

// dotQ8Q8x4x4 sets out[4*a+c] to dotQ8Q8Impl of weight row a and
// activation row c, bit for bit, for the four Q8_0 rows of q, d (nb =
// len(d)/4 blocks each, row after row) and the four of xq, xd (as many
// blocks). Each weight block is loaded once for the four activation rows.
func dotQ8Q8x4x4(q []int8, d []float32, xq []int8, xd []float32, out *[16]float32) {
	nb := len(d) / 4
	if !hasAsm || nb == 0 {
		dotQ8Q8x4x4Go(q, d, xq, xd, out)
		return
	}
	n := nb * q8Block
	_, _ = q[4*n-1], xq[4*n-1]
	_ = xd[4*nb-1]
	if hasVNNI {
		dotQ8Q8x4x4AVX512(&q[0], &d[0], &xq[0], &xd[0], nb, out)
		return
	}
	dotQ8Q8x2x4AVX2(&q[0], &d[0], &xq[0], &xd[0], nb, (*[8]float32)(out[:8]))
	dotQ8Q8x2x4AVX2(&q[2*n], &d[2*nb], &xq[0], &xd[0], nb, (*[8]float32)(out[8:]))
}

//go:noescape
func dotQ8Q8x4xRowsAVX512(q *int8, d *float32, x *int8, xd *float32, nb, groups int, y *float32, ystride int)

// dotQ8Q8x4xRows sets y[c*ystride+a] to dotQ8Q8Impl of weight row a < 4
// and activation row c, bit for bit, for the four Q8_0 rows of q, d (nb =
// len(d)/4 blocks each) and the first rows&^7 of the activation rows xq,
// xd, none of whose quants may be -128, in one call (the 4x8 kernel's
// product, eight activation rows at a time). It returns how many
// activation rows it took: none without AVX-512 VNNI.
func dotQ8Q8x4xRows(q []int8, d []float32, xq []int8, xd []float32, rows int, y []float32, ystride int) int {
	nb := len(d) / 4
	groups := rows / 8
	if !hasVNNI || nb == 0 || groups == 0 {
		return 0
	}
	n := nb * q8Block
	_, _ = q[4*n-1], xq[8*groups*n-1]
	_ = xd[8*groups*nb-1]
	_ = y[(8*groups-1)*ystride+3]
	dotQ8Q8x4xRowsAVX512(&q[0], &d[0], &xq[0], &xd[0], nb, groups, &y[0], ystride)
	return 8 * groups
}

//go:noescape
func dotQ8Q8x8x1AVX512(q *int8, d *float32, x *int8, xd *float32, nb, rows int, y *float32)

// dotQ8Q8Rows sets y[r] to dotQ8Q8Impl of weight row r and the activation
// row xq, xd, bit for bit, for the len(y) Q8_0 rows of q, d (len(xd)
// blocks each, row after row): batch-1 decoding's product. With AVX-512
// VNNI the rows go eight (then four) at a time through one kernel call,
// each activation block loaded once for eight rows, the last len(y)%4 pair
// by pair; an activation row holding a -128 (which quantizeQ8 never
// writes, and where the kernel's exact integer dot would part from
// dotQ8Q8AVX2's wrapped one) goes pair by pair whole. It returns how many
// rows the kernel took.
func dotQ8Q8Rows(q []int8, d []float32, xq []int8, xd []float32, y []float32) int {
	nb, rows := len(xd), len(y)
	n := nb * q8Block
	k := 0
	if hasVNNI && nb > 0 && rows >= 4 && !hasInt8Min(xq[:n]) {
		k = rows &^ 3
		_, _ = q[k*n-1], d[k*nb-1]
		dotQ8Q8x8x1AVX512(&q[0], &d[0], &xq[0], &xd[0], nb, k, &y[0])
	}
	dotQ8Q8RowsGo(q[k*n:], d[k*nb:], xq, xd, y[k:])
	return k
}

// hasF16C reports whether f16 rounding uses the F16C instructions.
var hasF16C = hasAsm && cpu.X86.HasF16C

//go:noescape
func roundF16F16C(x *float32, n int)

func roundF16(x []float32) {
	n8 := len(x) &^ 7
	if hasF16C && n8 > 0 {
		roundF16F16C(&x[0], n8)
	} else {
		n8 = 0
	}
	roundF16Go(x[n8:])
}

//go:noescape
func attnScoresAVX2(q, k *float32, stride, hd, n int, scale float32, out *float32)

//go:noescape
func attnValuesAVX2(out, w, v *float32, stride, n, m int)

// attnScores sets out[t] = (q . k[t*stride:t*stride+len(q)]) * scale for
// every t < len(out): one head's attention scores over the cache.
func attnScores(out, q, k []float32, stride int, scale float32) {
	n, hd := len(out), len(q)
	if n == 0 || hd == 0 || !hasAsm {
		attnScoresGo(out, q, k, stride, scale)
		return
	}
	_ = k[(n-1)*stride+hd-1]
	attnScoresAVX2(&q[0], &k[0], stride, hd, n, scale, &out[0])
}

// attnValues adds to out the sum over t of w[t] * v[t*stride:][:len(out)],
// in t order: one head's attention output over one run of positions.
func attnValues(out, w, v []float32, stride int) {
	n, hd := len(w), len(out)
	m := hd &^ 7
	if n == 0 || m == 0 || !hasAsm {
		attnValuesGo(out, w, v, stride)
		return
	}
	_ = v[(n-1)*stride+hd-1]
	attnValuesAVX2(&out[0], &w[0], &v[0], stride, n, m)
	if m < hd {
		for t, a := range w {
			vec.AxpyGo(out[m:], a, v[t*stride+m:t*stride+hd])
		}
	}
}

//go:noescape
func expSubAVX2(x *float32, n int, m float32)

//go:noescape
func swigluAVX2(h, u *float32, n int)

// expSub sets x[i] = exp(x[i] - m), with the approximation of exp.go.
func expSub(x []float32, m float32) {
	n8 := len(x) &^ 7
	if !hasAsm {
		expSubGo(x, m)
		return
	}
	if n8 > 0 {
		expSubAVX2(&x[0], n8, m)
	}
	if n8 < len(x) { // the tail through the kernel too, so every lane rounds alike
		var buf [8]float32
		t := copy(buf[:], x[n8:])
		expSubAVX2(&buf[0], 8, m)
		copy(x[n8:], buf[:t])
	}
}

// swiglu sets h[i] = silu(h[i]) * u[i], the gated feed-forward's product,
// with the approximation of exp.go.
func swiglu(h, u []float32) {
	u = u[:len(h)]
	n8 := len(h) &^ 7
	if !hasAsm {
		swigluGo(h, u)
		return
	}
	if n8 > 0 {
		swigluAVX2(&h[0], &u[0], n8)
	}
	if n8 < len(h) {
		var bh, bu [8]float32
		t := copy(bh[:], h[n8:])
		copy(bu[:], u[n8:])
		swigluAVX2(&bh[0], &bu[0], 8)
		copy(h[n8:], bh[:t])
	}
}

// hasQuantAsm reports whether quantizeQ8 runs quantizeQ8AVX512.
var hasQuantAsm = hasF16C && cpu.X86.HasAVX512F

// quantizeQ8AVX512 is quantizeQ8 of nb >= 1 blocks.
//
//go:noescape
func quantizeQ8AVX512(x *float32, q *int8, d *float32, nb int)
