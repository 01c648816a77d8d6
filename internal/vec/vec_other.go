//go:build !amd64

package vec

// HasAsm reports whether the assembly kernels are in use.
const HasAsm = false

func dot(a, b []float32) float32 { return DotGo(a, b) }

func dot2x4(w0, w1, x0, x1, x2, x3 []float32, out *[8]float32) {
	Dot2x4Go(w0, w1, x0, x1, x2, x3, out)
}

func axpy(y []float32, a float32, x []float32) { AxpyGo(y, a, x) }

func outer4x24(c []float32, ldc int, a []float32, ar, ap int, b []float32, ldb, n int) {
	Outer4x24Go(c, ldc, a, ar, ap, b, ldb, n)
}

// HasAVX512 reports whether the 16-lane kernels run in AVX-512 assembly.
const HasAVX512 = false

func dot4x1(w *[4][]float32, x []float32, out *[4]float32) { Dot4x1Go(w, x, out) }

func dot4xG(x *[4][]float32, g [][]float32, stride int, scale float32, out []float32, ostride int) {
	Dot4xGGo(x, g, stride, scale, out, ostride)
}

func dot1xG(x []float32, g [][]float32, stride int, scale float32, out []float32) {
	Dot1xGGo(x, g, stride, scale, out)
}

func axpy4xG(out, w *[4][]float32, g [][]float32, stride int) { Axpy4xGGo(out, w, g, stride) }

func axpy1xG(out, w []float32, g [][]float32, stride int) { Axpy1xGGo(out, w, g, stride) }

func dot4xRows(w *[4][]float32, x []float32, xstride, rows int, y []float32, ystride int, _ []float32) {
	Dot4xRowsGo(w, x, xstride, rows, y, ystride)
}
