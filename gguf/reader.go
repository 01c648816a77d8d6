package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"reflect"
)

// Magic is the first four bytes of every GGUF file, "GGUF".
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment used when the file does not
// set general.alignment.
const DefaultAlignment = 32

// MaxDims is the most dimensions a ggml tensor can have.
const MaxDims = 4

// maxNesting bounds nested metadata arrays so a hostile file cannot drive the
// parser into deep recursion.
const maxNesting = 8

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name string
	// Dims is in ggml order: Dims[0] is the contiguous (fastest) dimension,
	// so a weight mapping in→out has Dims [in, out].
	Dims   []uint64
	Type   Type
	Offset uint64 // relative to the start of the data section
	Size   uint64 // bytes of tensor data
}

// Elements returns the number of values in the tensor (the product of Dims).
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d // Parse has checked this cannot overflow
	}
	return n
}

// File is a parsed GGUF file. Metadata values are Go values of the stored
// type: uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32,
// float64, bool, string, or for arrays a slice of one of those ([]any for
// arrays of arrays).
type File struct {
	Version   uint32
	Metadata  map[string]any
	Keys      []string // metadata keys in file order
	Tensors   []TensorInfo
	Alignment uint64
	// DataOffset is the absolute file offset of the tensor data section.
	DataOffset uint64

	data   []byte
	index  map[string]int
	closer func() error
	closed bool
}

// Open memory-maps (where the platform allows) and parses the GGUF file at
// path. Tensor bytes returned by the File alias the mapping and are valid
// until Close.
func Open(path string) (*File, error) {
	data, closer, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: open %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		if closer != nil {
			_ = closer()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closer = closer
	return f, nil
}

// Close releases the memory mapping; tensor byte slices must not be used
// afterwards. Closing twice is harmless.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.closer != nil {
		return f.closer()
	}
	return nil
}

// parser is a bounds-checked little-endian cursor over the file bytes.
type parser struct {
	b       []byte
	off     uint64
	section string // what is being read, for error messages
}

func (p *parser) left() uint64 { return uint64(len(p.b)) - p.off }

func (p *parser) need(n uint64) error {
	if n > p.left() {
		return fmt.Errorf("gguf: truncated file: %s at offset %d needs %d bytes, only %d left", p.section, p.off, n, p.left())
	}
	return nil
}

func (p *parser) bytes(n uint64) ([]byte, error) {
	if err := p.need(n); err != nil {
		return nil, err
	}
	s := p.b[p.off : p.off+n]
	p.off += n
	return s, nil
}

func (p *parser) u8() (uint8, error)   { return read(p, 1, func(b []byte) uint8 { return b[0] }) }
func (p *parser) u16() (uint16, error) { return read(p, 2, binary.LittleEndian.Uint16) }
func (p *parser) u32() (uint32, error) { return read(p, 4, binary.LittleEndian.Uint32) }
func (p *parser) u64() (uint64, error) { return read(p, 8, binary.LittleEndian.Uint64) }

// read decodes the next size bytes with dec.
func read[T any](p *parser, size uint64, dec func([]byte) T) (T, error) {
	b, err := p.bytes(size)
	if err != nil {
		var zero T
		return zero, err
	}
	return dec(b), nil
}

func (p *parser) str() (string, error) {
	at := p.off
	n, err := p.u64()
	if err != nil {
		return "", err
	}
	if n > p.left() {
		return "", fmt.Errorf("gguf: %s: string length %d at offset %d exceeds the %d bytes left in the file", p.section, n, at, p.left())
	}
	b, _ := p.bytes(n)
	return string(b), nil
}

// minEncoded is the fewest bytes one value of type t can occupy; it bounds
// array counts against the bytes remaining.
func minEncoded(t ValueType) uint64 {
	switch t {
	case ValueString:
		return 8
	case ValueArray:
		return 12
	}
	return uint64(t.fixedSize())
}

func (p *parser) value(t ValueType, depth int) (any, error) {
	if c, ok := fixedCodecs[t]; ok {
		b, err := p.bytes(uint64(t.fixedSize()))
		if err != nil {
			return nil, err
		}
		return c.one(b), nil
	}
	switch t {
	case ValueBool:
		at := p.off
		v, err := p.u8()
		if err != nil {
			return nil, err
		}
		if v > 1 {
			return nil, fmt.Errorf("gguf: %s: bool value %d at offset %d is neither 0 nor 1", p.section, v, at)
		}
		return v == 1, nil
	case ValueString:
		return p.str()
	case ValueArray:
		return p.array(depth + 1)
	}
	return nil, fmt.Errorf("gguf: %s: unknown value type %d at offset %d", p.section, uint32(t), p.off)
}

func (p *parser) array(depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("gguf: %s: arrays nested deeper than %d at offset %d", p.section, maxNesting, p.off)
	}
	at := p.off
	et32, err := p.u32()
	if err != nil {
		return nil, err
	}
	et := ValueType(et32)
	if et.fixedSize() < 0 {
		return nil, fmt.Errorf("gguf: %s: unknown array element type %d at offset %d", p.section, et32, at)
	}
	n, err := p.u64()
	if err != nil {
		return nil, err
	}
	if n > p.left()/minEncoded(et) {
		return nil, fmt.Errorf("gguf: %s: array of %d %s at offset %d cannot fit in the %d bytes left", p.section, n, et, at, p.left())
	}
	// Fixed-size arrays decode straight from the bytes; the check above
	// guarantees they are all present.
	if sz := uint64(et.fixedSize()); sz > 0 {
		raw, _ := p.bytes(n * sz)
		return decodeFixed(et, raw, n), nil
	}
	switch et {
	case ValueString:
		out := make([]string, n)
		for i := range out {
			if out[i], err = p.str(); err != nil {
				return nil, err
			}
		}
		return out, nil
	default: // ValueArray
		out := make([]any, n)
		for i := range out {
			if out[i], err = p.array(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

func decodeFixed(et ValueType, raw []byte, n uint64) any {
	if et == ValueBool {
		return decodeEach(raw, n, 1, func(b []byte) bool { return b[0] != 0 })
	}
	return fixedCodecs[et].many(raw, n)
}

// fixedCodec decodes the little-endian bytes of one fixed-size value type:
// a single value, or an array of n.
type fixedCodec struct {
	one  func(b []byte) any
	many func(raw []byte, n uint64) any
}

func codec[T any](size int, dec func([]byte) T) fixedCodec {
	return fixedCodec{
		one:  func(b []byte) any { return dec(b) },
		many: func(raw []byte, n uint64) any { return decodeEach(raw, n, size, dec) },
	}
}

// fixedCodecs holds the fixed-size value types but bool, whose single
// values are checked to be 0 or 1.
var fixedCodecs = map[ValueType]fixedCodec{
	ValueUint8:   codec(1, func(b []byte) uint8 { return b[0] }),
	ValueInt8:    codec(1, func(b []byte) int8 { return int8(b[0]) }),
	ValueUint16:  codec(2, binary.LittleEndian.Uint16),
	ValueInt16:   codec(2, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) }),
	ValueUint32:  codec(4, binary.LittleEndian.Uint32),
	ValueInt32:   codec(4, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) }),
	ValueFloat32: codec(4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }),
	ValueUint64:  codec(8, binary.LittleEndian.Uint64),
	ValueInt64:   codec(8, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }),
	ValueFloat64: codec(8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }),
}

// decodeEach decodes n values of size bytes each from raw with dec.
func decodeEach[T any](raw []byte, n uint64, size int, dec func([]byte) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = dec(raw[size*i:])
	}
	return out
}

// Parse parses a GGUF v2 or v3 file held in data and validates every header
// field and tensor extent. The File aliases data; it is not copied.
func Parse(data []byte) (*File, error) {
	p := &parser{b: data, section: "header"}
	magic, err := p.bytes(4)
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("gguf: not a GGUF file: magic %q (% x), want %q", magic, magic, Magic)
	}
	version, err := p.u32()
	if err != nil {
		return nil, err
	}
	switch {
	case version == 1:
		return nil, errors.New("gguf: unsupported version 1 (GGUF v1 predates 64-bit counts; re-convert the model)")
	case version == 2 || version == 3:
	case version&0xffff == 0 && bits.ReverseBytes32(version) <= 3:
		return nil, fmt.Errorf("gguf: unsupported version %d: looks like a big-endian GGUF file, only little-endian is supported", version)
	default:
		return nil, fmt.Errorf("gguf: unsupported version %d (want 2 or 3)", version)
	}
	p.section = "tensor count"
	nTensors, err := p.u64()
	if err != nil {
		return nil, err
	}
	p.section = "metadata count"
	nKV, err := p.u64()
	if err != nil {
		return nil, err
	}
	// Every key/value takes at least 13 bytes and every tensor descriptor
	// at least 24, so larger counts cannot be honest.
	if nKV > p.left()/13 {
		return nil, fmt.Errorf("gguf: metadata count %d at offset 16 cannot fit in a %d-byte file", nKV, len(data))
	}
	if nTensors > p.left()/24 {
		return nil, fmt.Errorf("gguf: tensor count %d at offset 8 cannot fit in a %d-byte file", nTensors, len(data))
	}

	f := &File{Version: version, Metadata: make(map[string]any, nKV), Keys: make([]string, 0, nKV), data: data}
	for i := uint64(0); i < nKV; i++ {
		p.section = fmt.Sprintf("metadata entry %d key", i)
		at := p.off
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := f.Metadata[key]; dup {
			return nil, fmt.Errorf("gguf: duplicate metadata key %q at offset %d", key, at)
		}
		p.section = fmt.Sprintf("metadata %q", key)
		vt, err := p.u32()
		if err != nil {
			return nil, err
		}
		v, err := p.value(ValueType(vt), 0)
		if err != nil {
			return nil, err
		}
		f.Metadata[key] = v
		f.Keys = append(f.Keys, key)
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Metadata["general.alignment"]; ok {
		a, ok := toUint(v)
		if !ok || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("gguf: general.alignment = %v (%T) is not a power of two", v, v)
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.index = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		p.section = fmt.Sprintf("tensor info %d", i)
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		p.section = fmt.Sprintf("tensor %q info", name)
		if _, dup := f.index[name]; dup {
			return nil, fmt.Errorf("gguf: duplicate tensor name %q", name)
		}
		nd, err := p.u32()
		if err != nil {
			return nil, err
		}
		if nd > MaxDims {
			return nil, fmt.Errorf("gguf: tensor %q has %d dimensions, at most %d allowed", name, nd, MaxDims)
		}
		ti := TensorInfo{Name: name, Dims: make([]uint64, nd)}
		elems := uint64(1)
		for d := range ti.Dims {
			if ti.Dims[d], err = p.u64(); err != nil {
				return nil, err
			}
			hi, lo := bits.Mul64(elems, ti.Dims[d])
			if hi != 0 || lo > math.MaxInt64 {
				return nil, fmt.Errorf("gguf: tensor %q dims %v: element count overflows", name, ti.Dims[:d+1])
			}
			elems = lo
		}
		t, err := p.u32()
		if err != nil {
			return nil, err
		}
		ti.Type = Type(t)
		if !ti.Type.Known() {
			return nil, fmt.Errorf("gguf: tensor %q has unknown type id %d", name, t)
		}
		if nd > 0 && ti.Dims[0]%ti.Type.BlockSize() != 0 {
			return nil, fmt.Errorf("gguf: tensor %q: first dimension %d is not a multiple of the %s block size %d", name, ti.Dims[0], ti.Type, ti.Type.BlockSize())
		}
		ti.Size = elems / ti.Type.BlockSize() * ti.Type.TypeSize() // elems < 2^63, typeSize < 2^9: no overflow after the division
		if hi, _ := bits.Mul64(elems/ti.Type.BlockSize(), ti.Type.TypeSize()); hi != 0 {
			return nil, fmt.Errorf("gguf: tensor %q: byte size overflows", name)
		}
		if ti.Offset, err = p.u64(); err != nil {
			return nil, err
		}
		if ti.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("gguf: tensor %q: offset %d is not a multiple of the alignment %d", name, ti.Offset, f.Alignment)
		}
		f.index[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}

	// The data section starts at the next alignment boundary after the header.
	start := p.off
	if r := start % f.Alignment; r != 0 {
		start += f.Alignment - r
	}
	f.DataOffset = start
	if len(f.Tensors) == 0 {
		return f, nil
	}
	if start > uint64(len(data)) {
		return nil, fmt.Errorf("gguf: truncated file: tensor data section would start at offset %d but the file has %d bytes", start, len(data))
	}
	avail := uint64(len(data)) - start
	for _, ti := range f.Tensors {
		if ti.Offset > avail || ti.Size > avail-ti.Offset {
			return nil, fmt.Errorf("gguf: tensor %q data [%d, +%d) is out of bounds: the data section at offset %d has %d bytes", ti.Name, ti.Offset, ti.Size, start, avail)
		}
	}
	return f, nil
}

// Tensor returns the descriptor of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorBytes returns the raw bytes of the named tensor, aliasing the file
// mapping (do not modify; invalid after Close).
func (f *File) TensorBytes(name string) ([]byte, error) {
	if f.closed {
		return nil, fmt.Errorf("gguf: tensor %q: file is closed", name)
	}
	ti, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("gguf: no tensor named %q", name)
	}
	s := f.DataOffset + ti.Offset
	return f.data[s : s+ti.Size : s+ti.Size], nil
}

// Float32s returns the named tensor converted to float32 (from F32, F16, BF16
// or Q8_0); its length is the product of the dims.
func (f *File) Float32s(name string) ([]float32, error) {
	raw, err := f.TensorBytes(name)
	if err != nil {
		return nil, err
	}
	ti, _ := f.Tensor(name)
	n := ti.Elements()
	if n > uint64(math.MaxInt) {
		return nil, fmt.Errorf("gguf: tensor %q: %d elements do not fit in memory", name, n)
	}
	out := make([]float32, n)
	le := binary.LittleEndian
	switch ti.Type {
	case TypeF32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case TypeF16:
		for i := range out {
			out[i] = F16ToF32(le.Uint16(raw[2*i:]))
		}
	case TypeBF16:
		for i := range out {
			out[i] = BF16ToF32(le.Uint16(raw[2*i:]))
		}
	case TypeQ8_0:
		if err := DequantizeQ8_0(out, raw); err != nil {
			return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
		}
	default:
		return nil, fmt.Errorf("gguf: tensor %q: converting type %s to float32 is not supported", name, ti.Type)
	}
	return out, nil
}

func toUint(v any) (uint64, bool) {
	switch v.(type) {
	case uint8, uint16, uint32, uint64:
		return reflect.ValueOf(v).Uint(), true
	case int8, int16, int32, int64:
		i := reflect.ValueOf(v).Int()
		return uint64(i), i >= 0
	}
	return 0, false
}

// String returns a string metadata value.
func (f *File) String(key string) (string, bool) {
	s, ok := f.Metadata[key].(string)
	return s, ok
}

// Uint returns an integer metadata value of any integer type as uint64;
// negative values report false.
func (f *File) Uint(key string) (uint64, bool) { return toUint(f.Metadata[key]) }

// Float returns a float (or integer) metadata value as float64.
func (f *File) Float(key string) (float64, bool) {
	switch x := f.Metadata[key].(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case int8, int16, int32, int64:
		return float64(reflect.ValueOf(x).Int()), true
	}
	if u, ok := toUint(f.Metadata[key]); ok {
		return float64(u), true
	}
	return 0, false
}

// Bool returns a bool metadata value.
func (f *File) Bool(key string) (bool, bool) {
	b, ok := f.Metadata[key].(bool)
	return b, ok
}

// Strings returns a string-array metadata value.
func (f *File) Strings(key string) ([]string, bool) {
	s, ok := f.Metadata[key].([]string)
	return s, ok
}

// Float32Array returns a float array metadata value as []float32.
func (f *File) Float32Array(key string) ([]float32, bool) {
	switch x := f.Metadata[key].(type) {
	case []float32:
		return x, true
	case []float64:
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(v)
		}
		return out, true
	}
	return nil, false
}

// Int32Array returns an integer array metadata value as []int32; it reports
// false when an element does not fit in int32.
func (f *File) Int32Array(key string) ([]int32, bool) {
	conv := func(n int, at func(int) int64) ([]int32, bool) {
		out := make([]int32, n)
		for i := range out {
			v := at(i)
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, false
			}
			out[i] = int32(v)
		}
		return out, true
	}
	switch x := f.Metadata[key].(type) {
	case []int32:
		return x, true
	case []uint32:
		return conv(len(x), func(i int) int64 { return int64(x[i]) })
	case []int64:
		return conv(len(x), func(i int) int64 { return x[i] })
	case []uint64:
		return conv(len(x), func(i int) int64 {
			if x[i] > math.MaxInt64 {
				return -1 << 62
			}
			return int64(x[i])
		})
	case []int16:
		return conv(len(x), func(i int) int64 { return int64(x[i]) })
	case []uint16:
		return conv(len(x), func(i int) int64 { return int64(x[i]) })
	case []int8:
		return conv(len(x), func(i int) int64 { return int64(x[i]) })
	case []uint8:
		return conv(len(x), func(i int) int64 { return int64(x[i]) })
	}
	return nil, false
}

// readWhole is the non-mmap fallback: the whole file on the heap.
func readWhole(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	return b, nil, err
}
