package engine

import (
	"bytes"
	"math"
	"unsafe"

	"github.com/pareto-llm/pareto/internal/vec"
)

// dotQ8F32 is the dot product of one Q8_0 row (quants q, scales d) with x.
func dotQ8F32(q []int8, d []float32, x []float32) float32 {
	var sum float32
	for b, scale := range d {
		qb := q[b*q8Block : (b+1)*q8Block : (b+1)*q8Block]
		xb := x[b*q8Block : (b+1)*q8Block : (b+1)*q8Block]
		var s0, s1, s2, s3 float32
		for i := 0; i < q8Block; i += 4 {
			s0 += float32(qb[i]) * xb[i]
			s1 += float32(qb[i+1]) * xb[i+1]
			s2 += float32(qb[i+2]) * xb[i+2]
			s3 += float32(qb[i+3]) * xb[i+3]
		}
		sum += ((s0 + s1) + (s2 + s3)) * scale
	}
	return sum
}

// dotQ8Q8 is ggml's Q8_0 x Q8_0 product: integer dots per block, scaled by
// both blocks' scales. llama.cpp quantizes activations to Q8_0 before
// multiplying them with a Q8_0 matrix; this reproduces that.
func dotQ8Q8(q []int8, d []float32, xq []int8, xd []float32) float32 {
	var sum float32
	for b, scale := range d {
		qb := q[b*q8Block : (b+1)*q8Block : (b+1)*q8Block]
		xb := xq[b*q8Block : (b+1)*q8Block : (b+1)*q8Block]
		var s int32
		for i := 0; i < q8Block; i += 4 {
			s += int32(qb[i])*int32(xb[i]) + int32(qb[i+1])*int32(xb[i+1]) +
				int32(qb[i+2])*int32(xb[i+2]) + int32(qb[i+3])*int32(xb[i+3])
		}
		sum += float32(s) * (scale * xd[b])
	}
	return sum
}

// dotQ8Q8x4x4Go is the portable dotQ8Q8x4x4: out[4*a+c] = dotQ8Q8 of
// weight row a and activation row c, for the four rows of q, d (nb =
// len(d)/4 blocks each) and of xq, xd. (Without assembly dotQ8Q8Impl is
// dotQ8Q8, so this is dotQ8Q8Impl's product there too.)
func dotQ8Q8x4x4Go(q []int8, d []float32, xq []int8, xd []float32, out *[16]float32) {
	nb := len(d) / 4
	n := nb * q8Block
	for a := range 4 {
		qa, da := q[a*n:(a+1)*n], d[a*nb:(a+1)*nb]
		for c := range 4 {
			out[4*a+c] = dotQ8Q8(qa, da, xq[c*n:(c+1)*n], xd[c*nb:(c+1)*nb])
		}
	}
}

// dotQ8Q8RowsGo sets y[r] to dotQ8Q8Impl of weight row r of q, d and the
// activation row xq, xd (len(xd) blocks), pair by pair.
func dotQ8Q8RowsGo(q []int8, d []float32, xq []int8, xd []float32, y []float32) {
	nb := len(xd)
	n := nb * q8Block
	for r := range y {
		y[r] = dotQ8Q8Impl(q[r*n:(r+1)*n], d[r*nb:(r+1)*nb], xq[:n], xd)
	}
}

// rmsnorm writes x * 1/sqrt(mean(x^2)+eps) * w to out, as ggml_rms_norm
// followed by ggml_mul: the sum of squares is accumulated in float64.
func rmsnorm(out, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	mean := float32(ss / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		out[i] = (v * scale) * w[i]
	}
}

// ropeTable fills cos/sin for position pos and rot rotated dims: pair i
// turns by pos * base^(-2i/rot). Like ggml, theta is advanced by repeated
// float32 multiplication by theta_scale.
func ropeTable(cos, sin []float32, pos int, rot int, base float32) {
	thetaScale := float32(math.Pow(float64(base), -2.0/float64(rot)))
	theta := float32(pos)
	for i := 0; i < rot/2; i++ {
		cos[i] = float32(math.Cos(float64(theta)))
		sin[i] = float32(math.Sin(float64(theta)))
		theta *= thetaScale
	}
}

// ropeNorm rotates adjacent pairs (x[2i], x[2i+1]) of each head (llama).
func ropeNorm(x []float32, heads, headDim, rot int, cos, sin []float32) {
	for h := 0; h < heads; h++ {
		v := x[h*headDim : h*headDim+rot]
		for i := 0; i < rot/2; i++ {
			x0, x1 := v[2*i], v[2*i+1]
			v[2*i] = x0*cos[i] - x1*sin[i]
			v[2*i+1] = x0*sin[i] + x1*cos[i]
		}
	}
}

// ropeNeox rotates pairs (x[i], x[i+rot/2]) of each head (qwen2, GPT-NeoX).
func ropeNeox(x []float32, heads, headDim, rot int, cos, sin []float32) {
	half := rot / 2
	for h := 0; h < heads; h++ {
		v := x[h*headDim : h*headDim+rot]
		for i := 0; i < half; i++ {
			x0, x1 := v[i], v[i+half]
			v[i] = x0*cos[i] - x1*sin[i]
			v[i+half] = x0*sin[i] + x1*cos[i]
		}
	}
}

// attnScoresGo is the portable attnScores.
func attnScoresGo(out, q, k []float32, stride int, scale float32) {
	hd := len(q)
	for t := range out {
		out[t] = vec.Dot(q, k[t*stride:t*stride+hd]) * scale
	}
}

// attnValuesGo is the portable attnValues: axpy after axpy onto out.
func attnValuesGo(out, w, v []float32, stride int) {
	hd := len(out)
	for t, a := range w {
		vec.Axpy(out, a, v[t*stride:t*stride+hd])
	}
}

// hasInt8Min reports whether a quant of q is -128.
func hasInt8Min(q []int8) bool {
	return len(q) > 0 && bytes.IndexByte(unsafe.Slice((*byte)(unsafe.Pointer(&q[0])), len(q)), 0x80) >= 0
}
