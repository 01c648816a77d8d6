package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// F16ToF32 converts an IEEE 754 binary16 value to float32 exactly, including
// subnormals, infinities and NaNs (the NaN payload is kept).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: every one is a normal float32, so shift the leading one
	// into the implicit bit position.
	e := uint32(113)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// F32ToF16 converts a float32 to IEEE 754 binary16 with round-to-nearest-even;
// values too large become infinity, values too small become (signed) zero or
// subnormals, and NaNs stay NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			// Keep the top payload bits and force a quiet NaN so the
			// result can never collapse to infinity.
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 { // below half the smallest subnormal: rounds to zero
			return sign
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is correct, up to infinity
	}
	return sign | uint16(h)
}

// BF16ToF32 converts a bfloat16 value to float32 exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Q8_0 block layout: one f16 scale followed by 32 int8 quants.
const (
	q8Block     = 32
	q8BlockSize = 34
)

// QuantizeQ8_0 encodes src (a multiple of 32 values) as Q8_0 blocks the way
// ggml does: d = max|x|/127 stored as f16, q = round(x/d) (half away from
// zero), computed with the float32 scale before it is rounded to f16.
func QuantizeQ8_0(src []float32) ([]byte, error) {
	if len(src)%q8Block != 0 {
		return nil, fmt.Errorf("gguf: Q8_0 needs a multiple of %d values, got %d", q8Block, len(src))
	}
	out := make([]byte, len(src)/q8Block*q8BlockSize)
	for b := 0; b < len(src)/q8Block; b++ {
		x := src[b*q8Block : (b+1)*q8Block]
		var amax float32
		for _, v := range x {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		blk := out[b*q8BlockSize:]
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for i, v := range x {
			blk[2+i] = byte(int8(math.Round(float64(v * id))))
		}
	}
	return out, nil
}

// DequantizeQ8_0 decodes Q8_0 blocks from src into dst; len(dst) must be 32
// values per 34-byte block.
func DequantizeQ8_0(dst []float32, src []byte) error {
	if len(src)%q8BlockSize != 0 || len(dst) != len(src)/q8BlockSize*q8Block {
		return fmt.Errorf("gguf: Q8_0 dequantize: %d bytes do not hold %d values", len(src), len(dst))
	}
	for b := 0; b < len(src)/q8BlockSize; b++ {
		blk := src[b*q8BlockSize : (b+1)*q8BlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		out := dst[b*q8Block : (b+1)*q8Block]
		for i := range out {
			out[i] = float32(int8(blk[2+i])) * d
		}
	}
	return nil
}
