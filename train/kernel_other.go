//go:build !amd64

package train

func kernel2x4(s *[8]float32, a0, a1, b0, b1, b2, b3 []float32) {
	kernel2x4Go(s, a0, a1, b0, b1, b2, b3)
}

func dot(a, b []float32) float32 { return dotGo(a, b) }

func axpy(y []float32, a float32, x []float32) { axpyGo(y, a, x) }
