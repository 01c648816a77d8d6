package train

import "golang.org/x/sys/cpu"

// useAVX selects the AVX2/FMA kernel; the pure-Go one is the reference and
// the fallback on CPUs without those extensions.
var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func kernel2x4AVX(a0, a1, b0, b1, b2, b3 *float32, n int, out *[8]float32)

// kernel2x4 sets s[r*4+c] to the dot product of a_r with b_c.
func kernel2x4(s *[8]float32, a0, a1, b0, b1, b2, b3 []float32) {
	n := len(a0)
	if !useAVX || n < 8 {
		kernel2x4Go(s, a0, a1, b0, b1, b2, b3)
		return
	}
	m := n &^ 7
	a1, b0, b1, b2, b3 = a1[:n], b0[:n], b1[:n], b2[:n], b3[:n]
	kernel2x4AVX(&a0[0], &a1[0], &b0[0], &b1[0], &b2[0], &b3[0], m, s)
	if m < n {
		var t [8]float32
		kernel2x4Go(&t, a0[m:], a1[m:], b0[m:], b1[m:], b2[m:], b3[m:])
		for i := range s {
			s[i] += t[i]
		}
	}
}

//go:noescape
func dotAVX(a, b *float32, n int) float32

//go:noescape
func axpyAVX(y *float32, a float32, x *float32, n int)

// dot is Σ a[i]·b[i] over len(a).
func dot(a, b []float32) float32 {
	n := len(a)
	if !useAVX || n < 8 {
		return dotGo(a, b)
	}
	b = b[:n]
	m := n &^ 7
	s := dotAVX(&a[0], &b[0], m)
	if m < n {
		s += dotGo(a[m:], b[m:])
	}
	return s
}

// axpy adds a·x to y.
func axpy(y []float32, a float32, x []float32) {
	n := len(y)
	if !useAVX || n < 8 {
		axpyGo(y, a, x)
		return
	}
	x = x[:n]
	m := n &^ 7
	axpyAVX(&y[0], a, &x[0], m)
	if m < n {
		axpyGo(y[m:], a, x[m:])
	}
}
