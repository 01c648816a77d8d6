//go:build amd64

package vec

import "golang.org/x/sys/cpu"

// HasAsm reports whether the AVX2/FMA kernels are in use.
var HasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// HasAVX512 reports whether Dot4x4 runs the AVX-512 kernel; without it,
// Dot4x4 is four Dot2x4 and callers do better with Dot2x4 directly.
var HasAVX512 = HasAsm && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

//go:noescape
func dot4x4AVX512(w *[4]*float32, x *[4]*float32, n int, out *[16]float32, pf *[2]*float32)

func dot4x4(w, x *[4][]float32, out *[16]float32, pf *[2][]float32) {
	n := len(w[0])
	n16 := n &^ 15
	if !HasAVX512 || n16 == 0 {
		Dot4x4Go(w, x, out)
		return
	}
	var wp, xp [4]*float32
	for i := range 4 {
		_, _ = w[i][n-1], x[i][n-1]
		wp[i], xp[i] = &w[i][0], &x[i][0]
	}
	pp := [2]*float32{wp[0], wp[1]} // nothing to prefetch: lines already in cache
	if pf != nil {
		for i := range 2 {
			_ = pf[i][n16-1]
			pp[i] = &pf[i][0]
		}
	}
	dot4x4AVX512(&wp, &xp, n16, out, &pp)
	for i := range 4 {
		for j := range 4 {
			for k := n16; k < n; k++ {
				out[4*i+j] += w[i][k] * x[j][k]
			}
		}
	}
}

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func dot4x1AVX512(w *[4]*float32, x *float32, n int, out *[4]float32)

func dot4x1(w *[4][]float32, x []float32, out *[4]float32) {
	n := len(x)
	n16 := n &^ 15
	if !HasAVX512 || n16 == 0 {
		Dot4x1Go(w, x, out)
		return
	}
	var wp [4]*float32
	for k := range 4 {
		_ = w[k][n-1]
		wp[k] = &w[k][0]
	}
	dot4x1AVX512(&wp, &x[0], n16, out)
	for k := range 4 {
		for i := n16; i < n; i++ {
			out[k] += w[k][i] * x[i]
		}
	}
}

//go:noescape
func dot2x4AVX2(w0, w1, x0, x1, x2, x3 *float32, n int, out *[8]float32)

//go:noescape
func axpyAVX2(y *float32, a float32, x *float32, n int)

//go:noescape
func outer4x24AVX2(c *float32, ldc int, a *float32, ar, ap int, b *float32, ldb int, n int)

func outer4x24(c []float32, ldc int, a []float32, ar, ap int, b []float32, ldb, n int) {
	if !HasAsm || n == 0 {
		Outer4x24Go(c, ldc, a, ar, ap, b, ldb, n)
		return
	}
	// The assembly reads and writes without bounds checks: check the
	// farthest element of each operand here.
	_ = c[3*ldc+23]
	_ = a[3*ar+(n-1)*ap]
	_ = b[(n-1)*ldb+23]
	outer4x24AVX2(&c[0], ldc, &a[0], ar, ap, &b[0], ldb, n)
}

func dot(a, b []float32) float32 {
	if HasAsm {
		return dotAVX2(&a[0], &b[0], len(a))
	}
	return DotGo(a, b)
}

func dot2x4(w0, w1, x0, x1, x2, x3 []float32, out *[8]float32) {
	n := len(w0)
	n8 := n &^ 7
	if !HasAsm || n8 == 0 {
		Dot2x4Go(w0, w1, x0, x1, x2, x3, out)
		return
	}
	_, _, _, _, _ = w1[n-1], x0[n-1], x1[n-1], x2[n-1], x3[n-1]
	dot2x4AVX2(&w0[0], &w1[0], &x0[0], &x1[0], &x2[0], &x3[0], n8, out)
	if n8 < n {
		var tail [8]float32
		Dot2x4Go(w0[n8:], w1[n8:], x0[n8:n], x1[n8:n], x2[n8:n], x3[n8:n], &tail)
		for i := range out {
			out[i] += tail[i]
		}
	}
}

func axpy(y []float32, a float32, x []float32) {
	n8 := len(y) &^ 7
	if HasAsm && n8 > 0 {
		_ = x[len(y)-1]
		axpyAVX2(&y[0], a, &x[0], n8)
	}
	if n8 < len(y) || !HasAsm {
		if !HasAsm {
			n8 = 0
		}
		AxpyGo(y[n8:], a, x[n8:len(y)])
	}
}

//go:noescape
func dot4xNAVX512(x *[4]*float32, k *float32, stride, hd, n int, scale float32, out *float32, ostride int)

//go:noescape
func dot1xNAVX512(x, k *float32, stride, hd, n int, scale float32, out *float32)

//go:noescape
func axpy4x64AVX512(out *[4]*float32, w *[4]*float32, v *float32, stride, n int)

// dot4xN runs the kernel on the rows four at a time, into a scratch block
// of four output rows (the kernel writes them at one stride), and the
// last n%4 rows through Dot16.
func dot4xN(x *[4][]float32, k []float32, stride, n int, scale float32, out *[4][]float32) {
	hd := len(x[0])
	n4 := n &^ 3
	if !HasAVX512 || hd == 0 || hd%16 != 0 || n4 == 0 {
		Dot4xNGo(x, k, stride, n, scale, out)
		return
	}
	_ = k[(n-1)*stride+hd-1]
	var xp [4]*float32
	for j := range 4 {
		_, _ = x[j][hd-1], out[j][n-1]
		xp[j] = &x[j][0]
	}
	var buf [4 * 64]float32
	for t0 := 0; t0 < n4; t0 += 64 {
		m := min(64, n4-t0)
		dot4xNAVX512(&xp, &k[t0*stride], stride, hd, m, scale, &buf[0], 64)
		for j := range 4 {
			copy(out[j][t0:t0+m], buf[j*64:j*64+m])
		}
	}
	for j := range 4 {
		for t := n4; t < n; t++ {
			out[j][t] = Dot16(x[j], k[t*stride:t*stride+hd]) * scale
		}
	}
}

func dot1xN(x, k []float32, stride int, scale float32, out []float32) {
	hd, n := len(x), len(out)
	n4 := n &^ 3
	if !HasAVX512 || hd == 0 || hd%16 != 0 || n4 == 0 {
		Dot1xNGo(x, k, stride, scale, out)
		return
	}
	_ = k[(n-1)*stride+hd-1]
	dot1xNAVX512(&x[0], &k[0], stride, hd, n4, scale, &out[0])
	for t := n4; t < n; t++ {
		out[t] = Dot16(x, k[t*stride:t*stride+hd]) * scale
	}
}

// axpy4xN runs the kernel on each 64 columns; columns past the last 64
// go through Axpy, row by row (each element's sum is the same either way).
func axpy4xN(out, w *[4][]float32, v []float32, stride, n int) {
	m := len(out[0])
	m64 := m &^ 63
	if !HasAVX512 || n == 0 || m64 == 0 {
		Axpy4xNGo(out, w, v, stride, n)
		return
	}
	_ = v[(n-1)*stride+m-1]
	var wp [4]*float32
	for j := range 4 {
		_, _ = w[j][n-1], out[j][m-1]
		wp[j] = &w[j][0]
	}
	for c := 0; c < m64; c += 64 {
		op := [4]*float32{&out[0][c], &out[1][c], &out[2][c], &out[3][c]}
		axpy4x64AVX512(&op, &wp, &v[c], stride, n)
	}
	if m64 < m {
		for j := range 4 {
			for t := range n {
				Axpy(out[j][m64:m], w[j][t], v[t*stride+m64:t*stride+m])
			}
		}
	}
}
