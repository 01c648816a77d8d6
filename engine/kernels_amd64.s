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

// Q8PAIR adds one block of one (weight row, activation row) pair to acc
// exactly as an iteration of dotQ8Q8AVX2 does: Y14 holds the activation
// block, W addresses the weight block, AW holds its absolute values
// (VPABSB gives VPSIGNB w, w's bytes), DW the weight scale in its low lane
// and XD addresses the activation scale. Y8, Y9 are scratch.
#define Q8PAIR(W, AW, DW, XD, acc) \
	VPSIGNB      W, Y14, Y8 \
	VPMADDUBSW   Y8, AW, Y8 \
	VPMADDWD     Y15, Y8, Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VMULSS       XD, DW, X9 \
	VBROADCASTSS X9, Y9 \
	VFMADD231PS  Y9, Y8, acc

// Q8RED4 reduces the accumulators A0..A3 (ymm, with xmm halves X0..X3) of
// one weight row as dotQ8Q8AVX2's ending reduces its one: the high half
// added to the low, then lanes (0+1)+(2+3), done for four at once by three
// VHADDPS, which form the same sums. It stores the four floats at off(AX);
// T0, T1 are free xmm registers.
#define Q8RED4(A0, A1, A2, A3, X0, X1, X2, X3, T0, T1, off) \
	VEXTRACTF128 $1, A0, T0 \
	VADDPS       T0, X0, X0 \
	VEXTRACTF128 $1, A1, T1 \
	VADDPS       T1, X1, X1 \
	VEXTRACTF128 $1, A2, T0 \
	VADDPS       T0, X2, X2 \
	VEXTRACTF128 $1, A3, T1 \
	VADDPS       T1, X3, X3 \
	VHADDPS      X1, X0, X0 \
	VHADDPS      X3, X2, X2 \
	VHADDPS      X2, X0, X0 \
	VMOVUPS      X0, off(AX)

// func dotQ8Q8x2x4AVX2(q *int8, d *float32, x *int8, xd *float32, nb int, out *[8]float32)
// out[4*a+c] = dotQ8Q8AVX2 of weight row a < 2 (quants q+a*32*nb, scales
// d+a*nb) and activation row c < 4 (x+c*32*nb, xd+c*nb), nb >= 1 blocks,
// each pair's sum formed by the very instructions, in the same order, as
// dotQ8Q8AVX2's. Each weight block is loaded (and its absolute value
// taken) once for four activation rows, each activation block once for two
// weight rows. Y0-Y7 accumulate (Y0-Y3 row 0, Y4-Y7 row 1), Y12, Y13 hold
// |w|, X10, X11 the weight scales, Y14 the activation block, Y15 the
// int16 ones.
TEXT ·dotQ8Q8x2x4AVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ d+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ xd+24(FP), R9
	MOVQ nb+32(FP), CX
	MOVQ out+40(FP), AX
	MOVQ CX, DX
	SHLQ $5, DX             // row stride of quants
	MOVQ CX, BX
	SHLQ $2, BX             // row stride of scales, bytes
	LEAQ (DI)(DX*2), R10
	ADDQ DX, R10            // activation row 3
	LEAQ (R9)(BX*2), R11
	ADDQ BX, R11            // its scales
	VXORPS   Y0, Y0, Y0
	VXORPS   Y1, Y1, Y1
	VXORPS   Y2, Y2, Y2
	VXORPS   Y3, Y3, Y3
	VXORPS   Y4, Y4, Y4
	VXORPS   Y5, Y5, Y5
	VXORPS   Y6, Y6, Y6
	VXORPS   Y7, Y7, Y7
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15

q2x4loop:
	VPABSB (SI), Y12
	VPABSB (SI)(DX*1), Y13
	VMOVSS (R8), X10
	VMOVSS (R8)(BX*1), X11
	VMOVDQU (DI), Y14
	Q8PAIR((SI), Y12, X10, (R9), Y0)
	Q8PAIR((SI)(DX*1), Y13, X11, (R9), Y4)
	VMOVDQU (DI)(DX*1), Y14
	Q8PAIR((SI), Y12, X10, (R9)(BX*1), Y1)
	Q8PAIR((SI)(DX*1), Y13, X11, (R9)(BX*1), Y5)
	VMOVDQU (DI)(DX*2), Y14
	Q8PAIR((SI), Y12, X10, (R9)(BX*2), Y2)
	Q8PAIR((SI)(DX*1), Y13, X11, (R9)(BX*2), Y6)
	VMOVDQU (R10), Y14
	Q8PAIR((SI), Y12, X10, (R11), Y3)
	Q8PAIR((SI)(DX*1), Y13, X11, (R11), Y7)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R10
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ $4, R11
	DECQ CX
	JNZ  q2x4loop

	Q8RED4(Y0, Y1, Y2, Y3, X0, X1, X2, X3, X8, X9, 0)
	Q8RED4(Y4, Y5, Y6, Y7, X4, X5, X6, X7, X8, X9, 16)
	VZEROUPPER
	RET

// ZPAIR2 adds one block of two pairs, weight row a against activation rows
// c and c+1 (the ymm halves), to acc as Q8PAIR adds one: Z0 holds the two
// activation blocks, Z1 their negations, Z2 the two activation scales
// broadcast (xd of c in the low 8 lanes, of c+1 in the high 8); AW holds
// |w| twice, K the signs of w (twice), DW the weight scale broadcast.
// VPBLENDMB forms x signed by w: -x where w < 0, as VPSIGNB (the negation
// wrapping alike at -128), and x where w >= 0 (VPSIGNB's bytes but where w
// = 0, whose products with |w| = 0 are 0 all the same). VPDPBUSD onto zero
// then forms the int32 that VPMADDUBSW and VPMADDWD by ones form: each is
// the exact sum of the four byte products, as VPMADDUBSW's pair sums
// cannot saturate (its unsigned bytes are at most 128, its signed ones at
// least -128). The scale product d*xd rounds once, broadcast or not, and
// the FMA is Q8PAIR's. Z3-Z5 are scratch.
#define ZPAIR2(AW, K, DW, acc) \
	VPBLENDMB   Z1, Z0, K, Z3 \
	VPXORD      Z4, Z4, Z4 \
	VPDPBUSD    Z3, AW, Z4 \
	VCVTDQ2PS   Z4, Z4 \
	VMULPS      Z2, DW, Z5 \
	VFMADD231PS Z5, Z4, acc

// ZACT loads the blocks at XA and XB (of two activation rows) into the
// halves of Z0, their negations into Z1 (Z15 is zero), and their scales at
// DA and DB, each broadcast to its half, into Z2 (Y6 is scratch).
#define ZACT(XA, XB, DA, DB) \
	VMOVDQU       XA, Y0 \
	VINSERTI64X4  $1, XB, Z0, Z0 \
	VPSUBB        Z0, Z15, Z1 \
	VBROADCASTSS  DA, Y2 \
	VBROADCASTSS  DB, Y6 \
	VINSERTF64X4  $1, Y6, Z2, Z2

// ZRED4 reduces weight row a's accumulators (ZA: activations 0 | 1, ZB:
// 2 | 3; YA, YB, XA, XB their low parts) as Q8RED4 does, storing four
// floats at off(AX).
#define ZRED4(ZA, ZB, YA, YB, XA, XB, off) \
	VEXTRACTF64X4 $1, ZA, Y4 \
	VEXTRACTF64X4 $1, ZB, Y5 \
	VEXTRACTF32X4 $1, YA, X6 \
	VADDPS        X6, XA, X0 \
	VEXTRACTF128  $1, Y4, X7 \
	VADDPS        X7, X4, X1 \
	VEXTRACTF32X4 $1, YB, X6 \
	VADDPS        X6, XB, X2 \
	VEXTRACTF128  $1, Y5, X7 \
	VADDPS        X7, X5, X3 \
	VHADDPS       X1, X0, X0 \
	VHADDPS       X3, X2, X2 \
	VHADDPS       X2, X0, X0 \
	VMOVUPS       X0, off(AX)

// func dotQ8Q8x4x4AVX512(q *int8, d *float32, x *int8, xd *float32, nb int, out *[16]float32)
// dotQ8Q8x2x4AVX2 for weight rows a < 4 with AVX-512 (BW, VL, VNNI), two
// pairs to a 512-bit register: the low 8 lanes of each accumulator are
// dotQ8Q8AVX2's 8 lanes for one activation row, the high 8 for the next,
// each lane formed as there: the same exact int32 (see ZPAIR2), the same
// conversion, the same scale product d*xd and the same FMA, blocks in
// order, and the same reduction (ZRED4). Accumulators Z16-Z23 (weight row
// a, activations 2p | 2p+1 in Z16+2a+p), |w| of the four weight rows
// (broadcast to both halves) in Z24-Z27, their signs in K1-K4, their
// scales broadcast in Z28-Z31, zero in Z15. A block of two pairs takes six
// instructions (ZPAIR2) besides its share of the per-block loads, where
// dotQ8Q8AVX2 takes eleven vector instructions for one.
TEXT ·dotQ8Q8x4x4AVX512(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ d+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ xd+24(FP), R9
	MOVQ nb+32(FP), CX
	MOVQ out+40(FP), AX
	MOVQ CX, DX
	SHLQ $5, DX
	MOVQ CX, BX
	SHLQ $2, BX
	LEAQ (SI)(DX*2), R12
	ADDQ DX, R12            // weight row 3
	LEAQ (R8)(BX*2), R13
	ADDQ BX, R13            // its scales
	LEAQ (DI)(DX*2), R10
	ADDQ DX, R10            // activation row 3
	LEAQ (R9)(BX*2), R11
	ADDQ BX, R11            // its scales
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

z4x4loop:
	VBROADCASTI64X4 (SI), Z8
	VBROADCASTI64X4 (SI)(DX*1), Z9
	VBROADCASTI64X4 (SI)(DX*2), Z10
	VBROADCASTI64X4 (R12), Z11
	VPABSB          Z8, Z24
	VPABSB          Z9, Z25
	VPABSB          Z10, Z26
	VPABSB          Z11, Z27
	VPMOVB2M        Z8, K1
	VPMOVB2M        Z9, K2
	VPMOVB2M        Z10, K3
	VPMOVB2M        Z11, K4
	VBROADCASTSS    (R8), Z28
	VBROADCASTSS    (R8)(BX*1), Z29
	VBROADCASTSS    (R8)(BX*2), Z30
	VBROADCASTSS    (R13), Z31
	ZACT((DI), (DI)(DX*1), (R9), (R9)(BX*1))
	ZPAIR2(Z24, K1, Z28, Z16)
	ZPAIR2(Z25, K2, Z29, Z18)
	ZPAIR2(Z26, K3, Z30, Z20)
	ZPAIR2(Z27, K4, Z31, Z22)
	ZACT((DI)(DX*2), (R10), (R9)(BX*2), (R11))
	ZPAIR2(Z24, K1, Z28, Z17)
	ZPAIR2(Z25, K2, Z29, Z19)
	ZPAIR2(Z26, K3, Z30, Z21)
	ZPAIR2(Z27, K4, Z31, Z23)
	ADDQ $32, SI
	ADDQ $32, R12
	ADDQ $32, DI
	ADDQ $32, R10
	ADDQ $4, R8
	ADDQ $4, R13
	ADDQ $4, R9
	ADDQ $4, R11
	DECQ CX
	JNZ  z4x4loop

	ZRED4(Z16, Z17, Y16, Y17, X16, X17, 0)
	ZRED4(Z18, Z19, Y18, Y19, X18, X19, 16)
	ZRED4(Z20, Z21, Y20, Y21, X20, X21, 32)
	ZRED4(Z22, Z23, Y22, Y23, X22, X23, 48)
	VZEROUPPER
	RET

// ZX1 loads the activation block at (DI) into both halves of Z0, its
// scale at (R9) broadcast into Z2, and into Z1 -128 times the sum of each
// group of four of its bytes (Z14 holds 0x80 bytes; Z3 is scratch):
// VPDPBUSD of the bytes 128 and x onto zero, negated.
#define ZX1 \
	VBROADCASTI64X4 (DI), Z0 \
	VPXORD          Z3, Z3, Z3 \
	VPDPBUSD        Z0, Z14, Z3 \
	VPSUBD          Z3, Z15, Z1 \
	VBROADCASTSS    (R9), Z2

// ZROW2 adds one block of two weight rows (quants at WA, WB; scales at DA,
// DB) against the activation block of ZX1 to acc, the first row in its low
// 8 lanes, the second in its high 8, each as Q8PAIR adds one block to
// dotQ8Q8AVX2's 8 lanes. The weights XOR 0x80 are w+128 as unsigned bytes,
// so VPDPBUSD of them and x onto Z1 forms, in each int32 lane, the sum of
// (w+128)*x over four bytes minus 128 times the sum of x: exactly the sum
// of w*x, which is the int32 of VPMADDUBSW and VPMADDWD by ones over VPSIGNB
// as dotQ8Q8AVX2 forms it, for every w, -128 included, as long as no x is
// -128 (there VPSIGNB's negation wraps; dotQ8Q8Rows keeps such activation
// rows away). No sum can overflow: VPDPBUSD's products are at most 255*127
// in size. Then the same conversion, the same scale product d*xd (VMULPS
// rounds each lane as VMULSS) and the same FMA. YW..YT name scratch
// registers (ZW, ZI, ZS full width).
#define ZROW2(WA, WB, DA, DB, YW, ZW, ZI, YS, ZS, YT, acc) \
	VMOVDQU64     WA, YW \
	VINSERTI64X4  $1, WB, ZW, ZW \
	VPXORD        Z14, ZW, ZW \
	VMOVDQA64     Z1, ZI \
	VPDPBUSD      Z0, ZW, ZI \
	VCVTDQ2PS     ZI, ZI \
	VBROADCASTSS  DA, YS \
	VBROADCASTSS  DB, YT \
	VINSERTF64X4  $1, YT, ZS, ZS \
	VMULPS        Z2, ZS, ZS \
	VFMADD231PS   ZS, ZI, acc

// func dotQ8Q8x8x1AVX512(q *int8, d *float32, x *int8, xd *float32, nb, rows int, y *float32)
// y[r] = dotQ8Q8AVX2 of weight row r < rows (quants q+r*32*nb, scales
// d+r*nb) and the one activation row x, xd, for nb >= 1 blocks and rows a
// positive multiple of 4, provided no byte of x is -128 (see ZROW2). Rows
// go eight at a time (then four), two to a 512-bit accumulator (Z16-Z19:
// rows 2p | 2p+1 in Z16+p), the low and high 8 lanes each dotQ8Q8AVX2's 8
// lanes for its row: the same exact int32 (see ZROW2), the same
// conversion, scale product and FMA, blocks in order, and the same
// reduction (ZRED4). Each activation block is loaded once per eight
// weight rows; a block of two rows takes seven vector instructions that
// compute (ZROW2, besides its loads and one register copy) where
// dotQ8Q8AVX2 takes eight for one, and the four accumulators' FMAs are
// independent where dotQ8Q8AVX2's wait on each other.
// Decoding streams the weights from memory, and eight short streams (a
// row of 768 quants is 12 cache lines, its scales 1.5) train the hardware
// prefetchers worse than dotQ8Q8AVX2's one long one: without help this
// kernel read memory slower than the per-pair loop. So each block step
// also prefetches 256 bytes of the next eight rows' quants and 32 of their
// scales, the whole of both over the eight rows' nb steps (none past the
// rows given: the last eight prefetch themselves).
// Registers: SI, R10, R11 address the quants of rows 0, 3, 6 of the eight
// (DX the row stride), R8, R12, R13 their scales (BX the stride), DI, R9
// the activation block and scale, AX, CX the prefetches; Z14 holds 0x80
// bytes, Z15 zero. The argument slots hold the rest: x+16 the end of the
// activation row, rows+40 the rows left, y+48 where their results go.
TEXT ·dotQ8Q8x8x1AVX512(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), SI
	MOVQ d+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ xd+24(FP), R9
	MOVQ nb+32(FP), DX
	MOVQ DX, BX
	SHLQ $5, DX             // row stride of quants
	SHLQ $2, BX             // row stride of scales, bytes
	LEAQ (DI)(DX*1), CX
	MOVQ CX, x+16(FP)       // the end of the activation row
	MOVL $0x80808080, CX
	VMOVD        CX, X14
	VPBROADCASTD X14, Z14
	VPXORD       Z15, Z15, Z15

z8x1group:
	LEAQ (SI)(DX*2), R10
	ADDQ DX, R10            // row 3
	LEAQ (R10)(DX*2), R11
	ADDQ DX, R11            // row 6
	LEAQ (R8)(BX*2), R12
	ADDQ BX, R12            // their scales
	LEAQ (R12)(BX*2), R13
	ADDQ BX, R13
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	CMPQ rows+40(FP), $8
	JLT  z4x1
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	LEAQ (R11)(DX*2), AX    // the next eight rows' quants
	LEAQ (R13)(BX*2), CX    // and scales
	CMPQ rows+40(FP), $16
	JGE  z8x1loop
	MOVQ SI, AX             // the last eight: these (in cache by then)
	MOVQ R8, CX

z8x1loop:
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	PREFETCHT0 (CX)
	ADDQ $256, AX
	ADDQ $32, CX
	ZX1
	ZROW2((SI), (SI)(DX*1), (R8), (R8)(BX*1), Y20, Z20, Z24, Y28, Z28, Y8, Z16)
	ZROW2((SI)(DX*2), (R10), (R8)(BX*2), (R12), Y21, Z21, Z25, Y29, Z29, Y9, Z17)
	ZROW2((R10)(DX*1), (R10)(DX*2), (R12)(BX*1), (R12)(BX*2), Y22, Z22, Z26, Y30, Z30, Y10, Z18)
	ZROW2((R11), (R11)(DX*1), (R13), (R13)(BX*1), Y23, Z23, Z27, Y31, Z31, Y11, Z19)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $4, R8
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $32, DI
	ADDQ $4, R9
	CMPQ DI, x+16(FP)
	JNE  z8x1loop

	MOVQ y+48(FP), AX
	ZRED4(Z16, Z17, Y16, Y17, X16, X17, 0)
	ZRED4(Z18, Z19, Y18, Y19, X18, X19, 16)
	ADDQ $32, y+48(FP)
	SUBQ DX, DI             // back to the first activation block
	SUBQ BX, R9
	LEAQ (R11)(DX*1), SI    // the next eight rows: R11 is now at row 7
	LEAQ (R13)(BX*1), R8
	SUBQ $8, rows+40(FP)
	JNZ  z8x1group
	VZEROUPPER
	RET

z4x1:                           // four rows left: the first two pairs alone
	MOVQ nb+32(FP), CX

z4x1loop:
	ZX1
	ZROW2((SI), (SI)(DX*1), (R8), (R8)(BX*1), Y20, Z20, Z24, Y28, Z28, Y8, Z16)
	ZROW2((SI)(DX*2), (R10), (R8)(BX*2), (R12), Y21, Z21, Z25, Y29, Z29, Y9, Z17)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $4, R8
	ADDQ $4, R12
	ADDQ $32, DI
	ADDQ $4, R9
	DECQ CX
	JNZ  z4x1loop

	MOVQ y+48(FP), AX
	ZRED4(Z16, Z17, Y16, Y17, X16, X17, 0)
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

// func quantizeQ8AVX512(x *float32, q *int8, d *float32, nb int)
// Per block of 32 floats: amax = max |x| (lanes folded in halves; max is
// exact in any order), d = amax/127 rounded to f16 (round to nearest
// even, as ggml's F16C conversion), id = 127/amax (0 when amax is 0), q =
// x*id converted to int32 rounding to nearest even (MXCSR's default, as
// ggml's _mm256_round_ps then _mm256_cvtps_epi32), narrowed to bytes (no
// quant lies beyond 127).
TEXT ·quantizeQ8AVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X30
	VXORPS X9, X9, X9

qloop:
	VMOVUPS       (SI), Z0
	VMOVUPS       64(SI), Z1
	VPANDD        Z31, Z0, Z2
	VPANDD        Z31, Z1, Z3
	VMAXPS        Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPS        Y3, Y2, Y2
	VEXTRACTF32X4 $1, Y2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0x4e, X2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0xb1, X2, X3
	VMAXPS        X3, X2, X2
	VDIVSS        X30, X2, X4
	VCVTPS2PH     $0, X4, X4
	VCVTPH2PS     X4, X4
	VMOVSS        X4, (DX)
	VDIVSS        X2, X30, X6
	VCMPSS        $4, X9, X2, X8 // all ones where amax != 0
	VANDPS        X8, X6, X7
	VBROADCASTSS  X7, Z6
	VMULPS        Z6, Z0, Z0
	VMULPS        Z6, Z1, Z1
	VCVTPS2DQ     Z0, Z0
	VCVTPS2DQ     Z1, Z1
	VPMOVSDB      Z0, (DI)
	VPMOVSDB      Z1, 16(DI)
	ADDQ          $128, SI
	ADDQ          $32, DI
	ADDQ          $4, DX
	DECQ          CX
	JNZ           qloop
	VZEROUPPER
	RET

// XACT loads the activation blocks at XA and XB (two activation rows)
// into the halves of Z8, into Z9 -128 times the sum of each group of four
// of their bytes (VPDPBUSD of the bytes 128 and x onto zero, negated; Z13
// holds 0x80 bytes, Z14 zero), and their scales at DA and DB, each
// broadcast to its half, into Z10 (Y11 is scratch).
#define XACT(XA, XB, DA, DB) \
	VMOVDQU       XA, Y8 \
	VINSERTI64X4  $1, XB, Z8, Z8 \
	VPXORD        Z9, Z9, Z9 \
	VPDPBUSD      Z8, Z13, Z9 \
	VPSUBD        Z9, Z14, Z9 \
	VBROADCASTSS  DA, Y10 \
	VBROADCASTSS  DB, Y11 \
	VINSERTF64X4  $1, Y11, Z10, Z10

// XPAIR2 adds one block of two pairs, weight row ZW (its quants XOR 0x80,
// that is w+128 as unsigned bytes, in both halves; its scale broadcast in
// ZD) against the two activation rows of XACT, to acc: VPDPBUSD of w+128
// and x onto -128 times the sum of x forms, in each int32 lane, the exact
// sum of w*x over four bytes (see ZROW2: for every w, as long as no x is
// -128), then ZPAIR2's conversion, scale product and FMA. Z11 and Z12 are
// scratch.
#define XPAIR2(ZW, ZD, acc) \
	VMOVDQA64   Z9, Z11 \
	VPDPBUSD    Z8, ZW, Z11 \
	VCVTDQ2PS   Z11, Z11 \
	VMULPS      Z10, ZD, Z12 \
	VFMADD231PS Z12, Z11, acc

// TRED4LO and TRED4HI reduce, for one activation row, the accumulators of
// the four weight rows (Za..Zd: the low or high 8 lanes of each), each as
// ZRED4 reduces it (halves of 128 bits added, then VHADDPS twice: the
// same sums in the same order), and store the four floats at dst: the
// four outputs of that activation row side by side, where the matrix
// product's go. X0-X8 (Y4-Y7) are scratch.
#define TRED4LO(Ya, Yb, Yc, Yd, Xa, Xb, Xc, Xd, dst) \
	VEXTRACTF32X4 $1, Ya, X8 \
	VADDPS        X8, Xa, X0 \
	VEXTRACTF32X4 $1, Yb, X8 \
	VADDPS        X8, Xb, X1 \
	VEXTRACTF32X4 $1, Yc, X8 \
	VADDPS        X8, Xc, X2 \
	VEXTRACTF32X4 $1, Yd, X8 \
	VADDPS        X8, Xd, X3 \
	VHADDPS       X1, X0, X0 \
	VHADDPS       X3, X2, X2 \
	VHADDPS       X2, X0, X0 \
	VMOVUPS       X0, dst

#define TRED4HI(Za, Zb, Zc, Zd, dst) \
	VEXTRACTF64X4 $1, Za, Y4 \
	VEXTRACTF128  $1, Y4, X8 \
	VADDPS        X8, X4, X0 \
	VEXTRACTF64X4 $1, Zb, Y5 \
	VEXTRACTF128  $1, Y5, X8 \
	VADDPS        X8, X5, X1 \
	VEXTRACTF64X4 $1, Zc, Y6 \
	VEXTRACTF128  $1, Y6, X8 \
	VADDPS        X8, X6, X2 \
	VEXTRACTF64X4 $1, Zd, Y7 \
	VEXTRACTF128  $1, Y7, X8 \
	VADDPS        X8, X7, X3 \
	VHADDPS       X1, X0, X0 \
	VHADDPS       X3, X2, X2 \
	VHADDPS       X2, X0, X0 \
	VMOVUPS       X0, dst

// func dotQ8Q8x4xRowsAVX512(q *int8, d *float32, x *int8, xd *float32, nb, groups int, y *float32, ystride int)
// For weight rows a < 4 and activation rows c < 8*groups (groups >= 1),
// y[c*ystride+a] = dotQ8Q8AVX2 of the pair, bit for bit (each lane as
// ZPAIR2 forms it), for nb >= 1 blocks, rows of nb*32 quants one after
// another, provided no activation byte is -128 (see XPAIR2): the
// activation rows go eight at a time, each group's outputs written where
// the matrix product's go (TRED4LO, TRED4HI). Weight quants are biased by
// 128 (XOR 0x80) once a block for eight activation rows, so a block of
// two pairs takes five instructions (XPAIR2) where ZPAIR2 takes six, and
// each weight row's set-up serves twice the pairs of
// dotQ8Q8x4x4AVX512's. Accumulators Z16-Z31 (weight row a, activation
// rows 2p | 2p+1 in Z16+4a+p); the weight rows in Z0-Z3, their scales
// broadcast in Z4-Z7; the frame holds the output row and the groups left;
// AX walks the next four weight rows for prefetching.
TEXT ·dotQ8Q8x4xRowsAVX512(SB), $16-64
	MOVQ q+0(FP), SI
	MOVQ d+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ xd+24(FP), R9
	MOVQ nb+32(FP), CX
	MOVQ CX, DX
	SHLQ $5, DX             // a row's quants, bytes
	MOVQ CX, BX
	SHLQ $2, BX             // a row's scales, bytes
	LEAQ (SI)(DX*2), R12
	ADDQ DX, R12            // weight row 3
	LEAQ (R8)(BX*2), R13
	ADDQ BX, R13            // its scales
	LEAQ (DI)(DX*2), R10
	ADDQ DX, R10            // activation row 3
	LEAQ (R10)(DX*2), R11
	ADDQ DX, R11            // activation row 6
	LEAQ (R9)(BX*2), R14
	ADDQ BX, R14            // scales of activation row 3
	LEAQ (R14)(BX*2), R15
	ADDQ BX, R15            // of row 6
	MOVQ y+48(FP), AX
	MOVQ AX, yrow-8(SP)
	MOVQ groups+40(FP), AX
	MOVQ AX, left-16(SP)
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z13
	VPXORD Z14, Z14, Z14

rgroup8:
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	MOVQ nb+32(FP), CX
	// The next call's four weight rows follow these in memory: fetch
	// them into cache while these are multiplied, 128 bytes a block. A
	// decoding batch reads its weights from memory, whose latency this
	// hides (BenchmarkSearch/rand100Mq8 1.1-1.3x, interleaved).
	LEAQ (SI)(DX*4), AX

r4x8loop:
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	ADDQ       $128, AX
	VBROADCASTI64X4 (SI), Z0
	VBROADCASTI64X4 (SI)(DX*1), Z1
	VBROADCASTI64X4 (SI)(DX*2), Z2
	VBROADCASTI64X4 (R12), Z3
	VPXORD          Z13, Z0, Z0
	VPXORD          Z13, Z1, Z1
	VPXORD          Z13, Z2, Z2
	VPXORD          Z13, Z3, Z3
	VBROADCASTSS    (R8), Z4
	VBROADCASTSS    (R8)(BX*1), Z5
	VBROADCASTSS    (R8)(BX*2), Z6
	VBROADCASTSS    (R13), Z7
	XACT((DI), (DI)(DX*1), (R9), (R9)(BX*1))
	XPAIR2(Z0, Z4, Z16)
	XPAIR2(Z1, Z5, Z20)
	XPAIR2(Z2, Z6, Z24)
	XPAIR2(Z3, Z7, Z28)
	XACT((DI)(DX*2), (R10), (R9)(BX*2), (R14))
	XPAIR2(Z0, Z4, Z17)
	XPAIR2(Z1, Z5, Z21)
	XPAIR2(Z2, Z6, Z25)
	XPAIR2(Z3, Z7, Z29)
	XACT((DI)(DX*4), (R10)(DX*2), (R9)(BX*4), (R14)(BX*2))
	XPAIR2(Z0, Z4, Z18)
	XPAIR2(Z1, Z5, Z22)
	XPAIR2(Z2, Z6, Z26)
	XPAIR2(Z3, Z7, Z30)
	XACT((R11), (R11)(DX*1), (R15), (R15)(BX*1))
	XPAIR2(Z0, Z4, Z19)
	XPAIR2(Z1, Z5, Z23)
	XPAIR2(Z2, Z6, Z27)
	XPAIR2(Z3, Z7, Z31)
	ADDQ $32, SI
	ADDQ $32, R12
	ADDQ $32, DI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $4, R8
	ADDQ $4, R13
	ADDQ $4, R9
	ADDQ $4, R14
	ADDQ $4, R15
	DECQ CX
	JNZ  r4x8loop


	// Back to the weight rows' first block; on to the next eight
	// activation rows (each pointer has walked one row: seven more).
	SUBQ DX, SI
	SUBQ DX, R12
	SUBQ BX, R8
	SUBQ BX, R13
	LEAQ (DX)(DX*2), AX
	LEAQ (AX)(DX*4), AX
	ADDQ AX, DI
	ADDQ AX, R10
	ADDQ AX, R11
	LEAQ (BX)(BX*2), AX
	LEAQ (AX)(BX*4), AX
	ADDQ AX, R9
	ADDQ AX, R14
	ADDQ AX, R15
	MOVQ yrow-8(SP), AX
	MOVQ ystride+56(FP), CX
	SHLQ $2, CX
	TRED4LO(Y16, Y20, Y24, Y28, X16, X20, X24, X28, (AX))
	ADDQ CX, AX
	TRED4HI(Z16, Z20, Z24, Z28, (AX))
	ADDQ CX, AX
	TRED4LO(Y17, Y21, Y25, Y29, X17, X21, X25, X29, (AX))
	ADDQ CX, AX
	TRED4HI(Z17, Z21, Z25, Z29, (AX))
	ADDQ CX, AX
	TRED4LO(Y18, Y22, Y26, Y30, X18, X22, X26, X30, (AX))
	ADDQ CX, AX
	TRED4HI(Z18, Z22, Z26, Z30, (AX))
	ADDQ CX, AX
	TRED4LO(Y19, Y23, Y27, Y31, X19, X23, X27, X31, (AX))
	ADDQ CX, AX
	TRED4HI(Z19, Z23, Z27, Z31, (AX))
	ADDQ CX, AX
	MOVQ AX, yrow-8(SP)
	DECQ left-16(SP)
	JNZ  rgroup8
	VZEROUPPER
	RET
