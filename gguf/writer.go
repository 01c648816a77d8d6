package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Builder assembles a GGUF v3 file in memory: metadata in insertion order,
// then tensors in insertion order, each aligned.
type Builder struct {
	keys    []string
	values  map[string]any
	tensors []builtTensor
	names   map[string]bool
	err     error // first AddTensor/Set problem, reported by WriteTo
}

type builtTensor struct {
	name string
	dims []uint64
	typ  Type
	data []byte
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{values: map[string]any{}, names: map[string]bool{}}
}

// Set stores a metadata value; setting a key again replaces the value but
// keeps its first position. Supported: string, bool, uint8..uint64,
// int8..int64, float32, float64, slices of those, and []any of such slices
// for nested arrays. An int is stored as int32 (uint as uint32) when it fits,
// else 64-bit. An unsupported type is reported by WriteTo.
func (b *Builder) Set(key string, value any) {
	switch x := value.(type) {
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			value = int32(x)
		} else {
			value = int64(x)
		}
	case uint:
		if x <= math.MaxUint32 {
			value = uint32(x)
		} else {
			value = uint64(x)
		}
	case []int:
		out := make([]int32, len(x))
		for i, v := range x {
			if v < math.MinInt32 || v > math.MaxInt32 {
				b.fail(fmt.Errorf("gguf: metadata %q element %d = %d does not fit in int32", key, i, v))
			}
			out[i] = int32(v)
		}
		value = out
	}
	if _, ok := valueType(value); !ok {
		b.fail(fmt.Errorf("gguf: metadata %q: unsupported value type %T", key, value))
		return
	}
	if _, ok := b.values[key]; !ok {
		b.keys = append(b.keys, key)
	}
	b.values[key] = value
}

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// AddTensor encodes data (in ggml order, Dims[0] fastest) as F32, F16 or
// Q8_0 and appends it. len(data) must equal the product of dims.
func (b *Builder) AddTensor(name string, dims []uint64, typ Type, data []float32) error {
	if err := b.checkTensor(name, dims, typ); err != nil {
		return err
	}
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	if n != uint64(len(data)) {
		return fmt.Errorf("gguf: tensor %q: dims %v hold %d values, got %d", name, dims, n, len(data))
	}
	var raw []byte
	switch typ {
	case TypeF32:
		raw = make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case TypeF16:
		raw = make([]byte, 2*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint16(raw[2*i:], F32ToF16(v))
		}
	case TypeQ8_0:
		var err error
		if raw, err = QuantizeQ8_0(data); err != nil {
			return fmt.Errorf("gguf: tensor %q: %w", name, err)
		}
	default:
		return fmt.Errorf("gguf: tensor %q: encoding type %s is not supported (use F32, F16 or Q8_0)", name, typ)
	}
	b.tensors = append(b.tensors, builtTensor{name: name, dims: append([]uint64(nil), dims...), typ: typ, data: raw})
	b.names[name] = true
	return nil
}

func (b *Builder) checkTensor(name string, dims []uint64, typ Type) error {
	if b.names[name] {
		return fmt.Errorf("gguf: duplicate tensor %q", name)
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return fmt.Errorf("gguf: tensor %q: %d dims, want 1 to %d", name, len(dims), MaxDims)
	}
	if !typ.Known() {
		return fmt.Errorf("gguf: tensor %q: unknown type id %d", name, uint32(typ))
	}
	if dims[0]%typ.BlockSize() != 0 {
		return fmt.Errorf("gguf: tensor %q: first dimension %d is not a multiple of the %s block size %d", name, dims[0], typ, typ.BlockSize())
	}
	return nil
}

func (b *Builder) alignment() (uint64, error) {
	v, ok := b.values["general.alignment"]
	if !ok {
		return DefaultAlignment, nil
	}
	a, ok := toUint(v)
	if !ok || a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("gguf: general.alignment = %v is not a power of two", v)
	}
	return a, nil
}

// countingWriter tracks bytes written and the first error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (c *countingWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}

func (c *countingWriter) u8(v uint8) { c.buf[0] = v; c.write(c.buf[:1]) }
func (c *countingWriter) u16(v uint16) {
	binary.LittleEndian.PutUint16(c.buf[:], v)
	c.write(c.buf[:2])
}
func (c *countingWriter) u32(v uint32) {
	binary.LittleEndian.PutUint32(c.buf[:], v)
	c.write(c.buf[:4])
}
func (c *countingWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(c.buf[:], v)
	c.write(c.buf[:8])
}
func (c *countingWriter) str(s string) { c.u64(uint64(len(s))); c.write([]byte(s)) }
func (c *countingWriter) pad(align uint64) {
	if r := uint64(c.n) % align; r != 0 {
		c.write(make([]byte, align-r))
	}
}

// valueType maps a Go value to its GGUF type tag.
func valueType(v any) (ValueType, bool) {
	switch x := v.(type) {
	case uint8:
		return ValueUint8, true
	case int8:
		return ValueInt8, true
	case uint16:
		return ValueUint16, true
	case int16:
		return ValueInt16, true
	case uint32:
		return ValueUint32, true
	case int32:
		return ValueInt32, true
	case uint64:
		return ValueUint64, true
	case int64:
		return ValueInt64, true
	case float32:
		return ValueFloat32, true
	case float64:
		return ValueFloat64, true
	case bool:
		return ValueBool, true
	case string:
		return ValueString, true
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64,
		[]float32, []float64, []bool, []string:
		return ValueArray, true
	case []any:
		var et ValueType
		for i, e := range x {
			t, ok := valueType(e)
			if !ok || t != ValueArray || (i > 0 && t != et) {
				return 0, false
			}
			et = t
		}
		return ValueArray, true
	}
	return 0, false
}

func (c *countingWriter) value(v any) {
	switch x := v.(type) {
	case uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64, bool:
		// Little-endian, a bool as one byte 0 or 1.
		b, _ := binary.Append(c.buf[:0], binary.LittleEndian, x)
		c.write(b)
	case string:
		c.str(x)
	case []uint8:
		arr(c, ValueUint8, x)
	case []int8:
		arr(c, ValueInt8, x)
	case []uint16:
		arr(c, ValueUint16, x)
	case []int16:
		arr(c, ValueInt16, x)
	case []uint32:
		arr(c, ValueUint32, x)
	case []int32:
		arr(c, ValueInt32, x)
	case []uint64:
		arr(c, ValueUint64, x)
	case []int64:
		arr(c, ValueInt64, x)
	case []float32:
		arr(c, ValueFloat32, x)
	case []float64:
		arr(c, ValueFloat64, x)
	case []bool:
		arr(c, ValueBool, x)
	case []string:
		arr(c, ValueString, x)
	case []any:
		arr(c, ValueArray, x)
	}
}

func arr[T any](c *countingWriter, et ValueType, xs []T) {
	c.u32(uint32(et))
	c.u64(uint64(len(xs)))
	for _, x := range xs {
		c.value(x) // an inner array writes its own type and count
	}
}

// WriteTo writes the GGUF v3 file: header, metadata, tensor descriptors,
// padding to the alignment (general.alignment or 32), then tensor data.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	align, err := b.alignment()
	if err != nil {
		return 0, err
	}
	c := &countingWriter{w: w}
	c.write([]byte(Magic))
	c.u32(3)
	c.u64(uint64(len(b.tensors)))
	c.u64(uint64(len(b.keys)))
	for _, k := range b.keys {
		c.str(k)
		t, _ := valueType(b.values[k])
		c.u32(uint32(t))
		c.value(b.values[k])
	}
	var off uint64
	for _, t := range b.tensors {
		c.str(t.name)
		c.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			c.u64(d)
		}
		c.u32(uint32(t.typ))
		c.u64(off)
		off += uint64(len(t.data))
		if r := off % align; r != 0 {
			off += align - r
		}
	}
	c.pad(align)
	for _, t := range b.tensors {
		c.write(t.data)
		c.pad(align)
	}
	if c.err != nil {
		return c.n, fmt.Errorf("gguf: write: %w", c.err)
	}
	return c.n, nil
}

// WriteFile writes the file atomically: a temporary file in the same
// directory is written, synced and renamed over path, so readers never see a
// half-written model.
func (b *Builder) WriteFile(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err = b.WriteTo(bw); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("gguf: sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("gguf: close %s: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("gguf: chmod %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: rename to %s: %w", path, err)
	}
	return nil
}
