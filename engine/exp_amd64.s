//go:build amd64

#include "textflag.h"

// Constants of the float32 exp below, broadcast into Y5-Y15 by EXPCONSTS.
DATA expc<>+0(SB)/4, $0xC2AE0000  // -87: the argument's floor (2^n stays normal)
DATA expc<>+4(SB)/4, $0x42B00000  // 88: its ceiling
DATA expc<>+8(SB)/4, $0x3FB8AA3B  // log2(e)
DATA expc<>+12(SB)/4, $0x3F318000 // ln 2, high part (exact in few bits)
DATA expc<>+16(SB)/4, $0xB95E8083 // ln 2, low part
DATA expc<>+20(SB)/4, $0x3F800000 // 1 (also the bits 2^n is built on)
DATA expc<>+24(SB)/4, $0x3F000000 // 1/2!
DATA expc<>+28(SB)/4, $0x3E2AAAAB // 1/3!
DATA expc<>+32(SB)/4, $0x3D2AAAAB // 1/4!
DATA expc<>+36(SB)/4, $0x3C088889 // 1/5!
DATA expc<>+40(SB)/4, $0x3AB60B61 // 1/6!
GLOBL expc<>(SB), RODATA|NOPTR, $44

#define EXPCONSTS \
	VBROADCASTSS expc<>+0(SB), Y15 \
	VBROADCASTSS expc<>+4(SB), Y14 \
	VBROADCASTSS expc<>+8(SB), Y13 \
	VBROADCASTSS expc<>+12(SB), Y12 \
	VBROADCASTSS expc<>+16(SB), Y11 \
	VBROADCASTSS expc<>+20(SB), Y10 \
	VBROADCASTSS expc<>+24(SB), Y9 \
	VBROADCASTSS expc<>+28(SB), Y8 \
	VBROADCASTSS expc<>+32(SB), Y7 \
	VBROADCASTSS expc<>+36(SB), Y6 \
	VBROADCASTSS expc<>+40(SB), Y5

// EXP sets Y0 to exp(Y0) for Y0 in [-87, 88], lane by lane: x = n ln2 + r
// with n = round(x log2 e) and |r| <= ln2/2 (Cody-Waite, two parts of ln 2),
// exp(r) by its Taylor polynomial of degree 6 (error below 2e-7 relative)
// in Horner form, times 2^n built in the exponent bits. Clobbers Y1-Y4.
#define EXP \
	VMULPS       Y13, Y0, Y1 \
	VROUNDPS     $0, Y1, Y1 \
	VMOVAPS      Y0, Y2 \
	VFNMADD231PS Y12, Y1, Y2 \
	VFNMADD231PS Y11, Y1, Y2 \
	VMOVAPS      Y5, Y3 \
	VFMADD213PS  Y6, Y2, Y3 \
	VFMADD213PS  Y7, Y2, Y3 \
	VFMADD213PS  Y8, Y2, Y3 \
	VFMADD213PS  Y9, Y2, Y3 \
	VFMADD213PS  Y10, Y2, Y3 \
	VFMADD213PS  Y10, Y2, Y3 \
	VCVTPS2DQ    Y1, Y4 \
	VPSLLD       $23, Y4, Y4 \
	VPADDD       Y10, Y4, Y4 \
	VMULPS       Y4, Y3, Y0

// func expSubAVX2(x *float32, n int, m float32)
// x[i] = exp(x[i] - m) for i < n, n a positive multiple of 8.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	EXPCONSTS
	VBROADCASTSS m+16(FP), Y14 // x - m needs no ceiling: reuse its register

eloop:
	VMOVUPS (DI), Y0
	VSUBPS  Y14, Y0, Y0
	VMAXPS  Y15, Y0, Y0
	EXP
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     eloop
	VZEROUPPER
	RET

// func swigluAVX2(h, u *float32, n int)
// h[i] = silu(h[i]) * u[i] = h[i] / (1 + exp(-h[i])) * u[i] for i < n, n a
// positive multiple of 8.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-24
	MOVQ h+0(FP), DI
	MOVQ u+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONSTS

sloop:
	VMOVUPS (DI), Y0
	VMOVAPS Y0, Y3      // h, kept while Y0 becomes exp(-h)
	VXORPS  Y1, Y1, Y1
	VSUBPS  Y0, Y1, Y0
	VMAXPS  Y15, Y0, Y0
	VMINPS  Y14, Y0, Y0
	VMOVUPS Y3, (DI)    // EXP clobbers Y3: park h in place
	EXP
	VADDPS  Y10, Y0, Y0
	VMOVUPS (DI), Y1
	VDIVPS  Y0, Y1, Y1
	VMULPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     sloop
	VZEROUPPER
	RET
