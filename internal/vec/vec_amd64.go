//go:build amd64

package vec

import "golang.org/x/sys/cpu"

// HasAsm reports whether the AVX2/FMA kernels are in use.
var HasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// HasAVX512 reports whether the 16-lane kernels (Dot16's order: Dot4x1,
// Dot4xRows, Dot4xG and the rest) run in AVX-512 assembly.
var HasAVX512 = HasAsm && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

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
func dot4xGAVX512(x *[4]*float32, grp **float32, stride, hd, ng int, scale float32, out *float32, ostride int)

//go:noescape
func dot1xGAVX512(x *float32, grp **float32, stride, hd, ng int, scale float32, out *float32)

//go:noescape
func axpy4xG64AVX512(out *[4]*float32, w *[4]*float32, grp **float32, stride, ng int)

//go:noescape
func axpy1xG64AVX512(out *float32, w *float32, grp **float32, stride, ng int)

// groupChunk is how many groups' addresses a kernel call takes, gathered
// on the stack.
const groupChunk = 32

// groupAddrs writes the addresses of g's groups, col floats in, to gp, after
// checking each group holds four rows of hd floats at stride.
func groupAddrs(gp *[groupChunk]*float32, g [][]float32, stride, col, hd int) {
	for i, rows := range g {
		_ = rows[3*stride+col+hd-1]
		gp[i] = &rows[col]
	}
}

func dot4xG(x *[4][]float32, g [][]float32, stride int, scale float32, out []float32, ostride int) {
	hd := len(x[0])
	if !HasAVX512 || hd == 0 || hd%16 != 0 || len(g) == 0 {
		Dot4xGGo(x, g, stride, scale, out, ostride)
		return
	}
	_ = out[3*ostride+4*len(g)-1]
	var xp [4]*float32
	for j := range 4 {
		xp[j] = &x[j][:hd][0]
	}
	var gp [groupChunk]*float32
	for i0 := 0; i0 < len(g); i0 += groupChunk {
		part := g[i0:min(i0+groupChunk, len(g))]
		groupAddrs(&gp, part, stride, 0, hd)
		dot4xGAVX512(&xp, &gp[0], stride, hd, len(part), scale, &out[4*i0], ostride)
	}
}

func dot1xG(x []float32, g [][]float32, stride int, scale float32, out []float32) {
	hd := len(x)
	if !HasAVX512 || hd == 0 || hd%16 != 0 || len(g) == 0 {
		Dot1xGGo(x, g, stride, scale, out)
		return
	}
	_ = out[4*len(g)-1]
	var gp [groupChunk]*float32
	for i0 := 0; i0 < len(g); i0 += groupChunk {
		part := g[i0:min(i0+groupChunk, len(g))]
		groupAddrs(&gp, part, stride, 0, hd)
		dot1xGAVX512(&x[0], &gp[0], stride, hd, len(part), scale, &out[4*i0])
	}
}

// axpy4xG runs the kernel on each 64 columns; columns past the last 64 go
// through Axpy, row by row (axpyGroupsFrom: each element's sum is the same
// either way).
func axpy4xG(out, w *[4][]float32, g [][]float32, stride int) {
	m := len(out[0])
	m64 := m &^ 63
	if !HasAVX512 || m64 == 0 || len(g) == 0 {
		Axpy4xGGo(out, w, g, stride)
		return
	}
	for j := range 4 {
		_, _ = w[j][4*len(g)-1], out[j][m-1]
	}
	var gp [groupChunk]*float32
	for i0 := 0; i0 < len(g); i0 += groupChunk {
		part := g[i0:min(i0+groupChunk, len(g))]
		wp := [4]*float32{&w[0][4*i0], &w[1][4*i0], &w[2][4*i0], &w[3][4*i0]}
		for c := 0; c < m64; c += 64 {
			groupAddrs(&gp, part, stride, c, 64)
			op := [4]*float32{&out[0][c], &out[1][c], &out[2][c], &out[3][c]}
			axpy4xG64AVX512(&op, &wp, &gp[0], stride, len(part))
		}
	}
	if m64 < m {
		for j := range 4 {
			axpyGroupsFrom(out[j][m64:m], w[j], g, stride, m64)
		}
	}
}

func axpy1xG(out, w []float32, g [][]float32, stride int) {
	m := len(out)
	m64 := m &^ 63
	if !HasAVX512 || m64 == 0 || len(g) == 0 {
		Axpy1xGGo(out, w, g, stride)
		return
	}
	_ = w[4*len(g)-1]
	var gp [groupChunk]*float32
	for i0 := 0; i0 < len(g); i0 += groupChunk {
		part := g[i0:min(i0+groupChunk, len(g))]
		for c := 0; c < m64; c += 64 {
			groupAddrs(&gp, part, stride, c, 64)
			axpy1xG64AVX512(&out[c], &w[4*i0], &gp[0], stride, len(part))
		}
	}
	if m64 < m {
		axpyGroupsFrom(out[m64:], w, g, stride, m64)
	}
}

//go:noescape
func dot4xRowsAVX512(w *[4]*float32, x *float32, xstride, n, groups int, y *float32, ystride int, pf *float32)

func dot4xRows(w *[4][]float32, x []float32, xstride, rows int, y []float32, ystride int, pf []float32) {
	n := len(w[0])
	n16 := n &^ 15
	if !HasAVX512 || n16 == 0 {
		Dot4xRowsGo(w, x, xstride, rows, y, ystride)
		return
	}
	groups := rows / 4
	if groups == 0 {
		dot4xRowsEach(w, x, xstride, rows, y, ystride)
		return
	}
	var wp [4]*float32
	for a := range 4 {
		wp[a] = &w[a][:n][0]
	}
	_ = x[(4*groups-1)*xstride+n-1]
	_ = y[(4*groups-1)*ystride+3]
	p := wp[0]
	if len(pf) >= 4*n16 {
		p = &pf[0]
	}
	dot4xRowsAVX512(&wp, &x[0], xstride, n16, groups, &y[0], ystride, p)
	if n16 < n { // not looping over the outputs when there is no tail
		for c := range 4 * groups {
			for a := range 4 {
				for k := n16; k < n; k++ {
					y[c*ystride+a] += w[a][k] * x[c*xstride+k]
				}
			}
		}
	}
	if rest := rows - 4*groups; rest > 0 {
		c0 := 4 * groups
		dot4xRowsEach(w, x[c0*xstride:], xstride, rest, y[c0*ystride:], ystride)
	}
}

// dot4xRowsEach is Dot4xRows for a batch of fewer than four rows (or the
// last of a batch): the four weight rows against one batch row at a time
// (dot4x1, Dot16's sums), instead of Dot16 on every pair, which runs the
// same four-row kernel on three copies of one row. A tree search's batches
// are often that small.
func dot4xRowsEach(w *[4][]float32, x []float32, xstride, rows int, y []float32, ystride int) {
	n := len(w[0])
	var out [4]float32
	for c := range rows {
		dot4x1(w, x[c*xstride:c*xstride+n], &out)
		copy(y[c*ystride:c*ystride+4], out[:])
	}
}
