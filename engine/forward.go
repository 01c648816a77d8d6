package engine

import (
	"fmt"
	"math"

	"github.com/pareto-llm/pareto/internal/vec"
)

// Seq is one sequence being generated: its tokens, the KV cache of their
// positions, and the logits after its last token. The KV cache is a table
// of fixed-size blocks (see BlockSize) that a Seq shares by reference with
// the sequences it was forked from or into and with a PrefixCache; a block
// is copied only when a sequence is about to write to one it does not hold
// alone (copy-on-write), which happens at most to the one block a fork
// split. A Seq belongs to the model that made it and must not be used by
// two goroutines at once.
//
// Release a Seq when done with it: its blocks go back to the model's pool
// for reuse, and the ones it shared with a PrefixCache become evictable.
// A Seq dropped without Release is garbage collected, but a cached block
// it shared stays pinned in the cache.
type Seq struct {
	m      *Model
	pool   *blockPool
	blocks []*kvBlock // block i holds positions [i*size, (i+1)*size)
	n      int        // positions filled
	tokens []int      // the tokens at those positions
	logits []float32  // after the last forwarded token, if it asked for logits
}

// NewSeq returns an empty sequence.
func (m *Model) NewSeq() *Seq { return &Seq{m: m, pool: m.blocks()} }

// Len is the number of tokens in the cache.
func (s *Seq) Len() int { return s.n }

// Tokens are the tokens in the cache; the slice must not be modified.
func (s *Seq) Tokens() []int { return s.tokens[:s.n] }

// Logits are the logits after the last token forwarded with logits wanted,
// valid until the next forward on s.
func (s *Seq) Logits() []float32 { return s.logits }

// Truncate drops all positions from n on, so the sequence can continue
// from a shorter prefix. Blocks past the one holding position n-1 are
// released.
func (s *Seq) Truncate(n int) {
	if n < s.n {
		s.n = max(n, 0)
		s.tokens = s.tokens[:s.n]
		s.logits = nil
		s.dropBlocks(s.pool.blocksFor(s.n))
	}
}

// Fork returns a sequence with s's tokens and logits that shares s's KV
// blocks by reference: no KV is copied. Each continues on its own, the
// way the children of a search node, or the N samples of one prompt,
// continue from it.
func (s *Seq) Fork() *Seq {
	c := &Seq{m: s.m, pool: s.pool, n: s.n}
	nb := s.pool.blocksFor(s.n)
	c.blocks = make([]*kvBlock, nb, nb+1)
	for i, b := range s.blocks[:nb] {
		s.pool.ref(b)
		c.blocks[i] = b
	}
	c.tokens = append([]int(nil), s.tokens[:s.n]...)
	if s.logits != nil {
		c.logits = append([]float32(nil), s.logits...)
	}
	return c
}

// Release gives back s's blocks (a block also held elsewhere stays there)
// and empties s, which may then be used again. Releasing twice is harmless.
func (s *Seq) Release() {
	s.dropBlocks(0)
	s.n = 0
	s.tokens = s.tokens[:0]
	s.logits = nil
}

// Bytes is the memory of the KV blocks s refers to, shared ones included.
func (s *Seq) Bytes() int { return len(s.blocks) * s.pool.blockBytes() }

// dropBlocks releases the blocks from index i on.
func (s *Seq) dropBlocks(i int) {
	for j := i; j < len(s.blocks); j++ {
		s.pool.unref(s.blocks[j])
		s.blocks[j] = nil
	}
	s.blocks = s.blocks[:min(i, len(s.blocks))]
}

// reserve appends fresh blocks until s can hold n positions, so that
// decoding up to n allocates nothing (the block table grows by doubling).
func (s *Seq) reserve(n int) {
	for len(s.blocks) < s.pool.blocksFor(n) {
		s.blocks = append(s.blocks, s.pool.get())
	}
}

// writable makes the block of position pos exist and be s's alone, copying
// it first if it is shared: then writing there changes no other holder's
// view. Shared blocks are read-only, so nobody writes to the one copied.
func (s *Seq) writable(pos int) {
	s.reserve(pos + 1)
	i := pos / s.pool.size
	b := s.blocks[i]
	if b.refs.Load() == 1 {
		return
	}
	c := s.pool.get()
	copy(c.kv, b.kv) // positions from pos on are overwritten before they are read
	s.pool.unref(b)
	s.blocks[i] = c
}

// row is one token being forwarded: which sequence, where, and whether its
// logits are needed.
type row struct {
	seq    *Seq
	token  int
	pos    int
	logits bool
}

// runState holds the activations of a batch of rows, allocated once and
// reused so that decoding does not allocate.
type runState struct {
	b          int       // row capacity
	x, xb, xb2 []float32 // b x DModel
	q, att     []float32 // b x QDim
	k, v       []float32 // b x KVDim
	hb, hb2    []float32 // b x FFN
	logits     []float32 // b x Vocab
	xr         []float32 // activations rounded to f16, b x max(DModel,QDim,FFN)
	xq         []int8    // activations quantized to Q8_0
	xd         []float32 // their scales
	cos, sin   []float32 // each row's rotary table, b x rot/2
	scores     [][]float32
	groups     [][][]float32 // per worker: attention's groups of four positions (see groups)
	rows       []row
	grp        group // the tasks of the current parallel dispatch
	quant      quantJob
	mm         matmulsJob
	rj         rowsJob
	at         attnJob
}

func (m *Model) newState(b int) *runState {
	c := m.Config
	wide := max(c.DModel, c.QDim(), c.FFN)
	st := &runState{
		b: b,
		x: make([]float32, b*c.DModel), xb: make([]float32, b*c.DModel), xb2: make([]float32, b*c.DModel),
		q: make([]float32, b*c.QDim()), att: make([]float32, b*c.QDim()),
		k: make([]float32, b*c.KVDim()), v: make([]float32, b*c.KVDim()),
		hb: make([]float32, b*c.FFN), hb2: make([]float32, b*c.FFN),
		logits: make([]float32, b*c.Vocab),
		xr:     make([]float32, b*wide), xq: make([]int8, b*wide), xd: make([]float32, b*wide/q8Block+1),
		cos: make([]float32, b*c.rotDims()/2), sin: make([]float32, b*c.rotDims()/2),
		rows: make([]row, 0, b),
	}
	for range workers().n {
		st.scores = append(st.scores, make([]float32, 4*c.Context)) // four rows' (see attnJob.four)
		st.groups = append(st.groups, make([][]float32, 0, c.Context/2+4))
	}
	return st
}

// state borrows a run state for at least b rows; putState returns it.
func (m *Model) state(b int) *runState {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.states) - 1; i >= 0; i-- {
		if st := m.states[i]; st.b >= b {
			m.states = append(m.states[:i], m.states[i+1:]...)
			return st
		}
	}
	return m.newState(b)
}

// maxIdleStates bounds the run states kept for reuse (one per concurrent
// caller is enough).
const maxIdleStates = 8

func (m *Model) putState(st *runState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.states) < maxIdleStates {
		m.states = append(m.states, st)
	}
}

// minParallel is the number of multiply-adds below which a kernel runs on
// the calling goroutine: waking a worker costs more than it saves.
const minParallel = 1 << 15

// prefillChunk is how many prompt tokens go through the model together.
const prefillChunk = 32

// Prefill appends tokens to s and computes their KV; Logits() then holds
// the logits after the last token. It returns the FLOPs computed.
func (m *Model) Prefill(s *Seq, tokens []int) (float64, error) {
	var flops float64
	st := m.state(min(len(tokens), prefillChunk))
	defer m.putState(st)
	for lo := 0; lo < len(tokens); lo += prefillChunk {
		hi := min(lo+prefillChunk, len(tokens))
		st.rows = st.rows[:0]
		for i := lo; i < hi; i++ {
			st.rows = append(st.rows, row{seq: s, token: tokens[i], pos: s.n + i - lo, logits: i == len(tokens)-1})
		}
		f, err := m.forward(st)
		flops += f
		if err != nil {
			return flops, err
		}
	}
	return flops, nil
}

// Step appends tokens[i] to seqs[i] for every i in one batched forward pass
// (each weight matrix is read once for all sequences) and leaves each
// sequence's next-token logits in its Logits(). The sequences must be
// distinct. It returns the FLOPs computed.
func (m *Model) Step(seqs []*Seq, tokens []int) (float64, error) {
	if len(seqs) != len(tokens) {
		return 0, fmt.Errorf("engine: step: %d sequences but %d tokens", len(seqs), len(tokens))
	}
	for i, s := range seqs {
		for _, o := range seqs[:i] {
			if o == s {
				return 0, fmt.Errorf("engine: step: sequence %d appears twice in the batch", i)
			}
		}
	}
	st := m.state(len(seqs))
	defer m.putState(st)
	st.rows = st.rows[:0]
	for i, s := range seqs {
		st.rows = append(st.rows, row{seq: s, token: tokens[i], pos: s.n, logits: true})
	}
	return m.forward(st)
}

// forward runs the transformer on st.rows: writes their keys and values
// into their sequences' caches and the logits of rows that want them.
func (m *Model) forward(st *runState) (float64, error) {
	c := m.Config
	w := &m.Weights
	B := len(st.rows)
	D, HD := c.DModel, c.HeadDim
	var flops float64

	for i, r := range st.rows {
		if r.token < 0 || r.token >= c.Vocab {
			return 0, fmt.Errorf("engine: token %d out of vocabulary [0,%d)", r.token, c.Vocab)
		}
		if r.pos >= c.Context {
			return 0, fmt.Errorf("engine: position %d beyond context length %d", r.pos, c.Context)
		}
		r.seq.writable(r.pos)
		w.Embed.Row(r.token, st.x[i*D:(i+1)*D])
	}

	half := c.rotDims() / 2
	for i, r := range st.rows {
		ropeTable(st.cos[i*half:(i+1)*half], st.sin[i*half:(i+1)*half], r.pos, c.rotDims(), c.RopeBase)
	}

	for l := range w.Layers {
		ly := &w.Layers[l]
		// Attention block.
		attnWork := 0
		for i := range B {
			rmsnorm(st.xb[i*D:(i+1)*D], st.x[i*D:(i+1)*D], ly.AttnNorm, c.RMSEps)
		}
		flops += m.matmuls(st, st.xb, B, product{ly.Wq, st.q}, product{ly.Wk, st.k}, product{ly.Wv, st.v})
		for _, r := range st.rows {
			flops += 4 * float64(c.Heads*HD*(r.pos+1))
			attnWork += 2 * c.Heads * HD * (r.pos + 1)
		}
		st.rj = rowsJob{m: m, st: st, layer: l}
		st.dispatch(&st.rj, B, 1, B >= minParallelRows)
		st.at = attnJob{m: m, st: st, layer: l}
		st.dispatch(&st.at, st.at.items(), 1, attnWork >= minParallel)
		flops += m.matmul(st, ly.Wo, st.att, st.xb2, B)
		for i := range st.x[:B*D] {
			st.x[i] += st.xb2[i]
		}
		// Feed-forward block: down(silu(gate(x)) * up(x)).
		for i := range B {
			rmsnorm(st.xb[i*D:(i+1)*D], st.x[i*D:(i+1)*D], ly.FFNNorm, c.RMSEps)
		}
		flops += m.matmuls(st, st.xb, B, product{ly.Gate, st.hb}, product{ly.Up, st.hb2})
		swiglu(st.hb[:B*c.FFN], st.hb2[:B*c.FFN])
		flops += m.matmul(st, ly.Down, st.hb, st.xb2, B)
		for i := range st.x[:B*D] {
			st.x[i] += st.xb2[i]
		}
	}

	// Final norm and logits, only for rows that want them.
	nl := 0
	for i, r := range st.rows {
		if r.logits {
			rmsnorm(st.xb[nl*D:(nl+1)*D], st.x[i*D:(i+1)*D], w.OutputNorm, c.RMSEps)
			nl++
		}
	}
	if nl > 0 {
		flops += m.matmul(st, m.output(), st.xb, st.logits, nl)
	}
	j := 0
	for _, r := range st.rows {
		s := r.seq
		s.n = max(s.n, r.pos+1)
		if len(s.tokens) <= r.pos {
			s.tokens = append(s.tokens, make([]int, r.pos+1-len(s.tokens))...)
		}
		s.tokens[r.pos] = r.token
		if r.logits {
			s.logits = append(s.logits[:0], st.logits[j*c.Vocab:(j+1)*c.Vocab]...)
			j++
		}
	}
	return flops, nil
}

// rowsJob readies each row's q, k and v of one layer for attention:
// biases, rotary positions, f16 rounding under ggml numerics, and k and v
// written to the row's KV block. Rows are independent, and writing a new
// position misses the cache on every line, so they go to the workers
// (3.5 % of a search step's time on one core before).
type rowsJob struct {
	m     *Model
	st    *runState
	layer int
}

// minParallelRows is the fewest rows worth spreading over the workers.
const minParallelRows = 4

func (j *rowsJob) run(_, lo, hi int) {
	c, st := j.m.Config, j.st
	ly := &j.m.Weights.Layers[j.layer]
	QD, KVD, HD, half := c.QDim(), c.KVDim(), c.HeadDim, c.rotDims()/2
	for i := lo; i < hi; i++ {
		r := st.rows[i]
		q, k, v := st.q[i*QD:(i+1)*QD], st.k[i*KVD:(i+1)*KVD], st.v[i*KVD:(i+1)*KVD]
		cos, sin := st.cos[i*half:(i+1)*half], st.sin[i*half:(i+1)*half]
		addBias(q, ly.Bq)
		addBias(k, ly.Bk)
		addBias(v, ly.Bv)
		if c.Arch == ArchQwen2 {
			ropeNeox(q, c.Heads, HD, c.rotDims(), cos, sin)
			ropeNeox(k, c.KVHeads, HD, c.rotDims(), cos, sin)
		} else {
			ropeNorm(q, c.Heads, HD, c.rotDims(), cos, sin)
			ropeNorm(k, c.KVHeads, HD, c.rotDims(), cos, sin)
		}
		if j.m.GGMLNumerics { // f16 KV cache; q meets k as f16
			roundF16(q)
			roundF16(k)
			roundF16(v)
		}
		p := r.seq.pool
		b, off := r.seq.blocks[r.pos/p.size], (j.layer*p.size+r.pos%p.size)*KVD
		copy(b.kv[off:], k)
		copy(b.kv[p.half()+off:], v)
	}
}

func addBias(x, b []float32) {
	for i := range b {
		x[i] += b[i]
	}
}

// matmul computes y[i] = w x[i] for the first b rows of x, splitting w's
// rows over the worker pool, and returns the FLOPs (2 per multiply-add).
func (m *Model) matmul(st *runState, w *Mat, x, y []float32, b int) float64 {
	return m.matmuls(st, x, b, product{w, y})
}

// product is one matrix of a matmuls call and where its output goes.
type product struct {
	w *Mat
	y []float32
}

// matmuls is matmul for up to three matrices of one kind and width that
// read the same x (q, k and v; gate and up): x is quantized (or rounded)
// once, and all their rows go to the workers in one dispatch, so the
// workers meet once instead of once a matrix, and a chunk of one
// matrix's rows can end the dispatch beside another's. Matrices of
// different kinds or widths go one after another.
func (m *Model) matmuls(st *runState, x []float32, b int, ps ...product) float64 {
	w0 := ps[0].w
	alike := len(ps) <= len(st.mm.parts)
	for _, p := range ps[1:] {
		alike = alike && p.w.Kind == w0.Kind && p.w.Cols == w0.Cols
	}
	if !alike {
		var flops float64
		for _, p := range ps {
			flops += m.matmuls(st, x, b, p)
		}
		return flops
	}
	j := matmulJob{x: x, b: b, wide: vec.HasAVX512 && w0.Cols > 0 && w0.Cols%16 == 0}
	switch {
	case m.GGMLNumerics && w0.Kind == KindQ8_0:
		// A batch's rows are quantized apart, in parallel: at batch 200
		// one core took a third of the matmul's time doing it.
		st.quant = quantJob{x: x, xq: st.xq, xd: st.xd, cols: w0.Cols}
		st.dispatch(&st.quant, b, 1, b*w0.Cols >= minParallelQuant)
		// The 4x8 kernel's bias trick needs activations without -128,
		// which quantizeQ8 never writes; checked all the same.
		j.xq, j.xd, j.q8q8 = st.xq, st.xd, true
		j.x8 = !hasInt8Min(st.xq[:b*w0.Cols]) && hasVNNI && !q8Only4
	case m.GGMLNumerics && w0.Kind == KindF16:
		copy(st.xr, x[:b*w0.Cols])
		roundF16(st.xr[:b*w0.Cols])
		j.x = st.xr
	}
	st.mm.n = len(ps)
	rows := 0
	for k, p := range ps {
		st.mm.parts[k] = j
		st.mm.parts[k].w, st.mm.parts[k].y = p.w, p.y
		rows += p.w.Rows
		st.mm.ends[k] = rows
	}
	st.dispatch(&st.mm, rows, 4, rows*w0.Cols*b >= minParallel)
	return 2 * float64(rows) * float64(w0.Cols) * float64(b)
}

// dispatch runs j over [0, n) in chunks, multiples of align, on the
// worker pool when parallel, else on the caller alone: work too small to
// pay for the hand-off.
func (st *runState) dispatch(j job, n, align int, parallel bool) {
	if !parallel {
		j.run(0, 0, n)
		return
	}
	workers().do(&st.grp, n, align, j)
}

// matmulsJob is the matmulJobs of one matmuls call over their rows
// together: rows [0, ends[0]) are the first matrix's, [ends[0], ends[1])
// the second's, and so on.
type matmulsJob struct {
	parts [3]matmulJob
	ends  [3]int
	n     int
}

func (j *matmulsJob) run(worker, lo, hi int) {
	start := 0
	for k := range j.n {
		end := j.ends[k]
		if lo < end && hi > start {
			j.parts[k].run(worker, max(lo, start)-start, min(hi, end)-start)
		}
		start = end
	}
}

// minParallelQuant is the fewest activations worth quantizing to Q8_0
// on several workers.
const minParallelQuant = 16 * 1024

// quantJob quantizes rows of x to Q8_0 (ggml numerics' activations), each
// row on its own, so the split over workers changes no value.
type quantJob struct {
	x    []float32
	xq   []int8
	xd   []float32
	cols int
}

func (q *quantJob) run(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		quantizeQ8(q.x[i*q.cols:(i+1)*q.cols], q.xq[i*q.cols:], q.xd[i*q.cols/q8Block:])
	}
}

// MatMul sets y[i] = w x[i] for the b rows of x (b x w.Cols, row-major)
// into y (b x w.Rows) with the kernels and worker pool of the forward pass,
// in the ggml numerics of a model loaded from a GGUF file (activations
// quantized to Q8_0 for a Q8_0 matrix, rounded to f16 for an F16 one,
// which MatMul does and times too), and returns the FLOPs. It exists so
// that the speed of the kernels can be measured on the model's own
// shapes. It panics when x or y is too short.
func MatMul(w *Mat, x, y []float32, b int) float64 {
	if len(x) < b*w.Cols || len(y) < b*w.Rows {
		panic(fmt.Sprintf("engine: MatMul: %dx%d matrix, batch %d: x has %d floats, y %d", w.Rows, w.Cols, b, len(x), len(y)))
	}
	m := Model{GGMLNumerics: true}
	st := &runState{}
	switch w.Kind {
	case KindQ8_0:
		st.xq, st.xd = make([]int8, b*w.Cols), make([]float32, b*w.Cols/q8Block)
	case KindF16:
		st.xr = make([]float32, b*w.Cols)
	}
	return m.matmul(st, w, x, y, b)
}

// matmulJob is y = w x over a batch; each weight row is read once and
// multiplied with every row of the batch while it is in cache.
type matmulJob struct {
	w    *Mat
	x, y []float32
	b    int
	q8q8 bool
	xq   []int8
	xd   []float32
	x8   bool // xq may go to the 4x8 kernel (see blockedQ8)
	// wide: the products are summed in tinyBLAS's order (blocked4,
	// streams, vec.Dot16), on AVX-512 with columns a multiple of 16.
	wide bool
}

func (j *matmulJob) run(_, lo, hi int) {
	w, n := j.w, j.w.Cols
	nb := n / q8Block
	switch {
	case w.Kind != KindQ8_0 && j.b >= 2 && j.wide:
		lo = j.blocked4(lo, hi)
	case w.Kind != KindQ8_0 && j.b >= 4:
		lo = j.blocked(lo, hi)
	}
	if w.Kind != KindQ8_0 && j.b == 1 && j.wide {
		lo = j.streams(lo, hi)
	}
	if j.q8q8 && j.b >= 4 && !q8q8PerPair {
		lo = j.blockedQ8(lo, hi)
	}
	if j.q8q8 && j.b < 4 && hasVNNI && !q8q8PerPair {
		// Decoding: each batch row against the rows eight at a time
		// (dotQ8Q8Rows, every row dotQ8Q8Impl's to the bit). With two or
		// three batch rows the weight rows go in blocks of 64, each read
		// from memory once and from cache for the next batch row.
		step := hi - lo
		if j.b > 1 {
			step = 64
		}
		for r := lo; r < hi; r += step {
			e := min(r+step, hi)
			for i := range j.b {
				dotQ8Q8Rows(w.Q[r*n:e*n], w.D[r*nb:e*nb], j.xq[i*n:(i+1)*n], j.xd[i*nb:(i+1)*nb], j.y[i*w.Rows+r:i*w.Rows+e])
			}
		}
		lo = hi
	}
	for r := lo; r < hi; r++ {
		switch {
		case j.q8q8:
			q, d := w.Q[r*n:(r+1)*n], w.D[r*nb:(r+1)*nb]
			for i := range j.b {
				j.y[i*w.Rows+r] = dotQ8Q8Impl(q, d, j.xq[i*n:(i+1)*n], j.xd[i*nb:(i+1)*nb])
			}
		case w.Kind == KindQ8_0:
			q, d := w.Q[r*n:(r+1)*n], w.D[r*nb:(r+1)*nb]
			for i := range j.b {
				j.y[i*w.Rows+r] = dotQ8F32(q, d, j.x[i*n:(i+1)*n])
			}
		case j.wide: // the rows blocked4 or streams left, summed as theirs
			wr := w.F[r*n : (r+1)*n]
			for i := range j.b {
				j.y[i*w.Rows+r] = vec.Dot16(wr, j.x[i*n:(i+1)*n])
			}
		default:
			wr := w.F[r*n : (r+1)*n]
			for i := range j.b {
				j.y[i*w.Rows+r] = vec.Dot(wr, j.x[i*n:(i+1)*n])
			}
		}
	}
}

// q8q8PerPair makes matmulJob multiply Q8_0 activations one (weight row,
// batch row) pair at a time, as before blockedQ8: only for benchmarks
// comparing the two.
var q8q8PerPair = false

// q8Only4 keeps blockedQ8 off the 4x8 kernel: only for benchmarks
// comparing the two.
var q8Only4 = false

// blockedQ8 is blocked for ggml numerics' Q8_0 x Q8_0 products: rows [lo,
// hi) four at a time against the batch's rows, eight at a time with
// AVX-512 VNNI (dotQ8Q8x4xRows, one call for a block of batch rows), then
// four at a time (dotQ8Q8x4x4), then one pair at a time; every pair is
// dotQ8Q8Impl's to the bit, so results do not depend on the batch. It
// returns the first row it left for the plain loop. Each weight block is
// loaded once per four or eight batch rows instead of once per row.
func (j *matmulJob) blockedQ8(lo, hi int) int {
	w, n, R := j.w, j.w.Cols, j.w.Rows
	nb := n / q8Block
	end := lo + (hi-lo)&^3
	var out [16]float32
	// Batch rows go in blocks that stay in cache while the weight rows of
	// this chunk stream past them; 64 rows of int8 quants are the bytes of
	// blocked's 16 rows of floats.
	const batchBlock = 64
	for ib := 0; ib < j.b; ib += batchBlock {
		ie := min(ib+batchBlock, j.b)
		for r := lo; r < end; r += 4 {
			q, d := w.Q[r*n:(r+4)*n], w.D[r*nb:(r+4)*nb]
			i := ib
			if j.x8 {
				i += dotQ8Q8x4xRows(q, d, j.xq[i*n:ie*n], j.xd[i*nb:ie*nb], ie-i, j.y[i*R+r:], R)
			}
			for ; i+3 < ie; i += 4 {
				dotQ8Q8x4x4(q, d, j.xq[i*n:(i+4)*n], j.xd[i*nb:(i+4)*nb], &out)
				for a := range 4 {
					for c := range 4 {
						j.y[(i+c)*R+r+a] = out[4*a+c]
					}
				}
			}
			for ; i < ie; i++ {
				xq, xd := j.xq[i*n:(i+1)*n], j.xd[i*nb:(i+1)*nb]
				for a := range 4 {
					j.y[i*R+r+a] = dotQ8Q8Impl(q[a*n:(a+1)*n], d[a*nb:(a+1)*nb], xq, xd)
				}
			}
		}
	}
	return end
}

// blocked computes rows [lo, hi) two at a time against batch rows four at
// a time (the register-blocked kernel), and returns the first row it left
// for the plain loop.
func (j *matmulJob) blocked(lo, hi int) int {
	w, n, R := j.w, j.w.Cols, j.w.Rows
	end := lo + (hi-lo)&^1
	var out [8]float32
	// Batch rows go in blocks that stay in cache while the weight rows of
	// this chunk stream past them.
	const batchBlock = 16
	for ib := 0; ib < j.b; ib += batchBlock {
		ie := min(ib+batchBlock, j.b)
		for r := lo; r < end; r += 2 {
			w0, w1 := w.F[r*n:(r+1)*n], w.F[(r+1)*n:(r+2)*n]
			i := ib
			for ; i+3 < ie; i += 4 {
				vec.Dot2x4(w0, w1, j.x[i*n:(i+1)*n], j.x[(i+1)*n:(i+2)*n], j.x[(i+2)*n:(i+3)*n], j.x[(i+3)*n:(i+4)*n], &out)
				for k := range 4 {
					j.y[(i+k)*R+r] = out[k]
					j.y[(i+k)*R+r+1] = out[4+k]
				}
			}
			for ; i < ie; i++ {
				j.y[i*R+r] = vec.Dot(w0, j.x[i*n:(i+1)*n])
				j.y[i*R+r+1] = vec.Dot(w1, j.x[i*n:(i+1)*n])
			}
		}
	}
	return end
}

// streams computes rows [lo, hi) of a one-row batch as four quarters at
// once, row i of each quarter together, and returns the first row it left
// for the plain loop. Decoding one sequence reads every weight once, so
// memory bounds it; four streams of rows far apart keep more loads in
// flight than one (1.2x the bytes per second of one stream on this
// machine's memory), and vec.Dot4x1 sums each row exactly as blocked4
// does, so a token decoded alone gets the values it would get in a batch.
func (j *matmulJob) streams(lo, hi int) int {
	w, n := j.w, j.w.Cols
	q := (hi - lo) / 4
	x := j.x[:n]
	var wr [4][]float32
	var out [4]float32
	for r := lo; r < lo+q; r++ {
		for k := range 4 {
			row := r + k*q
			wr[k] = w.F[row*n : (row+1)*n]
		}
		vec.Dot4x1(&wr, x, &out)
		for k := range 4 {
			j.y[r+k*q] = out[k]
		}
	}
	return lo + 4*q
}

// blocked4 is blocked with the AVX-512 kernel: rows [lo, hi) four at a
// time against the batch's rows four at a time (vec.Dot4xRows, one call
// for a block of batch rows), returning the first row it left for the
// plain loop. Every product is summed as ggml's tinyBLAS sums it (see
// vec.Dot16), which is what ggml multiplies every batch of two or more
// rows with on an AVX-512 CPU: a prompt's prefill gives the same values
// as a SIMD-built Ollama's, to the bit, whatever the batch. (blocked's
// 8-lane sums, which prefill took before, kept greedy decoding in step
// with Ollama on 20 of 20 prompts by being close; an earlier reduction
// order of this kernel lost 1 of 20.)
func (j *matmulJob) blocked4(lo, hi int) int {
	w, n, R := j.w, j.w.Cols, j.w.Rows
	end := lo + (hi-lo)&^3
	var wr [4][]float32
	for ib := 0; ib < j.b; ib += blocked4Batch {
		ie := min(ib+blocked4Batch, j.b)
		for r := lo; r < end; r += 4 {
			for k := range 4 {
				wr[k] = w.F[(r+k)*n : (r+k+1)*n]
			}
			// The kernel also fetches the next four rows from memory as
			// its first batch rows go, so that streaming the weights
			// overlaps the arithmetic instead of stalling the next call.
			var next []float32
			if r+8 <= end {
				next = w.F[(r+4)*n : (r+8)*n]
			}
			vec.Dot4xRows(&wr, j.x[ib*n:ie*n], n, ie-ib, j.y[ib*R+r:], R, next)
		}
	}
	return end
}

// blocked4Batch is how many batch rows blocked4 takes against each four
// weight rows: they stay in cache (192 KB at 768 columns) while the weight
// rows stream past; a prompt's 128-row pass reads its weights twice, not
// eight times as with 16 (prefill 1.05x, interleaved BenchmarkPrefill).
const blocked4Batch = 64

// attnJob is causal multi-head attention for every (row, head) of a batch.
type attnJob struct {
	m     *Model
	st    *runState
	layer int
}

// grouped reports whether attention runs on groups of four positions
// (vec.Dot1xG, vec.Dot4xG and their values' kernels) and takes the rows
// four at a time (see four): with AVX-512 and heads a multiple of 16 wide,
// every score is then summed in vec.Dot16's order, alone or in a group,
// and not in flash attention's own order. (KV blocks whose size is not a
// multiple of 4, which only tests make, go position by position in the
// same order.)
func (j *attnJob) grouped() bool {
	return vec.HasAVX512 && j.m.Config.HeadDim%16 == 0 && !(j.m.GGMLNumerics && j.m.FlashAttention)
}

// fours is the end of the positions below n that go in groups of four.
func fours(p *blockPool, n int) int {
	if p.size%4 != 0 {
		return 0
	}
	return n &^ 3
}

// items is the number of work items: (row, head) pairs, or (group of four
// rows, head) when grouped.
func (j *attnJob) items() int {
	B, H := len(j.st.rows), j.m.Config.Heads
	if j.grouped() {
		return (B + 3) / 4 * H
	}
	return B * H
}

func (j *attnJob) run(worker, lo, hi int) {
	H := j.m.Config.Heads
	if !j.grouped() {
		for it := lo; it < hi; it++ {
			j.one(worker, it/H, it%H)
		}
		return
	}
	B := len(j.st.rows)
	for it := lo; it < hi; it++ {
		i0, h := 4*(it/H), it%H
		if i0+4 <= B {
			j.four(worker, i0, h)
			continue
		}
		for i := i0; i < B; i++ {
			j.grouped1(worker, i, h)
		}
	}
}

// head returns query head h's offsets: of its keys in a KV block (koff),
// of its values (voff), the scale of its scores, and its width.
func (j *attnJob) head(p *blockPool, h int) (koff, voff int, scale float32, hd int) {
	c := j.m.Config
	kvh := h / (c.Heads / c.KVHeads) // query head h reads kv head h/group, as llama.cpp broadcasts
	koff = j.layer*p.size*c.KVDim() + kvh*c.HeadDim
	return koff, p.half() + koff, float32(1 / math.Sqrt(float64(c.HeadDim))), c.HeadDim
}

// one is head h of row i's attention over its sequence's cache, position
// by position (the kernels' order when not grouped).
func (j *attnJob) one(worker, i, h int) {
	c := j.m.Config
	QD, KVD := c.QDim(), c.KVDim()
	r := j.st.rows[i]
	p := r.seq.pool
	koff, voff, scale, HD := j.head(p, h)
	q := j.st.q[i*QD+h*HD : i*QD+(h+1)*HD]
	n := r.pos + 1
	out := j.st.att[i*QD+h*HD : i*QD+(h+1)*HD]
	// Blocks are walked in position order, so every sum over positions
	// runs in the same order as over one contiguous cache.
	if j.m.GGMLNumerics && j.m.FlashAttention {
		f := newFlash(out)
		for b, t0 := 0, 0; t0 < n; b, t0 = b+1, t0+p.size {
			kv := r.seq.blocks[b].kv
			f.add(out, q, kv[koff:], kv[voff:], min(p.size, n-t0), KVD, scale)
		}
		f.finish(out)
		return
	}
	sc := j.st.scores[worker][:n]
	for b, t0 := 0, 0; t0 < n; b, t0 = b+1, t0+p.size {
		attnScores(sc[t0:min(t0+p.size, n)], q, r.seq.blocks[b].kv[koff:], KVD, scale)
	}
	j.softmax(sc)
	clear(out)
	for b, t0 := 0, 0; t0 < n; b, t0 = b+1, t0+p.size {
		attnValues(out, sc[t0:min(t0+p.size, n)], r.seq.blocks[b].kv[voff:], KVD)
	}
}

func (j *attnJob) softmax(sc []float32) {
	softmax(sc)
	if j.m.GGMLNumerics {
		roundF16(sc)
	}
}

// groups appends to dst, for positions t0, t0+4, ... below t1 (t0 and t1
// multiples of 4), where the four positions from t begin in s's cache,
// off floats into their block's layout: the groups of four the kernels
// take, none across blocks (their size is a multiple of 4).
func groups(dst [][]float32, s *Seq, off, t0, t1 int) [][]float32 {
	p := s.pool
	for t := t0; t < t1; t += 4 {
		dst = append(dst, s.blocks[t/p.size].kv[off+t%p.size*p.kvDim:])
	}
	return dst
}

// ownScores sets a row's scores sc[t] for positions from (a multiple of
// 4) on: its groups of four through vec.Dot1xG, listed in dst (scratch),
// then the last one to three positions one by one in the same order.
func ownScores(dst [][]float32, sc, q []float32, s *Seq, koff, from int, scale float32) {
	p, hd := s.pool, len(q)
	full := fours(p, len(sc))
	vec.Dot1xG(q, groups(dst, s, koff, from, full), p.kvDim, scale, sc[from:full])
	for t := full; t < len(sc); t++ {
		kv := s.blocks[t/p.size].kv
		sc[t] = vec.Dot16(q, kv[koff+t%p.size*p.kvDim:][:hd]) * scale
	}
}

// ownValues adds to out the values of a row's positions from (a multiple
// of 4) on, weighted by sc, as ownScores walks them.
func ownValues(dst [][]float32, out, sc []float32, s *Seq, voff, from int) {
	p := s.pool
	full := fours(p, len(sc))
	vec.Axpy1xG(out, sc[from:full], groups(dst, s, voff, from, full), p.kvDim)
	for t := full; t < len(sc); t++ {
		kv := s.blocks[t/p.size].kv
		vec.Axpy(out, sc[t], kv[voff+t%p.size*p.kvDim:][:len(out)])
	}
}

// grouped1 is head h of row i's attention in groups of four positions.
func (j *attnJob) grouped1(worker, i, h int) {
	QD := j.m.Config.QDim()
	r := j.st.rows[i]
	koff, voff, scale, HD := j.head(r.seq.pool, h)
	q := j.st.q[i*QD+h*HD : i*QD+(h+1)*HD]
	out := j.st.att[i*QD+h*HD : i*QD+(h+1)*HD]
	sc := j.st.scores[worker][:r.pos+1]
	ownScores(j.st.groups[worker][:0], sc, q, r.seq, koff, 0, scale)
	j.softmax(sc)
	clear(out)
	ownValues(j.st.groups[worker][:0], out, sc, r.seq, voff, 0)
}

// four is head h of rows i0..i0+3's attention, each row's values the
// same, to the bit, as grouped1 gives it. The cache blocks the four rows
// share (a prompt's rows in prefill; samples forked from one prefix in a
// search step), over the positions all four attend to, are read once for
// the four: their scores through vec.Dot4xG, their values through
// vec.Axpy4xG. The rest goes row by row, in position order after them.
func (j *attnJob) four(worker, i0, h int) {
	c := j.m.Config
	QD, KVD, ctx := c.QDim(), c.KVDim(), c.Context
	rows := j.st.rows[i0 : i0+4]
	p := rows[0].seq.pool
	koff, voff, scale, HD := j.head(p, h)
	var q, sc, out [4][]float32
	minN := ctx
	for k, r := range rows {
		i := i0 + k
		q[k] = j.st.q[i*QD+h*HD : i*QD+(h+1)*HD]
		out[k] = j.st.att[i*QD+h*HD : i*QD+(h+1)*HD]
		sc[k] = j.st.scores[worker][k*ctx : k*ctx+r.pos+1]
		minN = min(minN, r.pos+1)
	}
	// shared is the end of the groups of four positions the four rows
	// read from the same blocks.
	shared := 0
	for b := 0; p.size%4 == 0 && shared+4 <= minN; b++ {
		blk := rows[0].seq.blocks[b]
		if rows[1].seq.blocks[b] != blk || rows[2].seq.blocks[b] != blk || rows[3].seq.blocks[b] != blk {
			break
		}
		shared = min(shared+p.size, minN) &^ 3
	}
	gs := groups(j.st.groups[worker][:0], rows[0].seq, koff, 0, shared)
	vec.Dot4xG(&q, gs, KVD, scale, j.st.scores[worker], ctx)
	for k, r := range rows {
		ownScores(gs[len(gs):len(gs)], sc[k], q[k], r.seq, koff, shared, scale)
		j.softmax(sc[k])
		clear(out[k])
	}
	gs = groups(gs[:0], rows[0].seq, voff, 0, shared)
	var part [4][]float32
	for k := range 4 {
		part[k] = sc[k][:shared]
	}
	vec.Axpy4xG(&out, &part, gs, KVD)
	for k, r := range rows {
		ownValues(gs[len(gs):len(gs)], out[k], sc[k], r.seq, voff, shared)
	}
}

// flashAttend is one head of ggml's CPU flash attention with an f16 value
// cache over n contiguous positions: an online softmax whose running
// weighted sum of values is kept in f16 (rounded after every update),
// divided by the float32 sum at the end.
func flashAttend(out, q, kc, vc []float32, n, stride, off int, scale float32) {
	f := newFlash(out)
	f.add(out, q, kc[off:], vc[off:], n, stride, scale)
	f.finish(out)
}

// flash is the running state of flashAttend, so that attention can feed it
// one KV block after another.
type flash struct {
	sum, maxS float32
}

func newFlash(out []float32) flash {
	clear(out)
	return flash{maxS: float32(math.Inf(-1))}
}

// add takes in n more positions, in order, at stride floats apart.
func (f *flash) add(out, q, kc, vc []float32, n, stride int, scale float32) {
	hd := len(out)
	for t := range n {
		s := vec.Dot(q, kc[t*stride:t*stride+hd]) * scale
		ms, vs := float32(1), float32(1)
		if s > f.maxS {
			ms = float32(math.Exp(float64(f.maxS - s)))
			f.maxS = s
			for d := range out {
				out[d] *= ms
			}
			roundF16(out)
		} else {
			vs = float32(math.Exp(float64(s - f.maxS)))
		}
		vec.Axpy(out, vs, vc[t*stride:t*stride+hd])
		roundF16(out)
		f.sum = f.sum*ms + vs
	}
}

// finish divides out by the softmax's sum.
func (f *flash) finish(out []float32) {
	inv := 1 / f.sum
	for d := range out {
		out[d] *= inv
	}
}
