//go:build amd64

#include "textflag.h"

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
// out[:m] += sum over t < n of w[t] * v[t*stride : t*stride+m], for m a
// positive multiple of 8 and n >= 1. Each element accumulates in t order
// with one FMA per step from its value in out, exactly as repeated
// axpyAVX2 calls would, but the sums stay in registers (blocks of 64, 32,
// then 8 floats). Starting from out rather than zero lets a caller walk
// the KV blocks of a sequence one call per block with the same sums, in
// the same order, as one call over contiguous positions.
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
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	VMOVUPS 64(R9), Y2
	VMOVUPS 96(R9), Y3
	VMOVUPS 128(R9), Y4
	VMOVUPS 160(R9), Y5
	VMOVUPS 192(R9), Y6
	VMOVUPS 224(R9), Y7
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
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	VMOVUPS 64(R9), Y2
	VMOVUPS 96(R9), Y3
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
	VMOVUPS (R9), Y0
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
