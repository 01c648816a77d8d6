//go:build openblas && cgo

package enginebench

import (
	"testing"

	"github.com/pareto-llm/pareto/engine"
)

// TestSgemmMatchesEngine checks the OpenBLAS binding (operand order,
// transposition) against the engine's product, when it is linked.
func TestSgemmMatchesEngine(t *testing.T) {
	for _, m := range []int{1, 3} { // sgemv and sgemm
		n, k := 5, 7
		x, w := make([]float32, m*k), make([]float32, n*k)
		for i := range x {
			x[i] = float32(i%5) - 2
		}
		for i := range w {
			w[i] = float32(i%3) - 1
		}
		got, want := make([]float32, m*n), make([]float32, m*n)
		sgemm(m, n, k, x, w, got)
		engine.MatMul(engine.NewMatF32(n, k, w), x, want, m)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("m=%d: openblas %v, engine %v", m, got, want)
			}
		}
	}
}
