package engine

import (
	"sync"
	"sync/atomic"
)

// BlockSize is how many positions one KV block holds, the unit in which
// sequences share and copy their caches (paged attention's page size).
//
// vLLM uses 16 because its GPU kernels read a page per warp; here the
// cost of a small block is one kernel call per block in attention, while
// the cost of a large one is padding: a sequence's last block is partly
// empty, and a fork from the middle of a block copies that block's filled
// part (copy-on-write). Both come to about BlockSize-1 positions per tree
// node, which against the 10-30 tokens of a reasoning step is the whole
// story: at 16 a tree of 20-token steps holds 1.5x the KV of its tokens,
// at 4 at most 1.15x (1.0x when steps are multiples of 4).
const BlockSize = 4

// kvBlock holds the keys and values of up to size consecutive positions
// of a sequence, for every layer. A block is shared, read-only, by every
// sequence and cache node that refers to it; only a holder of the sole
// reference may write to it (see Seq.writable).
type kvBlock struct {
	// kv is K then V, each layer-major, then position-major: the key of
	// layer l at position t of the block starts at (l*size+t)*KVDim, its
	// value at half = layers*size*KVDim further on.
	kv   []float32
	refs atomic.Int32 // holders: sequences and cache nodes
}

// blockPool hands out the KV blocks of one model and takes them back when
// their last holder lets go, keeping some for reuse so that decoding in a
// steady state does not allocate. It is safe for concurrent use.
type blockPool struct {
	layers, kvDim, size int
	maxFree             int // blocks kept for reuse at most

	mu   sync.Mutex
	free []*kvBlock
	live int // blocks handed out and not yet returned
}

// maxFreeBytes bounds the memory a pool keeps in unused blocks.
const maxFreeBytes = 32 << 20

func newBlockPool(layers, kvDim, size int) *blockPool {
	p := &blockPool{layers: layers, kvDim: kvDim, size: size}
	p.maxFree = max(1, maxFreeBytes/p.blockBytes())
	return p
}

// blockBytes is the memory of one block.
func (p *blockPool) blockBytes() int { return 2 * 4 * p.layers * p.size * p.kvDim }

// half is the offset of the values in a block's kv.
func (p *blockPool) half() int { return p.layers * p.size * p.kvDim }

// get returns a block with one reference, the caller's. Its contents are
// whatever its last user left: every position is written before it is read.
func (p *blockPool) get() *kvBlock {
	p.mu.Lock()
	p.live++
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		b.refs.Store(1)
		return b
	}
	p.mu.Unlock()
	b := &kvBlock{kv: make([]float32, 2*p.half())}
	b.refs.Store(1)
	return b
}

// ref adds a holder to b.
func (p *blockPool) ref(b *kvBlock) { b.refs.Add(1) }

// unref drops a holder of b, returning b to the pool after its last one.
func (p *blockPool) unref(b *kvBlock) {
	switch r := b.refs.Add(-1); {
	case r > 0:
		return
	case r < 0:
		panic("engine: KV block released more often than referenced")
	}
	p.mu.Lock()
	p.live--
	if len(p.free) < p.maxFree {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// KVStats is the KV memory of a model: every block some sequence or prefix
// cache holds.
type KVStats struct {
	Blocks     int // blocks in use
	Bytes      int // their memory
	FreeBlocks int // blocks kept for reuse
	BlockBytes int // the memory of one block (BlockSize positions, all layers)
}

// KVStats reports the model's KV memory in use. A sequence counts until it
// is released (Seq.Release), a cached block until it is evicted.
func (m *Model) KVStats() KVStats {
	p := m.blocks()
	p.mu.Lock()
	defer p.mu.Unlock()
	return KVStats{Blocks: p.live, Bytes: p.live * p.blockBytes(), FreeBlocks: len(p.free), BlockBytes: p.blockBytes()}
}

// blocks is m's block pool, made on first use.
func (m *Model) blocks() *blockPool {
	if p := m.kv.Load(); p != nil {
		return p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.kv.Load(); p != nil {
		return p
	}
	size := m.blockSize
	if size == 0 {
		size = BlockSize
	}
	p := newBlockPool(m.Config.Layers, m.Config.KVDim(), size)
	m.kv.Store(p)
	return p
}

// blocksFor is how many blocks hold n positions.
func (p *blockPool) blocksFor(n int) int { return (n + p.size - 1) / p.size }
