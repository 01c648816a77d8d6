//go:build openblas && cgo

package enginebench

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
char* openblas_get_config(void);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// This file links OpenBLAS (Debian: libopenblas-dev) so that the engine's
// kernels can be compared with sgemm on the same shapes in one run. Only a
// build with -tags openblas uses cgo; the default build stays pure Go.

func init() {
	sgemm = func(m, n, k int, x, w, y []float32) {
		if len(x) < m*k || len(w) < n*k || len(y) < m*n {
			panic(fmt.Sprintf("enginebench: sgemm %dx%dx%d: short operands", m, n, k))
		}
		if m == 1 { // a matrix-vector product: OpenBLAS's sgemm is slow at it, sgemv is not
			C.cblas_sgemv(C.CblasRowMajor, C.CblasNoTrans, C.blasint(n), C.blasint(k),
				1, (*C.float)(unsafe.Pointer(&w[0])), C.blasint(k), (*C.float)(unsafe.Pointer(&x[0])), 1,
				0, (*C.float)(unsafe.Pointer(&y[0])), 1)
			return
		}
		C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasTrans, C.blasint(m), C.blasint(n), C.blasint(k),
			1, (*C.float)(unsafe.Pointer(&x[0])), C.blasint(k), (*C.float)(unsafe.Pointer(&w[0])), C.blasint(k),
			0, (*C.float)(unsafe.Pointer(&y[0])), C.blasint(n))
	}
	blasConfig = func() string {
		return fmt.Sprintf("%s, %d threads", C.GoString(C.openblas_get_config()), int(C.openblas_get_num_threads()))
	}
}
