package gguf

import (
	"math"
	"testing"
)

func TestF16RoundTripAllHalves(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := F16ToF32(h)
		if f != f { // NaN must stay NaN
			if g := F32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %v -> %#04x is not NaN", h, f, g)
			}
			continue
		}
		if g := F32ToF16(f); g != h {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, g)
		}
	}
}

func TestF16KnownValues(t *testing.T) {
	cases := []struct {
		h uint16
		f float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0400, float32(math.Ldexp(1, -14))},
		{0x0001, float32(math.Ldexp(1, -24))}, {0x03ff, float32(math.Ldexp(1023, -24))},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))}, {0x8000, float32(math.Copysign(0, -1))},
		{0x3555, 0.33325195},
	}
	for _, c := range cases {
		if got := F16ToF32(c.h); got != c.f || math.Signbit(float64(got)) != math.Signbit(float64(c.f)) {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", c.h, got, c.f)
		}
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	// Overflow and underflow.
	for _, c := range []struct {
		f float32
		h uint16
	}{{70000, 0x7c00}, {-1e30, 0xfc00}, {65519, 0x7bff}, {65520, 0x7c00}, {1e-10, 0}, {float32(math.Ldexp(1, -25)), 0}, {float32(math.Ldexp(1.5, -25)), 1}} {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

// TestF16RoundsHalfToEven checks every midpoint between adjacent finite
// halves (exactly representable in float32) rounds to the even neighbour, and
// that nudging it either way rounds to the nearer one.
func TestF16RoundsHalfToEven(t *testing.T) {
	for h := uint16(0); h < 0x7bff; h++ {
		lo, hi := F16ToF32(h), F16ToF32(h+1)
		mid := (lo + hi) / 2
		want := h
		if h&1 == 1 {
			want = h + 1
		}
		if got := F32ToF16(mid); got != want {
			t.Fatalf("midpoint %v of %#04x/%#04x -> %#04x, want %#04x", mid, h, h+1, got, want)
		}
		if got := F32ToF16(-mid); got != want|0x8000 {
			t.Fatalf("midpoint %v -> %#04x, want %#04x", -mid, got, want|0x8000)
		}
		if got := F32ToF16(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("below midpoint of %#04x -> %#04x", h, got)
		}
		if got := F32ToF16(math.Nextafter32(mid, 1e9)); got != h+1 {
			t.Fatalf("above midpoint of %#04x -> %#04x", h, got)
		}
	}
}

func TestQ8_0(t *testing.T) {
	src := make([]float32, 64)
	for i := range src {
		src[i] = float32(math.Sin(float64(i)*0.7)) * float32(1+i/32*10)
	}
	src[5] = 0
	raw, err := QuantizeQ8_0(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 2*34 {
		t.Fatalf("len %d", len(raw))
	}
	got := make([]float32, 64)
	if err := DequantizeQ8_0(got, raw); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 2; b++ {
		var amax float64
		for _, v := range src[b*32 : b*32+32] {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		d := amax / 127
		for i := b * 32; i < b*32+32; i++ {
			if diff := math.Abs(float64(got[i] - src[i])); diff > d/2+amax*1e-3 {
				t.Errorf("value %d: %v -> %v (diff %v > %v)", i, src[i], got[i], diff, d/2)
			}
		}
	}
	if got[5] != 0 {
		t.Errorf("zero became %v", got[5])
	}
	if _, err := QuantizeQ8_0(make([]float32, 33)); err == nil {
		t.Error("33 values quantized without error")
	}
	zero, _ := QuantizeQ8_0(make([]float32, 32))
	if err := DequantizeQ8_0(got[:32], zero); err != nil || got[0] != 0 {
		t.Errorf("all-zero block: %v %v", got[0], err)
	}
}
