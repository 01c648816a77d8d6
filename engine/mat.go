package engine

import "math"

// Kind is how a weight matrix is stored in memory.
type Kind uint8

// Storage kinds. KindF16 keeps its values in float32 (each exactly an f16),
// remembering the kind because llama.cpp rounds activations to f16 before a
// product with an f16 matrix.
const (
	KindF32 Kind = iota
	KindF16
	KindQ8_0
)

// q8Block is the number of weights sharing one Q8_0 scale.
const q8Block = 32

func (k Kind) String() string {
	switch k {
	case KindF32:
		return "F32"
	case KindF16:
		return "F16"
	case KindQ8_0:
		return "Q8_0"
	}
	return "Kind(?)"
}

// Mat is a weight matrix of Rows outputs by Cols inputs, row-major as ggml
// stores it (ggml's Dims[0] is Cols).
type Mat struct {
	Rows, Cols int
	Kind       Kind
	F          []float32 // KindF32, KindF16: Rows*Cols values
	Q          []int8    // KindQ8_0: Rows*Cols quants
	D          []float32 // KindQ8_0: one scale (an f16 value) per 32 quants
}

// NewMatF32 wraps row-major data as a Rows x Cols float32 matrix.
func NewMatF32(rows, cols int, data []float32) *Mat {
	return &Mat{Rows: rows, Cols: cols, Kind: KindF32, F: data}
}

// Row writes row r of m, dequantized, into dst[:m.Cols].
func (m *Mat) Row(r int, dst []float32) {
	n := m.Cols
	if m.Kind != KindQ8_0 {
		copy(dst[:n], m.F[r*n:(r+1)*n])
		return
	}
	q := m.Q[r*n : (r+1)*n]
	d := m.D[r*n/q8Block : (r+1)*n/q8Block]
	for i := range q {
		dst[i] = float32(q[i]) * d[i/q8Block]
	}
}

// at returns element (r, c) as float64, for the reference forward pass.
func (m *Mat) at(r, c int) float64 {
	i := r*m.Cols + c
	if m.Kind == KindQ8_0 {
		return float64(float32(m.Q[i]) * m.D[i/q8Block])
	}
	return float64(m.F[i])
}

// Params is the number of weights in m.
func (m *Mat) Params() int { return m.Rows * m.Cols }

// Bytes is the memory m's weights take.
func (m *Mat) Bytes() int {
	if m.Kind == KindQ8_0 {
		return len(m.Q) + 4*len(m.D)
	}
	return 4 * len(m.F)
}

// quantizeQ8 converts a row-major float32 matrix to Q8_0 the way ggml does:
// per block of 32, d = amax/127 stored as f16, q = round(x*127/amax) to
// nearest even (the tests' quantizeQ8Ref writes it plainly), with AVX-512
// where the CPU has it. In the portable one, adding and subtracting
// 1.5*2^23 rounds a float32 of magnitude below 2^22 to the nearest even
// integer, which is all the rounding needs, as |x*127/amax| <= 127. A
// prompt's activations are quantized before every Q8_0 product: at 200
// rows of 768, 18 us in assembly, 390 us portable, 670 us the reference
// (BenchmarkQuantizeQ8).
func quantizeQ8(x []float32, q []int8, d []float32) {
	if nb := len(x) / q8Block; hasQuantAsm && nb > 0 {
		_, _ = q[nb*q8Block-1], d[nb-1]
		quantizeQ8AVX512(&x[0], &q[0], &d[0], nb)
		return
	}
	quantizeQ8Go(x, q, d)
}

// quantizeQ8Go is the portable quantizeQ8.
func quantizeQ8Go(x []float32, q []int8, d []float32) {
	const magic = 0x1.8p23
	for b := 0; b < len(x)/q8Block; b++ {
		blk := x[b*q8Block : (b+1)*q8Block : (b+1)*q8Block]
		var amax float32
		for _, v := range blk {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		d[b] = f16ToF32(f32ToF16(amax / 127))
		qb := q[b*q8Block : (b+1)*q8Block : (b+1)*q8Block]
		for i, v := range blk {
			r := v*id + magic
			qb[i] = int8(r - magic)
		}
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// roundF16Go rounds every element of x to the nearest f16 value, in place.
func roundF16Go(x []float32) {
	for i, v := range x {
		x[i] = f16ToF32(f32ToF16(v))
	}
}

// f32ToF16 converts to IEEE half precision, rounding to nearest even.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal half (or zero)
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is the right answer
	}
	return sign | uint16(r)
}

// f16ToF32 converts an IEEE half to float32 exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
