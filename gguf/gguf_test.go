package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sample builds a file with every metadata type and one tensor per encoding.
func sample(t testing.TB) (*Builder, []float32) {
	b := NewBuilder()
	b.Set("general.architecture", "llama")
	b.Set("u8", uint8(200))
	b.Set("i8", int8(-100))
	b.Set("u16", uint16(60000))
	b.Set("i16", int16(-30000))
	b.Set("u32", uint32(4000000000))
	b.Set("i32", int32(-2000000000))
	b.Set("u64", uint64(1<<63+5))
	b.Set("i64", int64(-1<<62))
	b.Set("f32", float32(1.5))
	b.Set("f64", 2.25)
	b.Set("yes", true)
	b.Set("no", false)
	b.Set("int", 7)
	b.Set("strs", []string{"a", "", "ünï"})
	b.Set("f32s", []float32{1, -2, 3.5})
	b.Set("i32s", []int32{-1, 2, 3})
	b.Set("u32s", []uint32{1, 2})
	b.Set("bools", []bool{true, false})
	b.Set("nested", []any{[]string{"x", "y"}, []string{"z"}})
	b.Set("empty", []uint8{})
	data := make([]float32, 64*3)
	for i := range data {
		data[i] = float32(math.Cos(float64(i))) * 3
	}
	for _, tc := range []struct {
		name string
		typ  Type
	}{{"f32", TypeF32}, {"f16", TypeF16}, {"q8", TypeQ8_0}} {
		if err := b.AddTensor(tc.name, []uint64{64, 3}, tc.typ, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddTensor("vec", []uint64{5}, TypeF32, data[:5]); err != nil {
		t.Fatal(err)
	}
	return b, data
}

func encode(t testing.TB, b *Builder) []byte {
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// parseSample encodes the sample file and parses it back, returning its
// bytes, the parsed file and the sample's tensor data.
func parseSample(t testing.TB) ([]byte, *File, []float32) {
	t.Helper()
	b, data := sample(t)
	raw := encode(t, b)
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, f, data
}

func TestRoundTrip(t *testing.T) {
	_, f, data := parseSample(t)
	if f.Version != 3 || f.Alignment != 32 || f.DataOffset%32 != 0 {
		t.Errorf("version %d alignment %d data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	want := map[string]any{
		"u8": uint8(200), "i8": int8(-100), "u16": uint16(60000), "i16": int16(-30000), "u32": uint32(4000000000),
		"i32": int32(-2000000000), "u64": uint64(1<<63 + 5), "i64": int64(-1 << 62), "f32": float32(1.5), "f64": 2.25,
		"yes": true, "no": false, "int": int32(7), "strs": []string{"a", "", "ünï"}, "f32s": []float32{1, -2, 3.5},
		"i32s": []int32{-1, 2, 3}, "u32s": []uint32{1, 2}, "bools": []bool{true, false},
		"nested": []any{[]string{"x", "y"}, []string{"z"}}, "empty": []uint8{},
	}
	for k, v := range want {
		if got := f.Metadata[k]; !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	if f.Keys[0] != "general.architecture" || len(f.Keys) != len(want)+1 {
		t.Errorf("keys %v", f.Keys)
	}
	if s, ok := f.String("general.architecture"); !ok || s != "llama" {
		t.Errorf("String = %q %v", s, ok)
	}
	if u, ok := f.Uint("u16"); !ok || u != 60000 {
		t.Errorf("Uint(u16) = %d %v", u, ok)
	}
	if _, ok := f.Uint("i8"); ok {
		t.Error("Uint of a negative value reported ok")
	}
	if v, ok := f.Float("f32"); !ok || v != 1.5 {
		t.Errorf("Float = %v %v", v, ok)
	}
	if v, ok := f.Bool("yes"); !ok || !v {
		t.Errorf("Bool = %v %v", v, ok)
	}
	if v, ok := f.Int32Array("u32s"); !ok || !reflect.DeepEqual(v, []int32{1, 2}) {
		t.Errorf("Int32Array(u32s) = %v %v", v, ok)
	}
	if v, ok := f.Float32Array("f32s"); !ok || len(v) != 3 {
		t.Errorf("Float32Array = %v %v", v, ok)
	}
	if _, ok := f.Strings("f32s"); ok {
		t.Error("Strings of a float array reported ok")
	}

	for _, tc := range []struct {
		name string
		tol  func(i int) float64
	}{
		{"f32", func(int) float64 { return 0 }},
		{"f16", func(i int) float64 { return math.Abs(float64(data[i])) / 1024 }},
		{"q8", func(i int) float64 {
			blk := data[i/32*32 : i/32*32+32]
			var amax float64
			for _, v := range blk {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			return amax/127/2 + amax*1e-3
		}},
	} {
		ti, ok := f.Tensor(tc.name)
		if !ok || !reflect.DeepEqual(ti.Dims, []uint64{64, 3}) || ti.Offset%32 != 0 {
			t.Fatalf("tensor %s: %+v %v", tc.name, ti, ok)
		}
		got, err := f.Float32s(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(data) {
			t.Fatalf("%s: %d values", tc.name, len(got))
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - data[i])); d > tc.tol(i) {
				t.Fatalf("%s[%d] = %v, want %v (±%v)", tc.name, i, got[i], data[i], tc.tol(i))
			}
		}
	}
	rb, err := f.TensorBytes("q8")
	if err != nil || len(rb) != 6*34 {
		t.Errorf("q8 bytes: %d %v", len(rb), err)
	}
	if _, err := f.TensorBytes("missing"); err == nil {
		t.Error("missing tensor gave no error")
	}
}

func TestAlignmentAndFile(t *testing.T) {
	b, data := sample(t)
	b.Set("general.alignment", uint32(64))
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Errorf("alignment %d offset %d", f.Alignment, f.DataOffset)
	}
	for _, ti := range f.Tensors {
		if ti.Offset%64 != 0 {
			t.Errorf("%s offset %d", ti.Name, ti.Offset)
		}
	}
	got, err := f.Float32s("f32")
	if err != nil || !reflect.DeepEqual(got, data) {
		t.Errorf("f32 via mmap differs: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.TensorBytes("f32"); err == nil {
		t.Error("TensorBytes after Close gave no error")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "nope.gguf")); err == nil {
		t.Error("opening a missing file gave no error")
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder()
	if err := b.AddTensor("x", []uint64{3}, TypeF32, []float32{1, 2}); err == nil {
		t.Error("size mismatch accepted")
	}
	if err := b.AddTensor("x", []uint64{16}, TypeQ8_0, make([]float32, 16)); err == nil {
		t.Error("Q8_0 with 16 columns accepted")
	}
	if err := b.AddTensor("x", []uint64{2}, TypeQ4_0, make([]float32, 2)); err == nil {
		t.Error("Q4_0 encoding accepted")
	}
	if err := b.AddTensor("x", []uint64{2}, TypeF32, make([]float32, 2)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddTensor("x", []uint64{2}, TypeF32, make([]float32, 2)); err == nil {
		t.Error("duplicate tensor accepted")
	}
	b.Set("bad", struct{}{})
	if _, err := b.WriteTo(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("unsupported metadata type: %v", err)
	}
	b = NewBuilder()
	b.Set("general.alignment", uint32(48))
	if _, err := b.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("alignment 48 accepted")
	}
}

// header writes a raw header for hand-made hostile files.
func header(version uint32, nTensors, nKV uint64) []byte {
	b := []byte("GGUF")
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint64(b, nTensors)
	return binary.LittleEndian.AppendUint64(b, nKV)
}

func appendStr(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint64(b, uint64(len(s))), s...)
}

func tensorInfo(name string, dims []uint64, typ uint32, off uint64) []byte {
	b := appendStr(nil, name)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(dims)))
	for _, d := range dims {
		b = binary.LittleEndian.AppendUint64(b, d)
	}
	b = binary.LittleEndian.AppendUint32(b, typ)
	return binary.LittleEndian.AppendUint64(b, off)
}

func TestParseErrors(t *testing.T) {
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n)...) }
	kv := func(key string, vt uint32, val []byte) []byte {
		return append(binary.LittleEndian.AppendUint32(appendStr(nil, key), vt), val...)
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"magic", "not a GGUF file: magic", []byte("GGML\x03\x00\x00\x00")},
		{"empty", "truncated", nil},
		{"v1", "unsupported version 1", header(1, 0, 0)},
		{"v4", "unsupported version 4", header(4, 0, 0)},
		{"big endian", "big-endian", []byte("GGUF\x00\x00\x00\x03")},
		{"kv count", "metadata count", header(3, 0, 1<<40)},
		{"tensor count", "tensor count", header(3, 1<<40, 0)},
		{"string length", "string length", pad(append(header(3, 0, 1), binary.LittleEndian.AppendUint64(nil, 1<<50)...), 16)},
		{"array length", "array of", append(header(3, 0, 1), kv("a", 9, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 6), 1<<40))...)},
		{"value type", "unknown value type 13", append(header(3, 0, 1), kv("a", 13, nil)...)},
		{"bool", "neither 0 nor 1", append(header(3, 0, 1), kv("a", 7, []byte{2})...)},
		{"alignment", "power of two", append(header(3, 0, 1), kv("general.alignment", 4, []byte{3, 0, 0, 0})...)},
		{"truncated kv", "truncated file: metadata \"a\"", append(header(3, 0, 1), kv("a", 4, []byte{1})...)},
		{"unknown type", "unknown type id 4", pad(append(header(3, 1, 0), tensorInfo("w", []uint64{32}, 4, 0)...), 256)},
		{"dims", "5 dimensions", pad(append(header(3, 1, 0), tensorInfo("w", []uint64{1, 1, 1, 1, 1}, 0, 0)...), 256)},
		{"overflow", "overflows", pad(append(header(3, 1, 0), tensorInfo("w", []uint64{1 << 32, 1 << 32}, 0, 0)...), 256)},
		{"block", "block size", pad(append(header(3, 1, 0), tensorInfo("w", []uint64{16}, 8, 0)...), 256)},
		{"misaligned", "not a multiple of the alignment", pad(append(header(3, 1, 0), tensorInfo("w", []uint64{4}, 0, 8)...), 256)},
		{"bounds", "out of bounds", pad(append(header(3, 1, 0), tensorInfo("w", []uint64{1024}, 0, 0)...), 256)},
		{"no data", "data section", append(header(3, 1, 0), tensorInfo("w", []uint64{1}, 0, 0)...)},
		{"duplicate", "duplicate tensor", pad(append(append(header(3, 2, 0), tensorInfo("w", []uint64{1}, 0, 0)...), tensorInfo("w", []uint64{1}, 0, 0)...), 256)},
	}
	for _, c := range cases {
		_, err := Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	// A valid hand-made file parses, so the cases above fail for their reason.
	ok := pad(append(header(3, 1, 0), tensorInfo("w", []uint64{4}, 0, 0)...), 64)
	if _, err := Parse(ok); err != nil {
		t.Errorf("valid hand-made file: %v", err)
	}
}

// TestEveryTruncationFails cuts a valid file at every length inside the
// header: each prefix must be rejected without panicking.
func TestEveryTruncationFails(t *testing.T) {
	raw, f, _ := parseSample(t)
	for n := 0; n < int(f.DataOffset)+1; n++ {
		if _, err := Parse(raw[:n]); err == nil {
			t.Fatalf("prefix of %d bytes parsed", n)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := sample(f)
	f.Add(encode(f, b))
	small := NewBuilder()
	small.Set("tokenizer.ggml.tokens", []string{"a", "b"})
	_ = small.AddTensor("t", []uint64{32}, TypeQ8_0, make([]float32, 32))
	f.Add(encode(f, small))
	f.Add(header(3, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		if len(g.Keys) != len(g.Metadata) {
			t.Fatalf("%d keys but %d metadata values", len(g.Keys), len(g.Metadata))
		}
		// Every accessor on every key: none may panic whatever type the
		// file gave the value.
		for _, k := range g.Keys {
			g.String(k)
			g.Uint(k)
			g.Float(k)
			g.Bool(k)
			g.Strings(k)
			g.Float32Array(k)
			g.Int32Array(k)
		}
		for _, ti := range g.Tensors {
			raw, err := g.TensorBytes(ti.Name)
			if err != nil || uint64(len(raw)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes, %v", ti.Name, len(raw), err)
			}
			if ti.Elements() <= 1<<20 {
				_, _ = g.Float32s(ti.Name)
			}
		}
	})
}
