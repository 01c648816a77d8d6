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

// func outer4x24AVX2(c *float32, ldc int, a *float32, ar, ap int, b *float32, ldb int, n int)
// For r < 4 and j < 24: c[r*ldc+j] += Σ_{p<n} a[r*ar+p*ap] · b[p*ldb+j]
// (strides in floats, n > 0). Twelve accumulators hold the 4×24 block;
// each step broadcasts four elements of a and loads 24 of b.
TEXT ·outer4x24AVX2(SB), NOSPLIT, $0-64
	MOVQ c+0(FP), DX
	MOVQ ldc+8(FP), R11
	MOVQ a+16(FP), SI
	MOVQ ar+24(FP), R8
	MOVQ ap+32(FP), R9
	MOVQ b+40(FP), DI
	MOVQ ldb+48(FP), R10
	MOVQ n+56(FP), CX
	SHLQ $2, R11
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	LEAQ (SI)(R8*1), AX
	LEAQ (AX)(R8*1), BX
	LEAQ (BX)(R8*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

oloop:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VMOVUPS      64(DI), Y14
	VBROADCASTSS (SI), Y15
	VFMADD231PS  Y12, Y15, Y0
	VFMADD231PS  Y13, Y15, Y1
	VFMADD231PS  Y14, Y15, Y2
	VBROADCASTSS (AX), Y15
	VFMADD231PS  Y12, Y15, Y3
	VFMADD231PS  Y13, Y15, Y4
	VFMADD231PS  Y14, Y15, Y5
	VBROADCASTSS (BX), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VFMADD231PS  Y14, Y15, Y8
	VBROADCASTSS (R13), Y15
	VFMADD231PS  Y12, Y15, Y9
	VFMADD231PS  Y13, Y15, Y10
	VFMADD231PS  Y14, Y15, Y11
	ADDQ R9, SI
	ADDQ R9, AX
	ADDQ R9, BX
	ADDQ R9, R13
	ADDQ R10, DI
	DECQ CX
	JNZ  oloop

	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DX)
	VADDPS  32(DX), Y1, Y1
	VMOVUPS Y1, 32(DX)
	VADDPS  64(DX), Y2, Y2
	VMOVUPS Y2, 64(DX)
	ADDQ    R11, DX
	VADDPS  (DX), Y3, Y3
	VMOVUPS Y3, (DX)
	VADDPS  32(DX), Y4, Y4
	VMOVUPS Y4, 32(DX)
	VADDPS  64(DX), Y5, Y5
	VMOVUPS Y5, 64(DX)
	ADDQ    R11, DX
	VADDPS  (DX), Y6, Y6
	VMOVUPS Y6, (DX)
	VADDPS  32(DX), Y7, Y7
	VMOVUPS Y7, 32(DX)
	VADDPS  64(DX), Y8, Y8
	VMOVUPS Y8, 64(DX)
	ADDQ    R11, DX
	VADDPS  (DX), Y9, Y9
	VMOVUPS Y9, (DX)
	VADDPS  32(DX), Y10, Y10
	VMOVUPS Y10, 32(DX)
	VADDPS  64(DX), Y11, Y11
	VMOVUPS Y11, 64(DX)
	VZEROUPPER
	RET

// ZERO16 clears the accumulators Z0-Z15.
#define ZERO16 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7 \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	VPXORD Z12, Z12, Z12 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14 \
	VPXORD Z15, Z15, Z15

// MUL4 adds Zx times each of Z16-Z19 (a block of four rows) to the
// accumulators A0-A3, one FMA each (the products commute: the same bits
// whichever operand is named first).
#define MUL4(Zx, A0, A1, A2, A3) \
	VFMADD231PS Z16, Zx, A0 \
	VFMADD231PS Z17, Zx, A1 \
	VFMADD231PS Z18, Zx, A2 \
	VFMADD231PS Z19, Zx, A3

// TILE4 adds one 64-byte chunk, at offset I, of a 4x4 block of products:
// rows K0-K3 (loaded into Z16-Z19) against vectors V0-V3 (into Z20-Z23),
// vector j with row r into accumulator Z(4j+r), so that RED4 of
// Z(4j)..Z(4j+3) gives vector j's four products in row order. Each load
// feeds four FMAs.
#define TILE4(K0, K1, K2, K3, V0, V1, V2, V3, I) \
	VMOVUPS (K0)(I*1), Z16 \
	VMOVUPS (K1)(I*1), Z17 \
	VMOVUPS (K2)(I*1), Z18 \
	VMOVUPS (K3)(I*1), Z19 \
	VMOVUPS (V0)(I*1), Z20 \
	MUL4(Z20, Z0, Z1, Z2, Z3) \
	VMOVUPS (V1)(I*1), Z21 \
	MUL4(Z21, Z4, Z5, Z6, Z7) \
	VMOVUPS (V2)(I*1), Z22 \
	MUL4(Z22, Z8, Z9, Z10, Z11) \
	VMOVUPS (V3)(I*1), Z23 \
	MUL4(Z23, Z12, Z13, Z14, Z15)

// RED4 sums each of the 16-lane accumulators Za..Zd and leaves the four
// sums in X19 (lane k the sum of the k-th accumulator), in
// the order of _mm512_reduce_add_ps as GCC and Clang expand it, which is
// how ggml's tinyBLAS (llamafile sgemm) finishes each product of a prompt:
// lane i plus lane i+8, then i plus i+4, then i plus i+2, then the last
// two. Clobbers X16-X20 (Y16).
#define RED4(Za, Zb, Zc, Zd, Ya, Yb, Yc, Yd, Xa, Xb, Xc, Xd) \
	VEXTRACTF64X4 $1, Za, Y16 \
	VADDPS        Y16, Ya, Ya \
	VEXTRACTF64X4 $1, Zb, Y16 \
	VADDPS        Y16, Yb, Yb \
	VEXTRACTF64X4 $1, Zc, Y16 \
	VADDPS        Y16, Yc, Yc \
	VEXTRACTF64X4 $1, Zd, Y16 \
	VADDPS        Y16, Yd, Yd \
	VEXTRACTF32X4 $1, Ya, X16 \
	VADDPS        X16, Xa, Xa \
	VEXTRACTF32X4 $1, Yb, X16 \
	VADDPS        X16, Xb, Xb \
	VEXTRACTF32X4 $1, Yc, X16 \
	VADDPS        X16, Xc, Xc \
	VEXTRACTF32X4 $1, Yd, X16 \
	VADDPS        X16, Xd, Xd \
	VUNPCKLPS     Xb, Xa, X16 \
	VUNPCKHPS     Xb, Xa, X17 \
	VADDPS        X17, X16, X16 \
	VUNPCKLPS     Xd, Xc, X18 \
	VUNPCKHPS     Xd, Xc, X17 \
	VADDPS        X17, X18, X18 \
	VMOVLHPS      X18, X16, X19 \
	VMOVHLPS      X16, X18, X20 \
	VADDPS        X20, X19, X19

// func dot4x1AVX512(w *[4]*float32, x *float32, n int, out *[4]float32)
// out[k] = w[k] . x over n elements, n a positive multiple of 16, each
// summed in Dot16's order (one 16-lane accumulator a row, then RED4), so
// that a token's products are the same decoded alone as in a batch.
// Reading four rows at once keeps four streams of weights in flight, which
// moves more bytes from memory per core than one; two blocks of 16 an
// iteration, each row's second FMA waiting on its first. Each iteration
// also asks for the lines 1 KB ahead in each row (past a row's end: the
// next row of its quarter, which the next call reads): decode 1.07x,
// median of 13 interleaved BenchmarkDecodeBatch1 pairs on the 100M model.
TEXT ·dot4x1AVX512(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), DI
	MOVQ 16(AX), R8
	MOVQ 24(AX), R9
	MOVQ x+8(FP), R10
	MOVQ n+16(FP), CX
	MOVQ out+24(FP), AX
	XORQ BX, BX
	MOVQ CX, DX
	ANDQ $-32, DX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	CMPQ DX, $0
	JE   rows16

rows32:
	PREFETCHT0  1024(SI)(BX*4)
	PREFETCHT0  1088(SI)(BX*4)
	PREFETCHT0  1024(DI)(BX*4)
	PREFETCHT0  1088(DI)(BX*4)
	PREFETCHT0  1024(R8)(BX*4)
	PREFETCHT0  1088(R8)(BX*4)
	PREFETCHT0  1024(R9)(BX*4)
	PREFETCHT0  1088(R9)(BX*4)
	VMOVUPS     (R10)(BX*4), Z16
	VMOVUPS     64(R10)(BX*4), Z17
	VFMADD231PS (SI)(BX*4), Z16, Z0
	VFMADD231PS (DI)(BX*4), Z16, Z1
	VFMADD231PS (R8)(BX*4), Z16, Z2
	VFMADD231PS (R9)(BX*4), Z16, Z3
	VFMADD231PS 64(SI)(BX*4), Z17, Z0
	VFMADD231PS 64(DI)(BX*4), Z17, Z1
	VFMADD231PS 64(R8)(BX*4), Z17, Z2
	VFMADD231PS 64(R9)(BX*4), Z17, Z3
	ADDQ        $32, BX
	CMPQ        BX, DX
	JL          rows32

rows16:
	CMPQ        BX, CX
	JGE         rowsreduce
	VMOVUPS     (R10)(BX*4), Z16
	VFMADD231PS (SI)(BX*4), Z16, Z0
	VFMADD231PS (DI)(BX*4), Z16, Z1
	VFMADD231PS (R8)(BX*4), Z16, Z2
	VFMADD231PS (R9)(BX*4), Z16, Z3

rowsreduce:
	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3)
	VMOVUPS X19, 0(AX)
	VZEROUPPER
	RET

// The group kernels below take their groups' addresses from a list, held
// in BP: their 8-byte frames make the assembler save the caller's BP and
// restore it on return.

// func dot4xGAVX512(x *[4]*float32, grp **float32, stride, hd, ng int, scale float32, out *float32, ostride int)
// out[j*ostride+4i+r] = (x[j] . g[i][r*stride:][:hd]) * scale for j < 4,
// i < ng, r < 4: four vectors against ng groups of four rows, each group
// four rows at a stride from its own address (an attention head's queries
// of four rows against four positions of a KV block), hd a positive
// multiple of 16, ng >= 1. Each product is summed in Dot16's order (one
// 16-lane accumulator, RED4), then scaled: the same as Dot16 times scale.
// Accumulators as TILE4 leaves them. Registers: R8-R11 the vectors, SI
// R12 R13 R14 the group's rows, DX the row stride, AX the offset within
// them, BX hd, CX the groups left, BP the group list, DI the output, R15
// its row stride (bytes), Z24 the scale.
TEXT ·dot4xGAVX512(SB), $8-64
	MOVQ x+0(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ grp+8(FP), BP
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	MOVQ hd+24(FP), BX
	SHLQ $2, BX
	MOVQ ng+32(FP), CX
	VBROADCASTSS scale+40(FP), Z24
	MOVQ out+48(FP), DI
	MOVQ ostride+56(FP), R15
	SHLQ $2, R15

g4group:
	MOVQ (BP), SI
	LEAQ (SI)(DX*1), R12
	LEAQ (SI)(DX*2), R13
	LEAQ (R12)(DX*2), R14
	ZERO16
	XORQ AX, AX

g4chunk:
	TILE4(SI, R12, R13, R14, R8, R9, R10, R11, AX)
	ADDQ        $64, AX
	CMPQ        AX, BX
	JL          g4chunk

	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3)
	VMULPS  X24, X19, X19
	VMOVUPS X19, (DI)
	RED4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, X6, X7)
	VMULPS  X24, X19, X19
	VMOVUPS X19, (DI)(R15*1)
	RED4(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9, X10, X11)
	VMULPS  X24, X19, X19
	VMOVUPS X19, (DI)(R15*2)
	RED4(Z12, Z13, Z14, Z15, Y12, Y13, Y14, Y15, X12, X13, X14, X15)
	VMULPS  X24, X19, X19
	LEAQ    (DI)(R15*2), AX
	ADDQ    R15, AX
	VMOVUPS X19, (AX)
	ADDQ    $8, BP
	ADDQ    $16, DI
	DECQ    CX
	JNZ     g4group
	VZEROUPPER
	RET

// func dot1xGAVX512(x *float32, grp **float32, stride, hd, ng int, scale float32, out *float32)
// dot4xGAVX512 for one vector: out[4i+r] = (x . g[i][r*stride:][:hd]) *
// scale, the group's rows in Z0-Z3 (RED4).
TEXT ·dot1xGAVX512(SB), $8-56
	MOVQ x+0(FP), R8
	MOVQ grp+8(FP), BP
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	MOVQ hd+24(FP), BX
	SHLQ $2, BX
	MOVQ ng+32(FP), CX
	VBROADCASTSS scale+40(FP), Z24
	MOVQ out+48(FP), DI

g1group:
	MOVQ (BP), SI
	LEAQ (SI)(DX*1), R12
	LEAQ (SI)(DX*2), R13
	LEAQ (R12)(DX*2), R14
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ AX, AX

g1chunk:
	VMOVUPS     (R8)(AX*1), Z20
	VFMADD231PS (SI)(AX*1), Z20, Z0
	VFMADD231PS (R12)(AX*1), Z20, Z1
	VFMADD231PS (R13)(AX*1), Z20, Z2
	VFMADD231PS (R14)(AX*1), Z20, Z3
	ADDQ        $64, AX
	CMPQ        AX, BX
	JL          g1chunk

	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3)
	VMULPS  X24, X19, X19
	VMOVUPS X19, (DI)
	ADDQ    $8, BP
	ADDQ    $16, DI
	DECQ    CX
	JNZ     g1group
	VZEROUPPER
	RET

// AXPYROW adds w * the 64 floats at row to the four accumulators A0-A3
// (one output's 64 floats), W the weight broadcast.
#define AXPYROW(row, W, A0, A1, A2, A3) \
	VFMADD231PS (row), W, A0 \
	VFMADD231PS 64(row), W, A1 \
	VFMADD231PS 128(row), W, A2 \
	VFMADD231PS 192(row), W, A3

// func axpy4xG64AVX512(out *[4]*float32, w *[4]*float32, grp **float32, stride, ng int)
// out[j][:64] += sum over i < ng, r < 4 of w[j][4i+r] * g[i][r*stride:][:64]
// for j < 4, ng >= 1: four weighted sums over the same groups of four rows
// (an attention head's values, shared by four rows). Each element
// accumulates in row order with one FMA per row from its value in out,
// exactly as Axpy after Axpy would, each row read from cache once for the
// four. Z0-Z15 hold out (Z(4j+c) the c-th 16 floats of out[j]), Z16-Z19 a
// row, Z20-Z23 the four weights; BX counts the rows done.
TEXT ·axpy4xG64AVX512(SB), $8-40
	MOVQ out+0(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ w+8(FP), AX
	MOVQ 0(AX), R12
	MOVQ 8(AX), R13
	MOVQ 16(AX), R14
	MOVQ 24(AX), R15
	MOVQ grp+16(FP), BP
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	MOVQ ng+32(FP), CX
	VMOVUPS (R8), Z0
	VMOVUPS 64(R8), Z1
	VMOVUPS 128(R8), Z2
	VMOVUPS 192(R8), Z3
	VMOVUPS (R9), Z4
	VMOVUPS 64(R9), Z5
	VMOVUPS 128(R9), Z6
	VMOVUPS 192(R9), Z7
	VMOVUPS (R10), Z8
	VMOVUPS 64(R10), Z9
	VMOVUPS 128(R10), Z10
	VMOVUPS 192(R10), Z11
	VMOVUPS (R11), Z12
	VMOVUPS 64(R11), Z13
	VMOVUPS 128(R11), Z14
	VMOVUPS 192(R11), Z15
	XORQ BX, BX

a4group:
	MOVQ (BP), SI
	MOVQ $4, AX

a4row:
	VMOVUPS      (SI), Z16
	VMOVUPS      64(SI), Z17
	VMOVUPS      128(SI), Z18
	VMOVUPS      192(SI), Z19
	VBROADCASTSS (R12)(BX*4), Z20
	VBROADCASTSS (R13)(BX*4), Z21
	VBROADCASTSS (R14)(BX*4), Z22
	VBROADCASTSS (R15)(BX*4), Z23
	VFMADD231PS  Z16, Z20, Z0
	VFMADD231PS  Z17, Z20, Z1
	VFMADD231PS  Z18, Z20, Z2
	VFMADD231PS  Z19, Z20, Z3
	VFMADD231PS  Z16, Z21, Z4
	VFMADD231PS  Z17, Z21, Z5
	VFMADD231PS  Z18, Z21, Z6
	VFMADD231PS  Z19, Z21, Z7
	VFMADD231PS  Z16, Z22, Z8
	VFMADD231PS  Z17, Z22, Z9
	VFMADD231PS  Z18, Z22, Z10
	VFMADD231PS  Z19, Z22, Z11
	VFMADD231PS  Z16, Z23, Z12
	VFMADD231PS  Z17, Z23, Z13
	VFMADD231PS  Z18, Z23, Z14
	VFMADD231PS  Z19, Z23, Z15
	ADDQ         DX, SI
	INCQ         BX
	DECQ         AX
	JNZ          a4row
	ADDQ         $8, BP
	DECQ         CX
	JNZ          a4group

	VMOVUPS Z0, (R8)
	VMOVUPS Z1, 64(R8)
	VMOVUPS Z2, 128(R8)
	VMOVUPS Z3, 192(R8)
	VMOVUPS Z4, (R9)
	VMOVUPS Z5, 64(R9)
	VMOVUPS Z6, 128(R9)
	VMOVUPS Z7, 192(R9)
	VMOVUPS Z8, (R10)
	VMOVUPS Z9, 64(R10)
	VMOVUPS Z10, 128(R10)
	VMOVUPS Z11, 192(R10)
	VMOVUPS Z12, (R11)
	VMOVUPS Z13, 64(R11)
	VMOVUPS Z14, 128(R11)
	VMOVUPS Z15, 192(R11)
	VZEROUPPER
	RET

// func axpy1xG64AVX512(out *float32, w *float32, grp **float32, stride, ng int)
// axpy4xG64AVX512 for one output: out[:64] += sum over i < ng, r < 4 of
// w[4i+r] * g[i][r*stride:][:64], in row order, one FMA a row.
TEXT ·axpy1xG64AVX512(SB), $8-40
	MOVQ out+0(FP), R8
	MOVQ w+8(FP), R12
	MOVQ grp+16(FP), BP
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	MOVQ ng+32(FP), CX
	VMOVUPS (R8), Z0
	VMOVUPS 64(R8), Z1
	VMOVUPS 128(R8), Z2
	VMOVUPS 192(R8), Z3

a1group:
	MOVQ         (BP), SI
	LEAQ         (SI)(DX*1), R13
	LEAQ         (SI)(DX*2), R14
	LEAQ         (R13)(DX*2), R15
	VBROADCASTSS (R12), Z20
	VBROADCASTSS 4(R12), Z21
	VBROADCASTSS 8(R12), Z22
	VBROADCASTSS 12(R12), Z23
	AXPYROW(SI, Z20, Z0, Z1, Z2, Z3)
	AXPYROW(R13, Z21, Z0, Z1, Z2, Z3)
	AXPYROW(R14, Z22, Z0, Z1, Z2, Z3)
	AXPYROW(R15, Z23, Z0, Z1, Z2, Z3)
	ADDQ         $16, R12
	ADDQ         $8, BP
	DECQ         CX
	JNZ          a1group

	VMOVUPS Z0, (R8)
	VMOVUPS Z1, 64(R8)
	VMOVUPS Z2, 128(R8)
	VMOVUPS Z3, 192(R8)
	VZEROUPPER
	RET

// func dot4xRowsAVX512(w *[4]*float32, x *float32, xstride, n, groups int, y *float32, ystride int, pf *float32)
// y[c*ystride+a] = w[a] . x[c*xstride:][:n] for a < 4 and c < 4*groups,
// n a positive multiple of 16, groups >= 1: four weight rows against all
// the batch's rows in one call, four at a time (sixteen 16-lane
// accumulators, TILE4), each product summed in Dot16's order (RED4), and
// written where the matrix product's output goes (for batch row c, the
// four weight rows' outputs side by side: RED4 of Z(4c)..Z(4c+3)). Group
// g < 4 also prefetches row g of the four rows
// from pf on (n floats each, one after another: the weight rows the caller
// multiplies next) into L1 (T0: search 1.02x over T1's L2, 5 of 5
// interleaved pairs), as it streams its own. Registers: SI DI R8 R9
// the weight rows, R10-R13 the group's batch rows, DX their stride, BX
// the offset within rows, CX n (bytes), AX the output, R15 its row stride
// (bytes), R14 the row prefetched, BP the groups left; the frame holds
// how many groups still prefetch.
TEXT ·dot4xRowsAVX512(SB), $16-64
	MOVQ w+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), DI
	MOVQ 16(AX), R8
	MOVQ 24(AX), R9
	MOVQ x+8(FP), R10
	MOVQ xstride+16(FP), DX
	SHLQ $2, DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	MOVQ groups+32(FP), BP
	MOVQ y+40(FP), AX
	MOVQ ystride+48(FP), R15
	SHLQ $2, R15
	MOVQ pf+56(FP), R14
	MOVQ $4, BX
	MOVQ BX, left-8(SP)

rgroup:
	LEAQ (R10)(DX*1), R11
	LEAQ (R10)(DX*2), R12
	LEAQ (R11)(DX*2), R13
	CMPQ left-8(SP), $0
	JNE  rclear
	MOVQ SI, R14 // prefetching done: touch the current row, in cache

rclear:
	ZERO16
	XORQ   BX, BX

rchunk:
	PREFETCHT0  (R14)(BX*1)
	TILE4(SI, DI, R8, R9, R10, R11, R12, R13, BX)
	ADDQ        $64, BX
	CMPQ        BX, CX
	JL          rchunk

	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3)
	VMOVUPS X19, (AX)
	RED4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, X6, X7)
	VMOVUPS X19, (AX)(R15*1)
	RED4(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9, X10, X11)
	VMOVUPS X19, (AX)(R15*2)
	RED4(Z12, Z13, Z14, Z15, Y12, Y13, Y14, Y15, X12, X13, X14, X15)
	LEAQ    (AX)(R15*2), BX
	ADDQ    R15, BX
	VMOVUPS X19, (BX)
	LEAQ    (AX)(R15*4), AX
	LEAQ    (R10)(DX*4), R10
	ADDQ    CX, R14 // the next row to prefetch
	CMPQ    left-8(SP), $0
	JEQ     rnext
	DECQ    left-8(SP)

rnext:
	DECQ BP
	JNZ  rgroup
	VZEROUPPER
	RET
