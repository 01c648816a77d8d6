//go:build amd64

#include "textflag.h"

// func dotAVX2(a, b *float32, n int) float32
// Four 8-wide FMA accumulators, then a scalar tail.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JL   reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

reduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0

tail:
	CMPQ CX, $0
	JE   done
	VMOVSS      (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail

done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// REDUCE sums the 8 lanes of ymm register Y into the float32 at off(AX).
#define REDUCE(Y, X, off) \
	VEXTRACTF128 $1, Y, X14 \
	VADDPS       X14, X, X \
	VHADDPS      X, X, X \
	VHADDPS      X, X, X \
	VMOVSS       X, off(AX)

// func dot2x4AVX2(w0, w1, x0, x1, x2, x3 *float32, n int, out *[8]float32)
// out[4*i+j] = wi . xj over n elements; n is a positive multiple of 8.
// Each weight load feeds four FMAs and each activation load two.
TEXT ·dot2x4AVX2(SB), NOSPLIT, $0-64
	MOVQ w0+0(FP), SI
	MOVQ w1+8(FP), DI
	MOVQ x0+16(FP), R8
	MOVQ x1+24(FP), R9
	MOVQ x2+32(FP), R10
	MOVQ x3+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ out+56(FP), AX
	XORQ BX, BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop:
	VMOVUPS (SI)(BX*4), Y8
	VMOVUPS (DI)(BX*4), Y9
	VMOVUPS (R8)(BX*4), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS (R9)(BX*4), Y11
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y11, Y9, Y5
	VMOVUPS (R10)(BX*4), Y12
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y12, Y9, Y6
	VMOVUPS (R11)(BX*4), Y13
	VFMADD231PS Y13, Y8, Y3
	VFMADD231PS Y13, Y9, Y7
	ADDQ $8, BX
	CMPQ BX, CX
	JL   loop

	REDUCE(Y0, X0, 0)
	REDUCE(Y1, X1, 4)
	REDUCE(Y2, X2, 8)
	REDUCE(Y3, X3, 12)
	REDUCE(Y4, X4, 16)
	REDUCE(Y5, X5, 20)
	REDUCE(Y6, X6, 24)
	REDUCE(Y7, X7, 28)
	VZEROUPPER
	RET

// func dotQ8Q8AVX2(q *int8, d *float32, xq *int8, xd *float32, nb int) float32
// Q8_0 x Q8_0 over nb blocks of 32: exact integer dot per block (as
// ggml: |w| times x signed by w, pairwise then 4-wise sums), scaled by
// d[b]*xd[b] and accumulated in 8 float lanes.
TEXT ·dotQ8Q8AVX2(SB), NOSPLIT, $0-44
	MOVQ q+0(FP), SI
	MOVQ d+8(FP), R8
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R9
	MOVQ nb+32(FP), CX
	VXORPS    Y0, Y0, Y0
	VPCMPEQW  Y15, Y15, Y15
	VPSRLW    $15, Y15, Y15

qloop:
	VMOVDQU      (SI), Y1
	VMOVDQU      (DI), Y2
	VPSIGNB      Y1, Y1, Y3
	VPSIGNB      Y1, Y2, Y4
	VPMADDUBSW   Y4, Y3, Y5
	VPMADDWD     Y15, Y5, Y5
	VCVTDQ2PS    Y5, Y5
	VMOVSS       (R8), X6
	VMULSS       (R9), X6, X6
	VBROADCASTSS X6, Y6
	VFMADD231PS  Y6, Y5, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ CX
	JNZ  qloop

	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// func axpyAVX2(y *float32, a float32, x *float32, n int)
// y += a*x over n elements, n a positive multiple of 8.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	VBROADCASTSS a+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX

aloop:
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  aloop
	VZEROUPPER
	RET

// func roundF16F16C(x *float32, n int)
// Rounds n floats (a positive multiple of 8) to the nearest f16 in place,
// with the F16C conversions (round to nearest even).
TEXT ·roundF16F16C(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX

hloop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VCVTPH2PS X1, Y0
	VMOVUPS   Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  hloop
	VZEROUPPER
	RET

// func attnScoresAVX2(q, k *float32, stride, hd, n int, scale float32, out *float32)
// out[t] = (q . k[t*stride : t*stride+hd]) * scale for t < n, n >= 1. Each
// dot product is computed exactly as dotAVX2 computes it (same lanes, same
// order), so results do not depend on which path ran; keeping the loop
// over positions in assembly saves a call and its checks per position,
// and lets the CPU overlap consecutive positions.
TEXT ·attnScoresAVX2(SB), NOSPLIT, $0-56
	MOVQ   q+0(FP), R11
	MOVQ   k+8(FP), R10
	MOVQ   stride+16(FP), R8
	SHLQ   $2, R8
	MOVQ   hd+24(FP), R12
	MOVQ   n+32(FP), DX
	VMOVSS scale+40(FP), X15
	MOVQ   out+48(FP), R9

spos:
	MOVQ   R11, SI
	MOVQ   R10, DI
	MOVQ   R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

s32:
	CMPQ CX, $32
	JL   s8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  s32

s8:
	CMPQ CX, $8
	JL   sred
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  s8

sred:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0

stail:
	CMPQ CX, $0
	JE   sout
	VMOVSS      (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  stail

sout:
	VMULSS X15, X0, X0
	VMOVSS X0, (R9)
	ADDQ   $4, R9
	ADDQ   R8, R10
	DECQ   DX
	JNZ    spos
	VZEROUPPER
	RET

// func attnValuesAVX2(out, w, v *float32, stride, n, m int)
// out[:m] = sum over t < n of w[t] * v[t*stride : t*stride+m], for m a
// positive multiple of 8 and n >= 1. Each element accumulates in t order
// with one FMA per step from zero, exactly as repeated axpyAVX2 calls
// would, but the sums stay in registers (blocks of 64, 32, then 8 floats).
TEXT ·attnValuesAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), R9
	MOVQ w+8(FP), R11
	MOVQ v+16(FP), R10
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	MOVQ n+32(FP), R12
	MOVQ m+40(FP), CX

v64:
	CMPQ CX, $64
	JL   v32
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   R11, BX
	MOVQ   R10, DI
	MOVQ   R12, DX

v64loop:
	VBROADCASTSS (BX), Y8
	VFMADD231PS  (DI), Y8, Y0
	VFMADD231PS  32(DI), Y8, Y1
	VFMADD231PS  64(DI), Y8, Y2
	VFMADD231PS  96(DI), Y8, Y3
	VFMADD231PS  128(DI), Y8, Y4
	VFMADD231PS  160(DI), Y8, Y5
	VFMADD231PS  192(DI), Y8, Y6
	VFMADD231PS  224(DI), Y8, Y7
	ADDQ $4, BX
	ADDQ R8, DI
	DECQ DX
	JNZ  v64loop
	VMOVUPS Y0, (R9)
	VMOVUPS Y1, 32(R9)
	VMOVUPS Y2, 64(R9)
	VMOVUPS Y3, 96(R9)
	VMOVUPS Y4, 128(R9)
	VMOVUPS Y5, 160(R9)
	VMOVUPS Y6, 192(R9)
	VMOVUPS Y7, 224(R9)
	ADDQ $256, R9
	ADDQ $256, R10
	SUBQ $64, CX
	JMP  v64

v32:
	CMPQ CX, $32
	JL   v8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   R11, BX
	MOVQ   R10, DI
	MOVQ   R12, DX

v32loop:
	VBROADCASTSS (BX), Y8
	VFMADD231PS  (DI), Y8, Y0
	VFMADD231PS  32(DI), Y8, Y1
	VFMADD231PS  64(DI), Y8, Y2
	VFMADD231PS  96(DI), Y8, Y3
	ADDQ $4, BX
	ADDQ R8, DI
	DECQ DX
	JNZ  v32loop
	VMOVUPS Y0, (R9)
	VMOVUPS Y1, 32(R9)
	VMOVUPS Y2, 64(R9)
	VMOVUPS Y3, 96(R9)
	ADDQ $128, R9
	ADDQ $128, R10
	SUBQ $32, CX
	JMP  v32

v8:
	CMPQ CX, $8
	JL   vdone
	VXORPS Y0, Y0, Y0
	MOVQ   R11, BX
	MOVQ   R10, DI
	MOVQ   R12, DX

v8loop:
	VBROADCASTSS (BX), Y8
	VFMADD231PS  (DI), Y8, Y0
	ADDQ $4, BX
	ADDQ R8, DI
	DECQ DX
	JNZ  v8loop
	VMOVUPS Y0, (R9)
	ADDQ $32, R9
	ADDQ $32, R10
	SUBQ $8, CX
	JMP  v8

vdone:
	VZEROUPPER
	RET
