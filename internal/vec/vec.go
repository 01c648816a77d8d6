// Package vec holds the float32 vector kernels that the inference engine
// and the trainer share: the dot product, a 2×4 block of dot products,
// axpy, and a 4×24 block of a matrix product accumulated as outer
// products. They run as AVX2/FMA assembly where the CPU has it
// (vec_amd64.s) and as portable Go elsewhere; the portable dot products
// keep eight partial sums, like one AVX register, so both round alike.
package vec

// Dot returns the dot product of a and b[:len(a)].
func Dot(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	_ = b[len(a)-1]
	return dot(a, b)
}

// DotGo is the portable Dot.
func DotGo(a, b []float32) float32 {
	var s [8]float32
	n := len(a) &^ 7
	for i := 0; i < n; i += 8 {
		a8, b8 := a[i:i+8:i+8], b[i:i+8:i+8]
		s[0] += a8[0] * b8[0]
		s[1] += a8[1] * b8[1]
		s[2] += a8[2] * b8[2]
		s[3] += a8[3] * b8[3]
		s[4] += a8[4] * b8[4]
		s[5] += a8[5] * b8[5]
		s[6] += a8[6] * b8[6]
		s[7] += a8[7] * b8[7]
	}
	sum := ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
	for i := n; i < len(a); i++ {
		sum += a[i] * b[i]
	}
	return sum
}

// Dot2x4 sets out[4*i+j] to the dot product of wi with xj, for two rows
// w0, w1 and four rows x0..x3 of the same length: each load of a row feeds
// several products, which is what makes a matrix product fast.
func Dot2x4(w0, w1, x0, x1, x2, x3 []float32, out *[8]float32) {
	dot2x4(w0, w1, x0, x1, x2, x3, out)
}

// Dot2x4Go is the portable Dot2x4.
func Dot2x4Go(w0, w1, x0, x1, x2, x3 []float32, out *[8]float32) {
	for j, x := range [4][]float32{x0, x1, x2, x3} {
		out[j] = DotGo(w0, x)
		out[4+j] = DotGo(w1, x)
	}
}

// Dot4x1 sets out[k] to Dot16(w[k], x) for four rows w[k], each at least
// as long as x, to the bit. Where the rows lie far apart in memory, as the
// rows of four parts of a matrix do, reading them together keeps four
// streams in flight, which moves more bytes per core than one stream: a
// matrix-vector product that memory bounds goes faster.
func Dot4x1(w *[4][]float32, x []float32, out *[4]float32) { dot4x1(w, x, out) }

// Dot16 is the dot product of a and b[:len(a)] summed as ggml's tinyBLAS
// (llamafile sgemm) sums a prompt's products on a CPU with AVX-512 (see
// Dot16Go), to the bit, as every 16-lane kernel here sums each of its
// products: a product summed alone equals the same product summed in a
// block of rows.
func Dot16(a, b []float32) float32 {
	w := [4][]float32{a, a, a, a} // three copies from cache, for one kernel
	var out [4]float32
	dot4x1(&w, b[:len(a)], &out)
	return out[0]
}

// Dot4xRows sets y[c*ystride+a] to Dot16(w[a], x[c*xstride:][:len(w[0])])
// for a < 4 and c < rows, to the bit: four weight rows against a whole
// batch, written where a matrix product's outputs go, in one call, each
// load feeding four products. pf, when at least four rows long (4*len(w[0])
// floats), is the weight rows multiplied next, brought into cache as the
// first batch rows go.
func Dot4xRows(w *[4][]float32, x []float32, xstride, rows int, y []float32, ystride int, pf []float32) {
	dot4xRows(w, x, xstride, rows, y, ystride, pf)
}

// Dot4xRowsGo is the portable Dot4xRows (and Dot4xRows's last rows when
// they are not four).
func Dot4xRowsGo(w *[4][]float32, x []float32, xstride, rows int, y []float32, ystride int) {
	n := len(w[0])
	for c := range rows {
		xc := x[c*xstride : c*xstride+n]
		for a := range 4 {
			y[c*ystride+a] = Dot16(w[a][:n], xc)
		}
	}
}

// Dot4xG sets out[j*ostride+4i+r] to Dot16(x[j], g[i][r*stride:][:hd]) *
// scale for j < 4, i < len(g), r < 4, hd = len(x[0]) (all four vectors as
// long), to the bit: four vectors against groups of four rows at a stride,
// each group where it lies (four positions of an attention head's keys in
// a KV block, met by four rows' queries). Each row is read once for the
// four vectors.
func Dot4xG(x *[4][]float32, g [][]float32, stride int, scale float32, out []float32, ostride int) {
	dot4xG(x, g, stride, scale, out, ostride)
}

// Dot1xG is Dot4xG for one vector: out[4i+r] = Dot16(x, g[i][r*stride:][:len(x)]) * scale.
func Dot1xG(x []float32, g [][]float32, stride int, scale float32, out []float32) {
	dot1xG(x, g, stride, scale, out)
}

// Axpy4xG adds to out[j] (all as long as out[0]) the sum over i < len(g),
// r < 4 of w[j][4i+r] * g[i][r*stride:][:len(out[0])] for j < 4, each
// element in row order with one fused multiply-add a row, as Axpy after
// Axpy would (to the bit where those fuse): four rows' weighted sums of
// the same values, each value read once for the four.
func Axpy4xG(out, w *[4][]float32, g [][]float32, stride int) { axpy4xG(out, w, g, stride) }

// Axpy1xG is Axpy4xG for one output.
func Axpy1xG(out, w []float32, g [][]float32, stride int) { axpy1xG(out, w, g, stride) }

// Dot1xGGo is the portable Dot1xG (and, four times, Dot4xG).
func Dot1xGGo(x []float32, g [][]float32, stride int, scale float32, out []float32) {
	hd := len(x)
	for i, rows := range g {
		for r := range 4 {
			out[4*i+r] = Dot16(x, rows[r*stride:r*stride+hd]) * scale
		}
	}
}

// Dot4xGGo is the portable Dot4xG.
func Dot4xGGo(x *[4][]float32, g [][]float32, stride int, scale float32, out []float32, ostride int) {
	for j := range 4 {
		Dot1xGGo(x[j][:len(x[0])], g, stride, scale, out[j*ostride:])
	}
}

// Axpy1xGGo is the portable Axpy1xG (through Axpy, which is assembly
// where the CPU has it, so that the two sum alike).
func Axpy1xGGo(out, w []float32, g [][]float32, stride int) { axpyGroupsFrom(out, w, g, stride, 0) }

// Axpy4xGGo is the portable Axpy4xG.
func Axpy4xGGo(out, w *[4][]float32, g [][]float32, stride int) {
	for j := range 4 {
		Axpy1xGGo(out[j][:len(out[0])], w[j], g, stride)
	}
}

// axpyGroupsFrom is Axpy1xGGo on the columns col.. of g's rows (out as
// many): the kernels' columns past their last 64 go through it.
func axpyGroupsFrom(out, w []float32, g [][]float32, stride, col int) {
	m := len(out)
	for i, rows := range g {
		for r := range 4 {
			Axpy(out, w[4*i+r], rows[r*stride+col:r*stride+col+m])
		}
	}
}

// Dot4x1Go is the portable Dot4x1.
func Dot4x1Go(w *[4][]float32, x []float32, out *[4]float32) {
	for k := range 4 {
		out[k] = Dot16Go(w[k][:len(x)], x)
	}
}

// Dot16Go is the dot product of a and b[:len(a)] in Dot16's order:
// sixteen partial sums over the elements in order, then summed as
// _mm512_reduce_add_ps does (lane i with lane i+8, then with i+4, then
// with i+2, then the last two), then the elements past the last multiple
// of 16. (Go may or may not fuse its multiplies and adds; the assembly
// always does, so the two can part in the last bit.)
func Dot16Go(a, b []float32) float32 {
	var s [16]float32
	n := len(a) &^ 15
	for i := 0; i < n; i += 16 {
		a16, b16 := a[i:i+16:i+16], b[i:i+16:i+16]
		for l := range 16 {
			s[l] += a16[l] * b16[l]
		}
	}
	sum := Reduce16(&s)
	for i := n; i < len(a); i++ {
		sum += a[i] * b[i]
	}
	return sum
}

// Reduce16 sums sixteen lanes as _mm512_reduce_add_ps does in GCC and
// Clang: halves, then quarters, then the pairs (0, 2) and (1, 3), then the
// last two.
func Reduce16(s *[16]float32) float32 {
	var y [8]float32
	for i := range 8 {
		y[i] = s[i] + s[i+8]
	}
	var t [4]float32
	for i := range 4 {
		t[i] = y[i] + y[i+4]
	}
	return (t[0] + t[2]) + (t[1] + t[3])
}

// Axpy adds a·x[:len(y)] to y.
func Axpy(y []float32, a float32, x []float32) { axpy(y, a, x) }

// AxpyGo is the portable Axpy.
func AxpyGo(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// Outer4x24 adds to the 4×24 block c[r*ldc+j] (r < 4, j < 24) the product
// Σ_{p<n} a[r*ar+p*ap]·b[p*ldb+j]: a 4-row slice of a matrix product whose
// left factor is read with any strides, so A·B and Aᵀ·B need no transposed
// copy, and whose sums run down p in order. Strides count floats.
func Outer4x24(c []float32, ldc int, a []float32, ar, ap int, b []float32, ldb, n int) {
	outer4x24(c, ldc, a, ar, ap, b, ldb, n)
}

// Outer4x24Go is the portable Outer4x24, summing in the same order.
func Outer4x24Go(c []float32, ldc int, a []float32, ar, ap int, b []float32, ldb, n int) {
	var acc [4][24]float32
	for p := range n {
		bp := b[p*ldb : p*ldb+24]
		for r := range 4 {
			x := a[r*ar+p*ap]
			for j, y := range bp {
				acc[r][j] += x * y
			}
		}
	}
	for r := range 4 {
		row := c[r*ldc : r*ldc+24]
		for j := range row {
			row[j] += acc[r][j]
		}
	}
}
