//go:build !amd64

package engine

// hasAsm reports whether assembly kernels are in use.
const hasAsm = false

func dotImpl(a, b []float32) float32 { return dotGo(a, b) }

func dot2x4(w0, w1, x0, x1, x2, x3 []float32, out *[8]float32) {
	dot2x4Go(w0, w1, x0, x1, x2, x3, out)
}

func dotQ8Q8Impl(q []int8, d []float32, xq []int8, xd []float32) float32 {
	return dotQ8Q8(q, d, xq, xd)
}

func axpy(y []float32, a float32, x []float32) { axpyGo(y, a, x) }

func roundF16(x []float32) { roundF16Go(x) }

func attnScores(out, q, k []float32, stride int, scale float32) {
	attnScoresGo(out, q, k, stride, scale)
}

func attnValues(out, w, v []float32, stride int) { attnValuesGo(out, w, v, stride) }
