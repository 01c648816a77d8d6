//go:build !amd64

package engine

// hasAsm reports whether assembly kernels are in use.
const hasAsm = false

func dotQ8Q8Impl(q []int8, d []float32, xq []int8, xd []float32) float32 {
	return dotQ8Q8(q, d, xq, xd)
}

// hasVNNI reports whether dotQ8Q8x4x4 runs the AVX-512 kernel (a
// variable, as on amd64, for the tests that set it).
var hasVNNI = false

func dotQ8Q8x4x4(q []int8, d []float32, xq []int8, xd []float32, out *[16]float32) {
	dotQ8Q8x4x4Go(q, d, xq, xd, out)
}

// dotQ8Q8Rows sets y[r] to dotQ8Q8Impl of weight row r and the activation
// row xq, xd, for the len(y) rows of q, d; it returns how many rows a
// kernel took (none without assembly).
func dotQ8Q8Rows(q []int8, d []float32, xq []int8, xd []float32, y []float32) int {
	dotQ8Q8RowsGo(q, d, xq, xd, y)
	return 0
}

func roundF16(x []float32) { roundF16Go(x) }

func attnScores(out, q, k []float32, stride int, scale float32) {
	attnScoresGo(out, q, k, stride, scale)
}

func attnValues(out, w, v []float32, stride int) { attnValuesGo(out, w, v, stride) }

func expSub(x []float32, m float32) { expSubGo(x, m) }

func swiglu(h, u []float32) { swigluGo(h, u) }

// hasQuantAsm reports whether quantizeQ8 runs an assembly kernel.
const hasQuantAsm = false

func quantizeQ8AVX512(x *float32, q *int8, d *float32, nb int) { panic("unreachable") }

// dotQ8Q8x4xRows takes no rows: without assembly there is no such kernel.
func dotQ8Q8x4xRows(q []int8, d []float32, xq []int8, xd []float32, rows int, y []float32, ystride int) int {
	return 0
}
